//! The `claims` request parameter (OIDC Core §5.5) and the verified claims of OpenID Connect
//! for Identity Assurance 1.0 (OIDC4IA).
//!
//! What is acted on, and why no more:
//! - `acr` (either member) with `value`/`values`: the sign-in must reach it
//!   (`AuthRequest::claims_acr`).
//! - `id_token` individual claims: put into the ID token — but only claims of scopes the person
//!   granted. Consent here is per scope (docs/domain.md "Consent"), so a claim outside the granted
//!   scopes is not released, essential or not (OIDC Core §5.5.1 lets the OP omit it); a client
//!   asks for its scope to get it.
//! - `userinfo` individual claims: UserInfo already releases every claim of the granted scopes.
//! - `verified_claims` in either member: the bound identity with how it was verified
//!   (`claims::verified`), under the `realname` scope, for levels 2 and up, honouring the
//!   request's constraints on `trust_framework`, `assurance_level` and `time.max_age`.
//!
//! A malformed parameter is `invalid_request`, as is a `verified_claims` request without a
//! `verification` object or without requested `claims` (OIDC4IA §5.3.1).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a `claims` parameter asked for beyond the scopes; kept with the grant.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// Individual claims wanted in the ID token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
    /// `verified_claims` wanted in the ID token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_verified: Vec<VerifiedRequest>,
    /// `verified_claims` wanted from UserInfo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo_verified: Vec<VerifiedRequest>,
}

impl ClaimsRequest {
    /// Whether the ID token carries anything from this request (the token endpoint then reads
    /// the account for it).
    pub fn wants_id_token_claims(&self) -> bool {
        !self.id_token.is_empty() || !self.id_token_verified.is_empty()
    }
}

/// One `verified_claims` request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The claims wanted inside `verified_claims.claims`.
    pub claims: Vec<String>,
    /// The `verification` elements asked for besides `trust_framework` (always returned):
    /// `assurance_level`, `time`, `verification_process`, `evidence`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<String>,
    /// `trust_framework` must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_framework: Option<Vec<String>>,
    /// `assurance_level` must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<Vec<String>>,
    /// The verification must be at most this many seconds old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

/// The parsed parameter: the claims asked for (if any beyond `acr`) and the acr values.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub request: Option<ClaimsRequest>,
    /// Space-separated acr values asked for.
    pub acr: Option<String>,
}

const MAX_NAMES: usize = 50;
const MAX_NAME_LEN: usize = 64;
const VERIFICATION_ELEMENTS: [&str; 4] = ["assurance_level", "time", "verification_process", "evidence"];

/// Parses a `claims` parameter; the error is the `error_description` of `invalid_request`.
pub fn parse(json: &str) -> Result<Parsed, &'static str> {
    let v: Value = serde_json::from_str(json).map_err(|_| "The claims parameter is not valid JSON.")?;
    let top = v.as_object().ok_or("The claims parameter must be a JSON object.")?;
    let mut acr: Vec<String> = vec![];
    let mut request = ClaimsRequest::default();
    for member in ["id_token", "userinfo"] {
        let Some(m) = top.get(member) else { continue };
        if m.is_null() {
            continue;
        }
        let m = m.as_object().ok_or("The id_token and userinfo members of claims must be objects.")?;
        if m.len() > MAX_NAMES {
            return Err("The claims parameter asks for too many claims.");
        }
        for (name, spec) in m {
            if !(spec.is_null() || spec.is_object() || (name == "verified_claims" && spec.is_array())) {
                return Err("Each requested claim must be null or an object.");
            }
            match name.as_str() {
                "acr" => acr.extend(values(spec)),
                "verified_claims" => {
                    let list = match spec {
                        Value::Array(a) => a.iter().map(verified).collect::<Result<Vec<_>, _>>()?,
                        other => vec![verified(other)?],
                    };
                    if member == "id_token" {
                        request.id_token_verified.extend(list);
                    } else {
                        request.userinfo_verified.extend(list);
                    }
                }
                n if member == "id_token" && n.len() <= MAX_NAME_LEN => request.id_token.push(n.to_string()),
                _ => {}
            }
        }
    }
    acr.retain(|a| !a.is_empty() && a.len() <= 64 && !a.contains(' '));
    let asked = request != ClaimsRequest::default();
    Ok(Parsed { request: asked.then_some(request), acr: (!acr.is_empty()).then(|| acr.join(" ")) })
}

