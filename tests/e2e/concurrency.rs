//! Exactly one winner under concurrency: 50 simultaneous redemptions of one code and 50
//! simultaneous rotations of one refresh token, at the store and over HTTP, on both backends.

use std::sync::Arc;
use std::time::Duration;

use idp_core::model::{AuthCode, Authorization, ClientSettings, ClientType, RefreshToken};
use idp_core::ports::{Issue, Redeem, Rotate};
use idp_core::token::TokenResponse;
use idp_core::{OAuthError, Store, StoreError};
use serde_json::Value;

use crate::browser::{Browser, rp_http};
use crate::common::{Backend, REDIRECT, TestDb, TestServer};
use crate::oidc_flow::urlencode;

const RACERS: usize = 50;
/// Store-level races are run this many times, each on a new code or token.
const ROUNDS: usize = 5;

fn authz() -> Authorization {
    Authorization {
        tenant_id: "tenant-a".into(),
        client_id: "web-1".into(),
        account_id: Some("acc-1".into()),
        scope: vec!["openid".into(), "offline_access".into()],
        sid: Some("sid-1".into()),
        auth_time: Some(100),
        acr: Some("aal1".into()),
        amr: vec!["pwd".into()],
        nonce: None,
        act_as: "self".into(),
        context: None,
        claims: None,
        resource: None,
        consented_at: None,
    }
}

fn code(hash: &str, family: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        family_id: family.into(),
        authz: authz(),
        redirect_uri: "https://app.example.test/cb".into(),
        code_challenge: None,
        expires_at: 10_000,
        consumed: false,
    }
}

/// What one racer writes when it wins: `at-{key}` and `rt-{key}` in `family`. It takes a moment,
/// as signing tokens does inside the real closure.
fn issue(key: &str, family: &str) -> Result<(Issue, TokenResponse), OAuthError> {
    std::thread::sleep(Duration::from_millis(2));
    let refresh = RefreshToken {
        token_hash: format!("rt-{key}"),
        family_id: family.into(),
        authz: authz(),
        created_at: 100,
        expires_at: 90_000,
        used: false,
        revoked: false,
    };
    let response = TokenResponse {
        access_token: format!("at-{key}"),
        token_type: "Bearer".into(),
        expires_in: 600,
        refresh_token: Some(format!("rt-{key}")),
        id_token: None,
        scope: "openid offline_access".into(),
    };
    Ok((
        Issue {
            family: Some((family.into(), 90_000)),
            refresh_token: Some(refresh),
            audit: vec![],
            spare_on_loss: false,
            cas_ticket: None,
            live_session: None,
        },
        response,
    ))
}

async fn open_store(backend: Backend) -> Option<(TestDb, Arc<dyn Store>)> {
    let db = TestDb::new(backend).await?;
    let store = idp_store::connect(&db.url).await.expect("store opens");
    Some((db, store))
}

/// Racers start within a few milliseconds of each other, as requests do: some arrive while the
/// winner's transaction is open, some after it committed.
async fn stagger(i: usize) {
    tokio::time::sleep(Duration::from_millis((i % 10) as u64)).await;
}

/// Joins the racers; fails with every store error seen (there must be none).
async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<Result<T, StoreError>>>) -> Vec<T> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => ok.push(v),
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(errors.is_empty(), "{} of {RACERS} racers got a store error: {errors:#?}", errors.len());
    ok
}

/// Asserts the refresh tokens `rt-{key}` exist and are revoked, and with them the
/// (self-contained) access tokens `at-{key}` of their family.
async fn assert_revoked(store: &dyn Store, keys: &[&str]) {
    for key in keys {
        let rt = store.refresh_token(&format!("rt-{key}")).await.unwrap().expect("refresh token written");
        assert!(rt.revoked, "refresh token rt-{key} must be revoked");
        let at_revoked = store
            .access_token_revoked(&format!("at-{key}"), Some(&rt.family_id), "no-tenant", "no-client")
            .await
            .unwrap();
        assert!(at_revoked, "access token at-{key} must be revoked");
    }
}

/// 50 concurrent `redeem_code` of one code: one Issued, 49 Replayed, and the replays revoke what
/// the winner issued. Repeated, each round with a new code, as the heap changes between rounds.
async fn store_code_race(backend: Backend) {
    let Some((_db, store)) = open_store(backend).await else { return };
    for round in 0..ROUNDS {
        let (hash, family) = (format!("code-{round}"), format!("fam-code-{round}"));
        store.insert_code(&code(&hash, &family)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let (store, hash) = (store.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                stagger(i).await;
                let key = format!("code-{round}-racer-{i}");
                let issue_fn = |c: &AuthCode| issue(&key, &c.family_id);
                store.redeem_code(&hash, "tenant-a", "web-1", &issue_fn).await
            }));
        }
        let mut winners = Vec::new();
        for outcome in join_all(tasks).await {
            match outcome {
                Redeem::Issued(c, resp) => {
                    assert_eq!(c.family_id, family);
                    winners.push(resp.access_token.trim_start_matches("at-").to_string());
                }
                Redeem::Replayed => {}
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one Issued, the other {} Replayed", RACERS - 1);
        assert_revoked(store.as_ref(), &[&winners[0]]).await;
        for i in 0..RACERS {
            let key = format!("code-{round}-racer-{i}");
            if key != winners[0] {
                assert_eq!(store.refresh_token(&format!("rt-{key}")).await.unwrap(), None, "a loser wrote");
            }
        }
    }
}
crate::both_backends!(store_code_redeemed_once, store_code_race);

