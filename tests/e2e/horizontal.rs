//! Two nodes on one PostgreSQL database: a session started on one is honoured by the other,
//! a code issued by one is redeemed at the other, refresh-token reuse is detected across
//! them, and a lockout reached through both holds on both.

use idp_core::model::{ClientSettings, ClientType};
use serde_json::Value;

use crate::browser::{Browser, rp_http};
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer};

fn auth_url(issuer: &str, client_id: &str, extra: &str) -> String {
    crate::common::auth_url(issuer, client_id, extra).replace("scope=openid", "scope=openid%20offline_access")
}

async fn token(issuer: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = rp_http()
        .post(format!("{issuer}/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_sessions_codes_tokens_and_lockouts() {
    let Some(a) = TestServer::start(Backend::Postgres).await else { return };
    let b = a.another_node().await;
    a.add_account("hana").await;
    a.add_account("ivan").await;
    let (web, secret) = a.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();

    // sign in at A; B honours the session (cookies are per host, so one browser reaches both)
    let browser = Browser::new();
    let cb = browser.authorize(&a, &auth_url(&a.issuer, &web, ""), "hana").await.callback();
    assert!(cb.contains_key("code"));
    let res = browser.http.get(auth_url(&b.issuer, &web, "&prompt=none")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let code: String =
        loc.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).expect("code from B");

    // the code issued by B is redeemed at A, once
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    let (st, tokens) = token(&a.issuer, &web, &secret, &form).await;
    assert_eq!(st, 200, "{tokens}");
    let (st, _) = token(&b.issuer, &web, &secret, &form).await;
    assert_eq!(st, 400, "the replay at B is refused");
    let rt0 = tokens["refresh_token"].as_str().unwrap();
    let (st, _) =
        token(&a.issuer, &web, &secret, &[("grant_type", "refresh_token"), ("refresh_token", rt0)]).await;
    assert_eq!(st, 400, "the code replay at B revoked what A issued");

    // a fresh code from B; refresh at B, replay the old refresh token at A: the family is
    // revoked everywhere
    let res = browser.http.get(auth_url(&b.issuer, &web, "&prompt=none")).send().await.unwrap();
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let code: String = loc.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).unwrap();
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    let (st, tokens) = token(&b.issuer, &web, &secret, &form).await;
    assert_eq!(st, 200, "{tokens}");
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_string();
    let (st, next) =
        token(&b.issuer, &web, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    assert_eq!(st, 200, "{next}");
    let rt2 = next["refresh_token"].as_str().unwrap().to_string();
    let (st, body) =
        token(&a.issuer, &web, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    let (st, _) =
        token(&b.issuer, &web, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).await;
    assert_eq!(st, 400, "the successor issued by B is revoked too");

    // a lockout reached through both nodes holds on both
    let other = Browser::new();
    let nodes = [&a.issuer, &b.issuer, &a.issuer, &b.issuer, &a.issuer];
    for (i, issuer) in nodes.into_iter().enumerate() {
        let body =
            sign_in_at(&other, issuer, &auth_url(issuer, &web, &format!("&n={i}")), "Wrong-Pass-1").await;
        assert!(body.contains("class=\"error\""), "{body}");
    }
    let body = sign_in_at(&other, &b.issuer, &auth_url(&b.issuer, &web, "&n=last"), PASSWORD).await;
    assert!(body.contains("锁定"), "locked on B after failures on A and B: {body}");
}

/// Opens the sign-in page of `issuer` (following its redirects) and submits `password` for ivan.
async fn sign_in_at(browser: &Browser, issuer: &str, url: &str, password: &str) -> String {
    let base = issuer.trim_end_matches("/t/main");
    let mut res = browser.http.get(url).send().await.unwrap();
    while res.status() == 303 {
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        res = browser.http.get(format!("{base}{loc}")).send().await.unwrap();
    }
    let page = res.text().await.unwrap();
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let action = crate::browser::form_action(&page);
    let form = [("csrf", csrf.as_str()), ("login", "ivan"), ("password", password)];
    browser.http.post(format!("{base}{action}")).form(&form).send().await.unwrap().text().await.unwrap()
}
