//! Signing in through an upstream SAML 2.0 identity provider (this provider its service
//! provider; SAML Profiles §4.1), the protocol half. What the answer leads to (which account,
//! which level) is `super::upstream_link`, exactly as for an OpenID provider: the checked
//! assertion becomes the same `Answer` (NameID as the subject, `AuthnContextClassRef` as the
//! `acr`, `AuthnInstant` as `auth_time`, `SessionIndex` as the upstream's session, the mapped
//! attributes as one `verified_claims` element: `idp_core::upstream::saml_verified_claims`).
//!
//! - `GET /t/{t}/upstream/{id}/saml/metadata`: this provider's metadata for the upstream, its
//!   entity ID being that URL (the tenant's signing certificates, the upstream's own encryption
//!   certificate, the consumer and logout services).
//! - The sign-in page's choice sends an `AuthnRequest` by HTTP-Redirect, signed on the query
//!   with the tenant's SAML key (unless the operator turned `sign_requests` off), with a fresh
//!   `RelayState` under which the request's ID and the interaction are kept sealed, taken once.
//! - `POST /t/{t}/upstream/{id}/saml/acs` (HTTP-POST binding): the form comes from the
//!   identity provider's site, so the browser sends no `SameSite=Lax` cookie with it. The
//!   response is checked there and then (`idp_core::saml::sp::response`; its assertion's ID
//!   remembered until it could no longer be accepted, so a replay is refused), and the outcome
//!   is handed, sealed, to `GET …/saml/arrived` under a fresh single-use key: a top-level
//!   navigation that carries the interaction's cookie, where the interaction must be this
//!   browser's (a response carried to another browser signs nobody in there).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Ceremony, Upstream};
use idp_core::saml::{read, sp};
use serde::{Deserialize, Serialize};

use crate::http::pages::{Lang, error_page};
use crate::http::signin::interaction::{Loaded, load, login_page};
use crate::http::signin::upstream::{failed, offered, returned, seal, take_sealed};
use crate::http::{State, param, require_form, see_other};
use crate::outbound::upstream::Answer;
use crate::state::{AppState, TenantCtx};

/// How long a person may take at the identity provider.
const CEREMONY_TTL: i64 = 10 * 60;
/// How long the checked outcome waits for the browser's next request.
const HANDOVER_TTL: i64 = 120;

/// This provider's entity ID for the upstream `id` (its metadata's URL).
pub(crate) fn entity_id(issuer: &str, id: &str) -> String {
    format!("{issuer}/upstream/{id}/saml/metadata")
}

pub(crate) fn acs_url(issuer: &str, id: &str) -> String {
    format!("{issuer}/upstream/{id}/saml/acs")
}

pub(crate) fn slo_url(issuer: &str, id: &str) -> String {
    format!("{issuer}/upstream/{id}/saml/slo")
}

/// What is kept between the `AuthnRequest` and the response (by the digest of `RelayState`).
#[derive(Serialize, Deserialize)]
struct Started {
    interaction: String,
    upstream: String,
    request_id: String,
    at: i64,
    max_age: Option<i64>,
    fresh: bool,
}

/// The checked outcome, handed from the consumer service to the browser's next request.
#[derive(Serialize, Deserialize)]
struct Handover {
    interaction: String,
    upstream: String,
    at: i64,
    max_age: Option<i64>,
    fresh: bool,
    outcome: Result<Outcome, String>,
}

#[derive(Serialize, Deserialize)]
struct Outcome {
    subject: String,
    auth_time: i64,
    acr: Option<String>,
    verified_claims: Option<serde_json::Value>,
    session_index: Option<String>,
}

fn started_key(relay: &str) -> String {
    format!("upstream-saml:{}", sha256_hex(relay.as_bytes()))
}

fn handover_key(k: &str) -> String {
    format!("upstream-saml-arrived:{}", sha256_hex(k.as_bytes()))
}

async fn keep(
    state: &AppState,
    t: &TenantCtx,
    key: String,
    plain: &[u8],
    ttl: i64,
) -> Result<(), OAuthError> {
    let record = Ceremony {
        state: seal(state, t, plain, &key),
        key,
        tenant_id: t.tenant.id.clone(),
        account_id: None,
        expires_at: state.env().now() + ttl,
    };
    state.store().put_ceremony(&record).await.map_err(Into::into)
}

