//! The HTTP layer: routes, security headers, and the small helpers every handler shares
//! (form parsing that refuses repeated parameters, cookies, client IP, error mapping).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idp_core::OAuthError;
use tower_http::cors::{Any, CorsLayer};

use crate::state::AppState;

pub mod account;
pub mod cas;
pub mod fronts;
pub mod hall;
pub mod health;
pub mod licence_simulator;
pub mod look;
pub mod netid_simulator;
pub mod oidc;
pub mod pages;
pub mod saml;
pub mod scim;
pub mod session;
pub mod signed_out;
pub mod signin;
mod texts;
pub mod upstreams;
pub mod words;

pub use crate::state::State;

/// Largest request body accepted anywhere (413 beyond).
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    // Endpoints that browser applications (SPAs) call directly. No cookies are involved, so
    // any origin may call them; the pages are never reachable cross-origin.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    let api = Router::new()
        .route("/t/{tenant}/.well-known/openid-configuration", get(oidc::discovery::openid_configuration))
        .route("/t/{tenant}/jwks", get(oidc::discovery::jwks))
        .route("/t/{tenant}/token", post(oidc::token::token))
        .route("/t/{tenant}/device_authorization", post(oidc::token::device_authorization))
        .route("/t/{tenant}/revoke", post(oidc::token::revoke))
        .route("/t/{tenant}/userinfo", get(oidc::userinfo::get).post(oidc::userinfo::post))
        .layer(cors);
    // The tenant's pages, each with the tenant's look (see `look`).
    let pages = Router::new()
        .route("/t/{tenant}/look.css", get(look::stylesheet))
        .route("/t/{tenant}/logo", get(look::logo))
        .route("/t/{tenant}/authorize", get(oidc::authorize::get).post(oidc::authorize::post))
        .route("/t/{tenant}/interaction/{id}", get(signin::interaction::show))
        .route("/t/{tenant}/interaction/{id}/login", post(signin::interaction::login))
        .route("/t/{tenant}/interaction/{id}/consent", post(signin::interaction::consent))
        .route("/t/{tenant}/interaction/{id}/totp", post(signin::factor::totp))
        .route("/t/{tenant}/interaction/{id}/enrol", post(signin::enrol::begin))
        .route("/t/{tenant}/interaction/{id}/enrol/confirm", post(signin::enrol::confirm))
        .route("/t/{tenant}/interaction/{id}/enrol/decline", post(signin::enrol::decline))
        .route("/t/{tenant}/interaction/{id}/passkey/begin", post(signin::passkey::begin))
        .route("/t/{tenant}/interaction/{id}/passkey", post(signin::passkey::finish))
        .route("/t/{tenant}/interaction/{id}/recovery/send", post(signin::recovery::send))
        .route("/t/{tenant}/interaction/{id}/recovery/verify", post(signin::recovery::verify))
        .route("/t/{tenant}/interaction/{id}/sms", get(signin::sms::show))
        .route("/t/{tenant}/interaction/{id}/via/{upstream}", get(signin::upstream::start))
        .route(
            "/t/{tenant}/interaction/{id}/link",
            get(signin::upstream_link::confirm_page).post(signin::upstream_link::confirm),
        )
        .route("/t/{tenant}/upstream/{upstream}/callback", get(signin::upstream::callback))
        .route("/t/{tenant}/upstream/{upstream}/signed-out", get(signin::upstream_logout::signed_out))
        .route(
            "/t/{tenant}/upstream/{upstream}/backchannel-logout",
            post(signin::upstream_logout::backchannel),
        )
        .route("/t/{tenant}/upstream/{upstream}/saml/metadata", get(signin::upstream_saml::metadata))
        .route("/t/{tenant}/upstream/{upstream}/saml/acs", post(signin::upstream_saml::acs))
        .route("/t/{tenant}/upstream/{upstream}/saml/arrived", get(signin::upstream_saml::arrived))
        .route("/t/{tenant}/upstream/{upstream}/saml/slo", get(signin::upstream_saml_slo::slo))
        .route("/t/{tenant}/upstream/{upstream}/netid/callback", get(signin::upstream_netid::callback))
        .route("/t/{tenant}/netid-simulator", get(netid_simulator::show).post(netid_simulator::answer))
        .route("/t/{tenant}/upstream/{upstream}/licence/callback", get(signin::upstream_licence::callback))
        .route("/t/{tenant}/upstream/{upstream}/licence/notify", post(signin::upstream_licence::notify))
        .route("/t/{tenant}/licence-simulator", get(licence_simulator::show).post(licence_simulator::answer))
        .route("/t/{tenant}/licence-simulator/notification", post(licence_simulator::notification))
        // self-registration and the forgotten password (`register`, `reset`)
        .route("/t/{tenant}/interaction/{id}/{flow}", get(signin::selfservice::show))
        .route("/t/{tenant}/interaction/{id}/{flow}/send", post(signin::selfservice::send))
        .route("/t/{tenant}/interaction/{id}/{flow}/finish", post(signin::selfservice::finish))
        .route("/t/{tenant}/interaction/{id}/sms/send", post(signin::sms::send))
        .route("/t/{tenant}/interaction/{id}/sms/verify", post(signin::sms::verify))
        .route("/t/{tenant}/account", get(account::show))
        .route("/t/{tenant}/account/totp/begin", post(account::totp_begin))
        .route("/t/{tenant}/account/totp/confirm", post(account::totp_confirm))
        .route("/t/{tenant}/account/totp/remove", post(account::totp_remove))
        .route("/t/{tenant}/account/recovery/renew", post(account::recovery_renew))
        .route("/t/{tenant}/account/realname", post(signin::realname::account_bind))
        .route("/t/{tenant}/account/enterprise/bind", post(account::enterprise::bind))
        .route("/t/{tenant}/account/context", post(signin::context::switch))
        .route("/t/{tenant}/account/sessions/{sid}/end", post(account::sessions::end))
        .route("/t/{tenant}/account/grants/{client}/withdraw", post(account::grants::withdraw))
        .route("/t/{tenant}/account/delete", get(account::page::show_delete).post(account::delete::delete))
        .route("/t/{tenant}/account/profile", get(account::page::show_profile).post(account::profile::save))
        .route("/t/{tenant}/account/{section}", get(account::page::show_section))
        .route("/t/{tenant}/account/password", post(account::password::change))
        .route("/t/{tenant}/account/email/send", post(account::contact::send_email))
        .route("/t/{tenant}/account/email/verify", post(account::contact::verify_email))
        .route("/t/{tenant}/account/enterprise/{org}/{what}", post(account::enterprise::grant))
        .route("/t/{tenant}/account/role/{id}/{what}", post(account::enterprise::decide))
        .route("/t/{tenant}/counter", get(hall::counter::show).post(hall::counter::check))
        .route("/t/{tenant}/interaction/{id}/realname", post(signin::realname::upgrade))
        .route("/t/{tenant}/interaction/{id}/context", post(signin::context::pick))
        .route("/t/{tenant}/account/phone/send", post(account::contact::send_phone))
        .route("/t/{tenant}/account/phone/verify", post(account::contact::verify_phone))
        .route("/t/{tenant}/account/keys/begin", post(account::keys::begin))
        .route("/t/{tenant}/account/keys/finish", post(account::keys::finish))
        .route("/t/{tenant}/account/keys/{key}/remove", post(account::keys::remove))
        .route("/t/{tenant}/account/links/{upstream}/remove", post(account::links::unlink))
        .route("/t/{tenant}/device", get(hall::device::show).post(hall::device::decide))
        .route("/t/{tenant}/device/qr.svg", get(hall::device::qr))
        .route("/t/{tenant}/end_session", get(oidc::logout::get).post(oidc::logout::post))
        .route("/t/{tenant}/cas/login", get(cas::login))
        .route("/t/{tenant}/cas/logout", get(cas::logout))
        .route("/t/{tenant}/saml/sso", get(saml::sso_redirect).post(saml::sso_post))
        .route("/t/{tenant}/saml/init", get(saml::init))
        .route("/t/{tenant}/saml/slo", get(saml::slo_get).post(saml::slo_post))
        .route("/t/{tenant}/end_session/confirm", post(oidc::logout::confirm))
        .route("/t/{tenant}/lang/{code}", get(look::switch))
        .route_layer(middleware::from_fn_with_state(state.clone(), look::scope));
    Router::new()
        .merge(api)
        .merge(crate::admin::routes())
        .merge(scim::routes())
        .merge(pages)
        .route("/", get(pages::home))
        .route("/t/{tenant}", get(pages::tenant_home))
        .route("/t/{tenant}/", get(pages::tenant_home))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/static/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon))
        .route("/static/webauthn.js", get(pages::webauthn_script))
        .route("/static/signed-out.js", get(pages::signed_out_script))
        .route("/static/password-rules.js", get(pages::password_script))
        .route("/t/{tenant}/introspect", post(oidc::token::introspect))
        .route("/t/{tenant}/saml/metadata", get(saml::metadata))
        .route("/t/{tenant}/cas/validate", get(cas::validate::v1))
        .route("/t/{tenant}/cas/serviceValidate", get(cas::validate::service_validate))
        .route("/t/{tenant}/cas/proxyValidate", get(cas::validate::proxy_validate))
        .route("/t/{tenant}/cas/p3/serviceValidate", get(cas::validate::service_validate))
        .route("/t/{tenant}/cas/p3/proxyValidate", get(cas::validate::proxy_validate))
        .route("/t/{tenant}/cas/proxy", get(cas::validate::proxy))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Every request runs in a span with its id: the caller's `X-Request-Id` when it is a plain
