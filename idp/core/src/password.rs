//! Password policy (docs/domain.md security baseline) and Argon2id hashing with rehash on
//! parameter change; or, for deployments whose cryptography assessor requires an approved
//! algorithm, PBKDF2 (RFC 8018 §5.2) with HMAC-SM3 ([`PasswordScheme::Pbkdf2Sm3`]). Whatever is
//! configured, either kind of stored hash verifies, and one of the other kind is re-hashed at
//! the next successful sign-in.

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

/// Which password hash new hashes use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordScheme {
    /// Argon2id with [`Argon2Params`] (memory-hard; the default).
    #[default]
    Argon2id,
    /// PBKDF2-HMAC-SM3, 16-byte salt, 32-byte output, stored as
    /// `$pbkdf2-sm3$i={iterations}${salt}${hash}` (base64 without padding, as PHC strings).
    Pbkdf2Sm3,
}

/// The password hash configuration (`[passwords]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    pub scheme: PasswordScheme,
    /// PBKDF2-HMAC-SM3 iterations for new hashes; hashes with fewer are re-hashed at sign-in.
    pub pbkdf2_sm3_iterations: u32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self { scheme: PasswordScheme::Argon2id, pbkdf2_sm3_iterations: 300_000 }
    }
}

const PBKDF2_SM3: &str = "$pbkdf2-sm3$";
/// The most iterations a stored PBKDF2 hash may ask for (more is refused, not computed).
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

/// PBKDF2-HMAC-SM3 of `password` (RFC 8018 §5.2, with `crate::sm::hmac_sm3`'s HMAC).
pub fn pbkdf2_sm3(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    // an HMAC key of any length is valid, so this cannot fail
    let _ = pbkdf2::pbkdf2::<hmac::Hmac<sm3::Sm3>>(password, salt, iterations, out);
}

fn parse_pbkdf2_sm3(s: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let rest = s.strip_prefix(PBKDF2_SM3)?;
    let mut parts = rest.split('$');
    let iterations: u32 = parts.next()?.strip_prefix("i=")?.parse().ok()?;
    let salt = b64.decode(parts.next()?).ok()?;
    let hash = b64.decode(parts.next()?).ok()?;
    let sane = (1..=PBKDF2_MAX_ITERATIONS).contains(&iterations) && (16..=64).contains(&hash.len());
    (parts.next().is_none() && sane).then_some((iterations, salt, hash))
}

/// Argon2id with reusable working memory. Each computation needs `memory_kib` KiB; allocating
/// and freeing that per sign-in makes the allocator keep freed blocks around (the process's
/// resident memory grows with concurrency), so buffers are kept and reused instead, one per
/// concurrent computation (the caller bounds concurrency to the cores).
pub struct Hasher {
    pub params: Argon2Params,
    /// Which scheme new hashes use (either verifies).
    pub config: PasswordConfig,
    buffers: std::sync::Mutex<Vec<Vec<argon2::Block>>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hasher({:?})", self.params)
    }
}

struct Phc {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(s: &str) -> Option<Phc> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut parts = s.split('$');
    if !parts.next()?.is_empty() || parts.next()? != "argon2id" || parts.next()? != "v=19" {
        return None;
    }
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in parts.next()?.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let salt = b64.decode(parts.next()?).ok()?;
    let hash = b64.decode(parts.next()?).ok()?;
    if parts.next().is_some() || hash.len() < 16 || hash.len() > 64 {
        return None;
    }
    Some(Phc { m: m?, t: t?, p: p?, salt, hash })
}

impl Hasher {
    pub fn new(params: Argon2Params) -> Self {
        Self { params, config: PasswordConfig::default(), buffers: std::sync::Mutex::new(vec![]) }
    }

    /// With the configured scheme for new hashes.
    pub fn with_config(mut self, config: PasswordConfig) -> Self {
        self.config = config;
        self
    }

