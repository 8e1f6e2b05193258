//! Two factors through the real pages, with TOTP codes computed from the test clock: a person
//! with an authenticator gets the code page after the password, and no session before it; a
//! client asking `acr_values=aal2` of an aal1 session gets the code page (not the password
//! page) and then an ID token saying `acr=aal2` with the right amr; a code is accepted once;
//! wrong codes count towards the lockout; a recovery code stands in for a lost phone, once;
//! prompt=none cannot step up; an account without a second factor is offered to set one up,
//! and declining, the client gets `unmet_authentication_requirements`.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::totp::Secret;
use serde_json::Value;

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};

async fn id_token(s: &TestServer, client: &str, secret: &str, code: &str) -> Value {
    crate::rp::id_token(&crate::rp::redeem(s, client, secret, code).await)
}

/// Enrols and confirms an authenticator for `login`, as the account page will; returns it
/// and the recovery codes.
pub(crate) async fn enrol(s: &TestServer, login: &str) -> (Secret, Vec<String>) {
    let secret = s.ops.enrol_totp("main", login).await.unwrap();
    let codes = s.ops.confirm_totp("main", login, &secret.code_at_step(s.env.now() / 30)).await.unwrap();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    // the confirming step is used: move on to the next one
    s.env.advance(30);
    (secret, codes)
}

pub(crate) async fn submit_code(b: &Browser, s: &TestServer, page: &str, code: &str) -> Step {
    assert!(page.contains("name=\"code\""), "not the code page: {page}");
    let csrf = extract(page, "csrf").unwrap();
    b.post_form(s, &form_action(page), &[("csrf", &csrf), ("code", code)]).await
}

fn is_code_page(step: Step) -> String {
    let (_, status, body) = step.page();
    assert_eq!(status, 200);
    assert!(body.contains("name=\"code\"") && !body.contains("name=\"password\""), "{body}");
    body
}

async fn step_up(backend: Backend) {
    // (more attempts than the default per-account limit of 10 a minute happen here; on SQLite
    // that limit counts in real time, not on the test clock)
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    s.add_account("hana").await;
    s.add_account("ivan").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();

    // aal1: password only
    let b = Browser::new();
    let cb = b.authorize(&s, &auth_url(&s.issuer, &web, ""), "hana").await.callback();
    let c = id_token(&s, &web, &secret, &cb["code"]).await;
    assert_eq!((c["acr"].as_str(), c["amr"].clone()), (Some("aal1"), serde_json::json!(["pwd"])));

    // the client asks for aal2; hana enrols an authenticator (on the account page, later)
    let (totp, recovery) = enrol(&s, "hana").await;
    let url = auth_url(&s.issuer, &web, "&acr_values=aal2");
    // prompt=none cannot step up
    let cb = b.get(&s, &format!("{url}&prompt=none")).await.callback();
    assert_eq!(cb["error"], "interaction_required");
    let page = is_code_page(b.get(&s, &url).await);
    // a wrong code: the page again, with the reason
    let (_, _, again) = submit_code(&b, &s, &page, "000000").await.page();
    assert!(again.contains("验证码不正确"), "{again}");
    let code = totp.code_at_step(s.env.now() / 30);
    let cb = submit_code(&b, &s, &again, &code).await.callback();
    let c = id_token(&s, &web, &secret, &cb["code"]).await;
    assert_eq!(c["acr"], "aal2");
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    // the session is aal2 now: the next request for aal2 needs nothing more
    let cb = b.get(&s, &url).await.callback();
    assert_eq!(id_token(&s, &web, &secret, &cb["code"]).await["acr"], "aal2");

    // sign-in of a person with an authenticator: code page after the password, no session yet
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let page = is_code_page(b2.sign_in(&s, &login, "hana", PASSWORD).await);
    let cb = b2.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "login_required", "no session before the second factor");
    // the same code as before is a replay, even in another browser
    let (_, _, again) = submit_code(&b2, &s, &page, &code).await.page();
    assert!(again.contains("验证码不正确"), "a code is accepted once: {again}");
    s.env.advance(30);
    let cb = submit_code(&b2, &s, &again, &totp.code_at_step(s.env.now() / 30)).await;
    let (_, _, consent_or_cb) = match cb {
        Step::Left(u) => ("".into(), 0, u.to_string()),
        other => other.page(),
    };
    assert!(consent_or_cb.contains("code="), "signed in and sent back: {consent_or_cb}");

    // wrong codes count towards the lockout (5 by default)
    let b3 = Browser::new();
    let (_, _, login) = b3.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let mut page = is_code_page(b3.sign_in(&s, &login, "hana", PASSWORD).await);
    for _ in 0..5 {
        let (_, _, next) = submit_code(&b3, &s, &page, "123456").await.page();
        page = next;
    }
    assert!(page.contains("锁定"), "locked after five wrong codes: {page}");

    // the phone is lost: a recovery code, as typed (any case, no dash), works once
    s.env.advance(31 * 60);
    let typed = recovery[3].to_uppercase().replace('-', "");
    let b5 = Browser::new();
    let (_, _, login) = b5.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let page = is_code_page(b5.sign_in(&s, &login, "hana", PASSWORD).await);
    let cb = submit_code(&b5, &s, &page, &typed).await.callback();
    assert_eq!(id_token(&s, &web, &secret, &cb["code"]).await["acr"], "aal2");
    let b6 = Browser::new();
    let (_, _, login) = b6.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let page = is_code_page(b6.sign_in(&s, &login, "hana", PASSWORD).await);
    let (_, _, again) = submit_code(&b6, &s, &page, &recovery[3]).await.page();
    assert!(again.contains("验证码不正确"), "a recovery code works once: {again}");

    // an account without a second factor cannot reach aal2
    let b4 = Browser::new();
    let cb = b4.authorize(&s, &auth_url(&s.issuer, &web, ""), "ivan").await.callback();
    assert!(cb.contains_key("code"));
    let offer = b4.get(&s, &url).await;
    let cb = b4.decline_set_up(&s, offer).await.callback();
    assert_eq!(cb["error"], "unmet_authentication_requirements");
    // the same through an essential acr in the claims parameter
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}"#;
    let essential = format!("&claims={}", crate::oidc_flow::urlencode(claims));
    let offer = b4.get(&s, &auth_url(&s.issuer, &web, &essential)).await;
    let cb = b4.decline_set_up(&s, offer).await.callback();
    assert_eq!(cb["error"], "unmet_authentication_requirements");

    // a client registered with a minimum of aal2: every sign-in for it needs two factors
    let strict = ClientSettings { min_acr: Some("aal2".into()), ..ClientSettings::default() };
    let (strict, strict_secret) = s.add_client(ClientType::Web, strict).await;
    let offer = b4.authorize(&s, &auth_url(&s.issuer, &strict, ""), "ivan").await;
    let cb = b4.decline_set_up(&s, offer).await.callback();
    assert_eq!(cb["error"], "unmet_authentication_requirements", "ivan has no second factor");
    s.env.advance(30);
    let b7 = Browser::new();
    let (_, _, login) = b7.get(&s, &auth_url(&s.issuer, &strict, "")).await.page();
    let page = is_code_page(b7.sign_in(&s, &login, "hana", PASSWORD).await);
    let step = submit_code(&b7, &s, &page, &totp.code_at_step(s.env.now() / 30)).await;
    let (_, _, consent) = step.page();
    let cb = b7.consent(&s, &consent, true).await.callback();
    let c = id_token(&s, &strict, &strict_secret.unwrap(), &cb["code"]).await;
    assert_eq!(c["acr"], "aal2");
}
crate::both_backends!(totp_second_factor_and_step_up, step_up);