/// The `value` and `values` of a claim's request object.
fn values(spec: &Value) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    if let Some(one) = spec.get("value").and_then(Value::as_str) {
        out.push(one.to_string());
    }
    if let Some(many) = spec.get("values").and_then(Value::as_array) {
        out.extend(many.iter().filter_map(|x| x.as_str().map(str::to_string)));
    }
    out
}

fn verified(spec: &Value) -> Result<VerifiedRequest, &'static str> {
    const BAD: &str = "A verified_claims request needs a verification object and the claims it asks for.";
    let verification = spec.get("verification").and_then(Value::as_object).ok_or(BAD)?;
    let claims = spec.get("claims").and_then(Value::as_object).filter(|c| !c.is_empty()).ok_or(BAD)?;
    if claims.len() > MAX_NAMES || claims.values().any(|c| !(c.is_null() || c.is_object())) {
        return Err(BAD);
    }
    let constraint = |name: &str| {
        let v = verification.get(name).map(values).unwrap_or_default();
        (!v.is_empty()).then_some(v)
    };
    let max_age = verification.get("time").and_then(|t| t.get("max_age")).and_then(Value::as_i64);
    Ok(VerifiedRequest {
        claims: claims.keys().filter(|k| k.len() <= MAX_NAME_LEN).cloned().collect(),
        verification: VERIFICATION_ELEMENTS
            .iter()
            .filter(|e| verification.contains_key(**e))
            .map(|e| (*e).to_string())
            .collect(),
        trust_framework: constraint("trust_framework"),
        assurance_level: constraint("assurance_level"),
        max_age: max_age.filter(|m| *m >= 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_alone_is_no_claims_request() {
        let p = parse(r#"{"id_token":{"acr":{"essential":true,"values":["aal2","aal3"]}}}"#).unwrap();
        assert_eq!(p, Parsed { request: None, acr: Some("aal2 aal3".into()) });
        let p = parse(r#"{"userinfo":{"acr":{"value":"aal2"}},"id_token":null}"#).unwrap();
        assert_eq!(p.acr.as_deref(), Some("aal2"));
    }

    #[test]
    fn individual_and_verified_claims() {
        let p = parse(
            r#"{"id_token":{"name":null,"realname_level":{"essential":true},
                "verified_claims":{"verification":{"trust_framework":{"value":"cn_realname"},"time":{"max_age":3600},"evidence":null},
                                   "claims":{"name":null}}},
                "userinfo":{"email":null,"verified_claims":[{"verification":{"trust_framework":null,"assurance_level":{"values":["2","4"]}},"claims":{"name":null,"id_number_masked":null}}]}}"#,
        )
        .unwrap();
        let r = p.request.unwrap();
        assert_eq!(r.id_token, vec!["name".to_string(), "realname_level".to_string()]);
        let v = &r.id_token_verified[0];
        assert_eq!(v.claims, vec!["name".to_string()]);
        assert_eq!(v.verification, vec!["time".to_string(), "evidence".to_string()]);
        assert_eq!(v.trust_framework, Some(vec!["cn_realname".to_string()]));
        assert_eq!(v.max_age, Some(3600));
        let u = &r.userinfo_verified[0];
        assert_eq!(u.assurance_level, Some(vec!["2".to_string(), "4".to_string()]));
        assert_eq!(u.verification, vec!["assurance_level".to_string()]);
        assert!(r.wants_id_token_claims());
    }

    #[test]
    fn malformed_parameters_are_refused() {
        for bad in [
            "not json",
            "[]",
            r#"{"id_token":[]}"#,
            r#"{"id_token":{"name":true}}"#,
            r#"{"userinfo":{"verified_claims":{"claims":{"name":null}}}}"#,
            r#"{"userinfo":{"verified_claims":{"verification":{"trust_framework":null}}}}"#,
            r#"{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{}}}}"#,
            r#"{"userinfo":{"verified_claims":{"verification":{},"claims":{"name":1}}}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("{}").unwrap(), Parsed::default());
    }
}
