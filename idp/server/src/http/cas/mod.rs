//! The CAS 3.0 front-end of the sign-in engine, per tenant under `/t/{tenant}/cas/`
//! (rules in `idp_core::cas`; the protocol is Apereo's "CAS Protocol 3.0 Specification").
//!
//! - `/cas/login` (§2.1): the service is looked up among the tenant's registered CAS services,
//!   the request becomes a `FrontRequest::Cas`, and the engine runs the same sign-in as for
//!   OpenID Connect (consent, step-up, acting contexts); [`finish`] sends the service its
//!   ticket (a redirect, or a form POST with `method=POST`). `renew` forces a fresh sign-in;
//!   `gateway` never shows a page: without a usable session the browser goes back to the
//!   service without a ticket ([`refuse`]).
//! - `/cas/logout` (§2.3): ends the browser's session everywhere (every OpenID Connect client
//!   and CAS service of it is told, `outbound/logout.rs`), then goes on to `service` only if it
//!   is a registered service of the tenant.
//! - The validation endpoints are in [`validate`].

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::authorize::AuthResponse;
use idp_core::cas::CasLogin;
use idp_core::model::{Client, ClientType, ResponseMode};
use idp_core::signin::{FrontRequest, SignedIn};

use crate::http::fronts::{release, tenant};
use crate::http::pages::{Lang, error_page};
use crate::http::signin::engine;
use crate::http::{State, param, parse_params, see_other};
use crate::state::{AppState, TenantCtx};

pub mod validate;

/// The registered CAS service that `service` belongs to.
async fn service(state: &AppState, t: &TenantCtx, service: &str) -> Result<Option<Client>, OAuthError> {
    let clients = state.store().clients_of_type(&t.tenant.id, ClientType::Cas).await?;
    Ok(idp_core::cas::service_of(&clients, service).cloned())
}

/// `GET /cas/login` (§2.1.1).
pub async fn login(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang0 = Lang::pick(None, &headers);
    let params = match parse_params(q.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return error_page(lang0, &e),
    };
    let lang = Lang::pick(param(&params, "locale"), &headers);
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    // without a service: the person signs in to the provider itself (its account pages)
    let Some(service_url) = param(&params, "service").filter(|s| !s.is_empty()) else {
        return see_other(&crate::http::account::home_url(&t));
    };
    let client = match service(&state, &t, service_url).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(lang, &OAuthError::invalid_request(lang.texts().cas_unknown_service));
        }
        Err(e) => return error_page(lang, &e),
    };
    let post = match param(&params, "method") {
        None | Some("GET") => false,
        Some("POST") => true,
        Some(_) => return error_page(lang, &OAuthError::invalid_request("method is GET or POST.")),
    };
    let flag = |name: &str| param(&params, name).is_some_and(|v| v == "true" || v == "1");
    let renew = flag("renew");
    let front = FrontRequest::Cas(CasLogin {
        client_id: client.client_id.clone(),
        service: service_url.to_string(),
        release: release(&client),
        renew,
        // "renew" wins: a fresh sign-in is a page
        gateway: flag("gateway") && !renew,
        post,
        locale: param(&params, "locale").filter(|l| l.len() <= 35).map(String::from),
    });
    let session = match crate::http::session::current(&state, &t, &headers).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &e),
    };
    let ask = front.sign_in();
    engine::proceed(&state, &t, &headers, &front, &ask, session.as_ref(), false, None, lang).await
}

/// The answer to a finished sign-in: a new ticket for the service.
pub async fn finish(
    state: &AppState,
    t: &TenantCtx,
    login: &CasLogin,
    done: &SignedIn,
    lang: Lang,
) -> Result<Response, Response> {
    let client = match state.store().client(&t.tenant.id, &login.client_id).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => {
            return Err(error_page(lang, &OAuthError::invalid_request(lang.texts().cas_unknown_service)));
        }
        Err(e) => return Err(error_page(lang, &e.into())),
    };
    let (ticket, code) = idp_core::cas::validate::issue(state.env(), login, &client, done, &t.tenant.id);
    if let Err(e) = state.store().insert_code(&code).await {
        return Err(error_page(lang, &e.into()));
    }
    Ok(back(login, Some(ticket)))
}

/// The service of a sign-in that began a while ago, if its registration still allows the
/// service URL (an administrator may have changed or disabled it meanwhile).
async fn still_registered(
    state: &AppState,
    t: &TenantCtx,
    login: &CasLogin,
) -> Result<Option<Client>, OAuthError> {
    let client = state.store().client(&t.tenant.id, &login.client_id).await?;
    Ok(client.filter(|c| {
        !c.disabled && c.settings.cas.services.iter().any(|p| idp_core::cas::matches(p, &login.service))
    }))
}

/// To the service, with the ticket if there is one.
fn back(login: &CasLogin, ticket: Option<String>) -> Response {
    let mode = if login.post { ResponseMode::FormPost } else { ResponseMode::Query };
    let params = ticket.map(|t| vec![("ticket".to_string(), t)]).unwrap_or_default();
    if params.is_empty() && !login.post {
        return see_other(&login.service);
    }
    crate::http::oidc::authorize::respond(&AuthResponse { redirect_uri: login.service.clone(), mode, params })
}

/// The answer to a refused sign-in: a gateway request goes back to the service without a
/// ticket (§2.1.1), while the service URL is still registered; otherwise the person is told on
/// a page (CAS has no error response).
pub async fn refuse(
    state: &AppState,
    t: &TenantCtx,
    login: &CasLogin,
    e: &OAuthError,
    lang: Lang,
) -> Response {
    if login.gateway && matches!(still_registered(state, t, login).await, Ok(Some(_))) {
        return back(login, None);
    }
    error_page(lang, &e.clone().with_status(StatusCode::FORBIDDEN.as_u16()))
}

/// `GET /cas/logout` (§2.3.1). A service's own logout link (`service` is a registered service
/// of the tenant) ends the session at once, everywhere, and goes back to the service, as CAS
/// clients expect; any other request is a link anyone could plant, so the person confirms
/// first on the provider's logout page (the OpenID Connect `end_session` confirmation).
pub async fn logout(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match parse_params(q.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let next = match param(&params, "service").filter(|s| !s.is_empty()) {
        Some(s) => match service(&state, &t, s).await {
            Ok(c) => c.map(|_| s.to_string()),
            Err(e) => return error_page(lang, &e),
        },
        None => None,
    };
    if next.is_none() {
        return see_other(&format!("{}/end_session", t.endpoints.issuer));
    }
    let session = match crate::http::session::current(&state, &t, &headers).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &e),
    };
    let mut frames = vec![];
    if let Some(s) = &session {
        frames =
            match crate::http::signed_out::end_sessions(&state, &t, std::slice::from_ref(s), Some(&s.sid))
                .await
            {
                Ok(f) => f,
                Err(e) => return error_page(lang, &e),
            };
        let event = idp_core::model::AuditEvent {
            tenant_id: Some(t.tenant.id.clone()),
            kind: "logout".into(),
            account_id: Some(s.account_id.clone()),
            client_id: None,
            ip: None,
            detail: serde_json::json!({"sid": s.sid, "via": "cas"}),
            at: state.env().now(),
        };
        if let Err(e) = state.store().append_audit(&event).await {
            tracing::warn!(error = %e, "could not record a logout");
        }
    }
    let tx = lang.texts();
    crate::http::signed_out::here(
        &state,
        &t,
        lang,
        &frames,
        next.as_deref(),
        (tx.signed_out, tx.signed_out_text),
    )
}
