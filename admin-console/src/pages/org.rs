//! The organisation tree and each organisation's members.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use idp_proto::{MembershipInfo, NewMembership, NewOrganisation, OrganisationInfo};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, field, layout, opt, page, segment};
use crate::{MOUNT, Shared, api};

#[derive(Template)]
#[template(path = "organisations.html")]
pub struct OrganisationsPage {
    pub l: Layout,
    /// (id, kind, name, level, region, uscc, depth)
    pub rows: Vec<(String, String, String, String, String, String, usize)>,
    /// The parent picker: (id, name indented by its depth).
    pub parents: Vec<(String, String)>,
    /// The name filter.
    pub q: String,
}

pub async fn organisations(
    State(shared): State<Arc<Shared>>,
    Query(lq): Query<super::table::ListQuery>,
    a: Admin,
) -> Response {
    let (shared, a) = (&*shared, &a);
    let mut l = layout(a, "organisations", "/organisations");
    let list: Vec<OrganisationInfo> = match api::get(shared, &a.token, "organisations").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let depth = |o: &OrganisationInfo| o.path.matches('/').count().saturating_sub(2);
    let parents = list
        .iter()
        .filter(|o| o.kind != "enterprise")
        .map(|o| (o.id.clone(), format!("{}{}", "　".repeat(depth(o)), o.name)))
        .collect();
    // the tree in its order; filtered, the matches with their place in it
    let rows = list
        .into_iter()
        .filter(|o| {
            lq.matches(&[&o.name, o.region_code.as_deref().unwrap_or(""), o.uscc.as_deref().unwrap_or("")])
        })
        .map(|o| {
            let d = depth(&o);
            (o.id, o.kind, o.name, opt(&o.level), opt(&o.region_code), opt(&o.uscc), d)
        })
        .collect();
    page(a, &OrganisationsPage { l, rows, parents, q: lq.q })
}

/// `GET /organisations/export?q=`: the organisations the filter selects, as CSV, in the
/// tree's order with each one's parent named.
pub async fn export_organisations(
    State(shared): State<Arc<Shared>>,
    Query(lq): Query<super::table::ListQuery>,
    a: Admin,
) -> Response {
    let list: Vec<OrganisationInfo> = match api::get(&shared, &a.token, "organisations").await {
        Ok(v) => v,
        Err(e) => return (axum::http::StatusCode::FORBIDDEN, a.t.api_says(&e)).into_response(),
    };
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| list.iter().find(|o| &o.id == id))
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .filter(|o| {
            lq.matches(&[&o.name, o.region_code.as_deref().unwrap_or(""), o.uscc.as_deref().unwrap_or("")])
        })
        .map(|o| {
            vec![
                o.id.clone(),
                o.name.clone(),
                o.kind.clone(),
                opt(&o.level),
                opt(&o.region_code),
                opt(&o.uscc),
                name_of(&o.parent_id),
            ]
        })
        .collect();
    super::table::csv(
        "organisations.csv",
        &["id", "name", "kind", "level", "region_code", "uscc", "parent"],
        rows.into_iter(),
    )
}

pub async fn add_organisation(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let p = &posted.p;
    let text = |k: &str| field(p, k).map(String::from);
    let new = NewOrganisation {
        kind: field(p, "kind").unwrap_or("department").into(),
        name: field(p, "name").unwrap_or_default().into(),
        parent_id: text("parent_id"),
        level: text("level"),
        region_code: text("region_code"),
        uscc: text("uscc"),
        ..NewOrganisation::default()
    };
    match api::post::<_, OrganisationInfo>(&shared, &posted.a.token, "organisations", Some(&new)).await {
        Ok(o) => posted.ok(format!("{} ✓", o.name)),
        Err(e) => posted.refused(e),
    }
}

#[derive(Template)]
#[template(path = "organisation.html")]
pub struct OrganisationPage {
    pub l: Layout,
    pub id: String,
    pub name: String,
    pub kind: String,
    /// (membership id, account id, who (name and username), kind, roles, since, ended)
    pub members: Vec<(String, String, String, String, String, String, bool)>,
    /// Roles to pick from: those of this organisation's members, and `org_admin`.
    pub known_roles: Vec<String>,
}

pub async fn organisation(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    let (shared, a, id) = (&*shared, &a, id.as_str());
    let mut l = layout(a, "organisations", &format!("/organisations/{}", segment(id)));
    let o: Option<OrganisationInfo> =
        match api::get(shared, &a.token, &format!("organisations/{}", segment(id))).await {
            Ok(o) => Some(o),
            Err(e) => {
                l.error = Some(e);
                None
            }
        };
    let path = format!("organisations/{}/members", segment(id));
    let list: Vec<MembershipInfo> = match api::get(shared, &a.token, &path).await {
        Ok(v) => v,
        Err(e) => {
            l.error.get_or_insert(e);
            vec![]
        }
    };
    let mut known_roles: Vec<String> = list.iter().flat_map(|m| m.roles.clone()).collect();
    known_roles.push("org_admin".into());
    known_roles.sort();
    known_roles.dedup();
    let members = list
        .into_iter()
        .map(|m| {
            let who = match (&m.name, &m.username) {
                (Some(n), Some(u)) => format!("{n}（{u}）"),
                (None, Some(u)) => u.clone(),
                _ => m.account_id.clone(),
            };
            let roles = m.roles.join(" ");
            (m.id, m.account_id, who, m.kind, roles, a.at(m.created_at), m.revoked_at.is_some())
        })
        .collect();
    let (name, kind) = o.map(|o| (o.name, o.kind)).unwrap_or_default();
    page(a, &OrganisationPage { l, id: segment(id), name, kind, members, known_roles })
}

/// `POST /organisations/{id}`: a person joins as staff with roles.
pub async fn add_member(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let p = &posted.p;
    let roles = field(p, "roles").unwrap_or_default().split_whitespace().map(String::from).collect();
    let username = field(p, "username").unwrap_or_default().to_string();
    let new = NewMembership { username: username.clone(), roles };
    let path = format!("organisations/{}/members", segment(&id));
    match api::post::<_, MembershipInfo>(&shared, &posted.a.token, &path, Some(&new)).await {
        Ok(_) => posted.ok(format!("{username} ✓")),
        Err(e) => posted.refused(e),
    }
}

/// `POST /memberships/{id}/remove` (`org` names the page to come back to).
pub async fn remove_member(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    mut posted: Posted,
) -> Response {
    let t = posted.a.t;
    if let Some(org) = posted.field("org") {
        posted.back = format!("{MOUNT}/organisations/{}", segment(org));
    }
    let path = format!("memberships/{}", segment(&id));
    match api::send::<(), IgnoredAny>(&shared, &posted.a.token, reqwest::Method::DELETE, &path, None).await {
        Ok(_) => posted.ok(t.membership_ended),
        Err(e) => posted.refused(e),
    }
}
