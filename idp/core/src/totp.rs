//! TOTP (RFC 6238) as every authenticator app speaks it: SHA-1, 6 digits, 30-second steps,
//! a 160-bit secret (RFC 4226 §4), codes accepted one step either side of now, and each time
//! step accepted at most once per account (the caller records the returned step atomically, see
//! `Store::record_totp_step`; a replayed or older code is refused). Recovery codes are
//! server-generated, high-entropy, shown once and stored as SHA-256 digests.
//!
//! The code arithmetic is totp-rs's; this module adds the step bookkeeping, the enrolment URI
//! and the recovery codes.
//!
//! Beside RFC 6238, the dynamic passwords of GM/T 0021-2012 (动态口令密码应用技术规范), which
//! the hardware tokens of domestic vendors compute ([`OtpKind::Sm3`], [`sm3_code`]): the
//! same step bookkeeping, with the token's period.

use totp_rs::{Algorithm, Builder, Totp};

use crate::Env;
use crate::crypto::{ct_eq, sha256_hex};

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one (clock drift of the phone).
pub const SKEW_STEPS: i64 = 1;
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;

/// Which one-time-password algorithm a seed is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OtpKind {
    /// RFC 6238 with SHA-1, 6 digits, 30-second steps: authenticator apps.
    #[default]
    Rfc6238,
    /// GM/T 0021-2012 with SM3, 6 digits, `period` seconds a step (at most 60): hardware tokens.
    Sm3 { period: i64 },
}

impl OtpKind {
    /// The stored name and period.
    pub fn stored(self) -> (&'static str, i64) {
        match self {
            OtpKind::Rfc6238 => ("rfc6238", STEP_SECONDS as i64),
            OtpKind::Sm3 { period } => ("sm3", period),
        }
    }
    pub fn from_stored(name: &str, period: i64) -> Option<Self> {
        match name {
            "rfc6238" => Some(OtpKind::Rfc6238),
            "sm3" if (1..=SM3_MAX_PERIOD).contains(&period) => Some(OtpKind::Sm3 { period }),
            _ => None,
        }
    }
    fn period(self) -> i64 {
        self.stored().1
    }
}

/// GM/T 0021's longest step (`T_c` ≤ 60 s).
pub const SM3_MAX_PERIOD: i64 = 60;
/// GM/T 0021's shortest seed (`K`, at least 128 bits).
pub const SM3_MIN_SEED: usize = 16;

/// The GM/T 0021-2012 dynamic password of `seed` at time step `step` (`T = floor(t / T_c)`),
/// `digits` long: `ID = T` (8 bytes, big-endian; no event or challenge factor), zero-padded to
/// the 128 bits the standard requires; `S = SM3(K ‖ ID)`; `OD` = the sum of `S`'s eight
/// big-endian 32-bit words modulo 2^32; the password is `OD mod 10^digits`, zero-padded. As
/// GmSSL 2.x's `crypto/otp/otp_lib.c` computes it (which copies `T` in the host's byte order;
/// the standard, and this, use big-endian).
pub fn sm3_code(seed: &[u8], step: i64, digits: u32) -> String {
    let mut input = seed.to_vec();
    let mut id = u64::try_from(step).unwrap_or(0).to_be_bytes().to_vec();
    id.resize(16, 0);
    input.extend_from_slice(&id);
    let s = crate::sm::sm3(&input);
    let od =
        s.chunks_exact(4).fold(0u32, |acc, w| acc.wrapping_add(u32::from_be_bytes([w[0], w[1], w[2], w[3]])));
    let digits = digits.clamp(6, 9);
    format!("{:0width$}", od % 10u32.pow(digits), width = digits as usize)
}

/// A one-time-password seed and its algorithm. Its `Debug` never shows the seed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>, OtpKind);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("totp::Secret([redacted])")
    }
}

