//! Logout everywhere (OpenID Connect Back-Channel and Front-Channel Logout 1.0): a person
//! signs in once and uses three department applications; one RP-initiated logout reaches all
//! of them. One receiver fails twice and then succeeds: its retries are observed with the
//! stepped clock, and every logout token is checked against the spec and the published JWKS
//! (typ, signature, iss, aud, pairwise sub, sid, events, jti, no nonce). The signed-out page
//! loads the front-channel page with iss and sid under a CSP that allows exactly that frame.
//! The delivery status is visible through the admin API. Ending a session from the account
//! pages and by an administrator notifies the same way; signing in again as the same person
//! keeps the session's sid.

use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use axum::http::StatusCode;
use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use serde_json::Value;

use crate::browser::{Browser, extract, rp_http};
use crate::common::{Backend, POST_LOGOUT, TestServer, auth_url};
use crate::oidc_flow::urlencode;

/// A back-channel logout receiver: records every logout token; the first `fail` POSTs get 500.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    tokens: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<usize>>,
}

impl Receiver {
    pub(crate) async fn start(fail: usize) -> (Receiver, String) {
        let r = Receiver { fail: Arc::new(Mutex::new(fail)), ..Receiver::default() };
        async fn take(AxState(r): AxState<Receiver>, body: axum::body::Bytes) -> StatusCode {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            let token =
                form.into_iter().find(|(k, _)| k == "logout_token").map(|(_, v)| v).unwrap_or_default();
            r.tokens.lock().unwrap().push(token);
            let mut fail = r.fail.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let app = axum::Router::new().route("/bc", axum::routing::post(take)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/bc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    /// Whether no token came at all.
    pub(crate) fn got_none(&self) -> bool {
        self.tokens().is_empty()
    }

    /// Waits (real time, the deliveries run every second) until `n` tokens came.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            if self.tokens().len() >= n {
                return self.tokens();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("expected {n} logout tokens, got {}", self.tokens().len());
    }
}

/// Checks a logout token as a relying party must (Back-Channel Logout 1.0 §2.6) against the
/// provider's JWKS; returns its claims.
pub(crate) async fn valid_logout_token(s: &TestServer, token: &str, client: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    // signed with the client's algorithm (the one its ID tokens use), not the header's say-so
    let registered = s.ops.client("main", client).await.unwrap().settings.id_token_alg;
    assert_eq!(format!("{:?}", header.alg), registered.as_str(), "the client's algorithm");
    let jwks: jsonwebtoken::jwk::JwkSet =
        rp_http().get(format!("{}/jwks", s.issuer)).send().await.unwrap().json().await.unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("signed by a published key");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_issuer(&[&s.issuer]);
    v.set_audience(&[client]);
    // the test clock runs behind or ahead of the real one: check the times by hand below
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v).expect("signature, iss and aud").claims;
    let now = s.env.now();
    assert!(claims["iat"].as_i64().unwrap() <= now && claims["exp"].as_i64().unwrap() > now, "{claims}");
    assert_eq!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"], serde_json::json!({}));
    assert!(claims.get("nonce").is_none(), "a logout token never has a nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims["sid"].is_string() && claims["sub"].is_string());
    claims
}

/// Signs in (or uses the SSO session) for `client` and redeems the code: the ID token's claims
/// and the raw ID token.
async fn sign_in_to(s: &TestServer, b: &Browser, client: &str, secret: &str, extra: &str) -> (Value, String) {
    let cb = b.authorize(s, &auth_url(&s.issuer, client, extra), "lin").await.callback();
    let tokens = crate::rp::redeem(s, client, secret, &cb["code"]).await;
    let raw = tokens["id_token"].as_str().unwrap().to_string();
    (crate::rp::claims(&raw), raw)
}

async fn logout_everywhere(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let lin = s.add_account("lin").await;
    let (flaky, flaky_url) = Receiver::start(2).await;
    let (steady, steady_url) = Receiver::start(0).await;
    // A: back-channel to a receiver that fails twice, pairwise sub; B: back- and front-channel;
    // C: neither
    let a_settings = ClientSettings {
        backchannel_logout_uri: Some(flaky_url),
        sector: Some("https://a.example.gov.cn".into()),
        ..ClientSettings::default()
    };
    let b_settings = ClientSettings {
        backchannel_logout_uri: Some(steady_url),
        frontchannel_logout_uri: Some("http://127.0.0.1:7/fc?app=b".into()),
        id_token_alg: idp_core::model::SigningAlg::RS256,
        ..ClientSettings::default()
    };
    let (a, a_secret) = s.add_client(ClientType::Web, a_settings).await;
    let (b, b_secret) = s.add_client(ClientType::Web, b_settings).await;
    let (c, c_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let (a_secret, b_secret, c_secret) = (a_secret.unwrap(), b_secret.unwrap(), c_secret.unwrap());

    let meta: Value = rp_http()
        .get(format!("{}/.well-known/openid-configuration", s.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for flag in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ] {
        assert_eq!(meta[flag], true, "{flag}");
    }

    // one sign-in, three applications
    let browser = Browser::new();
    let (a_id, a_raw) = sign_in_to(&s, &browser, &a, &a_secret, "").await;
    let (b_id, _) = sign_in_to(&s, &browser, &b, &b_secret, "").await;
    let (c_id, _) = sign_in_to(&s, &browser, &c, &c_secret, "").await;
    let sid = a_id["sid"].as_str().unwrap().to_string();
    assert!(b_id["sid"] == sid && c_id["sid"] == sid, "one session: {a_id} {b_id} {c_id}");
    assert_ne!(a_id["sub"], lin, "A sees a pairwise sub");
    // signing in again as the same person continues the session under its sid
    let (again, _) = sign_in_to(&s, &browser, &c, &c_secret, "&prompt=login").await;
    assert_eq!(again["sid"], sid);

    // one logout, from A
    let url = format!(
        "{}/end_session?id_token_hint={a_raw}&post_logout_redirect_uri={}&state=bye",
        s.issuer,
        urlencode(POST_LOGOUT)
    );
    let res = browser.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "the signed-out page, with B's front-channel frame");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-src http://127.0.0.1:7;"), "{csp}");
    let page = res.text().await.unwrap();
    let frame = format!("src=\"http://127.0.0.1:7/fc?app=b&#38;iss={}&#38;sid={sid}\"", urlencode(&s.issuer));
    assert!(page.contains(&frame), "{frame} in {page}");
    assert!(page.contains("data-count=\"1\""), "only B has a front-channel URI: {page}");
    assert!(page.contains(&format!("href=\"{POST_LOGOUT}?state=bye\"")), "then on to the client: {page}");
    assert!(page.contains("http-equiv=\"refresh\""));
    assert!(
        !browser.get(&s, &auth_url(&s.issuer, &c, "&prompt=none")).await.callback().contains_key("code"),
        "signed out"
    );

    // B's receiver gets its token at once
    let got = steady.wait_for(1).await;
    let claims = valid_logout_token(&s, &got[0], &b).await;
    assert_eq!((claims["sub"].as_str(), claims["sid"].as_str()), (Some(lin.as_str()), Some(sid.as_str())));
    // A's fails twice: the retries wait 5 s, then 10 s (the stepped clock)
    let got = flaky.wait_for(1).await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(flaky.tokens().len(), 1, "no retry before its time");
    // (the clock moves only once the failed attempt is recorded, as it would by itself)
    recorded(&s, &a, 1).await;
    s.env.advance(5);
    flaky.wait_for(2).await;
    recorded(&s, &a, 2).await;
    s.env.advance(10);
    let got = flaky.wait_for(3).await;
    let mut jtis = vec![];
    for t in &got {
        let claims = valid_logout_token(&s, t, &a).await;
        assert_eq!(
            (claims["sub"].as_str(), claims["sid"].as_str()),
            (a_id["sub"].as_str(), Some(sid.as_str()))
        );
        jtis.push(claims["jti"].as_str().unwrap().to_string());
    }
    let distinct: std::collections::HashSet<&String> = jtis.iter().collect();
    assert_eq!((jtis.len(), distinct.len()), (3, 3), "each attempt is a fresh token: {jtis:?}");
    // C registered nothing and got nothing; nothing is sent twice
    s.env.advance(60);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!((flaky.tokens().len(), steady.tokens().len()), (3, 1));

    // administrators see what happened
    let list = s.ops.store.logout_deliveries(&s.tenant_id().await, Some(&a), 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].status.as_str(), list[0].attempts), ("delivered", 3));
    let admin = admin_token(&s).await;
    let seen: Value = rp_http()
        .get(format!("{}/admin/v1/tenants/main/clients/{a}/logout-deliveries", s.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (seen[0]["status"].as_str(), seen[0]["attempts"].as_i64()),
        (Some("delivered"), Some(3)),
        "{seen}"
    );
    assert_eq!(seen[0]["sid"], sid);

    // a session ended on the account pages of another browser: B is told
    let second = Browser::new();
    let (b2, _) = sign_in_to(&s, &second, &b, &b_secret, "").await;
    let sid2 = b2["sid"].as_str().unwrap().to_string();
    let third = Browser::new();
    let home = format!("{}/t/main/account", s.base);
    let (_, _, page) = third.get(&s, &home).await.page();
    let (_, _, page) = third.sign_in(&s, &page, "lin", crate::common::PASSWORD).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    third.post_form(&s, &format!("/t/main/account/sessions/{sid2}/end"), &[("csrf", &csrf)]).await;
    let got = steady.wait_for(2).await;
    assert_eq!(valid_logout_token(&s, &got[1], &b).await["sid"], sid2);

    // and by an administrator: every session of the account
    let (b3, _) = sign_in_to(&s, &second, &b, &b_secret, "").await;
    s.ops.end_sessions_by("main", &lin, "test").await.unwrap();
    let got = steady.wait_for(3).await;
    assert_eq!(valid_logout_token(&s, &got[2], &b).await["sid"], b3["sid"]);
}
crate::both_backends!(one_logout_reaches_every_client_with_retries, logout_everywhere);

/// Waits until the client's delivery has `attempts` recorded.
async fn recorded(s: &TestServer, client: &str, attempts: i64) {
    let tenant = s.tenant_id().await;
    for _ in 0..100 {
        let list = s.ops.store.logout_deliveries(&tenant, Some(client), 10).await.unwrap();
        if list.first().is_some_and(|d| d.attempts >= attempts) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("attempt {attempts} never recorded");
}

/// A system administrator's admin API token (password and TOTP: aal2).
async fn admin_token(s: &TestServer) -> String {
    let account = idp_server::ops::NewAccount {
        username: "sys".into(),
        password: Some(crate::common::PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["system_admin".into()],
    };
    s.ops.add_account("main", account).await.unwrap();
    let settings =
        ClientSettings { scope: "openid admin".into(), admin_client: true, ..ClientSettings::default() };
    let (console, secret) = s.add_client(ClientType::Web, settings).await;
    let (totp, _) = crate::step_up::enrol(s, "sys").await;
    crate::admin_api::token(s, &console, &secret.unwrap(), "openid%20admin", "sys", Some(&totp)).await
}
