//! Accounts: search, detail and the actions on them.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use idp_proto::{AccountDetail, AccountInfo, AccountSearch};

use super::table::{Header, ListQuery, paginate};
use super::{Admin, Layout, Posted, layout, opt, page, segment};
use crate::texts::Texts;
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub l: Layout,
    pub q: String,
    /// The sortable columns: username, name, state.
    pub heads: Vec<Header>,
    /// (id, username, name, phone, disabled)
    pub rows: Vec<(String, String, String, String, bool)>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    /// The search found as many as the admin API answers: narrow it.
    pub capped: bool,
    /// This list's query without the page.
    pub here: String,
    /// What can be done to an account: (action, label, effect).
    pub actions: Vec<(&'static str, &'static str, &'static str)>,
}

/// `POST /accounts/{id}/{lock|unlock|reset-factors|end-sessions}`: back to the page it was
/// sent from (the search keeps its query).
pub async fn account_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let t = posted.a.t;
    let path = format!("accounts/{}/{}", segment(&id), segment(&action));
    let done = action_labels(t).into_iter().find(|(a, ..)| *a == action).map_or("", |(_, l, _)| l);
    match api::post::<(), AccountDetail>(&shared, &posted.a.token, &path, None).await {
        Ok(d) => posted.ok(format!("{}: {} ✓", d.account.username, done)),
        Err(e) => posted.refused(e),
    }
}

/// The most matches the admin API answers for one search.
const MATCHES: usize = 100;

pub async fn accounts(State(shared): State<Arc<Shared>>, Query(lq): Query<ListQuery>, a: Admin) -> Response {
    let shared = &*shared;
    let query = lq.q.clone();
    let a = &a;
    let t = a.t;
    let mut l = layout(a, "accounts", "/accounts");
    let mut found: Vec<AccountInfo> = vec![];
    if query.trim().chars().count() >= 2 {
        let search = AccountSearch { q: Some(query.trim().to_string()) };
        let path = format!("accounts?{}", serde_urlencoded::to_string(&search).unwrap_or_default());
        match api::get(shared, &a.token, &path).await {
            Ok(v) => found = v,
            Err(e) => l.error = Some(e),
        }
    }
    let capped = found.len() >= MATCHES;
    match lq.sort.as_str() {
        "name" => found.sort_by(|x, y| x.name.cmp(&y.name).then(x.username.cmp(&y.username))),
        "state" => found.sort_by(|x, y| x.disabled.cmp(&y.disabled).then(x.username.cmp(&y.username))),
        _ => found.sort_by(|x, y| x.username.cmp(&y.username)),
    }
    if lq.desc() {
        found.reverse();
    }
    let paged = paginate(found, lq.page_no());
    let rows =
        paged.rows.into_iter().map(|a| (a.id, a.username, opt(&a.name), opt(&a.phone), a.disabled)).collect();
    let heads =
        vec![lq.header("username", t.username), lq.header("name", t.name), lq.header("state", t.state)];
    let here = lq.with(&[("page", "")]);
    let p = AccountsPage {
        l,
        q: query,
        heads,
        rows,
        page: paged.page,
        pages: paged.pages,
        total: paged.total,
        capped,
        here,
        actions: action_labels(t),
    };
    page(a, &p)
}

/// What can be done to an account: (action, label, its effect for the confirmation).
fn action_labels(t: &Texts) -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("lock", t.lock, t.lock_effect),
        ("unlock", t.unlock, t.unlock_effect),
        ("reset-factors", t.reset_factors, t.reset_effect),
        ("end-sessions", t.end_sessions, t.end_sessions_effect),
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
    /// (organisation id, its name, kind, roles, ended)
    pub memberships: Vec<(String, String, String, String, bool)>,
    /// (acr, amr, last seen, expires)
    pub sessions: Vec<(String, String, String, String)>,
    pub actions: Vec<(&'static str, &'static str, &'static str)>,
}

pub async fn account(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    let t = a.t;
    let id = segment(&id);
    let mut l = layout(&a, "accounts", &format!("/accounts/{id}"));
    let d: Option<AccountDetail> = match api::get(&shared, &a.token, &format!("accounts/{id}")).await {
        Ok(d) => Some(d),
        Err(e) => {
            l.error = Some(e);
            None
        }
    };
    let p = match d {
        Some(d) => AccountDetailPage {
            username: d.account.username,
            name: opt(&d.account.name),
            phone: opt(&d.account.phone),
            disabled: d.account.disabled,
            realname: d
                .realname
                .map(|r| (r.level.to_string(), r.name, r.id_number_masked, r.method, a.at(r.verified_at))),
            totp: d.totp,
            keys: d.keys.into_iter().map(|k| (k.name, k.kind, a.at_opt(k.last_used_at), k.flagged)).collect(),
            recovery_left: d.recovery_codes_left.to_string(),
            memberships: d
                .memberships
                .into_iter()
                .map(|m| {
                    let org = m.organisation_name.clone().unwrap_or_else(|| m.organisation_id.clone());
                    (m.organisation_id, org, m.kind, m.roles.join(" "), m.revoked_at.is_some())
                })
                .collect(),
            sessions: d
                .sessions
                .into_iter()
                .map(|x| (x.acr, x.amr.join(" "), a.at(x.last_seen), a.at(x.expires_at)))
                .collect(),
            actions: action_labels(t),
            l,
            id,
        },
        // the account could not be read: the problem, and nothing of it
        None => AccountDetailPage {
            username: String::new(),
            name: String::new(),
            phone: String::new(),
            disabled: false,
            realname: None,
            totp: false,
            keys: vec![],
            recovery_left: String::new(),
            memberships: vec![],
            sessions: vec![],
            actions: action_labels(t),
            l,
            id,
        },
    };
    page(&a, &p)
}
