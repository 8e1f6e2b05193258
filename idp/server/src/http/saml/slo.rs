//! SAML Single Logout (Profiles §4.4) in the provider's one logout-everywhere:
//!
//! - a session that ends is told to every service provider that received an assertion in it:
//!   by SOAP in the background where the provider registered a SOAP endpoint
//!   (`outbound/logout.rs`), else by a signed HTTP-Redirect `LogoutRequest` in a frame of the
//!   signed-out page ([`front_channel_logouts`], for the browser present);
//! - `/saml/slo` takes a service provider's own `LogoutRequest` (HTTP-Redirect, its query
//!   signature checked; it must be signed): the session the named assertion belongs to ends
//!   everywhere (every OpenID Connect client, CAS service and other service provider is told)
//!   and the provider answers a signed `LogoutResponse` with the `RelayState`; and the
//!   service providers' `LogoutResponse`s to our frames, which need nothing but a page.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::ClientType;
use idp_core::saml::{self, logout, read};

use super::{bad_request, entity_id, service_provider, tenant};
use crate::http::pages::{Lang, error_page, message_page};
use crate::http::{State, body_text, parse_params, require_form};
use crate::outbound::logout::FrontChannel;
use crate::state::{AppState, TenantCtx};

pub fn slo_url(t: &TenantCtx) -> String {
    format!("{}/saml/slo", t.endpoints.issuer)
}

/// The signed Redirect `LogoutRequest`s for the service providers that received assertions in
/// session `sid` and have no SOAP endpoint, as frames of the signed-out page.
pub async fn front_channel_logouts(state: &AppState, t: &TenantCtx, sid: &str) -> Vec<FrontChannel> {
    let Ok(issued) = state.store().saml_participations(&t.tenant.id, sid).await else { return vec![] };
    let Some((key, _)) = t.keys.saml_signer() else { return vec![] };
    let mut frames = vec![];
    for p in issued {
        let Ok(Some(c)) = state.store().client(&t.tenant.id, &p.client_id).await else { continue };
        if c.disabled || c.client_type != ClientType::Saml {
            continue;
        }
        let sp = &c.settings.saml;
        if sp.slo.iter().any(|e| e.binding == saml::BINDING_SOAP) {
            continue;
        }
        let Some(endpoint) = sp.slo.iter().find(|e| e.binding == saml::BINDING_REDIRECT) else { continue };
        let id = format!("_{}", idp_core::cas::validate::random_part(state.env()));
        let issuer = entity_id(t);
        let request = logout::request(&logout::Request {
            issuer: &issuer,
            name_qualifier: &issuer,
            destination: &endpoint.location,
            sp: &sp.entity_id,
            name_id: &p.name_id,
            name_id_format: &p.name_id_format,
            session_index: &p.session_index,
            id: &id,
            now: state.env().now(),
        });
        if let Ok(uri) = logout::redirect_url(&endpoint.location, "SAMLRequest", &request, None, key) {
            frames.push(FrontChannel {
                client_id: c.client_id.clone(),
                uri,
                sid: sid.to_string(),
                exact: true,
            });
        }
    }
    frames
}

/// `GET /saml/slo` (HTTP-Redirect).
pub async fn get(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let raw = q.unwrap_or_default();
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if raw.split('&').any(|p| p.starts_with("SAMLResponse=")) {
        return answered(lang, read::from_redirect(&raw, "SAMLResponse").map(|r| r.xml));
    }
    match read::from_redirect(&raw, "SAMLRequest") {
        Ok(r) => logout_request(&state, &t, &headers, r, lang).await,
        Err(e) => bad_request(lang, e.0),
    }
}

/// `POST /saml/slo` (HTTP-POST): only the service providers' answers to our requests; their own
/// requests must come signed, by HTTP-Redirect.
pub async fn post(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match require_form(&headers).and_then(|_| body_text(&body)).and_then(parse_params) {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    if tenant(&state, &slug, lang).await.is_err() {
        return error_page(lang, &OAuthError::invalid_request(lang.texts().unknown_tenant).with_status(404));
    }
    if params.iter().any(|(k, _)| k == "SAMLResponse") {
        return answered(lang, read::from_post(&params, "SAMLResponse").map(|r| r.xml));
    }
    bad_request(lang, "a logout request must be signed and sent by HTTP-Redirect")
}

/// A service provider's `LogoutResponse` to one of our frames: nothing to do but a page, which
/// the signed-out page (our own origin, no other) may frame.
fn answered(lang: Lang, xml: Result<String, read::Refused>) -> Response {
    use axum::http::{HeaderValue, header};
    match xml {
        Ok(x) if logout::is_response(&x) => {
            let tx = lang.texts();
            let mut res = message_page(lang, axum::http::StatusCode::OK, tx.signed_out, tx.signed_out_text);
            let h = res.headers_mut();
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'",
                ),
            );
            res
        }
        _ => bad_request(lang, "not a LogoutResponse"),
    }
}

