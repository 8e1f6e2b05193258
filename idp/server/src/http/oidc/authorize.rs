//! The authorization endpoint over HTTP (GET and POST, OIDC Core §3.1.2.1) and the
//! authorization response in `query` or `form_post` mode (OAuth 2.0 Form Post Response Mode).
//!
//! The first front-end of the sign-in engine (`crate::http::signin::engine`): a validated
//! request becomes a `FrontRequest::Oidc`, the engine runs the sign-in, and [`finish`] (through
//! `crate::http::fronts`) answers with the code.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::authorize::{AuthResponse, Validated, issue, validate};
use idp_core::crypto::random_token;
use idp_core::model::{AuthRequest, ResponseMode};
use idp_core::signin::{FrontRequest, SignedIn};

use crate::http::pages::{FormPostPage, Lang, error_page, render};
use crate::http::signin::engine;
use crate::http::{State, body_text, param, parse_params, require_form, see_other};
use crate::state::{AppState, TenantCtx};

pub async fn get(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    handle(&state, &slug, &headers, q.as_deref().unwrap_or_default()).await
}

pub async fn post(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::pick(None, &headers);
    match require_form(&headers).and_then(|_| body_text(&body)) {
        Ok(raw) => handle(&state, &slug, &headers, raw).await,
        Err(e) => error_page(lang, &e),
    }
}

async fn handle(state: &Arc<AppState>, slug: &str, headers: &HeaderMap, raw: &str) -> Response {
    let params = match parse_params(raw) {
        Ok(p) => p,
        Err(e) => return error_page(Lang::pick(None, headers), &e),
    };
    let lang = Lang::pick(param(&params, "ui_locales"), headers);
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            let e = OAuthError::invalid_request(lang.texts().unknown_tenant).with_status(404);
            return error_page(lang, &e);
        }
        Err(e) => return error_page(lang, &e),
    };
    let client = match param(&params, "client_id").filter(|c| !c.is_empty() && c.len() <= 200) {
        Some(id) => match state.store().client(&t.tenant.id, id).await {
            Ok(c) => c,
            Err(e) => return error_page(lang, &e.into()),
        },
        None => None,
    };
    match validate(&params, client.as_ref(), &t.endpoints.issuer) {
        Validated::ErrorToUser(e) => error_page(lang, &e),
        Validated::ErrorToClient(resp, e) => {
            crate::http::log_error(&e);
            respond(&resp)
        }
        Validated::Ok(req) => {
            let session = match crate::http::session::current(state, &t, headers).await {
                Ok(s) => s,
                Err(e) => return error_page(lang, &e),
            };
            // (as a stored interaction reads it back, so both agree on what it is)
            let front = FrontRequest::from(req);
            let ask = front.sign_in();
            engine::proceed(state, &t, headers, &front, &ask, session.as_ref(), false, None, lang).await
        }
    }
}

/// The answer to a finished sign-in: the code, at the verified redirect_uri.
pub async fn finish(
    state: &AppState,
    t: &TenantCtx,
    req: &AuthRequest,
    done: &SignedIn,
    lang: Lang,
) -> Result<Response, Response> {
    let (code, resp) = issue(state.env(), req, done, &t.endpoints.issuer, &t.tenant.id);
    if let Err(e) = state.store().insert_code(&code).await {
        return Err(error_page(lang, &e.into()));
    }
    Ok(respond(&resp))
}

/// Sends the authorization response to the (verified) redirect_uri.
pub fn respond(resp: &AuthResponse) -> Response {
    match resp.mode {
        ResponseMode::Query => {
            let query = serde_urlencoded::to_string(&resp.params).unwrap_or_default();
            let sep = if resp.redirect_uri.contains('?') { '&' } else { '?' };
            see_other(&format!("{}{sep}{query}", resp.redirect_uri))
        }
        ResponseMode::FormPost => {
            let nonce = random_token(&idp_core::SystemEnv, 16);
            let origin = url::Url::parse(&resp.redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            let mut res = render(
                StatusCode::OK,
                &FormPostPage { action: &resp.redirect_uri, params: &resp.params, nonce: &nonce },
            );
            let csp = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; \
                 frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}
