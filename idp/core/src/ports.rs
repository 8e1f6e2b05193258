//! The storage port. Each method is one atomic unit: consuming a code, rotating a refresh token
//! or counting a failed sign-in cannot be won twice under concurrency, whatever the backend.

use async_trait::async_trait;

use crate::error::{OAuthError, StoreError};
use crate::model::{
    Account, AuditEvent, AuthCode, Ceremony, Client, ClientSettings, DeviceGrant, Grant, Interaction,
    LogoutDelivery, PendingSignIn, Profile, RealName, RefreshToken, Session, SigningAlg, SigningKeyRecord,
    SmsCheck, SmsCode, Tenant, TenantSettings, TotpCredential, Upstream, UpstreamLink, UpstreamSession,
    WebauthnCredential,
};
use crate::org::{Membership, Organisation};
use crate::scim::Record as ScimRecord;
use crate::token::TokenResponse;

/// Records written together when tokens are issued (access tokens themselves are
/// self-contained and write nothing; see `access_token.rs`).
#[derive(Debug, Clone, Default)]
pub struct Issue {
    /// The family the tokens belong to and the latest expiry of anything issued in it: the
    /// family row is kept that long, so that revoking it reaches every live token.
    pub family: Option<(String, i64)>,
    pub refresh_token: Option<RefreshToken>,
    /// Audit events committed with the tokens, in the same transaction.
    pub audit: Vec<AuditEvent>,
    /// A CAS ticket validated in a browser session, recorded for its single logout.
    pub cas_ticket: Option<crate::model::CasTicketUse>,
    /// Written only if this browser session is still live when the batch commits; otherwise
    /// the code is consumed, nothing else is written and the redemption answers
    /// [`Redeem::SessionEnded`] (a CAS ticket dies with the session it was issued in; a
    /// rotation answers `Rotate::Replayed`). Checked in the committing transaction, once for
    /// a whole batch, and on PostgreSQL the session row stays locked until it commits: a
    /// logout deletes the session after it, and then sees what it recorded
    /// (`Ops::end_sessions` looks at the session's parties again after the delete).
    pub live_session: Option<LiveSession>,
    /// A rotation that loses a race (another request rotated the same token first) leaves the
    /// family alive: the caller then answers the loser as a reuse within the client's reuse
    /// interval (`token::within_reuse`).
    pub spare_on_loss: bool,
}

/// A browser session that must still be live (`expires_at > at`) for an issue to be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSession {
    pub tenant_id: String,
    pub sid: String,
    pub at: i64,
}

/// The outcome of redeeming an authorization code.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // returned once per request and consumed at once
pub enum Redeem<T> {
    /// The code was consumed now by this caller, and `T` was written with it.
    Issued(AuthCode, T),
    /// The code had already been consumed: everything issued from it has now been revoked.
    Replayed,
    NotFound,
    /// The code is valid but the caller refused it (wrong client, PKCE, expiry...); it is
    /// consumed anyway, so it cannot be tried again.
    Refused(OAuthError),
    /// The code was consumed, but the session the issue required ([`Issue::live_session`])
    /// had ended: nothing else was written.
    SessionEnded,
}

/// The outcome of rotating a refresh token.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Rotate<T> {
    Rotated(RefreshToken, T),
    /// The token had been used or revoked before: its whole family is now revoked.
    Replayed,
    /// Refused by the caller; the token is NOT consumed (a client's mistake does not burn it).
    Refused(OAuthError),
}

/// Builds the records to write from the code or token as read. It runs before the conditional
/// write that consumes the code or token; its records are written, in the same transaction as
/// that write, only if this caller won it (a loser's output is thrown away).
pub type IssueFn<'a, R, T> = &'a (dyn Fn(&R) -> std::result::Result<(Issue, T), OAuthError> + Send + Sync);

pub type Result<T> = std::result::Result<T, StoreError>;

