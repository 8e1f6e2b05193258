//! Signing in through an upstream OpenID provider (identity brokering), the protocol half:
//! the person picks "sign in with …" on the sign-in page (a link, not a form: the page's CSP
//! `form-action` admits only this provider and the client), goes to the upstream with a fresh
//! `state`, `nonce` and PKCE verifier, and comes back to
//! `/t/{tenant}/upstream/{id}/callback`. There the state is taken (once: a replayed callback
//! finds nothing), the interaction must be this browser's, RFC 9207's `iss` must be the
//! upstream's, and the code is exchanged and the ID token checked (`crate::outbound::upstream`).
//! What the answer leads to — which account, which level — is `super::upstream_link`.
//!
//! Every failure sends the person back to the sign-in page with a plain message (another way to
//! sign in stays open), is logged with its reason and audited as `upstream_failure`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::crypto::{b64, b64_decode, random_token, sha256_hex};
use idp_core::model::{Ceremony, Session, Upstream};
use idp_core::signin::SignInRequest;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::pages::{Lang, error_page};
use crate::http::session::audit;
use crate::http::signin::interaction::{Loaded, load, login_page};
use crate::http::{State, param, parse_params, see_other};
use crate::outbound::upstream::{self as rp, ClientAuth};
use crate::state::{AppState, TenantCtx};

/// How long a person may take at the upstream.
const CEREMONY_TTL: i64 = 10 * 60;

/// What is kept between the redirect to the upstream and its answer (by the digest of `state`).
#[derive(Serialize, Deserialize)]
struct Started {
    interaction: String,
    upstream: String,
    nonce: String,
    verifier: String,
    /// When the person was sent (a fresh sign-in must have happened after it).
    at: i64,
    /// The client's `max_age`, passed on and checked against the upstream's `auth_time`.
    max_age: Option<i64>,
    /// The client asked for a fresh sign-in (`prompt=login`).
    fresh: bool,
}

fn ceremony_key(state: &str) -> String {
    format!("upstream:{}", sha256_hex(state.as_bytes()))
}

/// Seals a ceremony's record under the KEK (it may carry a nonce, a PKCE verifier or an
/// identity); `context` binds it to its key.
pub(crate) fn seal(state: &AppState, t: &crate::state::TenantCtx, plain: &[u8], context: &str) -> String {
    b64(&state.ops.kek.seal_with(state.env(), t.keys.suite.seal_alg(), plain, context))
}

pub(crate) fn open(state: &AppState, sealed: &str, context: &str) -> Option<Vec<u8>> {
    state.ops.kek.open(&b64_decode(sealed)?, context).ok()
}

/// Takes (once) the sealed record of tenant `t` under `key`.
pub(crate) async fn take_sealed<T: serde::de::DeserializeOwned>(
    state: &AppState,
    t: &TenantCtx,
    key: &str,
) -> Option<T> {
    match state.store().take_ceremony(key, state.env().now()).await {
        Ok(Some(c)) if c.tenant_id == t.tenant.id => {
            open(state, &c.state, key).and_then(|plain| serde_json::from_slice(&plain).ok())
        }
        _ => None,
    }
}

/// The way back from an upstream, as every kind opens it: the query's parameters, the tenant
/// and the sealed record kept under `key(value of name)` (`state`, or the SAML hand-over's
/// `k`), taken — never only read: a return replayed (or raced) finds nothing. Otherwise the
/// page for an expired sign-in (or the error).
pub(crate) async fn returned<T: serde::de::DeserializeOwned>(
    state: &AppState,
    slug: &str,
    query: Option<&str>,
    name: &str,
    key: fn(&str) -> String,
    headers: &HeaderMap,
) -> Result<(Vec<(String, String)>, T), Response> {
    let lang = Lang::pick(None, headers);
    let expired = || error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    let params = parse_params(query.unwrap_or_default()).map_err(|e| error_page(lang, &e))?;
    let value = param(&params, name).filter(|s| !s.is_empty() && s.len() <= 256).ok_or_else(expired)?;
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(expired()),
        Err(e) => return Err(error_page(lang, &e)),
    };
    let record = take_sealed(state, &t, &key(value)).await.ok_or_else(expired)?;
    Ok((params, record))
}

