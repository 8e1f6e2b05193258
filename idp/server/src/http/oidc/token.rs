//! The token, introspection and revocation endpoints over HTTP: form bodies, client
//! authentication from the Authorization header or the body, rate limits, and JSON answers
//! with `Cache-Control: no-store` (RFC 6749 §5.1).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use idp_core::OAuthError;
use idp_core::client_auth::{AuthenticatedClient, PresentedCredentials, authenticate};
use idp_core::token::{TokenContext, TokenRequest, exchange};
use serde_json::json;

use crate::http::session::audit;
use crate::http::{State, body_text, json_error, param, parse_params, require_form, too_many};
use crate::state::{AppState, TenantCtx};

fn percent_decode_form(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: id and secret are
/// form-urlencoded before base64) and from the body.
fn credentials(headers: &HeaderMap, params: &[(String, String)]) -> Result<PresentedCredentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) if v.len() > 6 && v[..6].eq_ignore_ascii_case("basic ") => {
            let bad = || OAuthError::invalid_client("Malformed Basic credentials.");
            let raw = base64::engine::general_purpose::STANDARD.decode(v[6..].trim()).map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            Some((percent_decode_form(id).ok_or_else(bad)?, percent_decode_form(secret).ok_or_else(bad)?))
        }
        Some(_) => {
            return Err(OAuthError::invalid_client("Unsupported Authorization scheme."));
        }
        None => None,
    };
    let get = |k: &str| param(params, k).map(str::to_string);
    Ok(PresentedCredentials {
        basic,
        client_id: get("client_id"),
        client_secret: get("client_secret"),
        client_assertion_type: get("client_assertion_type"),
        client_assertion: get("client_assertion"),
    })
}

fn token_ctx<'a>(state: &'a AppState, t: &'a TenantCtx, ip: &'a str) -> TokenContext<'a> {
    TokenContext {
        store: state.store(),
        env: state.env(),
        tenant: &t.tenant,
        keys: &t.keys,
        endpoints: &t.endpoints,
        ip: Some(ip),
        kek: &state.ops.kek,
    }
}

fn no_store_json(body: serde_json::Value) -> Response {
    let mut res = (StatusCode::OK, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// The common front of the three endpoints: tenant, form, per-IP limit, client authentication.
async fn front(
    state: &Arc<AppState>,
    slug: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Arc<TenantCtx>, Vec<(String, String)>, AuthenticatedClient, String), Response> {
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(crate::http::oidc::discovery::unknown_tenant()),
        Err(e) => return Err(json_error(&e)),
    };
    let ip = crate::http::client_ip(state, headers, peer);
    if let Err(wait) = state.limits.token_ip.check(&ip) {
        return Err(too_many(wait));
    }
    let params = require_form(headers)
        .and_then(|_| body_text(body))
        .and_then(parse_params)
        .map_err(|e| json_error(&e))?;
    let creds = credentials(headers, &params).map_err(|e| json_error(&e))?;
    let id_for_limit = creds.basic.as_ref().map(|(id, _)| id.clone()).or(creds.client_id.clone());
    if let Some(id) = id_for_limit
        && let Err(wait) = state.limits.token_client.check(&format!("{}:{id}", t.tenant.id))
    {
        return Err(too_many(wait));
    }
    let audiences = vec![t.endpoints.token(), t.endpoints.issuer.clone()];
    let client = authenticate(state.store(), state.env(), &t.tenant, &creds, &audiences)
        .await
        .map_err(|e| json_error(&e))?;
    Ok((t, params, client, ip))
}

/// `POST /device_authorization` (RFC 8628 §3.1): a kiosk's device and user codes.
pub async fn device_authorization(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, params, client, ip) = match front(&state, &slug, peer, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ctx = token_ctx(&state, &t, &ip);
    match idp_core::device::authorize(&ctx, &client.client, param(&params, "scope")).await {
        Ok(answer) => no_store_json(serde_json::to_value(&answer).unwrap_or_default()),
        Err(e) => json_error(&e),
    }
}

pub async fn token(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, params, client, ip) = match front(&state, &slug, peer, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let get = |k: &str| param(&params, k).map(str::to_string);
    let req = TokenRequest {
        grant_type: get("grant_type"),
        code: get("code"),
        redirect_uri: get("redirect_uri"),
        code_verifier: get("code_verifier"),
        refresh_token: get("refresh_token"),
        scope: get("scope"),
        device_code: get("device_code"),
        resource: get("resource"),
    };
    let ctx = token_ctx(&state, &t, &ip);
    match exchange(&ctx, &client, &req).await {
        // audited by the engine, in the transaction that issued the tokens
        Ok(resp) => {
            state.metrics.token_issued(req.grant_type.as_deref().unwrap_or_default());
            no_store_json(serde_json::to_value(&resp).unwrap_or_default())
        }
        Err(e) => {
            if e.detail.as_deref().is_some_and(|d| d.contains("replay")) {
                audit(
                    &state,
                    &t.tenant.id,
                    "token_replay",
                    None,
                    Some(&client.client.client_id),
                    Some(&ip),
                    json!({"grant_type": req.grant_type}),
                )
                .await;
            }
            json_error(&e)
        }
    }
}

pub async fn introspect(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, params, client, _) = match front(&state, &slug, peer, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(token) = param(&params, "token") else {
        return json_error(&OAuthError::invalid_request("token is missing."));
    };
    let result = state.read_ctx(&t).introspect(&client, token, param(&params, "token_type_hint")).await;
    match result {
        Ok(v) => no_store_json(v),
        Err(e) => json_error(&e),
    }
}

pub async fn revoke(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, params, client, ip) = match front(&state, &slug, peer, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(token) = param(&params, "token") else {
        return json_error(&OAuthError::invalid_request("token is missing."));
    };
    let result = state.read_ctx(&t).revoke(&client, token).await;
    match result {
        Ok(()) => {
            audit(
                &state,
                &t.tenant.id,
                "token_revoked",
                None,
                Some(&client.client.client_id),
                Some(&ip),
                json!({}),
            )
            .await;
            (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
        }
        Err(e) => json_error(&e),
    }
}
