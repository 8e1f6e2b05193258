//! Health for load balancers and orchestrators: `/healthz` says the process
//! answers; `/readyz` whether this node should get traffic — the database answers, it holds
//! every migration this build ships (a newer node may have applied more: that is fine), the
//! administrators' tenant's signing keys load, and shutdown has not begun. JSON either way,
//! never cached; 503 names what is not ready.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Map, Value, json};

use super::State;

/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(AxState(state): State) -> Response {
    let mut checks = Map::new();
    let mut ready = true;
    let mut check = |name: &str, outcome: Result<(), String>| {
        ready &= outcome.is_ok();
        checks.insert(name.into(), outcome.map_or_else(Value::String, |()| json!("ok")));
    };
    let store = state.store();
    let database = match tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("unreachable".to_string()),
        Err(_) => Err("too slow".to_string()),
    };
    let reachable = database.is_ok();
    check("database", database);
    if reachable {
        let shipped = idp_store::shipped_schema_version();
        let schema = match tokio::time::timeout(CHECK_TIMEOUT, store.schema_version()).await {
            Ok(Ok(v)) if v >= shipped => Ok(()),
            Ok(Ok(v)) => Err(format!("migrations missing: database at {v}, this build needs {shipped}")),
            _ => Err("unknown".to_string()),
        };
        check("migrations", schema);
        let slug = state.config().admin_tenant.clone();
        let keys = match tokio::time::timeout(CHECK_TIMEOUT, state.tenant(&slug)).await {
            Ok(Ok(Some(t))) if !t.keys.keys.is_empty() => Ok(()),
            Ok(Ok(_)) => Err(format!("tenant {slug} has no signing keys")),
            _ => Err("cannot be loaded".to_string()),
        };
        check("keys", keys);
    }
    if state.draining.load(Ordering::SeqCst) {
        check("shutdown", Err("shutting down".to_string()));
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks});
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
