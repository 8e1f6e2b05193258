//! The organisation tree and memberships: `/organisations`, `/organisations/{id}`,
//! `/organisations/{id}/members`, `/memberships/{id}`.

use serde::{Deserialize, Serialize};

/// An organisation of a tenant's tree (admin API `/organisations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationInfo {
    pub id: String,
    /// `government`, `department` or `enterprise`.
    pub kind: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// Government bodies: `province`, `city`, `county` or `township`.
    pub level: Option<String>,
    pub region_code: Option<String>,
    pub uscc: Option<String>,
    /// A check character of the USCC disagrees: to be verified against the registry.
    pub uscc_flagged: bool,
    /// The materialised path `/root/…/id/`.
    pub path: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_name: Option<String>,
}

/// A new organisation (`POST /organisations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// `None`: a root of the tree.
    #[serde(default)]
    pub parent_id: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub uscc: Option<String>,
    /// An enterprise's registered legal representative (name and ID number; the number is kept
    /// only as a keyed hash and never answered).
    #[serde(default)]
    pub representative_name: Option<String>,
    #[serde(default)]
    pub representative_id: Option<String>,
}

/// A membership of an account in an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipInfo {
    pub id: String,
    pub organisation_id: String,
    /// The organisation's name, where the answer is about a person's memberships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_name: Option<String>,
    pub account_id: String,
    /// The member's username and name, where the answer lists an organisation's members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `staff`, `legal_representative`, `enterprise_admin` or `agent`.
    pub kind: String,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<i64>,
}

/// A new staff membership (`POST /organisations/{id}/members`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMembership {
    /// The person's username or phone number.
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `GET /organisations`'s query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OrganisationsQuery {
    /// Only this organisation's subtree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under: Option<String>,
}
