//! Signing keys: the algorithms and the sealed key records.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    ES256,
    RS256,
    PS256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] =
        [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::PS256, SigningAlg::EdDSA];
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A tenant's signing key as stored: the private key sealed under the KEK.
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub tenant_id: String,
    pub alg: SigningAlg,
    pub sealed_private_key: Vec<u8>,
    pub created_at: i64,
    /// May sign (false once replaced by a manual rotation before key schedules existed).
    pub active: bool,
    /// Signs from this time (the newest activated key of its algorithm signs).
    pub activates_at: i64,
    /// Neither published nor accepted from this time: every token it signed has expired.
    pub retires_at: Option<i64>,
    /// Withdrawn in an emergency: neither published nor accepted, whatever it signed.
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}
