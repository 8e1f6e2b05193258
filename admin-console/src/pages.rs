//! The pages: each calls the admin API with the signed-in administrator's token and renders
//! what it got (or the problem the idp answered — the idp decides every right).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::texts::{EN, Texts, ZH};
use crate::{Session, Shared, api, auth};

/// What every page shows around its content.
pub struct Layout {
    pub t: &'static Texts,
    pub csrf: String,
    pub subject: String,
    pub active: &'static str,
    pub lang_href: String,
    pub message: Option<String>,
    pub error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Common {
    lang: Option<String>,
    q: Option<String>,
    kind: Option<String>,
}

fn texts(q: &Common, headers: &HeaderMap) -> &'static Texts {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match q.lang.as_deref() {
        Some("en") => &EN,
        Some(_) => &ZH,
        None if cookie.contains("console_lang=en") => &EN,
        None => &ZH,
    }
}

/// The signed-in session, or the way to sign in.
#[allow(clippy::result_large_err)] // the handlers' early-return shape
fn session(shared: &Shared, headers: &HeaderMap) -> Result<Session, Response> {
    auth::signed_in(shared, headers).ok_or_else(|| Redirect::to("/login").into_response())
}

fn layout(t: &'static Texts, s: &Session, active: &'static str, path: &str) -> Layout {
    let other = if t.html_lang == "en" { "zh" } else { "en" };
    Layout {
        t,
        csrf: s.csrf.clone(),
        subject: s.subject.clone(),
        active,
        lang_href: format!("{path}?lang={other}"),
        message: None,
        error: None,
    }
}

