//! Operator actions shared by the CLI, start-up bootstrap and tests: tenants, clients and
//! accounts. Each validates its input and never prints or logs a secret; secrets are returned
//! once to the caller.

pub mod accounts;
pub mod audit;
pub mod clients;
pub mod crypto;
pub mod directory;
pub mod factors;
pub mod org;
pub mod seed;
pub mod tenants;
pub mod upstreams;

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use idp_core::crypto::{Kek, random_token, sha256_hex};
use idp_core::keys::{KeySet, next_rotation};
use idp_core::model::{
    AuditEvent, Client, ClientSettings, ClientType, OfferedFactors, SigningAlg, SigningKeyRecord, Tenant,
};
use idp_core::module::CryptoModule;
use idp_core::suite::Suite;
use idp_core::{Env, Store, keys};

use crate::config::Config;

/// Who acts through the CLI, in the audit trail.
pub const OPERATOR: &str = "operator-cli";

#[derive(Clone)]
pub struct Ops {
    pub store: Arc<dyn Store>,
    pub env: Arc<dyn Env>,
    pub kek: Kek,
    /// Where signing keys are made and used (`idp_core::module`).
    pub module: Arc<dyn CryptoModule>,
    pub config: Config,
}

/// A resource identifier as compared for uniqueness: lower-case scheme and host, no trailing
/// slash.
fn resource_key(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => u.as_str().trim_end_matches('/').to_string(),
        Err(_) => uri.trim_end_matches('/').to_ascii_lowercase(),
    }
}

/// A client's scopes must be ones the tenant defines (`idp_core::scope::defined`).
pub fn check_scopes_defined(
    tenant: &idp_core::model::Tenant,
    settings: &ClientSettings,
) -> anyhow::Result<()> {
    let own = &tenant.settings.policy.api_scopes;
    if let Some(bad) =
        settings.scope.split(' ').filter(|s| !s.is_empty()).find(|s| !idp_core::scope::defined(s, own))
    {
        let standard: Vec<&str> = idp_core::scope::SCOPES.iter().map(|s| s.name).collect();
        bail!(
            "the scope {bad:?} is not defined in this tenant: use the standard ones ({}), api, or add it to \
             the tenant's API scopes (policy.api_scopes)",
            standard.join(", ")
        );
    }
    Ok(())
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub settings: Option<ClientSettings>,
}

pub use accounts::NewAccount;

/// The key-encryption key and the cryptographic module `[keys] module` names. The software
/// module seals keys under the KEK; a hardware module would be opened here, before the KEK,
/// and unwrap the KEK it protects (`idp_core::module`).
pub fn open_module(config: &Config, env: &dyn Env) -> anyhow::Result<(Kek, Arc<dyn CryptoModule>)> {
    match config.keys.module.as_str() {
        "software" => {
            let kek = load_kek(config, env)?;
            Ok((kek.clone(), Arc::new(idp_core::module::SoftwareModule::new(kek))))
        }
        other => bail!("[keys] module = {other:?}: this build has the \"software\" module only"),
    }
}

