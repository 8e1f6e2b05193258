//! The records of the domain: tenants, signing keys, clients, accounts, browser sessions,
//! interactions, grants (consent records), authorization codes and tokens.
//!
//! Identifiers are random strings; times are Unix seconds. Secrets appear here only as
//! SHA-256 digests, Argon2id hashes or KEK-sealed bytes, and `Debug` never prints them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub disabled: bool,
    pub settings: TenantSettings,
}

/// A tenant's own settings (JSON in the database; members missing there take their defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TenantSettings {
    pub factors: OfferedFactors,
    /// A sandbox for integrators: the simulated verification provider whatever the deployment
    /// has, and synthetic people on request.
    #[serde(default)]
    pub sandbox: bool,
    /// The tenant's own session and lockout rules, where they differ from the deployment's.
    #[serde(default)]
    pub policy: TenantPolicy,
    /// Name, logo and colours on the tenant's pages.
    #[serde(default)]
    pub branding: crate::branding::Branding,
}

/// A tenant's own rules; `None` keeps the deployment's (configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TenantPolicy {
    pub session_idle_seconds: Option<i64>,
    pub session_absolute_seconds: Option<i64>,
    pub lockout_threshold: Option<i64>,
    pub lockout_seconds: Option<i64>,
    /// Stricter password rules than the baseline (8 characters, 3 of 4 classes), never weaker.
    pub password_min_length: Option<i64>,
    pub password_min_classes: Option<i64>,
    /// The tenant's own API scopes (for service clients), beside the standard ones and `api`:
    /// a client may be registered only with scopes the tenant defines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_scopes: Vec<String>,
    /// The tenant's default for `ClientSettings::refresh_reuse_seconds` (0-60; none: 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
    /// The IANA time zone in which the tenant's pages show times (docs/domain.md: default
    /// `Asia/Shanghai`, China Standard Time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

pub use crate::profile::{Address, Profile};

/// The longest refresh-token reuse interval a client or tenant may set.
pub const MAX_REFRESH_REUSE_SECONDS: i64 = 60;

/// The time zone of pages when a tenant sets none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

impl TenantPolicy {
    /// The password rules in force: the tenant's where stricter, else the baseline.
    pub fn password_rules(&self) -> crate::password::Rules {
        let base = crate::password::Rules::default();
        crate::password::Rules {
            min_length: self
                .password_min_length
                .map_or(base.min_length, |n| (n.max(0) as usize).max(base.min_length)),
            min_classes: self
                .password_min_classes
                .map_or(base.min_classes, |n| (n.max(0) as usize).clamp(base.min_classes, 4)),
        }
    }
}

/// Which sign-in methods and second factors a tenant offers. What is off cannot be set up or
/// used to sign in with; a second factor a person already has is still asked for, so turning
/// an offer off never makes anyone's sign-in weaker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OfferedFactors {
    /// Authenticator apps (TOTP).
    pub totp: bool,
    /// Passkeys: passwordless sign-in (button and autofill), and registration.
    pub passkeys: bool,
    /// Security keys as a second factor.
    pub security_keys: bool,
    /// Sign-in with a phone number and an SMS code.
    pub sms_signin: bool,
    /// A code to the account's verified phone in place of a lost second factor.
    pub sms_recovery: bool,
}

impl Default for OfferedFactors {
    fn default() -> Self {
        Self { totp: true, passkeys: true, security_keys: true, sms_signin: true, sms_recovery: false }
    }
}

