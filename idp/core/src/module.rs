//! The cryptographic module port: where signing keys are made, kept and used, and what
//! protects the key-encryption key (KEK).
//!
//! Everything that signs — tokens (`crate::keys`), SAML messages and the certificates SAML
//! metadata publishes (`crate::saml`) — asks a [`CryptoModule`] for a key and a [`ModuleKey`]
//! for a signature; nothing outside this file touches a private key. What the module returns
//! from [`CryptoModule::generate`] is stored as the key record's `sealed_private_key` and given
//! back to [`CryptoModule::open`]: [`SoftwareModule`] stores the private key sealed under the KEK
//! (SM4-GCM or AES-GCM by the tenant's profile); a hardware module (GM/T 0018 `SDF_*` or PKCS#11)
//! would store the index or label of a key that never leaves the device and sign with
//! `SDF_InternalSign_ECC` / `C_Sign`. The KEK is the software module's own key; with a hardware
//! module it would be stored encrypted under a device-internal key (`SDF_Encrypt` with a key
//! index, `C_WrapKey`) and unwrapped at start — the envelope pattern by which HashiCorp Vault's
//! PKCS#11 seal protects its root key — so data keys are still derived from it in memory and
//! the hot paths (sealing, MACs) never cross to the device. `idp_server::ops::open_module`
//! is where a module is chosen.
//!
//! `docs/cryptography.md` ("The cryptographic module") maps the calls onto GM/T 0018 and PKCS#11.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};

use crate::Env;
use crate::crypto::{Kek, KekError, SealAlg};
use crate::model::{SigningAlg, SigningKeyRecord};
use crate::sm::Sm2Signer;
use crate::suite::Suite;

/// A module refused or failed an operation. It says which, never with key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    #[error("the cryptographic module could not make a key: {0}")]
    Generate(&'static str),
    #[error("the cryptographic module cannot use key {0}")]
    Open(String),
    #[error("the cryptographic module could not sign")]
    Sign,
}

impl From<ModuleError> for KekError {
    fn from(_: ModuleError) -> Self {
        KekError::Decrypt
    }
}

/// A key's public half, in the form each publication needs (JWK, X.509 SubjectPublicKeyInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 point's affine coordinates.
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// An RSA modulus and exponent (big-endian, no leading zero), and the PKCS#1
    /// `RSAPublicKey` DER they make.
    Rsa { n: Vec<u8>, e: Vec<u8>, pkcs1: Vec<u8> },
    /// An Ed25519 public key.
    Ed25519(Vec<u8>),
    /// An SM2 point's affine coordinates and the user ID its signatures are made under (the
    /// ID goes into Z_A, GB/T 32918.2 §5.5, so a verifier needs it).
    Sm2 { x: [u8; 32], y: [u8; 32], user_id: String },
}

/// One signing key inside a module.
pub trait ModuleKey: Send + Sync {
    fn alg(&self) -> SigningAlg;
    fn public_key(&self) -> PublicKey;
    /// The signature of `message` in the form JWS uses (RFC 7518 §3): raw `r || s` for ECDSA
    /// and SM2 (GM/T 0125), the RSA signature block, the 64-byte Ed25519 signature. SAML's
    /// XML-DSig signature values are the same bytes for RSA.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ModuleError>;
    /// The signature of a certificate's `tbs` by this key: for SM2 under the default user ID of
    /// GM/T 0009 (`1234567812345678`), as GM/T 0015 certificates are signed whatever ID the key
    /// signs tokens under; and the same bytes every time where the module can (RSA PKCS#1 v1.5
    /// is; SM2 with RFC 6979 nonces), since every node derives the certificate SAML metadata
    /// publishes alike. A module that cannot gives a fresh signature, and nodes then publish
    /// different certificates of one key.
    fn sign_certificate(&self, tbs: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.sign(tbs)
    }
}