/// Sends the person to the SAML upstream `u` for this interaction.
pub(crate) async fn begin(state: &AppState, l: &Loaded, headers: &HeaderMap, u: &Upstream) -> Response {
    let texts = l.lang.texts();
    let Some(saml) = &u.settings.saml else {
        return error_page(l.lang, &OAuthError::invalid_request(texts.up_unknown).with_status(404));
    };
    let env = state.env();
    let relay = random_token(env, 32);
    let request_id = format!("_{}", random_token(env, 24));
    let started = Started {
        interaction: l.interaction.id.clone(),
        upstream: u.id.clone(),
        request_id: request_id.clone(),
        at: env.now(),
        max_age: l.ask.max_age,
        fresh: l.ask.force,
    };
    let plain = serde_json::to_vec(&started).unwrap_or_default();
    if let Err(e) = keep(state, &l.t, started_key(&relay), &plain, CEREMONY_TTL).await {
        return error_page(l.lang, &e);
    }
    let issuer = &l.t.endpoints.issuer;
    let (entity, acs) = (entity_id(issuer, &u.id), acs_url(issuer, &u.id));
    let request = sp::authn_request(&sp::Request {
        id: &request_id,
        issuer: &entity,
        destination: &saml.sso_url,
        acs: &acs,
        name_id_format: &saml.name_id_format,
        // a client's max_age is met by a fresh sign-in there (a SAML request cannot say how
        // recent), its AuthnInstant checked on the way back
        force: l.ask.force || l.ask.max_age.is_some(),
        classes: &u.settings.acr_values,
        now: env.now(),
    });
    let key = if saml.sign_requests { l.t.keys.saml_signer().map(|(k, _)| k) } else { None };
    if saml.sign_requests && key.is_none() {
        tracing::warn!(upstream = %u.id, "no SAML signing key to sign the AuthnRequest with");
        return login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY);
    }
    match idp_core::saml::logout::redirect_url_signed_by(
        &saml.sso_url,
        "SAMLRequest",
        &request,
        Some(&relay),
        key,
    ) {
        Ok(url) => see_other(&url),
        Err(_) => login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY),
    }
}

/// The form of the POST binding: at most 256 KiB, no parameter twice.
fn form(headers: &HeaderMap, body: &Bytes) -> Option<Vec<(String, String)>> {
    require_form(headers).ok()?;
    if body.len() > 256 * 1024 {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    (names.len() == before && before <= 8).then_some(pairs)
}

/// `POST /t/{tenant}/upstream/{id}/saml/acs`: the identity provider's response.
pub async fn acs(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let expired = || error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    let Some(params) = form(&headers, &body) else {
        return error_page(lang, &OAuthError::invalid_request("The SAML response could not be read."));
    };
    let Some(relay) = param(&params, "RelayState").filter(|r| !r.is_empty() && r.len() <= 256) else {
        return expired();
    };
    let t = match state.tenant(&slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return expired(),
        Err(e) => return error_page(lang, &e),
    };
    // taken, never only read: a response replayed (or raced) finds nothing
    let Some(started) =
        take_sealed::<Started>(&state, &t, &started_key(relay)).await.filter(|s| s.upstream == id)
    else {
        return expired();
    };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && !u.disabled && u.settings.saml.is_some()) else {
        return expired();
    };
    let outcome = check(&state, &t, u, &params, &started.request_id).await;
    let handover = Handover {
        interaction: started.interaction,
        upstream: id.clone(),
        at: started.at,
        max_age: started.max_age,
        fresh: started.fresh,
        outcome,
    };
    let k = random_token(state.env(), 32);
    let plain = serde_json::to_vec(&handover).unwrap_or_default();
    if let Err(e) = keep(&state, &t, handover_key(&k), &plain, HANDOVER_TTL).await {
        return error_page(lang, &e);
    }
    see_other(&format!("/t/{slug}/upstream/{id}/saml/arrived?k={k}"))
}

