//! The `idp` command line: `serve` and the offline operator commands for tenants, clients and
//! accounts. Every command takes `--config`, `--database-url` and `--json`.

pub mod account;
pub mod audit;
pub mod cas;
pub mod client;
pub mod database;
pub mod directory;
pub mod org;
pub mod saml;
pub mod tenant;
pub mod upstream;

pub use account::AccountCmd;
pub use client::ClientCmd;
pub use tenant::{KeyCmd, TenantCmd};

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use idp_core::SystemEnv;

use crate::config::Config;
use crate::ops::Ops;

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
    /// Register CAS services (department systems that sign in with CAS 3.0).
    #[command(subcommand)]
    CasService(crate::cli::cas::CasServiceCmd),
    /// Register SAML 2.0 service providers from their metadata.
    #[command(subcommand)]
    SamlSp(crate::cli::saml::SamlSpCmd),
    /// Staff directories synced over LDAP (`[directory] config_dir`).
    #[command(subcommand)]
    Directory(crate::cli::directory::DirectoryCmd),
    /// Upstream OpenID providers people may sign in with (identity brokering).
    #[command(subcommand)]
    Upstream(crate::cli::upstream::UpstreamCmd),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage a tenant's signing keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The organisation tree: government bodies, departments, enterprises.
    #[command(subcommand)]
    Org(crate::cli::org::OrgCmd),
    /// Staff memberships of accounts in the organisation tree.
    #[command(subcommand)]
    Member(crate::cli::org::MemberCmd),
    /// The audit trail: verify its hash chains, export records.
    #[command(subcommand)]
    Audit(crate::cli::audit::AuditCmd),
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

#[derive(Args, Debug)]
pub struct TenantArg {
    #[arg(long, default_value = "main")]
    pub tenant: String,
}

pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
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
        print!("{}", crate::config::env::reference());
        return Ok(());
    }
    if let Command::ConfigExample = &cli.command {
        print!("{}", crate::config::env::example());
        return Ok(());
    }
    if let Command::DevCerts { out, names } = &cli.command {
        crate::tls::devcerts::write_dev_pki(out, names)?;
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
    if let Some(done) = crate::cli::database::run(&cli, &config).await {
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
        Command::Tenant(cmd) => tenant::tenant_command(&ops, json, cmd).await,
        Command::Client(cmd) => client::client_command(&ops, json, *cmd).await,
        Command::CasService(cmd) => crate::cli::cas::cas_service_command(&ops, json, cmd).await,
        Command::SamlSp(cmd) => crate::cli::saml::saml_sp_command(&ops, json, cmd).await,
        Command::Upstream(cmd) => crate::cli::upstream::upstream_command(&ops, json, cmd).await,
        Command::Directory(cmd) => crate::cli::directory::directory_command(&ops, json, cmd).await,
        Command::Org(cmd) => crate::cli::org::org_command(&ops, json, cmd).await,
        Command::Member(cmd) => crate::cli::org::member_command(&ops, json, cmd).await,
        Command::Audit(cmd) => crate::cli::audit::audit_command(&ops, json, cmd).await,
        Command::Key(cmd) => tenant::key_command(&ops, json, cmd).await,
        Command::Account(cmd) => account::account_command(&ops, json, cmd).await,
        Command::Seed { tenants, clients, accounts } => {
            let seeded =
                crate::ops::seed::seed(&ops, tenants, clients, accounts, |p| eprintln!("seeded {p}")).await?;
            print(json, &seeded, || format!("{seeded:#?}"))
        }
    }
}

fn unreachable_serve() -> anyhow::Result<()> {
    Err(anyhow!("serve is handled by main"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    /// Generated ids are base64url and may begin with `-`: taken as ids, never as options.
    #[test]
    fn ids_that_begin_with_a_dash() {
        for args in [
            &["idp", "key", "revoke", "--tenant", "city", "-0d4-RWZyaPdIh6f"][..],
            &["idp", "client", "show", "-Zk3"],
            &["idp", "client", "disable", "--tenant", "main", "-Zk3"],
            &["idp", "member", "revoke", "-m1"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }
}