/// The callback registered at the upstream (`Ops::upstream_info` shows the same).
pub(crate) fn redirect_uri(state: &AppState, slug: &str, upstream: &str) -> String {
    format!("{}/upstream/{upstream}/callback", state.config().issuer(slug))
}

/// The upstream `id` if this interaction may use it: enabled, and (when hidden) asked for by
/// the client's hint.
pub(crate) fn offered<'a>(l: &'a Loaded, id: &str) -> Option<&'a Upstream> {
    let hinted = l.ask.upstream_hint.as_deref() == Some(id) || l.required_upstream.as_deref() == Some(id);
    l.t.upstreams.iter().find(|u| u.id == id && !u.disabled && (!u.settings.hidden || hinted))
}

/// Whether `session` began through the upstream `id` (`None`: any way will do).
pub(crate) async fn came_through(state: &AppState, session: &Session, id: Option<&str>) -> bool {
    let Some(id) = id else { return true };
    matches!(state.store().upstream_session(&session.sid).await, Ok(Some(r)) if r.upstream_id == id)
}

/// Whether the party of `ask` takes sign-ins only through an upstream that `session` did not
/// begin through: `Some(true)` when that upstream is offered, `Some(false)` when it is not
/// (disabled or removed: no other way will do). One read of the client, for tenants with
/// upstreams.
pub(crate) async fn short_of(
    state: &AppState,
    t: &TenantCtx,
    ask: &SignInRequest,
    session: &Session,
) -> Option<bool> {
    if t.upstreams.is_empty() {
        return None;
    }
    let Ok(Some(client)) = state.store().client(&t.tenant.id, &ask.party).await else { return None };
    let required = client.settings.upstream.as_deref()?;
    if came_through(state, session, Some(required)).await {
        return None;
    }
    Some(t.upstreams.iter().any(|u| u.id == required && !u.disabled))
}

/// The buttons of the sign-in page: `(href, words)` of each upstream shown.
pub(crate) fn buttons(l: &Loaded) -> Vec<(String, String)> {
    let t = l.lang.texts();
    l.t.upstreams
        .iter()
        .filter(|u| !u.disabled && !u.settings.hidden)
        .map(|u| {
            let name = crate::http::upstreams::name_of(&l.t, t, &u.id);
            let href = format!("/t/{}/interaction/{}/via/{}", l.t.tenant.slug, l.interaction.id, u.id);
            (href, format!("{}{name}{}", t.up_with_before, t.up_with_after))
        })
        .collect()
}

