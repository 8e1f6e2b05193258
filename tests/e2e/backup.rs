//! A SQLite backup taken while the provider is busy (tokens issued and people signing in all
//! along), restored into a fresh directory and served by a new provider with the same
//! key-encryption key: the person signs in there, the tenant's signing keys are the same, and
//! what was written after the backup is not in the copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use idp_core::model::{ClientSettings, ClientType};
use idp_store::maintenance::{sqlite_backup, sqlite_restore};

use crate::browser::{Browser, rp_http};
use crate::common::{Backend, TestServer, auth_url};

async fn client_credentials(s: &TestServer, id: &str, secret: &str) -> String {
    let body: serde_json::Value = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_and_serves() {
    // (the sign-ins of the load would hit the per-account limit otherwise)
    let busy = |c: &mut idp_server::config::Config| {
        c.limits.signin_per_account_per_minute = 10_000;
        c.limits.signin_per_ip_per_minute = 10_000;
    };
    let s = TestServer::start_with(Backend::Sqlite, busy).await.unwrap();
    s.add_account("ling").await;
    let (svc, svc_secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let svc_secret = svc_secret.unwrap();
    let (web, web_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;

    // load: tokens and sign-ins, until the backup is done
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let s = Arc::new(s);
    let mut load = vec![];
    for i in 0..3 {
        let (s, stop, served) = (s.clone(), stop.clone(), served.clone());
        let (svc, svc_secret, web) = (svc.clone(), svc_secret.clone(), web.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if i == 0 {
                    let b = Browser::new();
                    b.authorize(&s, &auth_url(&s.issuer, &web, ""), "ling").await.callback();
                } else {
                    client_credentials(&s, &svc, &svc_secret).await;
                }
                served.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let info = sqlite_backup(&s.ops.config.database_url, &copy).await.unwrap();
    assert_eq!(info.schema_version, idp_store::shipped_schema_version());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.await.unwrap();
    }
    assert!(served.load(Ordering::SeqCst) > 5, "the provider was busy during the backup");

    // restored into a fresh directory, served by a new provider with the same KEK
    let restored = dir.path().join("fresh").join("idp.db");
    let url = format!("sqlite:{}", restored.display());
    sqlite_restore(&url, &copy, false).await.unwrap();
    let kek = s.ops.config.key_encryption_key.clone();
    let r = TestServer::start_with(Backend::Sqlite, move |c| {
        c.database_url = url;
        c.key_encryption_key = kek;
        c.bootstrap = false;
    })
    .await
    .unwrap();
    let b = Browser::new();
    let cb = b.authorize(&r, &auth_url(&r.issuer, &web, ""), "ling").await.callback();
    let tokens = crate::rp::redeem(&r, &web, web_secret.as_deref().unwrap(), &cb["code"]).await;
    assert!(tokens["id_token"].is_string(), "signed in against the restored copy: {tokens}");
    // the same signing keys (opened with the same KEK), so what the tenant signed before still
    // verifies; what was written after the backup is not in the copy
    let kids = |s: &TestServer| {
        let url = format!("{}/jwks", s.issuer);
        async move {
            let jwks: serde_json::Value = rp_http().get(url).send().await.unwrap().json().await.unwrap();
            let mut kids: Vec<String> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect();
            kids.sort();
            kids
        }
    };
    assert_eq!(kids(&s).await, kids(&r).await);
    s.add_account("late").await;
    assert!(r.ops.account("main", "late").await.is_err(), "written after the backup");
    assert!(r.ops.account("main", "ling").await.is_ok());
}
