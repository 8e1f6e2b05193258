//! The pages: each calls the admin API with the signed-in administrator's token and renders
//! what it got (or the problem the idp answered — the idp decides every right).

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::texts::{EN, Texts, ZH};
use crate::{Session, Shared, api, auth};

mod accounts;
mod clients;
mod org;
mod records;
mod tenants;

pub use accounts::*;
pub use clients::*;
pub use org::*;
pub use records::*;
pub use tenants::*;

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
    pub(crate) lang: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) kind: Option<String>,
    /// The audit export's format (`csv`, `json`).
    pub(crate) format: Option<String>,
    /// The audit page: verify the chains.
    pub(crate) verify: Option<String>,
}

pub(crate) fn texts(q: &Common, headers: &HeaderMap) -> &'static Texts {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match q.lang.as_deref() {
        Some("en") => &EN,
        Some(_) => &ZH,
        None if cookie.contains("console_lang=en") => &EN,
        None => &ZH,
    }
}

/// A signed-in administrator's request: the page's language and query, the session, and its
/// access token for the admin API. Without a live session the request is sent to sign in.
pub struct Admin {
    pub t: &'static Texts,
    pub q: Common,
    pub s: Session,
    pub token: String,
}

impl FromRequestParts<Arc<Shared>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        let q: Common = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
        let t = texts(&q, &parts.headers);
        let s =
            auth::signed_in(shared, &parts.headers).ok_or_else(|| Redirect::to("/login").into_response())?;
        Ok(Admin { t, q, token: s.access_token.clone().unwrap_or_default(), s })
    }
}

/// A signed-in administrator's form post with the session's CSRF token: its fields.
pub struct Posted {
    pub a: Admin,
    pub p: Vec<(String, String)>,
}

impl FromRequest<Arc<Shared>> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let a = Admin::from_request_parts(&mut parts, shared).await?;
        let body = String::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(|_| (StatusCode::BAD_REQUEST, "The form could not be read.").into_response())?;
        let p: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
        check_csrf(&a, &p)?;
        Ok(Posted { a, p })
    }
}

#[allow(clippy::result_large_err)] // the extractors' rejection
fn check_csrf(a: &Admin, p: &[(String, String)]) -> Result<(), Response> {
    let csrf = p.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    if csrf != Some(a.s.csrf.as_str()) {
        return Err((StatusCode::FORBIDDEN, "The form has expired; reload the page.").into_response());
    }
    Ok(())
}

pub(crate) fn layout(a: &Admin, active: &'static str, path: &str) -> Layout {
    let (t, s) = (a.t, &a.s);
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

pub(crate) fn page(t: &'static Texts, tpl: &impl Template) -> Response {
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

/// A multipart form post (the settings page's logo) with the session's CSRF token: the text
/// fields, and the uploaded file (type and bytes) if one was chosen.
pub(crate) async fn multipart_form(
    a: &Admin,
    mut mp: axum::extract::Multipart,
) -> Result<(Vec<(String, String)>, Option<(String, Vec<u8>)>), Response> {
    let bad = || (StatusCode::BAD_REQUEST, "The form could not be read.").into_response();
    let (mut params, mut file) = (vec![], None);
    while let Some(part) = mp.next_field().await.map_err(|_| bad())? {
        let name = part.name().unwrap_or_default().to_string();
        if part.file_name().is_some() {
            let content_type = part.content_type().unwrap_or_default().to_string();
            let bytes = part.bytes().await.map_err(|_| bad())?;
            if !bytes.is_empty() {
                file = Some((content_type, bytes.to_vec()));
            }
        } else {
            params.push((name, part.text().await.map_err(|_| bad())?));
        }
    }
    check_csrf(a, &params)?;
    Ok((params, file))
}

pub(crate) fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// Unix seconds as `YYYY-MM-DD HH:MM`, UTC.
pub(crate) fn utc(t: i64) -> String {
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

/// An optional text as the pages show it: nothing for none.
pub(crate) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// An optional time as the pages show it: nothing for none.
pub(crate) fn when(t: Option<i64>) -> String {
    t.map(utc).unwrap_or_default()
}

/// A path segment from the page, safe to put into an API path.
pub(crate) fn segment(v: &str) -> String {
    v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
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

pub async fn dashboard(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let t = a.t;
    let mut l = layout(&a, "dashboard", "/");
    let stats: Option<idp_proto::Stats> = match api::get(&shared, &a.token, "stats").await {
        Ok(v) => Some(v),
        Err(e) => {
            l.error = Some(e);
            None
        }
    };
    let (hours, sessions, keys) = match stats {
        Some(s) => (s.hours, s.live_sessions, s.keys),
        None => (vec![], 0, vec![]),
    };
    let max = hours.iter().map(|h| h.sign_ins + h.failures).max().unwrap_or(0).max(1);
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (ok, fail) = (h.sign_ins, h.failures);
            let ok_h = ok * 100 / max;
            let fail_h = fail * 100 / max;
            Bar {
                x: i as i64 * 20 + 2,
                ok_y: 110 - ok_h,
                ok_h,
                fail_y: 110 - ok_h - fail_h,
                fail_h,
                title: format!("{} UTC: {ok} / {fail}", utc(h.hour)),
            }
        })
        .collect();
    let keys = keys.into_iter().map(|k| (k.kid, k.alg, k.state)).collect();
    let p = DashboardPage { l, bars, sessions, keys };
    page(t, &p)
}

pub async fn htmx() -> Response {
    let mut res = include_str!("../../static/htmx.min.js").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}

pub async fn stylesheet() -> Response {
    let mut res = include_str!("../../static/console.css").into_response();
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
