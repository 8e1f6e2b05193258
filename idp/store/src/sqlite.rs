//! The embedded SQLite backend: one file in WAL mode, foreign keys on, writers waiting on a busy
//! timeout rather than failing.

use std::str::FromStr;
use std::time::Duration;

use idp_core::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use std::sync::Arc;

use crate::cache::ClientCache;
use crate::map_err;

/// Reads go through a pool of connections; every write goes through ONE connection, so
/// writers queue in the pool (cheap, async) instead of sleeping on SQLite's busy lock.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub pool: SqlitePool,
    pub write: SqlitePool,
    clients: Arc<ClientCache>,
    batch: crate::batch::Batcher,
}

impl SqliteStore {
    pub async fn connect(
        url: &str,
        store_options: crate::StoreOptions,
    ) -> std::result::Result<Self, StoreError> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(map_err)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Full);
        let open = |n: u32| {
            SqlitePoolOptions::new()
                .max_connections(n)
                .min_connections(1)
                .acquire_timeout(store_options.acquire_timeout)
                .connect_with(options.clone())
        };
        // SQLite has no advisory lock: when processes start on a new file together, switching it
        // to WAL can find it busy at once (no busy wait there), and the one that loses a
        // migration's race rolls it back; either tries again, and finds the work done
        let mut tries = 0;
        let write = loop {
            let failed = match open(1).await {
                Ok(write) => match sqlx::migrate!("../../migrations/sqlite").run(&write).await {
                    Ok(()) => break write,
                    Err(e) => StoreError::Other(format!("migration failed: {e}")),
                },
                Err(e) => map_err(e),
            };
            tries += 1;
            if tries == 20 {
                return Err(failed);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // An in-memory database exists once per connection: there, one connection does all.
        let pool = if memory { write.clone() } else { open(8).await.map_err(map_err)? };
        let batch = sql::batch::spawn_batcher(&write, store_options.audit_key.clone());
        Ok(Self { pool, write, clients: Arc::default(), batch })
    }
}

type Db = Sqlite;
type This = SqliteStore;
const BACKEND: &str = "sqlite";

// the one body of SQL, compiled for this backend (see sql/mod.rs): loaded twice on purpose
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
