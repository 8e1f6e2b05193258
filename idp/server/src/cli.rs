//! The `idp` command line: `serve` and the offline operator commands for tenants, clients and
//! accounts. Every command takes `--config`, `--database-url` and `--json`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use idp_core::SystemEnv;
use idp_core::model::*;
use idp_proto::{AccountInfo, ClientInfo, TenantInfo};

use crate::config::Config;
use crate::ops::{NewAccount, NewClient, Ops};

#[derive(Parser, Debug)]
#[command(name = "idp", version, about = "OpenID Connect identity provider")]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "IDP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (sqlite:PATH or postgres://…); overrides the configuration.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the provider.
    Serve {
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage clients (relying parties).
    #[command(subcommand)]
    Client(Box<ClientCmd>),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage a tenant's signing keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The organisation tree: government bodies, departments, enterprises.
    #[command(subcommand)]
    Org(crate::cli_org::OrgCmd),
    /// Staff memberships of accounts in the organisation tree.
    #[command(subcommand)]
    Member(crate::cli_org::MemberCmd),
    /// The audit trail: verify its hash chains, export records.
    #[command(subcommand)]
    Audit(crate::cli_audit::AuditCmd),
    /// A development PKI for HTTPS and mutual TLS: a fresh CA, a server certificate for
    /// localhost (and `--name`s), a client identity. Never for production.
    DevCerts {
        #[arg(long, default_value = "certs/dev")]
        out: std::path::PathBuf,
        /// A further DNS name or IP address for the server certificate (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Exit 0 when the provider answers ready (for container health checks, in images without
    /// curl): by default this node's own `/readyz`, on loopback at the configured `listen` port
    /// (HTTPS when TLS is configured; the certificate, made out to the public name, is not
    /// checked on that loopback probe).
    Healthcheck {
        /// Ask this URL instead.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the configuration reference (Markdown; docs/configuration.md).
    ConfigReference,
    /// Print an example configuration file, every option commented (deploy/idp.toml.example).
    ConfigExample,
    /// The migrations this build would apply; without --dry-run, apply them.
    Migrate {
        #[arg(long)]
        dry_run: bool,
    },
    /// An online, consistent copy of the SQLite database into a new file.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place of the SQLite database (with the provider stopped).
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        replace: bool,
    },
    /// Synthetic tenants, clients and accounts in bulk, for the scale benchmark.
    Seed {
        #[arg(long, default_value_t = 10)]
        tenants: usize,
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
    },
}

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
    /// are on (totp, passkeys, security_keys, sms_signin, sms_recovery); without, shows them.
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
        kid: String,
    },
}

