//! Upstream identity providers of a tenant (identity brokering) and the accounts linked to
//! them (`crate::upstream`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How this provider authenticates to an upstream's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamAuth {
    /// HTTP Basic with the client secret the upstream issued (sealed here).
    #[default]
    ClientSecretBasic,
    /// A JWT signed with the tenant's own signing key (RFC 7523); the upstream reads the
    /// tenant's JWKS.
    PrivateKeyJwt,
}

impl UpstreamAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            _ => None,
        }
    }
}

/// One rule of the operator's mapping from what an upstream asserts to a real-name level:
/// every condition given must hold; the level is that of the highest matching rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelRule {
    /// The ID token's `acr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// `verified_claims.verification.trust_framework` (OpenID Connect for Identity Assurance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_framework: Option<String>,
    /// `verified_claims.verification.assurance_level`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<String>,
    /// 1-4 (docs/domain.md).
    pub level: i64,
}

/// Where in a `verified_claims` element the identity is (JSON pointers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityClaims {
    pub name: String,
    pub id_number: String,
    /// The ID type's pointer; none: every number is of `default_id_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    pub default_id_type: String,
    /// The upstream's reference of its check, kept as evidence.
    pub txn: String,
    /// When the upstream verified (RFC 3339).
    pub time: String,
}

impl Default for IdentityClaims {
    fn default() -> Self {
        Self {
            name: "/claims/name".into(),
            id_number: "/claims/id_number".into(),
            id_type: None,
            default_id_type: "resident_id".into(),
            txn: "/verification/evidence/0/check_details/0/txn".into(),
            time: "/verification/time".into(),
        }
    }
}

/// What an upstream is asked for and how its answers count; JSON in the store, so adding a
/// setting needs no migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamSettings {
    /// The button's words on the sign-in page.
    pub name_zh: String,
    pub name_en: String,
    /// Offered only through `idp_hint` or a client that requires it, not as a button.
    pub hidden: bool,
    pub scopes: Vec<String>,
    /// Sent as `acr_values`.
    pub acr_values: Vec<String>,
    /// The ID token's `acr` must be one of these (none: any).
    pub acr_required: Vec<String>,
    /// The session's level for an upstream `acr` (`aal1` or `aal2`); unmapped: `aal1`.
    pub acr_map: BTreeMap<String, String>,
    /// The real-name levels an upstream's assertions reach (none: nothing verified counts).
    pub levels: Vec<LevelRule>,
    pub identity: IdentityClaims,
    /// Ask for `verified_claims` in the ID token (the `claims` parameter, OIDC4IDA).
    pub request_verified_claims: bool,
    /// A first sign-in links to the account bound to the same verified ID number (off unless
    /// the operator turns it on: it trusts the upstream's verification as much as this
    /// provider's own).
    pub link_by_id_number: bool,
    /// A first sign-in with no account to link creates one (just in time).
    pub create_accounts: bool,
    /// The ID token signature algorithms accepted (asymmetric only).
    pub id_token_algs: Vec<String>,
    /// A logout here of a session that began through the upstream goes on to the upstream's
    /// `end_session_endpoint` (RP-Initiated Logout 1.0), where it has one.
    pub logout_at_upstream: bool,
    /// A SAML 2.0 identity provider rather than an OpenID provider (this provider its
    /// service provider): `issuer` is then its entity ID, `client_id` unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlUpstream>,
    /// The national network identity service (`crate::netid`) through the configured connector
    /// rather than an OpenID provider: `issuer` is then `netid`, `client_id` unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netid: Option<NetidUpstream>,
    /// The electronic business licence system (`crate::licence`) through the configured
    /// connector: `issuer` is then `licence`, `client_id` unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<LicenceUpstream>,
}

impl UpstreamSettings {
    /// How the upstream is reached: `oidc`, `saml`, `netid` or `licence`.
    pub fn protocol(&self) -> &'static str {
        if self.saml.is_some() {
            "saml"
        } else if self.netid.is_some() {
            "netid"
        } else if self.licence.is_some() {
            "licence"
        } else {
            "oidc"
        }
    }

    /// Reached through a configured connector and its app (no issuer, client or secret).
    pub fn through_connector(&self) -> bool {
        self.netid.is_some() || self.licence.is_some()
    }
}

