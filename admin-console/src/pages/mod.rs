//! The pages: each calls the admin API with the signed-in administrator's token and renders
//! what it got (or the problem the idp answered — the idp decides every right).

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::texts::{EN, Texts, ZH};
use crate::{Flash, MOUNT, Session, Shared, auth};

mod accounts;
mod audit;
mod clients;
mod dashboard;
mod nav;
mod org;
mod records;
mod table;
mod tenants;
mod upstreams;

pub use accounts::*;
pub use audit::*;
pub use clients::*;
pub use dashboard::*;
pub use org::*;
pub use records::*;
pub use tenants::*;
pub use upstreams::*;

/// What every page shows around its content.
pub struct Layout {
    pub t: &'static Texts,
    pub csrf: String,
    /// The administrator's name and roles (in words), for the header.
    pub who: String,
    pub roles: String,
    /// What the navigation offers this administrator (`nav::links`).
    pub nav: Vec<(&'static str, &'static str, &'static str)>,
    pub active: &'static str,
    pub lang_href: String,
    pub message: Option<String>,
    pub error: Option<String>,
    /// A client secret to show once: (client id, client name, secret).
    pub secret: Option<(String, String, String)>,
    /// A form to fill in again: its action and fields.
    pub kept: Option<(String, Vec<(String, String)>)>,
    /// The IANA time zone the page's times are in.
    pub zone: String,
}

/// What every page's query may carry: the language asked for.
#[derive(Deserialize, Default)]
pub struct Common {
    pub(crate) lang: Option<String>,
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

/// A signed-in administrator's request: the page's language, the session, and its access
/// token for the admin API. Without a live session the request is sent to sign in
/// (`auth::require`, which also keeps a posted form).
pub struct Admin {
    pub t: &'static Texts,
    pub s: Session,
    pub token: String,
    shared: Arc<Shared>,
}

impl FromRequestParts<Arc<Shared>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        let q: Common = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
        let t = texts(&q, &parts.headers);
        let Some(s) = auth::signed_in(shared, &parts.headers) else {
            auth::sign_in_needed(None);
            return Err(StatusCode::UNAUTHORIZED.into_response());
        };
        Ok(Admin::new(t, s, shared))
    }
}

impl Admin {
    fn new(t: &'static Texts, s: Session, shared: &Arc<Shared>) -> Self {
        Admin { t, token: s.access_token.clone().unwrap_or_default(), s, shared: shared.clone() }
    }

    /// Post/Redirect/Get: to `to`, with `flash` for the page there.
    pub fn done(&self, to: &str, flash: Flash) -> Response {
        let mut s = self.s.clone();
        s.flash = Some(flash);
        auth::with_session(&self.shared, Redirect::to(to).into_response(), Some(&s))
    }

    /// A Unix time as `YYYY-MM-DD HH:MM` in the tenant's time zone (from `/me`; UTC if none).
    pub fn at(&self, t: i64) -> String {
        local(&self.s.time_zone, t)
    }

    /// An optional time as the pages show it: nothing for none.
    pub fn at_opt(&self, t: Option<i64>) -> String {
        t.map(|t| self.at(t)).unwrap_or_default()
    }

    pub fn has(&self, role: &str) -> bool {
        self.s.roles.iter().any(|r| r == role)
    }
}

/// A signed-in administrator's form post with the session's CSRF token: its fields, its
/// address, and the page to come back to.
pub struct Posted {
    pub a: Admin,
    pub p: Vec<(String, String)>,
    /// The form's address.
    pub action: String,
    /// The page it was sent from (htmx names it), else the page its address belongs to.
    pub back: String,
}

