//! Browser SSO sessions (cookie `idp_session`, scoped to the tenant's path), the browser
//! binding cookie that ties interactions and forms to one browser (CSRF double submit), and
//! the audit helper.

use axum::http::{HeaderMap, HeaderValue};
use idp_core::OAuthError;
use idp_core::crypto::{ct_eq, random_token, sha256_hex};
use idp_core::model::{AuditEvent, Session};

use crate::state::{AppState, TenantCtx};

pub const SESSION_COOKIE: &str = "idp_session";
pub const BROWSER_COOKIE: &str = "idp_browser";

/// How long an administrator's session may stay idle (docs/domain.md "Security baseline", sessions).
pub const ADMIN_IDLE_SECONDS: i64 = 15 * 60;

pub fn tenant_path(t: &TenantCtx) -> String {
    format!("/t/{}/", t.tenant.slug)
}

/// The live session of this browser in this tenant, if any. Expired (idle or absolute)
/// sessions and sessions of disabled accounts are ended here. Administrators' sessions (the
/// three roles, and delegated organisation administrators) go idle after at most 15 minutes
/// (docs/domain.md), whatever the tenant allows others.
pub async fn current(
    state: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
) -> Result<Option<Session>, OAuthError> {
    let Some(value) = super::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = sha256_hex(value.as_bytes());
    let Some(session) = state.store().session(&t.tenant.id, &hash).await? else {
        return Ok(None);
    };
    let now = state.env().now();
    let (idle, ..) = state.rules(&t.tenant.id);
    let account = state.store().account(&t.tenant.id, &session.account_id).await?;
    let admin = account
        .as_ref()
        .is_some_and(|a| a.roles.iter().any(|r| idp_core::admin::ADMIN_ROLES.contains(&r.as_str())));
    // delegated organisation administrators are administrators too (docs/domain.md); their
    // memberships are read only when it matters: a session idle longer than 15 minutes
    let idle_for = now - session.last_seen;
    let delegated = !admin
        && (ADMIN_IDLE_SECONDS..idle).contains(&idle_for)
        && state.store().memberships(&session.account_id).await?.iter().any(|m| {
            m.kind == "staff" && m.active(now) && m.roles.iter().any(|r| r == idp_core::admin::ORG_ADMIN)
        });
    let idle = if admin || delegated { idle.min(ADMIN_IDLE_SECONDS) } else { idle };
    if session.expires_at <= now || session.last_seen + idle <= now || account.is_none_or(|a| a.disabled) {
        state.store().delete_session(&t.tenant.id, &session.sid).await?;
        return Ok(None);
    }
    if now - session.last_seen >= 60 {
        state.store().touch_session(&hash, now).await?;
    }
    Ok(Some(session))
}

/// The browser-binding value: the existing cookie, or a new one to set.
pub fn browser_binding(headers: &HeaderMap) -> (String, bool) {
    match super::cookie(headers, BROWSER_COOKIE) {
        Some(v) if v.len() >= 32 => (v, false),
        _ => (random_token(&idp_core::SystemEnv, 32), true),
    }
}

pub fn browser_cookie(state: &AppState, t: &TenantCtx, value: &str) -> HeaderValue {
    super::set_cookie(state, BROWSER_COOKIE, value, &tenant_path(t), None)
}

/// Double-submit check: the form's `csrf` equals this browser's binding cookie and, when given,
/// the cookie's hash is the one recorded for the interaction.
pub fn csrf_ok(headers: &HeaderMap, form_csrf: Option<&str>, expected_hash: Option<&str>) -> bool {
    let Some(cookie) = super::cookie(headers, BROWSER_COOKIE) else {
        return false;
    };
    let Some(form) = form_csrf else { return false };
    if !ct_eq(cookie.as_bytes(), form.as_bytes()) {
        return false;
    }
    expected_hash.is_none_or(|h| ct_eq(sha256_hex(cookie.as_bytes()).as_bytes(), h.as_bytes()))
}

/// Appends an audit event; a failure to record is logged loudly but does not fail the request.
pub async fn audit(
    state: &AppState,
    tenant_id: &str,
    kind: &str,
    account_id: Option<&str>,
    client_id: Option<&str>,
    ip: Option<&str>,
    detail: serde_json::Value,
) {
    state.metrics.audited(kind, &detail);
    let event = AuditEvent {
        tenant_id: Some(tenant_id.to_string()),
        kind: kind.to_string(),
        account_id: account_id.map(str::to_string),
        client_id: client_id.map(str::to_string),
        ip: ip.map(str::to_string),
        detail,
        at: state.env().now(),
    };
    if let Err(e) = state.store().append_audit(&event).await {
        tracing::error!(kind, error = %e, "could not record audit event");
    }
}
