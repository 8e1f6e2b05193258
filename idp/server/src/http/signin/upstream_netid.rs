//! Signing in with the national network identity service (`idp_core::netid`), the protocol
//! half, through the configured connector (`crate::outbound::netid`). The service's answer
//! becomes the same `Answer` as an OpenID provider's — the pseudonymous number (网号) as the
//! subject, the way the person was checked as the `acr`, the verification result as one
//! `verified_claims` element — and `super::upstream_link` decides the account and the level.
//!
//! The name and ID number are asked for only where the operator registered the upstream for
//! plaintext identity and the client asks for real-name data (the `realname` scope); the
//! person consents in the app (or is informed, where the client acts under a statutory duty).
//! The way out and back is `super::upstream_app`'s, to and from
//! `GET /t/{tenant}/upstream/{id}/netid/callback`, where the one-time code is exchanged for
//! the result.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::Upstream;
use idp_core::netid::NetidResult;

use crate::http::State;
use crate::http::pages::Lang;
use crate::http::signin::interaction::{Loaded, login_page};
use crate::http::signin::upstream::settle;
use crate::http::signin::upstream_app::{came_back, send};
use crate::outbound::upstream::Answer;

/// Sends the person to the service for this interaction.
pub(crate) async fn begin(
    state: &crate::state::AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
) -> Response {
    let texts = l.lang.texts();
    let (Some(netid), Some(connector)) = (&u.settings.netid, state.netid()) else {
        return login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY);
    };
    let plaintext = netid.plaintext && l.ask.release.iter().any(|s| s == "realname");
    // this provider receives what is released, for the client: the person is told both
    let here = crate::http::look::shown(texts.brand, matches!(l.lang, Lang::En)).name;
    let party = format!("{here}（{}）", l.client_name);
    send(state, l, u, plaintext, &netid.mode, |st| {
        let start = crate::outbound::netid::Start {
            upstream: &u.id,
            state: st,
            mode: &netid.mode,
            plaintext,
            party: &party,
            statutory: l.statutory,
        };
        connector.authorize_url(&l.t, &start)
    })
    .await
}

/// `GET /t/{tenant}/upstream/{id}/netid/callback`: back from the service.
pub async fn callback(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let of_kind = |u: &Upstream| u.settings.netid.is_some();
    let back = match came_back(&state, (&slug, &id), peer, &headers, q.as_deref(), of_kind).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let result = match state.netid() {
        Some(c) => Some(c.result(&state, &back.l.t, &back.code).await),
        None => None,
    };
    // issued to this sign-in (its state), just now, and with the check asked for
    let check = |r: &mut NetidResult, now| r.check(now);
    let redeemed = back.redeemed(&state, &headers, result, check, |r| (&r.bound_to, r.verified_at));
    let mut result = match redeemed.await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let strength = idp_core::netid::strength;
    if strength(&result.mode) < strength(&back.started.mode) {
        let why = format!("the check {} is weaker than the {} asked for", result.mode, back.started.mode);
        return back.fail(&state, &headers, why).await;
    }
    if !back.started.plaintext {
        // minimal provision: what was not asked for is not kept
        result.identity = None;
    }
    let answer = Answer {
        subject: result.pseudonym.clone(),
        auth_time: Some(result.verified_at),
        acr: Some(result.mode.clone()),
        verified_claims: Some(result.verified_claims()),
        sid: None,
        licence: None,
    };
    let (l, u) = (&back.l, &back.upstream);
    settle(&state, l, &headers, u, &answer, back.started.freshness(), &back.ip).await
}
