//! The console dashboard's figures: `/stats` (counts only, no personal data).

use serde::{Deserialize, Serialize};

use super::KeyInfo;

/// `GET /stats`: sign-ins and failures per hour over the last 24 hours, live sessions, the
/// signing keys' schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub now: i64,
    /// The last 24 hours, oldest first.
    pub hours: Vec<HourCounts>,
    pub live_sessions: i64,
    pub keys: Vec<KeyInfo>,
}

/// One hour's sign-ins and failed sign-ins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HourCounts {
    /// Its start, Unix time.
    pub hour: i64,
    pub sign_ins: i64,
    pub failures: i64,
}

/// `GET /me`: who the administrator is, for the console's header and navigation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub account_id: String,
    pub username: String,
    pub name: Option<String>,
    /// The tenant roles (`system_admin`, `security_admin`, `audit_admin`).
    pub roles: Vec<String>,
    /// Administers organisation subtrees by delegation (`org_admin` memberships).
    pub delegated: bool,
    /// The tenant's IANA time zone (its pages' local time).
    pub time_zone: String,
}
