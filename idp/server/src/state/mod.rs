//! Shared application state: the operator handle (store, clock, KEK, configuration), the
//! per-tenant cache of keys and published documents, and the rate limiters.

pub mod clock;
pub mod look;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use idp_core::discovery::{Endpoints, metadata};
use idp_core::keys::KeySet;
use idp_core::model::Tenant;
use idp_core::suite::Suite;
use idp_core::{Env, OAuthError, Store};

use crate::config::Config;
use crate::ops::Ops;

/// A tenant with its loaded keys and its discovery and JWKS documents rendered once.
pub struct TenantCtx {
    pub tenant: Tenant,
    pub keys: KeySet,
    pub endpoints: Endpoints,
    pub discovery_json: String,
    pub jwks_json: String,
    /// Name, logo and colours on the tenant's pages.
    pub look: Arc<look::Look>,
    /// The time zone of the tenant's pages.
    pub tz: jiff::tz::TimeZone,
    /// The tenant's upstream identity providers (enabled or not; secrets sealed).
    pub upstreams: Vec<idp_core::model::Upstream>,
}

impl TenantCtx {
    /// A Unix time as the tenant's pages show it (`clock::local_time`).
    pub fn local(&self, at: i64, now: i64) -> String {
        clock::local_time(&self.tz, at, now)
    }
}

/// A rate limit per key and minute. In memory (governor) for one node; with `shared`, a
/// fixed one-minute window counted in the database, so that the limit holds across every node
/// on that database (used for the credential limits on PostgreSQL, see `AppState::new`).
/// The change counter bumped when a tenant or its keys change (see `Ops::rotate_key`).
pub const TENANTS_CHANGED: &str = "tenants";
/// How often a node looks for tenant changes made by another node.
pub const TENANT_POLL: Duration = Duration::from_secs(1);

pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
    shared: Option<(&'static str, i64)>,
}

impl Limiter {
    fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self { inner: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)), shared: None }
    }

    fn shared(name: &'static str, n: u32) -> Self {
        Self { shared: Some((name, i64::from(n.max(1)))), ..Self::per_minute(n) }
    }

    /// `Err(seconds to wait)` when the key is over its quota (in-memory limit only).
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.inner
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }

    /// Like [`Limiter::check`], through the database when the limit is shared. If the
    /// database cannot count, the node's own limit applies.
    pub async fn check_shared(&self, store: &dyn Store, now: i64, key: &str) -> Result<(), u64> {
        let Some((name, limit)) = self.shared else { return self.check(key) };
        let window = now - now.rem_euclid(60);
        match store.count_hit(&format!("{name}:{key}"), window).await {
            Ok(hits) if hits > limit => Err((window + 60 - now).max(1) as u64),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; using this node's");
                self.check(key)
            }
        }
    }
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

pub struct Limiters {
    pub signin_ip: Limiter,
    pub signin_account: Limiter,
    pub token_ip: Limiter,
    pub token_client: Limiter,
}

