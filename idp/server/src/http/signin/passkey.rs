//! Passkeys and security keys in an interaction: passwordless sign-in with a discoverable
//! passkey (button or autofill), and a passkey or security key as the second factor or for a
//! step-up. The ceremony itself is `idp_core::passkey`; this module keeps its state between the
//! two requests (one live ceremony per interaction and purpose, used once), looks the credential
//! up, and hands a verified one to the usual sign-in or second-factor ending.
//!
//! `begin` answers JSON (the options for `navigator.credentials.get`); `finish` is an ordinary
//! form post that answers with a page or a redirect, like every other step of the sign-in.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::model::{Ceremony, WebauthnCredential};
use idp_core::passkey::{self, Kind, Outcome, State as Ceremonial};
use serde_json::json;

use crate::http::session::audit;
use crate::http::signin::factor::{factor_page_for, second_factor_done, whose};
use crate::http::signin::interaction::{Loaded, login_page, posted, signed_in};
use crate::http::{State, json_error, param};
use crate::state::AppState;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Passwordless sign-in with a discoverable passkey.
    SignIn,
    /// Second factor or step-up with one of the account's keys.
    Second,
}

fn purpose(params: &[(String, String)]) -> Option<Purpose> {
    match param(params, "purpose") {
        Some("signin") => Some(Purpose::SignIn),
        Some("second") => Some(Purpose::Second),
        _ => None,
    }
}

fn ceremony_key(l: &Loaded, p: Purpose) -> String {
    let what = if p == Purpose::SignIn { "signin" } else { "second" };
    format!("{}:{what}", l.interaction.id)
}

fn problem(status: StatusCode, code: &'static str, text: &'static str) -> Response {
    json_error(&OAuthError::new(code, text).with_status(status.as_u16()))
}

/// Starts a ceremony: the options JSON for the browser.
pub async fn begin(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(rp) = state.passkeys.as_ref() else {
        return problem(StatusCode::NOT_FOUND, "invalid_request", "passkeys are not offered here");
    };
    let now = state.env().now();
    let ip = crate::http::client_ip(&state, &headers, peer);
    // Each begin is a write: limited per IP like sign-in attempts.
    if let Err(wait) =
        state.limits.signin_ip.check_shared(state.store(), now, &format!("{}:{ip}", l.t.tenant.id)).await
    {
        return crate::http::too_many(wait);
    }
    let (account_id, started) = match purpose(&params) {
        Some(Purpose::SignIn) if !l.passkeys => {
            return problem(StatusCode::NOT_FOUND, "invalid_request", "passkeys are not offered here");
        }
        Some(Purpose::SignIn) => (None, rp.begin_discover()),
        Some(Purpose::Second) => {
            let account_id = match whose(&state, &l, &headers).await {
                Ok((a, _)) => a,
                Err(_) => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "no sign-in to add a factor to",
                    );
                }
            };
            let creds = match usable_keys(&state, &account_id).await {
                Ok(c) => c,
                Err(e) => return json_error(&e),
            };
            if creds.is_empty() {
                return problem(StatusCode::BAD_REQUEST, "invalid_request", "the account has no usable key");
            }
            let list: Vec<_> = creds.iter().filter_map(|c| passkey::credential(&c.credential)).collect();
            (Some(account_id), rp.begin_second(&list))
        }
        None => {
            return problem(StatusCode::BAD_REQUEST, "invalid_request", "purpose must be signin or second");
        }
    };
    let (options, ceremony) = match started {
        Ok(v) => v,
        Err(e) => return json_error(&OAuthError::server_error(e.to_string())),
    };
    let Some(p) = purpose(&params) else {
        return problem(StatusCode::BAD_REQUEST, "invalid_request", "purpose");
    };
    let record = Ceremony {
        key: ceremony_key(&l, p),
        tenant_id: l.t.tenant.id.clone(),
        account_id,
        state: ceremony.to_json(),
        expires_at: now + passkey::CEREMONY_SECONDS,
    };
    if let Err(e) = state.store().put_ceremony(&record).await {
        return json_error(&e.into());
    }
    let mut res = options.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The account's keys that may be used (not flagged as cloned).
