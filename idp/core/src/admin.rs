//! Who may do what through the admin API (docs/domain.md "Security baseline"): three administrator
//! roles no account may combine — system (tenants, clients, organisations, configuration),
//! security (policies, keys, account security) and audit (reads the audit trail only) — and
//! delegated organisation administrators: staff whose membership in an organisation carries
//! the role `org_admin` manage exactly that organisation's subtree (its departments, their
//! staff), nothing above or beside it.
//!
//! Callers come with an access token issued by the tenant's own issuer for the admin API as its
//! resource (RFC 8707: its audience is [`resource`]), to an administrators' client, with the
//! `admin` scope and from a sign-in at `aal2` (`Caller::from_token`). A department
//! application's token never qualifies, whoever signed in to it: only administrators' clients
//! may carry the `admin` scope or ask for the admin API ([`check_client`]), and only system
//! administrators (and the operator's CLI) may mark a client so.

use crate::model::{Account, Authorization, Client};
use crate::org::Membership;
use crate::policy;

pub const SYSTEM_ADMIN: &str = "system_admin";
pub const SECURITY_ADMIN: &str = "security_admin";
pub const AUDIT_ADMIN: &str = "audit_admin";
/// The three separated administrator roles.
pub const ADMIN_ROLES: [&str; 3] = [SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN];
/// The staff-membership role of a delegated organisation administrator.
pub const ORG_ADMIN: &str = "org_admin";
/// The scope an access token needs for the admin API.
pub const SCOPE: &str = "admin";

/// The admin API's resource identifier (RFC 8707 §2) for the tenant of `issuer`
/// (`{public_url}/t/{slug}`): `{public_url}/admin/v1`.
pub fn resource(issuer: &str) -> String {
    let base = issuer.rsplit_once("/t/").map_or(issuer, |(base, _)| base);
    format!("{base}/admin/v1")
}

/// The rule for the `admin` scope on a client's registration: an administrators' client is a
/// web or browser application and always has the scope, never `offline_access` (no refresh
/// tokens: access lasts as long as a sign-in); no other client may have the scope, nor ask
/// for the admin API as a resource. `admin_resource` is the tenant's [`resource`].
pub fn check_client(
    client_type: crate::model::ClientType,
    s: &mut crate::model::ClientSettings,
    admin_resource: &str,
) -> Result<(), String> {
    use crate::model::ClientType;
    let mut scopes: Vec<String> = s.scope.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect();
    if s.admin_client {
        if !matches!(client_type, ClientType::Web | ClientType::Spa) {
            return Err("an administrators' client is a web or spa application".into());
        }
        if !scopes.iter().any(|x| x == SCOPE) {
            scopes.push(SCOPE.into());
        }
        // no refresh tokens: an administrator's access lives only as long as a sign-in
        scopes.retain(|x| x != "offline_access");
        if s.always_issue_refresh_token {
            return Err(
                "an administrators' client gets no refresh tokens (always_issue_refresh_token)".into()
            );
        }
    } else if scopes.iter().any(|x| x == SCOPE) {
        return Err("the admin scope belongs to administrators' clients only, which system \
                    administrators register as such (admin_client)"
            .into());
    }
    s.scope = scopes.join(" ");
    let is_admin = |r: &str| r.trim_end_matches('/') == admin_resource;
    if s.resources.iter().any(|r| is_admin(r)) || s.resource_uri.as_deref().is_some_and(is_admin) {
        return Err("the admin API is not a resource a client may name".into());
    }
    Ok(())
}

/// Refuses a set of account roles holding two administrator roles (separation of duties).
pub fn check_separation(roles: &[String]) -> Result<(), String> {
    let held: Vec<&str> = ADMIN_ROLES.into_iter().filter(|r| roles.iter().any(|x| x == r)).collect();
    match held.as_slice() {
        [a, b, ..] => Err(format!("no account may hold two administrator roles ({a} and {b})")),
        _ => Ok(()),
    }
}

/// What a caller asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadOrganisations,
    ManageOrganisations,
    ReadMembers,
    ManageMembers,
    /// Read, search, export and verify the audit trail: audit administrators only.
    ReadAudit,
    /// See, rotate and revoke signing keys: security administrators only.
    ManageKeys,
    /// Search, see, lock and unlock accounts, reset their factors, end their sessions:
    /// security administrators only.
    ManageAccounts,
    /// Register and look after clients: system administrators, and delegated administrators
    /// for clients of their subtree.
    ManageClients,
    /// Add, disable and remove the upstream identity providers people sign in with (whose
    /// answers can raise real-name levels): security administrators only.
    ManageUpstreams,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::ReadOrganisations,
        Action::ManageOrganisations,
        Action::ReadMembers,
        Action::ManageMembers,
        Action::ReadAudit,
        Action::ManageKeys,
        Action::ManageAccounts,
        Action::ManageClients,
        Action::ManageUpstreams,
    ];

    fn reads(self) -> bool {
        matches!(self, Action::ReadOrganisations | Action::ReadMembers)
    }
}

/// An authenticated administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: String,
    /// The client the caller's token was issued to (the console they use).
    pub client_id: String,
    pub roles: Vec<String>,
    /// The materialised paths (`/…/id/`) of the subtrees the caller administers by delegation.
    pub subtrees: Vec<String>,
}

/// Why a caller is refused before any action is considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The token is not for the admin API, or its client is not (or no longer) a live
    /// administrators' client.
    Audience,
    /// The token lacks the `admin` scope.
    Scope,
    /// The sign-in behind the token was below `aal2`.
    Level,
    /// Neither an administrator role nor a delegation.
    NotAdministrator,
}

