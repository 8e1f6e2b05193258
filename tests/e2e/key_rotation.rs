//! Signing keys on their schedule, with the clock stepped across it while an independent
//! verifier — the `openidconnect` crate, fetching the JWKS afresh at each step — validates the
//! ID tokens: the next key is published ahead and signs only from its time; the replaced key
//! stays published until every token it signed has expired, then goes; the JWKS may be cached
//! no longer than the schedule allows. An emergency revocation withdraws a key at once: a JWT
//! access token it signed introspects inactive and a new key signs.

use chrono::TimeZone;
use idp_core::Env;
use idp_core::model::{AccessTokenFormat, ClientSettings, ClientType};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, RedirectUrl, TokenResponse,
};
use serde_json::Value;

use crate::browser::{Browser, rp_call, rp_http};
use crate::common::{Backend, REDIRECT, TestServer};

const DAY: i64 = 86_400;

/// Signs `who` in to `client` and verifies the ID token with the keys published right now;
/// returns its kid and the access token.
async fn verified_sign_in(s: &TestServer, client: &str, secret: &str, who: &str) -> (String, String) {
    let http = rp_http();
    let f = |r| rp_call(&http, r);
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer.clone()).unwrap(), &f).await.unwrap();
    let rp = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (url, _, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .url();
    let cb = Browser::new().authorize(s, url.as_str(), who).await.callback();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(cb["code"].clone()))
        .unwrap()
        .request_async(&f)
        .await
        .unwrap();
    let id = tokens.id_token().expect("an ID token");
    let now = s.env.now();
    let verifier = rp.id_token_verifier().set_time_fn(move || chrono::Utc.timestamp_opt(now, 0).unwrap());
    id.claims(&verifier, &nonce).expect("the ID token verifies with the published keys");
    let header = jsonwebtoken::decode_header(id.to_string()).unwrap();
    (header.kid.unwrap(), openidconnect::OAuth2TokenResponse::access_token(&tokens).secret().clone())
}

async fn jwks(s: &TestServer) -> (Vec<String>, i64) {
    let res = reqwest::get(format!("{}/jwks", s.issuer)).await.unwrap();
    let cache = res.headers()["cache-control"].to_str().unwrap().to_string();
    let max_age = cache.trim_start_matches("public, max-age=").parse().unwrap();
    let body: Value = res.json().await.unwrap();
    let kids = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    (kids, max_age)
}

async fn key_rotation(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.keys.rotate_every_days = 10;
        c.keys.publish_ahead_hours = 24;
    })
    .await
    else {
        return;
    };
    s.add_account("kai").await;
    let settings =
        ClientSettings { access_token_format: AccessTokenFormat::Jwt, ..ClientSettings::default() };
    let (client, secret) = s.add_client(ClientType::Web, settings).await;
    let secret = secret.unwrap();
    let t0 = s.env.now();

    // day 0: one key signs
    let (a, _) = verified_sign_in(&s, &client, &secret, "kai").await;
    let (kids, max_age) = jwks(&s).await;
    assert_eq!(kids, vec![a.clone()]);
    assert!((1..=300).contains(&max_age), "{max_age}");
    assert!(!s.ops.rotate_keys_on_schedule().await.unwrap(), "nothing due yet");

    // day 9: the next key is created and published a day ahead; the old one still signs
    s.env.set(t0 + 9 * DAY);
    assert!(s.ops.rotate_keys_on_schedule().await.unwrap());
    assert!(!s.ops.rotate_keys_on_schedule().await.unwrap(), "again, as another node would: no second key");
    // the node sees the change at its next poll of the change counter (every second)
    let started = std::time::Instant::now();
    while jwks(&s).await.0.len() < 2 && started.elapsed().as_secs() < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (kids, _) = jwks(&s).await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    let b = kids.iter().find(|k| **k != a).unwrap().clone();
    assert_eq!(verified_sign_in(&s, &client, &secret, "kai").await.0, a, "B is published, not signing");

    // day 10: B signs; A stays published
    s.env.set(t0 + 10 * DAY);
    assert_eq!(verified_sign_in(&s, &client, &secret, "kai").await.0, b);
    let (kids, max_age) = jwks(&s).await;
    assert!(kids.contains(&a) && kids.contains(&b));
    assert!(max_age <= 300, "{max_age}");
    // just before A retires, a cache may not keep the set past the retirement
    let retires = t0 + 10 * DAY + idp_core::keys::MAX_TOKEN_LIFETIME + idp_core::keys::RETIRE_MARGIN;
    s.env.set(retires - 60);
    assert!(jwks(&s).await.1 <= 60);
    // A retires once every token it signed has expired
    s.env.set(retires);
    assert_eq!(jwks(&s).await.0, vec![b.clone()]);
    assert_eq!(verified_sign_in(&s, &client, &secret, "kai").await.0, b);

    // an emergency: B is revoked; a JWT access token it signed is dead at once, a new key signs
    let (_, at) = verified_sign_in(&s, &client, &secret, "kai").await;
    let intro = crate::rp::introspect(&s, &client, &secret, &at).await;
    assert_eq!(intro["active"], true);
    s.ops.revoke_key_by("main", &b, "test").await.unwrap();
    let started = std::time::Instant::now();
    while jwks(&s).await.0.contains(&b) && started.elapsed().as_secs() < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let intro = crate::rp::introspect(&s, &client, &secret, &at).await;
    assert_eq!(intro["active"], false, "{intro}");
    let (kids, _) = jwks(&s).await;
    assert!(!kids.contains(&b) && kids.len() == 1, "{kids:?}");
    let (c, _) = verified_sign_in(&s, &client, &secret, "kai").await;
    assert!(c != a && c != b);
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    let scheduled: Vec<_> = events.iter().filter(|e| e.kind == "key_scheduled").collect();
    assert_eq!(scheduled.len(), 4, "one next key per algorithm: {scheduled:?}");
    assert!(events.iter().any(|e| e.kind == "key_revoked" && e.detail["kid"] == b.as_str()));
}
crate::both_backends!(keys_rotate_on_schedule_and_can_be_revoked, key_rotation);
