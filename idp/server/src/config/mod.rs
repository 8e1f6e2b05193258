//! Configuration: defaults that run with nothing configured, an optional TOML file
//! (`--config`), then `IDP_*` environment variables, then command-line flags.

pub mod env;

use std::path::PathBuf;

use idp_core::password::{Argon2Params, PasswordConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. `IDP_LISTEN`.
    pub listen: String,
    /// The externally visible base URL; issuers are `{public_url}/t/{tenant}`. Defaults to
    /// `http://{listen}`; port 0 stands for the port the listener got. Passkeys need a domain
    /// name here (HTTPS, or `http://localhost`). `IDP_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// `sqlite:PATH` (the default, `sqlite:data/idp.db`) or `postgres://…`. `IDP_DATABASE_URL`.
    pub database_url: String,
    /// Directory for the default SQLite database and the generated key-encryption key.
    /// `IDP_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Key-encryption key for secrets at rest: 32 bytes, base64. When unset, one is generated
    /// on first start into `{data_dir}/kek` (mode 0600). `IDP_KEY_ENCRYPTION_KEY`.
    pub key_encryption_key: Option<String>,
    /// Seconds a request waits for a database connection before it is answered 503.
    /// `IDP_DATABASE_ACQUIRE_TIMEOUT`.
    pub database_acquire_timeout: u64,
    /// `serve` only: how long to keep trying, once a second, while the database does not
    /// answer yet at start-up (a node started with, or before, its database); 0 gives up at
    /// once. `IDP_DATABASE_WAIT_SECONDS`.
    pub database_wait_seconds: u64,
    /// Serve Prometheus metrics at `/metrics` on this address (its own listener; off when
    /// unset). `IDP_METRICS_LISTEN`.
    pub metrics_listen: Option<String>,
    /// After SIGTERM or SIGINT: how long in-flight requests may still take before the process
    /// exits anyway. `IDP_SHUTDOWN_GRACE_SECONDS`.
    pub shutdown_grace_seconds: u64,
    /// Create the `main` tenant and a bootstrap administrator on an empty database.
    /// `IDP_BOOTSTRAP`.
    pub bootstrap: bool,
    /// Log filter (tracing `EnvFilter` syntax). `IDP_LOG`.
    pub log: String,
    /// `text` (for people) or `json` (one object a line, with the request id, for log
    /// collectors). `IDP_LOG_FORMAT`.
    pub log_format: String,
    /// Export traces by OTLP over HTTP (protobuf) to this URL, e.g.
    /// `http://collector:4318/v1/traces`; off when unset. `IDP_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of the exported traces. `IDP_OTLP_SERVICE_NAME`.
    pub otlp_service_name: String,
    /// Use the left-most `X-Forwarded-For` address as the client IP (only behind a trusted
    /// proxy). `IDP_TRUST_FORWARDED_FOR`.
    pub trust_forwarded_for: bool,
    /// Serve HTTPS with this certificate chain and private key (PEM files); both or neither.
    /// `IDP_TLS_CERT`, `IDP_TLS_KEY`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// With TLS: also listen here for plain HTTP and redirect every request to the HTTPS public
    /// URL. `IDP_HTTP_REDIRECT_LISTEN`.
    pub http_redirect_listen: Option<String>,
    /// The tenant whose system administrators create, list, disable and enable tenants through
    /// the admin API. `IDP_ADMIN_TENANT`.
    pub admin_tenant: String,
    pub argon2: Argon2Params,
    /// Which password hash new hashes use: Argon2id, or PBKDF2-HMAC-SM3 where the cryptography
    /// assessor requires it (docs/cryptography.md).
    pub passwords: PasswordConfig,
    pub limits: Limits,
    pub sessions: SessionPolicy,
    pub sms: SmsConfig,
    /// Where email verification codes go: the same settings as `[sms]` (the file sender's
    /// default file is `{data_dir}/email-outbox.txt`; the webhook gets `{"email", "message"}`).
    pub email: SmsConfig,
    pub realname: RealNameConfig,
    /// The national network identity service's connector (`crate::outbound::netid`).
    pub netid: ConnectorConfig,
    /// The electronic business licence system's connector (`crate::outbound::licence`).
    pub licence: ConnectorConfig,
    /// Staff directories synced over LDAP (`crate::outbound::ldap`).
    pub directory: DirectoryConfig,
    pub keys: KeyConfig,
    /// Where outbound requests may go (`crate::outbound`).
    pub outbound: crate::outbound::OutboundConfig,
    /// Signed checkpoints of the audit chains (`crate::outbound::anchor`).
    pub audit: crate::outbound::anchor::AuditConfig,
    /// The administrators' console served under `/console` (`crate::console`).
    pub console: ConsoleConfig,
}

/// The administrators' console inside `idp serve` (`crate::console`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve it, registering its client in the administrators' tenant at start.
    pub enabled: bool,
    /// A CA (PEM) the console trusts for the provider's own HTTPS, when `public_url` is served
    /// with a private CA's certificate (`idp dev-certs`).
    pub idp_ca: Option<PathBuf>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { enabled: true, idp_ca: None }
    }
}