/// Where keys are made and used. See the module documentation.
pub trait CryptoModule: Send + Sync + std::fmt::Debug {
    /// The module's name in the configuration (`[keys] module`).
    fn name(&self) -> &'static str;
    /// Makes a key pair of `alg` for the key `kid`; what to store in the key record. An SM2 key
    /// signs under `suite.sm2_user_id`; a software module seals with `suite.seal_alg()`.
    fn generate(
        &self,
        env: &dyn Env,
        alg: SigningAlg,
        kid: &str,
        suite: &Suite,
    ) -> Result<Vec<u8>, ModuleError>;
    /// The key a record names. `sm2_user_id` is for SM2 keys stored without one.
    fn open(&self, record: &SigningKeyRecord, sm2_user_id: &str) -> Result<Box<dyn ModuleKey>, ModuleError>;
    /// What the record of key `kid` stores, re-sealed with `alg` when the module seals keys
    /// itself and they are sealed otherwise (a tenant's move to another profile); `None` when
    /// nothing is to change, as for a module whose keys never leave it.
    fn reseal(
        &self,
        env: &dyn Env,
        stored: &[u8],
        kid: &str,
        alg: SealAlg,
    ) -> Result<Option<Vec<u8>>, ModuleError>;
}

/// The associated data a software key is sealed with.
pub fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// The software module: keys are made by aws-lc-rs (ES256, RS256, PS256, EdDSA) and
/// `crate::sm` (SM2), and stored sealed under the KEK; the KEK is stored as it is (its file
/// is the deployment's to protect: mode 0600, or `IDP_KEY_ENCRYPTION_KEY` from a secret store).
#[derive(Clone)]
pub struct SoftwareModule {
    kek: Kek,
}

impl std::fmt::Debug for SoftwareModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareModule")
    }
}

impl SoftwareModule {
    pub fn new(kek: Kek) -> Self {
        Self { kek }
    }

    /// The private key document of a new key: PKCS#8 for the international algorithms; for
    /// SM2 its 32-byte scalar followed by the user ID it signs under, so a later change of the
    /// tenant's ID leaves what it signed verifiable.
    fn private_document(env: &dyn Env, alg: SigningAlg, suite: &Suite) -> Result<Vec<u8>, ModuleError> {
        use aws_lc_rs::encoding::AsDer;
        Ok(match alg {
            SigningAlg::SM2 => [&crate::sm::sm2_generate(env)[..], suite.sm2_user_id.as_bytes()].concat(),
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| ModuleError::Generate("EC key generation failed"))?,
            SigningAlg::RS256 | SigningAlg::PS256 => {
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| ModuleError::Generate("RSA key generation failed"))?
                    .as_der()
                    .map(|d| d.as_ref().to_vec())
                    .map_err(|_| ModuleError::Generate("RSA key export failed"))?
            }
            SigningAlg::EdDSA => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| ModuleError::Generate("Ed25519 key generation failed"))?,
        })
    }
}

impl CryptoModule for SoftwareModule {
    fn reseal(
        &self,
        env: &dyn Env,
        stored: &[u8],
        kid: &str,
        alg: SealAlg,
    ) -> Result<Option<Vec<u8>>, ModuleError> {
        if Kek::sealed_with(stored) == alg {
            return Ok(None);
        }
        let context = seal_context(kid);
        let document = self.kek.open(stored, &context).map_err(|_| ModuleError::Open(kid.to_string()))?;
        Ok(Some(self.kek.seal_with(env, alg, &document, &context)))
    }

    fn name(&self) -> &'static str {
        "software"
    }

    fn generate(
        &self,
        env: &dyn Env,
        alg: SigningAlg,
        kid: &str,
        suite: &Suite,
    ) -> Result<Vec<u8>, ModuleError> {
        let document = Self::private_document(env, alg, suite)?;
        Ok(self.kek.seal_with(env, suite.seal_alg(), &document, &seal_context(kid)))
    }

    fn open(&self, record: &SigningKeyRecord, sm2_user_id: &str) -> Result<Box<dyn ModuleKey>, ModuleError> {
        let refused = || ModuleError::Open(record.kid.clone());
        let document =
            self.kek.open(&record.sealed_private_key, &seal_context(&record.kid)).map_err(|_| refused())?;
        SoftwareKey::from_document(record.alg, &document, sm2_user_id).ok_or_else(refused)
    }
}

