//! Signing keys through the admin API, for security administrators only: the tenant's keys
//! with their schedule, a rotation now, an emergency revocation.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::Action;
use idp_core::model::SigningAlg;
use idp_proto::{KeyRevocation, KeyRotation};

use super::{caller, forbidden, json_body, ok, problem, refused};
use crate::state::State;

/// `GET /keys`.
pub async fn list(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(Action::ManageKeys, None) {
        return forbidden();
    }
    match state.ops.keys(&t.tenant.slug).await {
        Ok(keys) => ok(StatusCode::OK, &keys),
        Err(e) => refused(e),
    }
}

/// `POST /keys/rotate` `{"alg"}`: a new key of that algorithm signs from now.
pub async fn rotate(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(Action::ManageKeys, None) {
        return forbidden();
    }
    let r: KeyRotation = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(alg) = SigningAlg::parse(&r.alg) else {
        return problem(StatusCode::BAD_REQUEST, "alg is ES256, RS256, PS256, EdDSA or SGD_SM3_SM2.");
    };
    if let Err(e) = state.ops.rotate_key_by(&t.tenant.slug, alg, &c.account_id).await {
        return refused(e);
    }
    match state.ops.keys(&t.tenant.slug).await {
        Ok(keys) => ok(StatusCode::CREATED, &keys),
        Err(e) => refused(e),
    }
}

/// `POST /keys/{kid}/revoke`: withdrawn at once, replaced when it was signing.
pub async fn revoke(
    state: State,
    Path((slug, kid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(Action::ManageKeys, None) {
        return forbidden();
    }
    let keys = match state.ops.keys(&t.tenant.slug).await {
        Ok(k) => k,
        Err(e) => return refused(e),
    };
    match keys.iter().find(|k| k.kid == kid) {
        None => return problem(StatusCode::NOT_FOUND, "There is no such key."),
        Some(k) if k.revoked_at.is_some() => {
            return problem(StatusCode::CONFLICT, "The key is already revoked.");
        }
        // the key signing the administrators' tokens: every administrator (this one too) is
        // signed out by its revocation, so it is revoked only with its kid typed again
        Some(k) if k.state == "signs" && t.tenant.slug == state.config().admin_tenant => {
            let typed: KeyRevocation = if body.is_empty() {
                KeyRevocation::default()
            } else {
                match json_body(&headers, &body) {
                    Ok(v) => v,
                    Err(r) => return r,
                }
            };
            if typed.confirm.as_deref() != Some(kid.as_str()) {
                return problem(
                    StatusCode::CONFLICT,
                    "This key signs the administrators' tokens: revoking it signs every administrator out, \
                     you too. Send its kid as \"confirm\" to revoke it anyway.",
                );
            }
        }
        Some(_) => {}
    }
    if let Err(e) = state.ops.revoke_key_by(&t.tenant.slug, &kid, &c.account_id).await {
        return refused(e);
    }
    match state.ops.keys(&t.tenant.slug).await {
        Ok(keys) => ok(StatusCode::OK, &keys),
        Err(e) => refused(e),
    }
}
