//! Signing in with the national network identity service (`idp_core::netid`), the protocol
//! half, through the configured connector (`crate::outbound::netid`). The service's answer
//! becomes the same `Answer` as an OpenID provider's — the pseudonymous number (网号) as the
//! subject, the way the person was checked as the `acr`, the verification result as one
//! `verified_claims` element — and `super::upstream_link` decides the account and the level.
//!
//! The name and ID number are asked for only where the operator registered the upstream for
//! plaintext identity and the client asks for real-name data (the `realname` scope); the
//! person consents in the app (or is informed, where the client acts under a statutory duty).
//! The sign-in goes out with a fresh `state` (its record sealed and taken once) and comes back
//! to `GET /t/{tenant}/upstream/{id}/netid/callback`, where the interaction must be this
//! browser's and the one-time code is exchanged for the result.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Ceremony, Upstream};
use serde::{Deserialize, Serialize};

use crate::http::pages::{Lang, error_page};
use crate::http::signin::interaction::{Loaded, load, login_page};
use crate::http::signin::upstream::{Freshness, acr_allowed, failed, offered, returned, seal};
use crate::http::{State, param, see_other};
use crate::outbound::upstream::Answer;

const CEREMONY_TTL: i64 = 10 * 60;

#[derive(Serialize, Deserialize)]
struct Started {
    interaction: String,
    upstream: String,
    at: i64,
    max_age: Option<i64>,
    fresh: bool,
    /// The name and ID number were asked for (an answer that brings them unasked is
    /// stripped of them).
    plaintext: bool,
    /// The check asked for (an answer with a weaker one is refused).
    mode: String,
}

fn started_key(state: &str) -> String {
    format!("upstream-netid:{}", sha256_hex(state.as_bytes()))
}

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
    let env = state.env();
    let st = random_token(env, 32);
    let plaintext = netid.plaintext && l.ask.release.iter().any(|s| s == "realname");
    let started = Started {
        interaction: l.interaction.id.clone(),
        upstream: u.id.clone(),
        at: env.now(),
        max_age: l.ask.max_age,
        fresh: l.ask.force,
        plaintext,
        mode: netid.mode.clone(),
    };
    let key = started_key(&st);
    let plain = serde_json::to_vec(&started).unwrap_or_default();
    let record = Ceremony {
        state: seal(state, &l.t, &plain, &key),
        key,
        tenant_id: l.t.tenant.id.clone(),
        account_id: None,
        expires_at: env.now() + CEREMONY_TTL,
    };
    if let Err(e) = state.store().put_ceremony(&record).await {
        return error_page(l.lang, &e.into());
    }
    // this provider receives what is released, for the client: the person is told both
    let here = crate::http::look::shown(texts.brand, matches!(l.lang, Lang::En)).name;
    let party = format!("{here}（{}）", l.client_name);
    let start = crate::outbound::netid::Start {
        upstream: &u.id,
        state: &st,
        mode: &netid.mode,
        plaintext,
        party: &party,
        statutory: l.statutory,
    };
    see_other(&connector.authorize_url(&l.t, &start))
}

/// `GET /t/{tenant}/upstream/{id}/netid/callback`: back from the service.
pub async fn callback(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (params, started) =
        match returned::<Started>(&state, &slug, q.as_deref(), "state", started_key, &headers).await {
            Ok(r) => r,
            Err(page) => return page,
        };
    let lang = Lang::pick(None, &headers);
    if started.upstream != id {
        return error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    }
    let st = param(&params, "state").unwrap_or_default();
    let l = match load(&state, &slug, &started.interaction, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    let Some(u) = offered(&l, &id).filter(|u| u.settings.netid.is_some()) else {
        return error_page(l.lang, &OAuthError::invalid_request(l.lang.texts().up_unknown).with_status(404));
    };
    if let Some(error) = param(&params, "error") {
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return failed(&state, &l, &headers, u, format!("the service answered {error}"), &ip).await;
    }
    let Some(code) = param(&params, "code").filter(|c| !c.is_empty() && c.len() <= 256) else {
        return failed(&state, &l, &headers, u, "no code in the answer".into(), &ip).await;
    };
    let Some(connector) = state.netid() else {
        return failed(&state, &l, &headers, u, "no connector is configured".into(), &ip).await;
    };
    let now = state.env().now();
    let mut result = match connector.result(&state, &l.t, code).await {
        Ok(r) => r,
        Err(why) => return failed(&state, &l, &headers, u, why, &ip).await,
    };
    if let Err(why) = result.check(now) {
        return failed(&state, &l, &headers, u, why.into(), &ip).await;
    }
    // the code was issued to this sign-in (its state), with the check asked for, just now
    if !idp_core::crypto::ct_eq(result.bound_to.as_bytes(), sha256_hex(st.as_bytes()).as_bytes()) {
        return failed(&state, &l, &headers, u, "the code was issued to another sign-in".into(), &ip).await;
    }
    let strength = idp_core::netid::strength;
    if strength(&result.mode) < strength(&started.mode) {
        let why = format!("the check {} is weaker than the {} asked for", result.mode, started.mode);
        return failed(&state, &l, &headers, u, why, &ip).await;
    }
    if result.verified_at < started.at - 60 {
        return failed(&state, &l, &headers, u, "the check was made before this sign-in".into(), &ip).await;
    }
    if !started.plaintext {
        // minimal provision: what was not asked for is not kept
        result.identity = None;
    }
    let answer = Answer {
        subject: result.pseudonym.clone(),
        auth_time: Some(result.verified_at),
        acr: Some(result.mode.clone()),
        verified_claims: Some(result.verified_claims()),
        sid: None,
    };
    let demand = Freshness { at: started.at, max_age: started.max_age, fresh: started.fresh };
    if let Err(why) = demand.met_by(answer.auth_time, now).and_then(|_| acr_allowed(u, &answer)) {
        return failed(&state, &l, &headers, u, why, &ip).await;
    }
    crate::http::signin::upstream_link::arrived(&state, &l, &headers, u, &answer, &ip).await
}
