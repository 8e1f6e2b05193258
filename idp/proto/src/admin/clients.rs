//! Clients (department applications): `/clients`, `/clients/{id}`, `/clients/{id}/{action}`,
//! `/clients/{id}/logout-deliveries`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientInfo {
    pub client_id: String,
    /// Present only in the answer that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_methods: Vec<String>,
    pub id_token_signed_response_alg: String,
    pub access_token_format: String,
    /// The least assurance level a sign-in for this client must reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_realname_level: Option<i64>,
    /// The upstream identity provider every sign-in for this client goes through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    pub disabled: bool,
    /// The organisation of the tree the client belongs to (its delegated administrators
    /// manage it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    /// Why the client receives each scope: the register of who may receive what, and why.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub purposes: std::collections::BTreeMap<String, String>,
    /// `ask` (the consent page asks) or `statutory` (it informs).
    #[serde(default)]
    pub consent: String,
    #[serde(default)]
    pub contexts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    #[serde(default)]
    pub access_token_ttl: i64,
    #[serde(default)]
    pub refresh_token_ttl: i64,
    /// Until when the previous secret is still accepted after a rotation with overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_until: Option<i64>,
    /// A kiosk's hall and place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The page the signed-out page loads in an iframe (Front-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    /// An administrators' client: the only kind with the `admin` scope.
    #[serde(default)]
    pub admin_client: bool,
    /// The resources (RFC 8707) it may ask access tokens for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The resource a service client is: it may introspect the tokens issued for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
    /// The refresh-token reuse interval, when the client sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
    /// A CAS service's registration (type `cas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas: Option<CasServiceInfo>,
    /// A SAML service provider's registration (type `saml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlSpInfo>,
}

/// A SAML service provider's registration, as read from its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SamlSpInfo {
    pub entity_id: String,
    /// Its HTTP-POST assertion consumer services.
    pub acs: Vec<String>,
    /// Its single logout services.
    #[serde(default)]
    pub slo: Vec<String>,
    /// The NameID format used when a request names none; and the formats it may ask for.
    pub name_id_format: String,
    pub name_id_formats: Vec<String>,
    /// Its requests must be signed (HTTP-Redirect binding).
    pub authn_requests_signed: bool,
    pub sign_response: bool,
    pub sign_assertion: bool,
    #[serde(default)]
    pub encrypt_assertions: bool,
    #[serde(default)]
    pub idp_initiated: bool,
    /// How many signing certificates its metadata gave.
    pub signing_certificates: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
}

/// A CAS service's registration: where its tickets may go, how long they live, and whether it
/// takes single logout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasServiceInfo {
    /// Exact service URLs, or origin-and-path prefixes ending in `/*` (no other wildcard).
    pub services: Vec<String>,
    /// Seconds a service ticket lives.
    pub ticket_ttl: i64,
    /// Whether the service is sent the CAS `logoutRequest` when a session it took part in ends.
    pub single_logout: bool,
    /// Where it may receive proxy-granting tickets (https); empty: it may not proxy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_callbacks: Vec<String>,
}

/// A client to register (`POST /clients`, every field but `name` and `type` optional) or the
/// changes to one (`PATCH /clients/{id}`, every field optional; `type` cannot change). A field
/// left out (or `null`) is left as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `web`, `spa`, `service`, `kiosk`, `cas` or `saml`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub client_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    /// `ask` or `statutory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_realname_level: Option<i64>,
    /// Sign-ins only through this upstream identity provider (its id; "" for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<i64>,
    /// A kiosk's hall and place, shown on the phone that approves its sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    /// An administrators' client (the admin console): the only kind with the `admin` scope.
    /// Set by system administrators only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_client: Option<bool>,
    /// The resources (RFC 8707 URIs) the client may ask access tokens for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    /// The resource a service client is (it may introspect the tokens for it); `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
    /// Seconds (0-60) in which a just-rotated refresh token may be presented again without
    /// revoking its family; `-1` returns to the tenant's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
    /// A CAS service's URLs: exact URLs, or prefixes ending in `/*` (type `cas` only; a CAS
    /// service has at least one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    /// Seconds a CAS service ticket lives (1-300; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_ttl: Option<i64>,
    /// Whether a CAS service is sent the `logoutRequest` when a session ends (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_logout: Option<bool>,
    /// Where a CAS service may receive proxy-granting tickets (https URLs or prefixes ending in
    /// `/*`); empty: it may not proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_callbacks: Option<Vec<String>>,
    /// A SAML service provider's metadata (an `EntityDescriptor`, XML): its entity ID,
    /// consumer and logout services, certificates and NameID formats (type `saml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_metadata: Option<String>,
    /// Where to fetch that metadata instead (through the outbound rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_metadata_url: Option<String>,
    /// `persistent`, `transient`, `email` or `unspecified`: the NameID used when a request
    /// names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    /// Require signed requests (beyond what the metadata says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authn_requests_signed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_response: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_assertion: Option<bool>,
    /// Encrypt assertions for the service provider's encryption certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_assertions: Option<bool>,
    /// The service provider takes IdP-initiated (unsolicited) sign-ins at `/saml/init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_initiated: Option<bool>,
}

/// A back-channel logout token on its way to a client (`GET /logout-deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoutDeliveryInfo {
    pub id: String,
    pub client_id: String,
    /// The ended session's `sid`.
    pub sid: String,
    pub uri: String,
    /// `pending`, `delivered` or `expired` (given up).
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<i64>,
    pub expires_at: i64,
}

/// `POST /clients/{id}/rotate-secret` (the body may be left out: no overlap).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// How long the old secret keeps working beside the new one (0 to 30 days).
    #[serde(default)]
    pub overlap_seconds: i64,
}
