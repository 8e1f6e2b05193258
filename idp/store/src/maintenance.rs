//! Operator work on the database itself: which migrations would run, and the
//! SQLite backup and restore. Migrations run when a store connects (`connect`); sqlx takes a
//! PostgreSQL advisory lock around them, so nodes starting together never race, and SQLite's
//! single writer serialises them. A backup is `VACUUM INTO`: a consistent copy of one read
//! snapshot, taken while the provider keeps serving (WAL mode lets writers go on), then checked
//! with `PRAGMA integrity_check`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use idp_core::StoreError;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::map_err;

fn other(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(what.to_string())
}

/// The migrations this build ships that the database named by `url` has not applied:
/// (version, description). Nothing is created or changed.
pub async fn pending_migrations(url: &str) -> Result<Vec<(i64, String)>, StoreError> {
    let applied: Vec<i64> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut c = sqlx::PgConnection::connect(url).await.map_err(map_err)?;
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
            .fetch_one(&mut c)
            .await
            .map_err(map_err)?;
        match exists {
            Some(_) => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&mut c)
                .await
                .map_err(map_err)?,
            None => vec![],
        }
    } else {
        let path = sqlite_path(url)?;
        if !path.exists() {
            vec![]
        } else {
            let mut c = open_sqlite(&path, true).await?;
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_optional(&mut c)
            .await
            .map_err(map_err)?;
            match exists {
                Some(_) => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_all(&mut c)
                    .await
                    .map_err(map_err)?,
                None => vec![],
            }
        }
    };
    Ok(sqlx::migrate!("../../migrations/sqlite")
        .migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect())
}

/// The file of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") {
        return Err(other(
            "backup and restore are for a SQLite database file (sqlite:PATH); \
                          back up PostgreSQL with pg_basebackup or pg_dump (README, Operations)",
        ));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(map_err)?;
    Ok(options.get_filename().to_path_buf())
}

async fn open_sqlite(path: &Path, read_only: bool) -> Result<SqliteConnection, StoreError> {
    let options = SqliteConnectOptions::new().filename(path).read_only(read_only).create_if_missing(false);
    SqliteConnection::connect_with(&options).await.map_err(map_err)
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
}

/// Checks a database file: integrity, and the newest migration it holds.
async fn check(path: &Path) -> Result<BackupInfo, StoreError> {
    let mut c = open_sqlite(path, true).await?;
    let verdict: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut c).await.map_err(map_err)?;
    if verdict != "ok" {
        return Err(other(format!("{} is damaged: {verdict}", path.display())));
    }
    let schema_version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&mut c)
            .await
            .map_err(|_| other(format!("{} is not a database of this provider", path.display())))?;
    c.close().await.map_err(map_err)?;
    let bytes =
        std::fs::metadata(path).map_err(|e| other(format!("{}: {}", path.display(), e.kind())))?.len();
    Ok(BackupInfo { path: path.to_path_buf(), bytes, schema_version })
}

/// An online, consistent copy of the SQLite database of `url` into the new file `out`.
pub async fn sqlite_backup(url: &str, out: &Path) -> Result<BackupInfo, StoreError> {
    let from = sqlite_path(url)?;
    if out.exists() {
        return Err(other(format!("{} exists already; a backup never overwrites a file", out.display())));
    }
    let target = out.to_str().ok_or_else(|| other("the backup's path is not UTF-8"))?;
    let mut c = open_sqlite(&from, false).await?;
    // VACUUM INTO takes the file name as an expression: bound, never spliced into the SQL
    sqlx::query("VACUUM INTO $1").bind(target).execute(&mut c).await.map_err(map_err)?;
    c.close().await.map_err(map_err)?;
    check(out).await
}

/// Puts the backup `from` in place of the SQLite database of `url`, which must not be in use
/// (the provider stopped). An existing database is replaced only with `replace`; its
/// write-ahead log goes with it, so nothing of the old database survives beside the restored one.
pub async fn sqlite_restore(url: &str, from: &Path, replace: bool) -> Result<BackupInfo, StoreError> {
    let target = sqlite_path(url)?;
    let info = check(from).await?;
    if target.exists() && !replace {
        return Err(other(format!(
            "{} exists; restore over it with --replace (the provider stopped)",
            target.display()
        )));
    }
    let io = |e: std::io::Error| other(format!("restore: {}", e.kind()));
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let staged = target.with_extension("restoring");
    std::fs::copy(from, &staged).map_err(io)?;
    std::fs::File::open(&staged).and_then(|f| f.sync_all()).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", target.display()));
        if side.exists() {
            std::fs::remove_file(&side).map_err(io)?;
        }
    }
    std::fs::rename(&staged, &target).map_err(io)?;
    Ok(BackupInfo { path: target, ..info })
}
