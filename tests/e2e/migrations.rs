//! Migrations at start-up: several nodes starting together on one new PostgreSQL database all
//! come up (sqlx holds an advisory lock around the migrations, so they never race), with every
//! migration of this build applied once; and the same on a new SQLite file.

use crate::common::{Backend, TestDb};

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
