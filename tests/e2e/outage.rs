//! The database goes away and comes back: requests that need it get clean 503 answers
//! (`temporarily_unavailable` with Retry-After, or the error page) rather than 500s or hangs,
//! what needs no database keeps working, `/readyz` says the node is not ready (and why) while
//! `/healthz` still answers, and service resumes by itself.

use std::time::{Duration, Instant};

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::rp_http;
use crate::common::{Backend, TestServer};

async fn admin(url: &str, sql: String) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_answers_503_and_recovers() {
    let Some(s) = TestServer::start_with(Backend::Postgres, |c| c.database_acquire_timeout = 1).await else {
        return;
    };
    let (id, secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let http = rp_http();
    let cc = || {
        http.post(format!("{}/token", s.issuer))
            .basic_auth(&id, secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let token: serde_json::Value = cc().await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    // introspection needs the database (the revocation list); issuing a client-credentials token
    // does not, while the client's record is cached
    let introspect = || {
        http.post(format!("{}/introspect", s.issuer))
            .basic_auth(&id, secret.as_deref())
            .form(&[("token", token.as_str())])
            .send()
    };
    assert_eq!(introspect().await.unwrap().status(), 200);
    // (the web client's record is cached, so the authorization request below needs the
    // database only for its interaction)
    let probe = format!("{}/authorize?client_id={web}&prompt=none", s.issuer);
    let _ = http.get(probe).send().await.unwrap();
    // warm the tenant cache, then take the database away
    assert_eq!(http.get(format!("{}/jwks", s.issuer)).send().await.unwrap().status(), 200);
    let (url, name) = s.db().postgres().unwrap().clone();
    admin(&url, format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).await;
    admin(&url, format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .await;

    let t0 = Instant::now();
    let res = introspect().await.unwrap();
    assert_eq!(res.status(), 503, "{:?}", res.text().await);
    let res = introspect().await.unwrap();
    assert!(res.headers().get("retry-after").is_some());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(t0.elapsed() < Duration::from_secs(10), "answers come within the acquire timeout");
    // pages answer 503 too; cached documents are still served
    let page = format!(
        "{}/authorize?client_id={web}&redirect_uri={}&response_type=code&scope=openid",
        s.issuer,
        crate::oidc_flow::urlencode(crate::common::REDIRECT)
    );
    let res = http.get(page).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(http.get(format!("{}/jwks", s.issuer)).send().await.unwrap().status(), 200);
    // the node says it is not ready, and why; it is still alive
    let res = http.get(format!("{}/readyz", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let ready: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["checks"]["database"].as_str()),
        (Some("not_ready"), Some("unreachable"))
    );
    assert_eq!(http.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), 200);

    // the database comes back: service resumes without a restart
    admin(&url, format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = introspect().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: still {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready: serde_json::Value =
        http.get(format!("{}/readyz", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
}
