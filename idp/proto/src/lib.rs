//! idp-proto: serde-only wire types shared by the idp's operator interfaces (CLI `--json`
//! output now, the admin API later) and the admin console. No logic, no dependencies beyond
//! serde.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub issuer: String,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A client to register (`POST /clients`, every field but `name` and `type` optional) or the
/// changes to one (`PATCH /clients/{id}`, every field optional; `type` cannot change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// `web`, `spa`, `service` or `kiosk`.
    #[serde(default, rename = "type")]
    pub client_type: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub purposes: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub organisation_id: Option<String>,
    /// `ask` or `statutory`.
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub min_acr: Option<String>,
    #[serde(default)]
    pub min_realname_level: Option<i64>,
    #[serde(default)]
    pub contexts: Option<Vec<String>>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub access_token_format: Option<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    pub access_token_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_token_ttl: Option<i64>,
    /// A kiosk's hall and place, shown on the phone that approves its sign-in.
    #[serde(default)]
    pub location: Option<String>,
    /// `""` removes it.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `""` removes it.
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// An administrators' client (the admin console): the only kind with the `admin` scope.
    /// Set by system administrators only.
    #[serde(default)]
    pub admin_client: Option<bool>,
    /// The resources (RFC 8707 URIs) the client may ask access tokens for.
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    /// The resource a service client is (it may introspect the tokens for it); `""` removes it.
    #[serde(default)]
    pub resource_uri: Option<String>,
    /// Seconds (0-60) in which a just-rotated refresh token may be presented again without
    /// revoking its family; `-1` returns to the tenant's default.
    #[serde(default)]
    pub refresh_reuse_seconds: Option<i64>,
}

/// A back-channel logout token on its way to a client (`GET /logout-deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
    pub locked_until: Option<i64>,
    pub roles: Vec<String>,
}

/// An organisation of a tenant's tree (admin API `/organisations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationInfo {
    pub id: String,
    /// `government`, `department` or `enterprise`.
    pub kind: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// Government bodies: `province`, `city`, `county` or `township`.
    pub level: Option<String>,
    pub region_code: Option<String>,
    pub uscc: Option<String>,
    /// A check character of the USCC disagrees: to be verified against the registry.
    pub uscc_flagged: bool,
    /// The materialised path `/root/…/id/`.
    pub path: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_name: Option<String>,
}

/// A new organisation (`POST /organisations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// `None`: a root of the tree.
    #[serde(default)]
    pub parent_id: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub uscc: Option<String>,
    /// An enterprise's registered legal representative (name and ID number; the number is kept
    /// only as a keyed hash and never answered).
    #[serde(default)]
    pub representative_name: Option<String>,
    #[serde(default)]
    pub representative_id: Option<String>,
}

/// A membership of an account in an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipInfo {
    pub id: String,
    pub organisation_id: String,
    pub account_id: String,
    /// `staff`, `legal_representative`, `enterprise_admin` or `agent`.
    pub kind: String,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<i64>,
}

/// A new staff membership (`POST /organisations/{id}/members`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMembership {
    /// The person's username or phone number.
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// An error answer of the admin API (RFC 9457 problem details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tenant's signing key and where it stands in its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    /// `ES256`, `RS256`, `PS256` or `EdDSA`.
    pub alg: String,
    /// `signs`, `published, signs later`, `verifies only`, `retired` or `revoked`.
    pub state: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Everything an administrator sees about an account (admin API `/accounts/{id}`). The ID
/// number only ever masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account: AccountInfo,
    pub realname: Option<RealNameInfo>,
    pub totp: bool,
    pub keys: Vec<FactorKeyInfo>,
    pub recovery_codes_left: i64,
    pub memberships: Vec<MembershipInfo>,
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealNameInfo {
    pub level: i64,
    pub name: String,
    pub id_type: String,
    pub id_number_masked: String,
    /// `self_asserted`, `provider`, `bank_card` or `counter`.
    pub method: String,
    pub verified_at: i64,
}

/// A passkey or security key of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorKeyInfo {
    pub id: String,
    pub name: String,
    /// `passkey` or `security_key`.
    pub kind: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Its signature counter went backwards once: possibly cloned, refused since.
    pub flagged: bool,
}

/// A live browser session of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub sid: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}
