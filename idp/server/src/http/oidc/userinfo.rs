//! The UserInfo endpoint (OIDC Core §5.3) with bearer tokens per RFC 6750 §2.1 (header) and
//! §2.2 (form body), and RFC 6750 §3 error answers.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;

use crate::http::{State, body_text, param, parse_params, require_form};

fn bearer_error(e: &OAuthError, with_code: bool) -> Response {
    crate::http::log_error(e);
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let challenge = if with_code {
        format!(
            "Bearer realm=\"idp\", error=\"{}\", error_description=\"{}\"",
            e.code,
            e.description.replace('"', "'")
        )
    } else {
        "Bearer realm=\"idp\"".to_string()
    };
    let mut res =
        (status, axum::Json(serde_json::json!({"error": e.code, "error_description": e.description})))
            .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

fn header_token(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") => {
            Ok(Some(v[7..].trim().to_string()))
        }
        Some(_) => Err(OAuthError::invalid_request("Unsupported Authorization scheme.")),
        None => Ok(None),
    }
}

async fn answer(state: State, slug: &str, token: Option<String>) -> Response {
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return crate::http::oidc::discovery::unknown_tenant(),
        Err(e) => return crate::http::json_error(&e),
    };
    let Some(token) = token else {
        return bearer_error(&OAuthError::invalid_request("No access token.").with_status(401), false);
    };
    match state.read_ctx(&t).userinfo(&token).await {
        Ok(claims) => (StatusCode::OK, axum::Json(claims)).into_response(),
        Err(e) if e.status < 500 => bearer_error(&e, true),
        Err(e) => crate::http::json_error(&e),
    }
}

pub async fn get(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    match header_token(&headers) {
        Ok(token) => answer(state, &slug, token).await,
        Err(e) => bearer_error(&e, true),
    }
}

pub async fn post(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let from_header = match header_token(&headers) {
        Ok(t) => t,
        Err(e) => return bearer_error(&e, true),
    };
    let from_body = if body.is_empty() {
        None
    } else {
        match require_form(&headers).and_then(|_| body_text(&body)).and_then(parse_params) {
            Ok(p) => param(&p, "access_token").map(str::to_string),
            Err(e) => return bearer_error(&e, true),
        }
    };
    if from_header.is_some() && from_body.is_some() {
        return bearer_error(
            &OAuthError::invalid_request("Use only one way to send the access token."),
            true,
        );
    }
    answer(state, &slug, from_header.or(from_body)).await
}