/// The automatic rotation of signing keys (`idp_core::keys`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyConfig {
    /// Each key signs this long before the next takes over; 0 turns automatic rotation off.
    pub rotate_every_days: i64,
    /// The next key is published in the JWKS this long before it signs.
    pub publish_ahead_hours: i64,
    /// The cryptographic module that makes, keeps and uses the signing keys
    /// (`idp_core::module`): `software`, keys sealed under the key-encryption key in the
    /// database. A hardware module (GM/T 0018, PKCS#11) plugs in behind the same port
    /// (docs/cryptography.md).
    pub module: String,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self { rotate_every_days: 90, publish_ahead_hours: 48, module: "software".into() }
    }
}

impl KeyConfig {
    pub fn policy(&self) -> idp_core::keys::RotationPolicy {
        idp_core::keys::RotationPolicy {
            every: self.rotate_every_days.max(0) * 86_400,
            publish_ahead: self.publish_ahead_hours.max(0) * 3600,
        }
    }
}

/// Where the staff directories are described (`crate::outbound::ldap::Directory`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryConfig {
    /// A folder of `*.json` files, one per directory; empty: none.
    pub config_dir: String,
}

/// A service reached through a connector: the national network identity service
/// (国家网络身份认证公共服务, `crate::outbound::netid`) or the electronic business licence
/// system (电子营业执照, `crate::outbound::licence`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorConfig {
    /// `none` (not offered) or `simulator` (development and sandbox: behaves as the published
    /// rules describe). A real connector implements the service's `Connector` trait.
    pub provider: String,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        Self { provider: "none".into() }
    }
}

/// The identity verification provider (see `crate::outbound::verifier`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealNameConfig {
    /// `none` (bindings are self-asserted, level 1), `simulator` (development, sandbox) or
    /// `http` (the real gateway).
    pub provider: String,
    pub url: Option<String>,
    /// Sent as the `Authorization` header.
    pub authorization: Option<String>,
    /// Signs the body: `X-Signature: sha256=<hex HMAC-SHA-256>`.
    pub hmac_secret: Option<String>,
    /// A PEM file with the client certificate and key, for mutual TLS.
    pub client_identity_pem: Option<PathBuf>,
    /// The gateway's CA certificates (PEM), for a gateway on a private PKI: when set, the only
    /// ones trusted for it.
    pub ca_pem: Option<PathBuf>,
    /// Pinned keys instead of a CA: `sha256/BASE64` digests of the public keys the gateway may
    /// present (an SM2 certificate too; `crate::outbound::pinning`).
    pub pin_sha256: Vec<String>,
    pub timeout_seconds: u64,
    pub retries: u32,
    /// The gateway also offers the bank-card four-factor check (real-name level 3).
    pub bank_card: bool,
    /// Consecutive failures that open the circuit, and for how long it stays open.
    pub breaker_failures: u32,
    pub breaker_seconds: u64,
}

impl Default for RealNameConfig {
    fn default() -> Self {
        Self {
            provider: "none".into(),
            url: None,
            authorization: None,
            hmac_secret: None,
            client_identity_pem: None,
            ca_pem: None,
            pin_sha256: vec![],
            bank_card: false,
            timeout_seconds: 5,
            retries: 1,
            breaker_failures: 5,
            breaker_seconds: 30,
        }
    }
}

impl std::fmt::Debug for RealNameConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNameConfig")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("client_identity_pem", &self.client_identity_pem)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish_non_exhaustive()
    }
}

/// Where SMS codes go (see `crate::outbound::sms`). The default writes them to a file for development; a
/// real deployment sets `sender = "webhook"` and its gateway.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// `file`, `webhook` or `none` (no SMS sign-in offered).
    pub sender: String,
    /// The file sender's file; default `{data_dir}/sms-outbox.txt`.
    pub file: Option<PathBuf>,
    pub webhook_url: Option<String>,
    /// Sent as the `Authorization` header, e.g. `Bearer …`.
    pub webhook_authorization: Option<String>,
    /// Signs the body: `X-Signature: sha256=<hex HMAC-SHA-256>`.
    pub webhook_hmac_secret: Option<String>,
    /// Pinned keys of the webhook's server instead of a CA: `sha256/BASE64` digests of the
    /// public keys it may present (an SM2 certificate too; `crate::outbound::pinning`).
    pub webhook_pin_sha256: Vec<String>,
    pub timeout_seconds: u64,
    pub retries: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            sender: "file".into(),
            file: None,
            webhook_url: None,
            webhook_authorization: None,
            webhook_hmac_secret: None,
            webhook_pin_sha256: vec![],
            timeout_seconds: 5,
            retries: 2,
        }
    }
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("sender", &self.sender)
            .field("file", &self.file)
            .field("webhook_url", &self.webhook_url)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Rate limits (per minute) and lockout. Exceeding a rate limit answers 429 with Retry-After.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub signin_per_ip_per_minute: u32,
    pub signin_per_account_per_minute: u32,
    pub token_per_ip_per_minute: u32,
    pub token_per_client_per_minute: u32,
    /// Consecutive wrong passwords before the account is locked.
    pub lockout_threshold: i64,
    /// Lockout duration in seconds.
    pub lockout_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            signin_per_ip_per_minute: 60,
            signin_per_account_per_minute: 10,
            token_per_ip_per_minute: 60_000,
            token_per_client_per_minute: 60_000,
            lockout_threshold: 5,
            lockout_seconds: 30 * 60,
        }
    }
}

