//! Signing keys of a tenant: generation (ES256, RS256, PS256, EdDSA via aws-lc-rs; SM2 via
//! `crate::sm`), sealing under the KEK, the public JWK Set (RFC 7517; GM/T 0125.4 for SM2),
//! JWS signing and verification (through `jsonwebtoken` for the international algorithms, by
//! hand for SM2, which it does not know), and the rotation schedule.
//!
//! The schedule is in the keys themselves (`activates_at`, `retires_at`, `revoked_at`), so
//! every node reaches the same state at the same time without talking: a key is published from
//! creation, the newest activated key of an algorithm signs, a replaced key stays published
//! until `retires_at` — the replacement's activation plus [`MAX_TOKEN_LIFETIME`] and a margin
//! — and a revoked key is gone at once. [`next_rotation`] says when to create the next key so
//! it is published `publish_ahead` before it signs.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Env;
use crate::crypto::{Kek, KekError, b64, b64_decode, random_token};
use crate::model::{SigningAlg, SigningKeyRecord};
use crate::module::{CryptoModule, ModuleKey, PublicKey};
use crate::sm::Sm2Verifier;
use crate::suite::Suite;

/// `jsonwebtoken`'s name of an international algorithm; `None` for SM2, which it does not know.
pub fn jwt_alg(alg: SigningAlg) -> Option<Algorithm> {
    match alg {
        SigningAlg::ES256 => Some(Algorithm::ES256),
        SigningAlg::RS256 => Some(Algorithm::RS256),
        SigningAlg::PS256 => Some(Algorithm::PS256),
        SigningAlg::EdDSA => Some(Algorithm::EdDSA),
        SigningAlg::SM2 => None,
    }
}

/// The JWK curve name of SM2's recommended curve (GM/T 0125.4-2022; docs/cryptography.md).
pub const SM2_CURVE: &str = "sm2p256v1";

/// The public JWK of an SM2 key: `kty` "EC", `crv` [`SM2_CURVE`], `x` and `y` base64url.
pub fn sm2_jwk(x: &[u8], y: &[u8], kid: &str) -> Value {
    serde_json::json!({
        "kty": "EC", "crv": SM2_CURVE, "x": b64(x), "y": b64(y),
        "kid": kid, "use": "sig", "alg": SigningAlg::SM2.as_str(),
    })
}

/// The SM2 public key a JWK carries (`kty` EC, `crv` sm2p256v1), or `None`.
pub fn sm2_verifier_of(jwk: &Value, user_id: &str) -> Option<Sm2Verifier> {
    if jwk["kty"] != "EC" || jwk["crv"] != SM2_CURVE {
        return None;
    }
    let x = b64_decode(jwk["x"].as_str()?)?;
    let y = b64_decode(jwk["y"].as_str()?)?;
    Sm2Verifier::from_xy(&x, &y, user_id).ok()
}

/// A compact JWS, split and read: its header, its signing input, its signature (decoded, and
/// as it came) and its payload.
pub struct CompactJws<'a> {
    pub header: Value,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    pub signature_b64: &'a str,
    pub payload: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    pub fn parse(token: &'a str) -> Option<Self> {
        let (signing_input, signature_b64) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        Some(Self {
            header: Self::header_of(header)?,
            signing_input,
            signature: b64_decode(signature_b64)?,
            signature_b64,
            payload: b64_decode(payload)?,
        })
    }

    /// The header of a token (or of its first segment alone), a JSON object, read without
    /// decoding the rest.
    pub fn header_of(token: &str) -> Option<Value> {
        let header: Value = serde_json::from_slice(&b64_decode(token.split('.').next()?)?).ok()?;
        header.is_object().then_some(header)
    }

    pub fn alg(&self) -> Option<SigningAlg> {
        SigningAlg::parse(self.header["alg"].as_str()?)
    }
}

