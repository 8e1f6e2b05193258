//! The commercial cryptography (商用密码) primitives, each checked against its standard's own
//! test vectors below:
//!
//! - SM2 signatures (GB/T 32918.2-2016, GM/T 0003.2): the digest is SM3 over
//!   `Z_A || M`, where `Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)` binds
//!   the signer's distinguishing identifier. The identifier is [`DEFAULT_USER_ID`]
//!   (GM/T 0009-2012 §10) unless a tenant sets another: some tools (OpenSSL before 3.0's SM2
//!   rework, some Java providers) default to an empty one, and then nothing verifies.
//!   Signatures travel as the raw 64 bytes `r || s` (each 32 bytes, big-endian), as JOSE does
//!   for ECDSA (RFC 7518 §3.4); [`sm2_verify`] also takes the DER `SEQUENCE { r, s }` of
//!   GM/T 0009 §7.3, which some signers send.
//! - SM3 (GB/T 32905-2016) and HMAC-SM3 (RFC 2104 over SM3).
//! - SM4 (GB/T 32907-2016) in GCM mode (NIST SP 800-38D with SM4 as the block cipher; RFC 8998
//!   §3.1 gives its test vector): 12-byte nonce, 16-byte tag.
//!
//! The implementations are RustCrypto's `sm2`, `sm3`, `sm4`, `hmac` and `aes-gcm` crates;
//! none is formally audited, which is why the vectors are here and why the end-to-end tests
//! verify our SM2 tokens and SM3 hashes with npm `sm-crypto` and PyPI `gmssl`.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hmac::Mac;
use sm2::dsa::signature::Verifier;
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm3::{Digest, Sm3};

use crate::Env;
#[cfg(test)]
use crate::crypto::hex;

/// The default SM2 user identifier of GM/T 0009-2012 §10: the ASCII string "1234567812345678".
pub const DEFAULT_USER_ID: &str = "1234567812345678";

/// SM3 of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// HMAC-SM3 of `data` under `key` (any length).
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = hmac::Hmac::<Sm3>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;
/// The SM4-GCM nonce length.
pub const SM4_GCM_NONCE: usize = 12;

/// SM4-GCM under a 16-byte key: `nonce || ciphertext || tag`, `aad` authenticated.
pub fn sm4_gcm_seal(key: &[u8; 16], nonce: &[u8; SM4_GCM_NONCE], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Sm4Gcm::new(key.into());
    // encrypt only fails for inputs beyond GCM's 2^36-byte limit, far past anything sealed here
    #[allow(clippy::expect_used)]
    let sealed = cipher
        .encrypt(nonce.into(), Payload { msg: plaintext, aad })
        .expect("SM4-GCM sealing of an in-memory buffer");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`sm4_gcm_seal`] made; `None` when the key, the `aad` or any byte differs.
pub fn sm4_gcm_open(key: &[u8; 16], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SM4_GCM_NONCE + 16 {
        return None;
    }
    let (nonce, rest) = sealed.split_at(SM4_GCM_NONCE);
    let nonce: &[u8; SM4_GCM_NONCE] = nonce.try_into().ok()?;
    Sm4Gcm::new(key.into()).decrypt(nonce.into(), Payload { msg: rest, aad }).ok()
}

/// A new SM2 private key (the 32-byte scalar d, 1 <= d <= n-2) from the environment's randomness.
pub fn sm2_generate(env: &dyn Env) -> [u8; 32] {
    loop {
        let mut d = [0u8; 32];
        env.fill_random(&mut d);
        if SigningKey::from_slice(DEFAULT_USER_ID, &d).is_ok() {
            return d;
        }
    }
}

/// The recommended curve's parameters that enter `Z_A` (GB/T 32918.5-2017 §4).
const CURVE_A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const CURVE_B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const GX: [u8; 32] = hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const GY: [u8; 32] = hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        _ => c - b'a' + 10,
    }
}

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// `Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` (GB/T 32918.2-2016 §5.5).
pub fn sm2_z(user_id: &str, x: &[u8; 32], y: &[u8; 32]) -> [u8; 32] {
    let entl = u16::try_from(user_id.len() * 8).unwrap_or(u16::MAX);
    let mut h = Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(user_id.as_bytes());
    for part in [&CURVE_A, &CURVE_B, &GX, &GY, x, y] {
        h.update(part);
    }
    h.finalize().into()
}