impl OfferedFactors {
    /// The names the operator commands use, with whether each is on.
    pub fn named(&self) -> [(&'static str, bool); 5] {
        [
            ("totp", self.totp),
            ("passkeys", self.passkeys),
            ("security_keys", self.security_keys),
            ("sms_signin", self.sms_signin),
            ("sms_recovery", self.sms_recovery),
        ]
    }

    /// Exactly the named ones on; an unknown name is an error.
    pub fn only(names: &[String]) -> Result<OfferedFactors, String> {
        let mut f = OfferedFactors {
            totp: false,
            passkeys: false,
            security_keys: false,
            sms_signin: false,
            sms_recovery: false,
        };
        for n in names {
            match n.as_str() {
                "totp" => f.totp = true,
                "passkeys" => f.passkeys = true,
                "security_keys" => f.security_keys = true,
                "sms_signin" => f.sms_signin = true,
                "sms_recovery" => f.sms_recovery = true,
                other => return Err(format!("unknown factor {other:?}")),
            }
        }
        Ok(f)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    ES256,
    RS256,
    PS256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] =
        [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::PS256, SigningAlg::EdDSA];
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A tenant's signing key as stored: the private key sealed under the KEK.
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub tenant_id: String,
    pub alg: SigningAlg,
    pub sealed_private_key: Vec<u8>,
    pub created_at: i64,
    /// May sign (false once replaced by a manual rotation before key schedules existed).
    pub active: bool,
    /// Signs from this time (the newest activated key of its algorithm signs).
    pub activates_at: i64,
    /// Neither published nor accepted from this time: every token it signed has expired.
    pub retires_at: Option<i64>,
    /// Withdrawn in an emergency: neither published nor accepted, whatever it signed.
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// Confidential web application (authorization code, secret).
    Web,
    /// Public browser or mobile application (authorization code + PKCE, no secret).
    Spa,
    /// Confidential machine client (client credentials only).
    Service,
    /// A service-hall kiosk (RFC 8628 device authorization grant only, secret): short-lived
    /// tokens, never a refresh token, never a browser session.
    Kiosk,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Web => "web",
            ClientType::Spa => "spa",
            ClientType::Service => "service",
            ClientType::Kiosk => "kiosk",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(ClientType::Web),
            "spa" => Some(ClientType::Spa),
            "service" => Some(ClientType::Service),
            "kiosk" => Some(ClientType::Kiosk),
            _ => None,
        }
    }
    pub fn is_confidential(self) -> bool {
        !matches!(self, ClientType::Spa)
    }
    /// Web and SPA clients sign people in through redirects.
    pub fn needs_redirect_uri(self) -> bool {
        matches!(self, ClientType::Web | ClientType::Spa)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    Jwt,
    Opaque,
}

/// Per-client settings kept as one JSON document so adding a setting needs no migration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ClientSettings {
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Space-separated scopes the client may ask for.
    pub scope: String,
    /// Auth methods accepted at the token endpoint besides `none` for public clients.
    /// Empty means: both secret methods (confidential) and `private_key_jwt` when a JWKS is set.
    pub auth_methods: Vec<AuthMethod>,
    /// Public keys for private_key_jwt (a JWK Set).
    pub jwks: Option<serde_json::Value>,
    pub id_token_alg: SigningAlg,
    pub access_token_format: AccessTokenFormat,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// Issue refresh tokens even without `offline_access`.
    pub always_issue_refresh_token: bool,
    /// The receiving organisation shown on the consent page.
    pub organisation: Option<String>,
    /// The least assurance level (`aal1`..`aal3`) this client accepts for any sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_acr: Option<String>,
    /// The least real-name level (1-4, docs/domain.md) of the people this client serves; a person
    /// below it is offered the upgrade inside the sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_realname_level: Option<i64>,
    /// The acting contexts this client accepts (`self`, `staff`): a staff-only application
    /// accepts only `staff`. Default: `self`.
    #[serde(default = "self_only")]
    pub contexts: Vec<String>,
    /// Where a kiosk stands (hall and place), shown on the phone that approves its sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Processes personal data under a statutory duty (PIPL art. 13(3)), as an administrator
    /// marked it: the consent page informs instead of asking, and still lists every item.
    #[serde(default)]
    pub statutory: bool,
    /// The sector (OIDC Core §8.1) whose clients share a pairwise `sub`; `None`: the public
    /// `sub` (the account id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The organisation of the tree this client belongs to: its delegated administrators
    /// manage it (`admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    /// Why the client receives each scope (scope → purpose), shown on the consent page.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub purposes: std::collections::BTreeMap<String, String>,
    /// The secret replaced by a rotation with overlap, accepted until then: (SHA-256, until).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<(String, i64)>,
    /// Where logout tokens are POSTed when a session the client took part in ends
    /// (OpenID Connect Back-Channel Logout 1.0; `sid` is always sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The page the signed-out page loads in an iframe, with `iss` and `sid`
    /// (OpenID Connect Front-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    /// An administrators' client (the admin console): the only kind that may carry the `admin`
    /// scope and ask tokens for the admin API. Only system administrators and the operator's
    /// CLI mark a client so (`admin::check_client`).
    #[serde(default)]
    pub admin_client: bool,
    /// The resources (RFC 8707) this client may ask access tokens for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The resource this (service) client is: it may introspect the tokens issued for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
    /// Seconds (at most 60) in which the refresh token just rotated may be presented again by
    /// this client without revoking its family (relying parties that refresh from several
    /// workers at once); `None`: the tenant's default; 0: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
}

