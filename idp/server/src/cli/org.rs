//! `idp org …` and `idp member …`: the organisation tree and staff memberships.

use clap::Subcommand;
use idp_core::org::NewOrganisation;

use crate::cli::{TenantArg, print};
use crate::ops::Ops;

#[derive(Subcommand, Debug)]
pub enum OrgCmd {
    /// Add a government body (with --level and --region), a department (under --parent) or an
    /// enterprise (with --uscc; a code whose check character disagrees is flagged, not refused).
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long, value_parser = ["government", "department", "enterprise"])]
        kind: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long, value_parser = ["province", "city", "county", "township"])]
        level: Option<String>,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        uscc: Option<String>,
        /// An enterprise's registered legal representative (registry data), with
        /// --representative-id: only its keyed hash is kept.
        #[arg(long)]
        representative_name: Option<String>,
        #[arg(long)]
        representative_id: Option<String>,
    },
    /// The tree (or the subtree under --under), in tree order.
    List {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        under: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// Make an account staff of a government body or department, with roles.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        account: String,
        #[arg(long)]
        org: String,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// An account's memberships (ended ones show when they ended).
    List {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        account: String,
    },
    /// End a membership now.
    Revoke {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

pub async fn org_command(ops: &Ops, json: bool, cmd: OrgCmd) -> anyhow::Result<()> {
    match cmd {
        OrgCmd::Add {
            tenant,
            kind,
            name,
            parent,
            level,
            region,
            uscc,
            representative_name,
            representative_id,
        } => {
            let new = NewOrganisation {
                kind,
                name,
                level,
                region_code: region,
                uscc,
                representative_name,
                representative_id,
            };
            let o = ops.add_organisation(&tenant.tenant, parent.as_deref(), new).await?;
            print(json, &o, || {
                let flag = if o.uscc_flagged {
                    "  (check character disagrees: verify with the registry)"
                } else {
                    ""
                };
                format!("{}\t{}\t{}{flag}", o.id, o.kind, o.name)
            })
        }
        OrgCmd::List { tenant, under } => {
            let list = ops.organisations(&tenant.tenant, under.as_deref()).await?;
            print(json, &list, || {
                list.iter()
                    .map(|o| {
                        let depth = o.path.matches('/').count().saturating_sub(2);
                        format!("{}{}\t{}\t{}", "  ".repeat(depth), o.name, o.kind, o.id)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

pub async fn member_command(ops: &Ops, json: bool, cmd: MemberCmd) -> anyhow::Result<()> {
    match cmd {
        MemberCmd::Add { tenant, account, org, roles } => {
            let m = ops.add_membership(&tenant.tenant, &account, &org, roles).await?;
            print(json, &m, || format!("{}\t{}\t{}", m.id, m.organisation_id, m.roles.join(",")))
        }
        MemberCmd::List { tenant, account } => {
            let list = ops.memberships(&tenant.tenant, &account).await?;
            print(json, &list, || {
                list.iter()
                    .map(|m| {
                        format!(
                            "{}\t{}\t{}\t{}",
                            m.id,
                            m.organisation_id,
                            m.roles.join(","),
                            m.revoked_at.map_or("live".into(), |t| format!("ended {t}"))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        MemberCmd::Revoke { tenant, id } => {
            let m = ops.revoke_membership(&tenant.tenant, &id).await?;
            print(json, &m, || format!("ended {}", m.id))
        }
    }
}
