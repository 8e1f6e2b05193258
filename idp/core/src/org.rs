//! The organisation tree of a tenant (docs/domain.md "Who signs in"): government bodies by
//! administrative level with their region codes (province → city → county → township), their
//! departments, and enterprises and other legal persons keyed by their unified social credit
//! code; and memberships, which link an account to an organisation (staff of a department, with
//! roles). What may sit under what is decided here; storing it is the store's.
//!
//! Every organisation keeps its materialised path (`/id/id/…/`), so a subtree — what a city's
//! administrator may manage — is one prefix comparison.

use serde::{Deserialize, Serialize};

use crate::identifiers::{self, IdError};

/// Administrative levels, highest first.
pub const LEVELS: [&str; 4] = ["province", "city", "county", "township"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// A people's government (or another body) at an administrative level.
    Government,
    /// A department of a government body (or of another department).
    Department,
    /// An enterprise or other legal person.
    Enterprise,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Government => "government",
            OrgKind::Department => "department",
            OrgKind::Enterprise => "enterprise",
        }
    }
    pub fn parse(s: &str) -> Option<OrgKind> {
        match s {
            "government" => Some(OrgKind::Government),
            "department" => Some(OrgKind::Department),
            "enterprise" => Some(OrgKind::Enterprise),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// Government bodies: `province`, `city`, `county` or `township`.
    pub level: Option<String>,
    /// The 6-digit administrative division code (GB/T 2260) of a government body.
    pub region_code: Option<String>,
    /// The unified social credit code (enterprises must have one; bodies may).
    pub uscc: Option<String>,
    /// The code is well formed but a check character disagrees: to be verified against the
    /// registry (docs/domain.md), not rejected.
    pub uscc_flagged: bool,
    /// `/root-id/…/own-id/`.
    pub path: String,
    pub created_at: i64,
    /// An enterprise's registered legal representative (registry data): the name, and the keyed
    /// hash of the ID number (`realname::id_hash`), never the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_hash: Option<String>,
}

/// A staff membership: an account in a department (or body) with roles there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub organisation_id: String,
    /// `staff`, or an enterprise role: `legal_representative`, `enterprise_admin`, `agent`.
    pub kind: String,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// An agent's mandate: the matters it covers, its window, who granted it (a membership
    /// id), and when the agent confirmed it (a mandate is active only once confirmed).
    #[serde(default)]
    pub matters: Vec<String>,
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    #[serde(default)]
    pub granted_by: Option<String>,
    /// Where it came from: `None` when granted here (account pages, admin API), or the
    /// electronic business licence's `licence:{upstream}:{authorisation}`
    /// (`crate::licence::source`), which stays the authority over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The enterprise roles, as memberships name them.
pub const ENTERPRISE_ROLES: [&str; 3] = ["legal_representative", "enterprise_admin", "agent"];

impl Membership {
    /// Whether it can be acted in at `now`: not ended, inside its window (any kind may have
    /// one: a licence manager's authorisation has a period too) and, for an agent, confirmed.
    pub fn active(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.starts_at.is_none_or(|s| s <= now)
            && self.expires_at.is_none_or(|e| now < e)
            && (self.kind != "agent" || self.confirmed_at.is_some())
    }
}

/// What is wrong with a new organisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("a name has 1-128 characters")]
    Name,
    #[error("a government body needs a level: province, city, county or township")]
    Level,
    #[error("a region code has 6 digits")]
    RegionCode,
    #[error("a {child} cannot be placed under a {parent}")]
    Placement { child: String, parent: String },
    #[error("a department needs a parent body")]
    Orphan,
    #[error("an enterprise needs its unified social credit code")]
    UsccMissing,
    #[error("unified social credit code: {0}")]
    Uscc(#[from] IdError),
}

/// What a caller asks for; [`check`] turns it into the fields to store.
#[derive(Debug, Clone, Default)]
pub struct NewOrganisation {
    pub kind: String,
    pub name: String,
    pub level: Option<String>,
    pub region_code: Option<String>,
    pub uscc: Option<String>,
    /// An enterprise's registered legal representative: name and ID number (registry data; the
    /// number is kept only as its keyed hash).
    pub representative_name: Option<String>,
    pub representative_id: Option<String>,
}

/// The checked fields: (kind, level, region code, canonical USCC, flagged).
pub type Checked = (OrgKind, Option<String>, Option<String>, Option<String>, bool);

/// Checks a new organisation against its parent (`None`: a root).
pub fn check(new: &NewOrganisation, parent: Option<&Organisation>) -> Result<Checked, OrgError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(OrgError::Name);
    }
    let kind = OrgKind::parse(&new.kind)
        .ok_or(OrgError::Placement { child: new.kind.clone(), parent: "tree".into() })?;
    let (uscc, flagged) = match new.uscc.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            let parsed = identifiers::parse_uscc(u)?;
            (Some(parsed.code().to_string()), parsed.needs_registry_verification())
        }
        None if kind == OrgKind::Enterprise => return Err(OrgError::UsccMissing),
        None => (None, false),
    };
    let region = new.region_code.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = region
        && (r.len() != 6 || !r.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(OrgError::RegionCode);
    }
    let placement =
        |p: &Organisation| OrgError::Placement { child: new.kind.clone(), parent: p.kind.clone() };
    let level = match kind {
        OrgKind::Government => {
            let level = new.level.as_deref().filter(|l| LEVELS.contains(l)).ok_or(OrgError::Level)?;
            if region.is_none() {
                return Err(OrgError::RegionCode);
            }
            if let Some(p) = parent {
                // a body sits under a body of a higher level
                let rank = |l: &str| LEVELS.iter().position(|x| *x == l);
                let above =
                    p.kind == "government" && rank(p.level.as_deref().unwrap_or_default()) < rank(level);
                if !above {
                    return Err(placement(p));
                }
            }
            Some(level.to_string())
        }
        OrgKind::Department => {
            let p = parent.ok_or(OrgError::Orphan)?;
            if p.kind == "enterprise" {
                return Err(placement(p));
            }
            None
        }
        OrgKind::Enterprise => {
            if let Some(p) = parent {
                return Err(placement(p));
            }
            None
        }
    };
    Ok((kind, level, region.map(str::to_string), uscc, flagged))
}

