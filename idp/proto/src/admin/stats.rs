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
