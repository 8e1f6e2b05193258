//! Logout from an upstream identity provider (OpenID Connect Back-Channel Logout 1.0): the
//! upstream posts a logout token to `/t/{tenant}/upstream/{id}/backchannel-logout` (the URI to
//! register there), and every session here that began through that upstream for its subject
//! (`sub`) or its session (`sid`) ends — with this provider's own logout of the clients that
//! took part (`crate::http::upstreams::end_sessions_from`).
//!
//! The other way (RP-Initiated Logout 1.0): a logout here of a session that began through an
//! upstream with an `end_session_endpoint` goes on there with `client_id`,
//! `post_logout_redirect_uri` `/t/{tenant}/upstream/{id}/signed-out` (to register there) and a
//! `state` under which the rest of the way (a client's validated post-logout URI, or the
//! signed-out page) is kept for ten minutes ([`signed_out`]; `crate::http::upstreams::onward`).
//!
//! The token is checked as §2.6 says: signed by a key of the upstream's JWKS with an accepted
//! algorithm, `iss` the upstream's, `aud` holding this provider's client id, `iat` recent, the
//! back-channel logout event, `sub` or `sid`, no `nonce`, and a `jti` not seen before (a
//! replayed token is refused). Answers: 200 when checked (whether or not a session was
//! found), 400 `invalid_request` with no detail beyond the log otherwise.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::http::session::audit;
use crate::http::{State, body_text, param, parse_params, require_form};
use crate::outbound::upstream as rp;

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
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refused = |why: &str| {
        tracing::warn!(upstream = %id, reason = %why, "an upstream's back-channel logout was refused");
        answer(StatusCode::BAD_REQUEST)
    };
    let Ok(Some(t)) = state.tenant(&slug).await else { return answer(StatusCode::NOT_FOUND) };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && !u.disabled && u.settings.protocol() == "oidc")
    else {
        return answer(StatusCode::NOT_FOUND);
    };
    let params = match require_form(&headers).and_then(|_| parse_params(body_text(&body)?)) {
        Ok(p) => p,
        Err(_) => return refused("not a form"),
    };
    let Some(token) = param(&params, "logout_token") else { return refused("no logout_token") };
    // anyone may post here: counted per address, and the upstream's keys come from the
    // last minute's discovery (no request to the upstream per post)
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    if state.limits.token_ip.check_shared(state.store(), now, &format!("{}:{ip}", t.tenant.id)).await.is_err()
    {
        return answer(StatusCode::TOO_MANY_REQUESTS);
    }
    let Some((policy, http)) = state.upstream_http() else { return refused("no outbound client") };
    let provider = match state.upstream_provider(http, policy, &u.issuer).await {
        Ok(p) => p,
        Err(why) => return refused(&why),
    };
    let claims = match rp::verify_jws(&provider, token, &u.settings.id_token_algs) {
        Ok(c) => c,
        Err(why) => return refused(&why),
    };
    if let Err(why) = check(&claims, &provider.issuer, &u.client_id, now) {
        return refused(why);
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    // remembered for as long as the token would be accepted
    let iat = claims["iat"].as_i64().unwrap_or(now);
    let until = claims["exp"].as_i64().map_or(iat + 660, |exp| exp + 60).max(iat + 660).max(now + 660);
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
    let ended = crate::http::upstreams::end_sessions_from(&state, &t, &id, sub, sid, None).await;
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

/// `GET /t/{tenant}/upstream/{id}/signed-out`: back from the upstream's logout, on to where
/// the logout here was going (only what `onward` kept: never a URL from the query).
pub async fn signed_out(
    state: State,
    Path((slug, _id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = crate::http::pages::Lang::pick(None, &headers);
    let Ok(Some(t)) = state.tenant(&slug).await else { return answer(StatusCode::NOT_FOUND) };
    let params = parse_params(q.as_deref().unwrap_or_default()).unwrap_or_default();
    let next = crate::http::upstreams::taken_way_back(&state, &t, param(&params, "state")).await;
    let tx = lang.texts();
    crate::http::signed_out::here(&state, &t, lang, &[], next.as_deref(), (tx.signed_out, tx.signed_out_text))
}
