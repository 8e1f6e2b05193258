//! Real-name binding (docs/domain.md "Real-name levels"): the verification
//! provider port, its built-in simulator, and how an ID number is kept — sealed under the KEK,
//! with a keyed hash for lookup (one number binds at most one account per tenant) and a masked
//! form for pages and claims. The number itself never appears in logs, errors or `Debug`.
//!
//! Levels: 1 self-asserted (a verified phone and a number that passes the format check, where
//! the deployment has no provider), 2 matched by the provider against the population database,
//! 3 a real person confirmed — here by the bank-card four-factor check (name, ID number, bank
//! card number and the phone registered with the bank, all matching at the card's bank),
//! offered where the provider offers it; face liveness and CTID need an app and are not offered
//! — 4 checked in person by a counter clerk.

use async_trait::async_trait;

use crate::Env;
use crate::crypto::Kek;

pub const SELF_ASSERTED: i64 = 1;
pub const PROVIDER_MATCH: i64 = 2;
pub const REAL_PERSON: i64 = 3;
pub const IN_PERSON: i64 = 4;

/// What a verification provider said about a name and ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// They belong together; `reference` is the provider's transaction id (the evidence).
    Match { reference: String },
    /// The number exists with another name.
    Mismatch,
    /// No such number.
    NotFound,
    /// No answer to be had now (error, timeout, circuit open); nothing may change.
    Unavailable(String),
}

/// A verification provider: the population database behind a gateway, or the simulator.
#[async_trait]
pub trait Verifier: Send + Sync {
    /// The name recorded as the verifier of a match.
    fn name(&self) -> &str;
    async fn verify(&self, name: &str, id_type: &str, id_number: &str) -> Outcome;
    /// Whether the bank-card four-factor check (level 3) is offered.
    fn offers_bank_card(&self) -> bool {
        false
    }
    /// The bank-card four-factor check: the card (`parse_bank_card`) belongs to this person and
    /// the bank has this phone for it.
    async fn verify_bank_card(&self, _person: &BankCardCheck<'_>) -> Outcome {
        Outcome::Unavailable("the bank-card check is not offered".into())
    }
}

/// What the bank-card four-factor check compares. Its `Debug` shows none of it.
pub struct BankCardCheck<'a> {
    pub name: &'a str,
    pub id_type: &'a str,
    pub id_number: &'a str,
    pub card_number: &'a str,
    pub phone: &'a str,
}

impl std::fmt::Debug for BankCardCheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BankCardCheck { .. }")
    }
}

/// What is wrong with a bank card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("a bank card number has 16 to 19 digits, found {found}")]
    Length { found: usize },
    #[error("character {position} is not a digit")]
    BadCharacter { position: usize },
    #[error("the check digit does not match: the number is mistyped")]
    Check,
}

