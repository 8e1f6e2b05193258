//! The admin JSON API for the organisation tree, driven with access tokens each administrator
//! got through the real pages (password, then a TOTP code from the test clock: `aal2`):
//! every role × every action (system, security, audit and a delegated city administrator, who
//! cannot leave the city's subtree), role separation, a token without the admin scope or from
//! an aal1 sign-in, another tenant's token, unknown tenants, bad bodies; changes audited with
//! the administrator's account id; the OpenAPI document served.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;
use idp_core::totp::Secret;
use idp_server::ops::NewAccount;
use serde_json::{Value, json};

use crate::browser::{Browser, Step, rp_http};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::step_up::{enrol, submit_code};

/// An access token for `login` from `client`, asking for `scope` at aal2 when `totp` is given.
pub(crate) async fn token(
    s: &TestServer,
    client: &str,
    secret: &str,
    scope: &str,
    login: &str,
    totp: Option<&Secret>,
) -> String {
    token_in(s, "main", client, secret, scope, login, totp).await
}

/// [`token`] in the tenant `slug`.
pub(crate) async fn token_in(
    s: &TestServer,
    slug: &str,
    client: &str,
    secret: &str,
    scope: &str,
    login: &str,
    totp: Option<&Secret>,
) -> String {
    let b = Browser::new();
    let acr = if totp.is_some() { "&acr_values=aal2" } else { "" };
    let issuer = format!("{}/t/{slug}", s.base);
    let url = auth_url(&issuer, client, acr).replace("scope=openid", &format!("scope={scope}"));
    let (_, _, login_page) = b.get(s, &url).await.page();
    let mut step = b.sign_in(s, &login_page, login, PASSWORD).await;
    if let Some(totp) = totp {
        let (_, _, page) = step.page();
        step = submit_code(&b, s, &page, &totp.code_at_step(s.env.now() / 30)).await;
    }
    let cb = match step {
        Step::Page { body, .. } => b.consent(s, &body, true).await.callback(),
        left => left.callback(),
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", cb["code"].as_str()),
        ("redirect_uri", crate::common::REDIRECT),
    ];
    let res =
        rp_http().post(format!("{issuer}/token")).basic_auth(client, Some(secret)).form(&form).send().await;
    let t: Value = res.unwrap().json().await.unwrap();
    t["access_token"].as_str().unwrap_or_else(|| panic!("{t}")).to_string()
}

pub(crate) fn urlencoding(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub(crate) struct Api<'a> {
    pub s: &'a TestServer,
}

impl Api<'_> {
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/admin/v1/tenants/{path}", self.s.base);
        let mut req = match method {
            "GET" => rp_http().get(url),
            "POST" => rp_http().post(url),
            "PATCH" => rp_http().patch(url),
            _ => rp_http().delete(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        if status >= 400 {
            let ct = res.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(ct, "application/problem+json", "{method} {path}");
        }
        (status, res.json().await.unwrap_or_default())
    }
}

/// The token endpoint's error for a made-up code: `invalid_grant` once the client has
/// authenticated, `invalid_client` when it could not.
async fn token_error(s: &TestServer, id: &str, secret: &str) -> String {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "nothing"),
        ("redirect_uri", "https://app.example.gov.cn/cb"),
    ];
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["error"].as_str().unwrap_or_default().to_string()
}

async fn events_of(s: &TestServer, kind: &str) -> Vec<idp_core::model::AuditEvent> {
    let tenant = s.ops.tenant("main").await.unwrap().id;
    s.ops.store.audit_events(&tenant, 500).await.unwrap().into_iter().filter(|e| e.kind == kind).collect()
}

