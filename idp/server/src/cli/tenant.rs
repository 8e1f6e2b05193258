/// `idp tenant …` and `idp key …`: tenants, the sign-in methods they offer, and their signing
/// keys.
use anyhow::Context;
use clap::Subcommand;
use idp_core::model::{CryptoProfile, SigningAlg};
use idp_core::suite::Suite;

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
    /// The tenant's cryptography profile: international (ES256, RS256, PS256, EdDSA), sm (SM2
    /// with SM3 only) or dual (both; each client chooses). Without options, shows it. Moving
    /// creates keys for the new algorithms, which sign at once; keys of the algorithms left
    /// keep verifying until their tokens have expired (docs/cryptography.md).
    Crypto {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long, value_parser = ["international", "sm", "dual"])]
        profile: Option<String>,
        /// The SM2 user identifier bound into every SM2 signature (Z_A); clients must verify
        /// with the same one. Default: GM/T 0009's 1234567812345678.
        #[arg(long, conflicts_with = "default_sm2_user_id")]
        sm2_user_id: Option<String>,
        /// Back to the default SM2 user identifier.
        #[arg(long)]
        default_sm2_user_id: bool,
    },
    /// Re-seal, now and to the end, every value the tenant keeps sealed (signing keys, TOTP
    /// seeds, ID numbers) under its profile's algorithm; the provider does it by itself a little
    /// each minute, and keeps serving either way.
    Reseal {
        #[command(flatten)]
        tenant: TenantArg,
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
        #[arg(long, value_parser = ["ES256", "RS256", "PS256", "EdDSA", "SGD_SM3_SM2"])]
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
        TenantCmd::Crypto { tenant, profile, sm2_user_id, default_sm2_user_id } => {
            let profile = profile.as_deref().and_then(CryptoProfile::parse);
            let id = if default_sm2_user_id { Some(None) } else { sm2_user_id.map(Some) };
            let t = if profile.is_some() || id.is_some() {
                ops.set_tenant_crypto_by(&tenant.tenant, profile, id, crate::ops::OPERATOR).await?
            } else {
                ops.tenant(&tenant.tenant).await?
            };
            let suite = Suite::of(&t.settings.crypto);
            let out = serde_json::json!({
                "profile": suite.profile.as_str(), "sm2_user_id": suite.sm2_user_id, "algs": suite.alg_names(),
            });
            print(json, &out, || {
                format!(
                    "profile: {}\nalgorithms: {}\nsm2_user_id: {}",
                    suite.profile.as_str(),
                    suite.alg_names().join(" "),
                    suite.sm2_user_id
                )
            })
        }
        TenantCmd::Reseal { tenant } => {
            let t = ops.tenant(&tenant.tenant).await?;
            let done = ops.reseal(&t, None).await?;
            print(json, &done, || {
                let mut out =
                    format!("re-sealed: {}\nalready under the profile: {}", done.resealed, done.already);
                for u in &done.unreadable {
                    out.push_str(&format!("\nunreadable (left as it is): {u}"));
                }
                out
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
            let alg = SigningAlg::parse(&alg).context("unknown alg")?;
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
