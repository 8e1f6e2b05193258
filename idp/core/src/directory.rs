//! Staff directories (LDAP) onto the organisation tree: what one sync changes. The server reads
//! the directory (`idp_server::outbound::ldap`) and carries the plan out; what the plan is —
//! the operator's mapping applied to the directory and to what earlier syncs made — is decided
//! here, so that a dry run shows exactly what a real run would write.
//!
//! - **Organisational units** become departments under the organisation the mapping names
//!   (`Mapping::parent`), nested as in the directory.
//! - **Users** become accounts (username, name, phone, email as the directory has them when the
//!   account is made: afterwards they are the person's own here; no password: they sign in with
//!   a password set here, or by binding to the directory where the operator says so) with a
//!   staff membership in the department of their unit.
//! - **Groups** give roles: only the groups the mapping names, each to the roles it lists
//!   (nested groups count for their members; a loop is a conflict).
//! - **Incremental.** Each entry is remembered with its `entryUUID` and `modifyTimestamp`
//!   ([`Record`]); an entry whose timestamp did not move is not re-read. Roles are worked out
//!   from the groups at every sync (a group's change does not touch its members' timestamps).
//! - **Deletions end memberships**, never accounts or departments (their history stays).
//! - **Conflicts are reported, not guessed** ([`Plan::conflicts`]): two users with one
//!   username, a username an account not from this directory holds, a unit or user whose parent
//!   is not a unit of the directory, a loop of groups. A plan with conflicts is not carried out
//!   at all.
//!
//! Memberships the directory makes carry its source (`directory:{name}`,
//! [`source`]); those granted by administrators are never touched.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::org::Membership;

/// The operator's mapping of one directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Where the directory's units and users are (`dc=example,dc=gov,dc=cn`).
    pub base_dn: String,
    /// The organisation (its id here) the directory's top units go under.
    pub parent: String,
    pub unit_filter: String,
    pub user_filter: String,
    pub group_filter: String,
    /// The attributes read.
    pub username: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub member: String,
    /// Users this filter also matches are disabled in the directory: their memberships end
    /// as if they were deleted (their record stays). Empty: none.
    pub disabled_filter: String,
    /// A group (its DN) → the roles its members hold in their department. Groups not named
    /// give no role. Not `org_admin`: administration is granted here, by an administrator.
    pub roles: BTreeMap<String, Vec<String>>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            base_dn: String::new(),
            parent: String::new(),
            unit_filter: "(objectClass=organizationalUnit)".into(),
            user_filter: "(objectClass=inetOrgPerson)".into(),
            group_filter: "(objectClass=groupOfNames)".into(),
            username: "uid".into(),
            name: "cn".into(),
            phone: "mobile".into(),
            email: "mail".into(),
            member: "member".into(),
            disabled_filter: String::new(),
            roles: BTreeMap::new(),
        }
    }
}

impl Mapping {
    /// Checks the mapping before any sync.
    pub fn check(&self) -> Result<(), String> {
        if self.base_dn.trim().is_empty() || self.parent.trim().is_empty() {
            return Err("base_dn and parent are required".into());
        }
        for (what, f) in [
            ("unit_filter", &self.unit_filter),
            ("user_filter", &self.user_filter),
            ("group_filter", &self.group_filter),
        ] {
            if !(f.starts_with('(') && f.ends_with(')')) {
                return Err(format!("{what}: an LDAP filter in parentheses"));
            }
        }
        let d = &self.disabled_filter;
        if !(d.is_empty() || d.starts_with('(') && d.ends_with(')')) {
            return Err("disabled_filter: an LDAP filter in parentheses, or empty".into());
        }
        let role_ok = |r: &String| {
            !r.is_empty() && r.len() <= 64 && !r.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if let Some((g, _)) =
            self.roles.iter().find(|(_, roles)| roles.is_empty() || !roles.iter().all(role_ok))
        {
            return Err(format!("roles of {g:?}: words of at most 64 characters"));
        }
        // a group named by its cn alone could be any group anyone may create under base_dn
        let base = norm(&self.base_dn);
        if let Some(g) = self.roles.keys().find(|g| !g.contains('=') || !norm(g).ends_with(&base)) {
            return Err(format!("roles: {g:?} is not the DN of a group under base_dn"));
        }
        if self.roles.values().flatten().any(|r| r == crate::admin::ORG_ADMIN) {
            return Err("roles: org_admin is granted here by an administrator, not by a directory".into());
        }
        Ok(())
    }
}

/// The source of the memberships directory `name` makes.
pub fn source(name: &str) -> String {
    format!("directory:{name}")
}

/// A directory entry as read: its DN, `entryUUID`, `modifyTimestamp` and (where read) its
/// attributes, names in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub dn: String,
    pub uuid: String,
    pub modified: String,
    pub attrs: BTreeMap<String, Vec<String>>,
}

