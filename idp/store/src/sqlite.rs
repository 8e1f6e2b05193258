//! The embedded SQLite backend: one file in WAL mode, foreign keys on, writers waiting on a busy
//! timeout rather than failing.

use std::str::FromStr;
use std::time::Duration;

use idp_core::StoreError;
use idp_core::model::*;
use idp_core::ports::{Issue, IssueFn, Redeem, Result, Rotate};
use idp_core::token::TokenResponse;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use crate::macros::impl_store;
use crate::map_err;
use crate::rows::*;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> std::result::Result<Self, StoreError> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(map_err)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if memory { 1 } else { 8 })
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("../../migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }
}

impl_store!(SqliteStore, Sqlite, "sqlite");
