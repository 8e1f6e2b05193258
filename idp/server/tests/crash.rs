//! Crash safety: `idp serve` is killed with SIGKILL while clients are getting tokens (client
//! credentials and refresh rotations), then restarted. Every access token a client received
//! still introspects as active, every refresh token a client holds is either live or has a
//! successor written with it, the database is intact and no half-written state exists; on
//! SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, REDIRECT, Server, cli, free_port};
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{AuthCode, Authorization};
use idp_core::{Env, SystemEnv};
use serde_json::Value;

const WORKERS: usize = 6;

fn idp(config: &std::path::Path, args: &[&str]) -> Value {
    cli(std::path::Path::new(BIN), config, args, None)
}

async fn start(config: &std::path::Path, port: u16) -> Server {
    let server = Server(
        Command::new(BIN)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server did not start");
}

#[derive(Default)]
struct Received {
    access_tokens: Vec<String>,
    /// The refresh token each worker holds last.
    refresh: Vec<String>,
}

async fn scenario(database_url: String, dir: &std::path::Path) {
    let port = free_port();
    let config = dir.join("idp.toml");
    let kek = idp_core::crypto::Kek::generate(&SystemEnv).encode();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\ndata_dir = \"{}\"\n\
             key_encryption_key = \"{kek}\"\nbootstrap = false\nlog = \"error\"\n",
            dir.display()
        ),
    )
    .unwrap();
    idp(&config, &["tenant", "add", "main"]);
    let svc = idp(
        &config,
        &["client", "add", "--name", "svc", "--type", "service", "--access-token-format", "opaque"],
    );
    let web = idp(&config, &["client", "add", "--name", "web", "--type", "web", "--redirect-uri", REDIRECT]);
    let (svc_id, svc_secret) =
        (svc["client_id"].as_str().unwrap().to_string(), svc["client_secret"].as_str().unwrap().to_string());
    let (web_id, web_secret) =
        (web["client_id"].as_str().unwrap().to_string(), web["client_secret"].as_str().unwrap().to_string());

    // one authorization code per worker, written straight into the store
    let store = idp_store::connect(&database_url).await.unwrap();
    let tenant = store.tenant_by_slug("main").await.unwrap().unwrap();
    let mut codes = vec![];
    for _ in 0..WORKERS {
        let code = random_token(&SystemEnv, 32);
        store
            .insert_code(&AuthCode {
                code_hash: sha256_hex(code.as_bytes()),
                family_id: random_token(&SystemEnv, 16),
                authz: Authorization {
                    tenant_id: tenant.id.clone(),
                    client_id: web_id.clone(),
                    account_id: Some("someone".into()),
                    scope: vec!["openid".into(), "offline_access".into()],
                    sid: None,
                    auth_time: Some(SystemEnv.now()),
                    acr: Some("aal1".into()),
                    amr: vec!["pwd".into()],
                    nonce: None,
                    act_as: "self".into(),
                    context: None,
                    claims: None,
                    resource: None,
                    consented_at: None,
                },
                redirect_uri: REDIRECT.into(),
                code_challenge: None,
                expires_at: SystemEnv.now() + 600,
                consumed: false,
            })
            .await
            .unwrap();
        codes.push(code);
    }
    // the account the codes name must exist for refreshes to succeed
    let now = SystemEnv.now();
    store
        .insert_account(&idp_core::model::Account {
            id: "someone".into(),
            tenant_id: tenant.id.clone(),
            username: "someone".into(),
            name: None,
            phone: None,
            phone_verified_at: None,
            email_verified_at: None,
            email: None,
            password_hash: None,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            roles: vec![],
            locale: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();

    let server = start(&config, port).await;
    let base = format!("http://127.0.0.1:{port}/t/main");
    let http = reqwest::Client::new();
    let received = Arc::new(Mutex::new(Received::default()));
    for code in &codes {
        let r: Value = http
            .post(format!("{base}/token"))
            .basic_auth(&web_id, Some(&web_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        received
            .lock()
            .unwrap()
            .refresh
            .push(r["refresh_token"].as_str().expect("refresh token").to_string());
    }
    // sustained issuance, killed in the middle
    let stop = Instant::now() + Duration::from_millis(1500);
    let mut tasks = vec![];
    for w in 0..WORKERS {
        let (http, base, received) = (http.clone(), base.clone(), received.clone());
        let (svc_id, svc_secret, web_id, web_secret) =
            (svc_id.clone(), svc_secret.clone(), web_id.clone(), web_secret.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let cc = http
                    .post(format!("{base}/token"))
                    .basic_auth(&svc_id, Some(&svc_secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let Ok(cc) = cc else { break };
                if let Ok(v) = cc.json::<Value>().await
                    && let Some(at) = v["access_token"].as_str()
                {
                    received.lock().unwrap().access_tokens.push(at.to_string());
                }
                let rt = received.lock().unwrap().refresh[w].clone();
                let res = http
                    .post(format!("{base}/token"))
                    .basic_auth(&web_id, Some(&web_secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())])
                    .send()
                    .await;
                let Ok(res) = res else { break };
                if let Ok(v) = res.json::<Value>().await {
                    if let Some(next) = v["refresh_token"].as_str() {
                        received.lock().unwrap().refresh[w] = next.to_string();
                    }
                    if let Some(at) = v["access_token"].as_str() {
                        received.lock().unwrap().access_tokens.push(at.to_string());
                    }
                }
            }
        }));
    }
    tokio::time::sleep_until(stop.into()).await;
    drop(server); // SIGKILL
    for t in tasks {
        let _ = t.await;
    }
    drop(store);

    // restart on the same database
    let _server = start(&config, port).await;
    let received = std::mem::take(&mut *received.lock().unwrap());
    assert!(received.access_tokens.len() > 20, "sustained issuance: {} tokens", received.access_tokens.len());
    // each token is introspected by the client it was issued to (the service's own, or the
    // web application's): introspection answers no other client
    for at in &received.access_tokens {
        let mut active = false;
        for (id, secret) in [(&svc_id, &svc_secret), (&web_id, &web_secret)] {
            let v: Value = http
                .post(format!("{base}/introspect"))
                .basic_auth(id, Some(secret))
                .form(&[("token", at.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            active |= v["active"] == true;
        }
        assert!(active, "a token a client received survives the crash");
    }
    let store = idp_store::connect(&database_url).await.unwrap();
    for rt in &received.refresh {
        let r = store
            .refresh_token(&sha256_hex(rt.as_bytes()))
            .await
            .unwrap()
            .expect("the held refresh token exists");
        assert!(!r.revoked, "no family was revoked by the crash");
    }
    drop(store);
    // no half-written state, and an intact database
    let checks = [
        // every family has exactly one live refresh token (a used one always has its successor)
        "SELECT COUNT(*) FROM (SELECT family_id FROM refresh_tokens GROUP BY family_id \
         HAVING SUM(CASE WHEN used = FALSE AND revoked = FALSE THEN 1 ELSE 0 END) <> 1) AS broken",
        // a consumed code always has the family its tokens were written with
        "SELECT COUNT(*) FROM auth_codes c WHERE c.consumed = TRUE \
         AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.family_id = c.family_id)",
    ];
    if database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&database_url).await.unwrap();
        let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
        assert_eq!(ok, "ok");
        for sql in checks {
            assert_eq!(sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap(), 0, "{sql}");
        }
    } else {
        let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
        for sql in checks {
            assert_eq!(sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap(), 0, "{sql}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_issuance_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("idp.db").display());
    scenario(url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_issuance_on_postgres() {
    let admin = match std::env::var("IDP_TEST_POSTGRES") {
        Ok(v) if v == "off" => return eprintln!("IDP_TEST_POSTGRES=off: skipping"),
        Ok(v) if !v.is_empty() => v,
        _ => "postgres://postgres@127.0.0.1:5432/postgres".to_string(),
    };
    let name = format!("idp_crash_test_{}", std::process::id());
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            let mut conn =
                <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is needed ({e}); IDP_TEST_POSTGRES=off skips")
                });
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
        }
    };
    run(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    run(format!("CREATE DATABASE \"{name}\"")).await;
    let dir = tempfile::tempdir().unwrap();
    let url = admin.rsplit_once('/').map(|(b, _)| format!("{b}/{name}")).unwrap();
    let result = tokio::spawn(async move { scenario(url, dir.path()).await }).await;
    run(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
