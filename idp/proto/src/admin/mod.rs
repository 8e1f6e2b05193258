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
mod upstreams;

pub use accounts::*;
pub use audit::*;
pub use clients::*;
pub use keys::*;
pub use org::*;
pub use stats::*;
pub use tenants::*;
pub use upstreams::*;

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// RFC 9457 §3.1's members, `type` by that name, `detail` left out when there is none.
    #[test]
    fn a_problem_is_rfc_9457_problem_details() {
        let p = Problem {
            problem_type: "about:blank".into(),
            title: "Not Found".into(),
            status: 404,
            detail: None,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, json!({"type": "about:blank", "title": "Not Found", "status": 404}));
        assert_eq!(serde_json::from_value::<Problem>(v).unwrap(), p);
    }

    /// A PATCH sends only what it changes; `null` and a left-out field read alike.
    #[test]
    fn a_client_request_sends_only_what_it_sets() {
        let r = ClientRequest { name: Some("x".into()), ..ClientRequest::default() };
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"name": "x"}));
        let read: ClientRequest = serde_json::from_value(json!({"name": "x", "scope": null})).unwrap();
        assert_eq!(read, r);
        assert!(serde_json::from_value::<ClientRequest>(json!({"nmae": "x"})).is_err());
    }

    /// The audit report names each problem in `problem`, as `idp_core::audit::Problem` does.
    #[test]
    fn chain_problems_are_tagged() {
        let v = serde_json::to_value(ChainProblem::BrokenLink { seq: 7 }).unwrap();
        assert_eq!(v, json!({"problem": "broken_link", "seq": 7}));
        let v = serde_json::to_value(ChainProblem::Missing { from: 2, to: 4 }).unwrap();
        assert_eq!(v, json!({"problem": "missing", "from": 2, "to": 4}));
    }

    /// The policy's six numbers are always there (`null`: the deployment's); the rest only when
    /// set, as the tenant's settings store them.
    #[test]
    fn a_tenant_policy_keeps_its_shape() {
        let v = serde_json::to_value(TenantPolicy { lockout_threshold: Some(5), ..TenantPolicy::default() })
            .unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        assert_eq!(v["lockout_threshold"], 5);
        assert!(v["session_idle_seconds"].is_null());
    }
}