async fn admin_api(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    let gov = |kind: &str, level: Option<&str>, region: Option<&str>, name: &str| NewOrganisation {
        kind: kind.into(),
        name: name.into(),
        level: level.map(str::to_string),
        region_code: region.map(str::to_string),
        ..NewOrganisation::default()
    };
    let prov = s
        .ops
        .add_organisation("main", None, gov("government", Some("province"), Some("220000"), "省政府"))
        .await
        .unwrap();
    let city = s
        .ops
        .add_organisation("main", Some(&prov.id), gov("government", Some("city"), Some("220100"), "长春市"))
        .await
        .unwrap();
    let dept = s
        .ops
        .add_organisation("main", Some(&city.id), gov("department", None, None, "长春市民政局"))
        .await
        .unwrap();
    let other = s
        .ops
        .add_organisation("main", Some(&prov.id), gov("government", Some("city"), Some("220200"), "吉林市"))
        .await
        .unwrap();
    let other_dept = s
        .ops
        .add_organisation("main", Some(&other.id), gov("department", None, None, "吉林市民政局"))
        .await
        .unwrap();
    let account = |username: &str, roles: &[&str]| NewAccount {
        username: username.into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    // role separation: no account holds two administrator roles
    let both = s.ops.add_account("main", account("greedy", &["system_admin", "audit_admin"])).await;
    assert!(both.unwrap_err().to_string().contains("two administrator roles"));
    for (who, roles) in
        [("sys", &["system_admin"][..]), ("sec", &["security_admin"]), ("aud", &["audit_admin"])]
    {
        s.ops.add_account("main", account(who, roles)).await.unwrap();
    }
    for who in ["deleg", "nobody", "staffer", "clerk1"] {
        s.add_account(who).await;
    }
    let deleg_id = s.ops.account("main", "deleg").await.unwrap().id;
    s.ops.add_membership("main", "deleg", &city.id, vec!["org_admin".into()]).await.unwrap();
    let in_other =
        s.ops.add_membership("main", "clerk1", &other_dept.id, vec!["clerk".into()]).await.unwrap();

    let admin_client =
        ClientSettings { scope: "openid admin".into(), admin_client: true, ..ClientSettings::default() };
    let (console, console_secret) = s.add_client(ClientType::Web, admin_client).await;
    let console_secret = console_secret.unwrap();
    let (plain, plain_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let mut tokens = std::collections::HashMap::new();
    let mut sys_totp = None;
    for who in ["sys", "sec", "aud", "deleg", "nobody"] {
        let (totp, _) = enrol(&s, who).await;
        tokens.insert(who, token(&s, &console, &console_secret, "openid%20admin", who, Some(&totp)).await);
        if who == "sys" {
            sys_totp = Some(totp);
        }
    }
    let api = Api { s: &s };
    let tk = |who: &str| tokens[who].clone();

    // who is refused before any action
    let (status, p) = api.call("GET", "main/organisations", None, None).await;
    assert_eq!((status, p["status"].as_u64()), (401, Some(401)));
    assert_eq!(api.call("GET", "main/organisations", Some("not-a-token"), None).await.0, 401);
    let (status, p) = api.call("GET", "main/organisations", Some(&tk("nobody")), None).await;
    assert_eq!(status, 403, "no administrator role: {p}");
    let aal1 = token(&s, &console, &console_secret, "openid%20admin", "staffer", None).await;
    let (status, p) = api.call("GET", "main/organisations", Some(&aal1), None).await;
    assert!(status == 403 && p["detail"].as_str().unwrap().contains("aal2"), "{p}");
    s.env.advance(30);
    let no_scope =
        token(&s, &plain, plain_secret.as_deref().unwrap(), "openid", "sys", sys_totp.as_ref()).await;
    let (status, p) = api.call("GET", "main/organisations", Some(&no_scope), None).await;
    assert!(status == 401 && p["detail"].as_str().unwrap().contains("not for the admin API"), "{p}");
    // the administrators' client, for the admin API, but without the admin scope
    let resource = format!("openid&resource={}", urlencoding(&format!("{}/admin/v1", s.base)));
    s.env.advance(30);
    let no_scope = token(&s, &console, &console_secret, &resource, "sys", sys_totp.as_ref()).await;
    let (status, p) = api.call("GET", "main/organisations", Some(&no_scope), None).await;
    assert!(status == 403 && p["detail"].as_str().unwrap().contains("admin scope"), "{p}");
    assert_eq!(api.call("GET", "nowhere/organisations", Some(&tk("sys")), None).await.0, 404);
    s.ops.add_tenant("north", None).await.unwrap();
    assert_eq!(
        api.call("GET", "north/organisations", Some(&tk("sys")), None).await.0,
        401,
        "another tenant's token"
    );

    // the matrix: (action, expected for sys, sec, aud, deleg)
    let ids = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect()
    };
    for (who, seen) in [("sys", 5), ("sec", 5), ("deleg", 2)] {
        let (status, list) = api.call("GET", "main/organisations", Some(&tk(who)), None).await;
        assert_eq!((status, ids(&list).len()), (200, seen), "{who}: {list}");
    }
    let (_, list) = api.call("GET", "main/organisations", Some(&tk("deleg")), None).await;
    assert_eq!(ids(&list), vec![city.id.clone(), dept.id.clone()], "the city's subtree only");
    assert_eq!(api.call("GET", "main/organisations", Some(&tk("aud")), None).await.0, 403);
    let q = format!("main/organisations?under={}", other.id);
    assert_eq!(api.call("GET", &q, Some(&tk("deleg")), None).await.0, 403);

    let dept_new =
        |parent: &str, name: &str| json!({"parent_id": parent, "kind": "department", "name": name});
    let root_new =
        json!({"kind": "government", "name": "另一个省", "level": "province", "region_code": "230000"});
    type Case = (&'static str, String, Option<Value>, [u16; 4]);
    let cases: Vec<Case> = vec![
        ("GET", format!("main/organisations/{}", dept.id), None, [200, 200, 403, 200]),
        ("GET", format!("main/organisations/{}", other.id), None, [200, 200, 403, 403]),
        ("GET", format!("main/organisations/{}", prov.id), None, [200, 200, 403, 403]),
        ("POST", "main/organisations".into(), Some(root_new), [201, 403, 403, 403]),
        ("POST", "main/organisations".into(), Some(dept_new(&city.id, "长春市人社局")), [201, 403, 403, 201]),
        (
            "POST",
            "main/organisations".into(),
            Some(dept_new(&other.id, "吉林市人社局")),
            [201, 403, 403, 403],
        ),
        ("GET", format!("main/organisations/{}/members", dept.id), None, [200, 200, 403, 200]),
        ("GET", format!("main/organisations/{}/members", other_dept.id), None, [200, 200, 403, 403]),
        (
            "POST",
            format!("main/organisations/{}/members", dept.id),
            Some(json!({"username": "staffer", "roles": ["approver"]})),
            // once: the delegated administrator's second membership is refused as a duplicate
            [201, 403, 403, 409],
        ),
        (
            "POST",
            format!("main/organisations/{}/members", other_dept.id),
            Some(json!({"username": "staffer", "roles": ["approver"]})),
            [201, 403, 403, 403],
        ),
    ];
    for (method, path, body, expected) in cases {
        for (who, want) in ["sys", "sec", "aud", "deleg"].into_iter().zip(expected) {
            // a name per caller, so creations do not collide
            let body = body.clone().map(|mut b| {
                if let Some(n) = b.get("name").and_then(Value::as_str) {
                    b["name"] = json!(format!("{n}{who}"));
                }
                if b.get("region_code").is_some() {
                    b["region_code"] = json!(format!(
                        "23{:04}",
                        ["sys", "sec", "aud", "deleg"].iter().position(|w| *w == who).unwrap()
                    ));
                }
                b
            });
            let (status, answer) = api.call(method, &path, Some(&tk(who)), body).await;
            assert_eq!(status, want, "{who} {method} {path}: {answer}");
        }
    }
    // revoking: inside the subtree yes, outside no; then gone
    let (_, members) =
        api.call("GET", &format!("main/organisations/{}/members", dept.id), Some(&tk("deleg")), None).await;
    let mine = members.as_array().unwrap().iter().find(|m| m["roles"] == json!(["approver"])).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = format!("main/memberships/{}", in_other.id);
    for who in ["sec", "aud", "deleg"] {
        assert_eq!(api.call("DELETE", &m, Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let (status, ended) =
        api.call("DELETE", &format!("main/memberships/{mine}"), Some(&tk("deleg")), None).await;
    assert!(status == 200 && ended["revoked_at"].is_i64(), "{ended}");
    assert_eq!(
        api.call("DELETE", &format!("main/memberships/{mine}"), Some(&tk("deleg")), None).await.0,
        404
    );
    assert_eq!(api.call("DELETE", &m, Some(&tk("sys")), None).await.0, 200);

    // bad input: precise problems, nothing created
    let bad = [
        (json!({"kind": "department", "name": "x", "parent_id": "nope"}), 400),
        (
            json!({"kind": "enterprise", "name": "坏企业", "parent_id": null, "uscc": "91220101MA0Y3K5Q3"}),
            400,
        ),
        (json!({"kind": "department", "name": ""}), 400),
        (json!({"kind": "department", "name": "x", "colour": "red"}), 400),
        (json!([1, 2]), 400),
    ];
    for (body, want) in bad {
        let (status, p) = api.call("POST", "main/organisations", Some(&tk("sys")), Some(body.clone())).await;
        assert!(status == want && p["detail"].is_string(), "{body}: {status} {p}");
    }
    let ent = json!({"kind": "enterprise", "name": "示例科技有限公司", "uscc": "91220101MA0Y3K5Q3C"});
    assert_eq!(api.call("POST", "main/organisations", Some(&tk("sys")), Some(ent.clone())).await.0, 201);
    assert_eq!(api.call("POST", "main/organisations", Some(&tk("sys")), Some(ent)).await.0, 409);
    let res = rp_http()
        .post(format!("{}/admin/v1/tenants/main/organisations", s.base))
        .bearer_auth(tk("sys"))
        .form(&[("kind", "department")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);

    // audited with the administrator's identity
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 300).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "organisation_added" && e.detail["by"] == deleg_id.as_str()));
    assert!(events.iter().any(|e| e.kind == "membership_revoked" && e.detail["by"] == deleg_id.as_str()));

    // the audit trail: auditors only, read-only
    for who in ["sys", "sec", "deleg"] {
        assert_eq!(api.call("GET", "main/audit", Some(&tk(who)), None).await.0, 403, "{who}");
        assert_eq!(api.call("GET", "main/audit/verify", Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let q = "main/audit?kind=organisation_added&limit=50";
    let (status, records) = api.call("GET", q, Some(&tk("aud")), None).await;
    assert_eq!(status, 200, "{records}");
    let records = records.as_array().unwrap();
    assert!(records.len() >= 5 && records.iter().all(|r| r["kind"] == "organisation_added"), "{records:?}");
    assert!(records.iter().any(|r| r["detail"].as_str().unwrap().contains(&deleg_id)));
    let (status, report) = api.call("GET", "main/audit/verify", Some(&tk("aud")), None).await;
    assert!(
        status == 200 && report["chains"].as_array().unwrap().iter().all(|c| c["problems"] == json!([])),
        "{report}"
    );
    let csv = rp_http()
        .get(format!("{}/admin/v1/tenants/main/audit?format=csv&limit=5", s.base))
        .bearer_auth(tk("aud"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("seq,at,kind,"));

    // the dashboard's figures: system and security administrators
    for who in ["aud", "deleg"] {
        assert_eq!(api.call("GET", "main/stats", Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let (status, stats) = api.call("GET", "main/stats", Some(&tk("sys")), None).await;
    assert_eq!(status, 200);
    let hours = stats["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let sign_ins: i64 = hours.iter().map(|h| h["sign_ins"].as_i64().unwrap()).sum();
    assert!(sign_ins >= 5, "{stats}");
    assert!(
        stats["live_sessions"].as_i64().unwrap() >= 5 && stats["keys"].as_array().unwrap().len() == 4,
        "{stats}"
    );
    assert_eq!(api.call("GET", "main/stats", Some(&tk("sec")), None).await.0, 200);

    // signing keys: security administrators only
    for who in ["sys", "aud", "deleg"] {
        assert_eq!(api.call("GET", "main/keys", Some(&tk(who)), None).await.0, 403, "{who}");
        let rotate = Some(json!({"alg": "ES256"}));
        assert_eq!(api.call("POST", "main/keys/rotate", Some(&tk(who)), rotate).await.0, 403, "{who}");
    }
    let (status, keys) = api.call("GET", "main/keys", Some(&tk("sec")), None).await;
    assert_eq!((status, keys.as_array().unwrap().len()), (200, 4), "{keys}");
    let bad = Some(json!({"alg": "HS256"}));
    assert_eq!(api.call("POST", "main/keys/rotate", Some(&tk("sec")), bad).await.0, 400);
    let (status, keys) =
        api.call("POST", "main/keys/rotate", Some(&tk("sec")), Some(json!({"alg": "PS256"}))).await;
    assert_eq!(status, 201);
    let ps: Vec<&Value> = keys.as_array().unwrap().iter().filter(|k| k["alg"] == "PS256").collect();
    assert_eq!(ps.len(), 2);
    let signing = ps.iter().find(|k| k["state"] == "signs").unwrap()["kid"].as_str().unwrap().to_string();
    for who in ["sys", "aud", "deleg"] {
        let path = format!("main/keys/{signing}/revoke");
        assert_eq!(api.call("POST", &path, Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let path = format!("main/keys/{signing}/revoke");
    // it signs the administrators' tokens (this is their tenant): only with its kid typed again
    let (status, refused) = api.call("POST", &path, Some(&tk("sec")), None).await;
    assert_eq!(status, 409, "{refused}");
    let wrong = json!({"confirm": "not-the-kid"});
    assert_eq!(api.call("POST", &path, Some(&tk("sec")), Some(wrong)).await.0, 409);
    let (status, keys) = api.call("POST", &path, Some(&tk("sec")), Some(json!({"confirm": signing}))).await;
    assert_eq!(status, 200);
    assert!(keys.as_array().unwrap().iter().any(|k| k["kid"] == signing.as_str() && k["state"] == "revoked"));
    assert_eq!(api.call("POST", &path, Some(&tk("sec")), None).await.0, 409);
    assert_eq!(api.call("POST", "main/keys/nope/revoke", Some(&tk("sec")), None).await.0, 404);
    assert!(events_of(&s, "key_revoked").await.iter().any(|e| e.detail["by"] != "operator-cli"));

    // people's accounts: security administrators only
    for who in ["sys", "aud", "deleg"] {
        assert_eq!(api.call("GET", "main/accounts?q=staff", Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let (status, found) = api.call("GET", "main/accounts?q=STAFF", Some(&tk("sec")), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        found.as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["staffer"]
    );
    assert_eq!(api.call("GET", "main/accounts?q=%25", Some(&tk("sec")), None).await.0, 400, "too short");
    let (_, none) = api.call("GET", "main/accounts?q=%25%25%25", Some(&tk("sec")), None).await;
    assert_eq!(none, json!([]), "LIKE wildcards are literal");
    // by ID number, through the keyed hash: bind one first
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let nobody_id = s.ops.account("main", "nobody").await.unwrap().id;
    let record = idp_core::model::RealName {
        account_id: nobody_id.clone(),
        tenant_id: tenant.clone(),
        level: 2,
        name: "某人".into(),
        id_type: "resident_id".into(),
        id_sealed: idp_core::realname::seal_id(
            &s.ops.kek,
            &s.env,
            Default::default(),
            &tenant,
            "220102199003070013",
        ),
        id_hash: idp_core::realname::id_hash(&s.ops.kek, &tenant, "220102199003070013"),
        id_masked: "2201**********0013".into(),
        method: "provider".into(),
        verifier: "simulator".into(),
        verified_at: 1,
        evidence: None,
    };
    s.ops.store.put_real_name(&record).await.unwrap();
    let (_, found) = api.call("GET", "main/accounts?q=220102199003070013", Some(&tk("sec")), None).await;
    assert_eq!(found[0]["id"], nobody_id.as_str(), "{found}");
    let (status, detail) =
        api.call("GET", &format!("main/accounts/{nobody_id}"), Some(&tk("sec")), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["realname"]["id_number_masked"], "2201**********0013");
    assert!(!detail.to_string().contains("220102199003070013"), "never in full");
    assert_eq!(detail["totp"], true);
    assert!(!detail["sessions"].as_array().unwrap().is_empty(), "{detail}");
    // reset factors: no authenticator, no sessions; the person signs in with the password alone
    let path = format!("main/accounts/{nobody_id}/reset-factors");
    for who in ["sys", "aud", "deleg"] {
        assert_eq!(api.call("POST", &path, Some(&tk(who)), None).await.0, 403, "{who}");
    }
    let (status, after) = api.call("POST", &path, Some(&tk("sec")), None).await;
    assert!(status == 200 && after["totp"] == false && after["sessions"] == json!([]), "{after}");
    // lock: sign-ins refused and sessions ended; unlock
    let (status, after) =
        api.call("POST", &format!("main/accounts/{nobody_id}/lock"), Some(&tk("sec")), None).await;
    assert!(status == 200 && after["account"]["disabled"] == true, "{after}");
    let (_, after) =
        api.call("POST", &format!("main/accounts/{nobody_id}/unlock"), Some(&tk("sec")), None).await;
    assert_eq!(after["account"]["disabled"], false);
    let (status, _) =
        api.call("POST", &format!("main/accounts/{nobody_id}/end-sessions"), Some(&tk("sec")), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        api.call("POST", &format!("main/accounts/{nobody_id}/explode"), Some(&tk("sec")), None).await.0,
        404
    );
    assert_eq!(api.call("GET", "main/accounts/nope", Some(&tk("sec")), None).await.0, 404);
    for kind in [
        "factors_reset_by_admin",
        "account_locked_by_admin",
        "account_unlocked_by_admin",
        "sessions_ended_by_admin",
    ] {
        let e = events_of(&s, kind).await;
        assert!(
            e.iter()
                .any(|e| e.account_id.as_deref() == Some(nobody_id.as_str())
                    && e.detail["by"] != "operator-cli"),
            "{kind}"
        );
    }

    // clients: system administrators all, a delegated administrator those of its subtree
    let web = |name: &str, org: Option<&str>| {
        json!({"name": name, "type": "web", "redirect_uris": ["https://app.example.gov.cn/cb"],
               "scope": "openid profile realname", "purposes": {"realname": "核验申请人身份"},
               "organisation_id": org, "consent": "statutory", "min_realname_level": 2})
    };
    for who in ["sec", "aud"] {
        assert_eq!(
            api.call("POST", "main/clients", Some(&tk(who)), Some(web("x", None))).await.0,
            403,
            "{who}"
        );
    }
    assert_eq!(
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(web("x", None))).await.0,
        403,
        "no organisation: not the delegate's"
    );
    assert_eq!(
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(web("x", Some(&other.id)))).await.0,
        403
    );
    let (status, mine) =
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(web("民政服务", Some(&dept.id)))).await;
    assert_eq!(status, 201, "{mine}");
    let secret = mine["client_secret"].as_str().unwrap().to_string();
    let id = mine["client_id"].as_str().unwrap().to_string();
    assert_eq!(
        (mine["consent"].as_str(), mine["purposes"]["realname"].as_str()),
        (Some("statutory"), Some("核验申请人身份"))
    );
    // CAS services are clients of type cas under the same rules
    let cas = |org: &str, service: &str| {
        json!({"name": "不动产登记", "type": "cas", "services": [service], "scope": "openid profile",
               "organisation_id": org, "ticket_ttl": 20})
    };
    let service = "https://bdc.example.gov.cn/cas/*";
    assert_eq!(
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(cas(&other.id, service))).await.0,
        403
    );
    let (status, bad) =
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(cas(&dept.id, "https://*.gov.cn/"))).await;
    assert_eq!(status, 400, "{bad}");
    let (status, cas_service) =
        api.call("POST", "main/clients", Some(&tk("deleg")), Some(cas(&dept.id, service))).await;
    assert_eq!(status, 201, "{cas_service}");
    assert!(cas_service.get("client_secret").is_none(), "a CAS service has no secret");
    assert_eq!(cas_service["cas"], json!({"services": [service], "ticket_ttl": 20, "single_logout": true}));
    let path = format!("main/clients/{}", cas_service["client_id"].as_str().unwrap());
    let (status, _) =
        api.call("PATCH", &path, Some(&tk("deleg")), Some(json!({"redirect_uris": ["https://x/cb"]}))).await;
    assert_eq!(status, 400, "a CAS service has no redirect URIs");
    let (status, changed) =
        api.call("PATCH", &path, Some(&tk("deleg")), Some(json!({"single_logout": false}))).await;
    assert!(status == 200 && changed["cas"]["single_logout"] == false, "{changed}");
    assert!(!events_of(&s, "client_updated").await.is_empty());
    let (_, theirs) =
        api.call("POST", "main/clients", Some(&tk("sys")), Some(web("吉林服务", Some(&other.id)))).await;
    let theirs_id = theirs["client_id"].as_str().unwrap().to_string();
    let (_, list) = api.call("GET", "main/clients", Some(&tk("deleg")), None).await;
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id.as_str()) && !ids.contains(&theirs_id.as_str()), "{ids:?}");
    assert_eq!(api.call("GET", &format!("main/clients/{theirs_id}"), Some(&tk("deleg")), None).await.0, 403);
    assert_eq!(api.call("GET", &format!("main/clients/{theirs_id}"), Some(&tk("sys")), None).await.0, 200);
    // bad input
    for bad in [
        json!({"name": "x", "type": "kiosk", "redirect_uris": ["https://a.example/cb"]}),
        json!({"name": "x", "type": "web", "redirect_uris": ["http://evil.example/cb"]}),
        json!({"name": "x", "type": "web", "redirect_uris": ["https://a.example/cb"], "purposes": {"realname": "why"}}),
        json!({"name": "x", "type": "web", "redirect_uris": ["https://a.example/cb"], "min_realname_level": 7}),
        json!({"name": "x", "type": "web", "redirect_uris": ["https://a.example/cb"], "access_token_ttl": 999999}),
    ] {
        let (status, p) = api.call("POST", "main/clients", Some(&tk("sys")), Some(bad.clone())).await;
        assert!(status == 400 && p["detail"].is_string(), "{bad}: {status} {p}");
    }
    // change it
    let change =
        json!({"scope": "openid profile", "purposes": {}, "consent": "ask", "access_token_ttl": 300});
    let (status, changed) =
        api.call("PATCH", &format!("main/clients/{id}"), Some(&tk("deleg")), Some(change)).await;
    assert!(
        status == 200 && changed["scope"] == "openid profile" && changed["consent"] == "ask",
        "{changed}"
    );
    let bad = json!({"type": "service"});
    assert_eq!(api.call("PATCH", &format!("main/clients/{id}"), Some(&tk("deleg")), Some(bad)).await.0, 400);
    // the secret rotates with an overlap: both work until it ends, then only the new one
    assert_eq!(token_error(&s, &id, &secret).await, "invalid_grant", "authenticated, the code is just wrong");
    let path = format!("main/clients/{id}/rotate-secret");
    let (status, rotated) =
        api.call("POST", &path, Some(&tk("deleg")), Some(json!({"overlap_seconds": 60}))).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert!(rotated["previous_secret_until"].is_i64());
    assert_eq!(token_error(&s, &id, &secret).await, "invalid_grant", "the old secret during the overlap");
    assert_eq!(token_error(&s, &id, &new_secret).await, "invalid_grant");
    s.env.advance(61);
    assert_eq!(token_error(&s, &id, &secret).await, "invalid_client", "the old secret after the overlap");
    assert_eq!(token_error(&s, &id, &new_secret).await, "invalid_grant");
    // disable, enable
    let (_, off) = api.call("POST", &format!("main/clients/{id}/disable"), Some(&tk("deleg")), None).await;
    assert_eq!(off["disabled"], true);
    assert_eq!(token_error(&s, &id, &new_secret).await, "invalid_client");
    let (_, on) = api.call("POST", &format!("main/clients/{id}/enable"), Some(&tk("deleg")), None).await;
    assert_eq!(on["disabled"], false);
    for kind in
        ["client_registered", "client_updated", "client_secret_rotated", "client_disabled", "client_enabled"]
    {
        assert!(events_of(&s, kind).await.iter().any(|e| e.detail["by"] == deleg_id.as_str()), "{kind}");
    }

    // the purposes registered are on the consent page, beside their items
    let with_purpose = json!({"name": "社保查询", "type": "web", "redirect_uris": [crate::common::REDIRECT],
        "scope": "openid profile", "purposes": {"profile": "在办事记录中显示您的姓名"}});
    let (_, c) = api.call("POST", "main/clients", Some(&tk("sys")), Some(with_purpose)).await;
    let url = auth_url(&s.issuer, c["client_id"].as_str().unwrap(), "")
        .replace("scope=openid", "scope=openid%20profile");
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, consent) = b.sign_in(&s, &login, "clerk1", PASSWORD).await.page();
    assert!(consent.contains("用途：在办事记录中显示您的姓名"), "{consent}");

    // a method a path does not have: a problem too
    assert_eq!(api.call("DELETE", "main/organisations", Some(&tk("sys")), None).await.0, 405);

    // the OpenAPI document
    let doc: Value =
        reqwest::get(format!("{}/admin/v1/openapi.json", s.base)).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/tenants/{tenant}/organisations"]["post"].is_object());
    the_served_document_matches_the_router(&s, &doc).await;
}

/// Every operation the served document describes is routed to a handler (which, without a
/// token, answers 401 with a problem: the router's own 404 would not), and every other method
/// on a documented path is refused with 405: the router serves nothing undocumented there.
async fn the_served_document_matches_the_router(s: &TestServer, doc: &Value) {
    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    for (path, item) in paths {
        let ops = item.as_object().unwrap();
        assert!(ops.keys().all(|m| METHODS.contains(&m.as_str())), "{path}: {:?}", ops.keys());
        // a real path: the tenant `main`, an action's first value, anything for an id
        let mut concrete = vec![];
        for segment in path.split('/') {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                concrete.push(segment.to_string());
                continue;
            };
            let param = ops
                .values()
                .flat_map(|op| op["parameters"].as_array().unwrap().iter())
                .find(|p| p["name"] == name && p["in"] == "path");
            let first = param.and_then(|p| p["schema"]["enum"][0].as_str());
            concrete.push(match (name, first) {
                ("tenant", _) => "main".to_string(),
                (_, Some(v)) => v.to_string(),
                _ => "x".to_string(),
            });
        }
        let url = format!("{}/admin/v1{}", s.base, concrete.join("/"));
        for method in METHODS {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = rp_http().request(m, &url).send().await.unwrap();
            let status = res.status().as_u16();
            let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            let expected = if ops.contains_key(method) { 401 } else { 405 };
            assert_eq!(status, expected, "{method} {path} ({url})");
            assert_eq!(ct.as_deref(), Some("application/problem+json"), "{method} {path}");
        }
    }
}
crate::both_backends!(admin_api_organisation_tree, admin_api);
