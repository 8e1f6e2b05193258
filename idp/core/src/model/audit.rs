//! Audit events.

use serde::{Deserialize, Serialize};

/// An audit event. `detail` never carries secrets or personal identifiers beyond ids.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub tenant_id: Option<String>,
    pub kind: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
    pub at: i64,
}
