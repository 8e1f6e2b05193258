//! Signing keys and the audit trail.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_proto::{AuditRecord, AuditReport, ChainProblem, KeyInfo, KeyRevocation, KeyRotation};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, layout, opt, page, segment};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub l: Layout,
    /// (kid, alg, state, activates, retires)
    pub rows: Vec<(String, String, String, String, String)>,
}

pub async fn keys(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let shared = &*shared;
    let a = &a;
    let mut l = layout(a, "keys", "/keys");
    let list: Vec<KeyInfo> = match api::get(shared, &a.token, "keys").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .into_iter()
        .map(|k| (k.kid, k.alg, k.state, a.at(k.activates_at), a.at_opt(k.retires_at)))
        .collect();
    page(a, &KeysPage { l, rows })
}

/// `POST /keys/{kid}/revoke`.
pub async fn revoke_key(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    posted: Posted,
) -> Response {
    let path = format!("keys/{}/revoke", segment(&kid));
    // the kid typed in the confirmation, which the idp asks of the key signing administrators' tokens
    let confirm = KeyRevocation { confirm: posted.field("confirm_name").map(String::from) };
    match api::post::<_, IgnoredAny>(&shared, &posted.a.token, &path, Some(&confirm)).await {
        Ok(_) => posted.ok(format!("{} {kid}", posted.a.t.revoked)),
        Err(e) => posted.refused(e),
    }
}

pub async fn rotate_key(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let alg = posted.field("alg").unwrap_or("ES256");
    let rotation = KeyRotation { alg: alg.into() };
    match api::post::<_, IgnoredAny>(&shared, &posted.a.token, "keys/rotate", Some(&rotation)).await {
        Ok(_) => posted.ok(posted.a.t.rotated),
        Err(e) => posted.refused(e),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub kind: String,
    /// The export link for the same filter (`&format=` follows).
    pub export: String,
    /// (seq, when, kind, account, detail)
    pub rows: Vec<(String, String, String, String, String)>,
}

pub async fn audit(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let (t, q) = (a.t, &a.q);
    let mut l = layout(&a, "audit", "/audit");
    let kind = q.kind.clone().unwrap_or_default();
    let mut query = vec![("limit", "100".to_string())];
    if !kind.trim().is_empty() {
        query.push(("kind", kind.trim().to_string()));
    }
    if q.verify.is_some() {
        match api::get::<AuditReport>(&shared, &a.token, "audit/verify").await {
            Ok(report) => {
                let chains = report.chains;
                let records: i64 = chains.iter().map(|c| c.records).sum();
                let problems: Vec<String> = chains.iter().flat_map(|c| &c.problems).map(problem).collect();
                let summary = format!("{}: {} / {records}", t.verified, chains.len());
                match problems.is_empty() {
                    true => l.message = Some(format!("{summary} ✓")),
                    false => l.error = Some(format!("{summary} — {}", problems.join(", "))),
                }
            }
            Err(e) => l.error = Some(e),
        }
    }
    let export =
        format!("/console/audit/export?{}", serde_urlencoded::to_string(&query[1..]).unwrap_or_default());
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    let records: Vec<AuditRecord> = match api::get(&shared, &a.token, &path).await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = records
        .into_iter()
        .map(|r| (r.seq.to_string(), a.at(r.at), r.kind, opt(&r.account_id), r.detail))
        .collect();
    page(&a, &AuditPage { l, kind, export, rows })
}

/// A chain's problem as the audit page names it: its kind and the record it is at, if one.
fn problem(p: &ChainProblem) -> String {
    let (name, seq) = match p {
        ChainProblem::Edited { seq } => ("edited", Some(seq)),
        ChainProblem::BrokenLink { seq } => ("broken_link", Some(seq)),
        ChainProblem::Missing { .. } => ("missing", None),
        ChainProblem::Truncated { .. } => ("truncated", None),
        ChainProblem::Shortened { .. } => ("shortened", None),
        ChainProblem::Rewritten { seq } => ("rewritten", Some(seq)),
        ChainProblem::Deleted { .. } => ("deleted", None),
        ChainProblem::Unverifiable { .. } => ("unverifiable", None),
    };
    format!("{name} {}", seq.map(i64::to_string).unwrap_or_default())
}

/// `GET /audit/export?format=csv|json&kind=`: the records as a file, at most 10 000.
pub async fn audit_export(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let q = &a.q;
    let format = if q.format.as_deref() == Some("json") { "json" } else { "csv" };
    let mut query = vec![("limit", "10000".to_string()), ("format", format.to_string())];
    if let Some(kind) = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        query.push(("kind", kind.to_string()));
    }
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    match api::raw(&shared, &a.token, &path).await {
        Ok((content_type, bytes)) => {
            let disposition = format!("attachment; filename=\"audit.{format}\"");
            let mut res = bytes.into_response();
            for (k, v) in [(header::CONTENT_TYPE, content_type), (header::CONTENT_DISPOSITION, disposition)] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    res.headers_mut().insert(k, v);
                }
            }
            res
        }
        Err(e) => (StatusCode::FORBIDDEN, e).into_response(),
    }
}
