/// `idp tenant …` and `idp key …`: tenants, the sign-in methods they offer, and their signing
/// keys.
use anyhow::Context;
use clap::Subcommand;
use idp_core::model::SigningAlg;

use super::{TenantArg, print};
use crate::ops::Ops;

#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// Create a tenant with its own issuer and signing keys.
    Add {
        slug: String,
        #[arg(long)]
        name: Option<String>,
    },
    List,
    /// Which sign-in methods and second factors the tenant offers. With names, exactly those
    /// are on (totp, passkeys, security_keys, sms_signin, sms_recovery, registration,
    /// password_reset); without, shows them.
    Factors {
        #[command(flatten)]
        tenant: TenantArg,
        names: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// The tenant's keys: published ones, and which of them sign.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// A new key of ALG signs from now on, on every node within a second; the keys it replaces
    /// stay published and keep verifying what they signed.
    Rotate {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long, value_parser = ["ES256", "RS256", "PS256", "EdDSA"])]
        alg: String,
    },
    /// Withdraw a key at once (a compromise): no longer published or accepted, so what it
    /// signed stops verifying; a signing key is replaced by a new one at once.
    Revoke {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

pub(super) async fn tenant_command(ops: &Ops, json: bool, cmd: TenantCmd) -> anyhow::Result<()> {
    match cmd {
        TenantCmd::Add { slug, name } => {
            let t = ops.add_tenant(&slug, name.as_deref()).await?;
            let info = ops.tenant_info(&t);
            print(json, &info, || format!("issuer: {}", info.issuer))
        }
        TenantCmd::List => {
            let list: Vec<_> = ops.store.list_tenants().await?.iter().map(|t| ops.tenant_info(t)).collect();
            print(json, &list, || {
                list.iter()
                    .map(|t| format!("{}\t{}\t{}", t.slug, t.issuer, t.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        TenantCmd::Factors { tenant, names } => {
            let set = (!names.is_empty()).then_some(names.as_slice());
            let t = ops.tenant_factors(&tenant.tenant, set).await?;
            let offered: serde_json::Map<String, serde_json::Value> =
                t.settings.factors.named().into_iter().map(|(n, on)| (n.to_string(), on.into())).collect();
            print(json, &offered, || {
                offered
                    .iter()
                    .map(|(n, on)| format!("{n}\t{}", if on == true { "on" } else { "off" }))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

pub(super) async fn key_command(ops: &Ops, json: bool, cmd: KeyCmd) -> anyhow::Result<()> {
    let (slug, rotated) = match cmd {
        KeyCmd::List { tenant } => (tenant.tenant, None),
        KeyCmd::Revoke { tenant, kid } => {
            ops.revoke_key_by(&tenant.tenant, &kid, crate::ops::OPERATOR).await?;
            (tenant.tenant, None)
        }
        KeyCmd::Rotate { tenant, alg } => {
            let alg = SigningAlg::ALL.into_iter().find(|a| a.as_str() == alg).context("unknown alg")?;
            let key = ops.rotate_key(&tenant.tenant, alg).await?;
            (tenant.tenant, Some(key.kid))
        }
    };
    let keys = ops.keys(&slug).await?;
    let out = serde_json::json!({"tenant": slug, "rotated": rotated, "keys": keys});
    print(json, &out, || {
        keys.iter().map(|k| format!("{}\t{}\t{}", k.kid, k.alg, k.state)).collect::<Vec<_>>().join("\n")
    })
}
