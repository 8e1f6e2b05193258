//! People's accounts through the admin API, for security administrators (docs/domain.md: account
//! security): search, see, lock and unlock, reset factors, end sessions.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::Action;
use idp_proto::AccountSearch;

use super::{caller, forbidden, ok, problem, refused};
use crate::state::State;

async fn security(state: &State, slug: &str, headers: &HeaderMap) -> Result<(String, String), Response> {
    let (t, c) = caller(state, slug, headers).await?;
    if !c.may(Action::ManageAccounts, None) {
        return Err(forbidden());
    }
    Ok((t.tenant.slug.clone(), c.account_id))
}

/// `GET /accounts?q=`: by username, name, phone or ID number.
pub async fn search(
    state: State,
    Path(slug): Path<String>,
    Query(s): Query<AccountSearch>,
    headers: HeaderMap,
) -> Response {
    let (slug, _) = match security(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let q = s.q.unwrap_or_default();
    if q.trim().chars().count() < 2 || q.len() > 64 {
        return problem(
            StatusCode::BAD_REQUEST,
            "q: 2 to 64 characters of a username, name, phone or ID number.",
        );
    }
    match state.ops.search_accounts(&slug, &q).await {
        Ok(found) => ok(StatusCode::OK, &found),
        Err(e) => refused(e),
    }
}

/// `GET /accounts/{id}`.
pub async fn one(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (slug, _) = match security(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.account_detail(&slug, &id).await {
        Ok(Some(d)) => ok(StatusCode::OK, &d),
        Ok(None) => problem(StatusCode::NOT_FOUND, "There is no such account."),
        Err(e) => refused(e),
    }
}

/// `POST /accounts/{id}/{lock|unlock|reset-factors|end-sessions}`.
pub async fn act(
    state: State,
    Path((slug, id, what)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let (slug, by) = match security(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.account_detail(&slug, &id).await {
        Ok(Some(_)) => {}
        Ok(None) => return problem(StatusCode::NOT_FOUND, "There is no such account."),
        Err(e) => return refused(e),
    }
    // an administrator never locks themself out: their own lock and second factors are for
    // another administrator (or the operator's CLI) to change
    if id == by && matches!(what.as_str(), "lock" | "reset-factors") {
        return problem(
            StatusCode::CONFLICT,
            "You cannot lock your own account or reset your own second factors: you would be signed \
             out with no way back in. Ask another security administrator.",
        );
    }
    let done = match what.as_str() {
        "lock" => state.ops.lock_account_by(&slug, &id, true, &by).await,
        "unlock" => state.ops.lock_account_by(&slug, &id, false, &by).await,
        "reset-factors" => state.ops.reset_factors_by(&slug, &id, &by).await,
        "end-sessions" => state.ops.end_sessions_by(&slug, &id, &by).await.map(drop),
        _ => return problem(StatusCode::NOT_FOUND, "No such action."),
    };
    if let Err(e) = done {
        return refused(e);
    }
    match state.ops.account_detail(&slug, &id).await {
        Ok(Some(d)) => ok(StatusCode::OK, &d),
        Ok(None) => problem(StatusCode::NOT_FOUND, "There is no such account."),
        Err(e) => refused(e),
    }
}
