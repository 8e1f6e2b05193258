//! idp-proto: serde-only wire types shared by the idp's operator interfaces (CLI `--json`
//! output now, the admin API later) and the admin console. No logic, no dependencies beyond
//! serde.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub issuer: String,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub client_id: String,
    /// Present only in the answer that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_methods: Vec<String>,
    pub id_token_signed_response_alg: String,
    pub access_token_format: String,
    /// The least assurance level a sign-in for this client must reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_realname_level: Option<i64>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
