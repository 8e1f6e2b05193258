//! The organisation tree and each organisation's members.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Admin, Layout, Posted, field, layout, page, rows, segment, txt, utc};
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
    let list = match api::get(shared, &a.token, "organisations").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .iter()
        .map(|o| {
            let depth = txt(o, "path").matches('/').count().saturating_sub(2);
            (
                txt(o, "id"),
                txt(o, "kind"),
                txt(o, "name"),
                txt(o, "level"),
                txt(o, "region_code"),
                txt(o, "uscc"),
                depth,
            )
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
    let new = json!({
        "kind": field(&p, "kind").unwrap_or("department"), "name": field(&p, "name").unwrap_or_default(),
        "parent_id": field(&p, "parent_id"), "level": field(&p, "level"), "region_code": field(&p, "region_code"),
        "uscc": field(&p, "uscc"),
    });
    match api::post(&shared, &a.token, "organisations", &new).await {
        Ok(o) => organisations_page(&shared, &a, Some(format!("{} ✓", txt(&o, "name"))), None).await,
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
    let o = api::get(shared, &a.token, &format!("organisations/{}", segment(id))).await.unwrap_or_else(|e| {
        l.error = Some(e);
        Value::Null
    });
    let list = match api::get(shared, &a.token, &format!("organisations/{}/members", segment(id))).await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error.get_or_insert(e);
            vec![]
        }
    };
    let members = list
        .iter()
        .map(|m| {
            let roles =
                m["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>();
            let since = m["created_at"].as_i64().map(utc).unwrap_or_default();
            (
                txt(m, "id"),
                txt(m, "account_id"),
                txt(m, "kind"),
                roles.join(" "),
                since,
                !m["revoked_at"].is_null(),
            )
        })
        .collect();
    l.message = message;
    if error.is_some() {
        l.error = error;
    }
    let (name, kind) = (txt(&o, "name"), txt(&o, "kind"));
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
    let roles: Vec<&str> = field(&p, "roles").unwrap_or_default().split_whitespace().collect();
    let new = json!({"username": field(&p, "username").unwrap_or_default(), "roles": roles});
    match api::post(&shared, &a.token, &format!("organisations/{}/members", segment(&id)), &new).await {
        Ok(m) => {
            organisation_page(&shared, &a, &id, Some(format!("{} ✓", txt(&m, "account_id"))), None).await
        }
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
    let error = api::send(&shared, &a.token, reqwest::Method::DELETE, &path, None).await.err();
    organisation_page(&shared, &a, &org, error.is_none().then(|| t.saved.to_string()), error).await
}
