//! The organisation tree and staff memberships through the admin API. System administrators
//! manage the whole tree, security administrators read it, delegated organisation
//! administrators see and manage their subtree only (a root, or anything outside it, is
//! refused), audit administrators nothing here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::{Action, Caller};
use idp_core::org::Organisation;
use idp_proto::{NewMembership, NewOrganisation, OrganisationInfo, OrganisationsQuery};

use super::{caller, failed, forbidden, json_body, ok, problem, refused};
use crate::ops::accounts::membership_info;
use crate::state::State;
use crate::state::{AppState, TenantCtx};

fn info(o: Organisation) -> OrganisationInfo {
    OrganisationInfo {
        id: o.id,
        kind: o.kind,
        name: o.name,
        parent_id: o.parent_id,
        level: o.level,
        region_code: o.region_code,
        uscc: o.uscc,
        uscc_flagged: o.uscc_flagged,
        path: o.path,
        created_at: o.created_at,
        representative_name: o.representative_name,
    }
}

/// The organisation `id` of the tenant if the caller may do `action` on it; else the answer
/// (404 for one that does not exist, 403 for one outside the caller's rights).
async fn target(
    state: &AppState,
    t: &TenantCtx,
    c: &Caller,
    id: &str,
    action: Action,
) -> Result<Organisation, Response> {
    match state.store().organisation(&t.tenant.id, id).await {
        Ok(Some(o)) if c.may(action, Some(&o.path)) => Ok(o),
        Ok(Some(_)) => Err(forbidden()),
        Ok(None) => Err(problem(StatusCode::NOT_FOUND, "There is no such organisation.")),
        Err(e) => Err(failed(e)),
    }
}

/// `GET /organisations[?under=id]`: the tree in order, or a subtree; a delegated administrator
/// sees its subtrees.
pub async fn list(
    state: State,
    Path(slug): Path<String>,
    Query(q): Query<OrganisationsQuery>,
    headers: HeaderMap,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let roots: Vec<String> = match &q.under {
        Some(id) => match target(&state, &t, &c, id, Action::ReadOrganisations).await {
            Ok(o) => vec![o.path],
            Err(r) => return r,
        },
        None if c.sees_all() => vec!["/".into()],
        None if c.subtrees.is_empty() => return forbidden(),
        None => c.subtrees.clone(),
    };
    let mut out: Vec<OrganisationInfo> = vec![];
    for path in roots {
        match state.store().organisations_under(&t.tenant.id, &path).await {
            Ok(list) => {
                for o in list {
                    if !out.iter().any(|x| x.id == o.id) {
                        out.push(info(o));
                    }
                }
            }
            Err(e) => return failed(e),
        }
    }
    ok(StatusCode::OK, &out)
}

/// `GET /organisations/{id}`.
pub async fn one(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match target(&state, &t, &c, &id, Action::ReadOrganisations).await {
        Ok(o) => ok(StatusCode::OK, &info(o)),
        Err(r) => r,
    }
}

/// `POST /organisations`: under a parent the caller manages (a root: system administrators).
pub async fn add(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new: NewOrganisation = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match &new.parent_id {
        Some(p) => match target(&state, &t, &c, p, Action::ManageOrganisations).await {
            Ok(_) => {}
            // the parent is named in the body: the request is wrong, not the address
            Err(r) if r.status() == StatusCode::NOT_FOUND => {
                return problem(StatusCode::BAD_REQUEST, "parent_id names no organisation of this tenant.");
            }
            Err(r) => return r,
        },
        None if !c.may(Action::ManageOrganisations, None) => return forbidden(),
        None => {}
    }
    let n = idp_core::org::NewOrganisation {
        kind: new.kind,
        name: new.name,
        level: new.level,
        region_code: new.region_code,
        uscc: new.uscc,
        representative_name: new.representative_name,
        representative_id: new.representative_id,
    };
    match state.ops.add_organisation_by(&t.tenant.slug, new.parent_id.as_deref(), n, &c.account_id).await {
        Ok(o) => ok(StatusCode::CREATED, &info(o)),
        Err(e) => refused(e),
    }
}

/// `GET /organisations/{id}/members`: every membership, live and ended.
pub async fn members(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match target(&state, &t, &c, &id, Action::ReadMembers).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let list = match state.store().members_of(&t.tenant.id, &o.id).await {
        Ok(list) => list,
        Err(e) => return failed(e),
    };
    // named, not only by account id (an administrator reads names)
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        let account = match state.store().account(&t.tenant.id, &m.account_id).await {
            Ok(a) => a,
            Err(e) => return failed(e),
        };
        let (username, name) = account.map(|a| (Some(a.username), a.name)).unwrap_or_default();
        out.push(idp_proto::MembershipInfo { username, name, ..membership_info(m) });
    }
    ok(StatusCode::OK, &out)
}

/// `POST /organisations/{id}/members`: makes a person staff with roles. Granting `org_admin`
/// delegates the subtree; a delegated administrator may delegate within its own.
pub async fn add_member(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new: NewMembership = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match target(&state, &t, &c, &id, Action::ManageMembers).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let login = new.username.trim().to_lowercase();
    match state.ops.add_membership_by(&t.tenant.slug, &login, &o.id, new.roles, &c.account_id).await {
        Ok(m) => ok(StatusCode::CREATED, &membership_info(m)),
        Err(e) => refused(e),
    }
}

/// `DELETE /memberships/{id}`: ends a staff membership now (its tokens stop at once). Enterprise
/// roles are the enterprise's own business (its legal representative, on the account pages).
pub async fn revoke_member(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (t, c): (Arc<TenantCtx>, Caller) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let m = match state.store().membership(&t.tenant.id, &id).await {
        Ok(Some(m)) if m.revoked_at.is_none() && m.kind == "staff" => m,
        Ok(_) => return problem(StatusCode::NOT_FOUND, "There is no such live staff membership."),
        Err(e) => return failed(e),
    };
    if let Err(r) = target(&state, &t, &c, &m.organisation_id, Action::ManageMembers).await {
        return r;
    }
    match state.ops.revoke_membership_by(&t.tenant.slug, &m.id, &c.account_id).await {
        Ok(m) => ok(StatusCode::OK, &membership_info(m)),
        Err(e) => refused(e),
    }
}
