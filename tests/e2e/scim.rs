//! The SCIM service provider, driven by PyPI `scim2-client` as an HR system (discovery, users
//! with the enterprise extension, filters, pages, PATCH, PUT with ETags, groups, bulk,
//! deletion: tests/interop/scim_client.py) and by hand for what an attacker tries: no token,
//! a token of another tenant, of a client without the scope or registration, someone else's
//! account, a role the mapping does not name, a stale version, malformed bodies. The staff it
//! provisioned sign in with their first password and, acting as staff, a second factor.

use std::process::Command;

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;
use idp_server::ops::{NewAccount, NewClient};
use serde_json::{Value, json};

use crate::browser::{Browser, rp_http};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{redeem, userinfo_of};

const PASSWORD: &str = "Provisioned-by-HR-2026";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

async fn token(s: &TestServer, id: &str, secret: &str, scope: &str) -> Value {
    rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn scim_client(s: &TestServer, parent: &str, roles: Value) -> anyhow::Result<(String, String)> {
    let settings = ClientSettings {
        scim: Some(serde_json::from_value(json!({"parent": parent, "roles": roles})).unwrap()),
        // in the tree of the parent's delegated administrators, who still may not manage it
        organisation_id: Some(parent.to_string()),
        ..Default::default()
    };
    let new = NewClient {
        name: "HR system".into(),
        client_type: ClientType::Service,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some("scim".into()),
        settings: Some(settings),
    };
    let (c, secret) = s.ops.add_client("main", new).await?;
    Ok((c.client_id, secret.unwrap()))
}

/// A request to the SCIM endpoints: (status, headers, JSON body or null).
async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = rp_http().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn is_error(body: &Value, status: &str) -> bool {
    body["schemas"] == json!([ERROR]) && body["status"] == status
}

fn promote_again() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "displayName", "value": "x"}]})
}

