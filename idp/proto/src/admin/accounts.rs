//! People's accounts: `/accounts?q=`, `/accounts/{id}`, `/accounts/{id}/{action}`.

use serde::{Deserialize, Serialize};

use super::MembershipInfo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Everything an administrator sees about an account (admin API `/accounts/{id}`). The ID
/// number only ever masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub sid: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}

/// `GET /accounts`'s query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AccountSearch {
    /// 2 to 64 characters of a username, name, phone (however typed) or ID number (exact,
    /// through its keyed hash).
    #[cfg_attr(feature = "openapi", param(required = true, min_length = 2, max_length = 64))]
    pub q: Option<String>,
}