/// token (at most 64 of `A-Za-z0-9._-`, as load balancers make them), else a new one; the
/// answer carries it back, and every log line of the request names it.
async fn request_id(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .filter(|v| v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        .map(str::to_string);
    let id = given.unwrap_or_else(|| idp_core::crypto::random_token(&idp_core::SystemEnv, 12));
    let span = tracing::info_span!("request", id = %id, method = %req.method());
    let mut res = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}

/// Headers on every response. Pages get a strict CSP; pages with a form (see
/// `pages::with_form_action`) and the form_post response (nonce-based) set their own, which
/// is kept.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // (a page that may be framed by the provider's own signed-out page says so itself)
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Parses an `application/x-www-form-urlencoded` string; `None` when malformed or when a
/// parameter appears twice (RFC 6749 §3.1: "Request and response parameters MUST NOT be
/// included more than once").
pub fn parse_params(raw: &str) -> Result<Vec<(String, String)>, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|_| OAuthError::invalid_request("The request parameters are malformed."))?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(p, _)| p == k) {
            return Err(OAuthError::invalid_request(format!("The parameter {k} is repeated.")));
        }
    }
    // NUL is never part of a legitimate parameter, and PostgreSQL cannot store it in text.
    if pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(OAuthError::invalid_request("The request contains a NUL character."));
    }
    if pairs.len() > 64 || pairs.iter().any(|(k, v)| k.len() > 64 || v.len() > 16 * 1024) {
        return Err(OAuthError::invalid_request("The request parameters are too large."));
    }
    Ok(pairs)
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Requires `application/x-www-form-urlencoded` for POST bodies.
pub fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if ct
        .split(';')
        .next()
        .map(str::trim)
        .is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    {
        Ok(())
    } else {
        Err(OAuthError::invalid_request("The body must be application/x-www-form-urlencoded."))
    }
}