/// The response checked against the request `request_id`, and its assertion not seen before.
async fn check(
    state: &AppState,
    t: &TenantCtx,
    u: &Upstream,
    params: &[(String, String)],
    request_id: &str,
) -> Result<Outcome, String> {
    let saml = u.settings.saml.as_ref().ok_or("not a SAML upstream")?;
    let received = read::from_post(params, "SAMLResponse").map_err(|e| e.0.to_string())?;
    let certificates: Vec<Vec<u8>> =
        saml.signing_certificates.iter().filter_map(|c| idp_core::crypto::b64_std_decode(c)).collect();
    let key = state.ops.upstream_saml_key(u);
    let issuer = &t.endpoints.issuer;
    let (entity, acs) = (entity_id(issuer, &u.id), acs_url(issuer, &u.id));
    let now = state.env().now();
    let (idp, request_id, format) = (u.issuer.clone(), request_id.to_string(), saml.name_id_format.clone());
    let (require_encryption, allow_cbc) = (saml.require_encryption, saml.allow_cbc);
    // signatures, decryption and canonicalization are CPU work: off the async workers
    let checked = tokio::task::spawn_blocking(move || {
        let expect = sp::Expect {
            idp: &idp,
            sp: &entity,
            acs: &acs,
            request_id: &request_id,
            name_id_format: &format,
            certificates: &certificates,
            decrypt_key: key.as_deref(),
            require_encryption,
            allow_cbc,
            now,
        };
        sp::response(&received.xml, &expect).map_err(|e| e.0.to_string())
    })
    .await;
    let a = checked.map_err(|_| "the response could not be checked".to_string())??;
    let seen_as = format!("saml-upstream:{}", u.id);
    match state.store().remember_assertion_jti(&t.tenant.id, &seen_as, &a.assertion_id, a.use_by).await {
        Ok(true) => {}
        Ok(false) => return Err("the assertion was used before (replay)".into()),
        Err(e) => return Err(format!("the assertion could not be recorded: {e}")),
    }
    Ok(Outcome {
        verified_claims: idp_core::upstream::saml_verified_claims(
            &saml.attributes,
            &a.attributes,
            &a.assertion_id,
            a.issued_at,
        ),
        subject: a.name_id,
        auth_time: a.authn_instant,
        acr: a.class,
        session_index: a.session_index,
    })
}

/// `GET /t/{tenant}/upstream/{id}/saml/arrived?k=…`: the checked outcome, in the browser of
/// the interaction.
pub async fn arrived(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let (_, h) = match returned::<Handover>(&state, &slug, q.as_deref(), "k", handover_key, &headers).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if h.upstream != id {
        let lang = Lang::pick(None, &headers);
        return error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    }
    let l = match load(&state, &slug, &h.interaction, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    let Some(u) = offered(&l, &id) else {
        return error_page(l.lang, &OAuthError::invalid_request(l.lang.texts().up_unknown).with_status(404));
    };
    let o = match h.outcome {
        Ok(o) => o,
        Err(why) => return failed(&state, &l, &headers, u, why, &ip).await,
    };
    let demand = crate::http::signin::upstream::Freshness { at: h.at, max_age: h.max_age, fresh: h.fresh };
    let answer = Answer {
        subject: o.subject,
        auth_time: Some(o.auth_time),
        acr: o.acr,
        verified_claims: o.verified_claims,
        sid: o.session_index,
        licence: None,
    };
    crate::http::signin::upstream::settle(&state, &l, &headers, u, &answer, demand, &ip).await
}

/// `GET /t/{tenant}/upstream/{id}/saml/metadata`: this provider's metadata as the upstream's
/// service provider.
pub async fn metadata(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let not_found =
        || error_page(lang, &OAuthError::invalid_request(lang.texts().up_unknown).with_status(404));
    let Ok(Some(t)) = state.tenant(&slug).await else { return not_found() };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && !u.disabled) else { return not_found() };
    let Some(saml) = &u.settings.saml else { return not_found() };
    let Some(encryption) = state.ops.upstream_saml_certificate(u) else {
        return error_page(lang, &OAuthError::server_error("the upstream's encryption key cannot be opened"));
    };
    let issuer = &t.endpoints.issuer;
    let (entity, acs, slo) = (entity_id(issuer, &u.id), acs_url(issuer, &u.id), slo_url(issuer, &u.id));
    let xml = idp_core::saml::metadata::service_provider_of_upstream(&idp_core::saml::metadata::SpMetadata {
        entity_id: &entity,
        acs: &acs,
        slo: &slo,
        signing: &t.keys.saml_certificates(),
        encryption: &encryption,
        name_id_format: &saml.name_id_format,
        sign_requests: saml.sign_requests,
    });
    let mut res = xml.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/samlmetadata+xml"));
    res
}
