//! One-time codes sent by SMS (sign-in with a phone number, phone verification): 6 digits,
//! valid 5 minutes, 5 attempts, one live code per phone and purpose. Codes have little entropy,
//! so they are stored as an HMAC under a KEK-derived key (a leaked table does not give them
//! away by brute force) and never logged.

use crate::Env;
use crate::crypto::Kek;

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

/// The stored form of a code for one tenant, phone and purpose.
pub fn code_mac(kek: &Kek, tenant_id: &str, phone: &str, purpose: &str, code: &str) -> String {
    let key = kek.derive("sms-code");
    hex(&key.mac(format!("{tenant_id}\n{phone}\n{purpose}\n{}", code.trim()).as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A phone number as typed, reduced to `+` and digits; `None` if it cannot be one.
pub fn normalise_phone(input: &str) -> Option<String> {
    let kept: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    (digits.len() >= 6 && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(kept)
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
        let m = code_mac(&kek, "t", "+8613800000000", "signin", "123456");
        assert_eq!(m, code_mac(&kek, "t", "+8613800000000", "signin", " 123456 "));
        for other in [
            code_mac(&kek, "u", "+8613800000000", "signin", "123456"),
            code_mac(&kek, "t", "+8613800000001", "signin", "123456"),
            code_mac(&kek, "t", "+8613800000000", "verify", "123456"),
            code_mac(&kek, "t", "+8613800000000", "signin", "123457"),
            code_mac(&Kek::generate(&SystemEnv), "t", "+8613800000000", "signin", "123456"),
        ] {
            assert_ne!(m, other);
        }
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(normalise_phone("138 0000-0000").as_deref(), Some("13800000000"));
        assert_eq!(normalise_phone("+86 138 0000 0000").as_deref(), Some("+8613800000000"));
        for bad in ["", "12345", "abc12345678", "+", "1".repeat(21).as_str(), "138\u{0}0000000"] {
            assert_eq!(normalise_phone(bad), None, "{bad:?}");
        }
    }
}
