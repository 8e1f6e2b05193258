//! Signing keys of a tenant: generation (ES256, RS256, PS256, EdDSA via aws-lc-rs), sealing
//! under the KEK, the public JWK Set (RFC 7517), JWS signing/verification through
//! `jsonwebtoken`, and the rotation schedule.
//!
//! The schedule is in the keys themselves (`activates_at`, `retires_at`, `revoked_at`), so
//! every node reaches the same state at the same time without talking: a key is published from
//! creation, the newest activated key of an algorithm signs, a replaced key stays published
//! until `retires_at` — the replacement's activation plus [`MAX_TOKEN_LIFETIME`] and a margin
//! — and a revoked key is gone at once. [`next_rotation`] says when to create the next key so
//! it is published `publish_ahead` before it signs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Env;
use crate::crypto::{Kek, KekError, random_token};
use crate::model::{SigningAlg, SigningKeyRecord};

pub fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::PS256 => Algorithm::PS256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// The longest a token we sign lives (access tokens are capped at a day; ID tokens less).
pub const MAX_TOKEN_LIFETIME: i64 = 86_400;
/// Added to [`MAX_TOKEN_LIFETIME`] before a replaced key retires, for clock skew.
pub const RETIRE_MARGIN: i64 = 300;

/// When a key replaced at `replaced_at` retires.
pub fn retirement(replaced_at: i64) -> i64 {
    replaced_at + MAX_TOKEN_LIFETIME + RETIRE_MARGIN
}

/// How often keys rotate by themselves, and how long before signing a new key is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// 0: no automatic rotation.
    pub every: i64,
    pub publish_ahead: i64,
}

/// When the signer of `alg` should be replaced, if a key for that is due to be created now:
/// the current signer has signed for `every - publish_ahead` and no successor exists yet.
pub fn next_rotation(
    records: &[SigningKeyRecord],
    alg: SigningAlg,
    now: i64,
    p: RotationPolicy,
) -> Option<i64> {
    if p.every <= 0 {
        return None;
    }
    let live = |k: &&SigningKeyRecord| k.alg == alg && k.active && k.revoked_at.is_none();
    if records.iter().filter(live).any(|k| k.activates_at > now) {
        return None;
    }
    let signer =
        records.iter().filter(live).filter(|k| k.activates_at <= now).max_by_key(|k| k.activates_at)?;
    let due = signer.activates_at + p.every;
    (due - p.publish_ahead.clamp(0, p.every) <= now).then_some(due.max(now))
}

/// The kid of the key scheduled to sign `alg` from `activates_at`: derived, so two nodes
/// scheduling the same rotation write the same row (the second insert conflicts).
pub fn scheduled_kid(kek: &Kek, tenant_id: &str, alg: SigningAlg, activates_at: i64) -> String {
    let mac =
        kek.derive("scheduled-key").mac(format!("{tenant_id}|{}|{activates_at}", alg.as_str()).as_bytes());
    crate::crypto::b64(&mac[..12])
}

fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// Generates a new key of `alg` for a tenant and seals its PKCS#8 document under the KEK.
pub fn generate(
    env: &dyn Env,
    kek: &Kek,
    tenant_id: &str,
    alg: SigningAlg,
) -> Result<SigningKeyRecord, String> {
    generate_at(env, kek, tenant_id, alg, env.now(), random_token(env, 12))
}

/// A new key that signs from `activates_at`, under `kid`.
pub fn generate_at(
    env: &dyn Env,
    kek: &Kek,
    tenant_id: &str,
    alg: SigningAlg,
    activates_at: i64,
    kid: String,
) -> Result<SigningKeyRecord, String> {
    let pkcs8: Vec<u8> = match alg {
        SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| "EC key generation failed")?,
        SigningAlg::RS256 | SigningAlg::PS256 => {
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| "RSA key generation failed")?
                .as_der()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| "RSA key export failed")?
        }
        SigningAlg::EdDSA => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| "Ed25519 key generation failed")?,
    };
    let sealed = kek.seal(env, &pkcs8, &seal_context(&kid));
    Ok(SigningKeyRecord {
        kid,
        tenant_id: tenant_id.to_string(),
        alg,
        sealed_private_key: sealed,
        created_at: env.now(),
        active: true,
        activates_at,
        retires_at: None,
        revoked_at: None,
    })
}

