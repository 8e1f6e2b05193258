//! The SAML 2.0 front-end of the sign-in engine, per tenant under `/t/{tenant}/saml/`
//! (rules in `idp_core::saml`):
//!
//! - `/saml/metadata`: the provider's metadata (entity ID `{issuer}/saml`).
//! - `/saml/sso` (Web Browser SSO, Profiles §4.1): an `AuthnRequest` by HTTP-Redirect (GET; its
//!   query signature checked against the service provider's certificates) or HTTP-POST. It is
//!   checked before anything is shown: a registered issuer, a registered HTTP-POST consumer
//!   service, a fresh and never-seen request, the destination, the signature the registration
//!   demands. A request that fails these gets a page, never a redirect; one that passes becomes
//!   a `FrontRequest::Saml` and the engine runs the same sign-in as for OpenID Connect and CAS.
//! - `/saml/init?sp={entityID}` (IdP-initiated): the same sign-in without a request.
//! - [`finish`] POSTs the signed `Response` to the consumer service; [`refuse`] POSTs a signed
//!   status (`NoPassive`, `NoAuthnContext`, `RequestDenied`, ...).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::OAuthError;
use idp_core::authorize::AuthResponse;
use idp_core::model::{AuditEvent, Authorization, Client, ClientType, ResponseMode};
use idp_core::saml::read::{self, Received};
use idp_core::saml::{self, SamlLogin, status};
use idp_core::signin::{FrontRequest, SignedIn};

use crate::http::fronts::release;
pub(super) use crate::http::fronts::tenant;
use crate::http::pages::{Lang, error_page};
use crate::http::signin::engine;
use crate::http::{State, body_text, parse_params, require_form};
use crate::state::{AppState, TenantCtx};

mod slo;
pub use slo::{front_channel_logouts, get as slo_get, post as slo_post};

/// The provider's entity ID and SSO URL in a tenant.
pub fn entity_id(t: &TenantCtx) -> String {
    format!("{}/saml", t.endpoints.issuer)
}

fn sso_url(t: &TenantCtx) -> String {
    format!("{}/saml/sso", t.endpoints.issuer)
}

