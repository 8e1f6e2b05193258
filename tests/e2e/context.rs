//! Acting contexts through the pages: a staff-only application gets the staff context without
//! a question and the `org` claims; an application that accepts both shows the chooser (and so
//! does `prompt=select_account`); a person with no context the client accepts is refused; ending
//! the membership makes the staff tokens inactive and their refresh fail at once.

use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;
use serde_json::Value;

use crate::browser::{Browser, Step, extract, form_action, rp_http};
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer, auth_url};

async fn tokens(s: &TestServer, client: &str, secret: &str, code: &str) -> Value {
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

async fn userinfo(s: &TestServer, at: &str) -> (u16, Value) {
    let res = rp_http().get(format!("{}/userinfo", s.issuer)).bearer_auth(at).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap()
}

/// Through consent if asked; the callback.
async fn finish(b: &Browser, s: &TestServer, step: Step) -> std::collections::HashMap<String, String> {
    match step {
        Step::Page { body, .. } if body.contains("value=\"allow\"") => {
            b.consent(s, &body, true).await.callback()
        }
        other => other.callback(),
    }
}

async fn pick(b: &Browser, s: &TestServer, page: &str, value: &str) -> Step {
    let csrf = extract(page, "csrf").unwrap();
    b.post_form(s, &form_action(page), &[("csrf", &csrf), ("context", value)]).await
}

async fn acting_contexts(backend: Backend) {
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
    let city = s
        .ops
        .add_organisation("main", None, gov("government", Some("city"), Some("220100"), "长春市人民政府"))
        .await
        .unwrap();
    let dept = s
        .ops
        .add_organisation("main", Some(&city.id), gov("department", None, None, "长春市民政局"))
        .await
        .unwrap();
    s.add_account("lei").await;
    s.add_account("zoe").await;
    let m = s.ops.add_membership("main", "lei", &dept.id, vec!["approver".into()]).await.unwrap();
    let staff_only = ClientSettings {
        contexts: vec!["staff".into()],
        scope: "openid org".into(),
        always_issue_refresh_token: true,
        ..ClientSettings::default()
    };
    let (oa, oa_secret) = s.add_client(ClientType::Web, staff_only).await;
    let oa_secret = oa_secret.unwrap();
    let both = ClientSettings {
        contexts: vec!["self".into(), "staff".into()],
        scope: "openid org".into(),
        ..ClientSettings::default()
    };
    let (hall, hall_secret) = s.add_client(ClientType::Web, both).await;
    let with_org = |client: &str, extra: &str| {
        auth_url(&s.issuer, client, extra).replace("scope=openid", "scope=openid%20org")
    };

    // the staff-only application: no question, the staff context and its claims
    let b = Browser::new();
    let cb = b.authorize(&s, &with_org(&oa, ""), "lei").await.callback();
    let t = tokens(&s, &oa, &oa_secret, &cb["code"]).await;
    assert_eq!(claims(t["id_token"].as_str().unwrap())["act_as"], "staff", "{t}");
    let at = t["access_token"].as_str().unwrap().to_string();
    let rt = t["refresh_token"].as_str().expect("a refresh token").to_string();
    let (status, info) = userinfo(&s, &at).await;
    assert_eq!(status, 200);
    assert_eq!(
        (info["act_as"].as_str(), info["roles"].clone()),
        (Some("staff"), serde_json::json!(["approver"])),
        "{info}"
    );
    assert_eq!(info["org"]["name"], "长春市民政局");
    assert_eq!(info["org"]["path"], format!("/{}/{}/", city.id, dept.id));

    // both accepted: the chooser (same SSO session, no password); myself → no org claims
    let (_, _, chooser) = b.get(&s, &with_org(&hall, "")).await.page();
    assert!(
        chooser.contains("value=\"self\"") && chooser.contains(&format!("value=\"{}\"", m.id)),
        "{chooser}"
    );
    assert!(chooser.contains("长春市民政局") && chooser.contains("approver"), "{chooser}");
    let cb = finish(&b, &s, pick(&b, &s, &chooser, "self").await).await;
    let t = tokens(&s, &hall, hall_secret.as_deref().unwrap(), &cb["code"]).await;
    let (_, info) = userinfo(&s, t["access_token"].as_str().unwrap()).await;
    assert!(info["act_as"] == "self" && info.get("org").is_none(), "{info}");
    // a forged choice is refused (the chooser again)
    let (_, _, chooser) = b.get(&s, &with_org(&hall, "")).await.page();
    let (_, _, again) = pick(&b, &s, &chooser, "someone-elses").await.page();
    assert!(again.contains("value=\"self\""), "{again}");
    // prompt=none cannot ask
    let cb = b.get(&s, &with_org(&hall, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "interaction_required");
    // prompt=select_account (a fresh sign-in here) asks even where one context applies
    let (_, _, login) = b.get(&s, &with_org(&oa, "&prompt=select_account")).await.page();
    let (_, _, chooser) = b.sign_in(&s, &login, "lei", PASSWORD).await.page();
    assert!(
        chooser.contains(&format!("value=\"{}\"", m.id)) && !chooser.contains("value=\"self\""),
        "{chooser}"
    );

    // no staff membership: the staff-only application is refused
    let cb = Browser::new().authorize(&s, &with_org(&oa, ""), "zoe").await.callback();
    assert_eq!(cb["error"], "access_denied");

    // the membership ends: its tokens stop at once
    s.ops.revoke_membership("main", &m.id).await.unwrap();
    let (status, _) = userinfo(&s, &at).await;
    assert_eq!(status, 401, "userinfo refuses a token of an ended membership");
    let intro: Value = rp_http()
        .post(format!("{}/introspect", s.issuer))
        .basic_auth(&oa, Some(&oa_secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], false, "{intro}");
    let refreshed: Value = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(&oa, Some(&oa_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["error"], "invalid_grant", "{refreshed}");
}
crate::both_backends!(acting_contexts_staff_and_self, acting_contexts);
