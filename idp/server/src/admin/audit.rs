//! The audit trail through the admin API, for audit administrators only: search and export
//! (JSON or CSV) a tenant's records, and verify its chain (every tenant's chain for the audit
//! administrators of the administrators' tenant). Nothing here changes a record.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::admin::Action;
use idp_core::audit::Filter;
use serde::Deserialize;

use super::{caller, failed, forbidden, ok, problem};
use crate::state::State;

#[derive(Deserialize)]
pub struct AuditQuery {
    kind: Option<String>,
    account_id: Option<String>,
    client_id: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    before: Option<i64>,
    limit: Option<i64>,
    format: Option<String>,
}

/// `GET /audit`: the tenant's records, newest first (`before`: the next page).
pub async fn search(
    state: State,
    Path(slug): Path<String>,
    Query(q): Query<AuditQuery>,
    headers: HeaderMap,
) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(Action::ReadAudit, None) {
        return forbidden();
    }
    let filter = Filter {
        kind: q.kind,
        account_id: q.account_id,
        client_id: q.client_id,
        since: q.since,
        until: q.until,
        before_seq: q.before,
        limit: q.limit.unwrap_or(100).clamp(1, 10_000),
    };
    let records = match state.store().audit_search(&t.tenant.id, &filter).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    match q.format.as_deref() {
        None | Some("json") => ok(StatusCode::OK, &records),
        Some("csv") => {
            let mut res = (StatusCode::OK, crate::ops::audit::to_csv(&records)).into_response();
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            res.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit.csv\""),
            );
            res
        }
        Some(_) => problem(StatusCode::BAD_REQUEST, "format is json or csv."),
    }
}

/// `GET /audit/verify`: every chain checked (the whole deployment's, as the chains are).
pub async fn verify(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(Action::ReadAudit, None) {
        return forbidden();
    }
    // a tenant's auditor verifies that tenant's chain; the administrators' tenant's (the
    // platform's) every chain
    let only = (t.tenant.slug != state.config().admin_tenant).then_some(t.tenant.id.as_str());
    match state.ops.verify_audit_of(only).await {
        Ok(report) => ok(StatusCode::OK, &report),
        Err(e) => failed(e),
    }
}