/// An SM2 signing key with the identifier it signs under. `Debug` shows neither.
///
/// It signs by GB/T 32918.2 §6.1 on the `sm2` crate's constant-time arithmetic, with what
/// does not change between signatures computed once — `Z_A`, and `(1 + d)^-1` — and a random
/// `k` from the operating system (as the standard has it): the crate's own signer inverts
/// `1 + d` and runs an SM3 HMAC-DRBG for every signature, a third of the time of each. Every
/// signature is checked against the crate's verifier in the tests, and against npm sm-crypto
/// and PyPI gmssl end to end.
#[derive(Clone)]
pub struct Sm2Signer {
    key: SigningKey,
    z: [u8; 32],
    d: sm2::Scalar,
    d1_inv: sm2::Scalar,
}

impl std::fmt::Debug for Sm2Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm2Signer([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a usable SM2 key or user identifier")]
pub struct Sm2KeyError;

/// Signing nonces made ahead: pairs of a random `k` in [1, n-1] and the x coordinate of
/// `[k]G` reduced mod n. Made [`NONCE_BATCH`] at a time, the points brought to affine form
/// together with one field inversion (Montgomery's trick) instead of one per signature; each
/// pair is taken out once and never given again. They do not depend on the key, so one pool
/// serves every SM2 key. GmSSL signs the same way from precomputed `(k, x1)`
/// (`sm2_sign_pre_compute`, `sm2_do_sign_fast`).
static NONCES: std::sync::Mutex<Vec<(sm2::Scalar, sm2::Scalar)>> = std::sync::Mutex::new(Vec::new());
const NONCE_BATCH: usize = 16;

/// A nonce pair from the pool, which refills it a batch at a time when it is empty.
fn nonce() -> (sm2::Scalar, sm2::Scalar) {
    use sm2::elliptic_curve::ops::Reduce;
    use sm2::elliptic_curve::point::AffineCoordinates;
    use sm2::elliptic_curve::{BatchNormalize, Group, PrimeField};
    let pool = || NONCES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pair) = pool().pop() {
        return pair;
    }
    let mut ks = [sm2::Scalar::ONE; NONCE_BATCH];
    for k in &mut ks {
        *k = loop {
            let mut bytes = sm2::FieldBytes::default();
            crate::Env::fill_random(&crate::SystemEnv, &mut bytes);
            match Option::<sm2::Scalar>::from(sm2::Scalar::from_repr(bytes)) {
                Some(k) if !bool::from(k.is_zero()) => break k,
                _ => continue,
            }
        };
    }
    let points = ks.map(|k| sm2::ProjectivePoint::mul_by_generator(&k));
    let affine = <sm2::ProjectivePoint as BatchNormalize<_>>::batch_normalize(&points);
    let mut pairs: Vec<_> = ks
        .into_iter()
        .zip(affine)
        .map(|(k, p)| (k, <sm2::Scalar as Reduce<sm2::FieldBytes>>::reduce(&p.x())))
        .collect();
    let first = pairs.pop().expect("a batch is not empty");
    pool().extend(pairs);
    first
}

impl Sm2Signer {
    pub fn new(d: &[u8], user_id: &str) -> Result<Self, Sm2KeyError> {
        let key = SigningKey::from_slice(user_id, d).map_err(|_| Sm2KeyError)?;
        let scalar: sm2::Scalar = *key.as_nonzero_scalar().as_ref();
        let d1_inv = Option::<sm2::Scalar>::from((scalar + sm2::Scalar::ONE).invert()).ok_or(Sm2KeyError)?;
        let mut signer = Self { key, z: [0; 32], d: scalar, d1_inv };
        let (x, y) = signer.public_xy();
        signer.z = sm2_z(user_id, &x, &y);
        Ok(signer)
    }

    /// The same key signing under another user ID.
    pub fn with_user_id(&self, user_id: &str) -> Result<Self, Sm2KeyError> {
        use sm2::elliptic_curve::PrimeField;
        Self::new(&self.d.to_repr(), user_id)
    }

    /// The public point's affine coordinates (x, y), 32 bytes each.
    pub fn public_xy(&self) -> ([u8; 32], [u8; 32]) {
        let sec1 = self.key.verifying_key().to_sec1_bytes();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // an uncompressed SEC1 point is 0x04 || x || y
        x.copy_from_slice(&sec1[1..33]);
        y.copy_from_slice(&sec1[33..65]);
        (x, y)
    }

    /// The signature of `message` as `r || s` (64 bytes), with a fresh random `k` from
    /// [`nonce`].
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], Sm2KeyError> {
        use sm2::elliptic_curve::PrimeField;
        use sm2::elliptic_curve::ops::Reduce;
        // A1-A2: e = SM3(Z_A || M)
        let mut h = Sm3::new();
        h.update(self.z);
        h.update(message);
        let e = <sm2::Scalar as Reduce<sm2::FieldBytes>>::reduce(&h.finalize());
        for _ in 0..64 {
            // A3-A4: k in [1, n-1] and x1 of (x1, y1) = [k]G
            let (k, x1) = nonce();
            // A5: r = (e + x1) mod n, again if r = 0 or r + k = n
            let r = e + x1;
            if bool::from(r.is_zero() | (r + k).is_zero()) {
                continue;
            }
            // A6: s = (1 + d)^-1 * (k - r * d) mod n, again if s = 0
            let s = self.d1_inv * (k - r * self.d);
            if bool::from(s.is_zero()) {
                continue;
            }
            let sig = Signature::from_scalars(r.to_repr(), s.to_repr()).map_err(|_| Sm2KeyError)?;
            return Ok(sig.to_bytes().into());
        }
        Err(Sm2KeyError)
    }

    /// The signature of `message` with a deterministic `k` (RFC 6979, by the `sm2` crate's own
    /// signer): the same bytes every time, for what every node must derive alike (a
    /// certificate); slower than [`Self::sign`].
    pub fn sign_deterministic(&self, message: &[u8]) -> Result<[u8; 64], Sm2KeyError> {
        use sm2::dsa::signature::Signer;
        let sig: Signature = self.key.try_sign(message).map_err(|_| Sm2KeyError)?;
        Ok(sig.to_bytes().into())
    }
}

