//! The electronic business licence (电子营业执照): what a sign-in with it means here. The
//! licence system (of the market regulator) lets the people an enterprise's licence names act
//! for it: the legal representative, the licence managers the representative appoints, and
//! agents (经办人) with a whole or itemised authorisation for a period. The server reaches it
//! through a connector interface (`idp_server::outbound::licence`) with a simulator; the rules
//! are here:
//!
//! - **The person** acting is real-named by the licence system: the answer carries their name
//!   and ID number, read as one `verified_claims` element of trust framework [`FRAMEWORK`], so
//!   the operator's level rules and the linking rules apply as for any upstream. The link's
//!   subject is a keyed hash of the ID number ([`subject`]), never the number.
//! - **The role** becomes this provider's enterprise role ([`ROLES`]): the legal
//!   representative's, an enterprise administrator's (a licence manager), or an agent's
//!   mandate with the licence's matters (`*` for a whole authorisation, [`WHOLE`]), start
//!   and expiry — confirmed, since the agent accepted it in the licence app. Only the roles the
//!   operator's settings accept count ([`LicenceUpstream`](crate::model::LicenceUpstream)).
//! - **The licence stays the authority** over what it granted: each membership it made keeps
//!   its source (`licence:{upstream}:{authorisation}`, [`source`]); the next sign-in replaces
//!   what the licence no longer says ([`plan`]), and a signed notification of a revoked
//!   authorisation or a cancelled licence ends it at once. Roles granted here (account pages,
//!   admin API) are this provider's and the licence does not touch them, except that when the
//!   representation changes hands (someone else holds the representative's role here), every
//!   earlier enterprise role ends, as on the account pages.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::org::{Membership, Organisation};

/// The `issuer` of an upstream that is the licence system.
pub const ISSUER: &str = "licence";

/// The trust framework of the licence system's answers in `verified_claims`.
pub const FRAMEWORK: &str = "cn_business_licence";

/// The licence's roles, and the enterprise role each becomes here.
pub const ROLES: &[(&str, &str)] = &[
    ("legal_representative", "legal_representative"),
    ("licence_manager", "enterprise_admin"),
    ("agent", "agent"),
];

/// The one matter of a whole authorisation (every matter of the enterprise).
pub const WHOLE: &str = "*";

/// At most this many matters in an itemised authorisation (as on the account pages), each of
/// at most 64 characters.
pub const MAX_MATTERS: usize = 10;

/// The longest period of an authorisation counted here (as on the account pages: a year and a
/// day); a longer one is cut to it, so it is renewed at a sign-in.
pub const MAX_PERIOD: i64 = 366 * 86400;

/// The enterprise role a licence role becomes here.
pub fn role_here(licence_role: &str) -> Option<&'static str> {
    ROLES.iter().find(|(r, _)| *r == licence_role).map(|(_, here)| *here)
}

/// The licence system's answer to one sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceResult {
    /// The enterprise's unified social credit code.
    pub uscc: String,
    /// Its registered name.
    pub enterprise_name: String,
    /// The person acting, as the licence system real-named them.
    pub name: String,
    pub id_number: String,
    /// One of the licence roles of [`ROLES`].
    pub role: String,
    /// The licence's reference of the role (an authorisation's id; the representative's own
    /// reference for the legal representative): notifications name it.
    pub authorisation: String,
    /// An agent's matters: [`WHOLE`] alone, or the itemised ones.
    #[serde(default)]
    pub matters: Vec<String>,
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When the person confirmed in the licence app.
    pub verified_at: i64,
    /// The licence system's reference of the sign-in.
    pub txn: String,
    /// The digest of the `state` of the sign-in the code was issued to.
    #[serde(default)]
    pub bound_to: String,
}

impl std::fmt::Debug for LicenceResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenceResult").field("role", &self.role).finish_non_exhaustive()
    }
}

fn printable_ref(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|c| c.is_ascii_graphic())
}

fn plain_text(s: &str, most: usize) -> bool {
    let s = s.trim();
    !s.is_empty() && s.chars().count() <= most && !s.chars().any(crate::profile::invisible)
}

