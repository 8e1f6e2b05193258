//! idp-store: the SQLite and PostgreSQL implementations of the `idp_core::Store` port (sqlx).
//!
//! Departure from docs/design.md, on purpose: instead of two mirrored source trees, both backends
//! are compiled from ONE body of SQL, the `sql/` folder, which `sqlite.rs` and `postgres.rs`
//! each include as a module over their own database type (`#[path = "sql/mod.rs"]`; see
//! `sql/mod.rs`). Every query names its columns (`columns.rs`). The SQL is written in the common
//! subset of both dialects (`$N` placeholders, which SQLite also accepts, `RETURNING`,
//! `ON CONFLICT`, integer Unix times, JSON as TEXT), so a query can never differ between the
//! backends and no `if sqlite` exists anywhere. What really differs (connection options,
//! migrations, the auto-increment column) lives in `sqlite.rs` and `postgres.rs`. The same
//! contract tests run against both.
//!
//! Two more departures, for the hot paths: SQLite writes go through one writer connection
//! (writers queue in the pool instead of sleeping on SQLite's lock), and the append-only rows
//! of the hot paths (access-token records, audit events) are group-committed by a small task
//! (`batch.rs`), which is why this crate uses tokio's channels directly.

use std::sync::Arc;

use idp_core::{Store, StoreError};

mod batch;
#[macro_use]
mod columns;
mod cache;
pub mod maintenance;
mod postgres;
mod rows;
mod sqlite;

pub use postgres::PgStore;

/// The newest migration this build ships (the same numbers for both backends).
pub fn shipped_schema_version() -> i64 {
    sqlx::migrate!("../../migrations/sqlite").migrations.iter().map(|m| m.version).max().unwrap_or(0)
}
pub use sqlite::SqliteStore;

/// How the store waits for the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a request waits for a database connection before it is answered 503.
    pub acquire_timeout: std::time::Duration,
    /// The key audit records are chained with (`idp_core::audit::chain_key` of the KEK). The
    /// default, all zeros, is for tests of the store alone: the provider always passes its own.
    pub audit_key: idp_core::crypto::Kek,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: std::time::Duration::from_secs(5),
            audit_key: idp_core::crypto::Kek::from_bytes([0; 32]),
        }
    }
}

/// Opens the database named by `url` (`sqlite:PATH`, `sqlite::memory:` or `postgres://…`),
/// creating a SQLite file if missing, and runs pending migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, StoreOptions::default()).await
}

pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, options).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, options).await?))
    } else {
        Err(StoreError::Other("the database URL must start with sqlite: or postgres://".into()))
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) if unavailable(db.code().as_deref()) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Database error codes that mean "not now" rather than "never": connection trouble,
/// shutdown, full disk, lock contention (PostgreSQL SQLSTATE classes 08, 53, 57P; SQLite
/// BUSY, LOCKED, IOERR, FULL, CANTOPEN).
fn unavailable(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "55000"
        || matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6 | 10 | 13 | 14))
}

#[cfg(test)]
mod tests {
    fn names(dialect: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dialect);
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn both_dialects_have_the_same_migrations() {
        let sqlite = names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("postgres"), "migrations/sqlite and migrations/postgres must match");
    }

    /// The migrations from which rolling upgrades are promised on.
    const EXPAND_ONLY_FROM: u32 = 20;

    /// The first migration that may add a column to an existing table. Releases before it
    /// read rows with `SELECT *`, whose prepared plans PostgreSQL refuses once a column is
    /// added ("cached plan must not change result type"); from it on every query names its
    /// columns (`columns.rs`). The upgrade test's previous release must be one of these before
    /// a migration adds a column.
    const ADD_COLUMN_FROM: u32 = 26;

    /// Expand/contract: during a rolling upgrade version N and N+1 run on one database, so a
    /// migration may only add — tables, indexes and (from `ADD_COLUMN_FROM`) columns that are
    /// nullable or have a default, since the previous version's inserts do not name them — and
    /// never drop, rename or retype what the previous version still uses. A contract
    /// migration (dropping what no running version reads any more) must say so on a line
    /// `-- contract: <why it is safe now>`.
    #[test]
    fn migrations_only_expand_unless_marked_as_contract() {
        for dialect in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dialect);
            for name in names(dialect) {
                let number: u32 = name[..4].parse().unwrap_or(0);
                if number < EXPAND_ONLY_FROM {
                    continue;
                }
                let text = std::fs::read_to_string(dir.join(&name)).unwrap();
                if text.lines().any(|l| l.trim_start().starts_with("-- contract:")) {
                    continue;
                }
                let sql: String = text
                    .lines()
                    .map(|l| l.split("--").next().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_uppercase();
                let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                for destructive in
                    ["DROP TABLE", "DROP COLUMN", "RENAME", "ALTER COLUMN", "DROP INDEX", "DROP VIEW"]
                {
                    assert!(
                        !sql.contains(destructive),
                        "{dialect}/{name}: {destructive} in an expand-only migration"
                    );
                }
                for added in sql.split("ADD COLUMN").skip(1) {
                    let column = added.split([',', ';']).next().unwrap_or_default();
                    assert!(
                        number >= ADD_COLUMN_FROM,
                        "{dialect}/{name}: ADD COLUMN breaks the `SELECT *` of releases before {ADD_COLUMN_FROM}"
                    );
                    assert!(
                        !column.contains("NOT NULL") || column.contains("DEFAULT"),
                        "{dialect}/{name}: a new column NOT NULL without a DEFAULT breaks the previous \
                         release's inserts"
                    );
                }
            }
        }
    }
}
