//! The signed-out page (OpenID Connect Front-Channel Logout 1.0 §3, §4): it loads each
//! client's front-channel logout URI, with `iss` and `sid`, in a hidden iframe, and then goes on
//! to the client's `post_logout_redirect_uri` (a small script once every frame has loaded, a
//! meta refresh without it). Its CSP allows exactly those frames' origins.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorize::see_other;
use super::pages::{Lang, Texts, render};
use crate::logout_everywhere::FrontChannel;

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage<'a> {
    t: &'a Texts,
    lang_switch: Option<String>,
    frames: Vec<String>,
    next: Option<&'a str>,
    title: &'a str,
    text: &'a str,
}

/// Signed out: straight on to `next` when no client has a front-channel URI, else the page
/// with the frames.
pub fn page(lang: Lang, issuer: &str, frames: &[FrontChannel], next: Option<&str>) -> Response {
    let t = lang.texts();
    page_with(lang, issuer, frames, next, (t.signed_out, t.signed_out_text))
}

/// [`page`] with its own heading and text.
pub fn page_with(
    lang: Lang,
    issuer: &str,
    frames: &[FrontChannel],
    next: Option<&str>,
    (title, text): (&str, &str),
) -> Response {
    let urls: Vec<String> =
        frames.iter().filter_map(|f| idp_core::logout::front_channel_url(&f.uri, issuer, &f.sid)).collect();
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
        &SignedOutPage { t: lang.texts(), lang_switch: None, frames: urls, next, title, text },
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

/// The page's script (see the file's head).
pub async fn script() -> Response {
    use axum::response::IntoResponse;
    let mut res = include_str!("../../templates/signed_out.js").into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}