pub struct AppState {
    pub ops: Ops,
    /// Bounds concurrent Argon2id computations to the number of cores.
    pub argon2_permits: tokio::sync::Semaphore,
    /// Argon2id with reused working memory.
    pub hasher: Arc<idp_core::password::Hasher>,
    dummy_hash: std::sync::OnceLock<String>,
    tenants: RwLock<HashMap<String, Arc<TenantCtx>>>,
    /// Counts the cache's clearings: a load that began before one does not enter the cache
    /// (it may hold keys a rotation in between replaced or revoked).
    tenants_generation: std::sync::atomic::AtomicU64,
    pub limits: Limiters,
    /// Where SMS codes go; `None` when the tenant's deployment offers no SMS sign-in.
    pub sms: Option<Arc<dyn crate::outbound::sms::SmsSender>>,
    /// The WebAuthn relying party; `None` when the public URL cannot have one (an IP address,
    /// or plain HTTP other than on localhost).
    pub passkeys: Option<idp_core::passkey::RelyingParty>,
    /// The identity verification provider; `None`: bindings are self-asserted (level 1).
    pub verifier: Option<Arc<dyn idp_core::realname::Verifier>>,
    /// Where email verification codes go; `None` when email addresses cannot be verified.
    pub email: Option<Arc<dyn crate::outbound::sms::SmsSender>>,
    pub metrics: crate::metrics::Metrics,
    /// This node's name in job leases (random per process).
    pub node: String,
    /// Set once shutdown began: `/readyz` answers 503 from then on.
    pub draining: std::sync::atomic::AtomicBool,
    /// Wakes the back-channel logout task when a session ended on this node.
    pub logout_wake: Arc<tokio::sync::Notify>,
    /// When this node last checkpointed the audit chains, and each chain's head then.
    anchored_at: std::sync::Mutex<i64>,
    anchored: std::sync::Mutex<HashMap<String, i64>>,
    /// The outbound rules and client for upstream identity providers, made on first use.
    upstream_http: std::sync::OnceLock<Option<(crate::outbound::Policy, reqwest::Client)>>,
    /// The national network identity service's connector, made on first use.
    netid: std::sync::OnceLock<Option<Box<dyn crate::outbound::netid::Connector>>>,
    /// The staff directories (`[directory] config_dir`), read on first use.
    directories: std::sync::OnceLock<Vec<crate::outbound::ldap::Directory>>,
    /// When this node last synced each directory.
    directory_runs: std::sync::Mutex<HashMap<String, i64>>,
    /// Held while this node syncs a directory.
    directory_running: tokio::sync::Mutex<()>,
    /// The electronic business licence system's connector, made on first use.
    licence: std::sync::OnceLock<Option<Box<dyn crate::outbound::licence::Connector>>>,
    /// Upstreams' metadata as discovered for the redirect to them, by issuer, with when
    /// (kept a minute: a start costs no requests to the upstream; the callback reads afresh).
    upstream_providers: std::sync::Mutex<HashMap<String, (i64, crate::outbound::upstream::Provider)>>,
}

/// The shared state as handlers of every room (pages, protocol endpoints, admin API) take it.
pub type State = axum::extract::State<Arc<AppState>>;

impl AppState {
    /// What reading a presented token needs (introspection, revocation, UserInfo, the admin
    /// API's bearer check): the store, the clock, the tenant and its keys.
    pub fn read_ctx<'a>(&'a self, t: &'a TenantCtx) -> idp_core::tokens_read::ReadContext<'a> {
        idp_core::tokens_read::ReadContext {
            store: self.store(),
            env: self.env(),
            tenant: &t.tenant,
            keys: &t.keys,
            issuer: &t.endpoints.issuer,
            kek: &self.ops.kek,
        }
    }