fn self_only() -> Vec<String> {
    vec!["self".into()]
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scope: "openid profile email phone offline_access".into(),
            auth_methods: vec![],
            jwks: None,
            id_token_alg: SigningAlg::ES256,
            access_token_format: AccessTokenFormat::Jwt,
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 30 * 24 * 3600,
            always_issue_refresh_token: false,
            organisation: None,
            min_acr: None,
            min_realname_level: None,
            contexts: self_only(),
            statutory: false,
            location: None,
            sector: None,
            organisation_id: None,
            purposes: Default::default(),
            previous_secret: None,
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
            admin_client: false,
            resources: vec![],
            resource_uri: None,
            refresh_reuse_seconds: None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    pub tenant_id: String,
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    /// SHA-256 (hex) of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub settings: ClientSettings,
    pub disabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("type", &self.client_type)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn allowed_auth_methods(&self) -> Vec<AuthMethod> {
        if !self.client_type.is_confidential() {
            return vec![AuthMethod::None];
        }
        if !self.settings.auth_methods.is_empty() {
            return self.settings.auth_methods.clone();
        }
        let mut m = vec![];
        if self.secret_hash.is_some() {
            m.push(AuthMethod::ClientSecretBasic);
            m.push(AuthMethod::ClientSecretPost);
        }
        if self.settings.jwks.is_some() {
            m.push(AuthMethod::PrivateKeyJwt);
        }
        m
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub name: Option<String>,
    /// In E.164 (`sms::normalise_phone`).
    pub phone: Option<String>,
    /// When an SMS code sent to `phone` last proved it.
    pub phone_verified_at: Option<i64>,
    pub email: Option<String>,
    /// When a code sent to `email` last proved it.
    pub email_verified_at: Option<i64>,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    /// Locked by an administrator until unlocked.
    pub disabled: bool,
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A browser SSO session. The cookie carries a random value; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    /// The public session id (`sid` claim); unrelated to the cookie value.
    pub sid: String,
    pub tenant_id: String,
    pub account_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    /// The level every request of this session needs, whatever the client asks: fixed at
    /// sign-in from the account's roles (`policy::required_by_roles`).
    pub min_acr: Option<String>,
    /// The acting context the person switched to on the account pages (`self` or a
    /// membership id): later authorizations take it without the chooser.
    pub act_context: Option<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}

/// The validated authorization request, kept while the person signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub claims_locales: Option<String>,
    pub acr_values: Option<String>,
    /// The acr values asked for through the `claims` parameter (`id_token` or `userinfo`
    /// member `acr`), space-separated; an essential one that cannot be met ends the request
    /// with `unmet_authentication_requirements`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_acr: Option<String>,
    /// What the `claims` parameter asked for beyond `acr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::claims_request::ClaimsRequest>,
    /// The resource (RFC 8707 `resource`) the access token will be for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// One login/consent round trip. `browser_hash` binds it to the browser that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: String,
    pub tenant_id: String,
    pub request: AuthRequest,
    pub browser_hash: String,
    /// Set once the person has signed in during this interaction (or had a valid session).
    pub session_sid: Option<String>,
    /// A sign-in waiting for its second factor.
    pub pending: Option<PendingSignIn>,
    /// The acting context chosen here: `self` or a membership id.
    pub act_context: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The first factor of a sign-in is done; the second is awaited before a session exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub account_id: String,
    pub amr: Vec<String>,
    pub auth_time: i64,
}

/// A consent record: what one account granted one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub tenant_id: String,
    pub account_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Grant {
    /// The granted scopes whose consent is still current (`scope::consent_current`): a scope
    /// that has since widened is asked for again.
    pub fn current_scopes(&self) -> impl Iterator<Item = &String> {
        self.scopes.iter().filter(|s| crate::scope::consent_current(s, self.updated_at))
    }

    /// Whether the grant covers `scope` as the consent page now describes it.
    pub fn covers(&self, scope: &str) -> bool {
        self.current_scopes().any(|s| s == scope)
    }
}

/// What a code or a token was issued for: who, to which client, with which sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Authorization {
    pub tenant_id: String,
    pub client_id: String,
    /// `None` for client credentials.
    pub account_id: Option<String>,
    pub scope: Vec<String>,
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub nonce: Option<String>,
    pub act_as: String,
    /// The membership the person acts through (`act_as` staff); it must still be live for the
    /// tokens to work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// What the `claims` parameter of the authorization request asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::claims_request::ClaimsRequest>,
    /// The resource (RFC 8707) the access token is for, its `aud`; `None`: the client itself
    /// (and UserInfo). The admin API is one (`admin::resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// A kiosk's pending sign-in (RFC 8628): the device code (as its SHA-256) the kiosk polls
