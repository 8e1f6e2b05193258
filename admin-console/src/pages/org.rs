//! The organisation tree and each organisation's members.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use idp_proto::{MembershipInfo, NewMembership, NewOrganisation, OrganisationInfo};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, field, layout, opt, page, segment, utc};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "organisations.html")]
pub struct OrganisationsPage {
    pub l: Layout,
    /// (id, kind, name, level, region, uscc, depth)
    pub rows: Vec<(String, String, String, String, String, String, usize)>,
}

async fn organisations_page(
    shared: &Shared,
    a: &Admin,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let t = a.t;
    let mut l = layout(a, "organisations", "/organisations");
    let list: Vec<OrganisationInfo> = match api::get(shared, &a.token, "organisations").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .into_iter()
        .map(|o| {
            let depth = o.path.matches('/').count().saturating_sub(2);
            (o.id, o.kind, o.name, opt(&o.level), opt(&o.region_code), opt(&o.uscc), depth)
        })
        .collect();
    l.message = message;
    if error.is_some() {
        l.error = error;
    }
    page(t, &OrganisationsPage { l, rows })
}

pub async fn organisations(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    organisations_page(&shared, &a, None, None).await
}

pub async fn add_organisation(State(shared): State<Arc<Shared>>, Posted { a, p }: Posted) -> Response {
    let text = |k: &str| field(&p, k).map(String::from);
    let new = NewOrganisation {
        kind: field(&p, "kind").unwrap_or("department").into(),
        name: field(&p, "name").unwrap_or_default().into(),
        parent_id: text("parent_id"),
        level: text("level"),
        region_code: text("region_code"),
        uscc: text("uscc"),
        ..NewOrganisation::default()
    };
    match api::post::<_, OrganisationInfo>(&shared, &a.token, "organisations", Some(&new)).await {
        Ok(o) => organisations_page(&shared, &a, Some(format!("{} ✓", o.name)), None).await,
        Err(e) => organisations_page(&shared, &a, None, Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "organisation.html")]
pub struct OrganisationPage {
    pub l: Layout,
    pub id: String,
    pub name: String,
    pub kind: String,
    /// (membership id, account id, kind, roles, since, ended)
    pub members: Vec<(String, String, String, String, String, bool)>,
}

async fn organisation_page(
    shared: &Shared,
    a: &Admin,
    id: &str,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let t = a.t;
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
    let members = list
        .into_iter()
        .map(|m| (m.id, m.account_id, m.kind, m.roles.join(" "), utc(m.created_at), m.revoked_at.is_some()))
        .collect();
    l.message = message;
    if error.is_some() {
        l.error = error;
    }
    let (name, kind) = o.map(|o| (o.name, o.kind)).unwrap_or_default();
    page(t, &OrganisationPage { l, id: segment(id), name, kind, members })
}

pub async fn organisation(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    organisation_page(&shared, &a, &id, None, None).await
}

/// `POST /organisations/{id}`: a person joins as staff with roles.
pub async fn add_member(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Posted { a, p }: Posted,
) -> Response {
    let roles = field(&p, "roles").unwrap_or_default().split_whitespace().map(String::from).collect();
    let new = NewMembership { username: field(&p, "username").unwrap_or_default().into(), roles };
    let path = format!("organisations/{}/members", segment(&id));
    match api::post::<_, MembershipInfo>(&shared, &a.token, &path, Some(&new)).await {
        Ok(m) => organisation_page(&shared, &a, &id, Some(format!("{} ✓", m.account_id)), None).await,
        Err(e) => organisation_page(&shared, &a, &id, None, Some(e)).await,
    }
}

/// `POST /memberships/{id}/remove` (`org` names the page to come back to).
pub async fn remove_member(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Posted { a, p }: Posted,
) -> Response {
    let t = a.t;
    let org = field(&p, "org").unwrap_or_default().to_string();
    let path = format!("memberships/{}", segment(&id));
    let error =
        api::send::<(), IgnoredAny>(&shared, &a.token, reqwest::Method::DELETE, &path, None).await.err();
    organisation_page(&shared, &a, &org, error.is_none().then(|| t.saved.to_string()), error).await
}