/// One usable key: its private half for signing, its public half for JWKS and verification.
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub active: bool,
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub jwk: Jwk,
    /// An RS256 key's RSA key pair and its self-signed certificate (DER), for SAML signatures.
    saml: Option<(aws_lc_rs::rsa::KeyPair, Vec<u8>)>,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedKey({} {})", self.kid, self.alg.as_str())
    }
}

/// The private key of a PKCS#8 RSA document as PKCS#1, which `jsonwebtoken`'s RSA signer wants.
/// PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }
fn pkcs8_rsa_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
    fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }
    let (tag, seq, _) = read(pkcs8)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _version, rest) = read(seq)?;
    let (_, _alg, rest) = read(rest)?;
    let (tag, key, _) = read(rest)?;
    (tag == 0x04).then(|| key.to_vec())
}

impl LoadedKey {
    pub fn open(record: &SigningKeyRecord, kek: &Kek) -> Result<Self, KekError> {
        let pkcs8 = kek.open(&record.sealed_private_key, &seal_context(&record.kid))?;
        let encoding = match record.alg {
            SigningAlg::ES256 => EncodingKey::from_ec_der(&pkcs8),
            SigningAlg::EdDSA => EncodingKey::from_ed_der(&pkcs8),
            SigningAlg::RS256 | SigningAlg::PS256 => {
                EncodingKey::from_rsa_der(&pkcs8_rsa_to_pkcs1(&pkcs8).ok_or(KekError::Decrypt)?)
            }
        };
        let mut jwk =
            Jwk::from_encoding_key(&encoding, jwt_alg(record.alg)).map_err(|_| KekError::Decrypt)?;
        jwk.common.key_id = Some(record.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match record.alg {
            SigningAlg::ES256 => KeyAlgorithm::ES256,
            SigningAlg::RS256 => KeyAlgorithm::RS256,
            SigningAlg::PS256 => KeyAlgorithm::PS256,
            SigningAlg::EdDSA => KeyAlgorithm::EdDSA,
        });
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| KekError::Decrypt)?;
        let saml = match record.alg {
            SigningAlg::RS256 => Some((
                aws_lc_rs::rsa::KeyPair::from_pkcs8(&pkcs8).map_err(|_| KekError::Decrypt)?,
                saml_certificate(&pkcs8, &record.kid, record.activates_at).ok_or(KekError::Decrypt)?,
            )),
            _ => None,
        };
        Ok(Self { kid: record.kid.clone(), alg: record.alg, active: false, encoding, decoding, jwk, saml })
    }
}

/// The self-signed certificate SAML metadata publishes for an RS256 key. Every node derives
/// the same bytes from the key, its kid and its activation (validity from the activation,
/// twenty years; serial from the kid), so nothing more is stored.
fn saml_certificate(pkcs8: &[u8], kid: &str, activates_at: i64) -> Option<Vec<u8>> {
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8),
        &rcgen::PKCS_RSA_SHA256,
    )
    .ok()?;
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).ok()?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, format!("SAML signing key {kid}"));
    let from = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(activates_at.max(0) as u64);
    p.not_before = from;
    p.not_after = from + std::time::Duration::from_secs(20 * 365 * 86_400);
    let mut serial = crate::crypto::sha256(kid.as_bytes())[..16].to_vec();
    serial[0] &= 0x7f;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    Some(p.self_signed(&key).ok()?.der().to_vec())
}