impl Secret {
    pub fn generate(env: &dyn Env) -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        env.fill_random(&mut bytes);
        Self(bytes, OtpKind::Rfc6238)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes, OtpKind::Rfc6238)
    }

    /// A seed for `kind` (a hardware token's, as its vendor delivers it).
    pub fn of_kind(bytes: Vec<u8>, kind: OtpKind) -> Self {
        Self(bytes, kind)
    }

    pub fn kind(&self) -> OtpKind {
        self.1
    }

    /// From base32 as an app shows it (spaces and case ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        totp_rs::Secret::try_from_base32(clean).ok().map(|s| Self(s.as_bytes().to_vec(), OtpKind::Rfc6238))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps and `oathtool -b` take it.
    pub fn base32(&self) -> String {
        totp_rs::Secret::new(self.0.clone().into_boxed_slice()).to_base32()
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> Option<Totp> {
        // 160-bit secrets satisfy totp-rs's 128-bit minimum; anything shorter is refused.
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_skew(SKEW_STEPS as u16)
            .with_step_duration(STEP_SECONDS)
            .with_secret(totp_rs::Secret::new(self.0.clone().into_boxed_slice()))
            .with_account_name(account)
            .with_issuer(issuer)
            .build()
            .ok()
    }

    /// The `otpauth://totp/…` URI an authenticator app scans (as a QR code) or takes typed in.
    /// Empty if the issuer or account name contains a colon, which the URI format cannot carry.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        self.totp(Some(issuer), account).and_then(|t| t.to_url().ok()).unwrap_or_default()
    }

    /// The code of time step `step` (of the kind's period).
    pub fn code_at_step(&self, step: i64) -> String {
        match self.1 {
            OtpKind::Rfc6238 => {
                let time = u64::try_from(step).unwrap_or(0) * STEP_SECONDS;
                self.totp(None, "-").map(|t| t.generate(time).to_string()).unwrap_or_default()
            }
            OtpKind::Sm3 { .. } => sm3_code(&self.0, step, DIGITS as u32),
        }
    }

    /// The time step `code` belongs to, if it is one of now's steps (±[`SKEW_STEPS`]) and later
    /// than `last_step`, the last one this account used. The caller must record the returned
    /// step atomically ("only if later than what is recorded") before accepting the code.
    pub fn verify(&self, code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(self.1.period());
        // Check every candidate step (constant work), then take the match.
        let mut matched = None;
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            if ct_eq(self.code_at_step(step).as_bytes(), code.as_bytes()) && matched.is_none() {
                matched = Some(step);
            }
        }
        matched.filter(|s| last_step.is_none_or(|last| *s > last))
    }
}

/// Whose recovery codes: the key they are stored under is bound to the tenant and account, so
/// a digest from one account's rows matches nowhere else, and without the key-encryption key
/// a stolen table cannot be searched offline (as SMS codes, `sms::code_mac`).
#[derive(Clone, Copy)]
pub struct RecoveryKey<'a> {
    pub kek: &'a crate::crypto::Kek,
    pub tenant_id: &'a str,
    pub account_id: &'a str,
    /// The tenant's keyed hash (`crate::suite::Suite::mac_alg`).
    pub mac: crate::crypto::MacAlg,
}

/// Ten fresh recovery codes (`xxxxx-xxxxx`, 50 bits each, lower-case base32 without look-alike
/// confusion) and their keyed digests for storage.
pub fn recovery_codes(env: &dyn Env, key: &RecoveryKey<'_>) -> Vec<(String, String)> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; 10];
            env.fill_random(&mut raw);
            let mut code: String =
                raw.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
            code.insert(5, '-');
            let hash = recovery_hash(key, &code);
            (code, hash)
        })
        .collect()
}

/// A recovery code as typed, in one form: spaces and case ignored, the dash optional.
fn normal_code(typed: &str) -> String {
    let normal: String =
        typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    if normal.len() == 10 { format!("{}-{}", &normal[..5], &normal[5..]) } else { normal }
}

/// The stored form of a recovery code as typed: an HMAC under a key derived from the KEK, over
/// the tenant, the account and the code — HMAC-SHA-256 as hex, or HMAC-SM3 as `sm3:` and hex
/// (`key.mac`).
pub fn recovery_hash(key: &RecoveryKey<'_>, typed: &str) -> String {
    let data = format!("{}\n{}\n{}", key.tenant_id, key.account_id, normal_code(typed));
    crate::crypto::tagged_mac(&key.kek.derive("recovery-code"), key.mac, data.as_bytes())
}

/// The stored forms a typed code may have: the tenant's keyed hash, the other keyed hash (codes
/// issued before the tenant changed its cryptography profile) and the bare SHA-256 of codes from
/// before keyed digests ([`legacy_recovery_hash`]). Each is tried once, in this order.
pub fn recovery_hashes(key: &RecoveryKey<'_>, typed: &str) -> [String; 3] {
    use crate::crypto::MacAlg;
    let other = match key.mac {
        MacAlg::HmacSha256 => MacAlg::HmacSm3,
        MacAlg::HmacSm3 => MacAlg::HmacSha256,
    };
    [
        recovery_hash(key, typed),
        recovery_hash(&RecoveryKey { mac: other, ..*key }, typed),
        legacy_recovery_hash(typed),
    ]
}