/// `GET /t/{tenant}/interaction/{id}/via/{upstream}`: off to the upstream.
pub async fn start(
    state: State,
    Path((slug, id, upstream)): Path<(String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let l = match load(&state, &slug, &id, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    // each start costs requests to the upstream and a record here: counted as sign-in attempts
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let key = format!("{}:{ip}", l.t.tenant.id);
    if let Err(wait) = state.limits.signin_ip.check_shared(state.store(), now, &key).await {
        let texts = l.lang.texts();
        let page = login_page(&l, &headers, Some(texts.too_many.into()), "", StatusCode::TOO_MANY_REQUESTS);
        return crate::http::limited(page, wait);
    }
    begin(&state, &l, &headers, &upstream).await
}

/// Sends the person to the upstream `id` for this interaction.
pub(crate) async fn begin(state: &AppState, l: &Loaded, headers: &HeaderMap, id: &str) -> Response {
    let texts = l.lang.texts();
    let Some(u) = offered(l, id) else {
        return error_page(l.lang, &OAuthError::invalid_request(texts.up_unknown).with_status(404));
    };
    if u.settings.saml.is_some() {
        return crate::http::signin::upstream_saml::begin(state, l, headers, u).await;
    }
    if u.settings.netid.is_some() {
        return crate::http::signin::upstream_netid::begin(state, l, headers, u).await;
    }
    if u.settings.licence.is_some() {
        return crate::http::signin::upstream_licence::begin(state, l, headers, u).await;
    }
    let Some((policy, http)) = state.upstream_http() else {
        return login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY);
    };
    let provider = match state.upstream_provider(http, policy, &u.issuer).await {
        Ok(p) => p,
        Err(why) => {
            tracing::warn!(upstream = %u.id, reason = %clean(&why), "an upstream could not be reached");
            return login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY);
        }
    };
    let env = state.env();
    let (st, nonce, verifier) = (random_token(env, 32), random_token(env, 32), random_token(env, 32));
    let started = Started {
        interaction: l.interaction.id.clone(),
        upstream: u.id.clone(),
        nonce: nonce.clone(),
        verifier: verifier.clone(),
        at: env.now(),
        max_age: l.ask.max_age,
        fresh: l.ask.force,
    };
    let key = ceremony_key(&st);
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
    let redirect = redirect_uri(state, &l.t.tenant.slug, &u.id);
    let s = &u.settings;
    let request = rp::AuthRequest {
        client_id: &u.client_id,
        redirect_uri: &redirect,
        state: &st,
        nonce: &nonce,
        verifier: &verifier,
        scopes: &s.scopes,
        acr_values: &s.acr_values,
        verified_claims: s.request_verified_claims,
        fresh: l.ask.force,
        max_age: l.ask.max_age,
    };
    match rp::authorize_url(&provider, &request) {
        Ok(url) => see_other(&url),
        Err(why) => {
            tracing::warn!(upstream = %u.id, reason = %clean(&why), "an upstream's authorization endpoint is unusable");
            login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY)
        }
    }
}

/// `GET /t/{tenant}/upstream/{id}/callback`: the upstream's answer.
pub async fn callback(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (params, started) =
        match returned::<Started>(&state, &slug, q.as_deref(), "state", ceremony_key, &headers).await {
            Ok(r) => r,
            Err(page) => return page,
        };
    if started.upstream != id {
        let lang = Lang::pick(None, &headers);
        return error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    }
    // the interaction must be this browser's (`load` checks its cookie): a callback carried
    // to another browser signs nobody in there
    let l = match load(&state, &slug, &started.interaction, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    // an OpenID provider's callback only (the others answer at their own addresses)
    let Some(u) = offered(&l, &id).filter(|u| u.settings.protocol() == "oidc") else {
        return error_page(l.lang, &OAuthError::invalid_request(l.lang.texts().up_unknown).with_status(404));
    };
    let fail = |why: String| failed(&state, &l, &headers, u, why, &ip);
    if let Some(error) = param(&params, "error") {
        // the person cancelled, or the upstream refused: back to the choice of ways
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return fail(format!("the upstream answered {error}")).await;
    }
    let Some(code) = param(&params, "code").filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return fail("no code in the answer".into()).await;
    };
    let Some((policy, http)) = state.upstream_http() else {
        return fail("no outbound client".into()).await;
    };
    let provider = match rp::discover(http, policy, &u.issuer).await {
        Ok(p) => p,
        Err(why) => return fail(why).await,
    };
    // RFC 9207: an answer that names another issuer came from another provider (mix-up)
    match param(&params, "iss") {
        Some(iss) if iss != provider.issuer => return fail(format!("the answer's iss is {iss:?}")).await,
        None if provider.iss_parameter => return fail("the answer has no iss".into()).await,
        _ => {}
    }
    let auth = match client_auth(&state, &l, u, &provider) {
        Ok(a) => a,
        Err(why) => return fail(why).await,
    };
    let redirect = redirect_uri(&state, &slug, &u.id);
    let token =
        match rp::exchange(http, &provider, &u.client_id, &auth, code, &redirect, &started.verifier).await {
            Ok(t) => t,
            Err(why) => return fail(why).await,
        };
    let now = state.env().now();
    let answer = match rp::verify_id_token(
        &provider,
        &u.client_id,
        &token,
        &started.nonce,
        &u.settings.id_token_algs,
        now,
    ) {
        Ok(a) => a,
        Err(why) => return fail(format!("ID token: {why}")).await,
    };
    let demand = Freshness { at: started.at, max_age: started.max_age, fresh: started.fresh };
    settle(&state, &l, &headers, u, &answer, demand, &ip).await
}