/// An SM2 public key with the identifier its signatures are made under.
#[derive(Clone, Debug)]
pub struct Sm2Verifier {
    key: VerifyingKey,
}

impl Sm2Verifier {
    /// From the affine coordinates; refused when the point is not on the curve.
    pub fn from_xy(x: &[u8], y: &[u8], user_id: &str) -> Result<Self, Sm2KeyError> {
        if x.len() != 32 || y.len() != 32 {
            return Err(Sm2KeyError);
        }
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(x);
        sec1.extend_from_slice(y);
        Ok(Self { key: VerifyingKey::from_sec1_bytes(user_id, &sec1).map_err(|_| Sm2KeyError)? })
    }

    /// Whether `signature`, the raw 64 bytes `r || s` only, is this key's signature of
    /// `message` (our own tokens: one encoding, as JOSE has it).
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == 64 && self.verify(message, signature)
    }

    /// Whether `signature`, DER-encoded only, is this key's signature of `message` (TLS
    /// CertificateVerify, RFC 8998 §3.2.1).
    pub fn verify_der(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.first() == Some(&0x30) && signature.len() != 64 && self.verify(message, signature)
    }

    /// Whether `signature` (raw `r || s`, or DER) is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let sig = match signature.len() {
            64 => Signature::from_slice(signature),
            _ => Signature::from_der(signature),
        };
        sig.is_ok_and(|sig| self.key.verify(message, &sig).is_ok())
    }
}