/// The organisation tree and memberships (`crate::org`), a part of [`Store`].
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// `Conflict` when the tenant has an organisation with the same USCC.
    async fn insert_organisation(&self, o: &Organisation) -> Result<()>;
    async fn organisation(&self, tenant_id: &str, id: &str) -> Result<Option<Organisation>>;
    /// The organisations whose path starts with `path` (`/` for all), in tree order.
    async fn organisations_under(&self, tenant_id: &str, path: &str) -> Result<Vec<Organisation>>;
    async fn insert_membership(&self, m: &Membership) -> Result<()>;
    async fn membership(&self, tenant_id: &str, id: &str) -> Result<Option<Membership>>;
    async fn organisation_by_uscc(&self, tenant_id: &str, uscc: &str) -> Result<Option<Organisation>>;
    /// The enterprise's registered legal representative changed (registry data); with
    /// `only_if_unset`, only where the register names nobody yet (`false` then: it names
    /// someone).
    async fn set_representative(
        &self,
        tenant_id: &str,
        organisation_id: &str,
        name: &str,
        id_hash: &str,
        only_if_unset: bool,
    ) -> Result<bool>;
    /// Everyone's memberships in one organisation, live and ended.
    async fn members_of(&self, tenant_id: &str, organisation_id: &str) -> Result<Vec<Membership>>;
    /// The agent confirms a mandate granted to them: false if it is not theirs, ended, or
    /// confirmed already.
    async fn confirm_membership(&self, tenant_id: &str, id: &str, account_id: &str, now: i64)
    -> Result<bool>;
    /// Ends every live enterprise role in the organisation (a new legal representative).
    async fn end_enterprise_roles(&self, tenant_id: &str, organisation_id: &str, now: i64) -> Result<u64>;
    /// The live memberships of the tenant that came from `source`.
    async fn memberships_from(&self, tenant_id: &str, source: &str) -> Result<Vec<Membership>>;
    /// What the syncs of staff directory `directory` made of its entries
    /// (`crate::directory`).
    async fn directory_records(
        &self,
        tenant_id: &str,
        directory: &str,
    ) -> Result<Vec<crate::directory::Record>>;
    /// Records (or updates) what a sync made of an entry.
    async fn put_directory_record(
        &self,
        tenant_id: &str,
        directory: &str,
        r: &crate::directory::Record,
    ) -> Result<()>;
    /// Forgets an entry gone from the directory.
    async fn forget_directory_record(&self, tenant_id: &str, directory: &str, uuid: &str) -> Result<()>;
    /// The directory (its name) and entry an account was provisioned from, if any.
    async fn directory_record_of(
        &self,
        tenant_id: &str,
        account_id: &str,
    ) -> Result<Option<(String, crate::directory::Record)>>;
    /// Ends every live membership of the tenant whose source starts with `prefix`
    /// (`crate::licence::source_prefix`: an upstream removed); how many.
    async fn end_memberships_from(&self, tenant_id: &str, prefix: &str, now: i64) -> Result<u64>;
    /// Records that what `key` names was revoked where it came from (a licence's revoked
    /// authorisation or cancelled licence, `crate::licence`), for good.
    async fn record_revocation(&self, tenant_id: &str, key: &str, at: i64) -> Result<()>;
    /// Whether any of `keys` was recorded revoked.
    async fn revoked(&self, tenant_id: &str, keys: &[String]) -> Result<bool>;
    /// The account's memberships, live and ended, oldest first.
    async fn memberships(&self, account_id: &str) -> Result<Vec<Membership>>;
    /// Ends a live membership now; `None` if there is none with that id in the tenant.
    async fn revoke_membership(&self, tenant_id: &str, id: &str, now: i64) -> Result<Option<Membership>>;
}

