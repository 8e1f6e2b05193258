//! Small cryptographic helpers: random handles, SHA-256 digests of server-generated secrets,
//! constant-time comparison and the sealing of secrets at rest under the key-encryption key
//! (KEK): AES-256-GCM, or SM4-GCM for tenants whose cryptography profile asks for SM
//! algorithms (`crate::suite`; docs/cryptography.md). Whatever sealed a value, [`Kek::open`]
//! opens it, so a tenant's data can be re-sealed while it is in use.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::Env;

/// base64url without padding, the encoding of every handle and JOSE value.
pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(data).ok()
}

/// Standard base64 (with padding), whitespace ignored: certificates in XML and metadata.
pub fn b64_std_decode(data: &str) -> Option<Vec<u8>> {
    let clean: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// A random handle of `bytes` bytes of entropy, base64url encoded.
pub fn random_token(env: &dyn Env, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    env.fill_random(&mut buf);
    b64(&buf)
}

/// SHA-256 of a high-entropy, server-generated secret (client secrets, codes, refresh tokens,
/// session ids). These are stored only as this digest; slow hashes are for what people choose.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// Lower-case hex of `data`.
pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex text (either case); `None` for an odd length or a non-hex character.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

pub fn sha384(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA384, data).as_ref().to_vec()
}

pub fn sha512(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA512, data).as_ref().to_vec()
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA-256 of `data` under an arbitrary `key`, as lower-case hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key), data);
    hex(tag.as_ref())
}

/// How a value is sealed at rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SealAlg {
    /// AES-256-GCM: `nonce (12) || ciphertext || tag (16)`.
    #[default]
    Aes256Gcm,
    /// SM4-GCM (GB/T 32907, `crate::sm`): [`SM4_SEALED`] `|| nonce (12) || ciphertext || tag (16)`,
    /// under a 128-bit key derived from the KEK.
    Sm4Gcm,
}

/// The keyed hash of a value at rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MacAlg {
    #[default]
    HmacSha256,
    /// HMAC-SM3 (`crate::sm::hmac_sm3`).
    HmacSm3,
}

/// What an SM4-sealed value starts with. An AES-sealed value starts with its random nonce, so
/// one in 2^32 of them starts so too: [`Kek::open`] then falls back to AES-GCM, whose tag
/// decides.
pub const SM4_SEALED: &[u8; 4] = b"SM4\x01";

/// What a keyed hash made with HMAC-SM3 starts with, as stored.
pub const SM3_TAG: &str = "sm3:";

/// A keyed hash as stored: HMAC-SHA-256 as lower-case hex (the form from before SM profiles),
/// HMAC-SM3 as `sm3:` and lower-case hex, so a value tells which made it.
pub fn tagged_mac(key: &Kek, alg: MacAlg, data: &[u8]) -> String {
    match alg {
        MacAlg::HmacSha256 => hex(&key.mac(data)),
        MacAlg::HmacSm3 => format!("{SM3_TAG}{}", hex(&key.mac_sm3(data))),
    }
}

/// The key-encryption key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Kek {
    key: [u8; 32],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error("the key-encryption key must be 32 bytes, base64url or standard base64 encoded")]
    BadKey,
    #[error("a secret could not be decrypted with the configured key-encryption key")]
    Decrypt,
}