    /// Whether a stored hash is of another scheme or parameters than new ones are (and should
    /// be re-hashed on the next successful sign-in).
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match self.config.scheme {
            PasswordScheme::Argon2id => self.params.needs_rehash(stored),
            PasswordScheme::Pbkdf2Sm3 => {
                parse_pbkdf2_sm3(stored).is_none_or(|(i, _, _)| i < self.config.pbkdf2_sm3_iterations)
            }
        }
    }

    fn compute(&self, m: u32, t: u32, p: u32, password: &str, salt: &[u8], out: &mut [u8]) -> bool {
        let Ok(params) = Params::new(m, t, p, Some(out.len())) else { return false };
        // Refuse absurd costs in a stored hash rather than allocate gigabytes.
        if m > 256 * 1024 || t > 64 || p > 64 {
            return false;
        }
        let need = params.block_count();
        let mut buf = self.buffers.lock().ok().and_then(|mut b| b.pop()).unwrap_or_default();
        if buf.len() < need {
            buf.resize(need, argon2::Block::default());
        }
        let ok = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut buf[..])
            .is_ok();
        if let Ok(mut b) = self.buffers.lock()
            && b.len() < 64
        {
            b.push(buf);
        }
        ok
    }

    /// Verifies in constant time with respect to the stored hash; false for malformed hashes.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        if let Some((iterations, salt, hash)) = parse_pbkdf2_sm3(stored) {
            let mut out = vec![0u8; hash.len()];
            pbkdf2_sm3(password.as_bytes(), &salt, iterations, &mut out);
            return crate::crypto::ct_eq(&out, &hash);
        }
        let Some(phc) = parse_phc(stored) else { return false };
        let mut out = vec![0u8; phc.hash.len()];
        self.compute(phc.m, phc.t, phc.p, password, &phc.salt, &mut out)
            && crate::crypto::ct_eq(&out, &phc.hash)
    }

    /// A new PHC string with a fresh 16-byte salt and the configured parameters.
    pub fn hash(&self, env: &dyn crate::Env, password: &str) -> Result<String, String> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let mut salt = [0u8; 16];
        env.fill_random(&mut salt);
        let mut out = [0u8; 32];
        if self.config.scheme == PasswordScheme::Pbkdf2Sm3 {
            let i = self.config.pbkdf2_sm3_iterations.clamp(1, PBKDF2_MAX_ITERATIONS);
            pbkdf2_sm3(password.as_bytes(), &salt, i, &mut out);
            return Ok(format!("{PBKDF2_SM3}i={i}${}${}", b64.encode(salt), b64.encode(out)));
        }
        let Argon2Params { memory_kib: m, iterations: t, parallelism: p } = self.params;
        if !self.compute(m, t, p, password, &salt, &mut out) {
            return Err("password hashing failed".into());
        }
        Ok(format!("$argon2id$v=19$m={m},t={t},p={p}${}${}", b64.encode(salt), b64.encode(out)))
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
    /// Shorter than the rules' minimum (which is in the message).
    TooShort(usize),
    TooFewClasses(usize),
    Common,
    /// The strength estimator (zxcvbn) guesses it too easily: a word, a name, a date, a
    /// keyboard walk or a common password with the usual substitutions.
    Guessable,
    TooLong,
}

/// The least zxcvbn score (0-4) a password needs: 3, "safely unguessable: moderate protection
/// from an offline slow-hash scenario" — our hashes are Argon2id.
pub const MIN_SCORE: u8 = 3;

/// Password rules: the baseline of docs/domain.md by default, stricter per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub min_length: usize,
    /// Of lower case, upper case, digits and symbols.
    pub min_classes: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { min_length: 8, min_classes: 3 }
    }
}