/// Browser session lifetimes (docs/domain.md: idle 30 minutes, absolute 12 hours).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    pub idle_seconds: i64,
    pub absolute_seconds: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle_seconds: 30 * 60, absolute_seconds: 12 * 3600 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: "sqlite:data/idp.db".into(),
            data_dir: PathBuf::from("data"),
            key_encryption_key: None,
            database_acquire_timeout: 5,
            database_wait_seconds: 60,
            shutdown_grace_seconds: 20,
            metrics_listen: None,
            bootstrap: true,
            log: "info".into(),
            log_format: "text".into(),
            otlp_endpoint: None,
            otlp_service_name: "idp".into(),
            trust_forwarded_for: false,
            tls_cert: None,
            tls_key: None,
            http_redirect_listen: None,
            admin_tenant: "main".into(),
            argon2: Argon2Params::default(),
            passwords: PasswordConfig::default(),
            limits: Limits::default(),
            sessions: SessionPolicy::default(),
            sms: SmsConfig::default(),
            email: SmsConfig::default(),
            realname: RealNameConfig::default(),
            netid: ConnectorConfig::default(),
            licence: ConnectorConfig::default(),
            directory: DirectoryConfig::default(),
            keys: KeyConfig::default(),
            outbound: Default::default(),
            audit: Default::default(),
            console: ConsoleConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then the TOML file if given, then `IDP_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("invalid configuration {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(&std::env::vars().collect::<Vec<_>>())?;
        Ok(config)
    }

    /// Applies the `IDP_*` variables among `vars` (`config::env` says how they are named).
    pub fn apply_env(&mut self, vars: &[(String, String)]) -> anyhow::Result<()> {
        crate::config::env::apply(self, vars)
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("{}://{}", if self.tls() { "https" } else { "http" }, self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// Whether this server itself serves HTTPS (`tls_cert` and `tls_key`).
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.public_url())
    }

    /// Whether pages are served over TLS as far as browsers see (Secure cookies).
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

/// Never shows the key-encryption key or the database password.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("key_encryption_key", &self.key_encryption_key.as_ref().map(|_| "[redacted]"))
            .field("database_acquire_timeout", &self.database_acquire_timeout)
            .field("database_wait_seconds", &self.database_wait_seconds)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("otlp_service_name", &self.otlp_service_name)
            .field("bootstrap", &self.bootstrap)
            .field("log", &self.log)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("http_redirect_listen", &self.http_redirect_listen)
            .field("admin_tenant", &self.admin_tenant)
            .field("argon2", &self.argon2)
            .field("passwords", &self.passwords)
            .field("limits", &self.limits)
            .field("sessions", &self.sessions)
            .field("sms", &self.sms)
            .field("email", &self.email)
            .field("realname", &self.realname)
            .field("netid", &self.netid)
            .field("licence", &self.licence)
            .field("directory", &self.directory)
            .field("keys", &self.keys)
            .finish()
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "listen={} public_url={} database={}",
            self.listen,
            self.public_url(),
            redact_url(&self.database_url)
        )
    }
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\npublic_url = \"https://id.example.gov.cn/\"\n[limits]\nlockout_threshold = 7\n",
        )
        .unwrap();
        let mut c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.limits.lockout_threshold, 7);
        assert_eq!(c.limits.lockout_seconds, 1800, "unset keys keep their defaults");
        assert_eq!(c.issuer("main"), "https://id.example.gov.cn/t/main");
        assert!(c.secure_cookies());
        let env = [
            ("IDP_LISTEN", "0.0.0.0:80"),
            ("IDP_DATABASE_URL", "postgres://idp:secret@db/idp"),
            ("IDP_BOOTSTRAP", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        c.apply_env(&env).unwrap();
        assert_eq!(c.listen, "0.0.0.0:80");
        assert!(!c.bootstrap);
        assert!(!c.to_string().contains("secret"), "the database password is never displayed");
        assert!(c.apply_env(&[("IDP_BOOTSTRAP".to_string(), "maybe".to_string())]).is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.toml");
        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("listne"), "{e}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Config {
            key_encryption_key: Some("c2VjcmV0LWtleS1lbmNyeXB0aW9uLWtleS0zMmJ5dGVz".into()),
            database_url: "postgres://idp:hunter2@db/idp".into(),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("c2VjcmV0") && !shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("***"), "{shown}");
    }
}
