//! Upstream identity providers through the admin API (`idp_core::upstream`), for security
//! administrators only: their answers can raise real-name levels. The client secret goes in,
//! sealed, and never comes out.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::Action;
use idp_core::model::{UpstreamAuth, UpstreamSettings};
use idp_proto::UpstreamRequest;

use super::{caller, forbidden, json_body, ok, problem, refused};
use crate::ops::upstreams::NewUpstream;
use crate::state::State;

/// The caller's tenant (its slug) and who they are, if they may manage its upstreams.
async fn security_admin(
    state: &State,
    slug: &str,
    headers: &HeaderMap,
) -> Result<(String, String), Response> {
    let (t, c) = caller(state, slug, headers).await?;
    if !c.may(Action::ManageUpstreams, None) {
        return Err(forbidden());
    }
    Ok((t.tenant.slug.clone(), c.account_id))
}

/// `GET /upstreams`.
pub async fn list(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (slug, _) = match security_admin(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let slug = slug.as_str();
    match state.ops.upstreams(slug).await {
        Ok(list) => {
            ok(StatusCode::OK, &list.iter().map(|u| state.ops.upstream_info(slug, u)).collect::<Vec<_>>())
        }
        Err(e) => refused(e),
    }
}

/// `POST /upstreams`.
pub async fn add(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (slug, by) = match security_admin(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (slug, by) = (slug.as_str(), by.as_str());
    let req: UpstreamRequest = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let auth = match req.auth.as_deref().map(UpstreamAuth::parse) {
        None => UpstreamAuth::ClientSecretBasic,
        Some(Some(a)) => a,
        Some(None) => {
            return problem(StatusCode::BAD_REQUEST, "auth is client_secret_basic or private_key_jwt.");
        }
    };
    let settings: UpstreamSettings = match req.settings {
        serde_json::Value::Null => UpstreamSettings::default(),
        v => match serde_json::from_value(v) {
            Ok(s) => s,
            Err(e) => return problem(StatusCode::BAD_REQUEST, format!("settings: {e}")),
        },
    };
    let mut n = NewUpstream {
        id: req.id,
        issuer: req.issuer,
        client_id: req.client_id,
        auth,
        client_secret: req.client_secret,
        settings,
    };
    if let Some(xml) = req.saml_metadata.as_deref()
        && let Err(e) = crate::ops::upstreams::apply_saml_metadata(&mut n, xml)
    {
        return problem(StatusCode::BAD_REQUEST, e.to_string());
    }
    match state.ops.add_upstream_by(slug, n, by).await {
        Ok(u) => ok(StatusCode::CREATED, &state.ops.upstream_info(slug, &u)),
        Err(e) => refused(e),
    }
}

/// `POST /upstreams/{id}/disable` and `/enable`.
pub async fn action(
    state: State,
    Path((slug, id, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let (slug, by) = match security_admin(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (slug, by) = (slug.as_str(), by.as_str());
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return problem(StatusCode::NOT_FOUND, "The action is disable or enable."),
    };
    match state.ops.set_upstream_disabled_by(slug, &id, disabled, by).await {
        Ok(u) => ok(StatusCode::OK, &state.ops.upstream_info(slug, &u)),
        Err(e) if e.to_string().starts_with("no upstream") => problem(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => refused(e),
    }
}

/// `DELETE /upstreams/{id}`: with every account's link to it; answers the upstreams left.
pub async fn remove(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (slug, by) = match security_admin(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (slug, by) = (slug.as_str(), by.as_str());
    match state.ops.remove_upstream_by(slug, &id, by).await {
        Ok(()) => match state.ops.upstreams(slug).await {
            Ok(list) => {
                ok(StatusCode::OK, &list.iter().map(|u| state.ops.upstream_info(slug, u)).collect::<Vec<_>>())
            }
            Err(e) => refused(e),
        },
        Err(e) if e.to_string().starts_with("no upstream") => problem(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => refused(e),
    }
}