/// with, the user code a person approves on the phone. On approval an authorization code is
/// stored under the same hash for the kiosk's poll to redeem, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    pub device_hash: String,
    pub tenant_id: String,
    pub client_id: String,
    /// Eight letters of `device::ALPHABET`, without the dash.
    pub user_code: String,
    pub scope: Vec<String>,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// Who approved or denied.
    pub account_id: Option<String>,
    /// Seconds the kiosk must wait between polls (raised by `slow_down`).
    pub interval: i64,
    pub last_poll_at: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: String,
    pub family_id: String,
    pub authz: Authorization,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    pub consumed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub authz: Authorization,
    pub created_at: i64,
    pub expires_at: i64,
    pub used: bool,
    pub revoked: bool,
}

/// A TOTP credential of an account (see `totp.rs`). Its `Debug` never shows the sealed seed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub account_id: String,
    pub tenant_id: String,
    /// The seed, sealed under the KEK with the account id as context.
    pub sealed_secret: Vec<u8>,
    /// False until the first correct code confirms the enrolment.
    pub confirmed: bool,
    /// The last accepted time step.
    pub last_step: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCredential")
            .field("account_id", &self.account_id)
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A live SMS code (see `sms.rs`); the code itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCode {
    pub tenant_id: String,
    pub phone: String,
    /// `signin` or `verify`.
    pub purpose: String,
    pub code_mac: String,
    pub attempts: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

/// What checking an SMS code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCheck {
    /// Right, and now used up.
    Accepted,
    /// Wrong; this many tries are left.
    Wrong(i64),
    /// No live code: never sent, expired, or out of tries.
    Gone,
}

/// A registered passkey or security key (see `passkey.rs`). Holds only public data: the
/// credential id, the public key and the sign counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredential {
    /// Our handle for it (in the account pages' URLs).
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// base64url of the WebAuthn credential id (unique in the tenant).
    pub cred_id: String,
    /// `passkey` or `security_key`.
    pub kind: String,
    /// The person's name for it ("phone", "blue key").
    pub name: String,
    /// The webauthn-rs credential as JSON: public key, counter, flags.
    pub credential: String,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// When a sign counter that did not grow showed it may have been cloned; it is refused
    /// from then on.
    pub flagged_at: Option<i64>,
}

/// The server-side state of a WebAuthn ceremony between its two requests, used once.
#[derive(Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// `{interaction or session}:{purpose}`: a new ceremony for the same page replaces the last.
    pub key: String,
    pub tenant_id: String,
    /// Whose ceremony it is, when known (registration, second factor).
    pub account_id: Option<String>,
    pub state: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("key", &self.key)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An account's bound identity (see `realname.rs`). The ID number is only sealed, hashed and
/// masked here; `Debug` shows neither name nor number.
#[derive(Clone, PartialEq, Eq)]
pub struct RealName {
    pub account_id: String,
    pub tenant_id: String,
    /// 1-4 (docs/domain.md).
    pub level: i64,
    pub name: String,
    /// `resident_id`, `hk_macau_permit`, `taiwan_permit` or `foreign_permanent_resident`.
    pub id_type: String,
    pub id_sealed: Vec<u8>,
    pub id_hash: String,
    /// e.g. `2201**********0013`.
    pub id_masked: String,
    /// `self_asserted`, `provider` or `counter`.
    pub method: String,
    /// The provider's name, or the clerk's account id.
    pub verifier: String,
    pub verified_at: i64,
    /// The provider's transaction id, or the counter's record.
    pub evidence: Option<String>,
}

impl std::fmt::Debug for RealName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealName")
            .field("account_id", &self.account_id)
            .field("level", &self.level)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// An audit event. `detail` never carries secrets or personal identifiers beyond ids.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub tenant_id: Option<String>,
    pub kind: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
    pub at: i64,
}

/// A logout token on its way to a client's back-channel logout URI (see `logout.rs`): queued
/// when a session the client took part in ends, sent by one node at a time under a lease, and
/// retried with a growing pause until delivered or too old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDelivery {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub sid: String,
    pub uri: String,
    /// `pending`, `delivered` or `expired` (given up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// The last failure: an HTTP status or what went wrong on the way (never a token).
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub expires_at: i64,
}
