//! One-time codes sent by SMS (sign-in with a phone number, phone verification): 6 digits,
//! valid 5 minutes, 5 attempts, one live code per phone and purpose. Codes have little entropy,
//! so they are stored as an HMAC under a KEK-derived key (a leaked table does not give them
//! away by brute force) and never logged.

use crate::Env;
use crate::crypto::{Kek, MacAlg};

pub const DIGITS: usize = 6;
pub const TTL_SECONDS: i64 = 300;
pub const MAX_ATTEMPTS: i64 = 5;

/// A uniformly drawn 6-digit code.
pub fn new_code(env: &dyn Env) -> String {
    // 4_294_000_000 is the largest multiple of 10^6 below 2^32: no modulo bias.
    loop {
        let mut b = [0u8; 4];
        env.fill_random(&mut b);
        let v = u32::from_le_bytes(b);
        if v < 4_294_000_000 {
            return format!("{:06}", v % 1_000_000);
        }
    }
}

/// The stored form of a code for one tenant, phone and purpose: its keyed hash with the
/// tenant's `mac` (`crate::crypto::tagged_mac`; a code sent just before the tenant changed its
/// cryptography profile is asked for again).
pub fn code_mac(kek: &Kek, mac: MacAlg, tenant_id: &str, phone: &str, purpose: &str, code: &str) -> String {
    let data = format!("{tenant_id}\n{phone}\n{purpose}\n{}", code.trim());
    crate::crypto::tagged_mac(&kek.derive("sms-code"), mac, data.as_bytes())
}

/// The country calling code assumed for numbers typed without one (the deployment serves a
/// province of China).
pub const DEFAULT_COUNTRY: &str = "86";

/// A phone number as typed, in E.164 (`+` and at most 15 digits), the one form in which phone
/// numbers are stored, looked up and sent to; `None` if it cannot be one.
///
/// Spaces, dashes, dots and parentheses are dropped. `+` or the international prefix `00`
/// starts a full number; otherwise the number is national to [`DEFAULT_COUNTRY`]: an 11-digit
/// mobile number (`1…`), or a landline with its trunk prefix `0` (dropped). `86` followed by an
/// 11-digit mobile number, as some forms write it, is taken as the full number.
pub fn normalise_phone(input: &str) -> Option<String> {
    let kept: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let full = if let Some(rest) = kept.strip_prefix('+').or_else(|| kept.strip_prefix("00")) {
        rest.to_string()
    } else if !digits_only(&kept) {
        return None;
    } else if kept.len() == 11 && kept.starts_with('1') {
        format!("{DEFAULT_COUNTRY}{kept}")
    } else if kept.len() == 13 && kept.starts_with(DEFAULT_COUNTRY) && kept[2..].starts_with('1') {
        kept
    } else if let Some(national) = kept.strip_prefix('0') {
        format!("{DEFAULT_COUNTRY}{national}")
    } else {
        return None;
    };
    // E.164: a country code that does not start with 0, and at most 15 digits in all
    (digits_only(&full) && (8..=15).contains(&full.len()) && !full.starts_with('0'))
        .then(|| format!("+{full}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SystemEnv, TestEnv};

    #[test]
    fn codes_are_six_digits_and_spread() {
        let env = TestEnv::default();
        let codes: Vec<String> = (0..200).map(|_| new_code(&env)).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert!(unique.len() > 190, "random codes rarely repeat");
    }

    #[test]
    fn macs_bind_tenant_phone_purpose_and_code() {
        let kek = Kek::generate(&SystemEnv);
        let m = code_mac(&kek, MacAlg::HmacSha256, "t", "+8613800000000", "signin", "123456");
        assert_eq!(m, code_mac(&kek, MacAlg::HmacSha256, "t", "+8613800000000", "signin", " 123456 "));
        let sm3 = code_mac(&kek, MacAlg::HmacSm3, "t", "+8613800000000", "signin", "123456");
        assert!(sm3.starts_with("sm3:") && sm3.len() == 4 + 64, "{sm3}");
        for other in [
            code_mac(&kek, MacAlg::HmacSha256, "u", "+8613800000000", "signin", "123456"),
            code_mac(&kek, MacAlg::HmacSha256, "t", "+8613800000001", "signin", "123456"),
            code_mac(&kek, MacAlg::HmacSha256, "t", "+8613800000000", "verify", "123456"),
            code_mac(&kek, MacAlg::HmacSha256, "t", "+8613800000000", "signin", "123457"),
            code_mac(
                &Kek::generate(&SystemEnv),
                MacAlg::HmacSha256,
                "t",
                "+8613800000000",
                "signin",
                "123456",
            ),
            code_mac(&kek, MacAlg::HmacSm3, "t", "+8613800000000", "signin", "123456"),
        ] {
            assert_ne!(m, other);
        }
    }

    #[test]
    fn phone_numbers() {
        for same in [
            "+8613800000000",
            "+86 138 0000 0000",
            "138 0000-0000",
            "13800000000",
            "008613800000000",
            "8613800000000",
            "(+86) 138.0000.0000",
        ] {
            assert_eq!(normalise_phone(same).as_deref(), Some("+8613800000000"), "{same:?}");
        }
        assert_eq!(normalise_phone("010-6552 9988").as_deref(), Some("+861065529988"), "a Beijing landline");
        assert_eq!(normalise_phone("+852 9123 4567").as_deref(), Some("+85291234567"), "Hong Kong");
        assert_eq!(normalise_phone("0044 20 7946 0018").as_deref(), Some("+442079460018"));
        for bad in [
            "",
            "12345",
            "abc12345678",
            "+",
            "+0123456789",
            "+1234567890123456",
            "23800000000",
            "1".repeat(21).as_str(),
            "138\u{0}0000000",
            "+86 138 0000 000a",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad:?}");
        }
    }
}
