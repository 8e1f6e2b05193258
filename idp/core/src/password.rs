//! Password policy (DOMAIN.md security baseline) and Argon2id hashing with rehash on
//! parameter change.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id cost parameters. Production defaults follow OWASP's recommendation (19 MiB, t=2);
/// tests may configure cheaper ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

impl Argon2Params {
    fn hasher(&self) -> Argon2<'static> {
        let params =
            Params::new(self.memory_kib, self.iterations, self.parallelism, None).unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub fn hash(&self, password: &str) -> Result<String, String> {
        self.hasher().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
    }

    /// Constant work whether or not the hash is well-formed.
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        match PasswordHash::new(hash) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }

    /// Whether a stored hash was made with other parameters (and should be rehashed on the next
    /// successful sign-in).
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let want =
            format!("$argon2id$v=19$m={},t={},p={}$", self.memory_kib, self.iterations, self.parallelism);
        !hash.starts_with(&want)
    }
}

/// Passwords every attacker tries first; refused whatever their character classes.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwerty123",
    "qwertyuiop",
    "abc12345",
    "abcd1234",
    "admin123",
    "admin@123",
    "iloveyou1",
    "welcome1",
    "welcome123",
    "letmein1",
    "12345678",
    "123456789",
    "1234567890",
    "11111111",
    "88888888",
    "66666666",
    "a1234567",
    "aa123456",
    "zxcvbnm123",
    "1qaz2wsx",
    "1q2w3e4r",
    "qweasdzxc",
    "woaini1314",
    "5201314520",
    "changeme1",
    "root1234",
    "test1234",
    "p@ssw0rd1",
    "Aa123456",
    "Abc@1234",
    "Admin@123",
    "Passw0rd!",
    "P@ssw0rd",
    "Qwer1234",
    "Abc123456",
    "Aa123456789",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooFewClasses,
    Common,
    TooLong,
}

impl PasswordProblem {
    pub fn message(&self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "the password must have at least 8 characters",
            PasswordProblem::TooFewClasses => {
                "the password must mix at least 3 of: lower case, upper case, digits, symbols"
            }
            PasswordProblem::Common => "this password is too common",
            PasswordProblem::TooLong => "the password must have at most 256 characters",
        }
    }
}

/// At least 8 characters with 3 of 4 character classes, not on the common list.
pub fn check_policy(password: &str) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < 8 {
        return Err(PasswordProblem::TooShort);
    }
    if len > 256 {
        return Err(PasswordProblem::TooLong);
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(PasswordProblem::TooFewClasses);
    }
    let lower = password.to_lowercase();
    if COMMON.iter().any(|c| c.to_lowercase() == lower) {
        return Err(PasswordProblem::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params { memory_kib: 1024, iterations: 1, parallelism: 1 };

    #[test]
    fn hash_verify_and_rehash() {
        let h = CHEAP.hash("Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(CHEAP.verify("Correct-Horse-9", &h));
        assert!(!CHEAP.verify("correct-horse-9", &h));
        assert!(!CHEAP.verify("x", "not a hash"));
        assert!(!CHEAP.needs_rehash(&h));
        assert!(Argon2Params::default().needs_rehash(&h));
    }

    #[test]
    fn policy() {
        assert_eq!(check_policy("Ab1!"), Err(PasswordProblem::TooShort));
        assert_eq!(check_policy("abcdefgh1"), Err(PasswordProblem::TooFewClasses));
        assert_eq!(check_policy("P@ssw0rd"), Err(PasswordProblem::Common));
        assert!(check_policy("Tiger-Lily-42").is_ok());
        assert!(check_policy("长城Abc123").is_ok());
    }
}