pub(crate) async fn usable_keys(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<WebauthnCredential>, OAuthError> {
    Ok(state
        .store()
        .webauthn_credentials(account_id)
        .await?
        .into_iter()
        .filter(|c| c.flagged_at.is_none())
        .collect())
}

/// Checks an assertion against its ceremony and the credential it names; flags and audits a
/// clone. `Err` carries the message for the person.
async fn verify(
    state: &AppState,
    l: &Loaded,
    p: Purpose,
    response: &str,
    ip: &str,
) -> Result<(WebauthnCredential, Vec<&'static str>), &'static str> {
    let t = l.lang.texts();
    let tenant_id = &l.t.tenant.id;
    let now = state.env().now();
    let rp = state.passkeys.as_ref().ok_or(t.passkey_failed)?;
    let ceremony = match state.store().take_ceremony(&ceremony_key(l, p), now).await {
        Ok(Some(c)) if &c.tenant_id == tenant_id => c,
        _ => return Err(t.passkey_failed),
    };
    let state_of = Ceremonial::from_json(&ceremony.state).ok_or(t.passkey_failed)?;
    let (handle, cred_id) = rp.identify(response).map_err(|_| t.passkey_failed)?;
    let cred = match state.store().webauthn_credential(tenant_id, &cred_id).await {
        Ok(Some(c)) => c,
        _ => return Err(t.passkey_failed),
    };
    let client_id = l.ask.party.as_str();
    let (account_id, id) = (cred.account_id.clone(), cred.id.clone());
    let refuse = |reason: &'static str, msg: &'static str| {
        let detail = json!({"reason": reason, "method": "passkey", "credential": id});
        let account_id = account_id.clone();
        async move {
            audit(state, tenant_id, "login_failure", Some(&account_id), Some(client_id), Some(ip), detail)
                .await;
            Err(msg)
        }
    };
    match p {
        Purpose::SignIn => {
            if Kind::parse(&cred.kind) != Some(Kind::Passkey) {
                return refuse("security_key_alone", t.passkey_second_only).await;
            }
            if handle != Some(passkey::user_handle(&state.ops.kek, &cred.account_id)) {
                return refuse("user_handle", t.passkey_failed).await;
            }
        }
        Purpose::Second => {
            if ceremony.account_id.as_deref() != Some(cred.account_id.as_str()) {
                return refuse("other_account", t.passkey_failed).await;
            }
        }
    }
    if cred.flagged_at.is_some() {
        return refuse("flagged", t.passkey_cloned).await;
    }
    match rp.finish(response, state_of, &cred.credential) {
        Outcome::Verified { updated, user_verified, backup_eligible } => {
            if p == Purpose::SignIn && !user_verified {
                return refuse("no_user_verification", t.passkey_failed).await;
            }
            if let Err(e) = state.store().use_webauthn_credential(&cred.id, now, updated.as_deref()).await {
                tracing::warn!(error = %e, "could not record the use of a passkey");
            }
            let mut methods = vec![passkey::method(backup_eligible)];
            if user_verified {
                methods.push("user");
            }
            Ok((cred, methods))
        }
        Outcome::Cloned => {
            if let Err(e) = state.store().flag_webauthn_credential(&cred.id, now).await {
                tracing::warn!(error = %e, "could not flag a cloned passkey");
            }
            let detail = json!({"credential": cred.id});
            audit(
                state,
                tenant_id,
                "passkey_counter_regression",
                Some(&cred.account_id),
                None,
                Some(ip),
                detail,
            )
            .await;
            refuse("counter_regression", t.passkey_cloned).await
        }
        Outcome::Refused(why) => {
            tracing::debug!(reason = %why, "passkey assertion refused");
            refuse("assertion", t.passkey_failed).await
        }
    }
}

/// The browser's answer to a ceremony, posted as a form.
pub async fn finish(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = l.lang.texts();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let tenant_id = l.t.tenant.id.clone();
    if let Err(wait) =
        state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await
    {
        return crate::http::limited(
            login_page(&l, &headers, Some(t.too_many.into()), "", StatusCode::TOO_MANY_REQUESTS),
            wait,
        );
    }
    let Some(p) = purpose(&params) else {
        return crate::http::pages::error_page(
            l.lang,
            &OAuthError::invalid_request("purpose must be signin or second"),
        );
    };
    let response = param(&params, "response").unwrap_or_default();
    let second = if p == Purpose::Second {
        match whose(&state, &l, &headers).await {
            Ok(v) => Some(v),
            Err(r) => return r,
        }
    } else {
        None
    };
    let verified = verify(&state, &l, p, response, &ip).await;
    let (cred, methods) = match verified {
        Ok(v) => v,
        Err(msg) => {
            return match &second {
                Some((account_id, _)) => {
                    factor_page_for(&state, &l, &headers, account_id, Some(msg.into()), StatusCode::OK).await
                }
                None => login_page(&l, &headers, Some(msg.into()), "", StatusCode::OK),
            };
        }
    };
    let account = match state.store().account(&tenant_id, &cred.account_id).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => return login_page(&l, &headers, Some(t.passkey_failed.into()), "", StatusCode::OK),
        Err(e) => return crate::http::pages::error_page(l.lang, &e.into()),
    };
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        let msg = format!("{} {}", t.locked, crate::http::signin::interaction::lock_end(&state, &l.t, until));
        return login_page(&l, &headers, Some(msg), "", StatusCode::OK);
    }
    match second {
        Some((account_id, session)) => {
            second_factor_done(&state, &l, &headers, &account_id, session, &methods, &ip).await
        }
        None => {
            let amr = methods.iter().fold(vec![], |a, m| idp_core::policy::add_method(&a, m));
            signed_in(&state, &l, &headers, &account.id, amr, now, &ip).await
        }
    }
}
