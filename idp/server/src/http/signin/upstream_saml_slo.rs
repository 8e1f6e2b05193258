//! Single Logout with an upstream SAML identity provider (SAML Profiles §4.4, HTTP-Redirect),
//! at `GET /t/{tenant}/upstream/{id}/saml/slo`, both ways:
//!
//! - **From the identity provider**: its `LogoutRequest`, signed on the query with a
//!   certificate of its metadata (an unsigned one is refused: anyone could send it), from its
//!   entity, to this address, in time and not seen before, ends every session here that began
//!   through it for the named NameID (and `SessionIndex`, when it names one) — with this
//!   provider's own logout of the clients that took part
//!   (`crate::http::upstreams::end_sessions_from`) — and is answered by a signed
//!   `LogoutResponse` to its single logout service, with its `RelayState`.
//! - **Back from the identity provider**: its `LogoutResponse` to the `LogoutRequest` a logout
//!   here sent on (`crate::http::upstreams::onward`) leads on to what that logout kept under
//!   the `RelayState` (a client's checked post-logout URI, or the signed-out page). Its content
//!   decides nothing, so it is only read.

use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::Upstream;
use idp_core::saml::{CLOCK_SKEW, logout, read};
use serde_json::json;

use crate::http::pages::{Lang, error_page};
use crate::http::session::audit;
use crate::http::signin::upstream_saml::{entity_id, slo_url};
use crate::http::{State, see_other};
use crate::state::{AppState, TenantCtx};

/// `GET /t/{tenant}/upstream/{id}/saml/slo`.
pub async fn slo(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let not_found =
        || error_page(lang, &OAuthError::invalid_request(lang.texts().up_unknown).with_status(404));
    let Ok(Some(t)) = state.tenant(&slug).await else { return not_found() };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && !u.disabled && u.settings.saml.is_some()) else {
        return not_found();
    };
    let raw = q.unwrap_or_default();
    if let Ok(received) = read::from_redirect(&raw, "SAMLResponse") {
        let confirmed = match logout::incoming_response(&received.xml) {
            Ok((_, issuer, ok)) => issuer == u.issuer && ok,
            Err(_) => false,
        };
        tracing::info!(upstream = %id, confirmed, "an upstream's LogoutResponse");
        let next = crate::http::upstreams::taken_way_back(&state, &t, received.relay_state.as_deref()).await;
        let tx = lang.texts();
        // signed out here either way; where the person stays, they are told if the identity
        // provider did not confirm its own logout
        let text = if confirmed || next.is_some() { tx.signed_out_text } else { tx.up_logout_unconfirmed };
        return crate::http::signed_out::here(&state, &t, lang, &[], next.as_deref(), (tx.signed_out, text));
    }
    match logged_out(&state, &t, u, &raw).await {
        Ok(to) => to,
        Err(why) => {
            tracing::warn!(upstream = %id, reason = %why, "an upstream's LogoutRequest was refused");
            error_page(
                lang,
                &OAuthError::invalid_request("The logout request was not accepted.").with_status(400),
            )
        }
    }
}

/// The identity provider's `LogoutRequest` in `raw` (the query), checked and carried out.
async fn logged_out(state: &AppState, t: &TenantCtx, u: &Upstream, raw: &str) -> Result<Response, String> {
    let saml = u.settings.saml.as_ref().ok_or("not a SAML upstream")?;
    let received = read::from_redirect(raw, "SAMLRequest").map_err(|e| e.0.to_string())?;
    let signature = received.query_signature.as_ref().ok_or("the request is not signed")?;
    let certificates: Vec<Vec<u8>> =
        saml.signing_certificates.iter().filter_map(|c| idp_core::crypto::b64_std_decode(c)).collect();
    read::verify_query(signature, &certificates).map_err(|e| e.0.to_string())?;
    let r = logout::incoming(&received.xml).map_err(|e| e.0.to_string())?;
    let here = slo_url(&t.endpoints.issuer, &u.id);
    let now = state.env().now();
    if r.issuer != u.issuer {
        return Err("from another entity".into());
    }
    // Bindings §3.4.5.2: a signed message names its destination; the identity provider signs
    // requests for its other service providers too
    if r.destination.as_deref() != Some(here.as_str()) {
        return Err("for another destination".into());
    }
    if r.sp_name_qualifier.as_deref().is_some_and(|q| q != entity_id(&t.endpoints.issuer, &u.id))
        || r.name_qualifier.as_deref().is_some_and(|q| q != u.issuer)
    {
        return Err("a NameID qualified for another party".into());
    }
    if r.issue_instant > now + CLOCK_SKEW || r.issue_instant < now - 600 - CLOCK_SKEW {
        return Err("not issued just now".into());
    }
    if r.not_on_or_after.is_some_and(|t| t <= now - CLOCK_SKEW) {
        return Err("expired".into());
    }
    if r.name_id.len() > 255 || r.session_indexes.len() > 1 {
        return Err("too long a NameID, or more than one SessionIndex".into());
    }
    let seen_as = format!("saml-upstream-logout:{}", u.id);
    match state.store().remember_assertion_jti(&t.tenant.id, &seen_as, &r.id, now + 660 + CLOCK_SKEW).await {
        Ok(true) => {}
        Ok(false) => return Err("a replayed request".into()),
        Err(e) => return Err(format!("the request could not be recorded: {e}")),
    }
    let index = r.session_indexes.first().map(String::as_str);
    let ended =
        crate::http::upstreams::end_sessions_from(state, t, &u.id, Some(&r.name_id), index, None).await;
    let by = if index.is_some() { "session_index" } else { "name_id" };
    let detail = json!({"upstream": u.id, "sessions": ended, "by": by});
    audit(state, &t.tenant.id, "upstream_logout", None, None, None, detail).await;
    let Some(back) = saml.slo_url.as_deref() else {
        let tx = Lang::Zh.texts();
        return Ok(crate::http::signed_out::here(
            state,
            t,
            Lang::Zh,
            &[],
            None,
            (tx.signed_out, tx.signed_out_text),
        ));
    };
    let (key, _) = t.keys.saml_signer().ok_or("no SAML signing key")?;
    let entity = entity_id(&t.endpoints.issuer, &u.id);
    let response_id = format!("_{}", idp_core::crypto::random_token(state.env(), 24));
    let response = logout::response(&entity, back, &r.id, true, &response_id, now);
    let url = logout::redirect_url(back, "SAMLResponse", &response, received.relay_state.as_deref(), key)
        .map_err(|_| "the LogoutResponse could not be signed".to_string())?;
    Ok(see_other(&url))
}
