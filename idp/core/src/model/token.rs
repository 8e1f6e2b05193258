//! What codes and tokens were issued for: authorizations, device grants, codes, refresh tokens.

use serde::{Deserialize, Serialize};

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
    /// When the person's consent behind this authorization was last given or confirmed (the
    /// code's issue); `None` for tokens from before this was recorded, and for client
    /// credentials. A scope that widened since (`scope::WIDENED`) is no longer covered: a
    /// refresh leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consented_at: Option<i64>,
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
