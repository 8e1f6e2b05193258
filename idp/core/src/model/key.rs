//! Signing keys: the algorithms and the sealed key records.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    ES256,
    RS256,
    PS256,
    EdDSA,
    /// SM2 with SM3 (GB/T 32918.2), named as GM/T 0125.1-2022 names it; see `crate::sm`.
    #[serde(rename = "SGD_SM3_SM2", alias = "SM2")]
    SM2,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 5] =
        [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::PS256, SigningAlg::EdDSA, SigningAlg::SM2];
    /// The international algorithms (the `international` profile's).
    pub const INTERNATIONAL: [SigningAlg; 4] =
        [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::PS256, SigningAlg::EdDSA];
    /// The JOSE `alg` (RFC 7518 §3.1; GM/T 0125.1-2022 for SM2), also the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::SM2 => SM2_JOSE_ALG,
        }
    }
    /// The algorithm a JOSE `alg` (or a stored name) names. SM2 is also accepted under the
    /// spellings other signers use for it (`SM2`, `SM3withSM2`, `SM2SM3`, `SM2-SM3`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .or_else(|| SM2_ALIASES.iter().any(|a| a.eq_ignore_ascii_case(s)).then_some(SigningAlg::SM2))
    }
}

/// GM/T 0125.1-2022's identifier of the SM2 signature with SM3 (docs/cryptography.md).
pub const SM2_JOSE_ALG: &str = "SGD_SM3_SM2";
const SM2_ALIASES: [&str; 4] = ["SM2", "SM3withSM2", "SM2SM3", "SM2-SM3"];

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