async fn provisioned(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let gov = NewOrganisation {
        kind: "government".into(),
        name: "浙江省财政厅".into(),
        level: Some("province".into()),
        region_code: Some("330000".into()),
        ..Default::default()
    };
    let parent = s.ops.add_organisation("main", None, gov).await.unwrap();
    let roles = json!({"clerk": ["clerk"], "approver": ["approver", "clerk"]});
    let (hr, hr_secret) = scim_client(&s, &parent.id, roles.clone()).await.unwrap();
    let base = format!("{}/scim/v2", s.issuer);

    // registrations the rules refuse: administration from a mapping, a parent not here, the
    // scope without a registration
    let admin = scim_client(&s, &parent.id, json!({"boss": ["org_admin"]})).await.unwrap_err();
    assert!(admin.to_string().contains("by an administrator"), "{admin}");
    let nowhere = scim_client(&s, "no-such-org", json!({})).await.unwrap_err();
    assert!(nowhere.to_string().contains("no organisation"), "{nowhere}");
    let bare = NewClient {
        name: "x".into(),
        client_type: ClientType::Service,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some("scim".into()),
        settings: None,
    };
    assert!(s.ops.add_client("main", bare).await.is_err(), "the scope alone is refused");

    let t = token(&s, &hr, &hr_secret, "scim").await;
    let at = t["access_token"].as_str().unwrap_or_else(|| panic!("a token: {t}")).to_string();

    // discovery needs no token; everything else does
    let (st, h, spc) =
        call(reqwest::Method::GET, &format!("{base}/ServiceProviderConfig"), None, None, &[]).await;
    assert_eq!((st, spc["etag"]["supported"].clone()), (200, json!(true)), "{spc}");
    assert_eq!(h["content-type"], "application/scim+json");
    let (st, h, body) = call(reqwest::Method::GET, &format!("{base}/Users"), None, None, &[]).await;
    assert!(st == 401 && is_error(&body, "401") && h.contains_key("www-authenticate"), "{st} {body}");
    let (st, _, _) =
        call(reqwest::Method::GET, &format!("{base}/Users"), Some("not-a-token"), None, &[]).await;
    assert_eq!(st, 401);
    // another tenant does not take this tenant's token
    s.ops.add_tenant("other", None).await.unwrap();
    let other = format!("{}/t/other/scim/v2/Users", s.base);
    let (st, _, _) = call(reqwest::Method::GET, &other, Some(&at), None, &[]).await;
    assert_eq!(st, 401, "another tenant's token");
    // a service without the scope
    let plain = ClientSettings { scope: "api".into(), ..Default::default() };
    let (svc, svc_secret) = s.add_client(ClientType::Service, plain).await;
    let t2 = token(&s, &svc, svc_secret.as_deref().unwrap(), "api").await;
    let (st, _, body) =
        call(reqwest::Method::GET, &format!("{base}/Users"), t2["access_token"].as_str(), None, &[]).await;
    assert!(st == 403 && is_error(&body, "403"), "{st} {body}");
    assert_eq!(token(&s, &svc, svc_secret.as_deref().unwrap(), "scim").await["error"], "invalid_scope");

    // scim2-client, as an HR system
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/scim_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([&base, PASSWORD])
        .env("SCIM_TOKEN", &at)
        .output()
        .expect("python3 runs (scripts/test.sh installs PyPI scim2-client)");
    assert!(
        out.status.success(),
        "scim2-client: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let zhou = got["zhou"].as_str().unwrap().to_string();
    let group = got["group"].as_str().unwrap().to_string();

    // an account made otherwise is neither listed nor taken over
    let citizen = s.add_account("citizen").await;
    let (_, _, list) =
        call(reqwest::Method::GET, &format!("{base}/Users?count=100"), Some(&at), None, &[]).await;
    let ids: Vec<&str> =
        list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&citizen.as_str()) && ids.contains(&zhou.as_str()), "{list}");
    let (st, _, _) =
        call(reqwest::Method::GET, &format!("{base}/Users/{citizen}"), Some(&at), None, &[]).await;
    assert_eq!(st, 404, "someone else's account");
    // an HR system's lookup by userName or id reads that one user, and only its own
    for (filter, found) in [
        ("userName%20eq%20%22ZHOU.MIN%22".to_string(), 1),
        ("userName%20eq%20%22citizen%22".to_string(), 0),
        (format!("id%20eq%20%22{citizen}%22"), 0),
        (format!("id%20eq%20%22{zhou}%22%20and%20title%20pr"), 1),
    ] {
        let (_, _, l) =
            call(reqwest::Method::GET, &format!("{base}/Users?filter={filter}"), Some(&at), None, &[]).await;
        assert_eq!(l["totalResults"], found, "{filter}: {l}");
    }
    let take = json!({"schemas": [CORE], "userName": "Citizen"});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(take), &[]).await;
    assert!(st == 409 && body["scimType"] == "uniqueness", "{st} {body}");
    let del = format!("{base}/Users/{citizen}");
    let (st, _, _) = call(reqwest::Method::DELETE, &del, Some(&at), None, &[]).await;
    assert_eq!(st, 404);
    assert!(s.ops.store.account(&s.tenant_id().await, &citizen).await.unwrap().is_some(), "untouched");

    // a role the mapping does not name, a group with someone else as member, bad bodies
    let boss = json!({"schemas": [CORE], "userName": "boss", "roles": [{"value": "org_admin"}]});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(boss), &[]).await;
    assert!(st == 400 && body["scimType"] == "invalidValue", "{st} {body}");
    let grab = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "x", "members": [{"value": citizen}]});
    let orgs_before = s.ops.organisations("main", None).await.unwrap().len();
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Groups"), Some(&at), Some(grab), &[]).await;
    assert!(st == 400 && body["scimType"] == "invalidValue", "{st} {body}");
    assert_eq!(s.ops.organisations("main", None).await.unwrap().len(), orgs_before, "no department made");
    let add_citizen = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": citizen}]}]});
    let group_url = format!("{base}/Groups/{group}");
    let (st, _, _) = call(reqwest::Method::PATCH, &group_url, Some(&at), Some(add_citizen), &[]).await;
    assert_eq!(st, 400, "someone else's account into a department");
    // a department beside it by that name already, a name with a hidden direction change
    let twin = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "预算处"});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Groups"), Some(&at), Some(twin), &[]).await;
    assert!(st == 409 && body["scimType"] == "uniqueness", "{st} {body}");
    let flipped = json!({"schemas": [CORE], "userName": "flip", "displayName": "李\u{202e}四"});
    let (st, _, _) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(flipped), &[]).await;
    assert_eq!(st, 400);
    // what SCIM clients can read, even for what is not here: /Me (501), a trailing slash, a
    // method a path does not take, a body over the limit
    let (st, _, body) = call(reqwest::Method::GET, &format!("{base}/Me"), Some(&at), None, &[]).await;
    assert!(st == 501 && is_error(&body, "501"), "{st} {body}");
    let (st, _, body) = call(reqwest::Method::GET, &format!("{base}/Users/"), Some(&at), None, &[]).await;
    assert!(st == 404 && is_error(&body, "404"), "{st} {body}");
    let (st, _, body) = call(reqwest::Method::DELETE, &format!("{base}/Users"), Some(&at), None, &[]).await;
    assert!(st == 405 && is_error(&body, "405"), "{st} {body}");
    let huge = json!({"schemas": [CORE], "userName": "big", "title": "x".repeat(70_000)});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(huge), &[]).await;
    assert!(st == 413 && is_error(&body, "413"), "{st} {body}");
    // bulk: `bulkId:` is a reference only where one belongs (a member's or a manager's value)
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "bulkId": "a", "path": "/Users", "data": {"schemas": [CORE], "userName": "lu.yan"}},
        {"method": "POST", "bulkId": "b", "path": "/Users", "data": {"schemas": [CORE], "userName": "ma.li", "externalId": "bulkId:a"}},
        {"method": "POST", "bulkId": "c", "path": "/Users", "data": {"schemas": [CORE], "userName": "bad", "roles": [{"value": "nope"}]}},
    ]});
    let (st, _, done) =
        call(reqwest::Method::POST, &format!("{base}/Bulk"), Some(&at), Some(bulk), &[]).await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["Operations"][2]["status"], "400", "{done}");
    assert!(is_error(&done["Operations"][2]["response"], "400"), "{done}");
    let ma = done["Operations"][1]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (_, _, ma) = call(reqwest::Method::GET, &format!("{base}/Users/{ma}"), Some(&at), None, &[]).await;
    assert_eq!(ma["externalId"], "bulkId:a", "text stays as written");
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(json!("[")), &[]).await;
    assert!(st == 400 && is_error(&body, "400"), "{st} {body}");
    let (st, _, body) =
        call(reqwest::Method::GET, &format!("{base}/Users?filter=userName%20eq"), Some(&at), None, &[]).await;
    assert!(st == 400 && body["scimType"] == "invalidFilter", "{body}");
    let weak = json!({"schemas": [CORE], "userName": "weak.pw", "password": "123"});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(weak), &[]).await;
    assert!(st == 400 && body["detail"].as_str().unwrap().contains("password"), "{body}");

    // ETags: a conditional read, a stale write
    let url = format!("{base}/Users/{zhou}");
    let (_, h, current) = call(reqwest::Method::GET, &url, Some(&at), None, &[]).await;
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(current["meta"]["version"], etag.as_str());
    let (st, _, _) = call(reqwest::Method::GET, &url, Some(&at), None, &[("if-none-match", &etag)]).await;
    assert_eq!(st, 304);
    let stale = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    let (st, _, _) =
        call(reqwest::Method::PATCH, &url, Some(&at), Some(stale.clone()), &[("if-match", "W/\"old\"")])
            .await;
    assert_eq!(st, 412);
    let ro = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "groups", "value": []}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &url, Some(&at), Some(ro), &[]).await;
    assert!(st == 400 && body["scimType"] == "mutability", "{st} {body}");

    // a username that reads as a phone number would take that number's sign-in
    let phone = json!({"schemas": [CORE], "userName": "13800138000"});
    let (st, _, body) =
        call(reqwest::Method::POST, &format!("{base}/Users"), Some(&at), Some(phone), &[]).await;
    assert!(st == 400 && body["detail"].as_str().unwrap().contains("phone"), "{body}");
    // nor from an administrator, a directory or the CLI (they all make accounts here)
    let typed = NewAccount {
        username: "13900139000".into(),
        password: None,
        name: None,
        phone: None,
        email: None,
        roles: vec![],
    };
    assert!(s.ops.add_account("main", typed).await.is_err(), "a phone number as username");
    // a first password only: zhou.min has one
    let again = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "password", "value": "Another-Password-2026"}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &url, Some(&at), Some(again), &[]).await;
    assert!(st == 400 && body["scimType"] == "mutability", "{st} {body}");

    // an account an administrator also gave roles to is the administrator's to lock, rename
    // or delete; an administrator's lock is not undone by the feed's `active: true`
    let qian = got["qian"].as_str().unwrap().to_string();
    s.ops.add_membership("main", "qian.li", &parent.id, vec!["auditor".into()]).await.unwrap();
    let qian_url = format!("{base}/Users/{qian}");
    let (st, _, body) = call(reqwest::Method::DELETE, &qian_url, Some(&at), None, &[]).await;
    assert!(st == 409 && body["scimType"] == "mutability", "{st} {body}");
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "userName", "value": "qian.renamed"}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &qian_url, Some(&at), Some(rename), &[]).await;
    assert!(st == 409 && body["scimType"] == "mutability", "{st} {body}");
    let lock = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &qian_url, Some(&at), Some(lock), &[]).await;
    assert!(st == 409 && body["scimType"] == "mutability", "{st} {body}");
    // its name and email stay the administrator's (the feed's are kept as its data)
    let mail = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "emails", "value": [{"value": "taken@evil.example", "primary": true}]}]});
    let (st, _, _) = call(reqwest::Method::PATCH, &qian_url, Some(&at), Some(mail), &[]).await;
    assert_eq!(st, 200);
    let q = s.ops.store.account(&s.tenant_id().await, &qian).await.unwrap().unwrap();
    assert_eq!((q.username.as_str(), q.disabled), ("qian.li", false), "unchanged");
    assert_eq!(q.email.as_deref(), Some("qian.li@finance.example"), "the email stays");
    s.ops.lock_account_by("main", &qian, true, "admin").await.unwrap();
    let unlock = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": true}, {"op": "replace", "path": "title", "value": "科长"}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &qian_url, Some(&at), Some(unlock), &[]).await;
    assert_eq!(
        (st, body["active"].clone(), body["title"].clone()),
        (200, json!(false), json!("科长")),
        "{body}"
    );
    assert!(
        s.ops.store.account(&s.tenant_id().await, &qian).await.unwrap().unwrap().disabled,
        "still locked"
    );

    // zhou.min signs in with the first password; acting as staff, a second factor
    let staff =
        ClientSettings { contexts: vec!["staff".into()], scope: "openid org".into(), ..Default::default() };
    let (client, secret) = s.add_client(ClientType::Web, staff).await;
    let url = auth_url(&s.issuer, &client, "").replace("scope=openid", "scope=openid%20org");
    let (totp, _) = crate::step_up::enrol(&s, "zhou.min").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "zhou.min", PASSWORD).await.page();
    assert!(code_page.contains("name=\"code\""), "the password, then the second factor: {code_page}");
    let code = totp.code_at_step(s.env.now() / 30);
    let cb = match crate::step_up::submit_code(&b, &s, &code_page, &code).await {
        crate::browser::Step::Page { body, .. } if body.contains("value=\"allow\"") => {
            b.consent(&s, &body, true).await.callback()
        }
        other => other.callback(),
    };
    let info = userinfo_of(&s, &redeem(&s, &client, secret.as_deref().unwrap(), &cb["code"]).await).await;
    assert_eq!(
        (info["act_as"].as_str(), info["org"]["name"].as_str()),
        (Some("staff"), Some("预算处")),
        "{info}"
    );
    assert_eq!(info["roles"], json!(["clerk"]));

    // the role changes through SCIM: the membership follows; deactivation stops sign-ins
    let promote = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "roles", "value": [{"value": "approver"}]}]});
    let user_url = format!("{base}/Users/{zhou}");
    let (st, _, _) = call(reqwest::Method::PATCH, &user_url, Some(&at), Some(promote), &[]).await;
    assert_eq!(st, 200);
    let ms = s.ops.store.memberships(&zhou).await.unwrap();
    let live: Vec<_> = ms.iter().filter(|m| m.revoked_at.is_none()).collect();
    assert_eq!(live.len(), 1, "{ms:?}");
    assert_eq!(
        (live[0].organisation_id.as_str(), &live[0].roles),
        (group.as_str(), &vec!["approver".to_string(), "clerk".to_string()])
    );
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &user_url, Some(&at), Some(off), &[]).await;
    assert_eq!((st, body["active"].clone()), (200, json!(false)), "{body}");
    s.env.advance(30);
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, again) = b.sign_in(&s, &login, "zhou.min", PASSWORD).await.page();
    assert!(!again.contains("name=\"code\""), "a disabled account goes no further: {again}");
    assert!(again.contains("name=\"password\""), "back at the password: {again}");
    let tenant = s.tenant_id().await;
    let live = s.ops.store.account_sessions(&tenant, &zhou, s.env.now()).await.unwrap();
    assert!(live.is_empty(), "its sessions ended");
    // an administrator's unlock and lock are theirs: the feed's `active: true` lifts no lock
    s.ops.lock_account_by("main", &zhou, false, "admin").await.unwrap();
    s.ops.lock_account_by("main", &zhou, true, "admin").await.unwrap();
    let on = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "active", "value": true}]});
    let (st, _, body) = call(reqwest::Method::PATCH, &user_url, Some(&at), Some(on.clone()), &[]).await;
    assert_eq!((st, body["active"].clone()), (200, json!(false)), "{body}");
    // what the client disabled itself, it enables again
    s.ops.lock_account_by("main", &zhou, false, "admin").await.unwrap();
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "active", "value": false}]});
    call(reqwest::Method::PATCH, &user_url, Some(&at), Some(off), &[]).await;
    let (st, _, body) = call(reqwest::Method::PATCH, &user_url, Some(&at), Some(on), &[]).await;
    assert_eq!((st, body["active"].clone()), (200, json!(true)), "{body}");

    // another HR system of the tenant sees none of this one's users, nor changes them
    let (hr2, hr2_secret) = scim_client(&s, &parent.id, roles.clone()).await.unwrap();
    let at2 = token(&s, &hr2, &hr2_secret, "scim").await["access_token"].as_str().unwrap().to_string();
    let (_, _, l2) = call(reqwest::Method::GET, &format!("{base}/Users"), Some(&at2), None, &[]).await;
    assert_eq!(l2["totalResults"], 0, "{l2}");
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (st, _, _) = call(method, &user_url, Some(&at2), None, &[]).await;
        assert_eq!(st, 404);
    }
    let (st, _, _) = call(reqwest::Method::PATCH, &user_url, Some(&at2), Some(promote_again()), &[]).await;
    assert_eq!(st, 404);
    let (st, _, _) = call(reqwest::Method::PATCH, &group_url, Some(&at2), Some(promote_again()), &[]).await;
    assert_eq!(st, 404);
    let steal = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "窃取", "members": [{"value": zhou}]});
    let (st, _, _) =
        call(reqwest::Method::POST, &format!("{base}/Groups"), Some(&at2), Some(steal), &[]).await;
    assert_eq!(st, 400);

    // a delegated administrator of the parent may not take the HR system's secret (its tokens
    // provision staff and roles wherever the operator registered it)
    s.add_account("deleg").await;
    s.ops.add_membership("main", "deleg", &parent.id, vec!["org_admin".into()]).await.unwrap();
    let console = ClientSettings { scope: "openid admin".into(), admin_client: true, ..Default::default() };
    let (console, console_secret) = s.add_client(ClientType::Web, console).await;
    let (deleg_totp, _) = crate::step_up::enrol(&s, "deleg").await;
    let deleg = crate::admin_api::token(
        &s,
        &console,
        console_secret.as_deref().unwrap(),
        "openid%20admin",
        "deleg",
        Some(&deleg_totp),
    )
    .await;
    let api = crate::admin_api::Api { s: &s };
    let (st, _) = api.call("POST", &format!("main/clients/{hr}/rotate-secret"), Some(&deleg), None).await;
    assert_eq!(st, 403, "a SCIM client is the system administrators'");
    let (st, _) = api.call("GET", &format!("main/clients/{hr}"), Some(&deleg), None).await;
    assert_eq!(st, 403);
    let (_, listed) = api.call("GET", "main/clients", Some(&deleg), None).await;
    assert!(!listed.to_string().contains(&hr), "nor listed: {listed}");
    // a person's token is refused, whatever it carries
    let (st, _, body) = call(reqwest::Method::GET, &format!("{base}/Users"), Some(&deleg), None, &[]).await;
    assert!(st == 403 && is_error(&body, "403"), "{st} {body}");

    // everything audited, with the client named
    let events = s.ops.store.audit_events(&s.tenant_id().await, 200).await.unwrap();
    for kind in [
        "account_registered",
        "membership_granted",
        "membership_ended",
        "account_disabled",
        "account_deleted",
    ] {
        assert!(
            events.iter().any(|e| e.kind == kind && e.detail["client"] == hr.as_str()),
            "{kind} audited with the client"
        );
    }
}
crate::both_backends!(scim_provisioning, provisioned);
