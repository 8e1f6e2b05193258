//! `idp audit …`: verify the hash chains of the audit trail; search and export a tenant's
//! records.

use clap::Subcommand;
use idp_core::audit::Filter;

use crate::cli::{TenantArg, print};
use crate::ops::Ops;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check every chain: an edited, deleted or reordered record, or a cut-off tail, is
    /// reported, and the command fails; so is a chain that fell behind (or lost) its newest
    /// signed checkpoint in the anchor file.
    Verify,
    /// Write a signed checkpoint of every chain now (the server does so every
    /// `[audit] anchor_every_seconds`).
    Anchor,
    /// A tenant's records, newest first, as JSON lines (default) or CSV.
    Export {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        kind: Option<String>,
        /// Only records about this account (username or phone).
        #[arg(long)]
        account: Option<String>,
        /// Unix times, inclusive.
        #[arg(long)]
        since: Option<i64>,
        #[arg(long)]
        until: Option<i64>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long, value_parser = ["json", "csv"], default_value = "json")]
        format: String,
    },
}

pub async fn audit_command(ops: &Ops, json: bool, cmd: AuditCmd) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Anchor => {
            let n = ops.write_audit_anchors(&mut Default::default()).await?;
            print(json, &serde_json::json!({ "checkpoints": n }), || format!("{n} chains checkpointed"))
        }
        AuditCmd::Verify => {
            let report = ops.verify_audit().await?;
            print(json, &report, || {
                let mut lines: Vec<String> = report
                    .chains
                    .iter()
                    .map(|c| {
                        let state = if c.problems.is_empty() {
                            "intact".to_string()
                        } else {
                            c.problems.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join("; ")
                        };
                        format!("{}\t{} records\t{state}", c.chain, c.records)
                    })
                    .collect();
                if report.unchained > 0 {
                    lines.push(format!("{} records from before chaining (not verifiable)", report.unchained));
                }
                lines.join("\n")
            })?;
            anyhow::ensure!(report.intact(), "the audit trail has been tampered with");
            Ok(())
        }
        AuditCmd::Export { tenant, kind, account, since, until, limit, format } => {
            let account_id = match account {
                Some(login) => Some(ops.account(&tenant.tenant, &login).await?.id),
                None => None,
            };
            let filter = Filter { kind, account_id, since, until, limit, ..Filter::default() };
            let records = ops.search_audit(&tenant.tenant, &filter).await?;
            if format == "csv" {
                print!("{}", crate::ops::audit::to_csv(&records));
                return Ok(());
            }
            for r in &records {
                println!("{}", serde_json::to_string(r)?);
            }
            Ok(())
        }
    }
}