/// A compact JWS (RFC 7515 §7.1) of `claims`, signed by `key` under `kid`.
pub fn sign_jws<T: Serialize>(
    key: &dyn ModuleKey,
    kid: &str,
    typ: &str,
    claims: &T,
) -> Result<String, JwtError> {
    let header = serde_json::json!({"typ": typ, "alg": key.alg().as_str(), "kid": kid});
    let header = serde_json::to_vec(&header).map_err(|_| JwtError::Sign)?;
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Sign)?;
    let input = format!("{}.{}", b64(&header), b64(&payload));
    let sig = key.sign(input.as_bytes()).map_err(|_| JwtError::Sign)?;
    Ok(format!("{input}.{}", b64(&sig)))
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

pub use crate::module::seal_context;

/// Generates a new key of `alg` for a tenant in `module` (the software module seals it under
/// the KEK with the tenant's `Suite::seal_alg`).
pub fn generate(
    env: &dyn Env,
    module: &dyn CryptoModule,
    tenant_id: &str,
    alg: SigningAlg,
    suite: &Suite,
) -> Result<SigningKeyRecord, String> {
    generate_at(env, module, tenant_id, alg, suite, env.now(), random_token(env, 12))
}

/// A new key that signs from `activates_at`, under `kid`.
pub fn generate_at(
    env: &dyn Env,
    module: &dyn CryptoModule,
    tenant_id: &str,
    alg: SigningAlg,
    suite: &Suite,
    activates_at: i64,
    kid: String,
) -> Result<SigningKeyRecord, String> {
    let stored = module.generate(env, alg, &kid, suite).map_err(|e| e.to_string())?;
    Ok(SigningKeyRecord {
        kid,
        tenant_id: tenant_id.to_string(),
        alg,
        sealed_private_key: stored,
        created_at: env.now(),
        active: true,
        activates_at,
        retires_at: None,
        revoked_at: None,
    })
}

/// How a key's signatures are checked: by `jsonwebtoken` for the international algorithms, by
/// `crate::sm` for SM2, which it does not know.
enum Verifier {
    Jose(DecodingKey),
    Sm2(Sm2Verifier),
}

/// One usable key: the module's key for signing, its public half for JWKS and verification.
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub active: bool,
    key: Box<dyn ModuleKey>,
    verifier: Verifier,
    /// The public JWK, as published.
    pub jwk: Value,
    /// An RS256 or SM2 key's self-signed certificate (DER), for SAML metadata and signatures.
    saml_certificate: Option<Vec<u8>>,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedKey({} {})", self.kid, self.alg.as_str())
    }
}

/// The public JWK of a key (RFC 7518 §6; GM/T 0125.4 for SM2).
pub fn public_jwk(public: &PublicKey, alg: SigningAlg, kid: &str) -> Value {
    let mut jwk = match public {
        PublicKey::Sm2 { x, y, .. } => return sm2_jwk(x, y, kid),
        PublicKey::P256 { x, y } => {
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)})
        }
        PublicKey::Rsa { n, e, .. } => serde_json::json!({"kty": "RSA", "n": b64(n), "e": b64(e)}),
        PublicKey::Ed25519(x) => serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)}),
    };
    jwk["kid"] = kid.into();
    jwk["use"] = "sig".into();
    jwk["alg"] = alg.as_str().into();
    jwk
}

impl LoadedKey {
    /// Opens a stored key in `module`; an SM2 key signs and verifies under the user ID stored
    /// with it (`sm2_user_id` for a bare scalar).
    pub fn open(
        record: &SigningKeyRecord,
        module: &dyn CryptoModule,
        sm2_user_id: &str,
    ) -> Result<Self, KekError> {
        let key = module.open(record, sm2_user_id)?;
        if key.alg() != record.alg {
            return Err(KekError::Decrypt);
        }
        let public = key.public_key();
        let jwk = public_jwk(&public, record.alg, &record.kid);
        let verifier = match &public {
            PublicKey::Sm2 { x, y, user_id } => {
                Verifier::Sm2(Sm2Verifier::from_xy(x, y, user_id).map_err(|_| KekError::Decrypt)?)
            }
            _ => Verifier::Jose(
                DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).map_err(|_| KekError::Decrypt)?)
                    .map_err(|_| KekError::Decrypt)?,
            ),
        };
        // a key without one signs no SAML: the tenant's SAML pages say so, its tokens go on
        let saml_certificate = saml_certificate(key.as_ref(), &record.kid, record.activates_at);
        Ok(Self {
            kid: record.kid.clone(),
            alg: record.alg,
            active: false,
            key,
            verifier,
            jwk,
            saml_certificate,
        })
    }

    /// The module's key, for signatures other than JWS (SAML).
    pub fn module_key(&self) -> &dyn ModuleKey {
        self.key.as_ref()
    }
}

