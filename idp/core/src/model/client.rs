//! Clients (relying parties and services): type, authentication, settings.

use serde::{Deserialize, Serialize};

use super::SigningAlg;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
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
    /// A CAS service (`cas.rs`): service tickets through `/cas/login`, no secret, no tokens.
    Cas,
    /// A SAML 2.0 service provider (`saml/`): assertions to its consumer service, no secret, no
    /// tokens.
    Saml,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Web => "web",
            ClientType::Spa => "spa",
            ClientType::Service => "service",
            ClientType::Kiosk => "kiosk",
            ClientType::Cas => "cas",
            ClientType::Saml => "saml",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(ClientType::Web),
            "spa" => Some(ClientType::Spa),
            "service" => Some(ClientType::Service),
            "kiosk" => Some(ClientType::Kiosk),
            "cas" => Some(ClientType::Cas),
            "saml" => Some(ClientType::Saml),
            _ => None,
        }
    }
    /// Has a secret (CAS services validate tickets without one, as the protocol has it).
    pub fn is_confidential(self) -> bool {
        !matches!(self, ClientType::Spa | ClientType::Cas | ClientType::Saml)
    }
    /// Signs people in through OpenID Connect (`/authorize` and the token endpoint's codes).
    pub fn is_oidc_relying_party(self) -> bool {
        matches!(self, ClientType::Web | ClientType::Spa)
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
    /// People sign in to this client only through this upstream identity provider (its id in
    /// the tenant): the sign-in goes straight to it, and a session that began otherwise signs
    /// in again through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
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
    /// A CAS service's registration (type `cas`).
    #[serde(default, skip_serializing_if = "crate::cas::CasSettings::is_empty")]
    pub cas: crate::cas::CasSettings,
    /// A SAML service provider's registration (type `saml`).
    #[serde(default, skip_serializing_if = "crate::saml::SamlSettings::is_empty")]
    pub saml: crate::saml::SamlSettings,
    /// A SCIM client's registration (a `service` with the `scim` scope): where its groups go,
    /// what its users' roles grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<crate::scim::Settings>,
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
            upstream: None,
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
            cas: Default::default(),
            saml: Default::default(),
            scim: None,
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
