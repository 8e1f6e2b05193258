//! The audit trail: `/audit` (records, JSON or CSV) and `/audit/verify` (the hash chains).

use serde::{Deserialize, Serialize};

/// `GET /audit`'s query: filters, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Only this kind of event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only records about this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Only records about this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Only records from this client IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Unix time, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Unix time, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Only records before this sequence number (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// At most this many (1-10000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `json` (the default) or `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A record of the audit trail with its place in its hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub chain: String,
    pub seq: i64,
    pub prev_hash: String,
    /// HMAC-SHA-256 linking the record to the one before.
    pub hash: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// The event's details as stored (JSON text).
    pub detail: String,
    pub at: i64,
}

/// Every chain's verification (`GET /audit/verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    pub chains: Vec<ChainReport>,
    /// Records from before chaining began.
    pub unchained: i64,
}

/// One chain's verification: no problems, intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    pub chain: String,
    pub records: i64,
    pub problems: Vec<ChainProblem>,
}

/// What is wrong with a chain (`problem` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The record's content does not match its hash: it was edited (or moved).
    Edited { seq: i64 },
    /// The record does not follow the one before it: records between were deleted or the
    /// order was changed.
    BrokenLink { seq: i64 },
    /// Sequence numbers jump: records were deleted.
    Missing { from: i64, to: i64 },
    /// The newest records are gone: the head says `head`, the last record is `last`.
    Truncated { head: i64, last: i64 },
    /// A signed checkpoint says the chain reached `anchored`; the chain now ends before it.
    Shortened { anchored: i64, head: i64 },
    /// The record a signed checkpoint names has another hash now (the chain was rebuilt).
    Rewritten { seq: i64 },
    /// A signed checkpoint names a chain the database no longer has.
    Deleted { anchored: i64 },
    /// A checkpoint line whose MAC does not verify (forged or damaged).
    Unverifiable { line: u64 },
}