/// A software key, parsed once when its key set loads (jsonwebtoken would parse the PKCS#8
/// document again for every signature).
pub enum SoftwareKey {
    Es256(EcdsaKeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair, SigningAlg),
    Ed25519(Ed25519KeyPair),
    Sm2(Box<Sm2Signer>, String),
}

impl SoftwareKey {
    /// A key from its private document (see [`SoftwareModule`]); `None` if it is not one.
    pub fn from_document(alg: SigningAlg, document: &[u8], sm2_user_id: &str) -> Option<Box<dyn ModuleKey>> {
        let key = match alg {
            SigningAlg::ES256 => {
                Self::Es256(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, document).ok()?)
            }
            SigningAlg::RS256 | SigningAlg::PS256 => {
                Self::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(document).ok()?, alg)
            }
            SigningAlg::EdDSA => Self::Ed25519(Ed25519KeyPair::from_pkcs8(document).ok()?),
            SigningAlg::SM2 => {
                let (d, id) = document.split_at(document.len().min(32));
                let id = if id.is_empty() { sm2_user_id } else { std::str::from_utf8(id).ok()? };
                Self::Sm2(Box::new(Sm2Signer::new(d, id).ok()?), id.to_string())
            }
        };
        Some(Box::new(key))
    }
}

impl ModuleKey for SoftwareKey {
    fn alg(&self) -> SigningAlg {
        match self {
            Self::Es256(_) => SigningAlg::ES256,
            Self::Rsa(_, alg) => *alg,
            Self::Ed25519(_) => SigningAlg::EdDSA,
            Self::Sm2(..) => SigningAlg::SM2,
        }
    }