fn page(t: &'static Texts, tpl: &impl Template) -> Response {
    match tpl.render() {
        Ok(html) => {
            let mut res = Html(html).into_response();
            let cookie = format!(
                "console_lang={}; Path=/; SameSite=Lax",
                if t.html_lang == "en" { "en" } else { "zh" }
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A form post: signed in, and the session's CSRF token.
#[allow(clippy::result_large_err)] // the handlers' early-return shape
fn form(
    shared: &Shared,
    headers: &HeaderMap,
    body: &str,
) -> Result<(Session, Vec<(String, String)>), Response> {
    let s = session(shared, headers)?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
    let csrf = params.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    if csrf != Some(s.csrf.as_str()) {
        return Err((StatusCode::FORBIDDEN, "The form has expired; reload the page.").into_response());
    }
    Ok((s, params))
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// Unix seconds as `YYYY-MM-DD HH:MM`, UTC.
fn utc(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

fn rows(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn txt(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One hour's bar of the dashboard chart (SVG coordinates computed here).
pub struct Bar {
    pub x: i64,
    pub ok_y: i64,
    pub ok_h: i64,
    pub fail_y: i64,
    pub fail_h: i64,
    pub title: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub l: Layout,
    pub bars: Vec<Bar>,
    pub sessions: i64,
    pub keys: Vec<(String, String, String)>,
}

pub async fn dashboard(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    let s = match session(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut l = layout(t, &s, "dashboard", "/");
    let token = s.access_token.clone().unwrap_or_default();
    let stats = api::get(&shared, &token, "stats").await.unwrap_or_else(|e| {
        l.error = Some(e);
        Value::Null
    });
    let hours = rows(&stats["hours"]);
    let max = hours
        .iter()
        .map(|h| h["sign_ins"].as_i64().unwrap_or(0) + h["failures"].as_i64().unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let ok = h["sign_ins"].as_i64().unwrap_or(0);
            let fail = h["failures"].as_i64().unwrap_or(0);
            let ok_h = ok * 100 / max;
            let fail_h = fail * 100 / max;
            Bar {
                x: i as i64 * 20 + 2,
                ok_y: 110 - ok_h,
                ok_h,
                fail_y: 110 - ok_h - fail_h,
                fail_h,
                title: format!("{} UTC: {ok} / {fail}", utc(h["hour"].as_i64().unwrap_or(0))),
            }
        })
        .collect();
    let keys = rows(&stats["keys"]).iter().map(|k| (txt(k, "kid"), txt(k, "alg"), txt(k, "state"))).collect();
    let p = DashboardPage { l, bars, sessions: stats["live_sessions"].as_i64().unwrap_or(0), keys };
    page(t, &p)
}

#[derive(Template)]
#[template(path = "tenants.html")]
pub struct TenantsPage {
    pub l: Layout,
    /// (slug, name, issuer, sandbox, disabled)
    pub rows: Vec<(String, String, String, bool, bool)>,
}

async fn tenants_page(shared: &Shared, t: &'static Texts, s: &Session, error: Option<String>) -> Response {
    let mut l = layout(t, s, "tenants", "/tenants");
    let token = s.access_token.clone().unwrap_or_default();
    let list = match api::get_root(shared, &token, "tenants").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .iter()
        .map(|x| {
            (txt(x, "slug"), txt(x, "name"), txt(x, "issuer"), x["sandbox"] == true, x["disabled"] == true)
        })
        .collect();
    if error.is_some() {
        l.error = error;
    }
    page(t, &TenantsPage { l, rows })
}

pub async fn tenants(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    match session(&shared, &headers) {
        Ok(s) => tenants_page(&shared, t, &s, None).await,
        Err(r) => r,
    }
}

pub async fn create_tenant(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new = json!({"slug": field(&p, "slug").unwrap_or_default(), "name": field(&p, "name"), "sandbox": field(&p, "sandbox").is_some()});
    let token = s.access_token.clone().unwrap_or_default();
    let error = api::post_root(&shared, &token, "tenants", &new).await.err();
    tenants_page(&shared, t, &s, error).await
}

/// `POST /tenants/{slug}/{disable|enable}`.
pub async fn tenant_action(
    State(shared): State<Arc<Shared>>,
    Path((slug, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, _) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let path = format!("tenants/{}/{}", segment(&slug), segment(&action));
    let error = api::post_root(&shared, &token, &path, &json!({})).await.err();
    tenants_page(&shared, t, &s, error).await
}

#[derive(Template)]
#[template(path = "organisations.html")]
pub struct OrganisationsPage {
    pub l: Layout,
    /// (id, kind, name, level, region, uscc, depth)
    pub rows: Vec<(String, String, String, String, String, String, usize)>,
}

async fn organisations_page(
    shared: &Shared,
    t: &'static Texts,
    s: &Session,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let mut l = layout(t, s, "organisations", "/organisations");
    let token = s.access_token.clone().unwrap_or_default();
    let list = match api::get(shared, &token, "organisations").await {
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

pub async fn organisations(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    match session(&shared, &headers) {
        Ok(s) => organisations_page(&shared, t, &s, None, None).await,
        Err(r) => r,
    }
}

pub async fn add_organisation(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new = json!({
        "kind": field(&p, "kind").unwrap_or("department"), "name": field(&p, "name").unwrap_or_default(),
        "parent_id": field(&p, "parent_id"), "level": field(&p, "level"), "region_code": field(&p, "region_code"),
        "uscc": field(&p, "uscc"),
    });
    let token = s.access_token.clone().unwrap_or_default();
    match api::post(&shared, &token, "organisations", &new).await {
        Ok(o) => organisations_page(&shared, t, &s, Some(format!("{} ✓", txt(&o, "name"))), None).await,
        Err(e) => organisations_page(&shared, t, &s, None, Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "clients.html")]
pub struct ClientsPage {
    pub l: Layout,
    /// (client_id, name, type, scope, disabled, rotatable)
    pub rows: Vec<(String, String, String, String, bool, bool)>,
    /// A secret to show once.
    pub secret: Option<Shown>,
}

/// A client secret shown once.
pub struct Shown {
    pub client: String,
    pub secret: String,
}

async fn clients_page(
    shared: &Shared,
    t: &'static Texts,
    s: &Session,
    secret: Option<Shown>,
    error: Option<String>,
) -> Response {
    let mut l = layout(t, s, "clients", "/clients");
    let token = s.access_token.clone().unwrap_or_default();
    let list = match api::get(shared, &token, "clients").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .iter()
        .map(|c| {
            let kind = txt(c, "type");
            let rotatable = kind != "spa";
            (txt(c, "client_id"), txt(c, "name"), kind, txt(c, "scope"), c["disabled"] == true, rotatable)
        })
        .collect();
    if error.is_some() {
        l.error = error;
    }
    page(t, &ClientsPage { l, rows, secret })
}

pub async fn clients(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    match session(&shared, &headers) {
        Ok(s) => clients_page(&shared, t, &s, None, None).await,
        Err(r) => r,
    }
}

pub async fn register_client(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut new =
        json!({"name": field(&p, "name").unwrap_or_default(), "type": field(&p, "type").unwrap_or("web")});
    if let Some(uri) = field(&p, "redirect_uri") {
        new["redirect_uris"] = json!([uri]);
    }
    if let Some(scope) = field(&p, "scope") {
        new["scope"] = json!(scope);
    }
    let token = s.access_token.clone().unwrap_or_default();
    match api::post(&shared, &token, "clients", &new).await {
        Ok(c) => {
            let secret = c["client_secret"]
                .as_str()
                .map(|x| Shown { client: txt(&c, "client_id"), secret: x.to_string() });
            clients_page(&shared, t, &s, secret, None).await
        }
        Err(e) => clients_page(&shared, t, &s, None, Some(e)).await,
    }
}

/// A path segment from the page, safe to put into an API path.
fn segment(v: &str) -> String {
    v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
}

/// `POST /clients/{id}/{rotate|disable|enable}`.
pub async fn client_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    if matches!(action.as_str(), "disable" | "enable") {
        let path = format!("clients/{}/{action}", segment(&id));
        let error = api::post(&shared, &token, &path, &json!({})).await.err();
        return clients_page(&shared, t, &s, None, error).await;
    }
    let overlap: i64 = field(&p, "overlap").and_then(|v| v.parse().ok()).unwrap_or(0);
    let path = format!("clients/{}/rotate-secret", segment(&id));
    match api::post(&shared, &token, &path, &json!({"overlap_seconds": overlap})).await {
        Ok(c) => {
            let secret = c["client_secret"]
                .as_str()
                .map(|x| Shown { client: txt(&c, "client_id"), secret: x.to_string() });
            clients_page(&shared, t, &s, secret, None).await
        }
        Err(e) => clients_page(&shared, t, &s, None, Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub l: Layout,
    /// (kid, alg, state, activates, retires)
    pub rows: Vec<(String, String, String, String, String)>,
}

async fn keys_page(shared: &Shared, t: &'static Texts, s: &Session, error: Option<String>) -> Response {
    let mut l = layout(t, s, "keys", "/keys");
    let token = s.access_token.clone().unwrap_or_default();
    let list = match api::get(shared, &token, "keys").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let when = |v: &Value| v.as_i64().map(utc).unwrap_or_default();
    let rows = list
        .iter()
        .map(|k| {
            (txt(k, "kid"), txt(k, "alg"), txt(k, "state"), when(&k["activates_at"]), when(&k["retires_at"]))
        })
        .collect();
    if error.is_some() {
        l.error = error;
    }
    page(t, &KeysPage { l, rows })
}

pub async fn keys(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    match session(&shared, &headers) {
        Ok(s) => keys_page(&shared, t, &s, None).await,
        Err(r) => r,
    }
}

/// `POST /keys/{kid}/revoke`.
pub async fn revoke_key(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, _) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let error = api::post(&shared, &token, &format!("keys/{}/revoke", segment(&kid)), &json!({})).await.err();
    keys_page(&shared, t, &s, error).await
}

pub async fn rotate_key(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let alg = field(&p, "alg").unwrap_or("ES256");
    let error = api::post(&shared, &token, "keys/rotate", &json!({"alg": alg})).await.err();
    keys_page(&shared, t, &s, error).await
}

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

pub async fn accounts(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    let s = match session(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    accounts_page(&shared, t, &s, q.q.clone().unwrap_or_default(), None, None).await
}

/// `POST /accounts/{id}/{lock|unlock|reset-factors|end-sessions}` (`q` keeps the search).
pub async fn account_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let path = format!("accounts/{}/{}", segment(&id), segment(&action));
    let (message, error) = match api::post(&shared, &token, &path, &json!({})).await {
        Ok(a) => (Some(format!("{} ✓ {action}", txt(&a["account"], "username"))), None),
        Err(e) => (None, Some(e)),
    };
    let q = field(&p, "q").unwrap_or_default().to_string();
    accounts_page(&shared, t, &s, q, message, error).await
}

async fn accounts_page(
    shared: &Shared,
    t: &'static Texts,
    s: &Session,
    query: String,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let mut l = layout(t, s, "accounts", "/accounts");
    l.message = message;
    l.error = error;
    let mut found = vec![];
    if query.trim().chars().count() >= 2 {
        let token = s.access_token.clone().unwrap_or_default();
        let path =
            format!("accounts?{}", serde_urlencoded::to_string([("q", query.trim())]).unwrap_or_default());
        match api::get(shared, &token, &path).await {
            Ok(v) => found = rows(&v),
            Err(e) => l.error = Some(e),
        }
    }
    let rows = found
        .iter()
        .map(|a| (txt(a, "id"), txt(a, "username"), txt(a, "name"), txt(a, "phone"), a["disabled"] == true))
        .collect();
    let actions = vec![
        ("lock", t.lock),
        ("unlock", t.unlock),
        ("reset-factors", t.reset_factors),
        ("end-sessions", t.end_sessions),
    ];
    page(t, &AccountsPage { l, q: query, rows, actions })
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub kind: String,
    /// (seq, when, kind, account, detail)
    pub rows: Vec<(String, String, String, String, String)>,
}

pub async fn audit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    let s = match session(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut l = layout(t, &s, "audit", "/audit");
    let kind = q.kind.clone().unwrap_or_default();
    let mut query = vec![("limit", "100".to_string())];
    if !kind.trim().is_empty() {
        query.push(("kind", kind.trim().to_string()));
    }
    let token = s.access_token.clone().unwrap_or_default();
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    let records = match api::get(&shared, &token, &path).await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = records
        .iter()
        .map(|r| {
            (
                txt(r, "seq"),
                r["at"].as_i64().map(utc).unwrap_or_default(),
                txt(r, "kind"),
                txt(r, "account_id"),
                txt(r, "detail"),
            )
        })
        .collect();
    page(t, &AuditPage { l, kind, rows })
}

pub async fn htmx() -> Response {
    let mut res = include_str!("../static/htmx.min.js").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}

pub async fn stylesheet() -> Response {
    let mut res = include_str!("../static/console.css").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// The same strict headers as the idp's pages.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
