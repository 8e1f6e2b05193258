//! Every configuration option from the environment, and the configuration reference, both
//! derived from the configuration types themselves: the options are the leaves of
//! `Config::default()` serialised (so a new field is at once settable and listed), each named
//! `IDP_{KEY}` at the top level and `IDP_{SECTION}__{KEY}` inside a section (`IDP_SMS__SENDER`).
//! A value is read as the option's type (true/false, a number, text, a comma-separated list);
//! one that does not fit is refused naming the variable, and so is an `IDP_*` variable that
//! names no option. `docs/configuration.md` is [`reference`]'s output; a test keeps it so.

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use crate::config::Config;

/// `IDP_*` variables that are not options: the configuration file's name, the tests' own.
fn not_an_option(name: &str) -> bool {
    name == "IDP_CONFIG" || name.starts_with("IDP_TEST_")
}

/// Older names kept working.
const ALIASES: &[(&str, &str)] = &[("IDP_REALNAME_PROVIDER", "realname.provider")];

/// What each option does (the types' doc comments, which Rust cannot read at run time).
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("listen", "address to listen on"),
    (
        "public_url",
        "external base URL; issuers are `{public_url}/t/{slug}`; `https://` makes cookies Secure; passkeys need a domain name here; port 0 stands for the port the listener got. Default `http://{listen}`",
    ),
    ("database_url", "`sqlite:PATH` or `postgres://…`"),
    ("data_dir", "where the default key-encryption key file (and the development outboxes) live"),
    (
        "key_encryption_key",
        "32 bytes, base64; seals signing keys and secrets at rest. Unset: generated into `{data_dir}/kek` (0600). Back it up apart from the database",
    ),
    (
        "database_acquire_timeout",
        "seconds a request waits for a database connection; then 503 (`temporarily_unavailable`, Retry-After)",
    ),
    (
        "database_wait_seconds",
        "`serve` only: how long start-up keeps trying, once a second, while the database does not answer yet; 0 gives up at once",
    ),
    (
        "shutdown_grace_seconds",
        "after SIGTERM/SIGINT, how long requests in flight may still take before the process exits anyway",
    ),
    (
        "metrics_listen",
        "serve Prometheus metrics at `/metrics` on this address, a listener of its own (`docs/metrics.md`)",
    ),
    (
        "bootstrap",
        "on an empty database create tenant `main` and account `admin`, printing its password once",
    ),
    ("log", "tracing filter (`info`, `idp_server=debug,warn`, …)"),
    (
        "console.enabled",
        "serve the administrators' console at `/console`, its client registered in `admin_tenant` at start (README, Admin console)",
    ),
    (
        "console.idp_ca",
        "a CA (PEM) the console trusts when it calls the provider at `public_url` over HTTPS with a private CA's certificate",
    ),
    ("log_format", "`text` or `json` (one object a line, with the request id)"),
    (
        "otlp_endpoint",
        "export traces by OTLP over HTTP (protobuf) to this URL, e.g. `http://collector:4318/v1/traces`; off when unset",
    ),
    ("otlp_service_name", "the `service.name` of the exported traces"),
    ("trust_forwarded_for", "take the client IP from `X-Forwarded-For` (only behind a trusted proxy)"),
    ("tls_cert", "serve HTTPS with this PEM certificate chain (with `tls_key`); HSTS on every answer"),
    ("tls_key", "the PEM private key for `tls_cert`"),
    (
        "http_redirect_listen",
        "with TLS: also listen here for plain HTTP and answer every request with a 308 to HTTPS",
    ),
    (
        "admin_tenant",
        "the tenant whose system administrators create and configure tenants through the admin API",
    ),
    (
        "argon2.memory_kib",
        "Argon2id memory cost (KiB); hashes with other parameters are re-hashed at the next sign-in",
    ),
    ("argon2.iterations", "Argon2id time cost"),
    ("argon2.parallelism", "Argon2id lanes"),
    (
        "passwords.scheme",
        "`argon2id` or `pbkdf2-sm3` (PBKDF2-HMAC-SM3, where the cryptography assessor requires an approved algorithm) for new password hashes; either verifies, and one of the other scheme is re-hashed at the next sign-in",
    ),
    (
        "passwords.pbkdf2_sm3_iterations",
        "PBKDF2-HMAC-SM3 iterations for new hashes (hashes with fewer are re-hashed at the next sign-in)",
    ),
    ("limits.signin_per_ip_per_minute", "sign-in attempts per IP (shared by all nodes on PostgreSQL)"),
    (
        "limits.signin_per_account_per_minute",
        "sign-in attempts per login name (shared by all nodes on PostgreSQL)",
    ),
    ("limits.token_per_ip_per_minute", "token, introspection and revocation requests per IP, per node"),
    (
        "limits.token_per_client_per_minute",
        "token, introspection and revocation requests per client, per node",
    ),
    ("limits.lockout_threshold", "consecutive failures that lock an account"),
    ("limits.lockout_seconds", "how long a lockout lasts"),
    (
        "sessions.idle_seconds",
        "a browser session ends after this long unused (administrators: at most 15 minutes)",
    ),
    ("sessions.absolute_seconds", "a browser session ends this long after the sign-in whatever happens"),
    ("sms.sender", "`file` (development outbox), `webhook` (a real gateway) or `none` (no SMS codes)"),
    ("sms.file", "the file sender's outbox; default `{data_dir}/sms-outbox.txt`"),
    ("sms.webhook_url", "the gateway; it gets `POST {\"phone\",\"message\"}`"),
    ("sms.webhook_authorization", "sent as the `Authorization` header"),
    ("sms.webhook_hmac_secret", "signs the body: `X-Signature: sha256=<hex HMAC-SHA-256>`"),
    (
        "sms.webhook_pin_sha256",
        "pinned keys of the gateway (`sha256/BASE64` of its certificate's public key), trusted instead of a CA; an SM2 certificate too",
    ),
    ("sms.timeout_seconds", "how long one POST may take"),
    ("sms.retries", "retries after a 5xx or a timeout (a 4xx is final)"),
    (
        "email.sender",
        "where email verification codes go: `file`, `webhook` or `none` (addresses cannot be verified)",
    ),
    ("email.file", "the file sender's outbox; default `{data_dir}/email-outbox.txt`"),
    ("email.webhook_url", "the mail gateway; it gets `POST {\"email\",\"message\"}`"),
    ("email.webhook_authorization", "sent as the `Authorization` header"),
    ("email.webhook_hmac_secret", "signs the body as for SMS"),
    ("email.webhook_pin_sha256", "pinned keys of the mail gateway, as for SMS"),
    ("email.timeout_seconds", "how long one POST may take"),
    ("email.retries", "retries after a 5xx or a timeout"),
    (
        "realname.provider",
        "identity verification: `none` (self-asserted, level 1), `simulator` (development and sandbox) or `http` (the gateway). Also `IDP_REALNAME_PROVIDER`",
    ),
    ("realname.url", "the gateway; it gets `POST {\"name\",\"id_type\",\"id_number\"}`"),
    ("realname.authorization", "sent as the `Authorization` header"),
    ("realname.hmac_secret", "signs the body: `X-Signature: sha256=<hex>`"),
    ("realname.client_identity_pem", "a PEM file with the client certificate and key, for mutual TLS"),
    ("realname.ca_pem", "the gateway's CA certificates, then the only ones trusted for it (a private PKI)"),
    (
        "realname.pin_sha256",
        "pinned keys of the gateway (`sha256/BASE64` of its certificate's public key), trusted instead of a CA; an SM2 certificate too",
    ),
    ("realname.timeout_seconds", "how long one check may take"),
    ("realname.retries", "retries after a failure"),
    ("realname.bank_card", "the gateway also answers the bank-card four-factor check (level 3)"),
    ("realname.breaker_failures", "consecutive failures after which the gateway is not asked for a while"),
    ("realname.breaker_seconds", "how long it is not asked then"),
    (
        "directory.config_dir",
        "a folder of `*.json` files, each a staff directory synced over LDAP (docs/directories.md); empty: none",
    ),
    (
        "licence.provider",
        "the electronic business licence system's connector: `none` (not offered) or `simulator` (development and sandbox)",
    ),
    (
        "netid.provider",
        "the national network identity service's connector: `none` (not offered) or `simulator` (development and sandbox)",
    ),
    (
        "keys.rotate_every_days",
        "each signing key signs this long before the next takes over; 0: rotation by hand only",
    ),
    ("keys.publish_ahead_hours", "the next key is published in the JWKS this long before it signs"),
    (
        "keys.module",
        "the cryptographic module that makes, keeps and uses signing keys: `software` (sealed under the key-encryption key)",
    ),
    (
        "audit.anchor_file",
        "the append-only file of signed audit-chain checkpoints; default `{data_dir}/audit-anchors.jsonl` (make it append-only: `chattr +a`)",
    ),
    (
        "audit.anchor_url",
        "also POST each checkpoint (`{\"anchor\": \"<jws>\"}`) to this collector (outbound rules apply)",
    ),
    (
        "audit.anchor_every_seconds",
        "how often the chains are checkpointed (a chain that did not move is skipped); 0: never",
    ),
    (
        "outbound.allow_hosts",
        "host names the server's own requests (back-channel and CAS logout, CAS proxy callbacks, SMS, email and real-name gateways) may go to: `host.example` or `*.example` for its subdomains; empty: any name",
    ),
    (
        "outbound.allow_networks",
        "networks (CIDR) such requests may reach although loopback, link-local or private (a department on a private network, a gateway on loopback); checked on the resolved address at every connection",
    ),
    (
        "outbound.ca_file",
        "certificate authorities (PEM) trusted for the server's own HTTPS requests besides the public ones (the province's PKI behind department systems: CAS proxy callbacks, back-channel logout)",
    ),
];

