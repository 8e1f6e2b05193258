//! SCIM 2.0 (RFC 7643, RFC 7644): what the service provider for HR systems needs to read, check
//! and answer — filters and PATCH paths (`filter`), PATCH requests applied (`patch`), the
//! schemas and resource types it keeps (`schema`), listing with filter, sort and page (`list`).
//! The resources themselves (accounts, departments, memberships) and the endpoints are the
//! server's (`idp_server::http::scim`).

pub mod filter;
pub mod list;
pub mod patch;
pub mod schema;

/// A resource a SCIM client provisioned: which account (`User`) or department (`Group`) it is,
/// the client that owns it, and the SCIM data kept beside it (`schema::clean`ed, without
/// `password`); `version` grows with every write.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub tenant_id: String,
    pub client_id: String,
    /// `User` or `Group`.
    pub kind: String,
    pub id: String,
    pub data: serde_json::Value,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Kept in a user's record (never from a client: `schema::clean` drops undeclared names, and
/// answers leave it out) while the client itself has the account disabled, so that its
/// `active: true` re-enables only that, never an administrator's lock (an administrator's
/// lock or unlock takes the note away).
pub const DISABLED_BY_CLIENT: &str = "_disabledByClient";

/// The scope a service client's access token needs for the SCIM endpoints.
pub const SCOPE: &str = "scim";

/// Where a client's provisioned memberships come from (`Membership::source`).
pub fn source(client_id: &str) -> String {
    format!("scim:{client_id}")
}

/// A SCIM client's registration (`ClientSettings::scim`), which the operator writes: where its
/// groups become departments, and what its users' roles grant. Nothing a client writes can
/// grant a role this mapping does not name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// The organisation the client's groups are made under, as departments.
    pub parent: String,
    /// A User's `roles` value (as the HR system names it) → the roles each of the user's staff
    /// memberships carries. A value not named here is refused.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
}

impl Settings {
    /// The mapping's own rules: roles granted here are staff roles, never administration
    /// (`org_admin`, the administrator roles), which only administrators grant.
    pub fn check(&self) -> Result<(), String> {
        if self.parent.trim().is_empty() {
            return Err("scim.parent names the organisation the client's groups go under".into());
        }
        for (from, to) in &self.roles {
            if from.is_empty() || from.chars().count() > 64 {
                return Err("scim.roles: an HR role has 1-64 characters".into());
            }
            for r in to {
                if r == crate::admin::ORG_ADMIN || crate::admin::ADMIN_ROLES.contains(&r.as_str()) {
                    return Err(format!("scim.roles: {r} is granted here by an administrator, not by SCIM"));
                }
                if r.is_empty()
                    || r.chars().count() > 64
                    || r.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(format!("scim.roles: {r:?} is not a role name"));
                }
            }
        }
        Ok(())
    }

    /// The roles a user's `roles` values grant, or the first value the mapping does not name.
    pub fn roles_for<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
        let mut out = std::collections::BTreeSet::new();
        for v in values {
            let granted = self.roles.get(v).ok_or_else(|| v.to_string())?;
            out.extend(granted.iter().cloned());
        }
        Ok(out.into_iter().collect())
    }
}