/// The key-encryption key: configured, or read from (or first written to) `{data_dir}/kek`.
pub fn load_kek(config: &Config, env: &dyn Env) -> anyhow::Result<Kek> {
    if let Some(k) = &config.key_encryption_key {
        return Kek::parse(k).context("key_encryption_key");
    }
    let path = config.data_dir.join("kek");
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return Kek::parse(&text).with_context(|| format!("{} is not a valid key", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let kek = Kek::generate(env);
    write_private(&path, &kek.encode())?;
    tracing::warn!(path = %path.display(), "generated a new key-encryption key; back it up, or set IDP_KEY_ENCRYPTION_KEY");
    Ok(kek)
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

pub fn valid_slug(slug: &str) -> bool {
    (1..=40).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

/// Redirect URIs must be absolute, without fragment, and https unless on the loopback host.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(uri).map_err(|e| anyhow!("invalid redirect URI {uri:?}: {e}"))?;
    if u.fragment().is_some() {
        bail!("redirect URI {uri:?} must not contain a fragment");
    }
    if u.username() != "" || u.password().is_some() {
        bail!("redirect URI {uri:?} must not contain user information");
    }
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!("redirect URI {uri:?} must use https (http only for localhost)"),
    }
}

impl Ops {
    pub fn now(&self) -> i64 {
        self.env.now()
    }

    pub async fn tenant(&self, slug: &str) -> anyhow::Result<Tenant> {
        self.store.tenant_by_slug(slug).await?.ok_or_else(|| anyhow!("no tenant {slug:?}"))
    }

    /// Creates a tenant (on the `international` profile) with a fresh key of each of its algorithms.
    pub async fn add_tenant(&self, slug: &str, name: Option<&str>) -> anyhow::Result<Tenant> {
        if !valid_slug(slug) {
            bail!("a tenant slug is 1-40 characters of a-z, 0-9 and '-'");
        }
        if self.store.tenant_by_slug(slug).await?.is_some() {
            bail!("tenant {slug:?} already exists");
        }
        let tenant = Tenant {
            id: random_token(self.env.as_ref(), 12),
            slug: slug.to_string(),
            name: name.unwrap_or(slug).to_string(),
            created_at: self.now(),
            disabled: false,
            settings: Default::default(),
        };
        self.store.insert_tenant(&tenant).await?;
        let suite = Suite::of(&tenant.settings.crypto);
        for &alg in suite.algs() {
            let key = keys::generate(self.env.as_ref(), self.module.as_ref(), &tenant.id, alg, &suite)
                .map_err(|e| anyhow!(e))?;
            self.store.insert_signing_key(&key).await?;
        }
        Ok(tenant)
    }

    /// Which sign-in methods and second factors the tenant offers: exactly `names` (see
    /// `OfferedFactors::only`), on every node within `TENANT_POLL`; `None` leaves them.
    pub async fn tenant_factors(&self, slug: &str, names: Option<&[String]>) -> anyhow::Result<Tenant> {
        let mut tenant = self.tenant(slug).await?;
        if let Some(names) = names {
            tenant.settings.factors = OfferedFactors::only(names).map_err(|e| anyhow!(e))?;
            self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
            self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
            let on: Vec<_> =
                tenant.settings.factors.named().into_iter().filter(|(_, on)| *on).map(|(n, _)| n).collect();
            self.audit(&tenant.id, "tenant_factors_set", None, serde_json::json!({"offered": on})).await?;
        }
        Ok(tenant)
    }

    /// A new signing key of `alg` for the tenant: it signs from now on (on every node within
    /// `TENANT_POLL`); the keys it replaces stay published and keep verifying what they signed.
    pub async fn rotate_key(&self, slug: &str, alg: SigningAlg) -> anyhow::Result<SigningKeyRecord> {
        self.rotate_key_by(slug, alg, OPERATOR).await
    }

    /// A new key of `alg` signs from now; the keys it replaces stay published until every token
    /// they signed has expired (`keys::retirement`).
    pub async fn rotate_key_by(
        &self,
        slug: &str,
        alg: SigningAlg,
        by: &str,
    ) -> anyhow::Result<SigningKeyRecord> {
        let tenant = self.tenant(slug).await?;
        let suite = Suite::of(&tenant.settings.crypto);
        if !suite.allows(alg) {
            bail!(
                "the tenant's cryptography profile ({}) has no {} keys",
                suite.profile.as_str(),
                alg.as_str()
            );
        }
        let key = self.install_key(&tenant.id, alg, &suite).await?;
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let detail = serde_json::json!({"kid": key.kid, "alg": alg.as_str()});
        self.audit_by(&tenant.id, "key_rotated", None, detail, by).await?;
        Ok(key)
    }

    /// A new key of `alg`, made and sealed by `suite`, that signs from now; the keys of `alg` it
    /// replaces are scheduled to retire once what they signed has expired. The caller bumps
    /// `TENANTS_CHANGED` and audits.
    pub(crate) async fn install_key(
        &self,
        tenant_id: &str,
        alg: SigningAlg,
        suite: &Suite,
    ) -> anyhow::Result<SigningKeyRecord> {
        let key = keys::generate(self.env.as_ref(), self.module.as_ref(), tenant_id, alg, suite)
            .map_err(|e| anyhow!(e))?;
        self.store.insert_signing_key(&key).await?;
        self.store.retire_signing_keys(tenant_id, alg, &key.kid, keys::retirement(key.activates_at)).await?;
        Ok(key)
    }

    /// The tenant's keys, each with where it stands in its schedule now.
    pub async fn keys(&self, slug: &str) -> anyhow::Result<Vec<idp_proto::KeyInfo>> {
        let t = self.tenant(slug).await?;
        let records = self.store.signing_keys(&t.id).await?;
        let now = self.now();
        let set = KeySet::load(
            &records,
            self.module.as_ref(),
            &self.kek,
            &Suite::of(&t.settings.crypto),
            &t.id,
            now,
        )?;
        Ok(records
            .iter()
            .map(|k| {
                let published = set.keys.iter().find(|l| l.kid == k.kid);
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if published.is_none() {
                    // past its retirement, or of an algorithm the tenant's profile left
                    "retired"
                } else if published.is_some_and(|l| l.active) {
                    "signs"
                } else if k.activates_at > now {
                    "published, signs later"
                } else {
                    "verifies only"
                };
                idp_proto::KeyInfo {
                    kid: k.kid.clone(),
                    alg: k.alg.as_str().into(),
                    state: state.into(),
                    created_at: k.created_at,
                    activates_at: k.activates_at,
                    retires_at: k.retires_at,
                    revoked_at: k.revoked_at,
                }
            })
            .collect())
    }

    /// Withdraws a key at once (a compromise): it is published and accepted no more, so tokens
    /// it signed stop verifying and introspect inactive; if it was signing, a new key of its
    /// algorithm takes over now.
    pub async fn revoke_key_by(&self, slug: &str, kid: &str, by: &str) -> anyhow::Result<()> {
        let tenant = self.tenant(slug).await?;
        let records = self.store.signing_keys(&tenant.id).await?;
        let key = records.iter().find(|k| k.kid == kid).with_context(|| format!("no key {kid:?}"))?;
        let now = self.now();
        let was_signing = KeySet::load(
            &records,
            self.module.as_ref(),
            &self.kek,
            &Suite::of(&tenant.settings.crypto),
            &tenant.id,
            now,
        )?
        .keys
        .iter()
        .any(|k| k.kid == kid && k.active);
        anyhow::ensure!(
            self.store.revoke_signing_key(&tenant.id, kid, now).await?,
            "the key {kid} is already revoked"
        );
        if was_signing {
            let suite = Suite::of(&tenant.settings.crypto);
            let next = keys::generate(self.env.as_ref(), self.module.as_ref(), &tenant.id, key.alg, &suite)
                .map_err(|e| anyhow!(e))?;
            self.store.insert_signing_key(&next).await?;
        }
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let detail = serde_json::json!({"kid": kid, "alg": key.alg.as_str(), "replaced": was_signing});
        self.audit_by(&tenant.id, "key_revoked", None, detail, by).await?;
        Ok(())
    }

    /// The automatic rotation (`[keys]`), run every minute by every node: for each tenant and
    /// algorithm whose signer is due, the next key is created `publish_ahead` before it signs
    /// (a derived kid, so nodes racing write one row) and the signer's retirement scheduled; an
    /// algorithm without any key gets one.
    /// Says whether it created a key.
    pub async fn rotate_keys_on_schedule(&self) -> anyhow::Result<bool> {
        let policy = self.config.keys.policy();
        let now = self.now();
        let mut any = false;
        for tenant in self.store.list_tenants().await? {
            if tenant.disabled {
                continue;
            }
            let records = self.store.signing_keys(&tenant.id).await?;
            let mut changed = false;
            let suite = Suite::of(&tenant.settings.crypto);
            for &alg in suite.algs() {
                let live = records
                    .iter()
                    .any(|k| k.alg == alg && k.revoked_at.is_none() && k.retires_at.is_none_or(|t| t > now));
                let at = match next_rotation(&records, alg, now, policy) {
                    Some(at) => at,
                    None if !live => now,
                    None => continue,
                };
                let kid = keys::scheduled_kid(&self.kek, &tenant.id, alg, at);
                let key = keys::generate_at(
                    self.env.as_ref(),
                    self.module.as_ref(),
                    &tenant.id,
                    alg,
                    &suite,
                    at,
                    kid,
                )
                .map_err(|e| anyhow!(e))?;
                match self.store.insert_signing_key(&key).await {
                    Ok(()) => {}
                    Err(idp_core::StoreError::Conflict(_)) => continue, // another node was first
                    Err(e) => return Err(e.into()),
                }
                self.store.retire_signing_keys(&tenant.id, alg, &key.kid, keys::retirement(at)).await?;
                let detail = serde_json::json!({"kid": key.kid, "alg": alg.as_str(), "signs_from": at});
                self.audit_by(&tenant.id, "key_scheduled", None, detail, "key-schedule").await?;
                changed = true;
            }
            if changed {
                self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
                any = true;
            }
        }
        Ok(any)
    }

    /// Registers a client; returns it with its secret (web and service clients), shown once.
    pub async fn add_client(&self, slug: &str, new: NewClient) -> anyhow::Result<(Client, Option<String>)> {
        let tenant = self.tenant(slug).await?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            bail!("a client name has 1-100 characters");
        }
        for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris) {
            check_redirect_uri(uri)?;
        }
        if new.client_type.needs_redirect_uri() && new.redirect_uris.is_empty() {
            bail!("web and spa clients need at least one --redirect-uri");
        }
        let mut settings = new.settings.unwrap_or_default();
        self.check_upstream(slug, &settings).await?;
        settings.redirect_uris = new.redirect_uris;
        settings.post_logout_redirect_uris = new.post_logout_redirect_uris;
        if let Some(scope) = new.scope {
            let parsed = idp_core::scope::parse(&scope).map_err(|e| anyhow!(e))?;
            settings.scope = parsed.join(" ");
        } else if new.client_type == ClientType::Service {
            settings.scope = "api".into();
        } else if new.client_type == ClientType::Kiosk {
            settings.scope = "openid profile".into();
        }
        if new.client_type == ClientType::Kiosk {
            // short-lived tokens (docs/domain.md): 5 minutes unless set, at most 15; and no redirects
            if settings.access_token_ttl == ClientSettings::default().access_token_ttl {
                settings.access_token_ttl = 300;
            }
            settings.access_token_ttl = settings.access_token_ttl.min(idp_core::device::KIOSK_MAX_ACCESS_TTL);
            if !settings.redirect_uris.is_empty() {
                bail!("a kiosk has no redirect URIs (it signs in with the device grant)");
            }
        }
        self.check_admin_scope(slug, new.client_type, &mut settings)?;
        check_scopes_defined(&tenant, &settings)?;
        self.check_scim(&tenant.id, new.client_type, &settings).await?;
        self.check_outbound(&settings)?;
        self.check_resources(&tenant.id, None, new.client_type, &settings).await?;
        if settings
            .refresh_reuse_seconds
            .is_some_and(|n| !(0..=idp_core::model::MAX_REFRESH_REUSE_SECONDS).contains(&n))
        {
            bail!("refresh_reuse_seconds is 0 to 60");
        }
        let secret = new.client_type.is_confidential().then(|| random_token(self.env.as_ref(), 32));
        let client = Client {
            tenant_id: tenant.id,
            client_id: random_token(self.env.as_ref(), 16),
            name: name.to_string(),
            client_type: new.client_type,
            secret_hash: secret.as_ref().map(|s| sha256_hex(s.as_bytes())),
            settings,
            disabled: false,
            created_at: self.now(),
        };
        self.store.insert_client(&client).await?;
        Ok((client, secret))
    }

    /// Resources are registered objects (RFC 8707): a `resource_uri` belongs to one service
    /// client of the tenant (unique), and a client may list in `resources` only URIs some
    /// enabled service of the tenant is. Returns the owners of the listed resources, for the
    /// caller's rights to be checked against them (`admin/clients.rs`).
    pub async fn check_resources(
        &self,
        tenant_id: &str,
        client_id: Option<&str>,
        client_type: ClientType,
        settings: &ClientSettings,
    ) -> anyhow::Result<Vec<Client>> {
        let all = self.store.list_clients(tenant_id).await?;
        let others = || all.iter().filter(|c| Some(c.client_id.as_str()) != client_id);
        if let Some(uri) = &settings.resource_uri {
            if client_type != ClientType::Service {
                bail!("only a service client is a resource (resource_uri)");
            }
            // near-duplicates too (case of scheme and host, a trailing slash)
            let key = resource_key(uri);
            if others().any(|c| c.settings.resource_uri.as_deref().map(resource_key) == Some(key.clone())) {
                bail!("another client already is the resource {uri}");
            }
        }
        let mut owners = vec![];
        for r in &settings.resources {
            match others().find(|c| c.settings.resource_uri.as_deref() == Some(r.as_str()) && !c.disabled) {
                Some(owner) => owners.push(owner.clone()),
                None => {
                    bail!("{r} is not a resource registered in this tenant (a service client's resource_uri)")
                }
            }
        }
        Ok(owners)
    }

    /// A back-channel logout URI (fetched by the server) must lead where the operator's
    /// outbound rules allow (`crate::outbound`); it is checked again, resolved, at every delivery.
    pub fn check_outbound(&self, settings: &ClientSettings) -> anyhow::Result<()> {
        if let Some(uri) = &settings.backchannel_logout_uri {
            let policy = crate::outbound::Policy::new(&self.config.outbound)?;
            if policy.check_url(uri).is_err() {
                bail!(
                    "the back-channel logout URI is not an allowed destination: its host must be in the \
                     operator's [outbound] allow_hosts (when set), and a loopback or private address in \
                     allow_networks"
                );
            }
        }
        Ok(())
    }

    /// The `admin` scope only on administrators' clients, and the admin API as nobody's
    /// resource (`idp_core::admin::check_client`).
    pub fn check_admin_scope(
        &self,
        slug: &str,
        client_type: ClientType,
        settings: &mut ClientSettings,
    ) -> anyhow::Result<()> {
        let admin_api = idp_core::admin::resource(&self.config.issuer(slug));
        idp_core::admin::check_client(client_type, settings, &admin_api).map_err(|e| anyhow!(e))
    }

    pub async fn client(&self, slug: &str, client_id: &str) -> anyhow::Result<Client> {
        let tenant = self.tenant(slug).await?;
        self.store
            .client(&tenant.id, client_id)
            .await?
            .ok_or_else(|| anyhow!("no client {client_id:?} in tenant {slug:?}"))
    }

    pub async fn rotate_client_secret(&self, slug: &str, client_id: &str) -> anyhow::Result<String> {
        let client = self.client(slug, client_id).await?;
        if !client.client_type.is_confidential() {
            bail!("public clients have no secret");
        }
        // The operator's rotation is the emergency one: every older secret ends at once,
        // including one still inside an overlap the admin API gave.
        let mut settings = client.settings.clone();
        settings.previous_secret = None;
        let secret = random_token(self.env.as_ref(), 32);
        let hash = sha256_hex(secret.as_bytes());
        self.store.update_client(&client.tenant_id, client_id, &client.name, &settings, Some(&hash)).await?;
        Ok(secret)
    }

    pub async fn set_client_disabled(&self, slug: &str, client_id: &str, v: bool) -> anyhow::Result<()> {
        let client = self.client(slug, client_id).await?;
        self.store.set_client_disabled(&client.tenant_id, client_id, v).await?;
        Ok(())
    }

    /// Records what an operator did (the CLI has no signed-in identity yet: `by` says so).
    pub(crate) async fn audit(
        &self,
        tenant_id: &str,
        kind: &str,
        account_id: Option<&str>,
        detail: serde_json::Value,
    ) -> anyhow::Result<()> {
        self.audit_by(tenant_id, kind, account_id, detail, OPERATOR).await
    }

    /// Audits an action taken by `by`: an administrator's account id, or [`OPERATOR`].
    pub(crate) async fn audit_by(
        &self,
        tenant_id: &str,
        kind: &str,
        account_id: Option<&str>,
        mut detail: serde_json::Value,
        by: &str,
    ) -> anyhow::Result<()> {
        detail["by"] = serde_json::json!(by);
        let event = AuditEvent {
            tenant_id: Some(tenant_id.to_string()),
            kind: kind.into(),
            account_id: account_id.map(str::to_string),
            client_id: None,
            ip: None,
            detail,
            at: self.now(),
        };
        self.store.append_audit(&event).await?;
        Ok(())
    }

    /// On an empty database: the `main` tenant and an `admin` account with a random password,
    /// returned once so that the caller can print it.
    pub async fn bootstrap(&self) -> anyhow::Result<Option<(String, String)>> {
        if !self.store.list_tenants().await?.is_empty() {
            return Ok(None);
        }
        self.add_tenant("main", Some("Main")).await?;
        let pw = format!("{}-Aa1", random_token(self.env.as_ref(), 15));
        self.add_account(
            "main",
            NewAccount {
                username: "admin".into(),
                password: Some(pw.clone()),
                name: Some("Bootstrap administrator".into()),
                phone: None,
                email: None,
                roles: vec!["system_admin".into()],
            },
        )
        .await?;
        Ok(Some(("admin".into(), pw)))
    }
}

pub(crate) use factors::totp_context;
