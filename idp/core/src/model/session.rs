//! Browser sessions, authorization requests and the interactions that answer them, and the delivery of logout notices.

use serde::{Deserialize, Serialize};

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
    /// The upstream identity provider to sign in with (`idp_hint`, or Keycloak's
    /// `kc_idp_hint`): the sign-in page goes straight to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// One sign-in round trip of the engine (`crate::signin`). `browser_hash` binds it to the
/// browser that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: String,
    pub tenant_id: String,
    /// The front-end's request, kept for its answer; the engine reads
    /// [`FrontRequest::sign_in`].
    pub front: crate::signin::FrontRequest,
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
    /// A CAS single logout: the ticket the service validated (the `logoutRequest`'s
    /// `SessionIndex`), POSTed to `uri`, the service URL; `None`: an OpenID Connect logout token.
    pub session_index: Option<String>,
    /// A SAML logout (SOAP): the NameID (value, format) of the assertion `session_index` names.
    pub name_id: Option<(String, String)>,
}

/// A CAS proxy-granting ticket (CAS 3.0 §3.3): held by a service to obtain proxy tickets for
/// other services on the person's behalf while the session lasts. Stored by the SHA-256 of the
/// ticket; `id` is a public reference the proxy tickets it grants carry (to find the chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasPgt {
    pub id: String,
    pub pgt_hash: String,
    /// The sign-in behind it, as the service's ticket carried it.
    pub authz: crate::model::Authorization,
    /// The callback it was delivered to (the proxy, as the next service sees it).
    pub pgt_url: String,
    /// The proxies before this one, the most recent first.
    pub proxies: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An assertion issued to a SAML service provider in a browser session: what its single logout
/// names (SAML Profiles §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlParticipation {
    pub sid: String,
    pub client_id: String,
    pub session_index: String,
    pub tenant_id: String,
    pub account_id: String,
    pub name_id: String,
    pub name_id_format: String,
    pub created_at: i64,
}

/// A CAS service ticket validated in a browser session: the service is told its ticket when
/// the session ends (`cas::logout_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasTicketUse {
    pub sid: String,
    pub ticket: String,
    pub tenant_id: String,
    pub client_id: String,
    pub service: String,
    pub created_at: i64,
}