/// Every option: (dotted path, its default as JSON).
fn leaves() -> Vec<(String, Value)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(map) if prefix.is_empty() || !prefix.contains('.') => {
                for (k, v) in map {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    match v {
                        Value::Object(_) if prefix.is_empty() => walk(&path, v, out),
                        _ => out.push((path, v.clone())),
                    }
                }
            }
            _ => out.push((prefix.to_string(), v.clone())),
        }
    }
    let mut out = vec![];
    walk("", &serde_json::to_value(Config::default()).unwrap_or_default(), &mut out);
    // top-level keys first, then each section's (as a TOML file has them)
    out.sort_by(|(a, _), (b, _)| (a.contains('.'), a).cmp(&(b.contains('.'), b)));
    out
}

/// The variable of an option.
pub fn env_name(path: &str) -> String {
    format!("IDP_{}", path.replace('.', "__").to_uppercase())
}

/// Applies every `IDP_*` variable `vars` holds to `config`.
pub fn apply(config: &mut Config, vars: &[(String, String)]) -> anyhow::Result<()> {
    let options = leaves();
    let mut tree = serde_json::to_value(&*config).context("the configuration")?;
    for (name, value) in vars.iter().filter(|(n, _)| n.starts_with("IDP_") && !not_an_option(n)) {
        let path =
            match ALIASES.iter().find(|(alias, _)| alias == name) {
                Some((_, path)) => path.to_string(),
                None => options.iter().map(|(p, _)| p).find(|p| env_name(p) == *name).cloned().ok_or_else(
                    || anyhow!("{name} is not a configuration option (see docs/configuration.md)"),
                )?,
            };
        let default = options.iter().find(|(p, _)| *p == path).map(|(_, d)| d.clone()).unwrap_or(Value::Null);
        let parsed = match default {
            Value::Bool(_) => Value::Bool(match value.as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => bail!("{name} must be true or false, not {value:?}"),
            }),
            Value::Number(_) => Value::Number(
                value.trim().parse().map_err(|_| anyhow!("{name} must be a number, not {value:?}"))?,
            ),
            Value::Array(_) => Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.into()))
                    .collect(),
            ),
            _ => Value::String(value.clone()),
        };
        let mut at = &mut tree;
        for part in path.split('.') {
            at = &mut at[part];
        }
        *at = parsed;
    }
    *config = serde_json::from_value(tree)
        .map_err(|e| anyhow!("invalid configuration from the environment: {e}"))?;
    Ok(())
}