impl Entry {
    fn first(&self, attr: &str) -> Option<&str> {
        self.attrs.get(&attr.to_ascii_lowercase())?.first().map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// What one sync read: every unit and user (their attributes only where `changed` says the
/// entry moved on since the last sync), every group in full.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub units: Vec<Entry>,
    pub users: Vec<Entry>,
    pub groups: Vec<Entry>,
    /// The `entryUUID`s of the users `Mapping::disabled_filter` matches.
    pub disabled: BTreeSet<String>,
}

/// What an earlier sync made of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub uuid: String,
    /// `unit` or `user`.
    pub kind: String,
    pub dn: String,
    /// The organisation (unit) or account (user) it became.
    pub target: String,
    pub modified: String,
}

/// A DN's parent (`None` for a single RDN).
fn parent_dn(dn: &str) -> Option<String> {
    // RDN values may hold escaped commas
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return Some(norm(&dn[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// A DN compared case-insensitively, without spaces around separators.
pub fn norm(dn: &str) -> String {
    dn.split(',').map(|rdn| rdn.trim().to_lowercase()).collect::<Vec<_>>().join(",")
}

/// The first RDN's value.
fn rdn_value(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or_default();
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

/// Either an organisation that exists, or a unit created earlier in the same plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Org {
    Existing(String),
    New(String),
}

/// Either an account that exists, or a user created earlier in the same plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    Existing(String),
    New(String),
}

/// One change, in the order they are carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A department for unit `uuid` (its `modifyTimestamp` as read).
    AddUnit { uuid: String, dn: String, name: String, parent: Org, modified: String },
    /// An account for user `uuid`.
    AddUser {
        uuid: String,
        dn: String,
        username: String,
        name: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        modified: String,
    },
    /// A membership the directory made ends (the user left, moved or was deleted, or its
    /// roles changed).
    End { membership: String, why: &'static str },
    /// A staff membership with these roles.
    Join { person: Person, org: Org, roles: Vec<String> },
    /// An entry gone from the directory: its record is dropped.
    Forget { uuid: String },
    /// An entry's record (new, or moved on).
    Remember { record: Record },
}

/// What a sync changes, what stops it, and what it leaves to an administrator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// With any, only the endings of what was deleted or disabled are carried out (offboarding
    /// never waits); everything new waits until they are resolved.
    pub conflicts: Vec<String>,
    /// What the directory changed that a sync does not follow (a unit moved or renamed: its
    /// department is moved or renamed here by hand).
    pub notices: Vec<String>,
}

/// What is known here: the earlier syncs' records, the accounts holding the usernames the
/// directory uses (username → account id), and the live memberships of this directory's
/// source.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub records: Vec<Record>,
    pub usernames: BTreeMap<String, String>,
    pub memberships: Vec<Membership>,
}

/// The roles each user DN (normalised) holds through the mapped groups, nested groups
/// included; a loop of groups is a conflict.
fn roles_of(
    m: &Mapping,
    groups: &[Entry],
    conflicts: &mut Vec<String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let by_dn: BTreeMap<String, &Entry> = groups.iter().map(|g| (norm(&g.dn), g)).collect();
    let members = |g: &Entry| -> Vec<String> {
        g.attrs
            .get(&m.member.to_ascii_lowercase())
            .map(|v| v.iter().map(|d| norm(d)).collect())
            .unwrap_or_default()
    };
    // every person DN in a group, through nested groups, without going round a loop
    fn expand(
        dn: &str,
        by_dn: &BTreeMap<String, &Entry>,
        members: &dyn Fn(&Entry) -> Vec<String>,
        path: &mut Vec<String>,
        out: &mut BTreeSet<String>,
        loops: &mut BTreeSet<String>,
    ) {
        let Some(g) = by_dn.get(dn) else {
            out.insert(dn.to_string());
            return;
        };
        if path.iter().any(|p| p == dn) {
            loops.insert(path.join(" → ") + " → " + dn);
            return;
        }
        path.push(dn.to_string());
        for member in members(g) {
            expand(&member, by_dn, members, path, out, loops);
        }
        path.pop();
    }
    let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut loops = BTreeSet::new();
    for g in groups {
        let Some(roles) = m.roles.iter().find(|(k, _)| norm(k) == norm(&g.dn)).map(|(_, r)| r) else {
            continue;
        };
        let mut people = BTreeSet::new();
        expand(&norm(&g.dn), &by_dn, &members, &mut vec![], &mut people, &mut loops);
        for p in people {
            held.entry(p).or_default().extend(roles.iter().cloned());
        }
    }
    conflicts.extend(loops.into_iter().map(|l| format!("groups in a loop: {l}")));
    held
}

/// The plan of one sync of directory `name`.
pub fn plan(name: &str, m: &Mapping, s: &Snapshot, known: &Known) -> Plan {
    let mut p = Plan::default();
    let base = norm(&m.base_dn);
    let records: BTreeMap<&str, &Record> = known.records.iter().map(|r| (r.uuid.as_str(), r)).collect();
    // units, parents first
    let mut units: Vec<&Entry> = s.units.iter().filter(|u| norm(&u.dn) != base).collect();
    units.sort_by_key(|u| u.dn.matches(',').count());
    let mut unit_org: BTreeMap<String, Org> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for u in &units {
        if u.uuid.is_empty() || !seen.insert(u.uuid.clone()) {
            p.conflicts.push(format!("unit {}: no entryUUID, or one another entry has", u.dn));
            continue;
        }
        let parent = match parent_dn(&u.dn) {
            Some(pd) if pd == base => Org::Existing(m.parent.clone()),
            Some(pd) => match unit_org.get(&pd) {
                Some(o) => o.clone(),
                None => {
                    p.conflicts.push(format!("unit {}: its parent is not a unit of the directory", u.dn));
                    continue;
                }
            },
            None => {
                p.conflicts.push(format!("unit {}: not under {}", u.dn, m.base_dn));
                continue;
            }
        };
        let org = match records.get(u.uuid.as_str()) {
            Some(r) => {
                if norm(&r.dn) != norm(&u.dn) {
                    p.notices.push(format!(
                        "unit {} was {} in the directory: move or rename its department by hand",
                        u.dn, r.dn
                    ));
                }
                if r.modified != u.modified || norm(&r.dn) != norm(&u.dn) {
                    p.changes.push(Change::Remember {
                        record: Record { dn: u.dn.clone(), modified: u.modified.clone(), ..(*r).clone() },
                    });
                }
                Org::Existing(r.target.clone())
            }
            None => {
                let name = u.first("ou").unwrap_or_else(|| rdn_value(&u.dn)).to_string();
                p.changes.push(Change::AddUnit {
                    uuid: u.uuid.clone(),
                    dn: u.dn.clone(),
                    name,
                    parent,
                    modified: u.modified.clone(),
                });
                Org::New(u.uuid.clone())
            }
        };
        unit_org.insert(norm(&u.dn), org);
    }
    let roles = roles_of(m, &s.groups, &mut p.conflicts);
    // users
    let mut usernames: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for u in &s.users {
        if let Some(r) = records.get(u.uuid.as_str()).filter(|_| u.attrs.is_empty()) {
            // not re-read: its username is that of its account
            usernames.entry(format!("#{}", r.target)).or_default().push(&u.dn);
        } else if let Some(name) = u.first(&m.username) {
            usernames.entry(name.to_lowercase()).or_default().push(&u.dn);
        }
    }
    for (name, dns) in usernames.iter().filter(|(_, d)| d.len() > 1) {
        p.conflicts.push(format!("username {name}: {} users have it ({})", dns.len(), dns.join("; ")));
    }
    let mine = source(name);
    let live: Vec<&Membership> = known
        .memberships
        .iter()
        .filter(|m| m.revoked_at.is_none() && m.source.as_deref() == Some(mine.as_str()))
        .collect();
    let mut seen_users = BTreeSet::new();
    for u in &s.users {
        if u.uuid.is_empty() || !seen_users.insert(u.uuid.clone()) {
            p.conflicts.push(format!("user {}: no entryUUID, or one another entry has", u.dn));
            continue;
        }
        let Some(org) = parent_dn(&u.dn).and_then(|pd| unit_org.get(&pd).cloned()) else {
            p.conflicts.push(format!("user {}: not in a unit of the directory", u.dn));
            continue;
        };
        let attr = |a: &str| u.first(a).map(str::to_string);
        let person = match records.get(u.uuid.as_str()) {
            Some(r) => {
                if r.modified != u.modified || norm(&r.dn) != norm(&u.dn) {
                    p.changes.push(Change::Remember {
                        record: Record { dn: u.dn.clone(), modified: u.modified.clone(), ..(*r).clone() },
                    });
                }
                Person::Existing(r.target.clone())
            }
            None => {
                let Some(username) = attr(&m.username).map(|n| n.to_lowercase()) else {
                    p.conflicts.push(format!("user {}: no {}", u.dn, m.username));
                    continue;
                };
                if username.len() > 64 || username.chars().any(|c| c.is_control() || c.is_whitespace()) {
                    p.conflicts.push(format!("user {}: {username:?} is not a username here", u.dn));
                    continue;
                }
                if known.usernames.contains_key(&username) {
                    p.conflicts.push(format!(
                        "user {}: the username {username} is an account not from this directory",
                        u.dn
                    ));
                    continue;
                }
                p.changes.push(Change::AddUser {
                    uuid: u.uuid.clone(),
                    dn: u.dn.clone(),
                    username,
                    name: attr(&m.name),
                    phone: attr(&m.phone),
                    email: attr(&m.email),
                    modified: u.modified.clone(),
                });
                Person::New(u.uuid.clone())
            }
        };
        let want: Vec<String> =
            roles.get(&norm(&u.dn)).map(|r| r.iter().cloned().collect()).unwrap_or_default();
        let current = match &person {
            Person::Existing(a) => live.iter().filter(|m| m.account_id == *a).collect::<Vec<_>>(),
            Person::New(_) => vec![],
        };
        if s.disabled.contains(&u.uuid) {
            // disabled in the directory: as if deleted, but remembered
            for ms in current {
                p.changes.push(Change::End { membership: ms.id.clone(), why: "disabled in the directory" });
            }
            continue;
        }
        let same = |ms: &Membership| match &org {
            Org::Existing(o) => ms.organisation_id == *o && ms.roles == want,
            Org::New(_) => false,
        };
        let kept = current.iter().find(|ms| same(ms)).map(|ms| ms.id.clone());
        for ms in current.iter().filter(|ms| Some(&ms.id) != kept.as_ref()) {
            p.changes.push(Change::End {
                membership: ms.id.clone(),
                why: "moved or roles changed in the directory",
            });
        }
        if kept.is_none() {
            p.changes.push(Change::Join { person, org, roles: want });
        }
    }
    // entries gone from the directory
    let listed: BTreeSet<&str> = s.units.iter().chain(&s.users).map(|e| e.uuid.as_str()).collect();
    for r in known.records.iter().filter(|r| !listed.contains(r.uuid.as_str())) {
        let gone: Vec<&&Membership> =
            live.iter()
                .filter(|ms| {
                    if r.kind == "user" { ms.account_id == r.target } else { ms.organisation_id == r.target }
                })
                .collect();
        for ms in gone {
            p.changes.push(Change::End { membership: ms.id.clone(), why: "deleted from the directory" });
        }
        p.changes.push(Change::Forget { uuid: r.uuid.clone() });
    }
    // a listing without any user where users were synced before: the sync's account lost its
    // read access, or the subtree moved — not everyone left at once
    if s.users.is_empty() && known.records.iter().any(|r| r.kind == "user") {
        p.conflicts.push("the directory lists no users: nothing ends on an empty listing".into());
        p.changes.clear();
        return p;
    }
    // an End may be named twice (a user deleted from a deleted unit)
    let mut ended = BTreeSet::new();
    p.changes.retain(|c| match c {
        Change::End { membership, .. } => ended.insert(membership.clone()),
        _ => true,
    });
    // offboarding never waits: with conflicts, only the endings of what was deleted or
    // disabled (and the records of what is gone) go ahead
    if !p.conflicts.is_empty() {
        p.changes.retain(|c| {
            matches!(c, Change::End { why, .. } if *why != "moved or roles changed in the directory")
                || matches!(c, Change::Forget { .. })
        });
    }
    // endings first: a failure later in the run does not hold them up
    p.changes.sort_by_key(|c| !matches!(c, Change::End { .. }));
    p
}

#[cfg(test)]
mod tests;