/// What sign-ins with the electronic business licence may grant (`crate::licence`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LicenceUpstream {
    /// The licence roles whose sign-ins count (`crate::licence::ROLES`); a sign-in in another
    /// is refused.
    pub roles: Vec<String>,
    /// An enterprise not yet in the organisation tree is added from the licence (its credit
    /// code and registered name); otherwise its sign-ins are refused until the operator adds it.
    pub create_enterprises: bool,
}

impl Default for LicenceUpstream {
    fn default() -> Self {
        Self {
            roles: crate::licence::ROLES.iter().map(|(r, _)| r.to_string()).collect(),
            create_enterprises: false,
        }
    }
}

/// How the national network identity service is asked (`crate::netid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetidUpstream {
    /// The check asked for (`crate::netid::MODES`).
    pub mode: String,
    /// This provider is registered with the service for plaintext identity: the name and ID
    /// number are asked for when the client is registered for real-name data (its `realname`
    /// scope), the person consenting in the app.
    pub plaintext: bool,
}

impl Default for NetidUpstream {
    fn default() -> Self {
        Self { mode: "netcert_face".into(), plaintext: false }
    }
}

/// How a SAML 2.0 identity provider is reached and read (`crate::saml::sp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamlUpstream {
    /// Its `SingleSignOnService` for the HTTP-Redirect binding.
    pub sso_url: String,
    /// Its `SingleLogoutService` for the HTTP-Redirect binding, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_url: Option<String>,
    /// The certificates (base64 DER) its signatures verify with.
    pub signing_certificates: Vec<String>,
    /// The NameID format asked for: `persistent` (the default) or `unspecified`; never
    /// `transient`, which names nobody twice.
    pub name_id_format: String,
    /// Which of its attributes (by `Name`) carry `name`, `id_number`, `id_type`,
    /// `assurance_level` and `txn`: read as one `verified_claims` element with the trust
    /// framework `saml` (`crate::upstream::saml_verified_claims`).
    pub attributes: BTreeMap<String, String>,
    /// Its assertions must arrive encrypted (for the key this provider holds for it).
    pub require_encryption: bool,
    /// It may encrypt with AES-CBC (only for identity providers that can do nothing else).
    pub allow_cbc: bool,
    /// Sign the `AuthnRequest` (with the tenant's SAML key, on the query).
    pub sign_requests: bool,
}

impl Default for SamlUpstream {
    fn default() -> Self {
        Self {
            sso_url: String::new(),
            slo_url: None,
            signing_certificates: vec![],
            name_id_format: crate::saml::NAMEID_PERSISTENT.into(),
            attributes: BTreeMap::new(),
            require_encryption: false,
            allow_cbc: false,
            sign_requests: true,
        }
    }
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            name_zh: String::new(),
            name_en: String::new(),
            hidden: false,
            scopes: vec!["openid".into()],
            acr_values: vec![],
            acr_required: vec![],
            acr_map: BTreeMap::new(),
            levels: vec![],
            identity: IdentityClaims::default(),
            request_verified_claims: false,
            link_by_id_number: false,
            create_accounts: false,
            id_token_algs: ["RS256", "ES256", "PS256", "EdDSA"].map(String::from).to_vec(),
            logout_at_upstream: true,
            saml: None,
            netid: None,
            licence: None,
        }
    }
}

/// An upstream OpenID provider of a tenant.
#[derive(Clone, PartialEq, Eq)]
pub struct Upstream {
    pub tenant_id: String,
    /// A slug, unique in the tenant: its callback is `{issuer}/upstream/{id}/callback`.
    pub id: String,
    /// The upstream's issuer; its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub auth: UpstreamAuth,
    /// The client secret, sealed under the KEK (`ClientSecretBasic` only).
    pub secret_sealed: Option<Vec<u8>>,
    pub settings: UpstreamSettings,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A session here that began with a sign-in through an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSession {
    /// This provider's session.
    pub sid: String,
    pub tenant_id: String,
    pub upstream_id: String,
    /// The upstream's `sub`.
    pub subject: String,
    /// The session's account.
    pub account_id: String,
    /// The upstream's own session (its ID token's `sid`), for its back-channel logout.
    pub upstream_sid: Option<String>,
    pub created_at: i64,
}

/// An account linked to a subject of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLink {
    pub tenant_id: String,
    pub upstream_id: String,
    /// The upstream's `sub`.
    pub subject: String,
    pub account_id: String,
    /// How the link was made: `verified_id`, `proved_local`, `account_page` or `created`.
    pub via: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The `acr` of the last sign-in through it.
    pub last_acr: Option<String>,
}
