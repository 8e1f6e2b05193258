//! Department applications through the admin API: system administrators manage every client;
//! a delegated organisation administrator manages the clients registered to organisations of
//! its subtree (and registers new ones there); security and audit administrators have no
//! rights here. Administrators' clients (`admin_client`, the only ones with the `admin` scope)
//! are registered, seen and changed by system administrators only.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::{Action, Caller};
use idp_core::model::Client;
use idp_proto::{ClientRequest, SecretRotation};

use super::{caller, failed, forbidden, json_body, ok, problem, refused};
use crate::ops::clients::client_info;
use crate::state::State;
use crate::state::{AppState, TenantCtx};

/// The materialised path of the client's organisation, if it has one.
async fn path_of(
    state: &AppState,
    t: &TenantCtx,
    organisation_id: Option<&str>,
) -> Result<Option<String>, Response> {
    let Some(id) = organisation_id else { return Ok(None) };
    match state.store().organisation(&t.tenant.id, id).await {
        Ok(o) => Ok(o.map(|o| o.path)),
        Err(e) => Err(failed(e)),
    }
}

/// The client `id` if the caller may manage it.
async fn target(state: &AppState, t: &TenantCtx, c: &Caller, id: &str) -> Result<Client, Response> {
    let client = match state.store().client(&t.tenant.id, id).await {
        Ok(Some(cl)) => cl,
        Ok(None) => return Err(problem(StatusCode::NOT_FOUND, "There is no such client.")),
        Err(e) => return Err(failed(e)),
    };
    // an administrators' client is the system administrators' alone: whoever could change its
    // redirect URIs or secret could collect administrators' tokens
    if client.settings.admin_client && !c.system() {
        return Err(forbidden());
    }
    // so is a SCIM client: its secret provisions staff into departments and roles wherever
    // the operator registered it, which no subtree bounds
    if client.settings.scim.is_some() && !c.system() {
        return Err(forbidden());
    }
    let path = path_of(state, t, client.settings.organisation_id.as_deref()).await?;
    if c.may(Action::ManageClients, path.as_deref()) { Ok(client) } else { Err(forbidden()) }
}

/// A delegated administrator may let a client ask for a resource (RFC 8707) only when the
/// service that is that resource belongs to its subtree; system administrators for any.
async fn resources_allowed(
    state: &AppState,
    t: &TenantCtx,
    c: &Caller,
    req: &ClientRequest,
) -> Result<(), Response> {
    // which address a service answers to is the system administrators' to say: a delegated
    // administrator could otherwise claim an API that never registered itself
    if req.resource_uri.as_deref().is_some_and(|u| !u.is_empty()) && !c.system() {
        return Err(forbidden());
    }
    let Some(wanted) = &req.resources else { return Ok(()) };
    if c.system() || wanted.is_empty() {
        return Ok(());
    }
    let all = state.store().list_clients(&t.tenant.id).await.map_err(failed)?;
    for r in wanted {
        let owner = all.iter().find(|o| o.settings.resource_uri.as_deref() == Some(r.as_str()));
        let Some(owner) = owner else { continue }; // refused as input by the operation
        let path = path_of(state, t, owner.settings.organisation_id.as_deref()).await?;
        if owner.settings.admin_client || !c.may(Action::ManageClients, path.as_deref()) {
            return Err(forbidden());
        }
    }
    Ok(())
}

/// `GET /clients`: every client the caller manages.
pub async fn list(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let all = match state.store().list_clients(&t.tenant.id).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let mut out = vec![];
    for cl in all {
        let path = match path_of(&state, &t, cl.settings.organisation_id.as_deref()).await {
            Ok(p) => p,
            Err(r) => return r,
        };
        // administrators' and SCIM clients are the system administrators' alone (`target`)
        let reserved = cl.settings.admin_client || cl.settings.scim.is_some();
        if c.may(Action::ManageClients, path.as_deref()) && (c.system() || !reserved) {
            out.push(client_info(&cl, None));
        }
    }
    if out.is_empty() && !c.may(Action::ManageClients, None) && c.subtrees.is_empty() {
        return forbidden();
    }
    ok(StatusCode::OK, &out)
}

/// `POST /clients`: a new client, its secret in the answer once. A delegated administrator
/// registers it to an organisation of its subtree.
pub async fn add(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let req: ClientRequest = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let path = match path_of(&state, &t, req.organisation_id.as_deref()).await {
        Ok(Some(p)) => Some(p),
        Ok(None) if req.organisation_id.is_some() => {
            return problem(StatusCode::BAD_REQUEST, "organisation_id names no organisation of this tenant.");
        }
        Ok(None) => None,
        Err(r) => return r,
    };
    if !c.may(Action::ManageClients, path.as_deref()) || (req.admin_client == Some(true) && !c.system()) {
        return forbidden();
    }
    if let Err(r) = resources_allowed(&state, &t, &c, &req).await {
        return r;
    }
    match state.ops.register_client_by(&t.tenant.slug, &req, req.organisation_id.clone(), &c.account_id).await
    {
        Ok((client, secret)) => ok(StatusCode::CREATED, &client_info(&client, secret)),
        Err(e) => refused(e),
    }
}

