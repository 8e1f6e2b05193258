//! Acting contexts through the pages: staff acting as staff need two factors (so does anyone
//! at a staff-only application); a staff-only application gets the staff context without
//! a question and the `org` claims; an application that accepts both shows the chooser (and so
//! does `prompt=select_account`); a person with no context the client accepts is refused; ending
//! the membership makes the staff tokens inactive and their refresh fail at once. The account
//! page switches the session's context, which later authorizations take without asking.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::rp::{claims, introspect, redeem as tokens, refresh, userinfo};

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

    // the staff-only application: two factors (docs/domain.md: staff acting as staff need aal2),
    // then no question, the staff context and its claims
    let (totp, _) = crate::step_up::enrol(&s, "lei").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &with_org(&oa, "")).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "lei", PASSWORD).await.page();
    assert!(code_page.contains("name=\"code\""), "a password alone is not enough: {code_page}");
    let code = totp.code_at_step(s.env.now() / 30);
    let cb = finish(&b, &s, crate::step_up::submit_code(&b, &s, &code_page, &code).await).await;
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

    // the account page switches the session's context without signing in again: later
    // authorizations take it without the chooser, prompt=none too; a forged one is refused
    let account_url = format!("{}/t/main/account/identity", s.base);
    let account = b.get(&s, &account_url).await.page().2;
    assert!(account.contains("id=\"contexts\"") && !account.contains("data-current"), "{account}");
    let switch = |value: String| {
        let csrf = extract(&account, "csrf").unwrap();
        let b = &b;
        let s = &s;
        async move {
            b.post_form(s, "/t/main/account/context", &[("csrf", &csrf), ("context", &value)]).await.page().2
        }
    };
    let forged = switch("someone-elses".into()).await;
    assert!(forged.contains("role=\"alert\"") && !forged.contains("data-current"), "{forged}");
    let switched = switch(m.id.clone()).await;
    assert!(switched.contains(&format!("value=\"{}\" checked data-current", m.id)), "{switched}");
    let cb = finish(&b, &s, b.get(&s, &with_org(&hall, "")).await).await;
    let t = tokens(&s, &hall, hall_secret.as_deref().unwrap(), &cb["code"]).await;
    assert_eq!(claims(t["id_token"].as_str().unwrap())["act_as"], "staff", "{t}");
    let cb = b.get(&s, &with_org(&hall, "&prompt=none")).await.callback();
    let t = tokens(&s, &hall, hall_secret.as_deref().unwrap(), &cb["code"]).await;
    assert_eq!(claims(t["id_token"].as_str().unwrap())["act_as"], "staff", "{t}");
    switch("self".into()).await;
    let cb = b.get(&s, &with_org(&hall, "&prompt=none")).await.callback();
    let t = tokens(&s, &hall, hall_secret.as_deref().unwrap(), &cb["code"]).await;
    assert_eq!(claims(t["id_token"].as_str().unwrap())["act_as"], "self", "{t}");

    // prompt=select_account (a fresh sign-in here) asks even where one context applies
    s.env.advance(30);
    let (_, _, login) = b.get(&s, &with_org(&oa, "&prompt=select_account")).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "lei", PASSWORD).await.page();
    let code = totp.code_at_step(s.env.now() / 30);
    let (_, _, chooser) = crate::step_up::submit_code(&b, &s, &code_page, &code).await.page();
    assert!(
        chooser.contains(&format!("value=\"{}\"", m.id)) && !chooser.contains("value=\"self\""),
        "{chooser}"
    );

    // a staff-only application needs two factors of everyone; with them, no staff membership
    // is refused
    let bz0 = Browser::new();
    let offer = bz0.authorize(&s, &with_org(&oa, ""), "zoe").await;
    let cb = bz0.decline_set_up(&s, offer).await.callback();
    assert_eq!(cb["error"], "unmet_authentication_requirements");
    let (zoe_totp, _) = crate::step_up::enrol(&s, "zoe").await;
    let bz = Browser::new();
    let (_, _, login) = bz.get(&s, &with_org(&oa, "")).await.page();
    let (_, _, code_page) = bz.sign_in(&s, &login, "zoe", PASSWORD).await.page();
    let code = zoe_totp.code_at_step(s.env.now() / 30);
    let cb = crate::step_up::submit_code(&bz, &s, &code_page, &code).await.callback();
    assert_eq!(cb["error"], "access_denied");
    // a citizen at the application that accepts both contexts: the password alone
    let (hall_self, _) = s
        .add_client(
            ClientType::Web,
            ClientSettings { contexts: vec!["self".into(), "staff".into()], ..ClientSettings::default() },
        )
        .await;
    s.add_account("cai").await;
    let cb = Browser::new().authorize(&s, &auth_url(&s.issuer, &hall_self, ""), "cai").await.callback();
    assert!(cb.contains_key("code"), "{cb:?}");

    // the membership ends: its tokens stop at once
    s.ops.revoke_membership("main", &m.id).await.unwrap();
    let (status, _) = userinfo(&s, &at).await;
    assert_eq!(status, 401, "userinfo refuses a token of an ended membership");
    let intro = introspect(&s, &oa, &oa_secret, &at).await;
    assert_eq!(intro["active"], false, "{intro}");
    let refreshed = refresh(&s, &oa, &oa_secret, &rt).await;
    assert_eq!(refreshed["error"], "invalid_grant", "{refreshed}");
}
crate::both_backends!(acting_contexts_staff_and_self, acting_contexts);
