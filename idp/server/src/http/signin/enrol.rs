//! A sign-in that needs a second factor (`aal2`: the client's minimum, `acr_values`, an
//! administrator's or staff member's roles) from an account that has none: instead of
//! sending the client `unmet_authentication_requirements`, the person is offered to set up an
//! authenticator app there and then (where the tenant offers TOTP), is shown their recovery
//! codes once, and carries on with the same sign-in. Keycloak calls this a required action.
//!
//! Allowed only while the account has no second factor at all — no authenticator and no
//! passkey or security key, flagged or not, whether or not this node offers WebAuthn: the same
//! rule as the account pages (`account::may_change_factors`), so nothing here lets a password
//! alone add to or replace a factor someone already has. The first correct code proves the new authenticator, so the
//! session is raised to `aal2` with `otp` among its methods, as a step-up would (audited
//! `factor_added`, then `step_up`).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::{Account, Session};
use idp_core::{OAuthError, policy};
use serde_json::json;

use crate::http::account::{Activation, activate_pending_totp, enrol_page, recovery_codes_then};
use crate::http::pages::{EnrolNeededPage, error_page, render, with_form_action};
use crate::http::session::audit;
use crate::http::signin::engine::interaction_url;
use crate::http::signin::interaction::{Loaded, lang_switch, posted, session_of};
use crate::http::{State, param, see_other};
use crate::state::AppState;

/// Whether the sign-in of `l` may offer the set-up: the tenant offers authenticator apps.
pub(crate) fn offered(l: &Loaded) -> bool {
    l.t.tenant.settings.factors.totp
}

/// Whether the account has no second factor of any kind: no authenticator and no passkey or
/// security key, flagged or not, whether or not this node offers WebAuthn.
pub(crate) async fn no_factor_at_all(state: &AppState, account_id: &str) -> Result<bool, OAuthError> {
    let store = state.store();
    let totp = store.totp(account_id).await?.is_some_and(|c| c.confirmed);
    Ok(!totp && store.webauthn_credentials(account_id).await?.is_empty())
}

/// The offer, instead of refusing the client.
pub(crate) fn needed_page(l: &Loaded, headers: &HeaderMap) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let page = EnrolNeededPage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        action: format!("{}/enrol", interaction_url(&l.t, &l.interaction.id)),
        decline: format!("{}/enrol/decline", interaction_url(&l.t, &l.interaction.id)),
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), None)
}

/// The set-up's request: the sign-in, its form, its live session and the account, when that
/// account has no second factor yet; else the answer to send (back to the sign-in, which asks
/// for the factor it has).
async fn enrolling(
    state: &AppState,
    slug: &str,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Loaded, Vec<(String, String)>, Session, Account), Response> {
    let (l, params) = posted(state, slug, id, headers, body).await?;
    let back = || see_other(&interaction_url(&l.t, &l.interaction.id));
    if !offered(&l) || l.interaction.pending.is_some() {
        return Err(back());
    }
    let session = match session_of(state, &l, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return Err(back()),
        Err(e) => return Err(error_page(l.lang, &e)),
    };
    match no_factor_at_all(state, &session.account_id).await {
        Ok(true) => {}
        Ok(false) => return Err(back()),
        Err(e) => return Err(error_page(l.lang, &e)),
    }
    match state.store().account(&l.t.tenant.id, &session.account_id).await {
        Ok(Some(a)) if !a.disabled => Ok((l, params, session, a)),
        Ok(_) => Err(back()),
        Err(e) => Err(error_page(l.lang, &e.into())),
    }
}

/// `POST /t/{t}/interaction/{id}/enrol`: a new authenticator secret, pending until a code.
pub async fn begin(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, _, _, account) = match enrolling(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.begin_totp(&account, &l.t.keys.suite).await {
        Ok(Some(secret)) => {
            enrol_page(&l.t, l.lang, &headers, &secret, &account, None, Some(&l.interaction.id))
        }
        Ok(None) => see_other(&interaction_url(&l.t, &l.interaction.id)),
        Err(e) => error_page(l.lang, &OAuthError::server_error(e.to_string())),
    }
}

/// `POST /t/{t}/interaction/{id}/enrol/confirm`: the first code; the authenticator is on, the
/// session raised, the recovery codes shown once with the way on to the client.
pub async fn confirm(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params, session, account) = match enrolling(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    let code = param(&params, "code").unwrap_or_default();
    let plain = match activate_pending_totp(&state, &account, code, &session.sid, Some(&ip)).await {
        Ok(Activation::On(plain)) => plain,
        Ok(Activation::BadCode(secret)) => {
            let bad = Some(l.lang.texts().bad_code);
            return enrol_page(&l.t, l.lang, &headers, &secret, &account, bad, Some(&l.interaction.id));
        }
        Ok(Activation::NothingPending) => return see_other(&interaction_url(&l.t, &l.interaction.id)),
        Err(e) => return error_page(l.lang, &e),
    };
    let tenant_id = l.t.tenant.id.clone();
    let amr = policy::add_method(&session.amr, "otp");
    let acr = policy::acr_of(&amr);
    if let Err(e) = state.store().upgrade_session(&tenant_id, &session.sid, &amr, acr).await {
        return error_page(l.lang, &e.into());
    }
    audit(
        &state,
        &tenant_id,
        "step_up",
        Some(&account.id),
        Some(&l.ask.party),
        Some(&ip),
        json!({"amr": amr, "acr": acr, "sid": session.sid, "enrolled": "totp"}),
    )
    .await;
    let next = Some(interaction_url(&l.t, &l.interaction.id));
    recovery_codes_then(&l.t, l.lang, &plain, Some(l.lang.texts().totp_enabled), next)
}

/// `POST /t/{t}/interaction/{id}/enrol/decline`: not now; the client is told the requirement
/// is unmet (OpenID Connect Core §3.1.2.6: `unmet_authentication_requirements`).
pub async fn decline(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, _) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let e = OAuthError::new("unmet_authentication_requirements", l.lang.texts().unmet_acr);
    crate::http::signin::engine::refuse(&state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await
}