pub fn body_text(body: &axum::body::Bytes) -> Result<&str, OAuthError> {
    std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("The body is not UTF-8."))
}

pub fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    if state.config().trust_forwarded_for
        && let Some(first) =
            headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
    {
        let first = first.trim();
        if first.parse::<std::net::IpAddr>().is_ok() {
            return first.to_string();
        }
    }
    peer.ip().to_string()
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// A Set-Cookie value: HttpOnly, SameSite=Lax, scoped to `path`, Secure under TLS.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config().secure_cookies() {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A JSON error response of the token-style endpoints (RFC 6749 §5.2).
pub fn json_error(e: &OAuthError) -> Response {
    log_error(e);
    let body = serde_json::json!({"error": e.code, "error_description": e.description});
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (status, axum::Json(body)).into_response();
    if e.code == "invalid_client" {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"idp\", charset=\"UTF-8\""),
        );
    }
    if e.code == "temporarily_unavailable" {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// 303 to `location`.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "bad redirect").into_response(),
    }
}

pub fn log_error(e: &OAuthError) {
    match (&e.detail, e.status >= 500) {
        (Some(d), true) => tracing::error!(code = e.code, detail = %d, "request failed"),
        (Some(d), false) => tracing::info!(code = e.code, detail = %d, "request refused"),
        (None, true) => tracing::error!(code = e.code, "request failed"),
        (None, false) => tracing::debug!(code = e.code, "request refused"),
    }
}

/// 429 with Retry-After.
/// A page answering a rate-limited request: 429 and when to try again.
pub fn limited(mut page: Response, wait: u64) -> Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    page.headers_mut().insert(header::RETRY_AFTER, wait.into());
    page
}

pub fn too_many(retry_after: u64) -> Response {
    let e = OAuthError::new("slow_down", "Too many requests; try again later.").with_status(429);
    let mut res = json_error(&e);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}