/// The keys of one tenant, loaded and ready: its signing keys, and the key that seals its
/// opaque access tokens (derived from the KEK and the tenant id, so every node has it).
#[derive(Debug)]
pub struct KeySet {
    /// The published keys (verifying); `active` marks each algorithm's signer.
    pub keys: Vec<LoadedKey>,
    pub sealer: Kek,
    /// When the schedule next changes this set (a key activates or retires): load it again then.
    pub next_change_at: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no active signing key for {0}")]
    NoKey(&'static str),
    #[error("signing failed")]
    Sign,
    #[error("invalid token: {0}")]
    Invalid(String),
}

impl KeySet {
    /// The keys as they stand at `now`: revoked and retired ones left out, each algorithm's
    /// newest activated key signing.
    pub fn load(
        records: &[SigningKeyRecord],
        kek: &Kek,
        tenant_id: &str,
        now: i64,
    ) -> Result<Self, KekError> {
        let published: Vec<&SigningKeyRecord> = records
            .iter()
            .filter(|r| r.revoked_at.is_none() && r.retires_at.is_none_or(|t| t > now))
            .collect();
        let mut keys: Vec<LoadedKey> =
            published.iter().map(|r| LoadedKey::open(r, kek)).collect::<Result<_, _>>()?;
        for alg in SigningAlg::ALL {
            let signer = published
                .iter()
                .filter(|r| r.alg == alg && r.active && r.activates_at <= now)
                // newest first; within one second, the key not yet replaced (no retirement set)
                .max_by_key(|r| (r.activates_at, r.retires_at.is_none(), r.created_at));
            if let Some(s) = signer
                && let Some(k) = keys.iter_mut().find(|k| k.kid == s.kid)
            {
                k.active = true;
            }
        }
        let next_change_at = published
            .iter()
            .flat_map(|r| [Some(r.activates_at), r.retires_at])
            .flatten()
            .filter(|t| *t > now)
            .min();
        Ok(Self { keys, sealer: kek.derive(&format!("access-token-seal:{tenant_id}")), next_change_at })
    }

    /// The SAML signer: the active RS256 key pair and its certificate.
    pub fn saml_signer(&self) -> Option<(&aws_lc_rs::rsa::KeyPair, &[u8])> {
        self.signer(SigningAlg::RS256).and_then(|k| k.saml.as_ref()).map(|(key, cert)| (key, cert.as_slice()))
    }

    /// The certificates of every published RS256 key (the signing one, the next, the retiring),
    /// for SAML metadata: a service provider that reads it regularly trusts the next key before
    /// it signs.
    pub fn saml_certificates(&self) -> Vec<Vec<u8>> {
        self.keys.iter().filter_map(|k| k.saml.as_ref()).map(|(_, c)| c.clone()).collect()
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().map(|k| k.jwk.clone()).collect() }
    }

    /// The newest active key of `alg`.
    fn signer(&self, alg: SigningAlg) -> Option<&LoadedKey> {
        self.keys.iter().rev().find(|k| k.alg == alg && k.active)
    }

    pub fn sign<T: Serialize>(&self, alg: SigningAlg, typ: &str, claims: &T) -> Result<String, JwtError> {
        let key = self.signer(alg).ok_or(JwtError::NoKey(alg.as_str()))?;
        let mut header = Header::new(jwt_alg(alg));
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|_| JwtError::Sign)
    }

    /// The `typ` of a JWT's header (`JWT` for ID tokens, `at+jwt` for access tokens,
    /// `logout+jwt` for logout tokens), read without verifying anything.
    pub fn typ_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok()?.typ
    }

    /// Verifies a JWT this tenant signed: signature by one of our keys (chosen by `kid`, with the
    /// algorithm that key is for, never the header's say-so), `iss`, and `exp` unless `allow_expired`.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        allow_expired: bool,
        now: i64,
    ) -> Result<T, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| JwtError::Invalid("no kid".into()))?;
        let key =
            self.keys.iter().find(|k| k.kid == kid).ok_or_else(|| JwtError::Invalid("unknown kid".into()))?;
        let mut v = Validation::new(jwt_alg(key.alg));
        v.set_issuer(&[issuer]);
        v.validate_aud = false;
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &v)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        if !allow_expired {
            let exp = data.claims.get("exp").and_then(|e| e.as_i64()).unwrap_or(0);
            if exp <= now {
                return Err(JwtError::Invalid("expired".into()));
            }
        }
        serde_json::from_value(data.claims).map_err(|e| JwtError::Invalid(e.to_string()))
    }
}

