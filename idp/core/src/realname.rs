//! Real-name binding (DOMAIN.md "Real-name (identity) assurance levels"): the verification
//! provider port, its built-in simulator, and how an ID number is kept — sealed under the KEK,
//! with a keyed hash for lookup (one number binds at most one account per tenant) and a masked
//! form for pages and claims. The number itself never appears in logs, errors or `Debug`.
//!
//! Levels: 1 self-asserted (a verified phone and a number that passes the format check, where
//! the deployment has no provider), 2 matched by the provider against the population database,
//! 3 reserved (liveness, bank card, CTID: no adapter yet), 4 checked in person by a counter
//! clerk.

use async_trait::async_trait;

use crate::Env;
use crate::crypto::Kek;

pub const SELF_ASSERTED: i64 = 1;
pub const PROVIDER_MATCH: i64 = 2;
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

/// The number sealed at rest (AES-256-GCM under the KEK, bound to the tenant).
pub fn seal_id(kek: &Kek, env: &dyn Env, tenant_id: &str, id_number: &str) -> Vec<u8> {
    kek.seal(env, id_number.as_bytes(), &format!("id-number:{tenant_id}"))
}

/// The number back from its sealed form (for the `id_number` scope, issue 5 item 7).
pub fn open_id(kek: &Kek, tenant_id: &str, sealed: &[u8]) -> Option<String> {
    kek.open(sealed, &format!("id-number:{tenant_id}")).ok().and_then(|b| String::from_utf8(b).ok())
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
        let sealed = seal_id(&kek, &SystemEnv, "t", n);
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
