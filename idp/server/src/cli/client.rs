//! `idp client …`: registering, changing, disabling and rotating the secrets of clients.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use idp_core::model::{AccessTokenFormat, AuthMethod, ClientSettings, ClientType, SigningAlg};
use idp_proto::ClientInfo;

use super::{TenantArg, print};
use crate::ops::clients::client_info;
use crate::ops::{NewClient, Ops};

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum ClientCmd {
    /// Register a client; prints its client_id and (web, service) its secret, once.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_parser = ["web", "spa", "service", "kiosk"])]
        client_type: String,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Space-separated scopes the client may request.
        #[arg(long)]
        scope: Option<String>,
        /// Allow it to ask for the full ID number (scope id_number, sensitive: the person
        /// still ticks it separately on the consent page).
        #[arg(long)]
        allow_id_number: bool,
        /// It processes personal data under a statutory duty: the consent page informs
        /// instead of asking.
        #[arg(long)]
        statutory: bool,
        /// Its sector (e.g. https://dept.example.gov.cn): clients of one sector share a pairwise
        /// `sub`, clients of different sectors cannot link their people.
        #[arg(long)]
        sector: Option<String>,
        #[arg(long, value_parser = ["jwt", "opaque"], default_value = "jwt")]
        access_token_format: String,
        #[arg(long, value_parser = ["ES256", "RS256", "PS256", "EdDSA"], default_value = "ES256")]
        id_token_alg: String,
        /// A JWK Set file: enables private_key_jwt client authentication.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Only private_key_jwt (no secret methods).
        #[arg(long)]
        private_key_jwt_only: bool,
        /// The organisation operating the client, shown on the consent page.
        #[arg(long)]
        organisation: Option<String>,
        /// A kiosk's hall and place, shown on the phone that approves its sign-in.
        #[arg(long)]
        location: Option<String>,
        /// Issue refresh tokens without offline_access.
        #[arg(long)]
        always_refresh: bool,
        /// Where logout tokens are POSTed when a session it took part in ends (Back-Channel
        /// Logout 1.0).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// The page the signed-out page loads in an iframe (Front-Channel Logout 1.0).
        #[arg(long)]
        frontchannel_logout_uri: Option<String>,
        /// The least assurance level any sign-in for this client must reach (aal2: two factors).
        #[arg(long, value_parser = ["aal1", "aal2"])]
        min_acr: Option<String>,
        /// The least real-name level (1-4) of the people it serves; below it, the sign-in offers
        /// the upgrade.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=4))]
        min_realname_level: Option<i64>,
        /// People sign in to it only through this upstream identity provider (its id: `idp
        /// upstream list`), e.g. the national platform.
        #[arg(long)]
        upstream: Option<String>,
        /// The acting contexts it accepts (repeat; default self): a staff-only application
        /// takes `--context staff`.
        #[arg(long = "context", value_parser = ["self", "staff", "enterprise"])]
        contexts: Vec<String>,
        #[arg(long)]
        access_token_ttl: Option<i64>,
        #[arg(long)]
        refresh_token_ttl: Option<i64>,
        /// An administrators' client (the admin console): the only kind that gets the `admin`
        /// scope and tokens for the admin API.
        #[arg(long)]
        admin_client: bool,
        /// A resource (RFC 8707 URI) it may ask access tokens for (repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// The resource this service is (it may then introspect the tokens issued for it).
        #[arg(long)]
        resource_uri: Option<String>,
        /// Seconds (at most 60) in which a just-rotated refresh token may be presented again
        /// without revoking its family (for relying parties refreshing from several workers).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=60))]
        refresh_reuse_seconds: Option<i64>,
        /// A SCIM client (a service with the scim scope): the organisation its groups become
        /// departments under (docs/scim.md).
        #[arg(long)]
        scim_parent: Option<String>,
        /// What a SCIM user's role grants, as HR_ROLE=ROLE[,ROLE] (repeatable); a role the
        /// mapping does not name is refused.
        #[arg(long = "scim-role", requires = "scim_parent")]
        scim_roles: Vec<String>,
    },
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    Show {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Issue a new secret (the old one stops working at once); prints it once.
    RotateSecret {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    Disable {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    Enable {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

pub(super) async fn client_command(ops: &Ops, json: bool, cmd: ClientCmd) -> anyhow::Result<()> {
    match cmd {
        ClientCmd::Add {
            tenant,
            name,
            client_type,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            allow_id_number,
            statutory,
            sector,
            access_token_format,
            id_token_alg,
            jwks_file,
            private_key_jwt_only,
            organisation,
            always_refresh,
            backchannel_logout_uri,
            frontchannel_logout_uri,
            location,
            min_acr,
            min_realname_level,
            upstream,
            contexts,
            access_token_ttl,
            refresh_token_ttl,
            admin_client,
            resources,
            resource_uri,
            refresh_reuse_seconds,
            scim_parent,
            scim_roles,
        } => {
            for r in resources.iter().chain(&resource_uri) {
                crate::ops::clients::check_resource(r)?;
            }
            let client_type =
                ClientType::parse(&client_type).ok_or_else(|| anyhow!("unknown client type"))?;
            let mut settings = ClientSettings {
                access_token_format: if access_token_format == "opaque" {
                    AccessTokenFormat::Opaque
                } else {
                    AccessTokenFormat::Jwt
                },
                id_token_alg: SigningAlg::parse(&id_token_alg).ok_or_else(|| anyhow!("unknown algorithm"))?,
                organisation,
                always_issue_refresh_token: always_refresh,
                min_acr,
                min_realname_level,
                upstream,
                statutory,
                sector,
                location,
                admin_client,
                resources,
                resource_uri,
                refresh_reuse_seconds,
                ..ClientSettings::default()
            };
            if !contexts.is_empty() {
                settings.contexts = contexts;
            }
            if let Some(parent) = scim_parent {
                let mut roles = std::collections::BTreeMap::new();
                for r in scim_roles {
                    let (from, to) = r
                        .split_once('=')
                        .ok_or_else(|| anyhow!("--scim-role is HR_ROLE=ROLE[,ROLE]: {r}"))?;
                    roles.insert(from.to_string(), to.split(',').map(str::to_string).collect());
                }
                settings.scim = Some(idp_core::scim::Settings { parent, roles });
            }
            for uri in backchannel_logout_uri.iter().chain(&frontchannel_logout_uri) {
                idp_core::logout::valid_uri(uri).map_err(|e| anyhow!("{uri}: {e}"))?;
            }
            settings.backchannel_logout_uri = backchannel_logout_uri;
            settings.frontchannel_logout_uri = frontchannel_logout_uri;
            if let Some(ttl) = access_token_ttl {
                settings.access_token_ttl = ttl.clamp(30, 86400);
            }
            if let Some(ttl) = refresh_token_ttl {
                settings.refresh_token_ttl = ttl.clamp(60, 365 * 86400);
            }
            if let Some(path) = jwks_file {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let jwks: serde_json::Value =
                    serde_json::from_str(&text).context("the JWKS file is not JSON")?;
                serde_json::from_value::<jsonwebtoken_check::JwkSet>(jwks.clone())
                    .context("the JWKS file is not a JWK Set")?;
                settings.jwks = Some(jwks);
                if private_key_jwt_only {
                    settings.auth_methods = vec![AuthMethod::PrivateKeyJwt];
                }
            }
            let scope = if allow_id_number {
                let base = scope.unwrap_or_else(|| ClientSettings::default().scope);
                Some(format!("{base} id_number"))
            } else {
                scope
            };
            let new = NewClient {
                name,
                client_type,
                redirect_uris,
                post_logout_redirect_uris,
                scope,
                settings: Some(settings),
            };
            let (client, secret) = ops.add_client(&tenant.tenant, new).await?;
            let info = client_info(&client, secret);
            print(json, &info, || client_text(&info))
        }
        ClientCmd::List { tenant } => {
            let t = ops.tenant(&tenant.tenant).await?;
            let list: Vec<_> =
                ops.store.list_clients(&t.id).await?.iter().map(|c| client_info(c, None)).collect();
            print(json, &list, || {
                list.iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}{}",
                            c.client_id,
                            c.client_type,
                            c.name,
                            if c.disabled { "\t(disabled)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ClientCmd::Show { tenant, client_id } => {
            let info = client_info(&ops.client(&tenant.tenant, &client_id).await?, None);
            print(json, &info, || client_text(&info))
        }
        ClientCmd::RotateSecret { tenant, client_id } => {
            let secret = ops.rotate_client_secret(&tenant.tenant, &client_id).await?;
            let info = client_info(&ops.client(&tenant.tenant, &client_id).await?, Some(secret));
            print(json, &info, || client_text(&info))
        }
        ClientCmd::Disable { tenant, client_id } => {
            ops.set_client_disabled(&tenant.tenant, &client_id, true).await?;
            print(json, &serde_json::json!({"client_id": client_id, "disabled": true}), || {
                format!("client {client_id} disabled")
            })
        }
        ClientCmd::Enable { tenant, client_id } => {
            ops.set_client_disabled(&tenant.tenant, &client_id, false).await?;
            print(json, &serde_json::json!({"client_id": client_id, "disabled": false}), || {
                format!("client {client_id} enabled")
            })
        }
    }
}

fn client_text(c: &ClientInfo) -> String {
    let mut s = format!("client_id: {}\n", c.client_id);
    if let Some(secret) = &c.client_secret {
        s.push_str(&format!("client_secret: {secret}   (shown once; store it now)\n"));
    }
    s.push_str(&format!(
        "name: {}\ntype: {}\nscope: {}\nredirect_uris: {}\npost_logout_redirect_uris: {}\nauth_methods: {}\nid_token_alg: {}\naccess_token_format: {}\ndisabled: {}",
        c.name, c.client_type, c.scope, c.redirect_uris.join(" "), c.post_logout_redirect_uris.join(" "),
        c.token_endpoint_auth_methods.join(" "), c.id_token_signed_response_alg, c.access_token_format, c.disabled
    ));
    s
}

/// JWK Set shape check without a dependency on the JOSE crate here.
mod jsonwebtoken_check {
    #[derive(serde::Deserialize)]
    pub struct JwkSet {
        #[allow(dead_code)]
        pub keys: Vec<serde_json::Map<String, serde_json::Value>>,
    }
}