impl Kek {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self { key }
    }

    pub fn generate(env: &dyn Env) -> Self {
        let mut key = [0u8; 32];
        env.fill_random(&mut key);
        Self { key }
    }

    pub fn parse(encoded: &str) -> Result<Self, KekError> {
        let trimmed = encoded.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(trimmed.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(trimmed))
            .map_err(|_| KekError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KekError::BadKey)?;
        Ok(Self { key })
    }

    pub fn encode(&self) -> String {
        b64(&self.key)
    }

    /// HMAC-SHA-256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        let tag =
            aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.key), data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// HMAC-SM3 of `data` under this key.
    pub fn mac_sm3(&self, data: &[u8]) -> [u8; 32] {
        crate::sm::hmac_sm3(&self.key, data)
    }

    /// A subkey for one purpose (HMAC-SHA-256 of the label under this key, as in HKDF-Expand
    /// with a single block): the same on every node that has the same KEK.
    pub fn derive(&self, label: &str) -> Kek {
        Self { key: self.mac(label.as_bytes()) }
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always a valid AES-256 key.
        #[allow(clippy::expect_used)]
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key).expect("32-byte AES key"))
    }

    /// nonce || ciphertext || tag; `context` is bound as associated data.
    pub fn seal(&self, env: &dyn Env, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        env.fill_random(&mut nonce);
        let mut out = plaintext.to_vec();
        #[allow(clippy::expect_used)]
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut out,
            )
            .expect("AES-GCM sealing cannot fail for in-memory buffers");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// Seals with `alg` (see [`SealAlg`]); `context` is bound as associated data.
    pub fn seal_with(&self, env: &dyn Env, alg: SealAlg, plaintext: &[u8], context: &str) -> Vec<u8> {
        match alg {
            SealAlg::Aes256Gcm => self.seal(env, plaintext, context),
            SealAlg::Sm4Gcm => {
                let mut nonce = [0u8; crate::sm::SM4_GCM_NONCE];
                env.fill_random(&mut nonce);
                let mut out = SM4_SEALED.to_vec();
                out.extend(crate::sm::sm4_gcm_seal(&self.sm4_key(), &nonce, plaintext, context.as_bytes()));
                out
            }
        }
    }

    /// Which algorithm sealed `sealed`, by its form (the tag of [`Kek::open`] decides for good).
    pub fn sealed_with(sealed: &[u8]) -> SealAlg {
        if sealed.starts_with(SM4_SEALED) { SealAlg::Sm4Gcm } else { SealAlg::Aes256Gcm }
    }

    fn sm4_key(&self) -> [u8; 16] {
        let mut key = [0u8; 16];
        key.copy_from_slice(&self.mac(b"sm4-gcm-seal")[..16]);
        key
    }

    /// Opens what [`Kek::seal`] or [`Kek::seal_with`] sealed with `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, KekError> {
        if let Some(rest) = sealed.strip_prefix(SM4_SEALED.as_slice())
            && let Some(plain) = crate::sm::sm4_gcm_open(&self.sm4_key(), rest, context.as_bytes())
        {
            return Ok(plain);
        }
        if sealed.len() < NONCE_LEN {
            return Err(KekError::Decrypt);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Decrypt)?;
        let mut buf = rest.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| KekError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemEnv;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let kek = Kek::generate(&SystemEnv);
        let sealed = kek.seal(&SystemEnv, b"secret", "key:1");
        assert_eq!(kek.open(&sealed, "key:1").unwrap(), b"secret");
        assert!(kek.open(&sealed, "key:2").is_err());
        assert!(kek.open(&sealed[..5], "key:1").is_err());
        let other = Kek::generate(&SystemEnv);
        assert!(other.open(&sealed, "key:1").is_err());
        assert_eq!(Kek::parse(&kek.encode()).unwrap().key, kek.key);
        assert!(Kek::parse("short").is_err());
        assert!(!format!("{kek:?}").contains(&kek.encode()));
    }

    #[test]
    fn sm4_sealing_round_trips_and_is_told_apart() {
        let kek = Kek::generate(&SystemEnv);
        let sealed = kek.seal_with(&SystemEnv, SealAlg::Sm4Gcm, b"secret", "ctx");
        assert_eq!(Kek::sealed_with(&sealed), SealAlg::Sm4Gcm);
        assert_eq!(kek.open(&sealed, "ctx").unwrap(), b"secret");
        assert!(kek.open(&sealed, "other").is_err());
        assert!(Kek::generate(&SystemEnv).open(&sealed, "ctx").is_err());
        let aes = kek.seal_with(&SystemEnv, SealAlg::Aes256Gcm, b"secret", "ctx");
        assert_eq!(Kek::sealed_with(&aes), SealAlg::Aes256Gcm);
        assert_eq!(kek.open(&aes, "ctx").unwrap(), b"secret");
        // an AES-sealed value whose nonce happens to start like an SM4 one still opens
        struct Unlucky;
        impl Env for Unlucky {
            fn now(&self) -> i64 {
                0
            }
            fn fill_random(&self, buf: &mut [u8]) {
                buf.fill(0);
                buf[..4].copy_from_slice(SM4_SEALED);
            }
        }
        let unlucky = kek.seal(&Unlucky, b"secret", "ctx");
        assert!(unlucky.starts_with(SM4_SEALED));
        assert_eq!(kek.open(&unlucky, "ctx").unwrap(), b"secret");
        let (sm3, sha) =
            (tagged_mac(&kek, MacAlg::HmacSm3, b"x"), tagged_mac(&kek, MacAlg::HmacSha256, b"x"));
        assert!(sm3.starts_with(SM3_TAG) && sm3[SM3_TAG.len()..] != sha, "{sm3} {sha}");
        assert_eq!(unhex("00fFa1"), Some(vec![0, 255, 161]));
        assert_eq!((unhex("abc"), unhex("zz")), (None, None));
    }

    #[test]
    fn ct_eq_compares_whole_values() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }
}