/// The form codes issued before keyed digests were stored in (bare SHA-256): still accepted,
/// once each, so that nobody is locked out by an upgrade; new codes never take it.
pub fn legacy_recovery_hash(typed: &str) -> String {
    sha256_hex(normal_code(typed).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestEnv;

    /// RFC 6238 Appendix B, SHA-1 with the 20-byte ASCII secret "12345678901234567890"
    /// (the RFC's 8-digit values, of which the 6-digit codes are the last six digits).
    #[test]
    fn rfc_6238_vectors() {
        let s = Secret::from_bytes(b"12345678901234567890".to_vec());
        for (t, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(s.code_at_step(t / 30), eight[2..], "t = {t}");
        }
    }

    /// GM/T 0021 with SM3, against tests/interop/gmt0021_token.py (written apart from this,
    /// on PyPI gmssl's SM3): no published test vectors could be obtained.
    #[test]
    fn gmt_0021_sm3_codes() {
        let seed = crate::crypto::unhex("1234567890abcdef1234567890abcdef").unwrap();
        let s = Secret::of_kind(seed, OtpKind::Sm3 { period: 60 });
        for (t, code) in [
            (0, "607999"),
            (59, "607999"),
            (60, "288968"),
            (1_700_000_000, "134598"),
            (2_000_000_000, "478246"),
        ] {
            assert_eq!(s.code_at_step(t / 60), code, "t = {t}");
        }
        let now = 1_700_000_000;
        assert_eq!(s.verify("134598", now, None), Some(now / 60));
        assert_eq!(s.verify("134598", now + 60, None), Some(now / 60), "one step of drift");
        assert_eq!(s.verify("134598", now + 120, None), None);
        assert_eq!(s.verify("134598", now, Some(now / 60)), None, "once");
        assert_eq!(OtpKind::from_stored("sm3", 61), None);
        assert_eq!(OtpKind::from_stored("sm3", 60), Some(OtpKind::Sm3 { period: 60 }));
    }

    #[test]
    fn window_edges_and_single_use() {
        let s = Secret::generate(&TestEnv::default());
        let now = 1_800_000_015; // inside step 60_000_000
        let step = now / 30;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = s.code_at_step(step + offset);
            assert_eq!(s.verify(&code, now, None).is_some(), accepted, "offset {offset}");
        }
        let code = s.code_at_step(step);
        assert_eq!(s.verify(&code, now, None), Some(step));
        assert_eq!(s.verify(&code, now, Some(step)), None, "the same step twice is a replay");
        assert_eq!(s.verify(&s.code_at_step(step - 1), now, Some(step)), None, "older than the last");
        assert_eq!(s.verify(&s.code_at_step(step + 1), now, Some(step)), Some(step + 1));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(s.verify(bad, now, None), None, "{bad:?}");
        }
        assert_eq!(s.verify(&format!(" {code} "), now, None), Some(step), "spaces around are fine");
    }

    #[test]
    fn uri_and_base32_for_apps() {
        let s = Secret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = s.otpauth_uri("Province ID", "zhang.san");
        assert!(uri.starts_with("otpauth://totp/Province%20ID:zhang.san?"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
        assert!(uri.contains("issuer=Province%20ID"), "{uri}");
        assert!(!format!("{s:?}").contains("GEZD"), "Debug hides the secret");
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_as_typed() {
        let kek = crate::crypto::Kek::generate(&crate::SystemEnv);
        let key = RecoveryKey { kek: &kek, tenant_id: "t1", account_id: "a1", mac: Default::default() };
        let codes = recovery_codes(&TestEnv::default(), &key);
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut plain: Vec<_> = codes.iter().map(|(c, _)| c.clone()).collect();
        plain.sort();
        plain.dedup();
        assert_eq!(plain.len(), RECOVERY_CODES);
        for (code, hash) in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&recovery_hash(&key, code), hash);
            assert_eq!(&recovery_hash(&key, &code.to_uppercase().replace('-', " ")), hash, "as typed");
            assert_eq!(&recovery_hash(&key, &code.replace('-', "")), hash, "without the dash");
            // keyed and bound: not the bare digest, not another account's or tenant's, not
            // under another key
            assert_ne!(&sha256_hex(code.as_bytes()), hash);
            assert_ne!(&legacy_recovery_hash(code), hash);
            assert_ne!(&recovery_hash(&RecoveryKey { account_id: "a2", ..key }, code), hash);
            assert_ne!(&recovery_hash(&RecoveryKey { tenant_id: "t2", ..key }, code), hash);
            let kek2 = crate::crypto::Kek::generate(&crate::SystemEnv);
            assert_ne!(&recovery_hash(&RecoveryKey { kek: &kek2, ..key }, code), hash);
        }
        assert_ne!(recovery_hash(&key, "aaaaa-aaaaa"), codes[0].1);
    }
}
