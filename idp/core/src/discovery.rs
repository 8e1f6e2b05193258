//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3).

use serde_json::{Value, json};

use crate::scope::SCOPES;

/// Endpoint URLs of a tenant, all under its issuer.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub issuer: String,
}

impl Endpoints {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self { issuer: issuer.into() }
    }
    pub fn at(&self, path: &str) -> String {
        format!("{}/{}", self.issuer, path)
    }
    pub fn authorization(&self) -> String {
        self.at("authorize")
    }
    pub fn token(&self) -> String {
        self.at("token")
    }
    pub fn userinfo(&self) -> String {
        self.at("userinfo")
    }
    pub fn jwks(&self) -> String {
        self.at("jwks")
    }
    pub fn introspection(&self) -> String {
        self.at("introspect")
    }
    pub fn revocation(&self) -> String {
        self.at("revoke")
    }
    pub fn end_session(&self) -> String {
        self.at("end_session")
    }
}

pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];

/// The tenant's metadata; the signing algorithms are its suite's (`crate::suite`).
pub fn metadata(e: &Endpoints, suite: &crate::suite::Suite) -> Value {
    let signing = suite.alg_names();
    let assertion = suite.assertion_alg_names();
    let mut claims: Vec<&str> = SCOPES.iter().flat_map(|s| s.claims.iter().copied()).collect();
    claims.extend(["iss", "aud", "exp", "iat", "nonce", "act_as", "verified_claims"]);
    let mut m = json!({
        "issuer": e.issuer,
        "authorization_endpoint": e.authorization(),
        "token_endpoint": e.token(),
        "userinfo_endpoint": e.userinfo(),
        "jwks_uri": e.jwks(),
        "introspection_endpoint": e.introspection(),
        "revocation_endpoint": e.revocation(),
        "end_session_endpoint": e.end_session(),
        "scopes_supported": SCOPES.iter().map(|s| s.name).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", crate::device::GRANT_TYPE],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": signing,
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": assertion,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": true,
        // OpenID Connect for Identity Assurance 1.0 (see `claims::verified`)
        "verified_claims_supported": true,
        "trust_frameworks_supported": [crate::claims::TRUST_FRAMEWORK],
        "evidence_supported": crate::claims::EVIDENCE,
        "documents_supported": crate::claims::DOCUMENTS,
        "documents_check_methods_supported": ["vpip"],
        "electronic_records_supported": ["population_register", "bank_account"],
        "claims_in_verified_claims_supported": crate::claims::VERIFIED.map(|(n, _)| n),
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "acr_values_supported": crate::policy::OFFERED,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_locales_supported": ["zh-CN", "en"],
        "authorization_response_iss_parameter_supported": true,
    });
    // RFC 8628 §4 and the logout specs (outside the json! above, which is at the macro's
    // recursion limit)
    m["device_authorization_endpoint"] = json!(e.at("device_authorization"));
    for flag in [
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ] {
        m[flag] = json!(true);
    }
    m
}
