//! Migrations at start-up: several nodes starting together on one new PostgreSQL database all
//! come up (sqlx holds an advisory lock around the migrations, so they never race), with every
//! migration of this build applied once; and the same on a new SQLite file. A column added to
//! every table while nodes run (as a later migration may) changes nothing they read.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::Browser;
use crate::common::{Backend, TestDb, TestServer, auth_url, sql};

async fn together(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { idp_store::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for n in nodes {
        n.await.unwrap().expect("every node starts");
    }
    let store = idp_store::connect(&db.url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), idp_store::shipped_schema_version());
    assert!(idp_store::maintenance::pending_migrations(&db.url).await.unwrap().is_empty());
}
crate::both_backends!(nodes_starting_together_migrate_once, together);

/// Every query names its columns, so a column added under a running node leaves its prepared
/// statements' results as they were: with `SELECT *`, PostgreSQL refuses each cached plan
/// afterwards ("cached plan must not change result type").
async fn column_added_while_running(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (client, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    s.add_account("lin").await;
    // every read of the sign-in, consent and code path, prepared on the pool's connections
    let sign_in = || async {
        let b = Browser::new();
        let cb = b.authorize(&s, &auth_url(&s.issuer, &client, ""), "lin").await.callback();
        assert!(cb.contains_key("code"), "{cb:?}");
        let (_, _, account) = b.get(&s, &format!("{}/account", s.issuer)).await.page();
        assert!(account.contains("lin"), "{account}");
    };
    for _ in 0..3 {
        sign_in().await;
    }
    let tables = [
        "tenants",
        "signing_keys",
        "clients",
        "accounts",
        "sessions",
        "interactions",
        "grants",
        "auth_codes",
        "refresh_tokens",
        "totp_credentials",
        "webauthn_credentials",
        "webauthn_ceremonies",
        "real_names",
        "organisations",
        "memberships",
        "device_grants",
        "logout_deliveries",
    ];
    for t in tables {
        sql(&s, &format!("ALTER TABLE {t} ADD COLUMN added_later TEXT")).await.expect(t);
    }
    for _ in 0..3 {
        sign_in().await;
    }
    assert!(
        s.ops.store.list_clients(&s.tenant_id().await).await.unwrap().iter().any(|c| c.client_id == client)
    );
}
crate::both_backends!(a_column_added_under_running_nodes, column_added_while_running);