async fn logout_request(
    state: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
    received: read::Received,
    lang: Lang,
) -> Response {
    let req = match logout::incoming(&received.xml) {
        Ok(r) => r,
        Err(e) => return bad_request(lang, e.0),
    };
    let client = match service_provider(state, t, &req.issuer).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(lang, &OAuthError::invalid_request(lang.texts().saml_unknown_sp)),
        Err(e) => return error_page(lang, &e),
    };
    let sp = &client.settings.saml;
    let Some(sig) = &received.query_signature else {
        return bad_request(lang, "a logout request must be signed");
    };
    if let Err(e) = read::verify_query(sig, &sp.signing_ders()) {
        return bad_request(lang, e.0);
    }
    let now = state.env().now();
    // a signed message names where it was sent (Bindings §3.4.5.2)
    if req.destination.as_deref() != Some(slo_url(t).as_str()) {
        return bad_request(lang, "the request is for another destination, or names none");
    }
    if req.not_on_or_after.is_some_and(|n| n + saml::CLOCK_SKEW <= now)
        || req.issue_instant < now - saml::REQUEST_MAX_AGE - saml::CLOCK_SKEW
        || req.issue_instant > now + saml::CLOCK_SKEW
    {
        return bad_request(lang, "the request is stale or from the future");
    }
    let expires = now + saml::REQUEST_MAX_AGE + 2 * saml::CLOCK_SKEW;
    match state
        .store()
        .remember_assertion_jti(&t.tenant.id, &client.client_id, &format!("saml-logout:{}", req.id), expires)
        .await
    {
        Ok(true) => {}
        Ok(false) => return bad_request(lang, "the request was seen before"),
        Err(e) => return error_page(lang, &e.into()),
    }
    // the sessions whose assertions the request names (its NameID, and its SessionIndexes if
    // it gives any)
    let issued =
        match state.store().saml_participations_of(&t.tenant.id, &client.client_id, &req.name_id).await {
            Ok(i) => i,
            Err(e) => return error_page(lang, &e.into()),
        };
    let named: Vec<_> = issued
        .into_iter()
        .filter(|p| req.session_indexes.is_empty() || req.session_indexes.contains(&p.session_index))
        .collect();
    let mut sessions = vec![];
    for p in &named {
        match state.store().account_sessions(&t.tenant.id, &p.account_id, now).await {
            Ok(live) => sessions.extend(live.into_iter().filter(|s| s.sid == p.sid)),
            Err(e) => return error_page(lang, &e.into()),
        }
    }
    sessions.sort_by(|a, b| a.sid.cmp(&b.sid));
    sessions.dedup_by(|a, b| a.sid == b.sid);
    let here = crate::http::session::current(state, t, headers).await.ok().flatten().map(|s| s.sid);
    // the browser present is signed out only if its own session is among those that end (a
    // logout link of someone else's session, opened here, leaves this browser's session alone)
    let ours = here.as_ref().is_some_and(|h| sessions.iter().any(|s| s.sid == *h));
    let mut frames = vec![];
    if !sessions.is_empty() {
        match crate::http::signed_out::end_sessions(state, t, &sessions, here.as_deref()).await {
            Ok(f) => frames = f,
            Err(e) => return error_page(lang, &e),
        }
    }
    // the requester is answered, not sent a request of its own
    frames.retain(|f| f.client_id != client.client_id);
    let Some(endpoint) = sp.slo.iter().find(|e| e.binding == saml::BINDING_REDIRECT) else {
        let tx = lang.texts();
        if !ours {
            return message_page(lang, axum::http::StatusCode::OK, tx.signed_out, tx.signed_out_text);
        }
        return crate::http::signed_out::here(
            state,
            t,
            lang,
            &frames,
            None,
            (tx.signed_out, tx.signed_out_text),
        );
    };
    let Some((key, _)) = t.keys.saml_signer() else {
        return error_page(lang, &OAuthError::server_error("the tenant has no SAML signing key"));
    };
    let to = endpoint.response_location.clone().unwrap_or_else(|| endpoint.location.clone());
    let id = format!("_{}", idp_core::cas::validate::random_part(state.env()));
    let response = logout::response(&entity_id(t), &to, &req.id, true, &id, now);
    match logout::redirect_url(&to, "SAMLResponse", &response, received.relay_state.as_deref(), key) {
        // not this browser's session: its cookie stays, and it goes straight back
        Ok(url) if !ours => crate::http::see_other(&url),
        Ok(url) => {
            let tx = lang.texts();
            crate::http::signed_out::here(
                state,
                t,
                lang,
                &frames,
                Some(&url),
                (tx.signed_out, tx.signed_out_text),
            )
        }
        Err(e) => error_page(lang, &OAuthError::server_error(e.to_string())),
    }
}
