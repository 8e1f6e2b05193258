//! Signing keys and the audit trail.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Common, Layout, field, form, layout, page, rows, segment, session, texts, txt, utc};
use crate::texts::Texts;
use crate::{Session, Shared, api};

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub l: Layout,
    /// (kid, alg, state, activates, retires)
    pub rows: Vec<(String, String, String, String, String)>,
}

async fn keys_page(shared: &Shared, t: &'static Texts, s: &Session, error: Option<String>) -> Response {
    let mut l = layout(t, s, "keys", "/keys");
    let token = s.access_token.clone().unwrap_or_default();
    let list = match api::get(shared, &token, "keys").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let when = |v: &Value| v.as_i64().map(utc).unwrap_or_default();
    let rows = list
        .iter()
        .map(|k| {
            (txt(k, "kid"), txt(k, "alg"), txt(k, "state"), when(&k["activates_at"]), when(&k["retires_at"]))
        })
        .collect();
    if error.is_some() {
        l.error = error;
    }
    page(t, &KeysPage { l, rows })
}

pub async fn keys(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    match session(&shared, &headers) {
        Ok(s) => keys_page(&shared, t, &s, None).await,
        Err(r) => r,
    }
}

/// `POST /keys/{kid}/revoke`.
pub async fn revoke_key(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, _) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let error = api::post(&shared, &token, &format!("keys/{}/revoke", segment(&kid)), &json!({})).await.err();
    keys_page(&shared, t, &s, error).await
}

pub async fn rotate_key(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let t = texts(&Common::default(), &headers);
    let (s, p) = match form(&shared, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = s.access_token.clone().unwrap_or_default();
    let alg = field(&p, "alg").unwrap_or("ES256");
    let error = api::post(&shared, &token, "keys/rotate", &json!({"alg": alg})).await.err();
    keys_page(&shared, t, &s, error).await
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

pub async fn audit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let t = texts(&q, &headers);
    let s = match session(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut l = layout(t, &s, "audit", "/audit");
    let kind = q.kind.clone().unwrap_or_default();
    let mut query = vec![("limit", "100".to_string())];
    if !kind.trim().is_empty() {
        query.push(("kind", kind.trim().to_string()));
    }
    let token = s.access_token.clone().unwrap_or_default();
    if q.verify.is_some() {
        match api::get(&shared, &token, "audit/verify").await {
            Ok(report) => {
                let chains = rows(&report["chains"]);
                let records: i64 = chains.iter().filter_map(|c| c["records"].as_i64()).sum();
                let problems: Vec<String> = chains
                    .iter()
                    .flat_map(|c| rows(&c["problems"]))
                    .map(|p| format!("{} {}", txt(&p, "problem"), txt(&p, "seq")))
                    .collect();
                let summary = format!("{}: {} / {records}", t.verified, chains.len());
                match problems.is_empty() {
                    true => l.message = Some(format!("{summary} ✓")),
                    false => l.error = Some(format!("{summary} — {}", problems.join(", "))),
                }
            }
            Err(e) => l.error = Some(e),
        }
    }
    let export = format!("/audit/export?{}", serde_urlencoded::to_string(&query[1..]).unwrap_or_default());
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    let records = match api::get(&shared, &token, &path).await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = records
        .iter()
        .map(|r| {
            (
                txt(r, "seq"),
                r["at"].as_i64().map(utc).unwrap_or_default(),
                txt(r, "kind"),
                txt(r, "account_id"),
                txt(r, "detail"),
            )
        })
        .collect();
    page(t, &AuditPage { l, kind, export, rows })
}

/// `GET /audit/export?format=csv|json&kind=`: the records as a file, at most 10 000.
pub async fn audit_export(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Common>,
) -> Response {
    let s = match session(&shared, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let format = if q.format.as_deref() == Some("json") { "json" } else { "csv" };
    let mut query = vec![("limit", "10000".to_string()), ("format", format.to_string())];
    if let Some(kind) = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        query.push(("kind", kind.to_string()));
    }
    let token = s.access_token.clone().unwrap_or_default();
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    match api::raw(&shared, &token, &path).await {
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