/// The configuration reference (Markdown): every option with its variable, default and
/// meaning.
pub fn reference() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated by `idp config-reference` from the configuration types (a test keeps this file\n\
         equal to its output). Defaults, then the TOML file (`--config FILE` or `IDP_CONFIG`), then\n\
         the environment, then command-line flags. Keys in the file are the options' paths: top-level\n\
         keys first, then `[section]` tables. Unknown keys and unknown `IDP_*` variables are refused at\n\
         start-up, naming them; so is a value of the wrong type.\n\n\
         | option | environment | default | meaning |\n|---|---|---|---|\n",
    );
    for (path, default) in leaves() {
        let default = match &default {
            Value::Null => "–".to_string(),
            Value::String(s) => format!("`{s}`"),
            v => format!("`{v}`"),
        };
        let meaning = DESCRIPTIONS.iter().find(|(p, _)| *p == path).map_or("", |(_, d)| d);
        let path_shown = match path.split_once('.') {
            Some((section, key)) => format!("`[{section}] {key}`"),
            None => format!("`{path}`"),
        };
        out.push_str(&format!(
            "| {path_shown} | `{}` | {default} | {} |\n",
            env_name(&path),
            meaning.replace('|', "\\|")
        ));
    }
    out
}

/// An example configuration file: every option, commented out at its default, with its
/// meaning and variable (`deploy/idp.toml.example`).
pub fn example() -> String {
    let mut out = String::from(
        "# Example configuration of the identity provider (generated by `idp config-example`).\n\
         # Every option is shown at its default, commented out; uncomment what you change.\n\
         # Each can also be set by its environment variable, named on the line above it.\n",
    );
    let mut section = None;
    for (path, default) in leaves() {
        let (sec, key) = match path.split_once('.') {
            Some((s, k)) => (Some(s.to_string()), k.to_string()),
            None => (None, path.clone()),
        };
        if sec != section {
            if let Some(s) = &sec {
                out.push_str(&format!("\n[{s}]\n"));
            }
            section = sec;
        }
        let meaning = DESCRIPTIONS.iter().find(|(p, _)| *p == path).map_or("", |(_, d)| d);
        let value = match &default {
            Value::Null => "\"\"".to_string(),
            Value::String(s) => format!("{s:?}"),
            v => v.to_string(),
        };
        out.push_str(&format!("\n# {meaning} ({})\n# {key} = {value}\n", env_name(&path)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_described_and_every_description_is_an_option() {
        let paths: Vec<String> = leaves().into_iter().map(|(p, _)| p).collect();
        for p in &paths {
            assert!(DESCRIPTIONS.iter().any(|(d, _)| d == p), "option {p} has no description");
        }
        for (d, _) in DESCRIPTIONS {
            assert!(paths.iter().any(|p| p == d), "description of {d}, which is no option");
        }
    }

    #[test]
    fn the_committed_reference_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == reference(),
            "docs/configuration.md is out of date: cargo run -q --bin idp -- config-reference > docs/configuration.md"
        );
    }

    #[test]
    fn the_committed_example_is_the_generated_one_and_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/idp.toml.example");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == example(),
            "deploy/idp.toml.example is out of date: cargo run -q --bin idp -- config-example > deploy/idp.toml.example"
        );
        // uncommented, it is a valid configuration equal to the defaults (but for the unset
        // options, shown as empty strings)
        let uncommented: String = example()
            .lines()
            .filter(|l| !l.contains("= \"\""))
            .map(|l| l.strip_prefix("# ").filter(|r| r.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config = toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(serde_json::to_value(parsed).unwrap(), serde_json::to_value(Config::default()).unwrap());
    }

    #[test]
    fn variables_set_options_of_every_type_and_bad_ones_are_refused() {
        let vars = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mut c = Config::default();
        let set = [
            ("IDP_LISTEN", "0.0.0.0:80"),
            ("IDP_BOOTSTRAP", "false"),
            ("IDP_PUBLIC_URL", "https://id.example.gov.cn"),
            ("IDP_SMS__SENDER", "none"),
            ("IDP_LIMITS__LOCKOUT_THRESHOLD", "7"),
            ("IDP_KEYS__ROTATE_EVERY_DAYS", "30"),
            ("IDP_REALNAME_PROVIDER", "simulator"),
            ("IDP_TEST_POSTGRES", "off"),
            ("PATH", "/bin"),
        ];
        apply(&mut c, &vars(&set)).unwrap();
        assert_eq!((c.listen.as_str(), c.bootstrap), ("0.0.0.0:80", false));
        assert_eq!(c.public_url.as_deref(), Some("https://id.example.gov.cn"));
        assert_eq!((c.sms.sender.as_str(), c.limits.lockout_threshold), ("none", 7));
        assert_eq!((c.keys.rotate_every_days, c.realname.provider.as_str()), (30, "simulator"));
        for (bad, names) in [
            (("IDP_BOOTSTRAP", "maybe"), "IDP_BOOTSTRAP"),
            (("IDP_LIMITS__LOCKOUT_THRESHOLD", "many"), "IDP_LIMITS__LOCKOUT_THRESHOLD"),
            (("IDP_LSITEN", "x"), "IDP_LSITEN"),
        ] {
            let e = apply(&mut Config::default(), &vars(&[bad])).unwrap_err().to_string();
            assert!(e.contains(names), "{e}");
        }
    }
}