/// `GET /clients/{id}`.
pub async fn one(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match target(&state, &t, &c, &id).await {
        Ok(cl) => ok(StatusCode::OK, &client_info(&cl, None)),
        Err(r) => r,
    }
}

/// `GET /clients/{id}/logout-deliveries`: the back-channel logout tokens sent to the client
/// (or still on their way), newest first, with every attempt's outcome.
pub async fn logout_deliveries(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let client = match target(&state, &t, &c, &id).await {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    match state.store().logout_deliveries(&t.tenant.id, Some(&client.client_id), 100).await {
        Ok(list) => {
            let out: Vec<idp_proto::LogoutDeliveryInfo> = list
                .into_iter()
                .map(|d| idp_proto::LogoutDeliveryInfo {
                    id: d.id,
                    client_id: d.client_id,
                    sid: d.sid,
                    uri: d.uri,
                    status: d.status,
                    attempts: d.attempts,
                    next_attempt_at: d.next_attempt_at,
                    last_error: d.last_error,
                    created_at: d.created_at,
                    delivered_at: d.delivered_at,
                    expires_at: d.expires_at,
                })
                .collect();
            ok(StatusCode::OK, &out)
        }
        Err(e) => failed(e),
    }
}

/// `PATCH /clients/{id}`: changes (not of its type, nor of its organisation).
pub async fn update(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = target(&state, &t, &c, &id).await {
        return r;
    }
    let req: ClientRequest = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if req.admin_client.is_some() && !c.system() {
        return forbidden();
    }
    // the console's own sign-in (its redirect URIs, being an administrators' client) is kept
    // as it must be: changed, no administrator could sign in to it
    if protected(&id, &c) && (req.redirect_uris.is_some() || req.admin_client == Some(false)) {
        return problem(
            StatusCode::CONFLICT,
            "This is the administrators' console you are signed in with: its redirect URIs and its being an \
             administrators' client are kept as they are, or no administrator could sign in.",
        );
    }
    if let Err(r) = resources_allowed(&state, &t, &c, &req).await {
        return r;
    }
    if req.organisation_id.is_some() {
        return problem(
            StatusCode::BAD_REQUEST,
            "A client's organisation cannot change; register a new client.",
        );
    }
    match state.ops.update_client_by(&t.tenant.slug, &id, &req, &c.account_id).await {
        Ok(cl) => ok(StatusCode::OK, &client_info(&cl, None)),
        Err(e) => refused(e),
    }
}

/// The administrators' console: the one built into the provider (`crate::console`), and the
/// client the caller signed in with.
fn protected(id: &str, c: &Caller) -> bool {
    id == crate::console::CLIENT_ID || id == c.client_id
}

/// `POST /clients/{id}/{rotate-secret|disable|enable}`.
pub async fn act(
    state: State,
    Path((slug, id, what)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = target(&state, &t, &c, &id).await {
        return r;
    }
    let slug = &t.tenant.slug;
    // the client the administrator is using now (the console): disabling it, or rotating its
    // secret, would end every administrator's console with no way back but the CLI
    if protected(&id, &c) && matches!(what.as_str(), "disable" | "rotate-secret") {
        return problem(
            StatusCode::CONFLICT,
            "This is the administrators' console you are signed in with: disabling it or rotating its \
             secret would lock every administrator out. Use the operator's CLI if you must.",
        );
    }
    match what.as_str() {
        "rotate-secret" => {
            let r: SecretRotation = if body.is_empty() {
                SecretRotation::default()
            } else {
                match json_body(&headers, &body) {
                    Ok(v) => v,
                    Err(r) => return r,
                }
            };
            match state.ops.rotate_client_secret_by(slug, &id, r.overlap_seconds, &c.account_id).await {
                Ok((cl, secret)) => ok(StatusCode::OK, &client_info(&cl, Some(secret))),
                Err(e) => refused(e),
            }
        }
        "disable" | "enable" => {
            match state.ops.set_client_disabled_by(slug, &id, what == "disable", &c.account_id).await {
                Ok(cl) => ok(StatusCode::OK, &client_info(&cl, None)),
                Err(e) => refused(e),
            }
        }
        _ => problem(StatusCode::NOT_FOUND, "No such action."),
    }
}