#[derive(Args, Debug)]
pub struct TenantArg {
    #[arg(long, default_value = "main")]
    pub tenant: String,
}

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
    },
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    Show {
        #[command(flatten)]
        tenant: TenantArg,
        client_id: String,
    },
    /// Issue a new secret (the old one stops working at once); prints it once.
    RotateSecret {
        #[command(flatten)]
        tenant: TenantArg,
        client_id: String,
    },
    Disable {
        #[command(flatten)]
        tenant: TenantArg,
        client_id: String,
    },
    Enable {
        #[command(flatten)]
        tenant: TenantArg,
        client_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        username: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// An account role (repeatable): `system_admin`, `security_admin` or `audit_admin` (at
        /// most one of these three), `clerk`, or any staff role. Any role makes every sign-in
        /// need two factors.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Set the password (read from standard input) and clear any lockout.
    SetPassword {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
    /// Lock the account until unlocked.
    Lock {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
    Unlock {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
}

pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("cannot read the password from stdin")?;
    let pw = s.lines().next().unwrap_or_default().to_string();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}

pub fn client_info(c: &Client, secret: Option<String>) -> ClientInfo {
    ClientInfo {
        client_id: c.client_id.clone(),
        client_secret: secret,
        name: c.name.clone(),
        client_type: c.client_type.as_str().into(),
        redirect_uris: c.settings.redirect_uris.clone(),
        post_logout_redirect_uris: c.settings.post_logout_redirect_uris.clone(),
        scope: c.settings.scope.clone(),
        token_endpoint_auth_methods: c
            .allowed_auth_methods()
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        id_token_signed_response_alg: c.settings.id_token_alg.as_str().into(),
        access_token_format: match c.settings.access_token_format {
            AccessTokenFormat::Jwt => "jwt".into(),
            AccessTokenFormat::Opaque => "opaque".into(),
        },
        min_acr: c.settings.min_acr.clone(),
        min_realname_level: c.settings.min_realname_level,
        disabled: c.disabled,
        organisation_id: c.settings.organisation_id.clone(),
        purposes: c.settings.purposes.clone(),
        consent: if c.settings.statutory { "statutory" } else { "ask" }.into(),
        contexts: c.settings.contexts.clone(),
        sector: c.settings.sector.clone(),
        access_token_ttl: c.settings.access_token_ttl,
        refresh_token_ttl: c.settings.refresh_token_ttl,
        previous_secret_until: c.settings.previous_secret.as_ref().map(|(_, until)| *until),
        location: c.settings.location.clone(),
        backchannel_logout_uri: c.settings.backchannel_logout_uri.clone(),
        frontchannel_logout_uri: c.settings.frontchannel_logout_uri.clone(),
        admin_client: c.settings.admin_client,
        resources: c.settings.resources.clone(),
        resource_uri: c.settings.resource_uri.clone(),
        refresh_reuse_seconds: c.settings.refresh_reuse_seconds,
    }
}

pub(crate) fn account_info(a: &Account) -> AccountInfo {
    AccountInfo {
        id: a.id.clone(),
        username: a.username.clone(),
        name: a.name.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
        disabled: a.disabled,
        locked_until: a.locked_until,
        roles: a.roles.clone(),
    }
}

pub(crate) fn print<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
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

/// This node's `/readyz` at its `listen` address, an unspecified one (`0.0.0.0`, `[::]`)
/// replaced by loopback.
fn own_readyz(config: &crate::config::Config) -> String {
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    let host = match config.listen.parse::<std::net::SocketAddr>() {
        Ok(mut addr) => {
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            addr.to_string()
        }
        Err(_) => config.listen.clone(), // a host name and port
    };
    format!("{scheme}://{host}/readyz")
}

/// Runs an operator command (anything but `serve`).
pub async fn run_command(cli: Cli) -> anyhow::Result<()> {
    if let Command::Healthcheck { url } = &cli.command {
        let mut http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5));
        let url = match url {
            Some(url) => url.clone(),
            None => {
                let config = load_config(&cli)?;
                http = http.danger_accept_invalid_certs(config.tls_cert.is_some());
                own_readyz(&config)
            }
        };
        let res = http.build()?.get(&url).send().await.with_context(|| format!("{url} does not answer"))?;
        if !res.status().is_success() {
            bail!("{url}: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
        return Ok(());
    }
    if let Command::ConfigReference = &cli.command {
        print!("{}", crate::config_env::reference());
        return Ok(());
    }
    if let Command::ConfigExample = &cli.command {
        print!("{}", crate::config_env::example());
        return Ok(());
    }
    if let Command::DevCerts { out, names } = &cli.command {
        crate::devcerts::write_dev_pki(out, names)?;
        let files = ["ca.pem", "server.pem", "server-key.pem", "client-identity.pem"];
        let list: Vec<String> = files.iter().map(|f| out.join(f).display().to_string()).collect();
        return print(cli.json, &list, || {
            format!(
                "{}
serve with: IDP_TLS_CERT={} IDP_TLS_KEY={} idp serve",
                list.join("\n"),
                list[1],
                list[2]
            )
        });
    }
    let config = load_config(&cli)?;
    if let Some(done) = crate::cli_ops::run(&cli, &config).await {
        return done;
    }
    let ops: Ops = crate::app::open_ops(config, Arc::new(SystemEnv)).await?;
    let json = cli.json;
    match cli.command {
        Command::Serve { .. }
        | Command::DevCerts { .. }
        | Command::ConfigReference
        | Command::ConfigExample
        | Command::Healthcheck { .. }
        | Command::Migrate { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => unreachable_serve(),
        Command::Tenant(TenantCmd::Add { slug, name }) => {
            let t = ops.add_tenant(&slug, name.as_deref()).await?;
            let info = tenant_info(&ops, &t);
            print(json, &info, || format!("issuer: {}", info.issuer))
        }
        Command::Tenant(TenantCmd::List) => {
            let list: Vec<_> = ops.store.list_tenants().await?.iter().map(|t| tenant_info(&ops, t)).collect();
            print(json, &list, || {
                list.iter()
                    .map(|t| format!("{}\t{}\t{}", t.slug, t.issuer, t.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Tenant(TenantCmd::Factors { tenant, names }) => {
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
        Command::Client(cmd) => client_command(&ops, json, *cmd).await,
        Command::Org(cmd) => crate::cli_org::org_command(&ops, json, cmd).await,
        Command::Member(cmd) => crate::cli_org::member_command(&ops, json, cmd).await,
        Command::Audit(cmd) => crate::cli_audit::audit_command(&ops, json, cmd).await,
        Command::Key(cmd) => {
            let (slug, rotated) = match cmd {
                KeyCmd::List { tenant } => (tenant.tenant, None),
                KeyCmd::Revoke { tenant, kid } => {
                    ops.revoke_key_by(&tenant.tenant, &kid, crate::ops::OPERATOR).await?;
                    (tenant.tenant, None)
                }
                KeyCmd::Rotate { tenant, alg } => {
                    let alg =
                        SigningAlg::ALL.into_iter().find(|a| a.as_str() == alg).context("unknown alg")?;
                    let key = ops.rotate_key(&tenant.tenant, alg).await?;
                    (tenant.tenant, Some(key.kid))
                }
            };
            let keys = ops.keys(&slug).await?;
            let out = serde_json::json!({"tenant": slug, "rotated": rotated, "keys": keys});
            print(json, &out, || {
                keys.iter()
                    .map(|k| format!("{}\t{}\t{}", k.kid, k.alg, k.state))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Account(cmd) => account_command(&ops, json, cmd).await,
        Command::Seed { tenants, clients, accounts } => {
            let seeded =
                crate::seed::seed(&ops, tenants, clients, accounts, |p| eprintln!("seeded {p}")).await?;
            print(json, &seeded, || format!("{seeded:#?}"))
        }
    }
}

fn unreachable_serve() -> anyhow::Result<()> {
    Err(anyhow!("serve is handled by main"))
}

fn tenant_info(ops: &Ops, t: &Tenant) -> TenantInfo {
    TenantInfo {
        slug: t.slug.clone(),
        name: t.name.clone(),
        issuer: ops.config.issuer(&t.slug),
        disabled: t.disabled,
        created_at: t.created_at,
    }
}

async fn client_command(ops: &Ops, json: bool, cmd: ClientCmd) -> anyhow::Result<()> {
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
            contexts,
            access_token_ttl,
            refresh_token_ttl,
            admin_client,
            resources,
            resource_uri,
            refresh_reuse_seconds,
        } => {
            for r in resources.iter().chain(&resource_uri) {
                crate::ops_clients::check_resource(r)?;
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

async fn account_command(ops: &Ops, json: bool, cmd: AccountCmd) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Add { tenant, username, password_stdin, phone, email, name, roles } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let a = ops
                .add_account(&tenant.tenant, NewAccount { username, password, name, phone, email, roles })
                .await?;
            let info = account_info(&a);
            print(json, &info, || format!("account {} created (id {})", info.username, info.id))
        }
        AccountCmd::List { tenant } => {
            let t = ops.tenant(&tenant.tenant).await?;
            let list: Vec<_> = ops.store.list_accounts(&t.id).await?.iter().map(account_info).collect();
            print(json, &list, || {
                list.iter()
                    .map(|a| {
                        format!(
                            "{}\t{}\t{}{}",
                            a.id,
                            a.username,
                            a.phone.clone().unwrap_or_default(),
                            if a.disabled { "\t(locked)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AccountCmd::SetPassword { tenant, username } => {
            let pw = read_password()?;
            ops.set_password(&tenant.tenant, &username, &pw).await?;
            print(json, &serde_json::json!({"username": username, "password_set": true}), || {
                format!("password of {username} set")
            })
        }
        AccountCmd::Lock { tenant, username } => {
            ops.set_account_disabled(&tenant.tenant, &username, true).await?;
            print(json, &serde_json::json!({"username": username, "disabled": true}), || {
                format!("{username} locked")
            })
        }
        AccountCmd::Unlock { tenant, username } => {
            ops.set_account_disabled(&tenant.tenant, &username, false).await?;
            print(json, &serde_json::json!({"username": username, "disabled": false}), || {
                format!("{username} unlocked")
            })
        }
    }
}

/// JWK Set shape check without a dependency on the JOSE crate here.
mod jsonwebtoken_check {
    #[derive(serde::Deserialize)]
    pub struct JwkSet {
        #[allow(dead_code)]
        pub keys: Vec<serde_json::Map<String, serde_json::Value>>,
    }
}