impl PasswordProblem {
    pub fn message(&self) -> String {
        match self {
            PasswordProblem::TooShort(n) => format!("the password must have at least {n} characters"),
            PasswordProblem::TooFewClasses(n) => {
                format!("the password must mix at least {n} of: lower case, upper case, digits, symbols")
            }
            PasswordProblem::Common => "this password is too common".into(),
            PasswordProblem::Guessable => {
                "this password is too easy to guess (a word, name, date or common pattern); add more uncommon words".into()
            }
            PasswordProblem::TooLong => "the password must have at most 256 characters".into(),
        }
    }
}

/// At least 8 characters with 3 of 4 character classes, not on the common list.
pub fn check_policy(password: &str) -> Result<(), PasswordProblem> {
    check_rules(password, Rules::default())
}

/// The rules given (never below the baseline), not on the common list, and not guessable.
pub fn check_rules(password: &str, rules: Rules) -> Result<(), PasswordProblem> {
    check_rules_for(password, rules, &[])
}

/// The words of a person's details (username, name, email), as the strength estimator takes
/// them: lower case, split at anything but letters and digits.
pub fn personal_words(details: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for d in details {
        for w in d.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2) {
            let w = w.to_lowercase();
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// [`check_rules`], with what the person's own details (username, name, email) make easy to
/// guess counted against the password.
pub fn check_rules_for(password: &str, rules: Rules, personal: &[String]) -> Result<(), PasswordProblem> {
    let min_length = rules.min_length.max(Rules::default().min_length);
    let min_classes = rules.min_classes.clamp(Rules::default().min_classes, 4);
    let len = password.chars().count();
    if len < min_length {
        return Err(PasswordProblem::TooShort(min_length));
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
    if classes.iter().filter(|c| **c).count() < min_classes {
        return Err(PasswordProblem::TooFewClasses(min_classes));
    }
    let lower = password.to_lowercase();
    if COMMON.iter().any(|c| c.to_lowercase() == lower) {
        return Err(PasswordProblem::Common);
    }
    // zxcvbn's frequency lists (passwords, names, words) and patterns; the short list above
    // keeps the Chinese favourites it does not know
    let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
    if u8::from(zxcvbn::zxcvbn(password, &personal).score()) < MIN_SCORE {
        return Err(PasswordProblem::Guessable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against tests/interop/pbkdf2_sm3.py (RFC 8018 and RFC 2104 written apart, on PyPI
    /// gmssl's SM3); the second output is longer than one SM3 block, so it spans two blocks.
    #[test]
    fn pbkdf2_sm3_vectors() {
        let unhex = |s: &str| crate::crypto::unhex(s).unwrap();
        for (password, salt, i, want) in [
            ("password", "73616c74", 1, "4612f922a1fdcefaf4312fc6f8f3322b489cbf24f2ea361b44c2bd8fa2c6dcb0"),
            ("password", "73616c74", 2, "fee723a2bc966e11dffb66133f4e8df577383c78ade30e3298edbd3e54ed85b7"),
            (
                "密码Tiger-Lily-42",
                "000102030405060708090a0b0c0d0e0f",
                1000,
                "6adb7ce4833057c2ed1b2db159d60793449aa5a3d655fb6149c322b97c14962038d26e7c6a7f3c62",
            ),
        ] {
            let mut out = vec![0u8; want.len() / 2];
            pbkdf2_sm3(password.as_bytes(), &unhex(salt), i, &mut out);
            assert_eq!(out, unhex(want), "{password} {i}");
        }
    }

    #[test]
    fn the_configured_scheme_hashes_and_either_verifies() {
        let env = crate::TestEnv::default();
        let cheap = Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 };
        let argon = Hasher::new(cheap);
        let sm = Hasher::new(cheap)
            .with_config(PasswordConfig { scheme: PasswordScheme::Pbkdf2Sm3, pbkdf2_sm3_iterations: 100 });
        let a = argon.hash(&env, "Tiger-Lily-42").unwrap();
        let p = sm.hash(&env, "Tiger-Lily-42").unwrap();
        assert!(p.starts_with("$pbkdf2-sm3$i=100$"), "{p}");
        for h in [&argon, &sm] {
            assert!(h.verify("Tiger-Lily-42", &a) && h.verify("Tiger-Lily-42", &p));
            assert!(!h.verify("Tiger-Lily-43", &a) && !h.verify("Tiger-Lily-43", &p));
        }
        assert!(sm.needs_rehash(&a) && !sm.needs_rehash(&p));
        assert!(argon.needs_rehash(&p) && !argon.needs_rehash(&a));
        let stronger = Hasher::new(cheap)
            .with_config(PasswordConfig { scheme: PasswordScheme::Pbkdf2Sm3, pbkdf2_sm3_iterations: 200 });
        assert!(stronger.needs_rehash(&p), "fewer iterations than configured");
        // absurd or malformed stored values are refused, not computed
        assert!(!sm.verify(
            "x",
            "$pbkdf2-sm3$i=4000000000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ));
        assert!(!sm.verify("x", "$pbkdf2-sm3$i=1$$"));
    }

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
    fn pooled_hasher_agrees_with_the_library() {
        let h = Hasher::new(CHEAP);
        let ours = h.hash(&crate::SystemEnv, "Correct-Horse-9").unwrap();
        assert!(CHEAP.verify("Correct-Horse-9", &ours), "the library verifies our hashes");
        let theirs = CHEAP.hash("Correct-Horse-9").unwrap();
        assert!(h.verify("Correct-Horse-9", &theirs), "we verify the library's hashes");
        assert!(!h.verify("correct-horse-9", &theirs));
        assert!(!h.verify("x", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
        assert!(!h.verify("x", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
        assert!(!h.verify("x", "garbage"));
        assert!(!CHEAP.needs_rehash(&ours));
    }

    #[test]
    fn policy() {
        assert_eq!(check_policy("Ab1!"), Err(PasswordProblem::TooShort(8)));
        assert_eq!(check_policy("abcdefgh1"), Err(PasswordProblem::TooFewClasses(3)));
        assert_eq!(check_policy("P@ssw0rd"), Err(PasswordProblem::Common));
        assert!(check_policy("Tiger-Lily-42").is_ok());
        assert!(check_policy("长城Abc123!x#").is_ok());
        let strict = Rules { min_length: 12, min_classes: 4 };
        assert_eq!(check_rules("tiger-lily-42", strict), Err(PasswordProblem::TooFewClasses(4)));
        assert_eq!(check_rules("Tiger-Lily4", strict), Err(PasswordProblem::TooShort(12)));
        assert!(check_rules("Tiger-Lily-42", strict).is_ok());
        assert!(check_rules("tiger-lily-42", Rules { min_length: 12, min_classes: 3 }).is_ok());
        // weaker rules than the baseline are never applied
        let lax = Rules { min_length: 1, min_classes: 1 };
        assert_eq!(check_rules("abcdefg", lax), Err(PasswordProblem::TooShort(8)));
        assert_eq!(check_rules("abcdefghij", lax), Err(PasswordProblem::TooFewClasses(3)));
        assert!(PasswordProblem::TooShort(12).message().contains("12"));
    }

    #[test]
    fn guessable_passwords_are_refused() {
        // each passes the classes rule and is not on the short list
        for weak in ["Password1!", "Qwerty123!", "Welcome2024!", "Summer2023!", "Iloveyou1!"] {
            assert_eq!(check_policy(weak), Err(PasswordProblem::Guessable), "{weak}");
        }
        for strong in ["Tiger-Lily-42", "Correct-Horse-9", "长城Abc123!x#", "mV7#pq2!Lx9z"] {
            assert_eq!(check_policy(strong), Ok(()), "{strong}");
        }
        // the person's own details count against it
        assert!(check_rules_for("Xuewenjing#88", Rules::default(), &[]).is_ok());
        assert_eq!(
            check_rules_for("Xuewenjing#88", Rules::default(), &personal_words(&["xuewenjing", "薛文静"])),
            Err(PasswordProblem::Guessable)
        );
    }
}
