//! Signing keys: `/keys`, `/keys/rotate`, `/keys/{kid}/revoke`.

use serde::{Deserialize, Serialize};

/// A tenant's signing key and where it stands in its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    pub kid: String,
    /// `ES256`, `RS256`, `PS256` or `EdDSA`.
    pub alg: String,
    /// `signs`, `published, signs later`, `verifies only`, `retired` or `revoked`.
    pub state: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// `POST /keys/rotate`: a new key of this algorithm signs from now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// `ES256`, `RS256`, `PS256`, `EdDSA` or `SGD_SM3_SM2`: one of the tenant's cryptography profile.
    pub alg: String,
}

/// `POST /keys/{kid}/revoke`, optional body: a key that signs the administrators' tokens is
/// revoked only with its `kid` typed again here (every administrator signs in again after).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRevocation {
    pub confirm: Option<String>,
}
