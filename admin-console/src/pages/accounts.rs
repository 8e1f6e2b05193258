//! Accounts: search, detail and the actions on them.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Admin, Layout, Posted, field, layout, page, rows, segment, txt, utc};
use crate::texts::Texts;
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub l: Layout,
    pub q: String,
    /// (id, username, name, phone, disabled)
    pub rows: Vec<(String, String, String, String, bool)>,
    /// What can be done to an account: (action, label).
    pub actions: Vec<(&'static str, &'static str)>,
}

pub async fn accounts(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let q = &a.q;
    accounts_page(&shared, &a, q.q.clone().unwrap_or_default(), None, None).await
}

/// `POST /accounts/{id}/{lock|unlock|reset-factors|end-sessions}` (`q` keeps the search).
pub async fn account_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    Posted { a, p }: Posted,
) -> Response {
    let path = format!("accounts/{}/{}", segment(&id), segment(&action));
    let (message, error) = match api::post(&shared, &a.token, &path, &json!({})).await {
        Ok(a) => (Some(format!("{} ✓ {action}", txt(&a["account"], "username"))), None),
        Err(e) => (None, Some(e)),
    };
    let q = field(&p, "q").unwrap_or_default().to_string();
    accounts_page(&shared, &a, q, message, error).await
}

async fn accounts_page(
    shared: &Shared,
    a: &Admin,
    query: String,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let t = a.t;
    let mut l = layout(a, "accounts", "/accounts");
    l.message = message;
    l.error = error;
    let mut found = vec![];
    if query.trim().chars().count() >= 2 {
        let _token = &a.token;
        let path =
            format!("accounts?{}", serde_urlencoded::to_string([("q", query.trim())]).unwrap_or_default());
        match api::get(shared, &a.token, &path).await {
            Ok(v) => found = rows(&v),
            Err(e) => l.error = Some(e),
        }
    }
    let rows = found
        .iter()
        .map(|a| (txt(a, "id"), txt(a, "username"), txt(a, "name"), txt(a, "phone"), a["disabled"] == true))
        .collect();
    page(t, &AccountsPage { l, q: query, rows, actions: action_labels(t) })
}

/// What can be done to an account: (action, label).
fn action_labels(t: &Texts) -> Vec<(&'static str, &'static str)> {
    vec![
        ("lock", t.lock),
        ("unlock", t.unlock),
        ("reset-factors", t.reset_factors),
        ("end-sessions", t.end_sessions),
    ]
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountDetailPage {
    pub l: Layout,
    pub id: String,
    pub username: String,
    pub name: String,
    pub phone: String,
    pub disabled: bool,
    /// (level, name, masked ID number, method, verified)
    pub realname: Option<(String, String, String, String, String)>,
    pub totp: bool,
    /// (name, kind, last used, flagged)
    pub keys: Vec<(String, String, String, bool)>,
    pub recovery_left: String,
    /// (organisation, kind, roles, ended)
    pub memberships: Vec<(String, String, String, bool)>,
    /// (acr, amr, last seen, expires)
    pub sessions: Vec<(String, String, String, String)>,
    pub actions: Vec<(&'static str, &'static str)>,
}

pub async fn account(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    let t = a.t;
    let id = segment(&id);
    let mut l = layout(&a, "accounts", &format!("/accounts/{id}"));
    let d = api::get(&shared, &a.token, &format!("accounts/{id}")).await.unwrap_or_else(|e| {
        l.error = Some(e);
        Value::Null
    });
    let when = |v: &Value| v.as_i64().map(utc).unwrap_or_default();
    let words = |v: &Value| {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")
    };
    let a = &d["account"];
    let r = &d["realname"];
    let realname = r.is_object().then(|| {
        (
            txt(r, "level"),
            txt(r, "name"),
            txt(r, "id_number_masked"),
            txt(r, "method"),
            when(&r["verified_at"]),
        )
    });
    let keys = rows(&d["keys"])
        .iter()
        .map(|k| (txt(k, "name"), txt(k, "kind"), when(&k["last_used_at"]), k["flagged"] == true))
        .collect();
    let memberships = rows(&d["memberships"])
        .iter()
        .map(|m| (txt(m, "organisation_id"), txt(m, "kind"), words(&m["roles"]), !m["revoked_at"].is_null()))
        .collect();
    let sessions = rows(&d["sessions"])
        .iter()
        .map(|x| (txt(x, "acr"), words(&x["amr"]), when(&x["last_seen"]), when(&x["expires_at"])))
        .collect();
    let p = AccountDetailPage {
        username: txt(a, "username"),
        name: txt(a, "name"),
        phone: txt(a, "phone"),
        disabled: a["disabled"] == true,
        realname,
        totp: d["totp"] == true,
        keys,
        recovery_left: txt(&d, "recovery_codes_left"),
        memberships,
        sessions,
        actions: action_labels(t),
        l,
        id,
    };
    page(t, &p)
}
