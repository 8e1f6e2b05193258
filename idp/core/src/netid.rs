//! The national network identity authentication public service (国家网络身份认证公共服务,
//! 网号/网证): what its answer means here. Its access specification for relying parties is
//! still a draft, so the server reaches it through a connector interface
//! (`idp_server::outbound::netid`) with a simulator; the rules are here:
//!
//! - **Minimal provision.** A relying party gets the verification result and a pseudonymous
//!   number (网号), not the ID number. The number is the subject of the link (an upstream link
//!   like any other), so the same person reaches the same account without anyone here learning
//!   who they are.
//! - **Plaintext identity** (name and ID number) is asked for only when the operator registered
//!   the upstream for it and the client is registered for real-name data (its `realname`
//!   scope); the person consents in the app (or is informed, under a statutory duty). Only then
//!   can a real-name binding be raised, by the operator's rules, as for any upstream.
//! - **The verification result as evidence**: one `verified_claims` element of trust framework
//!   [`FRAMEWORK`], its `assurance_level` the way the person was checked ([`MODES`]: the
//!   network certificate alone, with its PIN, or with a face check), its time and the
//!   service's reference.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The `issuer` of an upstream that is the service (it has no issuer of its own here).
pub const ISSUER: &str = "netid";

/// The trust framework of the service's answers in `verified_claims`.
pub const FRAMEWORK: &str = "cn_netid";

/// How the person was checked, weakest first: the network certificate (网证) alone, with its
/// PIN, with a face check.
pub const MODES: &[&str] = &["netcert", "netcert_pin", "netcert_face"];

/// The service's answer to one sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetidResult {
    /// The pseudonymous number for this relying party (网号).
    pub pseudonym: String,
    /// One of [`MODES`].
    pub mode: String,
    /// When the person was checked.
    pub verified_at: i64,
    /// The service's reference of the check.
    pub txn: String,
    /// The name and ID number, where they were asked for and released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<(String, String)>,
    /// The digest of the `state` of the sign-in the code was issued to (a code belongs to
    /// one sign-in: another's return cannot redeem it).
    #[serde(default)]
    pub bound_to: String,
}

/// How strong a mode is (its place in [`MODES`]); `None` for one the service has not.
pub fn strength(mode: &str) -> Option<usize> {
    MODES.iter().position(|m| *m == mode)
}

impl std::fmt::Debug for NetidResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetidResult").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl NetidResult {
    /// Checks what a connector returned before anything counts: a pseudonym of 8-64 letters
    /// and digits, a known mode, a time not in the future.
    pub fn check(&self, now: i64) -> Result<(), &'static str> {
        let p = &self.pseudonym;
        if p.len() < 8 || p.len() > 64 || !p.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err("the pseudonym is not 8-64 letters and digits");
        }
        if !MODES.contains(&self.mode.as_str()) {
            return Err("the mode is not one of the service's");
        }
        if self.verified_at > now + 60 {
            return Err("the check is dated in the future");
        }
        if self.txn.is_empty() || self.txn.len() > 128 || !self.txn.bytes().all(|c| c.is_ascii_graphic()) {
            return Err("the reference is empty, too long or not printable");
        }
        Ok(())
    }

    /// The answer as one `verified_claims` element (claims only where the identity was
    /// released).
    pub fn verified_claims(&self) -> Value {
        let mut claims = serde_json::Map::new();
        if let Some((name, number)) = &self.identity {
            claims.insert("name".into(), Value::String(name.clone()));
            claims.insert("id_number".into(), Value::String(number.clone()));
        }
        json!({
            "verification": {
                "trust_framework": FRAMEWORK,
                "assurance_level": self.mode,
                "time": crate::identifiers::CalendarDate::rfc3339_utc(self.verified_at),
                "evidence": [{"check_details": [{"txn": self.txn}]}],
            },
            "claims": claims,
        })
    }
}

/// The simulator's pseudonym of a person (by ID number) for a relying party: a keyed hash, the
/// same for the same two every time and unlinkable across relying parties.
pub fn pseudonym(key: &crate::crypto::Kek, relying_party: &str, id_number: &str) -> String {
    let mac = key.mac(format!("netid-pseudonym\0{relying_party}\0{id_number}").as_bytes());
    format!("WH{}", crate::crypto::hex(&mac[..12]).to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_checked_and_read_as_verified_claims() {
        let r = NetidResult {
            pseudonym: "WH0123456789ABCDEF".into(),
            mode: "netcert_face".into(),
            verified_at: 1_800_000_000,
            txn: "netid-1".into(),
            identity: None,
            bound_to: String::new(),
        };
        assert_eq!(r.check(1_800_000_000), Ok(()));
        let v = r.verified_claims();
        assert_eq!(v["verification"]["trust_framework"], FRAMEWORK);
        assert_eq!(v["verification"]["assurance_level"], "netcert_face");
        assert!(v["claims"].as_object().unwrap().is_empty(), "minimal: no identity unless released");
        let bad = |f: &dyn Fn(&mut NetidResult)| {
            let mut b = r.clone();
            f(&mut b);
            b.check(1_800_000_000).is_err()
        };
        assert!(bad(&|b| b.pseudonym = "short".into()));
        assert!(bad(&|b| b.pseudonym = "WH0123456789ABCDE!".into()));
        assert!(bad(&|b| b.mode = "password".into()));
        assert!(bad(&|b| b.verified_at = 1_900_000_000));
        assert!(bad(&|b| b.txn = String::new()));
        let key = crate::crypto::Kek::from_bytes([7; 32]);
        let a = pseudonym(&key, "tenant-a", "220102199003070013");
        assert_eq!(a, pseudonym(&key, "tenant-a", "220102199003070013"));
        assert_ne!(a, pseudonym(&key, "tenant-b", "220102199003070013"), "unlinkable across parties");
        assert!(a.starts_with("WH") && a.len() == 26);
    }
}