impl FromRequest<Arc<Shared>> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let action = parts.uri.path().to_string();
        let back = auth::htmx_page(&parts.headers).unwrap_or_else(|| page_of(&action));
        let session = auth::session(shared, &parts.headers);
        let q: Common = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
        let t = texts(&q, &parts.headers);
        let body = String::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(|_| (StatusCode::BAD_REQUEST, "The form could not be read.").into_response())?;
        let p: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
        // a list's forms name the list to come back to (with its query)
        let back = field(&p, "back").and_then(auth::local_path).unwrap_or(back);
        let Some(s) = session.clone().filter(auth::live) else {
            // the session ended: the form is kept for after the sign-in only when it is this
            // session's own (its CSRF token), never one planted by another site
            let own = session.is_some_and(|s| Some(s.csrf.as_str()) == field(&p, "csrf"));
            auth::sign_in_needed(own.then(|| (action, keep(&p))));
            return Err(StatusCode::UNAUTHORIZED.into_response());
        };
        let a = Admin::new(t, s, shared);
        if let Err(e) = check_csrf(&a, &p) {
            // a page left open across a sign-in: back to it, saying so (what it carried is not
            // put back: it may not be the administrator's)
            return Err(a.done(&back, Flash::error(e)));
        }
        auth::remember_form((action.clone(), keep(&p)));
        Ok(Posted { a, p, action, back })
    }
}

/// A form's fields without its CSRF token (to fill the form in again), and never a secret or
/// a password: those would go into the flash cookie and back into the page.
fn keep(p: &[(String, String)]) -> Vec<(String, String)> {
    p.iter()
        .filter(|(k, _)| k != "csrf" && k != "back" && !k.contains("secret") && !k.contains("password"))
        .cloned()
        .collect()
}

impl Posted {
    /// Done: back to the page with `message`.
    pub fn ok(&self, message: impl Into<String>) -> Response {
        self.a.done(&self.back, Flash::message(message))
    }

    /// Refused: back to the page with `error`, the form filled in again.
    pub fn refused(&self, error: impl Into<String>) -> Response {
        let flash = Flash {
            error: Some(error.into()),
            form: Some((self.action.clone(), keep(&self.p))),
            ..Flash::default()
        };
        self.a.done(&self.back, flash)
    }

    /// Done with a secret to show once on the page.
    pub fn secret(&self, client: (String, String, String), message: impl Into<String>) -> Response {
        let flash = Flash { message: Some(message.into()), secret: Some(client), ..Flash::default() };
        self.a.done(&self.back, flash)
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        field(&self.p, name)
    }
}

fn check_csrf(a: &Admin, p: &[(String, String)]) -> Result<(), String> {
    let csrf = p.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    if csrf != Some(a.s.csrf.as_str()) {
        return Err(a.t.form_expired.to_string());
    }
    Ok(())
}

/// The page a form's address belongs to: where a reload of it, or a post without htmx, goes.
pub(crate) fn page_of(action: &str) -> String {
    let rest = action.strip_prefix(MOUNT).unwrap_or(action).trim_end_matches('/');
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let page = match parts.as_slice() {
        ["keys", ..] => "/keys".to_string(),
        ["upstreams", ..] => "/upstreams".to_string(),
        ["logout", ..] => "/".to_string(),
        ["memberships", ..] => "/organisations".to_string(),
        ["tenants", _, "settings", ..] => format!("/tenants/{}/settings", segment(parts[1])),
        ["tenants", ..] => "/tenants".to_string(),
        ["settings", ..] => "/settings".to_string(),
        [first, second, ..] => format!("/{}/{}", segment(first), segment(second)),
        [first, ..] => format!("/{}", segment(first)),
        [] => "/".to_string(),
    };
    format!("{MOUNT}{page}")
}

/// A GET on an address that only takes form posts (a reload after an action, history): the
/// page it belongs to.
pub async fn elsewhere(uri: axum::http::Uri) -> Response {
    Redirect::to(&page_of(uri.path())).into_response()
}

pub(crate) fn layout(a: &Admin, active: &'static str, path: &str) -> Layout {
    let (t, s) = (a.t, &a.s);
    let other = if t.html_lang == "en" { "zh" } else { "en" };
    let flash = s.flash.clone().unwrap_or_default();
    let message = if flash.resumed { Some(t.resumed.to_string()) } else { flash.message };
    Layout {
        t,
        csrf: s.csrf.clone(),
        who: s.name.clone(),
        roles: s.roles.iter().map(|r| t.role(r)).collect::<Vec<_>>().join(" · "),
        nav: nav::links(t, &s.roles),
        active,
        lang_href: format!("{MOUNT}{path}?lang={other}"),
        message,
        error: flash.error,
        secret: flash.secret,
        kept: flash.form,
        zone: if s.time_zone.is_empty() { "UTC".into() } else { s.time_zone.clone() },
    }
}

