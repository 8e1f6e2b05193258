//! The admin JSON API, `/admin/v1/tenants/{tenant}/…`, described by the OpenAPI 3.1 document
//! served at `/admin/v1/openapi.json` (`openapi.json` beside this file; a test checks that it
//! and the routes below agree).
//!
//! Callers present an access token issued by that tenant's own issuer (`Authorization:
//! Bearer`) for the admin API as its resource (RFC 8707; `aud` is `{public_url}/admin/v1`),
//! to a live administrators' client, for a person, with the `admin` scope, from a sign-in at
//! `aal2`; what they may do
//! is decided by `idp_core::admin` (administrator roles, delegated subtrees). A token of
//! another tenant is not valid here. Every change is audited with the administrator's account
//! id. Errors are RFC 9457 problem details (`application/problem+json`).
//!
//! So far: the organisation tree and staff memberships (`org.rs`), the audit trail (`audit.rs`),
//! signing keys (`keys.rs`), people's accounts (`accounts.rs`), clients (`clients.rs`),
//! tenants (`tenants.rs`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use idp_core::admin::{Caller, Refusal};
use serde::de::DeserializeOwned;

use crate::state::{AppState, TenantCtx};

mod accounts;
mod audit;
mod clients;
mod keys;
mod org;
mod stats;
mod tenants;

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The routes, as (method, path) — what the OpenAPI document must describe.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/admin/v1/tenants"),
    ("post", "/admin/v1/tenants"),
    ("post", "/admin/v1/tenants/{tenant}/{action}"),
    ("get", "/admin/v1/tenants/{tenant}/settings"),
    ("put", "/admin/v1/tenants/{tenant}/settings"),
    ("get", "/admin/v1/tenants/{tenant}/branding"),
    ("put", "/admin/v1/tenants/{tenant}/branding"),
    ("post", "/admin/v1/tenants/{tenant}/synthetic-people"),
    ("get", "/admin/v1/tenants/{tenant}/organisations"),
    ("post", "/admin/v1/tenants/{tenant}/organisations"),
    ("get", "/admin/v1/tenants/{tenant}/organisations/{id}"),
    ("get", "/admin/v1/tenants/{tenant}/organisations/{id}/members"),
    ("post", "/admin/v1/tenants/{tenant}/organisations/{id}/members"),
    ("delete", "/admin/v1/tenants/{tenant}/memberships/{id}"),
    ("get", "/admin/v1/tenants/{tenant}/audit"),
    ("get", "/admin/v1/tenants/{tenant}/audit/verify"),
    ("get", "/admin/v1/tenants/{tenant}/keys"),
    ("post", "/admin/v1/tenants/{tenant}/keys/rotate"),
    ("post", "/admin/v1/tenants/{tenant}/keys/{kid}/revoke"),
    ("get", "/admin/v1/tenants/{tenant}/stats"),
    ("get", "/admin/v1/tenants/{tenant}/accounts"),
    ("get", "/admin/v1/tenants/{tenant}/accounts/{id}"),
    ("post", "/admin/v1/tenants/{tenant}/accounts/{id}/{action}"),
    ("get", "/admin/v1/tenants/{tenant}/clients"),
    ("post", "/admin/v1/tenants/{tenant}/clients"),
    ("get", "/admin/v1/tenants/{tenant}/clients/{id}"),
    ("patch", "/admin/v1/tenants/{tenant}/clients/{id}"),
    ("post", "/admin/v1/tenants/{tenant}/clients/{id}/{action}"),
    ("get", "/admin/v1/tenants/{tenant}/clients/{id}/logout-deliveries"),
];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/v1/openapi.json", get(openapi))
        .route("/admin/v1/tenants", get(tenants::list).post(tenants::add))
        .route("/admin/v1/tenants/{tenant}/{action}", post(tenants::switch))
        .route("/admin/v1/tenants/{tenant}/settings", get(tenants::settings).put(tenants::set_settings))
        .route("/admin/v1/tenants/{tenant}/branding", get(tenants::branding).put(tenants::set_branding))
        .route("/admin/v1/tenants/{tenant}/synthetic-people", post(tenants::synthetic))
        .route("/admin/v1/tenants/{tenant}/organisations", get(org::list).post(org::add))
        .route("/admin/v1/tenants/{tenant}/organisations/{id}", get(org::one))
        .route(
            "/admin/v1/tenants/{tenant}/organisations/{id}/members",
            get(org::members).post(org::add_member),
        )
        .route("/admin/v1/tenants/{tenant}/memberships/{id}", delete(org::revoke_member))
        .route("/admin/v1/tenants/{tenant}/audit", get(audit::search))
        .route("/admin/v1/tenants/{tenant}/audit/verify", get(audit::verify))
        .route("/admin/v1/tenants/{tenant}/keys", get(keys::list))
        .route("/admin/v1/tenants/{tenant}/keys/rotate", post(keys::rotate))
        .route("/admin/v1/tenants/{tenant}/keys/{kid}/revoke", post(keys::revoke))
        .route("/admin/v1/tenants/{tenant}/stats", get(stats::stats))
        .route("/admin/v1/tenants/{tenant}/accounts", get(accounts::search))
        .route("/admin/v1/tenants/{tenant}/accounts/{id}", get(accounts::one))
        .route("/admin/v1/tenants/{tenant}/accounts/{id}/{action}", post(accounts::act))
        .route("/admin/v1/tenants/{tenant}/clients", get(clients::list).post(clients::add))
        .route("/admin/v1/tenants/{tenant}/clients/{id}", get(clients::one).patch(clients::update))
        .route("/admin/v1/tenants/{tenant}/clients/{id}/{action}", post(clients::act))
        .route("/admin/v1/tenants/{tenant}/clients/{id}/logout-deliveries", get(clients::logout_deliveries))
        .method_not_allowed_fallback(|| async {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "This path does not take that method; see /admin/v1/openapi.json.",
            )
        })
}

async fn openapi() -> Response {
    let mut res = (StatusCode::OK, OPENAPI).into_response();
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
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every route is described, and nothing else.
    #[test]
    fn the_openapi_document_describes_exactly_the_routes() {
        let doc: Value = serde_json::from_str(super::OPENAPI).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
        let mut described = vec![];
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys().filter(|k| *k != "parameters") {
                described.push((method.clone(), path.clone()));
            }
        }
        let mut routes: Vec<(String, String)> = super::ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.trim_start_matches("/admin/v1").to_string()))
            .collect();
        described.sort();
        routes.sort();
        assert_eq!(described, routes);
        // every $ref resolves
        let text = super::OPENAPI;
        for r in text.split("\"$ref\": \"#/").skip(1) {
            let pointer = format!("/{}", &r[..r.find('"').unwrap()]);
            assert!(doc.pointer(&pointer).is_some(), "{pointer} is not in the document");
        }
    }
}
