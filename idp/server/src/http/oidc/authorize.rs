//! The authorization endpoint over HTTP (GET and POST, OIDC Core §3.1.2.1) and the
//! authorization response in `query` or `form_post` mode (OAuth 2.0 Form Post Response Mode).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::authorize::{AuthResponse, Decision, Validated, decide, error_response, validate};
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{AuthRequest, Interaction, ResponseMode, Session};

use crate::http::pages::{FormPostPage, Lang, error_page, render};
use crate::http::session::{browser_binding, browser_cookie};
use crate::http::signin::context::Chosen;
use crate::http::{State, body_text, param, parse_params, require_form};
use crate::state::{AppState, TenantCtx};

/// Interactions (sign-in and consent round trips) expire after 30 minutes.
pub const INTERACTION_TTL: i64 = 30 * 60;

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
            proceed(state, &t, headers, &req, session.as_ref(), false, None, lang).await
        }
    }
}

/// Decides what happens next for a validated request and carries it out: start or continue
/// an interaction, or issue the code.
#[allow(clippy::too_many_arguments)]
pub async fn proceed(
    state: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
    req: &AuthRequest,
    session: Option<&Session>,
    fresh_login: bool,
    interaction: Option<&Interaction>,
    lang: Lang,
) -> Response {
    let grant = match session {
        Some(s) => match state.store().grant(&t.tenant.id, &s.account_id, &req.client_id).await {
            Ok(g) => g,
            Err(e) => return error_page(lang, &e.into()),
        },
        None => None,
    };
    let required = match session {
        Some(s) => crate::http::signin::factor::required_for(state, t, req, s).await,
        None => None,
    };
    let decision = decide(
        state.env(),
        req,
        session,
        fresh_login,
        required,
        grant.as_ref(),
        &t.endpoints.issuer,
        &t.tenant.id,
    );
    // A client that needs a higher real-name level than the person has: the sign-in offers the
    // upgrade (the interaction shows it), or, with prompt=none, tells the client.
    let decision = match (decision, session) {
        (d @ (Decision::Consent | Decision::Issue(..)), Some(s)) => {
            match crate::http::signin::realname::short_of(state, t, req, s).await {
                Some(_) if req.prompt.iter().any(|p| p == "none") => {
                    let e =
                        OAuthError::new("interaction_required", "The client needs a higher real-name level.");
                    Decision::ErrorToClient(error_response(req, &e, &t.endpoints.issuer), e)
                }
                Some(_) => Decision::Consent,
                None => d,
            }
        }
        (d, _) => d,
    };
    // The acting context goes into the grant; with more than one to choose from, the
    // interaction asks (with prompt=none, the client hears it needs interaction).
    let decision = match (decision, session) {
        (Decision::Issue(mut code, resp), Some(s)) => {
            match crate::http::signin::context::choose(state, t, req, s, interaction, lang.texts()).await {
                Ok(Chosen::Ready(act_as, context)) => {
                    code.authz.act_as = act_as.into();
                    code.authz.context = context;
                    Decision::Issue(code, resp)
                }
                Ok(Chosen::Ask) if req.prompt.iter().any(|p| p == "none") => {
                    let e = OAuthError::new(
                        "interaction_required",
                        "The person has to choose an acting context.",
                    );
                    Decision::ErrorToClient(error_response(req, &e, &t.endpoints.issuer), e)
                }
                Ok(Chosen::Ask) => Decision::Consent,
                Ok(Chosen::Nothing) => {
                    let e = OAuthError::new(
                        "access_denied",
                        "The person has no acting context this client accepts.",
                    );
                    Decision::ErrorToClient(error_response(req, &e, &t.endpoints.issuer), e)
                }
                Err(e) => return error_page(lang, &e),
            }
        }
        (d, _) => d,
    };
    // The account pages are first party: once signed in, back to them, no consent, no code.
    if req.client_id == crate::http::account::ACCOUNT_CONSOLE
        && matches!(decision, Decision::Consent | Decision::Issue(..))
    {
        if let Some(i) = interaction {
            let _ = state.store().delete_interaction(&i.id).await;
        }
        // back to the first-party page that asked (the account pages, a kiosk's approval)
        let ours = req.redirect_uri.strip_prefix(&t.endpoints.issuer).is_some_and(|p| p.starts_with('/'));
        let back = if ours { req.redirect_uri.clone() } else { crate::http::account::home_url(t) };
        return see_other(&back);
    }
    match decision {
        Decision::Login | Decision::Consent | Decision::StepUp => {
            if let Some(i) = interaction {
                return see_other(&interaction_url(t, &i.id));
            }
            let (binding, is_new) = browser_binding(headers);
            let now = state.env().now();
            let record = Interaction {
                id: random_token(state.env(), 16),
                tenant_id: t.tenant.id.clone(),
                request: req.clone(),
                browser_hash: sha256_hex(binding.as_bytes()),
                session_sid: match decision {
                    Decision::Consent | Decision::StepUp => session.map(|s| s.sid.clone()),
                    _ => None,
                },
                pending: None,
                act_context: None,
                created_at: now,
                expires_at: now + INTERACTION_TTL,
            };
            if let Err(e) = state.store().insert_interaction(&record).await {
                return error_page(lang, &e.into());
            }
            let mut res = see_other(&interaction_url(t, &record.id));
            if is_new {
                res.headers_mut().append(header::SET_COOKIE, browser_cookie(state, t, &binding));
            }
            res
        }
        Decision::Issue(code, resp) => {
            if let Err(e) = state.store().insert_code(&code).await {
                return error_page(lang, &e.into());
            }
            if let Some(i) = interaction
                && let Err(e) = state.store().delete_interaction(&i.id).await
            {
                tracing::warn!(error = %e, "could not delete a finished interaction");
            }
            respond(&resp)
        }
        Decision::ErrorToClient(resp, e) => {
            crate::http::log_error(&e);
            if let Some(i) = interaction {
                let _ = state.store().delete_interaction(&i.id).await;
            }
            respond(&resp)
        }
    }
}

pub fn interaction_url(t: &TenantCtx, id: &str) -> String {
    format!("/t/{}/interaction/{id}", t.tenant.slug)
}

pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "bad redirect").into_response(),
    }
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
