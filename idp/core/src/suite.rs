//! The cryptography suite of a tenant's profile (docs/cryptography.md): which algorithms have
//! keys and sign, and which digest goes with each. Keys, tokens and hashes ask the suite, so no
//! handler or query ever asks "is this tenant SM?".
//!
//! - `international`: ES256, RS256, PS256 and EdDSA keys; clients choose among them (ES256 by
//!   default).
//! - `sm`: SM2 keys only; every token is signed with SM2 whatever a client registered, and its
//!   `at_hash` is SM3's.
//! - `dual`: both key sets published; each client chooses its algorithm (ES256 by default).

use crate::crypto::{MacAlg, SealAlg};
use crate::model::{CryptoProfile, CryptoSettings, SigningAlg};

/// The international algorithms accepted for client assertions (RFC 7523), beside SM2.
pub const INTERNATIONAL_ASSERTION_ALGS: [&str; 9] =
    ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub profile: CryptoProfile,
    /// The SM2 distinguishing identifier (`crate::sm::DEFAULT_USER_ID` unless the tenant sets one).
    pub sm2_user_id: String,
    /// Until when keys of algorithms the profile left are still published (they signed tokens
    /// that may not have expired yet).
    pub leaving_until: i64,
}

impl Default for Suite {
    fn default() -> Self {
        Self::of(&CryptoSettings::default())
    }
}

impl Suite {
    pub fn of(settings: &CryptoSettings) -> Self {
        Self {
            profile: settings.profile,
            sm2_user_id: settings
                .sm2_user_id
                .clone()
                .unwrap_or_else(|| crate::sm::DEFAULT_USER_ID.to_string()),
            leaving_until: settings.changed_at.map_or(0, crate::keys::retirement),
        }
    }

    /// The algorithms the tenant keeps signing keys for.
    pub fn algs(&self) -> &'static [SigningAlg] {
        match self.profile {
            CryptoProfile::International => &SigningAlg::INTERNATIONAL,
            CryptoProfile::Sm => &[SigningAlg::SM2],
            CryptoProfile::Dual => &SigningAlg::ALL,
        }
    }

    pub fn allows(&self, alg: SigningAlg) -> bool {
        self.algs().contains(&alg)
    }

    /// A new client's algorithm when it names none.
    pub fn default_alg(&self) -> SigningAlg {
        match self.profile {
            CryptoProfile::Sm => SigningAlg::SM2,
            CryptoProfile::International | CryptoProfile::Dual => SigningAlg::ES256,
        }
    }

    /// The algorithm that signs for a client registered with `requested`: that one where the
    /// profile has it, else the profile's default (a client registered before its tenant moved
    /// to `sm` gets SM2).
    pub fn signing_alg(&self, requested: SigningAlg) -> SigningAlg {
        if self.allows(requested) { requested } else { self.default_alg() }
    }

    /// How the tenant's secrets are sealed at rest: SM4-GCM where the profile has SM algorithms.
    pub fn seal_alg(&self) -> SealAlg {
        match self.profile {
            CryptoProfile::International => SealAlg::Aes256Gcm,
            CryptoProfile::Sm | CryptoProfile::Dual => SealAlg::Sm4Gcm,
        }
    }

    /// How the tenant's keyed hashes at rest are made: HMAC-SM3 where the profile has SM
    /// algorithms.
    pub fn mac_alg(&self) -> MacAlg {
        match self.profile {
            CryptoProfile::International => MacAlg::HmacSha256,
            CryptoProfile::Sm | CryptoProfile::Dual => MacAlg::HmacSm3,
        }
    }

    /// The JOSE names of [`Self::algs`], for discovery.
    pub fn alg_names(&self) -> Vec<&'static str> {
        self.algs().iter().map(|a| a.as_str()).collect()
    }

    /// The algorithms a client's `private_key_jwt` assertion may be signed with.
    pub fn assertion_alg_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.profile != CryptoProfile::Sm {
            names.extend(INTERNATIONAL_ASSERTION_ALGS);
        }
        if self.profile != CryptoProfile::International {
            names.push(SigningAlg::SM2.as_str());
        }
        names
    }
}

/// The digest a signature algorithm goes with, for `at_hash`, `c_hash` and `s_hash` (OIDC Core
/// §3.1.3.6: the hash of the ID token's `alg`): SHA-512 for Ed25519 (RFC 8037 §3.1 signs with
/// SHA-512 inside), SM3 for SM2, SHA-256 otherwise.
pub fn token_digest(alg: SigningAlg, data: &[u8]) -> Vec<u8> {
    match alg {
        SigningAlg::EdDSA => crate::crypto::sha512(data),
        SigningAlg::SM2 => crate::sm::sm3(data).to_vec(),
        SigningAlg::ES256 | SigningAlg::RS256 | SigningAlg::PS256 => crate::crypto::sha256(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_choose_algorithms() {
        let sm = Suite::of(&CryptoSettings { profile: CryptoProfile::Sm, ..Default::default() });
        assert_eq!(sm.algs(), &[SigningAlg::SM2]);
        assert_eq!(sm.signing_alg(SigningAlg::RS256), SigningAlg::SM2);
        assert_eq!(sm.sm2_user_id, "1234567812345678");
        let intl = Suite::default();
        assert_eq!(intl.signing_alg(SigningAlg::SM2), SigningAlg::ES256);
        assert_eq!(intl.signing_alg(SigningAlg::PS256), SigningAlg::PS256);
        let dual = Suite::of(&CryptoSettings {
            profile: CryptoProfile::Dual,
            sm2_user_id: Some("x".into()),
            ..Default::default()
        });
        assert_eq!(dual.signing_alg(SigningAlg::SM2), SigningAlg::SM2);
        assert_eq!(dual.signing_alg(SigningAlg::EdDSA), SigningAlg::EdDSA);
        assert_eq!(dual.sm2_user_id, "x");
        assert_eq!(token_digest(SigningAlg::SM2, b"abc"), crate::sm::sm3(b"abc").to_vec());
    }
}
