//! The admin JSON API, `/admin/v1/tenants/{tenant}/…` (and `/admin/v1/tenants` itself),
//! described by the OpenAPI 3.1 document served at `/admin/v1/openapi.json`.
//!
//! One table (`routes.rs`) names every operation: its method, path, handler, summary, request
//! body and answers. [`routes()`] makes the router from it and `doc.rs` the OpenAPI document, so
//! the two cannot disagree. Every request and response body is a type of `idp-proto`
//! (`idp/proto/src/admin/`): the handlers read and answer exactly those types, the admin console
//! reads and writes them, and their schemas in the document are derived from them
//! (`utoipa::ToSchema`, idp-proto's `openapi` feature). Conversions from `idp-core`'s models to
//! these types are made here, beside the handlers.
//!
//! Callers present an access token issued by that tenant's own issuer (`Authorization:
//! Bearer`) for the admin API as its resource (RFC 8707; `aud` is `{public_url}/admin/v1`),
//! to a live administrators' client, for a person, with the `admin` scope, from a sign-in at
//! `aal2`; what they may do
//! is decided by `idp_core::admin` (administrator roles, delegated subtrees). A token of
//! another tenant is not valid here. Every change is audited with the administrator's account
//! id. Errors are RFC 9457 problem details (`application/problem+json`, `idp_proto::Problem`).
//!
//! The handlers: the organisation tree and staff memberships (`org.rs`), the audit trail
//! (`audit.rs`), signing keys (`keys.rs`), people's accounts (`accounts.rs`), clients
//! (`clients.rs`), tenants (`tenants.rs`), the dashboard's figures (`stats.rs`).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use idp_core::admin::{Caller, Refusal};
use serde::de::DeserializeOwned;

use crate::state::{AppState, TenantCtx};

mod accounts;
mod audit;
mod clients;
mod doc;
mod keys;
mod org;
mod routes;
mod stats;
mod tenants;
mod upstreams;

/// The OpenAPI document, made once.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        doc::document(&routes::table()).to_pretty_json().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the admin API's OpenAPI document");
            String::from("{}")
        })
    })
}

/// The admin API's router: every operation of the table, and the document.
pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new().route("/admin/v1/openapi.json", get(openapi));
    for r in routes::table() {
        router = router.route(&format!("/admin/v1{}", r.path), r.handler);
    }
    router.method_not_allowed_fallback(|| async {
        problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "This path does not take that method; see /admin/v1/openapi.json.",
        )
    })
}

async fn openapi() -> Response {
    let mut res = (StatusCode::OK, openapi_json()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// An RFC 9457 problem answer.
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = idp_proto::Problem {
        problem_type: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: Some(detail.into()),
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(idp_proto::PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"idp-admin\""));
    }
    res
}

/// A server-side failure: logged, answered without its detail.
fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin API request failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "The request could not be completed; try again.")
}

/// A JSON answer.
pub fn ok<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The tenant and the authenticated administrator, or the answer to send instead.
pub async fn caller(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
) -> Result<(Arc<TenantCtx>, Caller), Response> {
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(problem(StatusCode::NOT_FOUND, "There is no such tenant.")),
        Err(e) => return Err(failed(e.description)),
    };
    let token = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") => v[7..].trim().to_string(),
        _ => {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "An access token (Authorization: Bearer) is required.",
            ));
        }
    };
    let invalid = || problem(StatusCode::UNAUTHORIZED, "The access token is invalid or has expired.");
    let at = match state.read_ctx(&t).access_token(&token).await {
        Ok(Some(at)) => at,
        Ok(None) => return Err(invalid()),
        Err(e) => return Err(failed(e.description)),
    };
    let Some(account_id) = at.authz.account_id.as_deref() else { return Err(invalid()) };
    let store = state.store();
    let account = match store.account(&t.tenant.id, account_id).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => return Err(invalid()),
        Err(e) => return Err(failed(e)),
    };
    let mut memberships = vec![];
    for m in store.memberships(&account.id).await.map_err(failed)? {
        if m.kind == "staff"
            && m.roles.iter().any(|r| r == idp_core::admin::ORG_ADMIN)
            && let Some(o) = store.organisation(&t.tenant.id, &m.organisation_id).await.map_err(failed)?
        {
            memberships.push((m, o.path));
        }
    }
    let now = state.env().now();
    let client = store.client(&t.tenant.id, &at.authz.client_id).await.map_err(failed)?;
    let resource = idp_core::admin::resource(&t.endpoints.issuer);
    match Caller::from_token(&at.authz, client.as_ref(), &resource, &account, &memberships, now) {
        Ok(c) => Ok((t, c)),
        Err(Refusal::Audience) => Err(problem(
            StatusCode::UNAUTHORIZED,
            "The access token is not for the admin API: sign in through an administrators' client.",
        )),
        Err(Refusal::Scope) => Err(problem(StatusCode::FORBIDDEN, "The access token lacks the admin scope.")),
        Err(Refusal::Level) => {
            Err(problem(StatusCode::FORBIDDEN, "Administration needs a sign-in with two factors (aal2)."))
        }
        Err(Refusal::NotAdministrator) => {
            Err(problem(StatusCode::FORBIDDEN, "You are not an administrator."))
        }
    }
}

/// The request body as JSON of `T`, or a 400/415 problem.
#[allow(clippy::result_large_err)] // the handlers' early-return shape; a response is built once
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Response> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send application/json."));
    }
    serde_json::from_slice(body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("The body is not valid: {e}")))
}

/// An operation's failure: the store's own failures are server errors (not detailed), a
/// conflict is 409, and anything else is the operation refusing the input (its message).
pub fn refused(e: anyhow::Error) -> Response {
    match e.downcast_ref::<idp_core::StoreError>() {
        Some(idp_core::StoreError::Conflict(_)) => problem(StatusCode::CONFLICT, e.to_string()),
        Some(_) => failed(e),
        None => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Refused by the rules of `idp_core::admin`.
pub fn forbidden() -> Response {
    problem(StatusCode::FORBIDDEN, "This is outside your administrative rights.")
}