/// A bank card number (UnionPay: 16–19 digits, Luhn check digit), spaces and dashes removed.
pub fn parse_bank_card(input: &str) -> Result<String, CardError> {
    let digits: Vec<char> = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if let Some(i) = digits.iter().position(|c| !c.is_ascii_digit()) {
        return Err(CardError::BadCharacter { position: i + 1 });
    }
    if !(16..=19).contains(&digits.len()) {
        return Err(CardError::Length { found: digits.len() });
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            match (i % 2 == 1, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(CardError::Check);
    }
    Ok(digits.into_iter().collect())
}

/// The simulator for development and sandbox tenants: deterministic outcomes on synthetic
/// identities, chosen by the last two digits of the sequence (characters 16-17 of the
/// number): `96` mismatch, `97` not found, `98` timeout, `99` provider error; anything else
/// matches.
#[derive(Debug, Default, Clone, Copy)]
pub struct Simulator;

#[async_trait]
impl Verifier for Simulator {
    fn name(&self) -> &str {
        "simulator"
    }

    fn offers_bank_card(&self) -> bool {
        true
    }

    /// Synthetic banks by the card's first six digits: `629999` answers mismatch (the card is
    /// someone else's, or the phone is not the one the bank has), `629998` not found; otherwise
    /// the person's number decides as for [`Verifier::verify`].
    async fn verify_bank_card(&self, p: &BankCardCheck<'_>) -> Outcome {
        match p.card_number.get(..6) {
            Some("629999") => Outcome::Mismatch,
            Some("629998") => Outcome::NotFound,
            _ => match self.verify(p.name, p.id_type, p.id_number).await {
                Outcome::Match { .. } => Outcome::Match {
                    reference: format!(
                        "sim-card-{}",
                        &crate::crypto::sha256_hex(format!("{}{}", p.id_number, p.card_number).as_bytes())
                            [..12]
                    ),
                },
                other => other,
            },
        }
    }

    async fn verify(&self, _name: &str, _id_type: &str, id_number: &str) -> Outcome {
        match id_number.get(15..17) {
            Some("96") => Outcome::Mismatch,
            Some("97") => Outcome::NotFound,
            Some("98") => Outcome::Unavailable("timeout (simulated)".into()),
            Some("99") => Outcome::Unavailable("provider error (simulated)".into()),
            _ => Outcome::Match {
                reference: format!(
                    "sim-{}",
                    crate::crypto::sha256_hex(id_number.as_bytes())[..12].to_owned()
                ),
            },
        }
    }
}

/// The keyed hash under which an ID number is looked up (HMAC-SHA-256 under a KEK-derived
/// key, per tenant): equal numbers collide, and the table alone does not give them away.
pub fn id_hash(kek: &Kek, tenant_id: &str, id_number: &str) -> String {
    let mac = kek.derive("id-number-hash").mac(format!("{tenant_id}\n{id_number}").as_bytes());
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

/// The number sealed at rest under the KEK with the tenant's `seal` (AES-256-GCM, or SM4-GCM on
/// a profile with SM algorithms), bound to the tenant.
pub fn seal_id(
    kek: &Kek,
    env: &dyn Env,
    seal: crate::crypto::SealAlg,
    tenant_id: &str,
    id_number: &str,
) -> Vec<u8> {
    kek.seal_with(env, seal, id_number.as_bytes(), &id_context(tenant_id))
}

/// The associated data an ID number is sealed with.
pub fn id_context(tenant_id: &str) -> String {
    format!("id-number:{tenant_id}")
}

/// The number back from its sealed form (for the `id_number` scope).
pub fn open_id(kek: &Kek, tenant_id: &str, sealed: &[u8]) -> Option<String> {
    kek.open(sealed, &id_context(tenant_id)).ok().and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemEnv;

    #[test]
    fn hashes_bind_the_tenant_and_sealing_round_trips() {
        let kek = Kek::generate(&SystemEnv);
        let n = "220102199003070013";
        assert_eq!(id_hash(&kek, "t", n), id_hash(&kek, "t", n));
        assert_ne!(id_hash(&kek, "t", n), id_hash(&kek, "u", n));
        assert!(!id_hash(&kek, "t", n).contains(n));
        let sealed = seal_id(&kek, &SystemEnv, crate::crypto::SealAlg::Sm4Gcm, "t", n);
        assert!(!sealed.windows(n.len()).any(|w| w == n.as_bytes()));
        assert_eq!(open_id(&kek, "t", &sealed).as_deref(), Some(n));
        assert_eq!(open_id(&kek, "u", &sealed), None, "bound to its tenant");
    }

    /// The simulator never waits: its futures are ready at the first poll.
    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the simulator waited"),
        }
    }

    #[test]
    fn the_simulator_is_deterministic() {
        let s = Simulator;
        let v = |n: &str| ready(s.verify("张三", "resident_id", n));
        assert!(matches!(v("220102199003070013"), Outcome::Match { .. }));
        assert_eq!(v("220102199003070960"), Outcome::Mismatch);
        assert_eq!(v("220102199003070970"), Outcome::NotFound);
        assert!(matches!(v("220102199003070980"), Outcome::Unavailable(_)));
        assert!(matches!(v("220102199003070990"), Outcome::Unavailable(_)));
    }
}

#[cfg(test)]
mod bank_cards {
    use super::*;

    /// `prefix` completed to `len` digits with the Luhn check digit.
    pub fn card(prefix: &str, len: usize) -> String {
        let mut body: String = prefix.to_string();
        while body.len() < len - 1 {
            body.push('0');
        }
        (0..10).map(|d| format!("{body}{d}")).find(|c| parse_bank_card(c).is_ok()).unwrap()
    }

    #[test]
    fn card_numbers_are_checked() {
        assert_eq!(parse_bank_card("4111 1111 1111 1111").as_deref(), Ok("4111111111111111"));
        assert_eq!(parse_bank_card("4111111111111112"), Err(CardError::Check));
        assert_eq!(parse_bank_card("411111111111"), Err(CardError::Length { found: 12 }));
        assert_eq!(parse_bank_card("41111111x1111111"), Err(CardError::BadCharacter { position: 9 }));
        for len in 16..=19 {
            let c = card("622202", len);
            assert_eq!(parse_bank_card(&c).as_deref(), Ok(c.as_str()));
            // any single changed digit is caught
            for i in 0..len {
                let mut wrong: Vec<char> = c.chars().collect();
                wrong[i] = char::from_digit((wrong[i].to_digit(10).unwrap() + 1) % 10, 10).unwrap();
                let wrong: String = wrong.into_iter().collect();
                assert_eq!(parse_bank_card(&wrong), Err(CardError::Check), "{wrong}");
            }
        }
        let check = BankCardCheck {
            name: "n",
            id_type: "t",
            id_number: "220102199003070013",
            card_number: "c",
            phone: "p",
        };
        assert!(!format!("{check:?}").contains("2201"));
    }
}
