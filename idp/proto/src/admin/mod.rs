//! The admin API's request and response bodies (`/admin/v1/…`), one file per area, as the
//! handlers in `idp/server/src/admin/` serialize and read them and the admin console reads and
//! writes them. Paths in the item docs are under `/admin/v1/tenants/{tenant}`, except
//! `/tenants` itself.

use serde::{Deserialize, Serialize};

mod accounts;
mod audit;
mod clients;
mod keys;
mod org;
mod stats;
mod tenants;

pub use accounts::*;
pub use audit::*;
pub use clients::*;
pub use keys::*;
pub use org::*;
pub use stats::*;
pub use tenants::*;

/// The media type of a [`Problem`] (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every error answer of the admin API: RFC 9457 problem details, as
/// `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `about:blank`: the status says what went wrong (RFC 9457 §4.2.1).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The status's reason phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
