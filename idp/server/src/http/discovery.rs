//! Discovery (OpenID Connect Discovery 1.0 §4) and the JWK Set: documents rendered once per
//! tenant and served from memory.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;

use super::{State, json_error};

fn public_json(body: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

pub fn unknown_tenant() -> Response {
    json_error(&OAuthError::new("invalid_request", "There is no such tenant.").with_status(404))
}

pub async fn openid_configuration(state: State, Path(slug): Path<String>) -> Response {
    match state.tenant(&slug).await {
        Ok(Some(t)) => public_json(t.discovery_json.clone()),
        Ok(None) => unknown_tenant(),
        Err(e) => json_error(&e),
    }
}

pub async fn jwks(state: State, Path(slug): Path<String>) -> Response {
    match state.tenant(&slug).await {
        Ok(Some(t)) => public_json(t.jwks_json.clone()),
        Ok(None) => unknown_tenant(),
        Err(e) => json_error(&e),
    }
}
