//! The audit trail through the admin API, for audit administrators only: search and export
//! (JSON or CSV) a tenant's records, and verify its chain (every tenant's chain for the audit
//! administrators of the administrators' tenant). Nothing here changes a record.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::admin::Action;
use idp_core::audit::{ChainedRecord, Filter, Problem};
use idp_proto::{AuditQuery, AuditRecord, AuditReport, ChainProblem, ChainReport};

use super::{caller, failed, forbidden, ok, problem};
use crate::state::State;

fn record(r: &ChainedRecord) -> AuditRecord {
    AuditRecord {
        chain: r.chain.clone(),
        seq: r.seq,
        prev_hash: r.prev_hash.clone(),
        hash: r.hash.clone(),
        tenant_id: r.tenant_id.clone(),
        kind: r.kind.clone(),
        account_id: r.account_id.clone(),
        client_id: r.client_id.clone(),
        ip: r.ip.clone(),
        detail: r.detail.clone(),
        at: r.at,
    }
}

fn chain_problem(p: Problem) -> ChainProblem {
    match p {
        Problem::Edited { seq } => ChainProblem::Edited { seq },
        Problem::BrokenLink { seq } => ChainProblem::BrokenLink { seq },
        Problem::Missing { from, to } => ChainProblem::Missing { from, to },
        Problem::Truncated { head, last } => ChainProblem::Truncated { head, last },
        Problem::Shortened { anchored, head } => ChainProblem::Shortened { anchored, head },
        Problem::Rewritten { seq } => ChainProblem::Rewritten { seq },
        Problem::Deleted { anchored } => ChainProblem::Deleted { anchored },
        Problem::Unverifiable { line } => ChainProblem::Unverifiable { line: line as u64 },
    }
}

fn report(r: crate::ops::audit::AuditReport) -> AuditReport {
    AuditReport {
        chains: r
            .chains
            .into_iter()
            .map(|c| ChainReport {
                chain: c.chain,
                records: c.records,
                problems: c.problems.into_iter().map(chain_problem).collect(),
            })
            .collect(),
        unchained: r.unchained,
    }
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
        ip: q.ip,
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
        None | Some("json") => ok(StatusCode::OK, &records.iter().map(record).collect::<Vec<_>>()),
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
        Ok(r) => ok(StatusCode::OK, &report(r)),
        Err(e) => failed(e),
    }
}
