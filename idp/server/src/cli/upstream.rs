//! `idp upstream …`: the tenant's upstream OpenID providers and SAML identity providers
//! (identity brokering, `idp_core::upstream`). The client secret is read from a file or `IDP_UPSTREAM_CLIENT_SECRET`,
//! never from the command line (where `ps` and shell histories would show it).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use idp_core::model::{UpstreamAuth, UpstreamSettings};

use super::{TenantArg, print};
use crate::ops::Ops;
use crate::ops::upstreams::NewUpstream;

#[derive(Subcommand, Debug)]
pub enum UpstreamCmd {
    /// Add an upstream OpenID provider; prints the callback URL to register there.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Its slug here (the callback is `{issuer}/upstream/{id}/callback`).
        id: String,
        /// The upstream's issuer (its discovery document is under it).
        #[arg(long, required_unless_present_any = ["saml_metadata", "netid", "licence"])]
        issuer: Option<String>,
        /// The client id the upstream issued to this provider.
        #[arg(long, required_unless_present_any = ["saml_metadata", "netid", "licence"])]
        client_id: Option<String>,
        /// A SAML 2.0 identity provider instead: a file with its metadata (its entity ID,
        /// services and signing certificates); this provider's own metadata for it is printed.
        #[arg(long, conflicts_with_all = ["issuer", "client_id", "client_secret_file"])]
        saml_metadata: Option<PathBuf>,
        /// The national network identity service instead, through the connector `[netid]`
        /// configures (`settings.netid` sets the check asked for and plaintext identity).
        #[arg(long, conflicts_with_all = ["issuer", "client_id", "client_secret_file", "saml_metadata"])]
        netid: bool,
        /// The electronic business licence system instead, through the connector `[licence]`
        /// configures (`settings.licence` sets the roles accepted and whether enterprises are
        /// added from the licence).
        #[arg(long, conflicts_with_all = ["issuer", "client_id", "client_secret_file", "saml_metadata", "netid"])]
        licence: bool,
        #[arg(long, default_value = "client_secret_basic", value_parser = ["client_secret_basic", "private_key_jwt"])]
        auth: String,
        /// A file holding the client secret (else `IDP_UPSTREAM_CLIENT_SECRET`).
        #[arg(long)]
        client_secret_file: Option<PathBuf>,
        /// The sign-in button's words.
        #[arg(long)]
        name_zh: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
        /// The settings as JSON (`idp_core::model::UpstreamSettings`: levels, acr_map, identity,
        /// create_accounts …); the names above override its names.
        #[arg(long)]
        settings: Option<PathBuf>,
    },
    /// List the tenant's upstreams.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Stop offering an upstream (links stay).
    Disable {
        #[command(flatten)]
        tenant: TenantArg,
        id: String,
    },
    /// Offer it again.
    Enable {
        #[command(flatten)]
        tenant: TenantArg,
        id: String,
    },
    /// Remove an upstream and every account's link to it.
    Remove {
        #[command(flatten)]
        tenant: TenantArg,
        id: String,
    },
}

pub async fn upstream_command(ops: &Ops, json: bool, cmd: UpstreamCmd) -> anyhow::Result<()> {
    let by = crate::ops::OPERATOR;
    match cmd {
        UpstreamCmd::Add {
            tenant,
            id,
            issuer,
            client_id,
            auth,
            client_secret_file,
            saml_metadata,
            netid,
            licence,
            name_zh,
            name_en,
            settings,
        } => {
            let mut settings: UpstreamSettings = match settings {
                Some(path) => serde_json::from_slice(
                    &std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
                )
                .with_context(|| format!("{} is not upstream settings", path.display()))?,
                None => UpstreamSettings::default(),
            };
            settings.name_zh = name_zh.unwrap_or(settings.name_zh);
            settings.name_en = name_en.unwrap_or(settings.name_en);
            let client_secret = match client_secret_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?
                        .trim()
                        .to_string(),
                ),
                None => std::env::var("IDP_UPSTREAM_CLIENT_SECRET").ok(),
            };
            let auth = UpstreamAuth::parse(&auth).unwrap_or_default();
            let (issuer, client_id) = (issuer.unwrap_or_default(), client_id.unwrap_or_default());
            if netid && settings.netid.is_none() {
                settings.netid = Some(Default::default());
            }
            if licence && settings.licence.is_none() {
                settings.licence = Some(Default::default());
            }
            let mut n = NewUpstream { id, issuer, client_id, auth, client_secret, settings };
            if let Some(path) = saml_metadata {
                let xml = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                n.client_secret = None;
                crate::ops::upstreams::apply_saml_metadata(&mut n, &xml)?;
            }
            let u = ops.add_upstream_by(&tenant.tenant, n, by).await?;
            let v = ops.upstream_info(&tenant.tenant, &u);
            print(json, &v, || match &v.sp_metadata {
                Some(metadata) => format!(
                    "added SAML upstream {} ({}); register there this provider's metadata {metadata}",
                    v.id, v.issuer
                ),
                None => format!(
                    "added upstream {} ({}); register there the redirect URI {}, the post-logout \
                     redirect URI {} and the back-channel logout URI {}",
                    v.id, v.issuer, v.callback, v.post_logout_redirect_uri, v.backchannel_logout_uri
                ),
            })
        }
        UpstreamCmd::List { tenant } => {
            let list = ops.upstreams(&tenant.tenant).await?;
            let views: Vec<_> = list.iter().map(|u| ops.upstream_info(&tenant.tenant, u)).collect();
            print(json, &views, || {
                views
                    .iter()
                    .map(|v| {
                        let state = if v.disabled { " (disabled)" } else { "" };
                        format!("{}\t{}\t{}\t{}{state}", v.id, v.issuer, v.client_id, v.auth)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        UpstreamCmd::Disable { tenant, id } => {
            ops.set_upstream_disabled_by(&tenant.tenant, &id, true, by).await?;
            print(json, &serde_json::json!({"disabled": id}), || format!("upstream {id} disabled"))
        }
        UpstreamCmd::Enable { tenant, id } => {
            ops.set_upstream_disabled_by(&tenant.tenant, &id, false, by).await?;
            print(json, &serde_json::json!({"enabled": id}), || format!("upstream {id} enabled"))
        }
        UpstreamCmd::Remove { tenant, id } => {
            ops.remove_upstream_by(&tenant.tenant, &id, by).await?;
            print(json, &serde_json::json!({"removed": id}), || {
                format!("upstream {id} removed with its links")
            })
        }
    }
}