/// A module key as `rcgen` signs certificates with it: RSA PKCS#1 v1.5 with SHA-256.
struct CertSigner<'a> {
    key: &'a dyn ModuleKey,
    spki: Vec<u8>,
}

impl rcgen::PublicKeyData for CertSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.spki
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for CertSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.key.sign_certificate(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// The self-signed certificate SAML metadata publishes for an RS256 or SM2 key. Every node
/// derives the same bytes from the key, its kid and its activation (validity from the
/// activation, twenty years; serial from the kid; a deterministic signature), so nothing more
/// is stored.
pub fn saml_certificate(key: &dyn ModuleKey, kid: &str, activates_at: i64) -> Option<Vec<u8>> {
    let mut serial = crate::crypto::sha256(kid.as_bytes())[..16].to_vec();
    serial[0] &= 0x7f;
    let common_name = format!("SAML signing key {kid}");
    let twenty_years = 20 * 365 * 86_400;
    let spki = match (key.alg(), key.public_key()) {
        (SigningAlg::RS256, PublicKey::Rsa { pkcs1, .. }) => pkcs1,
        (SigningAlg::SM2, PublicKey::Sm2 { .. }) => {
            let p = crate::x509::CertificateParams {
                common_name: &common_name,
                dns_names: &[],
                serial: &serial,
                not_before: activates_at.max(0),
                not_after: activates_at.max(0) + twenty_years,
            };
            return crate::x509::sm2_self_signed(key, &p);
        }
        _ => return None,
    };
    let key = CertSigner { key, spki };
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).ok()?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    let from = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(activates_at.max(0) as u64);
    p.not_before = from;
    p.not_after = from + std::time::Duration::from_secs(twenty_years as u64);
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
    /// The tenant's profile: which algorithm signs for which client.
    pub suite: Suite,
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
        module: &dyn CryptoModule,
        kek: &Kek,
        suite: &Suite,
        tenant_id: &str,
        now: i64,
    ) -> Result<Self, KekError> {
        // keys of algorithms the profile left keep verifying until what they signed has expired
        let leaving_published = now < suite.leaving_until;
        let published: Vec<&SigningKeyRecord> = records
            .iter()
            .filter(|r| r.revoked_at.is_none() && r.retires_at.is_none_or(|t| t > now))
            .filter(|r| suite.allows(r.alg) || leaving_published)
            .collect();
        let mut keys: Vec<LoadedKey> = published
            .iter()
            .map(|r| LoadedKey::open(r, module, &suite.sm2_user_id))
            .collect::<Result<_, _>>()?;
        for &alg in suite.algs() {
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
            .chain([published.iter().any(|r| !suite.allows(r.alg)).then_some(suite.leaving_until)])
            .flatten()
            .filter(|t| *t > now)
            .min();
        Ok(Self {
            keys,
            sealer: kek.derive(&format!("access-token-seal:{tenant_id}")),
            suite: suite.clone(),
            next_change_at,
        })
    }

    /// The algorithm SAML signs with: RSA-SHA256, which every service provider reads, unless
    /// the profile has no RSA (`sm`): then SM2-SM3 (`crate::saml::xml::Methods`).
    pub fn saml_alg(&self) -> SigningAlg {
        if self.suite.allows(SigningAlg::RS256) { SigningAlg::RS256 } else { SigningAlg::SM2 }
    }

    /// The SAML signer: the active key of [`Self::saml_alg`] and its certificate.
    pub fn saml_signer(&self) -> Option<(&dyn ModuleKey, &[u8])> {
        let key = self.signer(self.saml_alg())?;
        Some((key.module_key(), key.saml_certificate.as_deref()?))
    }

    /// The certificates of every published key of [`Self::saml_alg`] (the signing one, the
    /// next, the retiring), for SAML metadata: a service provider that reads it regularly
    /// trusts the next key before it signs.
    pub fn saml_certificates(&self) -> Vec<Vec<u8>> {
        let alg = self.saml_alg();
        self.keys.iter().filter(|k| k.alg == alg).filter_map(|k| k.saml_certificate.clone()).collect()
    }

    /// The JWK Set document (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(|k| &k.jwk).collect::<Vec<_>>() })
    }

    /// The algorithm that signs for a client registered with `requested` (the tenant's suite
    /// decides: `crate::suite::Suite::signing_alg`).
    pub fn alg_for(&self, requested: SigningAlg) -> SigningAlg {
        self.suite.signing_alg(requested)
    }

    /// The newest active key of `alg`.
    fn signer(&self, alg: SigningAlg) -> Option<&LoadedKey> {
        self.keys.iter().rev().find(|k| k.alg == alg && k.active)
    }

    /// A JWT of `claims` for a client registered with `alg`, signed by the tenant's current key
    /// of the algorithm its suite chooses for that ([`Self::alg_for`]).
    pub fn sign<T: Serialize>(&self, alg: SigningAlg, typ: &str, claims: &T) -> Result<String, JwtError> {
        let alg = self.alg_for(alg);
        let key = self.signer(alg).ok_or(JwtError::NoKey(alg.as_str()))?;
        sign_jws(key.key.as_ref(), &key.kid, typ, claims)
    }

    /// The `typ` of a JWT's header (`JWT` for ID tokens, `at+jwt` for access tokens,
    /// `logout+jwt` for logout tokens), read without verifying anything.
    pub fn typ_of(token: &str) -> Option<String> {
        CompactJws::header_of(token)?["typ"].as_str().map(str::to_string)
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
        let invalid = |why: &str| JwtError::Invalid(why.to_string());
        let jws = CompactJws::parse(token).ok_or_else(|| invalid("not a compact JWS"))?;
        let kid = jws.header["kid"].as_str().ok_or_else(|| invalid("no kid"))?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or_else(|| invalid("unknown kid"))?;
        if jws.alg() != Some(key.alg) {
            return Err(invalid("alg is not the key's"));
        }
        let valid = match &key.verifier {
            Verifier::Sm2(verifier) => verifier.verify_raw(jws.signing_input.as_bytes(), &jws.signature),
            Verifier::Jose(decoding) => {
                let alg = jwt_alg(key.alg).ok_or_else(|| invalid("alg"))?;
                jsonwebtoken::crypto::verify(jws.signature_b64, jws.signing_input.as_bytes(), decoding, alg)
                    .unwrap_or(false)
            }
        };
        if !valid {
            return Err(invalid("signature"));
        }
        let claims: Value =
            serde_json::from_slice(&jws.payload).map_err(|e| JwtError::Invalid(e.to_string()))?;
        if claims["iss"].as_str() != Some(issuer) {
            return Err(invalid("issuer"));
        }
        if !allow_expired && claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
            return Err(invalid("expired"));
        }
        serde_json::from_value(claims).map_err(|e| JwtError::Invalid(e.to_string()))
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
        let records: Vec<_> = SigningAlg::ALL
            .iter()
            .map(|a| generate(&SystemEnv, &sw(&kek), "t1", *a, &Suite::default()).unwrap())
            .collect();
        let set = KeySet::load(&records, &sw(&kek), &kek, &dual(), "t", SystemEnv.now()).unwrap();
        let now = SystemEnv.now();
        for alg in SigningAlg::ALL {
            let claims = serde_json::json!({"iss": "https://x", "exp": now + 60, "sub": "a"});
            let jwt = set.sign(alg, "JWT", &claims).unwrap();
            let back: serde_json::Value = set.verify(&jwt, "https://x", false, now).unwrap();
            assert_eq!(back["sub"], "a");
            assert!(set.verify::<serde_json::Value>(&jwt, "https://y", false, now).is_err());
            assert!(set.verify::<serde_json::Value>(&jwt, "https://x", false, now + 61).is_err());
        }
        let jwks = set.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 5);
        let sm2 = jwks["keys"].as_array().unwrap().iter().find(|k| k["crv"] == "sm2p256v1").unwrap();
        assert_eq!((&sm2["kty"], &sm2["alg"]), (&"EC".into(), &"SGD_SM3_SM2".into()));
        let text = jwks.to_string();
        assert!(!text.contains("\"d\""), "private parts must never be published: {text}");
    }

    #[test]
    fn wrong_kek_cannot_open_keys() {
        let kek = Kek::generate(&SystemEnv);
        let rec = generate(&SystemEnv, &sw(&kek), "t1", SigningAlg::ES256, &Suite::default()).unwrap();
        assert!(LoadedKey::open(&rec, &sw(&Kek::generate(&SystemEnv)), "").is_err());
    }

    pub(super) fn sw(kek: &Kek) -> crate::module::SoftwareModule {
        crate::module::SoftwareModule::new(kek.clone())
    }

    fn dual() -> Suite {
        Suite::of(&crate::model::CryptoSettings {
            profile: crate::model::CryptoProfile::Dual,
            ..Default::default()
        })
    }

    #[test]
    fn sm2_tokens_are_compact_jws_verified_with_sm3_and_the_user_id() {
        let kek = Kek::generate(&SystemEnv);
        let now = SystemEnv.now();
        let records = vec![generate(&SystemEnv, &sw(&kek), "t", SigningAlg::SM2, &Suite::default()).unwrap()];
        let sm = Suite::of(&crate::model::CryptoSettings {
            profile: crate::model::CryptoProfile::Sm,
            ..Default::default()
        });
        let set = KeySet::load(&records, &sw(&kek), &kek, &sm, "t", now).unwrap();
        let claims = serde_json::json!({"iss": "https://x", "exp": now + 60});
        // a client registered for ES256 gets SM2 on an `sm` tenant
        let jwt = set.sign(SigningAlg::ES256, "JWT", &claims).unwrap();
        let jws = CompactJws::parse(&jwt).unwrap();
        assert_eq!(jws.header["alg"], "SGD_SM3_SM2");
        assert_eq!(jws.signature.len(), 64, "raw r || s");
        assert_eq!(KeySet::typ_of(&jwt).as_deref(), Some("JWT"));
        let key = sm2_verifier_of(&set.jwks()["keys"][0], crate::sm::DEFAULT_USER_ID).unwrap();
        assert!(key.verify(jws.signing_input.as_bytes(), &jws.signature));
        assert!(
            !sm2_verifier_of(&set.jwks()["keys"][0], "")
                .unwrap()
                .verify(jws.signing_input.as_bytes(), &jws.signature)
        );
        assert!(set.verify::<Value>(&jwt, "https://x", false, now).is_ok());
        // the user ID is the key's own, sealed with it: a tenant that changes its ID still
        // verifies what the key signed, and a key made after the change signs under the new one
        let alice = Suite::of(&crate::model::CryptoSettings {
            profile: crate::model::CryptoProfile::Sm,
            sm2_user_id: Some("alice".into()),
            ..Default::default()
        });
        assert!(
            KeySet::load(&records, &sw(&kek), &kek, &alice, "t", now)
                .unwrap()
                .verify::<Value>(&jwt, "https://x", false, now)
                .is_ok()
        );
        let records = vec![generate(&SystemEnv, &sw(&kek), "t", SigningAlg::SM2, &alice).unwrap()];
        let set = KeySet::load(&records, &sw(&kek), &kek, &sm, "t", now).unwrap();
        let jwt = set.sign(SigningAlg::SM2, "JWT", &claims).unwrap();
        let jws = CompactJws::parse(&jwt).unwrap();
        let default_id = sm2_verifier_of(&set.jwks()["keys"][0], crate::sm::DEFAULT_USER_ID).unwrap();
        assert!(!default_id.verify(jws.signing_input.as_bytes(), &jws.signature));
        let alice_id = sm2_verifier_of(&set.jwks()["keys"][0], "alice").unwrap();
        assert!(alice_id.verify(jws.signing_input.as_bytes(), &jws.signature));
        // a header naming another algorithm for the SM2 key is refused; so is a changed payload
        let (_, rest) = jwt.split_once('.').unwrap();
        let forged = format!("{}.{rest}", b64(br#"{"alg":"ES256","kid":"x"}"#));
        assert!(set.verify::<Value>(&forged, "https://x", false, now).is_err());
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let payload = b64(br#"{"iss":"https://x","exp":9999999999,"admin":true}"#);
        parts[1] = &payload;
        assert!(set.verify::<Value>(&parts.join("."), "https://x", false, now).is_err());
    }
}

#[cfg(test)]
mod schedule {
    use super::*;
    use crate::TestEnv;
    use tests::sw;

    #[test]
    fn keys_are_published_ahead_sign_in_turn_and_retire() {
        let env = TestEnv::default();
        let kek = Kek::generate(&env);
        let t0 = env.now();
        let p = RotationPolicy { every: 1000, publish_ahead: 100 };
        let mut records = vec![generate(&env, &sw(&kek), "t", SigningAlg::ES256, &Suite::default()).unwrap()];
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 899, p), None, "not yet");
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 900, p), Some(t0 + 1000));
        assert_eq!(next_rotation(&records, SigningAlg::RS256, t0 + 900, p), None, "no key of that alg");
        let kid = scheduled_kid(&kek, "t", SigningAlg::ES256, t0 + 1000);
        assert_eq!(kid, scheduled_kid(&kek, "t", SigningAlg::ES256, t0 + 1000), "the same on every node");
        let mut next =
            generate_at(&env, &sw(&kek), "t", SigningAlg::ES256, &Suite::default(), t0 + 1000, kid).unwrap();
        next.created_at = t0 + 900;
        records[0].retires_at = Some(retirement(t0 + 1000));
        records.push(next);
        assert_eq!(next_rotation(&records, SigningAlg::ES256, t0 + 950, p), None, "a successor exists");
        let at = |records: &[SigningKeyRecord], now: i64| {
            let set = KeySet::load(records, &sw(&kek), &kek, &Suite::default(), "t", now).unwrap();
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

#[cfg(test)]
mod profile_switch {
    use super::*;
    use crate::TestEnv;
    use crate::model::{CryptoProfile, CryptoSettings};
    use tests::sw;

    #[test]
    fn keys_of_a_left_profile_verify_until_their_tokens_expire_and_never_sign() {
        let env = TestEnv::default();
        let kek = Kek::generate(&env);
        let t0 = env.now();
        let mut records: Vec<_> = SigningAlg::INTERNATIONAL
            .iter()
            .map(|a| generate(&env, &sw(&kek), "t", *a, &Suite::default()).unwrap())
            .collect();
        let intl = KeySet::load(&records, &sw(&kek), &kek, &Suite::default(), "t", t0).unwrap();
        let old =
            intl.sign(SigningAlg::ES256, "JWT", &serde_json::json!({"iss": "i", "exp": t0 + 600})).unwrap();
        // the tenant moves to `sm` at t0: an SM2 key is made and signs at once
        let sm = Suite::of(&CryptoSettings {
            profile: CryptoProfile::Sm,
            changed_at: Some(t0),
            ..Default::default()
        });
        records.push(generate_at(&env, &sw(&kek), "t", SigningAlg::SM2, &sm, t0, "sm2".into()).unwrap());
        let set = KeySet::load(&records, &sw(&kek), &kek, &sm, "t", t0 + 1).unwrap();
        assert_eq!(set.keys.len(), 5, "the international keys stay published");
        assert_eq!(
            set.keys.iter().filter(|k| k.active).map(|k| k.alg).collect::<Vec<_>>(),
            vec![SigningAlg::SM2]
        );
        assert!(set.verify::<Value>(&old, "i", false, t0 + 1).is_ok(), "a token in flight still verifies");
        let new =
            set.sign(SigningAlg::ES256, "JWT", &serde_json::json!({"iss": "i", "exp": t0 + 600})).unwrap();
        assert_eq!(CompactJws::parse(&new).unwrap().alg(), Some(SigningAlg::SM2));
        assert_eq!(set.next_change_at, Some(retirement(t0)), "reloaded when they go");
        let later = KeySet::load(&records, &sw(&kek), &kek, &sm, "t", retirement(t0)).unwrap();
        assert_eq!(later.keys.iter().map(|k| k.alg).collect::<Vec<_>>(), vec![SigningAlg::SM2]);
        assert_eq!(later.next_change_at, None);
    }
}
