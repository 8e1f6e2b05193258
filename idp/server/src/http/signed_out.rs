//! The signed-out page (OpenID Connect Front-Channel Logout 1.0 §3, §4): it loads each
//! client's front-channel logout URI, with `iss` and `sid`, in a hidden iframe, and then goes on
//! to the client's `post_logout_redirect_uri` (a small script once every frame has loaded, a
//! meta refresh without it). Its CSP allows exactly those frames' origins. And the one way
//! the pages end sessions, [`end_sessions`], which tells every client that took part.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::Session;

use crate::http::pages::{Lang, Texts, render};
use crate::http::see_other;
use crate::outbound::logout::FrontChannel;
use crate::state::{AppState, TenantCtx};

/// Ends the sessions everywhere: their clients' back-channel logouts are queued and the
/// delivery task woken; the front-channel frames of `this` session (the browser present), if
/// it is among them.
pub async fn end_sessions(
    state: &AppState,
    t: &TenantCtx,
    sessions: &[Session],
    this: Option<&str>,
) -> Result<Vec<FrontChannel>, OAuthError> {
    let frames = state
        .ops
        .end_sessions(&t.tenant.id, sessions)
        .await
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    state.logout_wake.notify_one();
    let mut frames: Vec<FrontChannel> = frames.into_iter().filter(|f| this == Some(f.sid.as_str())).collect();
    // (only for a session that did end here: never another person's in this browser)
    if let Some(sid) = this.filter(|sid| sessions.iter().any(|s| s.sid == *sid)) {
        frames.extend(crate::http::saml::front_channel_logouts(state, t, sid).await);
    }
    Ok(frames)
}

/// [`page_with`] for this browser, whose session cookie it clears.
pub fn here(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    frames: &[FrontChannel],
    next: Option<&str>,
    heading: (&str, &str),
) -> Response {
    let mut res = page_with(lang, &t.endpoints.issuer, frames, next, heading);
    let clear = crate::http::set_cookie(
        state,
        crate::http::session::SESSION_COOKIE,
        "",
        &crate::http::session::tenant_path(t),
        Some(0),
    );
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage<'a> {
    t: &'a Texts,
    lang_switch: Option<String>,
    frames: Vec<String>,
    next: Option<&'a str>,
    title: &'a str,
    text: &'a str,
    /// The account centre, where the person can sign in again.
    again: String,
}

/// Signed out: straight on to `next` when no client has a front-channel URI, else the page
/// (with its heading and text) with the frames.
fn page_with(
    lang: Lang,
    issuer: &str,
    frames: &[FrontChannel],
    next: Option<&str>,
    (title, text): (&str, &str),
) -> Response {
    let urls: Vec<String> = frames
        .iter()
        .filter_map(|f| match f.exact {
            true => Some(f.uri.clone()),
            false => idp_core::logout::front_channel_url(&f.uri, issuer, &f.sid),
        })
        .collect();
    if urls.is_empty()
        && let Some(url) = next
    {
        return see_other(url);
    }
    let mut origins: Vec<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect();
    origins.sort();
    origins.dedup();
    let frame_src = if origins.is_empty() { "'none'".to_string() } else { origins.join(" ") };
    let mut res = render(
        StatusCode::OK,
        &SignedOutPage {
            t: lang.texts(),
            lang_switch: None,
            frames: urls,
            next,
            title,
            text,
            again: format!("{issuer}/account"),
        },
    );
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; frame-src {frame_src}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