/// The `sub` a client sees for an account (OIDC Core §8): the account id, or, for a client
/// in a sector, a pairwise identifier — an HMAC of sector and account id under a key derived
/// from the tenant's sealing key, so it is stable across nodes and clients of one sector, and
/// unlinkable across sectors and tenants.
pub fn subject(keys: &KeySet, sector: Option<&str>, account_id: &str) -> String {
    match sector {
        None => account_id.to_string(),
        Some(sector) => {
            let mac = keys.sealer.derive("pairwise-sub").mac(format!("{sector}\n{account_id}").as_bytes());
            format!("p{}", crate::crypto::b64(&mac[..24]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemEnv;

    #[test]
    fn every_alg_signs_and_verifies_and_publishes_a_public_jwk() {
        let kek = Kek::generate(&SystemEnv);
        let records: Vec<_> =
            SigningAlg::ALL.iter().map(|a| generate(&SystemEnv, &kek, "t1", *a).unwrap()).collect();
        let set = KeySet::load(&records, &kek, "t", SystemEnv.now()).unwrap();
        let now = SystemEnv.now();
        for alg in SigningAlg::ALL {
            let claims = serde_json::json!({"iss": "https://x", "exp": now + 60, "sub": "a"});
            let jwt = set.sign(alg, "JWT", &claims).unwrap();
            let back: serde_json::Value = set.verify(&jwt, "https://x", false, now).unwrap();
            assert_eq!(back["sub"], "a");
            assert!(set.verify::<serde_json::Value>(&jwt, "https://y", false, now).is_err());
            assert!(set.verify::<serde_json::Value>(&jwt, "https://x", false, now + 61).is_err());
        }
        let jwks = serde_json::to_value(set.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
        let text = jwks.to_string();
        assert!(!text.contains("\"d\""), "private parts must never be published: {text}");
    }

    #[test]
    fn wrong_kek_cannot_open_keys() {
        let kek = Kek::generate(&SystemEnv);
        let rec = generate(&SystemEnv, &kek, "t1", SigningAlg::ES256).unwrap();
        assert!(LoadedKey::open(&rec, &Kek::generate(&SystemEnv)).is_err());
    }
}

#[cfg(test)]
mod schedule {
    use super::*;
    use crate::TestEnv;

    #[test]
    fn keys_are_published_ahead_sign_in_turn_and_retire() {
        let env = TestEnv::default();
        let kek = Kek::generate(&env);
        let t0 = env.now();
        let p = RotationPolicy { every: 1000, publish_ahead: 100 };
        let mut records = vec![generate(&env, &kek, "t", SigningAlg::ES256).unwrap()];
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 899, p), None, "not yet");
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 900, p), Some(t0 + 1000));
        assert_eq!(next_rotation(&records, SigningAlg::RS256, t0 + 900, p), None, "no key of that alg");
        let kid = scheduled_kid(&kek, "t", SigningAlg::ES256, t0 + 1000);
        assert_eq!(kid, scheduled_kid(&kek, "t", SigningAlg::ES256, t0 + 1000), "the same on every node");
        let mut next = generate_at(&env, &kek, "t", SigningAlg::ES256, t0 + 1000, kid).unwrap();
        next.created_at = t0 + 900;
        records[0].retires_at = Some(retirement(t0 + 1000));
        records.push(next);
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 950, p), None, "a successor exists");
        let at = |records: &[SigningKeyRecord], now: i64| {
            let set = KeySet::load(records, &kek, "t", now).unwrap();
            let kids: Vec<String> = set.keys.iter().map(|k| k.kid.clone()).collect();
            (set.keys.iter().find(|k| k.active).map(|k| k.kid.clone()), kids, set.next_change_at)
        };
        let (first, second) = (records[0].kid.clone(), records[1].kid.clone());
        // published ahead, not signing
        assert_eq!(
            at(&records, t0 + 950),
            (Some(first.clone()), vec![first.clone(), second.clone()], Some(t0 + 1000))
        );
        // signing; the old one still published
        let r = retirement(t0 + 1000);
        assert_eq!(
            at(&records, t0 + 1000),
            (Some(second.clone()), vec![first.clone(), second.clone()], Some(r))
        );
        // retired
        assert_eq!(at(&records, r), (Some(second.clone()), vec![second.clone()], None));
        // revoked: gone at once
        records[1].revoked_at = Some(t0 + 1001);
        assert_eq!(at(&records, t0 + 1002).1, vec![first]);
    }
}
