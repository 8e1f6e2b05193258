//! The operator commands that work on the database itself, before (or instead of) opening it
//! as a store: `idp migrate [--dry-run]`, `idp backup --out FILE`, `idp restore --from FILE
//! [--replace]` (§6; `idp_store::maintenance` says how).

use std::sync::Arc;

use anyhow::Context;
use idp_core::SystemEnv;
use idp_store::maintenance;
use serde_json::json;

use crate::cli::{Cli, Command, print};
use crate::config::{Config, redact_url};

/// Runs `cli` if it is one of these commands.
pub async fn run(cli: &Cli, config: &Config) -> Option<anyhow::Result<()>> {
    let url = &config.database_url;
    let db = redact_url(url);
    Some(match &cli.command {
        Command::Migrate { dry_run: true } => {
            async {
                let pending = maintenance::pending_migrations(url)
                    .await
                    .with_context(|| format!("cannot read {db}"))?;
                let list: Vec<_> =
                    pending.iter().map(|(v, d)| json!({"version": v, "description": d})).collect();
                print(cli.json, &list, || match pending.is_empty() {
                    true => format!("{db}: up to date"),
                    false => pending
                        .iter()
                        .map(|(v, d)| format!("would apply {v} {d}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                })
            }
            .await
        }
        Command::Migrate { dry_run: false } => {
            async {
                let pending = maintenance::pending_migrations(url)
                    .await
                    .with_context(|| format!("cannot read {db}"))?;
                // opening the store applies them, under the migration lock
                crate::app::open_ops(config.clone(), Arc::new(SystemEnv)).await?;
                let list: Vec<_> =
                    pending.iter().map(|(v, d)| json!({"version": v, "description": d})).collect();
                print(cli.json, &list, || match pending.is_empty() {
                    true => format!("{db}: up to date"),
                    false => {
                        pending.iter().map(|(v, d)| format!("applied {v} {d}")).collect::<Vec<_>>().join("\n")
                    }
                })
            }
            .await
        }
        Command::Backup { out } => {
            async {
                let info =
                    maintenance::sqlite_backup(url, out).await.with_context(|| format!("backup of {db}"))?;
                let report =
                    json!({"file": info.path, "bytes": info.bytes, "schema_version": info.schema_version});
                print(cli.json, &report, || {
                    format!(
                        "{}: {} bytes, schema {} (integrity checked)",
                        info.path.display(),
                        info.bytes,
                        info.schema_version
                    )
                })
            }
            .await
        }
        Command::Restore { from, replace } => async {
            let info = maintenance::sqlite_restore(url, from, *replace).await.context("restore")?;
            let report =
                json!({"database": info.path, "bytes": info.bytes, "schema_version": info.schema_version});
            print(cli.json, &report, || {
                format!(
                    "restored {} into {} (schema {}); start the provider with the same key-encryption key",
                    from.display(),
                    info.path.display(),
                    info.schema_version
                )
            })
        }
        .await,
        _ => return None,
    })
}
