//! The figures of the console's dashboard: sign-ins and failures per hour over the last day,
//! live sessions, and the signing keys' schedule — counts only, no personal data — for system
//! and security administrators.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::{SECURITY_ADMIN, SYSTEM_ADMIN};
use idp_proto::{HourCounts, Stats};

use super::{caller, failed, forbidden, ok, refused};
use crate::state::State;

/// `GET /stats`.
pub async fn stats(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.roles.iter().any(|r| r == SYSTEM_ADMIN || r == SECURITY_ADMIN) {
        return forbidden();
    }
    let now = state.env().now();
    let since = (now / 3600 - 23) * 3600;
    let counts =
        match state.store().hourly_counts(&t.tenant.id, &["login_success", "login_failure"], since).await {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
    let hours: Vec<HourCounts> = (0..24)
        .map(|i| {
            let hour = since + i * 3600;
            let n = |kind: &str| counts.iter().find(|(h, k, _)| *h == hour && k == kind).map_or(0, |c| c.2);
            HourCounts { hour, sign_ins: n("login_success"), failures: n("login_failure") }
        })
        .collect();
    let sessions = match state.store().live_sessions(&t.tenant.id, now).await {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let keys = match state.ops.keys(&t.tenant.slug).await {
        Ok(k) => k,
        Err(e) => return refused(e),
    };
    ok(StatusCode::OK, &Stats { now, hours, live_sessions: sessions, keys })
}

/// `GET /me`: the calling administrator, for the console's header and navigation.
pub async fn me(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let account = match state.store().account(&t.tenant.id, &c.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return forbidden(),
        Err(e) => return failed(e),
    };
    let time_zone = t
        .tenant
        .settings
        .policy
        .time_zone
        .clone()
        .unwrap_or_else(|| idp_core::model::DEFAULT_TIME_ZONE.to_string());
    let me = idp_proto::Me {
        account_id: account.id,
        username: account.username,
        name: account.name,
        roles: c.roles,
        delegated: !c.subtrees.is_empty(),
        time_zone,
    };
    ok(StatusCode::OK, &me)
}