impl LicenceResult {
    /// Checks what a connector returned before anything counts, and normalises it (the
    /// canonical credit code and ID number, trimmed names and matters).
    pub fn check(&mut self, now: i64) -> Result<(), &'static str> {
        let code = crate::identifiers::parse_uscc(self.uscc.trim())
            .map_err(|_| "the unified social credit code is not one")?;
        self.uscc = code.code().to_string();
        if !plain_text(&self.enterprise_name, 128) || !plain_text(&self.name, 64) {
            return Err("a name is empty, too long or not text");
        }
        self.enterprise_name = self.enterprise_name.trim().to_string();
        self.name = self.name.trim().to_string();
        let id = crate::identifiers::parse_person_id(self.id_number.trim(), now)
            .map_err(|_| "the ID number is not one")?;
        self.id_number = id.number;
        let Some(here) = role_here(&self.role) else { return Err("the role is not one of the licence's") };
        if !printable_ref(&self.authorisation) || !printable_ref(&self.txn) {
            return Err("a reference is empty, too long or not printable");
        }
        if self.verified_at > now + 60 {
            return Err("the confirmation is dated in the future");
        }
        if self.starts_at.zip(self.expires_at).is_some_and(|(s, e)| s >= e) {
            return Err("the authorisation ends before it starts");
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err("the authorisation has expired");
        }
        let mut seen = std::collections::BTreeSet::new();
        self.matters =
            self.matters.iter().map(|m| m.trim().to_string()).filter(|m| seen.insert(m.clone())).collect();
        if let Some(e) = self.expires_at {
            self.expires_at = Some(e.min(self.starts_at.unwrap_or(now).max(now) + MAX_PERIOD));
        }
        if here == "agent" {
            let whole = self.matters == [WHOLE];
            let itemised = !self.matters.is_empty()
                && self.matters.len() <= MAX_MATTERS
                && self.matters.iter().all(|m| m != WHOLE && plain_text(m, 64));
            if !whole && !itemised {
                return Err("an agent's matters are * alone or 1-10 itemised matters");
            }
            if self.expires_at.is_none() {
                return Err("an agent's authorisation has an expiry");
            }
        } else if !self.matters.is_empty() {
            return Err("only an agent's authorisation names matters");
        }
        if here == "legal_representative" && (self.starts_at.is_some() || self.expires_at.is_some()) {
            return Err("the legal representative's role has no period");
        }
        Ok(())
    }

    /// The person as one `verified_claims` element.
    pub fn verified_claims(&self) -> Value {
        json!({
            "verification": {
                "trust_framework": FRAMEWORK,
                "time": crate::identifiers::CalendarDate::rfc3339_utc(self.verified_at),
                "evidence": [{"check_details": [{"txn": self.txn}]}],
            },
            "claims": {"name": self.name, "id_number": self.id_number},
        })
    }

    /// What the sign-in grants, as kept until the session starts; `person_hash` is the keyed
    /// hash of the person's ID number (`crate::realname::id_hash`).
    pub fn grant(&self, upstream: &str, person_hash: &str) -> Grant {
        Grant {
            person_name: self.name.clone(),
            person_hash: person_hash.to_string(),
            uscc: self.uscc.clone(),
            enterprise_name: self.enterprise_name.clone(),
            kind: role_here(&self.role).unwrap_or("agent").to_string(),
            source: source(upstream, &self.authorisation),
            matters: self.matters.clone(),
            starts_at: self.starts_at,
            expires_at: self.expires_at,
        }
    }
}

/// The source of a membership the licence granted through `upstream`.
pub fn source(upstream: &str, authorisation: &str) -> String {
    format!("licence:{upstream}:{authorisation}")
}

/// The prefix of every source of `upstream`.
pub fn source_prefix(upstream: &str) -> String {
    format!("licence:{upstream}:")
}

