//! Passkeys and security keys on the account pages: register one (several per account, each
//! named), see when each was added and last used and whether it was flagged as cloned, and
//! remove it. The first second factor of an account also brings its ten recovery codes, shown
//! once. Adding or removing needs a session allowed to change factors (`http/account/mod.rs`).
//!
//! `begin` answers JSON (the options for `navigator.credentials.create`); `finish` and
//! `remove` are form posts answered with a page.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::crypto::random_token;
use idp_core::model::{Ceremony, Session, WebauthnCredential};
use idp_core::passkey::{self, Kind, State as Ceremonial};
use serde_json::json;

use crate::http::account::{Posted, after_factor_removed, may_change_factors, posted, show_account};
use crate::http::pages::error_page;
use crate::http::see_other;
use crate::http::session::audit;
use crate::http::{State, json_error, param};

/// The longest name a key may have (characters).
const NAME_CHARS: usize = 64;

fn ceremony_key(session: &Session) -> String {
    format!("{}:register", session.sid)
}

/// Starts registering a passkey (`kind=passkey`) or a security key (`kind=security_key`).
pub async fn begin(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, session, account, params, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(rp) = state.passkeys.as_ref() else {
        return json_error(&OAuthError::invalid_request("passkeys are not offered here").with_status(404));
    };
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => {
            return json_error(
                &OAuthError::new("insufficient_user_authentication", "aal2 needed").with_status(403),
            );
        }
        Err(e) => return json_error(&e),
    }
    let offered = &t.tenant.settings.factors;
    let Some(kind) = param(&params, "kind")
        .and_then(Kind::parse)
        .filter(|k| if *k == Kind::Passkey { offered.passkeys } else { offered.security_keys })
    else {
        return json_error(&OAuthError::invalid_request(
            "kind must be one the tenant offers: passkey or security_key",
        ));
    };
    let existing = match state.store().webauthn_credentials(&account.id).await {
        Ok(v) => v.iter().filter_map(|c| passkey::credential(&c.credential)).collect::<Vec<_>>(),
        Err(e) => return json_error(&e.into()),
    };
    let handle = passkey::user_handle(&state.ops.kek, &account.id);
    let display = account.name.clone().unwrap_or_else(|| account.username.clone());
    let (options, ceremony) = match rp.begin_register(kind, handle, &account.username, &display, &existing) {
        Ok(v) => v,
        Err(e) => return json_error(&OAuthError::server_error(e.to_string())),
    };
    let record = Ceremony {
        key: ceremony_key(&session),
        tenant_id: t.tenant.id.clone(),
        account_id: Some(account.id.clone()),
        state: ceremony.to_json(),
        expires_at: state.env().now() + passkey::CEREMONY_SECONDS,
    };
    if let Err(e) = state.store().put_ceremony(&record).await {
        return json_error(&e.into());
    }
    let mut res = options.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The browser's new credential: checked against the ceremony and stored under its name.
pub async fn finish(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let now = state.env().now();
    let fail = |msg| {
        show_account(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            crate::http::account::Section::Security,
            Some(msg),
        )
    };
    let Some(rp) = state.passkeys.as_ref() else { return fail(texts.passkey_not_added).await };
    let ceremony = match state.store().take_ceremony(&ceremony_key(&session), now).await {
        Ok(Some(c)) if c.account_id.as_deref() == Some(account.id.as_str()) => c,
        Ok(_) => return fail(texts.passkey_not_added).await,
        Err(e) => return error_page(lang, &e.into()),
    };
    let kind = match Ceremonial::from_json(&ceremony.state) {
        Some(Ceremonial::RegisterPasskey { .. }) => Kind::Passkey,
        Some(Ceremonial::RegisterSecurityKey { .. }) => Kind::SecurityKey,
        _ => return fail(texts.passkey_not_added).await,
    };
    let registered = match Ceremonial::from_json(&ceremony.state)
        .map(|s| rp.finish_register(param(&params, "response").unwrap_or_default(), &s))
    {
        Some(Ok(r)) => r,
        Some(Err(why)) => {
            tracing::debug!(reason = %why, "passkey registration refused");
            return fail(texts.passkey_not_added).await;
        }
        None => return fail(texts.passkey_not_added).await,
    };
    let name: String = param(&params, "name").unwrap_or_default().trim().chars().take(NAME_CHARS).collect();
    let name = if name.is_empty() {
        if kind == Kind::Passkey {
            texts.kind_passkey.to_string()
        } else {
            texts.kind_security_key.to_string()
        }
    } else {
        name
    };
    let cred = WebauthnCredential {
        id: random_token(state.env(), 12),
        tenant_id: t.tenant.id.clone(),
        account_id: account.id.clone(),
        cred_id: registered.cred_id,
        kind: kind.as_str().into(),
        name,
        credential: registered.credential,
        backup_eligible: registered.backup_eligible,
        created_at: now,
        last_used_at: None,
        flagged_at: None,
    };
    match state.store().add_webauthn_credential(&cred).await {
        Ok(true) => {}
        Ok(false) => return fail(texts.passkey_duplicate).await,
        Err(e) => return error_page(lang, &e.into()),
    }
    let detail = json!({"factor": kind.as_str(), "credential": cred.id, "sid": session.sid});
    audit(&state, &t.tenant.id, "factor_added", Some(&account.id), None, None, detail).await;
    // The first second factor brings the recovery codes, for the day the key is lost.
    match state.store().recovery_codes_left(&account.id).await {
        Ok(0) => match state.ops.new_recovery_codes(&account.tenant_id, &account.id, &t.keys.suite).await {
            Ok(codes) => crate::http::account::recovery_codes_page(&t, lang, &codes, Some(texts.key_added)),
            Err(e) => error_page(lang, &OAuthError::server_error(e.to_string())),
        },
        Ok(_) => see_other(&crate::http::account::Section::Security.url(&t)),
        Err(e) => error_page(lang, &e.into()),
    }
}

/// Removes one of the account's keys.
pub async fn remove(
    state: State,
    Path((slug, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !may_change_factors(&state, &t, &session).await.unwrap_or(false) {
        return show_account(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            crate::http::account::Section::Security,
            Some(lang.texts().need_aal2),
        )
        .await;
    }
    match state.store().delete_webauthn_credential(&account.id, &key).await {
        Ok(true) => {
            let detail = json!({"factor": "webauthn", "credential": key, "sid": session.sid});
            audit(&state, &t.tenant.id, "factor_removed", Some(&account.id), None, None, detail).await;
            if let Err(e) = after_factor_removed(&state, &account.id).await {
                return error_page(lang, &e);
            }
            see_other(&crate::http::account::Section::Security.url(&t))
        }
        Ok(false) => see_other(&crate::http::account::Section::Security.url(&t)),
        Err(e) => error_page(lang, &e.into()),
    }
}