    fn public_key(&self) -> PublicKey {
        match self {
            Self::Es256(k) => {
                // an uncompressed SEC1 point: 0x04 || x || y
                let point = k.public_key().as_ref();
                PublicKey::P256 { x: point[1..33].to_vec(), y: point[33..65].to_vec() }
            }
            Self::Rsa(k, _) => {
                let public = k.public_key();
                PublicKey::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                    pkcs1: public.as_ref().to_vec(),
                }
            }
            Self::Ed25519(k) => PublicKey::Ed25519(k.public_key().as_ref().to_vec()),
            Self::Sm2(signer, user_id) => {
                let (x, y) = signer.public_xy();
                PublicKey::Sm2 { x, y, user_id: user_id.clone() }
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let rng = SystemRandom::new();
        match self {
            Self::Es256(k) => {
                k.sign(&rng, message).map(|s| s.as_ref().to_vec()).map_err(|_| ModuleError::Sign)
            }
            Self::Rsa(k, alg) => {
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding =
                    if *alg == SigningAlg::PS256 { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(padding, &rng, message, &mut sig).map_err(|_| ModuleError::Sign)?;
                Ok(sig)
            }
            Self::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Self::Sm2(signer, _) => signer.sign(message).map(|s| s.to_vec()).map_err(|_| ModuleError::Sign),
        }
    }

    fn sign_certificate(&self, tbs: &[u8]) -> Result<Vec<u8>, ModuleError> {
        match self {
            Self::Sm2(signer, _) => signer
                .with_user_id(crate::sm::DEFAULT_USER_ID)
                .and_then(|s| s.sign_deterministic(tbs))
                .map(|s| s.to_vec())
                .map_err(|_| ModuleError::Sign),
            _ => self.sign(tbs),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::keys::{KeySet, generate};
    use crate::model::CryptoProfile;
    use crate::{Env, SystemEnv};

    /// A module like a hardware one: keys are made and kept inside, and the key record
    /// stores only their index.
    #[derive(Default)]
    struct Device {
        keys: Mutex<HashMap<String, Vec<u8>>>,
    }

    impl std::fmt::Debug for Device {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Device")
        }
    }

    impl CryptoModule for Device {
        fn name(&self) -> &'static str {
            "device"
        }
        fn generate(
            &self,
            env: &dyn Env,
            alg: SigningAlg,
            _: &str,
            suite: &Suite,
        ) -> Result<Vec<u8>, ModuleError> {
            let document = SoftwareModule::private_document(env, alg, suite)?;
            let mut keys = self.keys.lock().unwrap();
            let index = format!("index:{}", keys.len() + 1);
            keys.insert(index.clone(), document);
            Ok(index.into_bytes())
        }
        fn reseal(&self, _: &dyn Env, _: &[u8], _: &str, _: SealAlg) -> Result<Option<Vec<u8>>, ModuleError> {
            Ok(None)
        }
        fn open(&self, record: &SigningKeyRecord, user_id: &str) -> Result<Box<dyn ModuleKey>, ModuleError> {
            let keys = self.keys.lock().unwrap();
            let document = keys
                .get(std::str::from_utf8(&record.sealed_private_key).unwrap_or_default())
                .ok_or_else(|| ModuleError::Open(record.kid.clone()))?;
            SoftwareKey::from_document(record.alg, document, user_id)
                .ok_or_else(|| ModuleError::Open(record.kid.clone()))
        }
    }

    #[test]
    fn a_module_that_keeps_its_keys_signs_every_token_and_saml_message() {
        let device = Device::default();
        let kek = Kek::generate(&SystemEnv);
        let suite =
            Suite::of(&crate::model::CryptoSettings { profile: CryptoProfile::Dual, ..Default::default() });
        let mut records: Vec<_> =
            SigningAlg::ALL.iter().map(|a| generate(&SystemEnv, &device, "t", *a, &suite).unwrap()).collect();
        // the database holds an index, nothing of the key
        assert!(records.iter().all(|r| r.sealed_private_key.starts_with(b"index:")));
        let set = KeySet::load(&records, &device, &kek, &suite, "t", SystemEnv.now()).unwrap();
        for alg in SigningAlg::ALL {
            let claims = serde_json::json!({"iss": "https://i", "sub": "s", "exp": SystemEnv.now() + 60});
            let token = set.sign(alg, "JWT", &claims).unwrap();
            let back: serde_json::Value = set.verify(&token, "https://i", false, SystemEnv.now()).unwrap();
            assert_eq!(back["sub"], "s", "{alg:?}");
        }
        // SAML metadata's certificate is signed by the module's key too, and names its public key
        let (key, cert) = set.saml_signer().unwrap();
        let PublicKey::Rsa { pkcs1, .. } = key.public_key() else { panic!("RSA") };
        assert!(cert.windows(pkcs1.len()).any(|w| w == pkcs1), "the certificate carries the key");
        // a key the module does not hold cannot be loaded, and nothing else opens its records
        records[0].sealed_private_key = b"index:99".to_vec();
        assert!(KeySet::load(&records, &device, &kek, &suite, "t", SystemEnv.now()).is_err());
        assert!(
            KeySet::load(&records[1..], &SoftwareModule::new(kek.clone()), &kek, &suite, "t", 0).is_err()
        );
    }

    #[test]
    fn a_key_of_another_algorithm_than_its_record_is_refused() {
        let module = SoftwareModule::new(Kek::generate(&SystemEnv));
        let mut record = generate(&SystemEnv, &module, "t", SigningAlg::ES256, &Suite::default()).unwrap();
        record.alg = SigningAlg::EdDSA;
        assert!(crate::keys::LoadedKey::open(&record, &module, "").is_err());
        // and a key's Debug output names it, never its material
        let key = module.open(&SigningKeyRecord { alg: SigningAlg::ES256, ..record }, "").unwrap();
        assert_eq!(key.alg(), SigningAlg::ES256);
        assert_eq!(format!("{module:?}"), "SoftwareModule");
    }
}
