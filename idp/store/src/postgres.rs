//! The PostgreSQL backend: the production store shared by many stateless idp nodes.

use idp_core::StoreError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use std::sync::Arc;

use crate::cache::ClientCache;
use crate::map_err;

/// One pool for reads and writes (`write` is the same pool): PostgreSQL handles concurrent
/// writers itself.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub pool: PgPool,
    pub write: PgPool,
    clients: Arc<ClientCache>,
    batch: crate::batch::Batcher,
}

impl PgStore {
    pub async fn connect(
        url: &str,
        store_options: crate::StoreOptions,
    ) -> std::result::Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(store_options.acquire_timeout)
            .connect(url)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let batch = sql::batch::spawn_batcher(&pool, store_options.audit_key.clone());
        Ok(Self { batch, write: pool.clone(), pool, clients: Arc::default() })
    }
}

type Db = Postgres;
type This = PgStore;
const BACKEND: &str = "postgres";

// the one body of SQL, compiled for this backend (see sql/mod.rs): loaded twice on purpose
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