    pub fn new(
        ops: Ops,
        sms: Option<Arc<dyn crate::outbound::sms::SmsSender>>,
        verifier: Option<Arc<dyn idp_core::realname::Verifier>>,
    ) -> Self {
        let l = &ops.config.limits;
        // The credential limits are shared by every node of a PostgreSQL deployment (a sign-in
        // costs an Argon2id computation; one more write is nothing next to it). SQLite serves
        // one node, whose memory is the cheaper place to count. The token endpoint's limits
        // protect each node and stay in memory: counting every token request in the database
        // would cost more than the requests themselves.
        let credential = |name, n| {
            if ops.store.backend() == "postgres" { Limiter::shared(name, n) } else { Limiter::per_minute(n) }
        };
        let limits = Limiters {
            signin_ip: credential("signin_ip", l.signin_per_ip_per_minute),
            signin_account: credential("signin_account", l.signin_per_account_per_minute),
            token_ip: Limiter::per_minute(l.token_per_ip_per_minute),
            token_client: Limiter::per_minute(l.token_per_client_per_minute),
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hasher =
            Arc::new(idp_core::password::Hasher::new(ops.config.argon2).with_config(ops.config.passwords));
        let passkeys = match idp_core::passkey::RelyingParty::new(&ops.config.public_url(), "统一身份认证")
        {
            Ok(rp) => Some(rp),
            Err(why) => {
                tracing::info!(reason = %why, "passkeys and security keys are off");
                None
            }
        };
        Self {
            ops,
            argon2_permits: tokio::sync::Semaphore::new(cores),
            hasher,
            dummy_hash: std::sync::OnceLock::new(),
            tenants: RwLock::new(HashMap::new()),
            tenants_generation: std::sync::atomic::AtomicU64::new(0),
            limits,
            sms,
            passkeys,
            verifier,
            email: None,
            draining: Default::default(),
            node: idp_core::crypto::random_token(&idp_core::SystemEnv, 12),
            metrics: Default::default(),
            logout_wake: Arc::default(),
            anchored_at: std::sync::Mutex::new(0),
            anchored: Default::default(),
            upstream_http: Default::default(),
            netid: Default::default(),
            licence: Default::default(),
            directories: Default::default(),
            directory_runs: Default::default(),
            directory_running: Default::default(),
            upstream_providers: Default::default(),
        }
    }

    /// An upstream's metadata for the redirect to it: from the last minute's discovery, or
    /// discovered now.
    pub async fn upstream_provider(
        &self,
        http: &reqwest::Client,
        policy: &crate::outbound::Policy,
        issuer: &str,
    ) -> Result<crate::outbound::upstream::Provider, String> {
        let now = self.env().now();
        if let Ok(map) = self.upstream_providers.lock()
            && let Some((at, p)) = map.get(issuer)
            && now - at < 60
        {
            return Ok(p.clone());
        }
        let p = crate::outbound::upstream::discover(http, policy, issuer).await?;
        if let Ok(mut map) = self.upstream_providers.lock() {
            map.retain(|_, (at, _)| now - *at < 60);
            map.insert(issuer.to_string(), (now, p.clone()));
        }
        Ok(p)
    }

    /// The outbound rules and the client that reaches upstream identity providers
    /// (`crate::outbound::upstream`); `None` when the rules cannot be read (checked at start).
    pub fn upstream_http(&self) -> Option<(&crate::outbound::Policy, &reqwest::Client)> {
        self.upstream_http
            .get_or_init(|| {
                let policy = crate::outbound::Policy::new(&self.config().outbound).ok()?;
                let client = policy.client(crate::outbound::upstream::TIMEOUT).build().ok()?;
                Some((policy, client))
            })
            .as_ref()
            .map(|(p, c)| (p, c))
    }

    /// The national network identity service's connector (`[netid]`), if one is configured.
    pub fn netid(&self) -> Option<&dyn crate::outbound::netid::Connector> {
        self.netid.get_or_init(|| crate::outbound::netid::connector(self.config())).as_deref()
    }

    /// The staff directories (`[directory] config_dir`; checked at start, so read here again
    /// without fail).
    pub fn directories(&self) -> &[crate::outbound::ldap::Directory] {
        self.directories
            .get_or_init(|| crate::outbound::ldap::Directory::configured(self.config()).unwrap_or_default())
    }

    /// Syncs each staff directory whose interval has passed, on one node (the lease of its job
    /// lasts the interval), in the background.
    async fn sync_directories_on_schedule(self: &Arc<Self>, now: i64) {
        for d in self.directories().iter().filter(|d| d.interval_minutes > 0) {
            let every = d.interval_minutes * 60;
            let due = self
                .directory_runs
                .lock()
                .is_ok_and(|runs| runs.get(&d.name).is_none_or(|at| now - at >= every));
            if !due {
                continue;
            }
            // held a minute longer than the interval: this node renews it at its next run,
            // another takes it only once this one stopped
            let lease = now + every + 60;
            match self.store().claim_job(&format!("directory:{}", d.name), &self.node, now, lease).await {
                Ok(true) => {
                    if let Ok(mut runs) = self.directory_runs.lock() {
                        runs.insert(d.name.clone(), now);
                    }
                    let (state, d) = (self.clone(), d.clone());
                    tokio::spawn(async move {
                        // one run at a time on this node: a slow run is not overtaken
                        let Ok(_running) = state.directory_running.try_lock() else { return };
                        match state.ops.sync_directory(&d, false).await {
                            Ok(r) if r.conflicts.is_empty() && r.errors.is_empty() => {
                                tracing::info!(directory = %d.name, changes = r.changes.len(), "directory synced")
                            }
                            Ok(r) => {
                                tracing::warn!(directory = %d.name, conflicts = ?r.conflicts, errors = ?r.errors, "directory partly synced")
                            }
                            Err(e) => tracing::warn!(directory = %d.name, error = %e, "directory not synced"),
                        }
                    });
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim a directory's sync"),
            }
        }
    }

    /// The electronic business licence system's connector (`[licence]`), if one is configured.
    pub fn licence(&self) -> Option<&dyn crate::outbound::licence::Connector> {
        self.licence.get_or_init(|| crate::outbound::licence::connector(self.config())).as_deref()
    }

    /// A hash of a random password with the configured parameters: verifying against it costs
    /// what a real verification costs, for unknown accounts.
    pub fn dummy_hash(&self) -> String {
        self.dummy_hash
            .get_or_init(|| {
                let pw = idp_core::crypto::random_token(self.env(), 16);
                self.hasher.hash(self.env(), &pw).unwrap_or_default()
            })
            .clone()
    }

    pub fn store(&self) -> &dyn Store {
        self.ops.store.as_ref()
    }
    pub fn env(&self) -> &dyn Env {
        self.ops.env.as_ref()
    }
    pub fn config(&self) -> &Config {
        &self.ops.config
    }

    /// The identity verification provider for a tenant: the simulator in a sandbox tenant,
    /// else the deployment's.
    pub fn verifier_for(&self, t: &TenantCtx) -> Option<Arc<dyn idp_core::realname::Verifier>> {
        if t.tenant.settings.sandbox {
            return Some(Arc::new(idp_core::realname::Simulator));
        }
        self.verifier.clone()
    }

    /// The session and lockout rules of a (loaded) tenant: its own where set, else the
    /// deployment's: (idle, absolute, lockout threshold, lockout seconds).
    pub fn rules(&self, tenant_id: &str) -> (i64, i64, i64, i64) {
        let c = self.config();
        let policy = self.tenants.read().ok().and_then(|m| {
            m.values().find(|t| t.tenant.id == tenant_id).map(|t| t.tenant.settings.policy.clone())
        });
        let p = policy.unwrap_or_default();
        (
            p.session_idle_seconds.unwrap_or(c.sessions.idle_seconds),
            p.session_absolute_seconds.unwrap_or(c.sessions.absolute_seconds),
            p.lockout_threshold.unwrap_or(c.limits.lockout_threshold),
            p.lockout_seconds.unwrap_or(c.limits.lockout_seconds),
        )
    }

    /// The tenants this node has loaded: (slug, id).
    pub fn loaded_tenants(&self) -> Vec<(String, String)> {
        self.tenants
            .read()
            .map(|m| m.values().map(|t| (t.tenant.slug.clone(), t.tenant.id.clone())).collect())
            .unwrap_or_default()
    }

    /// The tenant by id (background tasks know tenants by id): the cached one, else found by
    /// slug.
    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<Arc<TenantCtx>>, OAuthError> {
        let cached = self
            .tenants
            .read()
            .ok()
            .and_then(|m| m.values().find(|t| t.tenant.id == id).map(|t| t.tenant.slug.clone()));
        let slug = match cached {
            Some(slug) => slug,
            None => match self.store().list_tenants().await?.into_iter().find(|t| t.id == id) {
                Some(t) => t.slug,
                None => return Ok(None),
            },
        };
        self.tenant(&slug).await
    }

    /// The cryptography suite of the tenant with this id (from the cache in the normal case).
    pub async fn suite_of(&self, tenant_id: &str) -> Result<Suite, OAuthError> {
        let t = self.tenant_by_id(tenant_id).await?;
        t.map(|t| t.keys.suite.clone()).ok_or_else(|| OAuthError::server_error("the tenant is gone"))
    }

    /// The tenant by slug, from the cache or loaded (keys opened with the KEK) on first use.
    /// `Ok(None)` for an unknown or disabled tenant.
    pub async fn tenant(&self, slug: &str) -> Result<Option<Arc<TenantCtx>>, OAuthError> {
        let now = self.env().now();
        if let Ok(map) = self.tenants.read()
            && let Some(t) = map.get(slug)
            // the key schedule moves on by the clock alone: reload when it does
            && t.keys.next_change_at.is_none_or(|at| now < at)
        {
            return Ok(Some(t.clone()));
        }
        if !crate::ops::valid_slug(slug) {
            return Ok(None);
        }
        let generation = self.tenants_generation.load(std::sync::atomic::Ordering::SeqCst);
        let Some(tenant) = self.store().tenant_by_slug(slug).await? else {
            return Ok(None);
        };
        if tenant.disabled {
            return Ok(None);
        }
        let records = self.store().signing_keys(&tenant.id).await?;
        let keys = KeySet::load(
            &records,
            self.ops.module.as_ref(),
            &self.ops.kek,
            &Suite::of(&tenant.settings.crypto),
            &tenant.id,
            now,
        )
        .map_err(|e| OAuthError::server_error(format!("tenant {slug} keys: {e}")))?;
        let endpoints = Endpoints::new(self.config().issuer(slug));
        let discovery_json = metadata(&endpoints, &keys.suite).to_string();
        let jwks_json =
            serde_json::to_string(&keys.jwks()).map_err(|e| OAuthError::server_error(e.to_string()))?;
        let upstreams = self.store().upstreams(&tenant.id).await?;
        let look = Arc::new(look::Look::of(&tenant));
        let tz = clock::time_zone(tenant.settings.policy.time_zone.as_deref())
            .or_else(|| clock::time_zone(None))
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let ctx =
            Arc::new(TenantCtx { tenant, keys, endpoints, discovery_json, jwks_json, look, tz, upstreams });
        if let Ok(mut map) = self.tenants.write()
            && self.tenants_generation.load(std::sync::atomic::Ordering::SeqCst) == generation
        {
            map.insert(slug.to_string(), ctx.clone());
        }
        Ok(Some(ctx))
    }

    /// Periodic housekeeping: purge expired rows and forget idle rate-limit keys every minute;
    /// every second, drop the cached tenants when any node changed them (key rotation).
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TENANT_POLL);
            let mut seen = None;
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { break };
                let Ok(version) = state.store().change_version(TENANTS_CHANGED).await else { continue };
                // the first reading clears too: the cache may have been filled before it, with
                // keys a rotation in between has already replaced
                if seen != Some(version) {
                    if seen.is_some() {
                        tracing::info!(version, "tenants changed: reloading keys and documents");
                    }
                    if let Ok(mut map) = state.tenants.write() {
                        map.clear();
                        state.tenants_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                seen = Some(version);
            }
        });
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { break };
                // one node does the minute's housekeeping: whoever holds its lease
                let now = state.env().now();
                match state.store().claim_job("housekeeping", &state.node, now, now + 90).await {
                    Ok(true) => {
                        match state.store().purge_expired(now).await {
                            Ok(0) => {}
                            Ok(n) => tracing::debug!(rows = n, "purged expired records"),
                            Err(e) => tracing::warn!(error = %e, "could not purge expired records"),
                        }
                        if let Err(e) = state.ops.rotate_keys_on_schedule().await {
                            tracing::warn!(error = %e, "could not schedule key rotations");
                        }
                        // a tenant's data re-sealed under its profile's algorithm, a bounded
                        // step a minute (ops::crypto)
                        match state.ops.reseal_on_schedule(2_000).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(values = n, "re-sealed under the tenants' profiles"),
                            Err(e) => tracing::warn!(error = %e, "could not re-seal"),
                        }
                        let every = state.config().audit.anchor_every_seconds as i64;
                        let due = state.anchored_at.lock().map(|mut at| {
                            let due = every > 0 && now - *at >= every;
                            if due {
                                *at = now;
                            }
                            due
                        });
                        if due.unwrap_or(false) {
                            let mut heads = state.anchored.lock().map(|h| h.clone()).unwrap_or_default();
                            match state.ops.write_audit_anchors(&mut heads).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(chains = n, "audit chains checkpointed"),
                                Err(e) => tracing::warn!(error = %e, "could not checkpoint the audit chains"),
                            }
                            if let Ok(mut h) = state.anchored.lock() {
                                *h = heads;
                            }
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not claim the housekeeping lease"),
                }
                state.sync_directories_on_schedule(now).await;
                for l in [
                    &state.limits.signin_ip,
                    &state.limits.signin_account,
                    &state.limits.token_ip,
                    &state.limits.token_client,
                ] {
                    l.forget_idle();
                }
            }
        });
    }
}
