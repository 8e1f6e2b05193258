//! Logout from an upstream identity provider (OpenID Connect Back-Channel Logout 1.0): the
//! upstream posts a logout token to `/t/{tenant}/upstream/{id}/backchannel-logout` (the URI to
//! register there), and every session here that began through that upstream for its subject
//! (`sub`) or its session (`sid`) ends — with this provider's own logout of the clients that
//! took part (`crate::http::signed_out::end_sessions`).
//!
//! The token is checked as §2.6 says: signed by a key of the upstream's JWKS with an accepted
//! algorithm, `iss` the upstream's, `aud` holding this provider's client id, `iat` recent, the
//! back-channel logout event, `sub` or `sid`, no `nonce`, and a `jti` not seen before (a
//! replayed token is refused). Answers: 200 when checked (whether or not a session was
//! found), 400 `invalid_request` with no detail beyond the log otherwise.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::http::session::audit;
use crate::http::{State, body_text, param, parse_params, require_form};
use crate::outbound::upstream as rp;
use crate::state::{AppState, TenantCtx};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn answer(status: StatusCode) -> Response {
    let mut res = if status == StatusCode::OK {
        status.into_response()
    } else {
        (status, axum::Json(json!({"error": "invalid_request"}))).into_response()
    };
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    res
}

/// `POST /t/{tenant}/upstream/{id}/backchannel-logout`.
pub async fn backchannel(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refused = |why: &str| {
        tracing::warn!(upstream = %id, reason = %why, "an upstream's back-channel logout was refused");
        answer(StatusCode::BAD_REQUEST)
    };
    let Ok(Some(t)) = state.tenant(&slug).await else { return answer(StatusCode::NOT_FOUND) };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && !u.disabled) else {
        return answer(StatusCode::NOT_FOUND);
    };
    let params = match require_form(&headers).and_then(|_| parse_params(body_text(&body)?)) {
        Ok(p) => p,
        Err(_) => return refused("not a form"),
    };
    let Some(token) = param(&params, "logout_token") else { return refused("no logout_token") };
    let Some((policy, http)) = state.upstream_http() else { return refused("no outbound client") };
    let provider = match rp::discover(http, policy, &u.issuer).await {
        Ok(p) => p,
        Err(why) => return refused(&why),
    };
    let claims = match rp::verify_jws(&provider, token, &u.settings.id_token_algs) {
        Ok(c) => c,
        Err(why) => return refused(&why),
    };
    let now = state.env().now();
    if let Err(why) = check(&claims, &provider.issuer, &u.client_id, now) {
        return refused(why);
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    let until = claims["exp"].as_i64().unwrap_or(now + 600).max(now + 600);
    match state.store().remember_assertion_jti(&t.tenant.id, &format!("upstream:{id}"), jti, until).await {
        Ok(true) => {}
        Ok(false) => return refused("a replayed logout token"),
        Err(e) => {
            tracing::warn!(error = %e, "could not record a logout token");
            return answer(StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let sub = claims["sub"].as_str();
    let sid = claims["sid"].as_str();
    let ended = end_sessions_from(&state, &t, &id, sub, sid, None).await;
    let detail = json!({"upstream": id, "sessions": ended, "by": if sid.is_some() { "sid" } else { "sub" }});
    audit(&state, &t.tenant.id, "upstream_logout", None, None, None, detail).await;
    answer(StatusCode::OK)
}

/// The checks of OpenID Connect Back-Channel Logout 1.0 §2.6 beyond the signature.
fn check(c: &Value, issuer: &str, client_id: &str, now: i64) -> Result<(), &'static str> {
    if c["iss"].as_str() != Some(issuer) {
        return Err("another issuer");
    }
    let aud_ok = match &c["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err("another audience");
    }
    let iat = c["iat"].as_i64().ok_or("no iat")?;
    if iat > now + 300 || iat < now - 600 {
        return Err("iat out of range");
    }
    if c["exp"].as_i64().is_some_and(|exp| exp + 60 < now) {
        return Err("expired");
    }
    if !c["events"][EVENT].is_object() {
        return Err("not a back-channel logout event");
    }
    if c.get("nonce").is_some() {
        return Err("a nonce (an ID token, not a logout token)");
    }
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 255);
    if !text(&c["sub"]) && !text(&c["sid"]) {
        return Err("neither sub nor sid");
    }
    if !text(&c["jti"]) {
        return Err("no jti");
    }
    Ok(())
}

/// Ends the sessions here that began through upstream `upstream_id` for its `subject` or its
/// session `upstream_sid` (of `account`, or of the accounts linked to them); how many.
pub(crate) async fn end_sessions_from(
    state: &AppState,
    t: &TenantCtx,
    upstream_id: &str,
    subject: Option<&str>,
    upstream_sid: Option<&str>,
    account: Option<&str>,
) -> usize {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    let sids = match store.upstream_session_sids(tenant_id, upstream_id, subject, upstream_sid).await {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => return 0,
        Err(e) => {
            tracing::warn!(error = %e, "could not find the sessions an upstream began");
            return 0;
        }
    };
    let now = state.env().now();
    let mut accounts: std::collections::BTreeSet<String> = account.map(str::to_string).into_iter().collect();
    for sid in sids.iter().filter(|_| account.is_none()) {
        if let Ok(Some(r)) = store.upstream_session(sid).await
            && let Ok(Some(link)) = store.upstream_link(tenant_id, upstream_id, &r.subject).await
        {
            accounts.insert(link.account_id);
        }
    }
    let mut sessions = vec![];
    for account in accounts {
        let live = store.account_sessions(tenant_id, &account, now).await.unwrap_or_default();
        sessions.extend(live.into_iter().filter(|s| sids.contains(&s.sid)));
    }
    if sessions.is_empty() {
        return 0;
    }
    if let Err(e) = crate::http::signed_out::end_sessions(state, t, &sessions, None).await {
        tracing::warn!(error = %e.description, "could not end the sessions an upstream logged out");
    }
    sessions.len()
}
