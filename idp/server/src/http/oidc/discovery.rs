//! Discovery (OpenID Connect Discovery 1.0 §4) and the JWK Set: documents rendered once per
//! tenant and served from memory.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;

use crate::http::{State, json_error};

fn public_json(body: String) -> Response {
    public_json_for(body, MAX_AGE)
}

/// How long a discovery document or key set may be cached, at most.
const MAX_AGE: i64 = 300;

fn public_json_for(body: String, max_age: i64) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
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

/// The key set, cacheable no longer than until the schedule next changes it (and never longer
/// than a key is published ahead of signing, so a cached set always has the next signer).
pub async fn jwks(state: State, Path(slug): Path<String>) -> Response {
    match state.tenant(&slug).await {
        Ok(Some(t)) => {
            let now = state.env().now();
            let ahead = state.config().keys.policy().publish_ahead;
            let mut max_age = MAX_AGE;
            if ahead > 0 {
                max_age = max_age.min(ahead / 2);
            }
            if let Some(at) = t.keys.next_change_at {
                max_age = max_age.min((at - now).max(0));
            }
            public_json_for(t.jwks_json.clone(), max_age)
        }
        Ok(None) => unknown_tenant(),
        Err(e) => json_error(&e),
    }
}