/// Upstream identity providers, their links and sessions (identity brokering,
/// `crate::upstream`), a part of [`Store`].
#[async_trait]
pub trait UpstreamStore: Send + Sync {
    /// The tenant's upstreams, by id.
    async fn upstreams(&self, tenant_id: &str) -> Result<Vec<Upstream>>;
    /// Adds an upstream; `false` when the tenant has one with its id.
    async fn insert_upstream(&self, u: &Upstream) -> Result<bool>;
    /// Replaces an upstream's issuer, client, secret, settings and state; `false` when there
    /// is none with its id.
    async fn update_upstream(&self, u: &Upstream) -> Result<bool>;
    /// Removes an upstream and every link to it, at once; `false` if there was none.
    async fn delete_upstream(&self, tenant_id: &str, id: &str) -> Result<bool>;
    /// The link of an upstream's subject.
    async fn upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
    ) -> Result<Option<UpstreamLink>>;
    /// An account's links.
    async fn upstream_links(&self, account_id: &str) -> Result<Vec<UpstreamLink>>;
    /// Links a subject to an account; `false` when the subject is linked already, or the
    /// account to another subject of that upstream.
    async fn insert_upstream_link(&self, l: &UpstreamLink) -> Result<bool>;
    /// Records a sign-in through a link.
    async fn touch_upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
        at: i64,
        acr: Option<&str>,
    ) -> Result<()>;
    /// Unlinks an account from an upstream; `false` if it was not linked.
    async fn delete_upstream_link(&self, account_id: &str, upstream_id: &str) -> Result<bool>;
    /// Records that a session began through an upstream (replacing an earlier record of it).
    async fn put_upstream_session(&self, s: &UpstreamSession) -> Result<()>;
    /// The upstream a session began through, if it did.
    async fn upstream_session(&self, sid: &str) -> Result<Option<UpstreamSession>>;
    /// The sessions that began through an upstream for its `subject`, or, with `upstream_sid`,
    /// for that session of the upstream (OpenID Connect Back-Channel Logout 1.0 §2.6).
    async fn upstream_sessions_of(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: Option<&str>,
        upstream_sid: Option<&str>,
    ) -> Result<Vec<UpstreamSession>>;
    /// Forgets where a session began (it was signed in again another way).
    async fn delete_upstream_session(&self, sid: &str) -> Result<()>;
}

