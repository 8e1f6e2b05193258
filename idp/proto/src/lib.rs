//! idp-proto: the wire types of the idp's operator interfaces — every request and response
//! body of the admin API ([`admin`], re-exported here) and the CLI's `--json` output — shared
//! by the provider (`idp-server`, which serializes them) and the admin console (which reads
//! and writes them), so the two cannot drift apart. No logic: serde, and nothing else by
//! default — but for [`csv_field`], the one rule both write their CSV exports by.
//!
//! With the `openapi` feature every admin type also derives `utoipa::ToSchema` (query strings:
//! `utoipa::IntoParams`), and `idp-server` builds the admin API's OpenAPI 3.1 document from
//! those schemas (`idp/server/src/admin/doc.rs`). The feature is off by default so that the
//! console and other readers of these types compile no schema code: only the server, which
//! serves the document, turns it on.

use serde::{Deserialize, Serialize};

pub mod admin;

pub use admin::*;

/// A tenant as the CLI's tenant commands print it with `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub issuer: String,
    pub disabled: bool,
    pub created_at: i64,
}

/// One CSV field (RFC 4180), defused for spreadsheets: a cell that would start a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'` (OWASP, "CSV
/// injection"); quoted when it holds a comma, a quote or a line break.
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}