/// `GET /saml/metadata`.
pub async fn metadata(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let t = match tenant(&state, &slug, Lang::pick(None, &headers)).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let xml = saml::metadata::identity_provider(
        &entity_id(&t),
        &sso_url(&t),
        Some(&slo::slo_url(&t)),
        &t.keys.saml_certificates(),
    );
    let mut res = (StatusCode::OK, xml).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/samlmetadata+xml"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// The registered, enabled service provider with `entity_id`.
async fn service_provider(
    state: &AppState,
    t: &TenantCtx,
    entity_id: &str,
) -> Result<Option<Client>, OAuthError> {
    let clients = state.store().clients_of_type(&t.tenant.id, ClientType::Saml).await?;
    Ok(clients
        .into_iter()
        .find(|c| c.client_type == ClientType::Saml && !c.disabled && c.settings.saml.entity_id == entity_id))
}

/// A page for a request that cannot be answered to any consumer service (the reason is logged).
pub(super) fn bad_request(lang: Lang, why: &str) -> Response {
    tracing::info!(reason = why, "SAML request refused");
    error_page(lang, &OAuthError::invalid_request(lang.texts().saml_bad_request))
}

/// `GET /saml/sso` (HTTP-Redirect binding).
pub async fn sso_redirect(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    match read::from_redirect(q.as_deref().unwrap_or_default(), "SAMLRequest") {
        Ok(received) => sso(&state, &slug, &headers, received, lang).await,
        Err(e) => bad_request(lang, e.0),
    }
}

/// `POST /saml/sso` (HTTP-POST binding). The form arrives from the service provider's site, so
/// the browser sends no `SameSite=Lax` session cookie with it: the message goes on, unchanged
/// and as unsigned as it came, to `GET /saml/sso` in the Redirect binding's encoding, a
/// top-level navigation that carries the cookie (so a signed-in person is not asked again).
pub async fn sso_post(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match require_form(&headers).and_then(|_| body_text(&body)).and_then(parse_params) {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    let received = match read::from_post(&params, "SAMLRequest") {
        Ok(r) => r,
        Err(e) => return bad_request(lang, e.0),
    };
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let deflated = miniz_oxide::deflate::compress_to_vec(received.xml.as_bytes(), 6);
    let mut query = vec![("SAMLRequest".to_string(), STANDARD.encode(deflated))];
    if let Some(r) = received.relay_state {
        query.push(("RelayState".into(), r));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    crate::http::see_other(&format!("{}?{query}", sso_url(&t)))
}

async fn sso(
    state: &Arc<AppState>,
    slug: &str,
    headers: &HeaderMap,
    received: Received,
    lang: Lang,
) -> Response {
    let t = match tenant(state, slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let req = match read::authn_request(&received.xml) {
        Ok(r) => r,
        Err(e) => return bad_request(lang, e.0),
    };
    let client = match service_provider(state, &t, &req.issuer).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(lang, &OAuthError::invalid_request(lang.texts().saml_unknown_sp)),
        Err(e) => return error_page(lang, &e),
    };
    let sp = &client.settings.saml;
    // a signed message must name where it was sent (Bindings §3.4.5.2); any other, if it does,
    // must name this endpoint
    let signed = received.query_signature.is_some();
    if req.destination.as_deref().is_some_and(|d| d != sso_url(&t)) || (signed && req.destination.is_none()) {
        return bad_request(lang, "the request is for another destination, or names none");
    }
    match &received.query_signature {
        Some(sig) => {
            if let Err(e) = read::verify_query(sig, &sp.signing_ders()) {
                return bad_request(lang, e.0);
            }
        }
        // an enveloped signature (HTTP-POST) is not checked: a registration that demands signed
        // requests must use the Redirect binding
        None if sp.authn_requests_signed => {
            return bad_request(
                lang,
                "the service provider's requests must be signed (HTTP-Redirect binding)",
            );
        }
        None => {}
    }
    let now = state.env().now();
    if req.issue_instant < now - saml::REQUEST_MAX_AGE - saml::CLOCK_SKEW
        || req.issue_instant > now + saml::CLOCK_SKEW
    {
        return bad_request(lang, "the request is stale or from the future");
    }
    if req.protocol_binding.as_deref().is_some_and(|b| b != saml::BINDING_POST) {
        return bad_request(lang, "only the HTTP-POST binding answers here");
    }
    let Some(acs) = sp.acs_for(req.acs_url.as_deref(), req.acs_index) else {
        return bad_request(lang, "the assertion consumer service is not registered");
    };
    let acs = acs.location.clone();
    // each request is answered once
    let expires = now + saml::REQUEST_MAX_AGE + 2 * saml::CLOCK_SKEW;
    match state
        .store()
        .remember_assertion_jti(&t.tenant.id, &client.client_id, &format!("saml:{}", req.id), expires)
        .await
    {
        Ok(true) => {}
        Ok(false) => return bad_request(lang, "the request was seen before"),
        Err(e) => return error_page(lang, &e.into()),
    }
    let answer_error = |second: &'static str| {
        let login = login_for(
            &client,
            Some(req.id.clone()),
            acs.clone(),
            received.relay_state.clone(),
            String::new(),
        );
        failure(&t, &login, (status::RESPONDER, Some(second)), lang, now)
    };
    let format = match req.name_id_format.as_deref() {
        None | Some(saml::NAMEID_UNSPECIFIED) => sp.name_id_format.clone(),
        Some(f) if sp.name_id_formats.iter().any(|x| x == f) => f.to_string(),
        Some(_) => {
            let login = login_for(
                &client,
                Some(req.id.clone()),
                acs.clone(),
                received.relay_state.clone(),
                String::new(),
            );
            return failure(&t, &login, (status::REQUESTER, Some(status::INVALID_NAMEID_POLICY)), lang, now);
        }
    };
    let Ok(level) = saml::required_level(req.requested_context.as_ref()) else {
        return answer_error(status::NO_AUTHN_CONTEXT);
    };
    // a fresh sign-in is a page, which a passive request forbids
    if req.force_authn && req.is_passive {
        return answer_error(status::NO_PASSIVE);
    }
    let mut login = login_for(&client, Some(req.id.clone()), acs, received.relay_state.clone(), format);
    login.force = req.force_authn;
    login.passive = req.is_passive;
    login.level = level.map(String::from);
    login.classes = req.requested_context.map(|(_, c)| c).unwrap_or_default();
    start(state, &t, headers, login, lang).await
}

fn login_for(
    client: &Client,
    request_id: Option<String>,
    acs: String,
    relay_state: Option<String>,
    format: String,
) -> SamlLogin {
    SamlLogin {
        client_id: client.client_id.clone(),
        entity_id: client.settings.saml.entity_id.clone(),
        request_id,
        acs,
        relay_state,
        release: release(client),
        force: false,
        passive: false,
        name_id_format: format,
        level: None,
        classes: vec![],
        locale: None,
    }
}

async fn start(
    state: &Arc<AppState>,
    t: &Arc<TenantCtx>,
    headers: &HeaderMap,
    login: SamlLogin,
    lang: Lang,
) -> Response {
    let session = match crate::http::session::current(state, t, headers).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &e),
    };
    let front = FrontRequest::Saml(login);
    let ask = front.sign_in();
    engine::proceed(state, t, headers, &front, &ask, session.as_ref(), false, None, lang).await
}