/// 50 concurrent `rotate_refresh_token` of one token: one Rotated, 49 Replayed, and the whole
/// family, including the successor the winner wrote, ends revoked. Repeated with new tokens.
async fn store_refresh_race(backend: Backend) {
    let Some((_db, store)) = open_store(backend).await else { return };
    for round in 0..ROUNDS {
        // The port writes refresh tokens only as issued records: seed the first through a code.
        let (seed, family) = (format!("seed-{round}"), format!("fam-rt-{round}"));
        store.insert_code(&code(&seed, &family)).await.unwrap();
        let seed_fn = |c: &AuthCode| issue(&seed, &c.family_id);
        assert!(matches!(
            store.redeem_code(&seed, "tenant-a", "web-1", &seed_fn).await.unwrap(),
            Redeem::Issued(..)
        ));
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let (store, hash) = (store.clone(), format!("rt-{seed}"));
            tasks.push(tokio::spawn(async move {
                stagger(i).await;
                let key = format!("rt-{round}-racer-{i}");
                let issue_fn = |rt: &RefreshToken| issue(&key, &rt.family_id);
                // each racer reads the token, then rotates it, as the token endpoint does
                let token = store.refresh_token(&hash).await?.expect("the seeded token exists");
                store.rotate_refresh_token(&token, &issue_fn).await
            }));
        }
        let mut winners = Vec::new();
        for outcome in join_all(tasks).await {
            match outcome {
                Rotate::Rotated(old, resp) => {
                    assert_eq!(old.token_hash, format!("rt-{seed}"));
                    winners.push(resp.access_token.trim_start_matches("at-").to_string());
                }
                Rotate::Replayed => {}
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one Rotated, the other {} Replayed", RACERS - 1);
        let first = store.refresh_token(&format!("rt-{seed}")).await.unwrap().unwrap();
        assert!(first.used && first.revoked);
        assert_revoked(store.as_ref(), &[&seed, &winners[0]]).await;
        let successor = store.refresh_token(&format!("rt-{}", winners[0])).await.unwrap().unwrap();
        assert_eq!(successor.family_id, family);
        assert!(!successor.used, "the successor was never used, only revoked with its family");
    }
}
crate::both_backends!(store_refresh_rotated_once, store_refresh_race);

/// POSTs the same token request `RACERS` times at once; returns each (status, JSON body).
async fn race_token(s: &TestServer, id: &str, secret: &str, form: &[(&str, &str)]) -> Vec<(u16, Value)> {
    let http = rp_http();
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let req = http.post(format!("{}/token", s.issuer)).basic_auth(id, Some(secret)).form(form);
        tasks.push(tokio::spawn(async move {
            let res = req.send().await.expect("token request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Exactly one 200; every other answer is 400 invalid_grant, never a 5xx. Returns the winner.
fn one_winner(results: Vec<(u16, Value)>) -> Value {
    let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    let mut winners = Vec::new();
    for (status, body) in results {
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("unexpected status {other}: {body}; all statuses: {statuses:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one 200: {winners:?}");
    winners.pop().unwrap()
}

async fn token(s: &TestServer, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn active(s: &TestServer, id: &str, secret: &str, token: &str) -> bool {
    let res = rp_http()
        .post(format!("{}/introspect", s.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["active"] == true
}

/// Over HTTP: one code posted 50 times at once, then one refresh token presented 50 times.
async fn http_race(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("racer").await;
    let (id, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.expect("a web client has a secret");
    let browser = Browser::new();
    let url = format!(
        "{}/authorize?client_id={id}&redirect_uri={}&response_type=code&scope={}&state=x",
        s.issuer,
        urlencode(REDIRECT),
        urlencode("openid offline_access")
    );

    // one authorization code, 50 redemptions
    let code = browser.authorize(&s, &url, "racer").await.callback()["code"].clone();
    let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];
    let won = one_winner(race_token(&s, &id, &secret, &form).await);
    assert!(won["id_token"].is_string(), "{won}");
    // the replays revoked what the winner got
    let rt = won["refresh_token"].as_str().expect("offline_access gives a refresh token");
    let (status, body) =
        token(&s, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(!active(&s, &id, &secret, won["access_token"].as_str().unwrap()).await);

    // a fresh code (single sign-on, consent remembered) and one refresh token, 50 rotations
    let code = browser.authorize(&s, &url, "racer").await.callback()["code"].clone();
    let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];
    let (status, first) = token(&s, &id, &secret, &form).await;
    assert_eq!(status, 200, "{first}");
    let rt = first["refresh_token"].as_str().expect("refresh token");
    let won = one_winner(
        race_token(&s, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await,
    );
    // the family is revoked: the winner's new refresh token and both access tokens are dead too
    let next = won["refresh_token"].as_str().expect("rotated refresh token");
    let (status, body) =
        token(&s, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", next)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(!active(&s, &id, &secret, won["access_token"].as_str().unwrap()).await);
    assert!(!active(&s, &id, &secret, first["access_token"].as_str().unwrap()).await);
}
crate::both_backends!(http_token_endpoint_races, http_race);