/// The path of a child of `parent` (or of a root).
pub fn path_of(parent: Option<&Organisation>, id: &str) -> String {
    format!("{}{id}/", parent.map_or("/", |p| p.path.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(kind: &str, level: Option<&str>) -> Organisation {
        Organisation {
            id: "p".into(),
            tenant_id: "t".into(),
            kind: kind.into(),
            name: "P".into(),
            parent_id: None,
            level: level.map(str::to_string),
            region_code: Some("220000".into()),
            uscc: None,
            uscc_flagged: false,
            path: "/p/".into(),
            created_at: 0,
            representative_name: None,
            representative_hash: None,
        }
    }

    fn new(kind: &str, level: Option<&str>, uscc: Option<&str>) -> NewOrganisation {
        NewOrganisation {
            kind: kind.into(),
            name: "吉林省人民政府".into(),
            level: level.map(str::to_string),
            region_code: Some("220100".into()),
            uscc: uscc.map(str::to_string),
            ..NewOrganisation::default()
        }
    }

    #[test]
    fn a_membership_counts_inside_its_window_whatever_its_kind() {
        let m = Membership {
            id: "m".into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            organisation_id: "o".into(),
            kind: "enterprise_admin".into(),
            roles: vec![],
            created_at: 0,
            revoked_at: None,
            matters: vec![],
            starts_at: Some(10),
            expires_at: Some(20),
            confirmed_at: None,
            granted_by: None,
            source: None,
        };
        assert!(!m.active(9) && m.active(10) && m.active(19) && !m.active(20), "a licence manager's period");
        let agent = Membership { kind: "agent".into(), ..m.clone() };
        assert!(!agent.active(15), "an agent's mandate counts once confirmed");
        assert!(Membership { confirmed_at: Some(1), ..agent }.active(15));
        assert!(!Membership { revoked_at: Some(12), ..m }.active(15));
    }

    #[test]
    fn the_tree_rules() {
        let province = org("government", Some("province"));
        assert!(check(&new("government", Some("province"), None), None).is_ok());
        assert!(check(&new("government", Some("city"), None), Some(&province)).is_ok());
        assert!(matches!(
            check(&new("government", Some("province"), None), Some(&province)),
            Err(OrgError::Placement { .. })
        ));
        assert_eq!(check(&new("government", None, None), None), Err(OrgError::Level));
        assert!(check(&new("department", None, None), Some(&province)).is_ok());
        assert_eq!(check(&new("department", None, None), None), Err(OrgError::Orphan));
        assert_eq!(check(&new("enterprise", None, None), None), Err(OrgError::UsccMissing));
        let e = check(&new("enterprise", None, Some("91220101MA0Y3K5Q3C")), None).unwrap();
        assert_eq!((e.3.as_deref(), e.4), (Some("91220101MA0Y3K5Q3C"), false));
        let flagged = check(&new("enterprise", None, Some("91220101MA0Y3K5Q3D")), None).unwrap();
        assert!(flagged.4, "a check mismatch is flagged, not rejected");
        assert!(matches!(
            check(&new("enterprise", None, Some("91220101MA0Y3K5Q3")), None),
            Err(OrgError::Uscc(_))
        ));
        assert!(matches!(
            check(&new("enterprise", None, Some("91220101MA0Y3K5Q3C")), Some(&province)),
            Err(OrgError::Placement { .. })
        ));
        let mut bad = new("government", Some("city"), None);
        bad.region_code = Some("22010".into());
        assert_eq!(check(&bad, None), Err(OrgError::RegionCode));
        assert_eq!(path_of(Some(&province), "c"), "/p/c/");
        assert_eq!(path_of(None, "r"), "/r/");
    }
}
