//! Two nodes on one PostgreSQL database: a session started on one is honoured by the other,
//! a code issued by one is redeemed at the other, refresh-token reuse is detected across
//! them, a lockout and the sign-in rate limits reached through both hold on both, and a key
//! rotated through one is published and used by both.

use idp_core::Env;
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
    assert!(body.contains("class=\"error\"") && !body.contains("value=\"allow\""), "refused on B: {body}");
    let ivan = a.ops.account("main", "ivan").await.unwrap();
    assert!(ivan.locked_until.is_some(), "locked after failures on A and B");
}

/// The sign-in rate limit per IP is counted in the database: attempts spread over two nodes
/// add up, and the one over the limit is refused by either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_the_sign_in_rate_limit() {
    let Some(a) = TestServer::start_with(Backend::Postgres, |c| c.limits.signin_per_ip_per_minute = 4).await
    else {
        return;
    };
    let b = a.another_node().await;
    a.add_account("ivan").await;
    let (web, _) = a.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    // keep the four attempts inside one minute's window of the test clock
    let now = a.env.now();
    a.env.advance(60 - now.rem_euclid(60) + 1);
    for (i, issuer) in [&a.issuer, &b.issuer, &a.issuer, &b.issuer].into_iter().enumerate() {
        let body =
            sign_in_at(&browser, issuer, &auth_url(issuer, &web, &format!("&n={i}")), "Wrong-Pass-1").await;
        assert!(!body.contains("尝试过于频繁"), "attempt {i} is within the limit: {body}");
    }
    let body = sign_in_at(&browser, &a.issuer, &auth_url(&a.issuer, &web, "&n=5"), PASSWORD).await;
    assert!(
        body.contains("尝试过于频繁"),
        "the fifth attempt, on A, is over the limit counted on both: {body}"
    );
    let body = sign_in_at(&browser, &b.issuer, &auth_url(&b.issuer, &web, "&n=6"), PASSWORD).await;
    assert!(body.contains("尝试过于频繁"), "and on B: {body}");
    // the next window opens again
    a.env.advance(61);
    let body = sign_in_at(&browser, &b.issuer, &auth_url(&b.issuer, &web, "&n=7"), PASSWORD).await;
    assert!(!body.contains("尝试过于频繁"), "a new window: {body}");
}

/// A key rotated through one node (here the operator's, as `idp key rotate` does) is
/// published by both and signs on both within the poll interval; tokens the old key signed
/// keep introspecting as active.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_rotated_through_one_node_is_published_and_used_by_both() {
    let Some(a) = TestServer::start(Backend::Postgres).await else { return };
    let b = a.another_node().await;
    let (svc, secret) = a.add_client(ClientType::Service, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let kid_of = |jwt: &str| jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap();
    let cc = [("grant_type", "client_credentials")];
    // (each test node has its own issuer, its URL; behind a load balancer they share one)
    let mut old = vec![];
    for issuer in [&a.issuer, &b.issuer] {
        let (_, t) = token(issuer, &svc, &secret, &cc).await;
        old.push(t["access_token"].as_str().unwrap().to_string());
    }
    let old_kid = kid_of(&old[0]);
    assert_eq!(kid_of(&old[1]), old_kid, "both sign with the same key");

    let new_kid = a.ops.rotate_key("main", idp_core::model::SigningAlg::ES256).await.unwrap().kid;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for (issuer, old) in [&a.issuer, &b.issuer].into_iter().zip(old) {
        loop {
            let jwks: Value =
                rp_http().get(format!("{issuer}/jwks")).send().await.unwrap().json().await.unwrap();
            let kids: Vec<&str> =
                jwks["keys"].as_array().unwrap().iter().filter_map(|k| k["kid"].as_str()).collect();
            let (_, t) = token(issuer, &svc, &secret, &cc).await;
            let signed_by = kid_of(t["access_token"].as_str().unwrap());
            if kids.contains(&new_kid.as_str()) && signed_by == new_kid {
                assert!(kids.contains(&old_kid.as_str()), "the old key stays published");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{issuer} did not pick up the rotation: {kids:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let res = rp_http()
            .post(format!("{issuer}/introspect"))
            .basic_auth(&svc, Some(&secret))
            .form(&[("token", old.as_str())])
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["active"], true, "a token of the old key still introspects at {issuer}");
    }
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

/// Trying user codes on the phone is limited per person as sign-ins are, counted in the
/// database: tries spread over two nodes add up, and the one over the limit is refused by
/// either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_the_user_code_limit() {
    let Some(a) =
        TestServer::start_with(Backend::Postgres, |c| c.limits.signin_per_account_per_minute = 4).await
    else {
        return;
    };
    let b = a.another_node().await;
    a.add_account("dora").await;
    let browser = Browser::new();
    let now = a.env.now();
    a.env.advance(60 - now.rem_euclid(60) + 1);
    // signed in on A (the session is in the database: B knows it too)
    let (_, _, login) = browser.get(&a, &format!("{}/device", a.issuer)).await.page();
    let (_, status, _) = browser.sign_in(&a, &login, "dora", PASSWORD).await.page();
    assert_eq!(status, 200);
    let try_code = |issuer: &str, n: usize| {
        let url = format!("{issuer}/device?user_code=BCDF-GHJ{}", ["K", "L", "M", "N", "P", "Q"][n]);
        let (browser, a) = (&browser, &a);
        async move { browser.get(a, &url).await.page().1 }
    };
    for (i, issuer) in [&a.issuer, &b.issuer, &a.issuer, &b.issuer].into_iter().enumerate() {
        assert_eq!(try_code(issuer, i).await, 200, "try {i} is within the limit");
    }
    assert_eq!(try_code(&a.issuer, 4).await, 429, "the fifth, on A, counted on both");
    assert_eq!(try_code(&b.issuer, 5).await, 429, "and on B");
}
