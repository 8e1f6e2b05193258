//! What the upstreams reached through an app have in common — the national network identity
//! (`super::upstream_netid`) and the electronic business licence (`super::upstream_licence`):
//! both go through a connector (`crate::outbound`) to the service's app (its redirect, or a
//! page with a QR code to scan), and come back to `GET /t/{tenant}/upstream/{id}/{kind}/callback`
//! with a one-time code for the result, or `error`.
//!
//! - **Going out** ([`send`]): a fresh `state`, its record (the interaction, the upstream, when,
//!   the client's freshness demand, what was asked) sealed under the KEK and kept under the
//!   digest of the state for ten minutes.
//! - **Coming back** ([`came_back`]): the record taken once (a replayed return finds nothing),
//!   the upstream the one it was sent to and of the right kind, the interaction this browser's,
//!   an answered `error` turned into a failure; the code is then the caller's to redeem, and
//!   [`Back::issued_here`] checks that the result was issued to this very sign-in (bound to
//!   its state) and made after it began.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Ceremony, Upstream};
use serde::{Deserialize, Serialize};

use crate::http::pages::{Lang, error_page};
use crate::http::signin::interaction::{Loaded, load};
use crate::http::signin::upstream::{Freshness, failed, offered, returned, seal};
use crate::http::{param, see_other};
use crate::state::AppState;

const CEREMONY_TTL: i64 = 10 * 60;

/// What is kept between going out to the app and coming back.
#[derive(Serialize, Deserialize)]
pub(crate) struct Started {
    pub interaction: String,
    pub upstream: String,
    pub at: i64,
    pub max_age: Option<i64>,
    pub fresh: bool,
    /// Identity was asked for in plaintext (an answer that brings it unasked is stripped).
    #[serde(default)]
    pub plaintext: bool,
    /// The check asked for (an answer with a weaker one is refused), where the service has
    /// kinds of checks.
    #[serde(default)]
    pub mode: String,
}

impl Started {
    pub(crate) fn freshness(&self) -> Freshness {
        Freshness { at: self.at, max_age: self.max_age, fresh: self.fresh }
    }
}

fn started_key(state: &str) -> String {
    format!("upstream-app:{}", sha256_hex(state.as_bytes()))
}

/// Sends the person to the app for this interaction: `url` gives the connector's address for
/// the fresh state.
pub(crate) async fn send(
    state: &AppState,
    l: &Loaded,
    u: &Upstream,
    plaintext: bool,
    mode: &str,
    url: impl FnOnce(&str) -> String,
) -> Response {
    let env = state.env();
    let st = random_token(env, 32);
    let started = Started {
        interaction: l.interaction.id.clone(),
        upstream: u.id.clone(),
        at: env.now(),
        max_age: l.ask.max_age,
        fresh: l.ask.force,
        plaintext,
        mode: mode.to_string(),
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
    see_other(&url(&st))
}

/// A return from the app, opened.
pub(crate) struct Back {
    pub l: Loaded,
    pub upstream: Upstream,
    pub started: Started,
    /// The one-time code (1-256 characters).
    pub code: String,
    /// The state it came back with.
    pub state: String,
    pub ip: String,
}

impl Back {
    /// The sign-in did not complete (`super::upstream::failed`).
    pub(crate) async fn fail(&self, state: &AppState, headers: &HeaderMap, why: String) -> Response {
        failed(state, &self.l, headers, &self.upstream, why, &self.ip).await
    }

    /// The connector's result for this return (`None`: no connector is configured), once it
    /// is well formed (`check`, which also normalises it), issued to this sign-in and made
    /// after it began (`issued`: its `bound_to` and time); otherwise the failure's page.
    pub(crate) async fn redeemed<R>(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        result: Option<Result<R, String>>,
        check: fn(&mut R, i64) -> Result<(), &'static str>,
        issued: fn(&R) -> (&str, i64),
    ) -> Result<R, Response> {
        let mut r = match result {
            Some(Ok(r)) => r,
            Some(Err(why)) => return Err(self.fail(state, headers, why).await),
            None => return Err(self.fail(state, headers, "no connector is configured".into()).await),
        };
        if let Err(why) = check(&mut r, state.env().now()) {
            return Err(self.fail(state, headers, why.into()).await);
        }
        let (bound_to, made_at) = issued(&r);
        if let Err(why) = self.issued_here(bound_to, made_at) {
            return Err(self.fail(state, headers, why).await);
        }
        Ok(r)
    }

    /// Whether a result was issued to this sign-in: bound to the digest of its state, and
    /// made (by `made_at`) after it began.
    fn issued_here(&self, bound_to: &str, made_at: i64) -> Result<(), String> {
        let digest = sha256_hex(self.state.as_bytes());
        if !idp_core::crypto::ct_eq(bound_to.as_bytes(), digest.as_bytes()) {
            return Err("the code was issued to another sign-in".into());
        }
        if made_at < self.started.at - 60 {
            return Err("the check was made before this sign-in".into());
        }
        Ok(())
    }
}

/// Opens a return to upstream `id` of tenant `slug`, of the kind `of_kind` accepts.
pub(crate) async fn came_back(
    state: &AppState,
    (slug, id): (&str, &str),
    peer: SocketAddr,
    headers: &HeaderMap,
    query: Option<&str>,
    of_kind: fn(&Upstream) -> bool,
) -> Result<Back, Response> {
    let (params, started) = returned::<Started>(state, slug, query, "state", started_key, headers).await?;
    if started.upstream != id {
        let lang = Lang::pick(None, headers);
        return Err(error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction)));
    }
    // the interaction must be this browser's (`load` checks its cookie)
    let l = load(state, slug, &started.interaction, headers).await?;
    let ip = crate::http::client_ip(state, headers, peer);
    let Some(u) = offered(&l, id).filter(|u| of_kind(u)).cloned() else {
        return Err(error_page(
            l.lang,
            &OAuthError::invalid_request(l.lang.texts().up_unknown).with_status(404),
        ));
    };
    let st = param(&params, "state").unwrap_or_default().to_string();
    if let Some(error) = param(&params, "error") {
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Err(failed(state, &l, headers, &u, format!("the service answered {error}"), &ip).await);
    }
    let Some(code) = param(&params, "code").filter(|c| !c.is_empty() && c.len() <= 256).map(str::to_string)
    else {
        return Err(failed(state, &l, headers, &u, "no code in the answer".into(), &ip).await);
    };
    Ok(Back { l, upstream: u, started, code, state: st, ip })
}
