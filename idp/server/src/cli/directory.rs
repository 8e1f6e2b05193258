//! `idp directory …`: the staff directories `[directory] config_dir` describes
//! (`crate::outbound::ldap`, docs/directories.md).

use clap::Subcommand;

use super::print;
use crate::ops::Ops;
use crate::outbound::ldap::Directory;

#[derive(Subcommand, Debug)]
pub enum DirectoryCmd {
    /// The directories configured.
    List,
    /// Syncs a directory now: its units, users and groups onto the organisation tree.
    Sync {
        /// Its name (from its file).
        name: String,
        /// Only print what the sync would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn directory_command(ops: &Ops, json: bool, cmd: DirectoryCmd) -> anyhow::Result<()> {
    let all = Directory::configured(&ops.config)?;
    match cmd {
        DirectoryCmd::List => {
            let rows: Vec<_> = all
                .iter()
                .map(|d| serde_json::json!({"name": d.name, "tenant": d.tenant, "url": d.url, "interval_minutes": d.interval_minutes, "password_check": d.password_check}))
                .collect();
            print(json, &rows, || {
                all.iter()
                    .map(|d| format!("{}\t{}\t{}\tevery {} min", d.name, d.tenant, d.url, d.interval_minutes))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        DirectoryCmd::Sync { name, dry_run } => {
            let d = all
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| anyhow::anyhow!("no directory {name:?} in [directory] config_dir"))?;
            let report = ops.sync_directory(d, dry_run).await?;
            print(json, &report, || {
                let mut lines = vec![];
                if !report.conflicts.is_empty() {
                    lines.push(format!(
                        "{} conflicts: only the endings of what was deleted or disabled go ahead",
                        report.conflicts.len()
                    ));
                    lines.extend(report.conflicts.iter().map(|c| format!("  {c}")));
                }
                let verb = if dry_run { "would change" } else { "changed" };
                lines.push(format!("directory {name}: {verb} {} things", report.changes.len()));
                lines.extend(report.changes.iter().map(|c| format!("  {c}")));
                lines.extend(report.notices.iter().map(|n| format!("notice: {n}")));
                lines.extend(report.errors.iter().map(|e| format!("failed: {e}")));
                lines.join("\n")
            })?;
            if report.conflicts.is_empty() && report.errors.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("the directory was not wholly synced")
            }
        }
    }
}
