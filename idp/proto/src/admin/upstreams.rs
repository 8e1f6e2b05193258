//! Upstream OpenID providers of a tenant (identity brokering): `/upstreams`.

use serde::{Deserialize, Serialize};

/// `POST /upstreams`: an upstream OpenID provider people may sign in with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpstreamRequest {
    /// Its slug here, 1-40 of `a-z`, `0-9` and `-`; the callback is
    /// `{issuer}/upstream/{id}/callback`.
    pub id: String,
    /// The upstream's issuer: https (http only on the loopback host), within the deployment's
    /// outbound rules.
    pub issuer: String,
    /// The client id the upstream issued to this provider.
    pub client_id: String,
    /// `client_secret_basic` (the default) or `private_key_jwt` (signed with the tenant's key).
    #[serde(default)]
    pub auth: Option<String>,
    /// For `client_secret_basic`: sealed on receipt, never shown again.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A SAML 2.0 identity provider's metadata (XML): it fills `issuer` (its entity ID) and
    /// `settings.saml` (services and certificates); `client_id` is then unused.
    #[serde(default)]
    pub saml_metadata: Option<String>,
    /// `name_zh`, `name_en`, `hidden`, `scopes`, `acr_values`, `acr_required`, `acr_map`,
    /// `levels`, `identity`, `request_verified_claims`, `link_by_id_number`,
    /// `create_accounts`, `id_token_algs` (docs/upstreams.md).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: serde_json::Value,
}

impl std::fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamRequest")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// An upstream as the admin API shows it: never its client secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamInfo {
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub auth: String,
    /// Whether a client secret is held (sealed).
    pub has_secret: bool,
    pub disabled: bool,
    /// `oidc` or `saml`.
    #[serde(default)]
    pub protocol: String,
    /// Where the upstream sends people back: register it there (for SAML, the assertion
    /// consumer service).
    pub callback: String,
    /// SAML: this provider's metadata for the upstream (its URL is also the entity ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_metadata: Option<String>,
    /// Where the upstream sends people back after its logout (post-logout redirect URI).
    #[serde(default)]
    pub post_logout_redirect_uri: String,
    /// Where the upstream posts its logout tokens (back-channel logout URI).
    #[serde(default)]
    pub backchannel_logout_uri: String,
    /// The electronic business licence: where its system posts signed notifications (a
    /// revoked authorisation, a cancelled licence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_uri: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}