/// Staff and administrators (any account role) need aal2 for every client, whatever the client
/// asks; without a second factor they reach only the account pages, to set one up. The
/// requirement rides in the session: the SSO path of a later request steps up without a
/// password.
async fn staff_need_two_factors(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    let staff = idp_server::ops::NewAccount {
        username: "sam".into(),
        password: Some(PASSWORD.into()),
        name: Some("Sam 石".into()),
        phone: None,
        email: None,
        roles: vec!["staff".into()],
    };
    s.ops.add_account("main", staff).await.unwrap();
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();

    // no second factor: offered to set one up; declining, the client (which asks for nothing)
    // is told the requirement is unmet
    let b = Browser::new();
    let offer = b.authorize(&s, &auth_url(&s.issuer, &web, ""), "sam").await;
    let cb = b.decline_set_up(&s, offer).await.callback();
    assert_eq!(cb["error"], "unmet_authentication_requirements", "{cb:?}");
    // the account pages, where a factor is set up, stay reachable
    let (url, _, page) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(url.ends_with("/account/security") && page.contains("data-on=\"false\""), "{url}: {page}");

    // with an authenticator: the same aal1 session steps up on the SSO path, no password
    let (totp, _) = enrol(&s, "sam").await;
    let page = is_code_page(b.get(&s, &auth_url(&s.issuer, &web, "")).await);
    let step = submit_code(&b, &s, &page, &totp.code_at_step(s.env.now() / 30)).await;
    let cb = match step {
        Step::Page { body, .. } => b.consent(&s, &body, true).await.callback(),
        left => left.callback(),
    };
    let c = id_token(&s, &web, &secret, &cb["code"]).await;
    assert_eq!(
        (c["acr"].as_str(), c["amr"].clone()),
        (Some("aal2"), serde_json::json!(["pwd", "otp", "mfa"]))
    );

    // a citizen at the same client still signs in with the password alone
    s.add_account("cora").await;
    let cb = Browser::new().authorize(&s, &auth_url(&s.issuer, &web, ""), "cora").await.callback();
    assert_eq!(id_token(&s, &web, &secret, &cb["code"]).await["acr"], "aal1");
}
crate::both_backends!(staff_and_administrators_need_aal2, staff_need_two_factors);