/// `GET /saml/init?sp={entityID}&RelayState=...` (IdP-initiated SSO): a sign-in for the service
/// provider's default consumer service, unsolicited.
pub async fn init(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match parse_params(q.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let entity = crate::http::param(&params, "sp").unwrap_or_default();
    let client = match service_provider(&state, &t, entity).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(lang, &OAuthError::invalid_request(lang.texts().saml_unknown_sp)),
        Err(e) => return error_page(lang, &e),
    };
    // unsolicited responses only for service providers registered to take them
    if !client.settings.saml.idp_initiated {
        return bad_request(lang, "the service provider does not take IdP-initiated sign-ins");
    }
    let Some(acs) = client.settings.saml.acs_for(None, None) else {
        return bad_request(lang, "the service provider has no HTTP-POST consumer service");
    };
    let relay = crate::http::param(&params, "RelayState")
        .filter(|r| r.len() <= read::MAX_RELAY_STATE)
        .map(String::from);
    let login =
        login_for(&client, None, acs.location.clone(), relay, client.settings.saml.name_id_format.clone());
    start(&state, &t, &headers, login, lang).await
}

/// The service provider, if its registration still allows the consumer service.
async fn still_registered(state: &AppState, t: &TenantCtx, login: &SamlLogin) -> Option<Client> {
    let c = state.store().client(&t.tenant.id, &login.client_id).await.ok().flatten()?;
    let ok = !c.disabled
        && c.settings.saml.acs.iter().any(|e| e.location == login.acs && e.binding == saml::BINDING_POST);
    ok.then_some(c)
}

/// A fresh message ID (an NCName).
fn new_id(state: &AppState) -> String {
    format!("_{}", idp_core::cas::validate::random_part(state.env()))
}

/// POSTs `xml` to the consumer service with the relay state.
fn post(login: &SamlLogin, xml: &str) -> Response {
    let mut params = vec![("SAMLResponse".to_string(), STANDARD.encode(xml))];
    if let Some(r) = &login.relay_state {
        params.push(("RelayState".into(), r.clone()));
    }
    crate::http::oidc::authorize::respond(&AuthResponse {
        redirect_uri: login.acs.clone(),
        mode: ResponseMode::FormPost,
        params,
    })
}

/// A signed status-only `Response` to the consumer service.
fn failure(t: &TenantCtx, login: &SamlLogin, code: (&str, Option<&str>), lang: Lang, now: i64) -> Response {
    let Some(signer) = t.keys.saml_signer() else {
        return error_page(lang, &OAuthError::server_error("the tenant has no SAML signing key"));
    };
    let id = format!("_{}", idp_core::cas::validate::random_part(&idp_core::SystemEnv));
    match saml::response::failure(
        &entity_id(t),
        &login.acs,
        login.request_id.as_deref(),
        code,
        &id,
        now,
        signer,
    ) {
        Ok(xml) => post(login, &xml),
        Err(e) => error_page(lang, &OAuthError::server_error(e.to_string())),
    }
}