/// The page rendered; a flash it showed is cleared from the session cookie.
pub(crate) fn page(a: &Admin, tpl: &impl Template) -> Response {
    let t = a.t;
    match tpl.render() {
        Ok(html) => {
            let mut res = Html(html).into_response();
            let cookie = format!(
                "console_lang={}; Path={MOUNT}; SameSite=Lax",
                if t.html_lang == "en" { "en" } else { "zh" }
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            if a.s.flash.is_some() {
                let mut s = a.s.clone();
                s.flash = None;
                res = auth::with_session(&a.shared, res, Some(&s));
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The largest logo the idp takes (its branding rules).
const LOGO_MAX: usize = 32 * 1024;

/// A multipart form post (the settings page's logo) with the session's CSRF token: the text
/// fields, and the uploaded file (type and bytes) if one was chosen. A refusal goes back to
/// `back` saying why (a logo over 32 KiB, or a body too large to read at all).
pub(crate) async fn multipart_form(
    a: &Admin,
    mut mp: axum::extract::Multipart,
    back: &str,
) -> Result<(Vec<(String, String)>, Option<(String, Vec<u8>)>), Response> {
    let t = a.t;
    let too_large = || a.done(back, Flash::error(t.logo_too_large));
    let (mut params, mut file) = (vec![], None);
    while let Some(part) = mp.next_field().await.map_err(|_| too_large())? {
        let name = part.name().unwrap_or_default().to_string();
        if part.file_name().is_some() {
            let content_type = part.content_type().unwrap_or_default().to_string();
            let bytes = part.bytes().await.map_err(|_| too_large())?;
            if bytes.len() > LOGO_MAX {
                return Err(too_large());
            }
            if !bytes.is_empty() {
                file = Some((content_type, bytes.to_vec()));
            }
        } else {
            params.push((name, part.text().await.map_err(|_| too_large())?));
        }
    }
    check_csrf(a, &params).map_err(|e| a.done(back, Flash::error(e)))?;
    Ok((params, file))
}

pub(crate) fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// Unix seconds as `YYYY-MM-DD HH:MM` in the IANA time zone `zone` (UTC when it is not one).
pub(crate) fn local(zone: &str, t: i64) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// An optional text as the pages show it: nothing for none.
pub(crate) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// A path segment from the page, safe to put into an API path.
pub(crate) fn segment(v: &str) -> String {
    v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
}

pub async fn htmx() -> Response {
    let mut res = include_str!("../../static/htmx.min.js").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}

pub async fn script() -> Response {
    let mut res = include_str!("../../static/console.js").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
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

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_never_kept_to_fill_a_form_in_again() {
        let form = [("id", "gov"), ("client_secret", "s"), ("new_password", "p"), ("csrf", "c")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(super::keep(&form), vec![("id".to_string(), "gov".to_string())]);
    }

    #[test]
    fn each_form_address_belongs_to_a_page() {
        for (action, page) in [
            ("/console/clients/abc/disable", "/console/clients/abc"),
            ("/console/clients/abc", "/console/clients/abc"),
            ("/console/clients", "/console/clients"),
            ("/console/keys/k1/revoke", "/console/keys"),
            ("/console/upstreams/gov/remove", "/console/upstreams"),
            ("/console/memberships/m1/remove", "/console/organisations"),
            ("/console/tenants/pilot/disable", "/console/tenants"),
            ("/console/tenants/pilot/settings/branding", "/console/tenants/pilot/settings"),
            ("/console/settings/branding", "/console/settings"),
            ("/console/accounts/a1/lock", "/console/accounts/a1"),
            ("/console/logout", "/console/"),
            ("/console/clients/<x>/y", "/console/clients/x"),
        ] {
            assert_eq!(super::page_of(action), page, "{action}");
        }
    }
}