/// The link subject of a person for a tenant: a keyed hash of the ID number (the number itself
/// is not kept with the link).
pub fn subject(key: &crate::crypto::Kek, tenant_id: &str, id_number: &str) -> String {
    let mac = key.mac(format!("licence-subject\0{tenant_id}\0{id_number}").as_bytes());
    format!("L{}", crate::crypto::hex(&mac[..16]))
}

/// An enterprise role the licence vouched for in one sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The person it is for: only an account bound to this identity receives it.
    pub person_name: String,
    pub person_hash: String,
    pub uscc: String,
    pub enterprise_name: String,
    /// The role here: `legal_representative`, `enterprise_admin` or `agent`.
    pub kind: String,
    /// [`source`].
    pub source: String,
    pub matters: Vec<String>,
    pub starts_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What a sign-in changes in the enterprise's memberships.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The person's membership that already says what the licence says: nothing to write.
    pub keep: Option<String>,
    /// End every live enterprise role in the enterprise first (a new legal representative).
    pub end_all: bool,
    /// The person's memberships from this licence that it no longer vouches for.
    pub revoke: Vec<String>,
    /// Write the grant as a new membership.
    pub insert: bool,
}

/// The key under which a cancelled licence is recorded (beside the sources of revoked
/// authorisations): no role of that enterprise is granted through `upstream` any more.
pub fn cancelled_key(upstream: &str, uscc: &str) -> String {
    format!("cancelled:{upstream}:{uscc}")
}

/// Why a grant is refused before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The enterprise's registered legal representative (registry data here) is someone else:
    /// the operator brings the register up to date, nothing is guessed.
    RepresentativeMismatch,
}

/// Whether the register here names someone else as the enterprise's legal representative
/// than the person a grant of that role is for.
pub fn representative_mismatch(grant: &Grant, org: &Organisation) -> bool {
    grant.kind == "legal_representative"
        && org.representative_hash.as_deref().is_some_and(|h| h != grant.person_hash)
}

/// What the grant changes: `members` are the enterprise's memberships (live and ended),
/// `account_id` the person's account.
pub fn plan(
    grant: &Grant,
    org: &Organisation,
    members: &[Membership],
    account_id: &str,
) -> Result<Plan, Refusal> {
    if representative_mismatch(grant, org) {
        return Err(Refusal::RepresentativeMismatch);
    }
    let mine: Vec<&Membership> =
        members.iter().filter(|m| m.account_id == account_id && m.revoked_at.is_none()).collect();
    let keep = if grant.kind == "legal_representative" {
        // a representative already (however bound) stays one
        mine.iter()
            .find(|m| m.kind == "legal_representative" && m.starts_at.is_none() && m.expires_at.is_none())
    } else {
        mine.iter().find(|m| {
            m.source.as_deref() == Some(grant.source.as_str())
                && m.kind == grant.kind
                && m.matters == grant.matters
                && m.starts_at == grant.starts_at
                && m.expires_at == grant.expires_at
                && m.confirmed_at.is_some()
        })
    }
    .map(|m| m.id.clone());
    // what the same authorisation granted before and no longer says (the person's other
    // authorisations stand: one person may hold several)
    let revoke = mine
        .iter()
        .filter(|m| m.source.as_deref() == Some(grant.source.as_str()))
        .filter(|m| Some(&m.id) != keep.as_ref())
        .map(|m| m.id.clone())
        .collect();
    // the representation changes hands only where someone else holds it here: then every
    // earlier role ends (as on the account pages); a representative here for the first time
    // leaves the roles the licence granted before
    let other_rep = members
        .iter()
        .any(|m| m.kind == "legal_representative" && m.revoked_at.is_none() && m.account_id != account_id);
    let end_all = grant.kind == "legal_representative" && keep.is_none() && other_rep;
    Ok(Plan { insert: keep.is_none(), keep, end_all, revoke })
}

/// A notification from the licence system, once its signature is verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Notification {
    /// An authorisation (a licence manager's or an agent's) was revoked at the licence.
    AuthorisationRevoked { uscc: String, authorisation: String },
    /// The licence was cancelled (the enterprise deregistered): every role it granted ends.
    LicenceCancelled { uscc: String },
}

#[cfg(test)]
mod tests;