/// The end of every way back: the client's demand of a fresh or recent sign-in and the
/// operator's required `acr` met, the answer goes on to the account half
/// (`super::upstream_link::arrived`).
pub(crate) async fn settle(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
    answer: &rp::Answer,
    demand: Freshness,
    ip: &str,
) -> Response {
    let now = state.env().now();
    if let Err(why) = demand.met_by(answer.auth_time, now).and_then(|_| acr_allowed(u, answer)) {
        return failed(state, l, headers, u, why, ip).await;
    }
    crate::http::signin::upstream_link::arrived(state, l, headers, u, answer, ip).await
}

/// The client's demand of a fresh or recent sign-in, which holds at the upstream too (its
/// `auth_time` or `AuthnInstant`, OpenID Connect Core §3.1.2.1).
pub(crate) struct Freshness {
    /// When the person was sent to the upstream.
    pub at: i64,
    pub max_age: Option<i64>,
    pub fresh: bool,
}

impl Freshness {
    pub(crate) fn met_by(&self, auth_time: Option<i64>, now: i64) -> Result<(), String> {
        if !self.fresh && self.max_age.is_none() {
            return Ok(());
        }
        let Some(auth_time) = auth_time else {
            return Err("no auth_time for a fresh or recent sign-in".into());
        };
        let stale = self.max_age.is_some_and(|m| now - auth_time > m + 60);
        if stale || (self.fresh && auth_time < self.at - 60) {
            return Err(format!("auth_time {auth_time} is older than asked"));
        }
        Ok(())
    }
}

/// The upstream's `acr` is one the operator requires of it (when the operator named any).
fn acr_allowed(u: &Upstream, answer: &rp::Answer) -> Result<(), String> {
    let required = &u.settings.acr_required;
    if !required.is_empty() && !answer.acr.as_ref().is_some_and(|a| required.contains(a)) {
        return Err(format!("acr {:?} is not one the upstream must assert", answer.acr));
    }
    Ok(())
}

/// How this provider authenticates at the upstream's token endpoint.
fn client_auth(state: &AppState, l: &Loaded, u: &Upstream, p: &rp::Provider) -> Result<ClientAuth, String> {
    match u.auth {
        idp_core::model::UpstreamAuth::ClientSecretBasic => state
            .ops
            .upstream_secret(u)
            .map(ClientAuth::Secret)
            .ok_or_else(|| "the secret cannot be opened".into()),
        idp_core::model::UpstreamAuth::PrivateKeyJwt => {
            let claims = rp::assertion_claims(state.env(), &u.client_id, &p.issuer);
            l.t.keys
                .sign(idp_core::model::SigningAlg::RS256, "JWT", &claims)
                .map(ClientAuth::Assertion)
                .map_err(|e| format!("client assertion: {e}"))
        }
    }
}

/// The sign-in through `u` did not complete: logged and audited with its reason, and the
/// person is back at the sign-in page with a plain message.
pub(crate) async fn failed(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
    why: String,
    ip: &str,
) -> Response {
    failed_with(state, l, headers, u, why, ip, l.lang.texts().up_failed).await
}

/// [`failed`], with `message` for the person.
pub(crate) async fn failed_with(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
    why: String,
    ip: &str,
    message: &str,
) -> Response {
    let why = clean(&why);
    tracing::warn!(upstream = %u.id, reason = %why, "a sign-in through an upstream failed");
    let detail = json!({"upstream": u.id, "reason": why});
    audit(state, &l.t.tenant.id, "upstream_failure", None, Some(&l.ask.party), Some(ip), detail).await;
    login_page(l, headers, Some(message.into()), "", StatusCode::OK)
}

/// Text from an upstream as logs and the audit trail keep it: no control characters (no
/// forged log lines), at most 300 characters.
fn clean(why: &str) -> String {
    why.chars().filter(|c| !c.is_control()).take(300).collect()
}