impl Caller {
    /// The caller behind a live access token of the tenant: its audience and client, its
    /// scope, the level of its sign-in, the account's roles and its active staff memberships
    /// (with their organisations' paths) decide. `client` is the token's client as registered
    /// now; `admin_resource` the tenant's [`resource`].
    pub fn from_token(
        token: &Authorization,
        client: Option<&Client>,
        admin_resource: &str,
        account: &Account,
        memberships: &[(Membership, String)],
        now: i64,
    ) -> Result<Caller, Refusal> {
        let client_ok =
            client.is_some_and(|c| c.client_id == token.client_id && !c.disabled && c.settings.admin_client);
        if token.resource.as_deref() != Some(admin_resource) || !client_ok {
            return Err(Refusal::Audience);
        }
        if !token.scope.iter().any(|s| s == SCOPE) {
            return Err(Refusal::Scope);
        }
        if !policy::satisfies(token.acr.as_deref().unwrap_or(""), Some("aal2")) {
            return Err(Refusal::Level);
        }
        let roles: Vec<String> =
            account.roles.iter().filter(|r| ADMIN_ROLES.contains(&r.as_str())).cloned().collect();
        let subtrees: Vec<String> = memberships
            .iter()
            .filter(|(m, _)| m.kind == "staff" && m.active(now) && m.roles.iter().any(|r| r == ORG_ADMIN))
            .map(|(_, path)| path.clone())
            .collect();
        if roles.is_empty() && subtrees.is_empty() {
            return Err(Refusal::NotAdministrator);
        }
        Ok(Caller { account_id: account.id.clone(), client_id: token.client_id.clone(), roles, subtrees })
    }

    /// A system administrator of the tenant (not by delegation): the only one who may mark a
    /// client as an administrators' client, or change one.
    pub fn system(&self) -> bool {
        self.has(SYSTEM_ADMIN)
    }

    fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the caller may do `action` on the organisation at `path`; `None` stands for the
    /// tenant as a whole (a new root organisation, every organisation at once).
    pub fn may(&self, action: Action, path: Option<&str>) -> bool {
        match action {
            Action::ReadAudit => return self.has(AUDIT_ADMIN),
            Action::ManageKeys | Action::ManageAccounts | Action::ManageUpstreams => {
                return self.has(SECURITY_ADMIN);
            }
            _ => {}
        }
        if self.has(SYSTEM_ADMIN) || (action.reads() && self.has(SECURITY_ADMIN)) {
            return true;
        }
        path.is_some_and(|p| self.within(p))
    }

    /// Whether `path` lies in a subtree the caller administers by delegation.
    pub fn within(&self, path: &str) -> bool {
        self.subtrees.iter().any(|s| path.starts_with(s.as_str()))
    }

    /// Sees the whole tenant's tree (rather than only its subtrees).
    pub fn sees_all(&self) -> bool {
        self.has(SYSTEM_ADMIN) || self.has(SECURITY_ADMIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[&str], subtrees: &[&str]) -> Caller {
        Caller {
            account_id: "a".into(),
            client_id: "console".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            subtrees: subtrees.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn roles_cannot_be_combined() {
        let v = |r: &[&str]| r.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_separation(&v(&["system_admin", "clerk"])).is_ok());
        assert!(check_separation(&v(&[])).is_ok());
        for pair in [
            ["system_admin", "security_admin"],
            ["security_admin", "audit_admin"],
            ["audit_admin", "system_admin"],
        ] {
            assert!(check_separation(&v(&pair)).is_err(), "{pair:?}");
        }
    }

    #[test]
    fn the_matrix() {
        let city = "/prov/city/";
        let dept = "/prov/city/dept/";
        let other = "/prov/other/";
        let system = caller(&[SYSTEM_ADMIN], &[]);
        let security = caller(&[SECURITY_ADMIN], &[]);
        let audit = caller(&[AUDIT_ADMIN], &[]);
        let delegated = caller(&[], &[city]);
        for p in [None, Some(city)] {
            let reads: Vec<bool> = [&system, &security, &audit, &delegated]
                .iter()
                .map(|c| c.may(Action::ReadAudit, p))
                .collect();
            assert_eq!(reads, vec![false, false, true, false], "only auditors read the audit trail");
        }
        for p in [None, Some(city)] {
            for a in [Action::ManageKeys, Action::ManageAccounts, Action::ManageUpstreams] {
                let who: Vec<bool> =
                    [&system, &security, &audit, &delegated].iter().map(|c| c.may(a, p)).collect();
                assert_eq!(who, vec![false, true, false, false], "only security administrators: {a:?}");
            }
        }
        for a in Action::ALL.into_iter().filter(|a| {
            !matches!(
                a,
                Action::ReadAudit | Action::ManageKeys | Action::ManageAccounts | Action::ManageUpstreams
            )
        }) {
            for p in [None, Some(city), Some(dept), Some(other)] {
                assert!(system.may(a, p), "system {a:?} {p:?}");
                assert_eq!(security.may(a, p), a.reads(), "security {a:?} {p:?}");
                assert!(!audit.may(a, p), "audit {a:?} {p:?}");
                assert_eq!(
                    delegated.may(a, p),
                    matches!(p, Some(x) if x == city || x == dept),
                    "delegated {a:?} {p:?}"
                );
            }
        }
        // a prefix that is not a path prefix does not count
        assert!(!caller(&[], &["/prov/ci/"]).within(city));
    }
}