/// The answer to a finished sign-in: the signed assertion, POSTed to the consumer service.
pub async fn finish(
    state: &AppState,
    t: &TenantCtx,
    login: &SamlLogin,
    done: &SignedIn,
    lang: Lang,
) -> Result<Response, Response> {
    let Some(client) = still_registered(state, t, login).await else {
        return Err(error_page(lang, &OAuthError::invalid_request(lang.texts().saml_unknown_sp)));
    };
    let now = state.env().now();
    let authz = Authorization {
        tenant_id: t.tenant.id.clone(),
        client_id: client.client_id.clone(),
        account_id: Some(done.account_id.clone()),
        scope: done.release.clone(),
        sid: Some(done.sid.clone()),
        auth_time: Some(done.auth_time),
        acr: Some(done.acr.clone()),
        amr: done.amr.clone(),
        nonce: None,
        act_as: done.act_as.clone(),
        context: done.context.clone(),
        claims: None,
        resource: None,
        consented_at: Some(done.consented_at),
    };
    let released = match state.read_ctx(t).released(&authz).await {
        Ok(Some((_, claims))) => claims,
        Ok(None) => {
            return Err(error_page(
                lang,
                &OAuthError::new("access_denied", "The account cannot sign in now."),
            ));
        }
        Err(e) => return Err(error_page(lang, &e)),
    };
    let sector = client.settings.sector.clone().unwrap_or_else(|| format!("saml:{}", login.entity_id));
    let name_id = match login.name_id_format.as_str() {
        saml::NAMEID_TRANSIENT => new_id(state),
        saml::NAMEID_EMAIL => match (released.get("email"), released.get("email_verified")) {
            (Some(serde_json::Value::String(e)), Some(serde_json::Value::Bool(true))) => e.clone(),
            _ => {
                return Ok(failure(
                    t,
                    login,
                    (status::REQUESTER, Some(status::INVALID_NAMEID_POLICY)),
                    lang,
                    now,
                ));
            }
        },
        _ => idp_core::keys::subject(&t.keys, Some(&sector), &done.account_id),
    };
    let attributes = idp_core::cas::flatten(&released);
    // one SessionIndex per service provider and session for a stable NameID (its logout names
    // them all); at most MAX_ASSERTIONS recorded per service provider and session
    let issued_before = match state.store().saml_participations(&t.tenant.id, &done.sid).await {
        Ok(p) => p.into_iter().filter(|p| p.client_id == client.client_id).collect::<Vec<_>>(),
        Err(e) => return Err(error_page(lang, &e.into())),
    };
    let same =
        issued_before.iter().find(|p| p.name_id == name_id && p.name_id_format == login.name_id_format);
    let session_index = same.map(|p| p.session_index.clone()).unwrap_or_else(|| new_id(state));
    let record = same.is_none() && issued_before.len() < MAX_ASSERTIONS;
    let class = saml::class_for(&done.acr, &login.classes);
    let (response_id, assertion_id) = (new_id(state), new_id(state));
    let assertion = saml::response::Assertion {
        issuer: &entity_id(t),
        audience: &login.entity_id,
        acs: &login.acs,
        in_response_to: login.request_id.as_deref(),
        name_id_format: &login.name_id_format,
        name_id: &name_id,
        session_index: &session_index,
        auth_instant: done.auth_time,
        class_ref: &class,
        session_not_on_or_after: now + SP_SESSION,
        attributes: &attributes,
        now,
        ids: (&response_id, &assertion_id),
    };
    let Some(signer) = t.keys.saml_signer() else {
        return Err(error_page(lang, &OAuthError::server_error("the tenant has no SAML signing key")));
    };
    let sp = &client.settings.saml;
    let encrypt_for = if sp.encrypt_assertions { sp.encryption_der() } else { None };
    if sp.encrypt_assertions && encrypt_for.is_none() {
        return Err(error_page(
            lang,
            &OAuthError::server_error("the service provider has no encryption certificate"),
        ));
    }
    let xml = match saml::response::success(
        &assertion,
        signer,
        sp.sign_assertion,
        sp.sign_response,
        encrypt_for.as_deref(),
    ) {
        Ok(x) => x,
        Err(e) => return Err(error_page(lang, &OAuthError::server_error(e.to_string()))),
    };
    let mut events = vec![AuditEvent {
        tenant_id: Some(t.tenant.id.clone()),
        kind: "saml_assertion_issued".into(),
        account_id: Some(done.account_id.clone()),
        client_id: Some(client.client_id.clone()),
        ip: None,
        detail: serde_json::json!({"sp": login.entity_id, "acs": login.acs, "assertion": assertion_id, "session_index": session_index}),
        at: now,
    }];
    events.extend(idp_core::tokens_read::release_record(&released, &authz, "saml", now));
    // what single logout will name
    let issued = idp_core::model::SamlParticipation {
        sid: done.sid.clone(),
        client_id: client.client_id.clone(),
        session_index: session_index.clone(),
        tenant_id: t.tenant.id.clone(),
        account_id: done.account_id.clone(),
        name_id: name_id.clone(),
        name_id_format: login.name_id_format.clone(),
        created_at: now,
    };
    let participation = Some(&issued).filter(|_| record);
    if let Err(e) = state.store().record_saml_assertion(&events, participation).await {
        return Err(error_page(lang, &e.into()));
    }
    Ok(post(login, &xml))
}

/// The most assertions with different NameIDs recorded for one service provider and session.
const MAX_ASSERTIONS: usize = 20;

/// How long a service provider may keep its own session from an assertion.
const SP_SESSION: i64 = 8 * 3600;

/// The answer to a refused sign-in: a signed status to the consumer service, while it is still
/// registered (else a page).
pub async fn refuse(
    state: &AppState,
    t: &TenantCtx,
    login: &SamlLogin,
    e: &OAuthError,
    lang: Lang,
) -> Response {
    if still_registered(state, t, login).await.is_none() {
        return error_page(lang, e);
    }
    let second = match e.code {
        "login_required" | "consent_required" | "interaction_required" if login.passive => status::NO_PASSIVE,
        "unmet_authentication_requirements" => status::NO_AUTHN_CONTEXT,
        "access_denied" => status::REQUEST_DENIED,
        _ => status::AUTHN_FAILED,
    };
    failure(t, login, (status::RESPONDER, Some(second)), lang, state.env().now())
}