#[cfg(test)]
mod vectors {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        crate::crypto::unhex(&s).unwrap()
    }

    /// GB/T 32905-2016 Appendix A, examples 1 and 2.
    #[test]
    fn sm3_standard_examples() {
        assert_eq!(hex(&sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        assert_eq!(
            hex(&sm3(&b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    /// GB/T 32907-2016 Appendix A, examples 1 and 2 (one encryption, and a million in a row).
    #[test]
    fn sm4_standard_examples() {
        use sm4::cipher::{BlockCipherEncrypt, KeyInit};
        let key = unhex("0123456789abcdeffedcba9876543210");
        let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::Block::<sm4::Sm4>::try_from(key.as_slice()).unwrap();
        cipher.encrypt_block(&mut block);
        assert_eq!(block.to_vec(), unhex("681edf34d206965e86b3e94f536e4246"));
        for _ in 1..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(block.to_vec(), unhex("595298c7c6fd271f0402f804c33d3f66"));
    }

    /// RFC 8998 Appendix A.1: SM4-GCM.
    #[test]
    fn sm4_gcm_rfc8998_example() {
        let key: [u8; 16] = unhex("0123456789ABCDEFFEDCBA9876543210").try_into().unwrap();
        let nonce: [u8; 12] = unhex("00001234567800000000ABCD").try_into().unwrap();
        let aad = unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plain = unhex(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        );
        let sealed = sm4_gcm_seal(&key, &nonce, &plain, &aad);
        let expected = unhex(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D
             83DE3541E4C2B58177E065A9BF7B62EC",
        );
        assert_eq!(&sealed[..12], &nonce);
        assert_eq!(hex(&sealed[12..]), hex(&expected));
        assert_eq!(sm4_gcm_open(&key, &sealed, &aad).unwrap(), plain);
        assert!(sm4_gcm_open(&key, &sealed, b"other").is_none());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(sm4_gcm_open(&key, &bad, &aad).is_none());
        assert!(sm4_gcm_open(&key, &sealed[..20], &aad).is_none());
    }

    /// GM/T 0003.5-2012 (GB/T 32918.5-2017) Appendix A: the signature example on the
    /// recommended curve, with ID_A = "1234567812345678" and M = "message digest".
    #[test]
    fn sm2_standard_signature_example() {
        let x = unhex("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020");
        let y = unhex("CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13");
        let d = unhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
        let mut sig = unhex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3");
        sig.extend(unhex("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"));
        let verifier = Sm2Verifier::from_xy(&x, &y, DEFAULT_USER_ID).unwrap();
        assert!(verifier.verify(b"message digest", &sig));
        assert!(!verifier.verify(b"message digesT", &sig));
        // the identifier is part of what is signed: an empty one (some tools' default) fails
        assert!(!Sm2Verifier::from_xy(&x, &y, "").unwrap().verify(b"message digest", &sig));
        // the private key of the example has the example's public key
        let signer = Sm2Signer::new(&d, DEFAULT_USER_ID).unwrap();
        assert_eq!(signer.public_xy(), (x.clone().try_into().unwrap(), y.clone().try_into().unwrap()));
        // Z_A as the standard's example gives it
        let xy = |v: &[u8]| <[u8; 32]>::try_from(v).unwrap();
        assert_eq!(
            hex(&sm2_z(DEFAULT_USER_ID, &xy(&x), &xy(&y))),
            "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3"
        );
        // our own signatures verify, in raw and DER form, and only under the same identifier;
        // the crate's signer and ours agree on what a signature of the message is
        let ours = signer.sign(b"message digest").unwrap();
        assert_ne!(ours, signer.sign(b"message digest").unwrap(), "a fresh k each time");
        assert!(verifier.verify(b"message digest", &signer.sign_deterministic(b"message digest").unwrap()));
        for i in 0..200u32 {
            let m = i.to_be_bytes();
            assert!(verifier.verify(&m, &signer.sign(&m).unwrap()), "message {i}");
        }
        assert!(verifier.verify(b"message digest", &ours));
        let der = Signature::from_slice(&ours).unwrap().to_der();
        assert!(verifier.verify(b"message digest", der.as_bytes()));
        let other_id = Sm2Signer::new(&d, "alice@example").unwrap().sign(b"message digest").unwrap();
        assert!(!verifier.verify(b"message digest", &other_id));
        // points off the curve are refused
        assert!(Sm2Verifier::from_xy(&x, &x, DEFAULT_USER_ID).is_err());
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let d = sm2_generate(&crate::SystemEnv);
        let signer = Sm2Signer::new(&d, DEFAULT_USER_ID).unwrap();
        let (x, y) = signer.public_xy();
        let sig = signer.sign(b"payload").unwrap();
        assert!(Sm2Verifier::from_xy(&x, &y, DEFAULT_USER_ID).unwrap().verify(b"payload", &sig));
        assert!(!format!("{signer:?}").contains(&hex(&d)));
    }

    #[test]
    fn nonces_made_in_batches_sign_verifiably_and_never_repeat() {
        let d = sm2_generate(&crate::SystemEnv);
        let signer = Sm2Signer::new(&d, DEFAULT_USER_ID).unwrap();
        let (x, y) = signer.public_xy();
        let verifier = Sm2Verifier::from_xy(&x, &y, DEFAULT_USER_ID).unwrap();
        // across several batches, from several threads at once
        let sigs: Vec<[u8; 64]> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..3 * NONCE_BATCH).map(|_| signer.sign(b"m").unwrap()).collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        assert!(sigs.iter().all(|sig| verifier.verify_raw(b"m", sig)));
        // r = e + x1 with one e: a repeated r would be a repeated k
        let rs: std::collections::HashSet<&[u8]> = sigs.iter().map(|s| &s[..32]).collect();
        assert_eq!(rs.len(), sigs.len());
    }

    #[test]
    fn hmac_sm3_is_keyed() {
        let a = hmac_sm3(b"key", b"data");
        assert_ne!(a, hmac_sm3(b"key2", b"data"));
        assert_ne!(a, sm3(b"data"));
        // keys longer than SM3's 64-byte block are hashed first (RFC 2104 §2)
        assert_eq!(hmac_sm3(&[7u8; 100], b"x"), hmac_sm3(&sm3(&[7u8; 100]), b"x"));
    }
}