/// What SCIM clients provisioned (`crate::scim::Record`) and the changes to accounts and
/// organisations only SCIM makes, a part of [`Store`].
#[async_trait]
pub trait ScimStore: Send + Sync {
    /// A client's resources of one kind, by id.
    async fn scim_records(&self, tenant_id: &str, client_id: &str, kind: &str) -> Result<Vec<ScimRecord>>;
    /// The record of an account (`User`) or department (`Group`), whichever client owns it.
    async fn scim_record(&self, tenant_id: &str, kind: &str, id: &str) -> Result<Option<ScimRecord>>;
    /// Adds a record; `false` when the resource has one (another client's, perhaps).
    async fn insert_scim_record(&self, r: &ScimRecord) -> Result<bool>;
    /// Replaces a record's data and times, setting `version` to `r.version`, only if it is
    /// still at `r.version - 1` and owned by `r.client_id`; `false` otherwise (a lost update).
    async fn update_scim_record(&self, r: &ScimRecord) -> Result<bool>;
    /// Forgets a record; `false` if there was none.
    async fn delete_scim_record(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool>;
    /// Sets an account's username, name and (unverified) email; a changed email loses its
    /// verification. `StoreError::Conflict` when the username is another account's.
    async fn update_account_details(
        &self,
        tenant_id: &str,
        id: &str,
        username: &str,
        name: Option<&str>,
        email: Option<&str>,
        now: i64,
    ) -> Result<bool>;
    /// Renames an organisation; `false` if there is none.
    async fn rename_organisation(&self, tenant_id: &str, id: &str, name: &str) -> Result<bool>;
}

/// The whole storage port: its parts ([`OrgStore`], [`UpstreamStore`], [`ScimStore`]) and the rest.
#[async_trait]
pub trait Store: OrgStore + UpstreamStore + ScimStore + Send + Sync + 'static {
    /// A short name of the backend for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Ping the database.
    async fn ping(&self) -> Result<()>;
    /// The connection pools, `read` and `write` (one and the same where the backend shares
    /// one): (name, open connections, idle ones, the most allowed).
    fn pool_usage(&self) -> Vec<(&'static str, u32, u32, u32)>;
    /// The newest migration applied to the database (0 before any).
    async fn schema_version(&self) -> Result<i64>;

    // tenants
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    async fn set_tenant_settings(&self, tenant_id: &str, settings: &TenantSettings) -> Result<()>;
    async fn set_tenant_disabled(&self, tenant_id: &str, disabled: bool) -> Result<()>;

    // signing keys
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>>;
    /// Stops every key of `alg` of the tenant but `keep_kid` from signing (they stay published
    /// and keep verifying what they signed).
    /// Schedules the retirement of the keys of `alg` that `keep_kid` replaces (activated no
    /// later than it, not yet scheduled).
    async fn retire_signing_keys(
        &self,
        tenant_id: &str,
        alg: SigningAlg,
        keep_kid: &str,
        retires_at: i64,
    ) -> Result<()>;
    /// Withdraws a key at once; false when there is no such unrevoked key.
    async fn revoke_signing_key(&self, tenant_id: &str, kid: &str, at: i64) -> Result<bool>;

    /// Records the acting context chosen in the interaction.
    async fn set_interaction_context(&self, id: &str, context: &str) -> Result<()>;
    /// Marks the interaction as waiting for a second factor (`None` clears it).
    async fn set_interaction_pending(&self, id: &str, pending: Option<&PendingSignIn>) -> Result<()>;
    /// Raises a live session after a step-up: its methods and level.
    /// Records the acting context a person switched to for the rest of this session.
    async fn set_session_context(&self, tenant_id: &str, sid: &str, context: Option<&str>) -> Result<()>;
    async fn upgrade_session(&self, tenant_id: &str, sid: &str, amr: &[String], acr: &str) -> Result<()>;

    // second factors
    /// Starts (or restarts) a TOTP enrolment; refused (false) while a confirmed credential
    /// exists: that one must be removed first.
    async fn begin_totp(&self, c: &TotpCredential) -> Result<bool>;
    /// Puts a confirmed credential in place of whatever the account had (an operator assigning
    /// a hardware token).
    async fn put_totp(&self, c: &TotpCredential) -> Result<()>;
    async fn totp(&self, account_id: &str) -> Result<Option<TotpCredential>>;
    /// Confirms a pending enrolment with the step of its first correct code (one caller only).
    async fn confirm_totp(&self, account_id: &str, step: i64) -> Result<bool>;
    /// Records `step` as used if it is later than the last one: false for a replayed code.
    async fn record_totp_step(&self, account_id: &str, step: i64) -> Result<bool>;
    /// Removes the TOTP credential (the recovery codes stay while another factor does).
    async fn delete_totp(&self, account_id: &str) -> Result<()>;
    /// Replaces the account's recovery codes (SHA-256 digests) in one transaction; none
    /// removes them.
    async fn replace_recovery_codes(&self, account_id: &str, hashes: &[String]) -> Result<()>;
    /// Uses the recovery code once: false if unknown or used before.
    async fn use_recovery_code(&self, account_id: &str, hash: &str, now: i64) -> Result<bool>;
    async fn recovery_codes_left(&self, account_id: &str) -> Result<i64>;

    /// Registers a passkey or security key: false if its credential id is already registered
    /// in the tenant (to this or another account).
    async fn add_webauthn_credential(&self, c: &WebauthnCredential) -> Result<bool>;
    /// The account's passkeys and security keys, oldest first.
    async fn webauthn_credentials(&self, account_id: &str) -> Result<Vec<WebauthnCredential>>;
    async fn webauthn_credential(&self, tenant_id: &str, cred_id: &str)
    -> Result<Option<WebauthnCredential>>;
    /// After a verified use: the last-use time, and the credential JSON when its counter or
    /// backup state changed.
    async fn use_webauthn_credential(&self, id: &str, now: i64, credential: Option<&str>) -> Result<()>;
    /// Marks a credential as possibly cloned (refused from then on).
    async fn flag_webauthn_credential(&self, id: &str, now: i64) -> Result<()>;
    /// Removes one of the account's credentials: false if it has none with that id.
    async fn delete_webauthn_credential(&self, account_id: &str, id: &str) -> Result<bool>;
    /// Stores a ceremony's state, replacing one under the same key.
    async fn put_ceremony(&self, c: &Ceremony) -> Result<()>;
    /// Takes a live ceremony (one caller only): it cannot be answered twice.
    async fn take_ceremony(&self, key: &str, now: i64) -> Result<Option<Ceremony>>;

    /// The account's bound identity.
    async fn real_name(&self, account_id: &str) -> Result<Option<RealName>>;
    /// Binds (or re-binds) the account's identity: false if another account of the tenant has
    /// this ID number.
    async fn put_real_name(&self, r: &RealName) -> Result<bool>;
    /// Who has this ID number (by its keyed hash) in the tenant.
    async fn real_name_by_hash(&self, tenant_id: &str, id_hash: &str) -> Result<Option<RealName>>;

    /// Stores a new SMS code for the phone and purpose, replacing the previous one.
    /// A kiosk's new device grant; `false` when its user code is live in the tenant already.
    async fn insert_device_grant(&self, g: &DeviceGrant) -> Result<bool>;
    async fn device_grant(&self, device_hash: &str) -> Result<Option<DeviceGrant>>;
    async fn device_grant_by_user_code(
        &self,
        tenant_id: &str,
        user_code: &str,
    ) -> Result<Option<DeviceGrant>>;
    /// Records a person's decision (`approved`, `denied`) on a pending, unexpired grant;
    /// `false` when it was not pending any more.
    async fn decide_device_grant(
        &self,
        device_hash: &str,
        status: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool>;
    /// Records a poll and the interval the kiosk must keep from now on.
    async fn poll_device_grant(&self, device_hash: &str, now: i64, interval: i64) -> Result<()>;

    async fn put_sms_code(&self, code: &SmsCode) -> Result<()>;
    /// Checks a code by its MAC: a right one is used up (one caller only); a wrong one costs a
    /// try, and after `max_attempts` tries or after expiry nothing matches any more.
    async fn take_sms_code(
        &self,
        tenant_id: &str,
        phone: &str,
        purpose: &str,
        code_mac: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<SmsCheck>;

    // shared state of the nodes
    /// Counts one hit on `key` in the fixed window starting at `window_start`; returns the
    /// window's hits so far, this one included (a new window starts again at 1).
    async fn count_hit(&self, key: &str, window_start: i64) -> Result<i64>;
    /// Takes (or renews) the lease of background job `name` for `holder` until `until`: true
    /// when `holder` has it now — nobody held it, the last lease ran out by `now`, or it was
    /// `holder`'s already. One holder at a time, across nodes.
    async fn claim_job(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool>;
    /// Bumps the change counter `name`; every node polls it with [`Store::change_version`].
    async fn bump_change(&self, name: &str) -> Result<()>;
    async fn change_version(&self, name: &str) -> Result<i64>;

    // clients
    async fn insert_client(&self, client: &Client) -> Result<()>;
    async fn client(&self, tenant_id: &str, client_id: &str) -> Result<Option<Client>>;
    async fn list_clients(&self, tenant_id: &str) -> Result<Vec<Client>>;
    /// The tenant's clients of one type (its CAS services, its SAML service providers), oldest
    /// first. Cached like [`Store::client`]: a change through this process is seen at once,
    /// one through another node within seconds.
    async fn clients_of_type(&self, tenant_id: &str, kind: crate::model::ClientType) -> Result<Vec<Client>>;
    async fn set_client_secret(&self, tenant_id: &str, client_id: &str, hash: &str) -> Result<()>;
    /// Disables (or enables) a client; disabling also revokes every token family it holds, so
    /// its refresh tokens are dead at once on every node and stay so after re-enabling.
    async fn set_client_disabled(&self, tenant_id: &str, client_id: &str, v: bool) -> Result<()>;
    /// Changes a client's name and settings (and, when given, its secret) in one write.
    async fn update_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        name: &str,
        settings: &ClientSettings,
        secret_hash: Option<&str>,
    ) -> Result<()>;
    /// Records a client-assertion `jti`; false if it was seen before (replay).
    async fn remember_assertion_jti(
        &self,
        tenant_id: &str,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool>;

    // accounts
    async fn insert_account(&self, account: &Account) -> Result<()>;
    async fn account(&self, tenant_id: &str, id: &str) -> Result<Option<Account>>;
    /// Many accounts in one transaction (seeding and imports).
    async fn bulk_insert_accounts(&self, accounts: &[Account]) -> Result<()>;
    /// Many clients in one transaction (seeding and imports).
    async fn bulk_insert_clients(&self, clients: &[Client]) -> Result<()>;
    /// By username or phone number (exactly as stored).
    async fn account_by_login(&self, tenant_id: &str, login: &str) -> Result<Option<Account>>;
    /// By username, or by a phone number as a person types it: normalised to E.164, the form
    /// phone numbers are stored in (`sms::normalise_phone`).
    async fn account_by_typed_login(&self, tenant_id: &str, login: &str) -> Result<Option<Account>> {
        if let Some(a) = self.account_by_login(tenant_id, login).await? {
            return Ok(Some(a));
        }
        match crate::sms::normalise_phone(login) {
            Some(phone) if phone != login => self.account_by_login(tenant_id, &phone).await,
            _ => Ok(None),
        }
    }
    async fn list_accounts(&self, tenant_id: &str) -> Result<Vec<Account>>;
    /// The accounts whose current email address is `email` (exactly as stored) and was
    /// verified, at most `limit` (an address is not unique: several accounts may have proven
    /// the same one).
    async fn accounts_by_verified_email(
        &self,
        tenant_id: &str,
        email: &str,
        limit: i64,
    ) -> Result<Vec<Account>>;
    /// Sets the account's phone number, proven now by an SMS code (`Conflict` if another
    /// account of the tenant has it).
    async fn set_account_phone(&self, tenant_id: &str, id: &str, phone: &str, verified_at: i64)
    -> Result<()>;
    /// Sets the account's email address, proven now by a code sent to it.
    async fn set_account_email(&self, tenant_id: &str, id: &str, email: &str, verified_at: i64)
    -> Result<()>;
    async fn set_password_hash(&self, tenant_id: &str, id: &str, hash: &str, now: i64) -> Result<()>;
    /// Deletes the account and everything that describes the person — credentials, factors,
    /// real name, memberships, grants, sessions — and revokes all its tokens, in one
    /// transaction; the audit trail keeps only the account's random id (`Store` never edits
    /// it). False when there was no such account.
    async fn delete_account(&self, tenant_id: &str, account_id: &str) -> Result<bool>;
    async fn set_account_disabled(&self, tenant_id: &str, id: &str, v: bool, now: i64) -> Result<()>;
    /// Atomically counts a failed password; when the count reaches `threshold` the account is
    /// locked until `lock_until` and the counter restarts. Returns whether it locked now.
    async fn record_login_failure(
        &self,
        tenant_id: &str,
        id: &str,
        threshold: i64,
        lock_until: i64,
    ) -> Result<bool>;
    async fn reset_login_failures(&self, tenant_id: &str, id: &str) -> Result<()>;

    // browser sessions
    async fn insert_session(&self, session: &Session) -> Result<()>;
    /// The same person signed in again: the live session with this `sid` takes the new cookie
    /// hash, methods, level and times in one write; false when there is no such session.
    async fn renew_session(&self, session: &Session) -> Result<bool>;
    /// The account's live sessions, newest first.
    async fn account_sessions(&self, tenant_id: &str, account_id: &str, now: i64) -> Result<Vec<Session>>;
    /// Whether the session `sid` of the tenant is live at `now` (one indexed read, however many
    /// sessions its account has).
    async fn session_live(&self, tenant_id: &str, sid: &str, now: i64) -> Result<bool>;
    /// Ends every session of the account; how many there were.
    async fn end_account_sessions(&self, tenant_id: &str, account_id: &str) -> Result<u64>;
    /// How many audit events of each of `kinds` there were per hour since `since`:
    /// (hour start, kind, count), by hour.
    async fn hourly_counts(
        &self,
        tenant_id: &str,
        kinds: &[&str],
        since: i64,
    ) -> Result<Vec<(i64, String, i64)>>;
    /// How many browser sessions of the tenant are live.
    async fn live_sessions(&self, tenant_id: &str, now: i64) -> Result<i64>;
    /// Accounts whose username, name or phone contains `query` (case-insensitive).
    async fn search_accounts(&self, tenant_id: &str, query: &str, limit: i64) -> Result<Vec<Account>>;
    async fn session(&self, tenant_id: &str, id_hash: &str) -> Result<Option<Session>>;
    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()>;
    async fn delete_session(&self, tenant_id: &str, sid: &str) -> Result<()>;

    // interactions
    async fn insert_interaction(&self, interaction: &Interaction) -> Result<()>;
    async fn interaction(&self, tenant_id: &str, id: &str) -> Result<Option<Interaction>>;
    async fn set_interaction_session(&self, id: &str, sid: &str) -> Result<()>;
    async fn delete_interaction(&self, id: &str) -> Result<()>;

    // grants (consent)
    async fn grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<Option<Grant>>;
    async fn upsert_grant(&self, grant: &Grant) -> Result<()>;
    /// The account's grants, most recently changed first.
    async fn account_grants(&self, tenant_id: &str, account_id: &str) -> Result<Vec<Grant>>;
    /// Withdraws the grant and, in the same transaction, revokes every token family of the
    /// account and client (refresh and access tokens, and codes not yet redeemed); false when
    /// there was no grant.
    async fn withdraw_grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<bool>;

    // codes and tokens
    async fn insert_code(&self, code: &AuthCode) -> Result<()>;
    /// Reads a code without consuming it (the token endpoint reads ahead only for codes whose
    /// ID token carries requested claims).
    async fn code(&self, code_hash: &str) -> Result<Option<AuthCode>>;
    /// Consumes the code (one caller only) and, in the same transaction, writes what `issue`
    /// returns. A second redemption revokes every token of the code's family. A code of
    /// another tenant or client (`tenant_id`, `client_id` are the presenter's) is `NotFound`:
    /// neither consumed nor revoking anything. Backends may commit many callers' redemptions
    /// in one transaction (group commit); each is answered only after it is durable.
    async fn redeem_code<'a>(
        &self,
        code_hash: &str,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>>;
    /// [`Store::redeem_code`] for a code the caller has just read with [`Store::code`] (to
    /// prepare what `issue` writes): one read fewer. The consumption is still the conditional
    /// update, so a stale read can only lose.
    async fn redeem_read_code<'a>(
        &self,
        code: AuthCode,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>>;
    /// Marks the refresh token (as the caller read it with [`Store::refresh_token`]) used, one
    /// caller only, and writes its successor in the same transaction. A used or revoked token
    /// presented again revokes its whole family. Group-committed like `redeem_code`.
    async fn rotate_refresh_token<'a>(
        &self,
        token: &RefreshToken,
        issue: IssueFn<'a, RefreshToken, TokenResponse>,
    ) -> Result<Rotate<TokenResponse>>;
    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>>;
    /// What the person told about themselves (`account_profiles`).
    async fn account_profile(&self, account_id: &str) -> Result<Option<Profile>>;
    /// Replaces it, and moves the account's `updated_at`.
    async fn set_account_profile(
        &self,
        tenant_id: &str,
        account_id: &str,
        profile: &Profile,
        now: i64,
    ) -> Result<()>;
    /// The refresh tokens of a family created at or after `after` (a rotation's successors,
    /// and whatever else came in that second).
    async fn family_refresh_after(&self, family_id: &str, after: i64) -> Result<Vec<RefreshToken>>;
    /// Writes what `issue` holds into the live family of `presented` (taking the family row's
    /// lock first, as rotation does) if, checked under that lock, exactly one token of the
    /// family was issued since `presented` and it is unused and unrevoked (a reuse within the
    /// interval, once); false, and nothing written, otherwise.
    async fn issue_in_family(&self, presented: &RefreshToken, issue: &Issue) -> Result<bool>;
    /// Puts an access token on the revocation list until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()>;
    /// Whether an access token was revoked, on its own or with its family, or its client is
    /// disabled: read from the database itself (no cache), so every node agrees at once.
    async fn access_token_revoked(
        &self,
        jti: &str,
        family_id: Option<&str>,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool>;
    /// Revokes a family for `reason` (see migration 0024; the first reason recorded stays).
    async fn revoke_family(&self, family_id: &str, reason: &str) -> Result<()>;
    /// Why the family was revoked, if it was and the reason is known.
    async fn family_revocation(&self, family_id: &str) -> Result<Option<String>>;

    /// Deletes what can no longer be used: expired interactions, sessions, client-assertion
    /// ids and tokens, and codes a while after expiry (kept that long to detect replays).
    /// Returns the number of rows removed.
    async fn purge_expired(&self, now: i64) -> Result<u64>;

    // logout everywhere (`logout.rs`)
    /// The clients that received a code in the session (recorded with each code).
    async fn session_clients(&self, tenant_id: &str, sid: &str) -> Result<Vec<String>>;
    async fn insert_logout_deliveries(&self, deliveries: &[LogoutDelivery]) -> Result<()>;
    async fn insert_cas_pgt(&self, pgt: &crate::model::CasPgt) -> Result<()>;
    /// A live or expired proxy-granting ticket by the SHA-256 of its value, or by its id.
    async fn cas_pgt(&self, pgt_hash: Option<&str>, id: Option<&str>)
    -> Result<Option<crate::model::CasPgt>>;
    /// Records an assertion issued to a SAML service provider: its audit events and, when
    /// given, that the provider takes part in the session under this NameID and SessionIndex
    /// (as a code does for an OpenID Connect client). One write, group-committed like codes.
    async fn record_saml_assertion(
        &self,
        audit: &[AuditEvent],
        participation: Option<&crate::model::SamlParticipation>,
    ) -> Result<()>;
    /// The assertions issued in the session, oldest first.
    async fn saml_participations(
        &self,
        tenant_id: &str,
        sid: &str,
    ) -> Result<Vec<crate::model::SamlParticipation>>;
    /// The assertions issued to `client_id` with `name_id` (a service provider's logout request).
    async fn saml_participations_of(
        &self,
        tenant_id: &str,
        client_id: &str,
        name_id: &str,
    ) -> Result<Vec<crate::model::SamlParticipation>>;
    /// The CAS tickets validated in the session, oldest first.
    async fn cas_session_tickets(
        &self,
        tenant_id: &str,
        sid: &str,
    ) -> Result<Vec<crate::model::CasTicketUse>>;
    /// Takes up to `limit` pending deliveries due by `now` that no node holds, each leased to
    /// this caller until `lease_until` (one caller only, across nodes).
    async fn claim_logout_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>>;
    /// Stores an attempt's outcome (status, attempts, next attempt, last error) and releases
    /// the lease.
    async fn finish_logout_delivery(&self, d: &LogoutDelivery) -> Result<()>;
    /// A tenant's deliveries, newest first, of one client or all.
    async fn logout_deliveries(
        &self,
        tenant_id: &str,
        client_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>>;

    // audit
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    async fn audit_events(&self, tenant_id: &str, limit: i64) -> Result<Vec<AuditEvent>>;
    /// Every chain's head: (chain, last sequence number, its hash).
    async fn audit_heads(&self) -> Result<Vec<(String, i64, String)>>;
    /// A chain's records after `after_seq`, in order, at most `limit`.
    async fn audit_chain(
        &self,
        chain: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<crate::audit::ChainedRecord>>;
    /// How many records carry no chain (written before chaining began).
    async fn audit_unchained(&self) -> Result<i64>;
    /// A tenant's records matching `filter`, newest first.
    async fn audit_search(
        &self,
        tenant_id: &str,
        filter: &crate::audit::Filter,
    ) -> Result<Vec<crate::audit::ChainedRecord>>;
    /// One account's events of `kind`, newest first.
    async fn account_events(
        &self,
        tenant_id: &str,
        account_id: &str,
        kind: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>>;

    // sealed values, for re-sealing a tenant's data under another cryptography profile
    /// A page of the tenant's sealed values in `column`: (row key, sealed bytes), row keys
    /// ascending and after `after`, at most `limit`.
    async fn sealed_values(
        &self,
        tenant_id: &str,
        column: SealedColumn,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>>;
    /// Replaces one sealed value if it still is `old` (a value changed meanwhile is left to the
    /// change); whether it was replaced.
    async fn replace_sealed(
        &self,
        tenant_id: &str,
        column: SealedColumn,
        key: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool>;
}

/// Where the provider keeps values sealed under the key-encryption key for good (opaque access
/// tokens are sealed too, but live a day at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// A signing key's private half (`signing_keys`, by kid).
    SigningKey,
    /// An authenticator's TOTP seed (`totp_credentials`, by account).
    TotpSeed,
    /// A real-name binding's ID number (`real_names`, by account).
    IdNumber,
    /// The client secret an upstream identity provider issued (`upstreams`, by id; no row
    /// for an upstream without one).
    UpstreamSecret,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 4] = [
        SealedColumn::SigningKey,
        SealedColumn::TotpSeed,
        SealedColumn::IdNumber,
        SealedColumn::UpstreamSecret,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SealedColumn::SigningKey => "signing_keys",
            SealedColumn::TotpSeed => "totp_seeds",
            SealedColumn::IdNumber => "id_numbers",
            SealedColumn::UpstreamSecret => "upstream_secrets",
        }
    }
}
