//! The account pages (`/t/{tenant}/account`): the person's own console. Sign-in goes through the
//! same interaction pages as any client's, for a built-in first-party "client" that needs no
//! consent and receives no code: once signed in, the browser comes back here with its session.
//!
//! So far: two-step verification — set up an authenticator (QR code and key, activated only
//! by a correct code, recovery codes shown once) and turn it off; passkeys and security keys
//! (`keys.rs`). Once the account has a second factor, changing its factors needs a
//! session that used one (aal2), so a stolen password alone can neither remove a factor nor
//! add one of the thief's.

pub mod contact;
pub mod delete;
pub mod enterprise;
pub mod grants;
pub mod keys;
pub mod links;
pub mod page;
pub mod password;
pub mod profile;
pub mod sessions;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idp_core::model::{Account, Session};
use idp_core::signin::{AccountReturn, FrontRequest};
use idp_core::totp::Secret;
use idp_core::{OAuthError, policy};
use serde_json::json;

use super::pages::{Lang, RecoveryCodesPage, TotpEnrolPage, error_page, render, with_form_action};
use super::see_other;
use super::session::{BROWSER_COOKIE, audit, csrf_ok};
use super::signin::engine;
use super::{State, body_text, param, parse_params, require_form};
use crate::state::{AppState, TenantCtx};
pub(crate) use page::{Note, Section, show_account, show_account_done, show_account_with};

pub(crate) fn base(t: &TenantCtx) -> String {
    format!("/t/{}", t.tenant.slug)
}

pub fn home_url(t: &TenantCtx) -> String {
    format!("{}/account", base(t))
}

/// The tenant, the page language and the signed-in person, or the response to send instead
/// (a sign-in for a browser without a session).
pub(crate) async fn signed_in(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
) -> Result<(std::sync::Arc<TenantCtx>, Lang, Session, Account), Response> {
    signed_in_to(state, slug, headers, "account", None).await
}

/// The same for another first-party page (`back`, under the issuer: where the sign-in returns
/// to), with the assurance level it needs (a weaker session goes through the step-up).
pub(crate) async fn signed_in_to(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    back: &str,
    acr: Option<&str>,
) -> Result<(std::sync::Arc<TenantCtx>, Lang, Session, Account), Response> {
    let lang = Lang::pick(None, headers);
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(super::oidc::discovery::unknown_tenant()),
        Err(e) => return Err(error_page(lang, &e)),
    };
    let session = match super::session::current(state, &t, headers).await {
        Ok(s) => s,
        Err(e) => return Err(error_page(lang, &e)),
    };
    let account = match &session {
        Some(s) => match state.store().account(&t.tenant.id, &s.account_id).await {
            Ok(a) => a.filter(|a| !a.disabled),
            Err(e) => return Err(error_page(lang, &e.into())),
        },
        None => None,
    };
    match (session, account) {
        (Some(s), Some(a)) if policy::satisfies(&s.acr, acr) => Ok((t, lang, s, a)),
        (session, _) => {
            let front = FrontRequest::Account(AccountReturn {
                return_to: format!("{}/{back}", t.endpoints.issuer),
                level: acr.map(str::to_string),
            });
            let ask = front.sign_in();
            Err(engine::proceed(state, &t, headers, &front, &ask, session.as_ref(), false, None, lang).await)
        }
    }
}

/// A form post of the account pages: signed in, a form, and the CSRF token.
pub(crate) struct Posted {
    pub t: std::sync::Arc<TenantCtx>,
    pub lang: Lang,
    pub session: Session,
    pub account: Account,
    pub params: Vec<(String, String)>,
}

pub(crate) async fn posted(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Posted, Response> {
    let (t, lang, session, account) = signed_in(state, slug, headers).await?;
    let params = require_form(headers)
        .and_then(|_| parse_params(body_text(body)?))
        .map_err(|e| error_page(lang, &e))?;
    if !csrf_ok(headers, param(&params, "csrf"), None) {
        return Err(error_page(lang, &OAuthError::invalid_request(lang.texts().bad_csrf).with_status(403)));
    }
    Ok(Posted { t, lang, session, account, params })
}

/// Whether this session may change the account's factors: any session while it has none,
/// then only one that used a second factor, or (where the tenant offers SMS recovery) one that
/// recovered with the password and a code to the verified phone (`http/signin/recovery.rs`).
pub(crate) async fn may_change_factors(
    state: &AppState,
    t: &TenantCtx,
    session: &Session,
) -> Result<bool, OAuthError> {
    let used = |m: &str| session.amr.iter().any(|a| a == m);
    let recovered = t.tenant.settings.factors.sms_recovery && used("pwd") && used("sms");
    // a session an upstream's answer alone made aal2 (`fed` with `mfa`) used none of the
    // account's own factors here: it cannot change them (a compromised upstream would keep
    // the account after it is disabled)
    // A session that used none of the account's own factors here — an upstream's answer alone
    // (`fed`, with `mfa` or not) — changes the factors, contact details or the account only
    // of an account with no credential of its own (created through the upstream): a
    // compromised upstream cannot keep an account it reached after it is disabled.
    if used("fed") && !(used("otp") || used("hwk") || used("swk")) {
        let Some(a) = state.store().account(&t.tenant.id, &session.account_id).await? else {
            return Ok(false);
        };
        let totp = state.store().totp(&a.id).await?.is_some_and(|c| c.confirmed);
        let keys = !state.store().webauthn_credentials(&a.id).await?.is_empty();
        return Ok(a.password_hash.is_none() && a.phone_verified_at.is_none() && !totp && !keys);
    }
    if policy::satisfies(&session.acr, Some("aal2")) || recovered {
        return Ok(true);
    }
    let totp = matches!(state.store().totp(&session.account_id).await?, Some(c) if c.confirmed);
    Ok(!totp && state.store().webauthn_credentials(&session.account_id).await?.is_empty())
}

/// After a factor was removed: with no second factor left, the recovery codes go too.
pub(crate) async fn after_factor_removed(state: &AppState, account_id: &str) -> Result<(), OAuthError> {
    let totp = state.store().totp(account_id).await?.is_some_and(|c| c.confirmed);
    if !totp && state.store().webauthn_credentials(account_id).await?.is_empty() {
        state.store().replace_recovery_codes(account_id, &[]).await?;
    }
    Ok(())
}

/// A phone number or email address a code was sent to, awaiting the code.
pub enum Pending {
    Phone(String),
    Email(String),
}

pub async fn show(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    page::show_signed_in(&state, &slug, &headers, Section::Overview).await
}

/// The authenticator set-up page: on the security page, or `within` a sign-in (its
/// interaction id) that needs a second factor (`signin::enrol`).
pub(crate) fn enrol_page(
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    secret: &Secret,
    account: &Account,
    error: Option<&str>,
    within: Option<&str>,
) -> Response {
    let uri = secret.otpauth_uri(&t.tenant.name.replace(':', " "), &account.username.replace(':', " "));
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map(|c| c.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
        .unwrap_or_default();
    let svg = qr.find("<svg").map_or("", |i| &qr[i..]);
    let csrf = super::cookie(headers, BROWSER_COOKIE).unwrap_or_default();
    let key = secret.base32();
    let page = TotpEnrolPage {
        t: lang.texts(),
        lang_switch: None,
        qr_svg: svg,
        key: &key,
        error,
        action: match within {
            Some(id) => format!("{}/enrol/confirm", engine::interaction_url(t, id)),
            None => format!("{}/account/totp/confirm", base(t)),
        },
        cancel: match within {
            Some(id) => engine::interaction_url(t, id),
            None => format!("{}/account/security", base(t)),
        },
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), None)
}

/// Starts setting up an authenticator: a new secret, pending until a correct code.
pub async fn totp_begin(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !t.tenant.settings.factors.totp {
        return see_other(&crate::http::account::Section::Security.url(&t));
    }
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => {
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
        Err(e) => return error_page(lang, &e),
    }
    match state.ops.begin_totp(&account, &t.keys.suite).await {
        Ok(Some(secret)) => enrol_page(&t, lang, &headers, &secret, &account, None, None),
        // already on: nothing to set up
        Ok(None) => see_other(&crate::http::account::Section::Security.url(&t)),
        Err(e) => error_page(lang, &OAuthError::server_error(e.to_string())),
    }
}

/// Activates the pending authenticator with its first code; shows the recovery codes once.
pub async fn totp_confirm(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let code = param(&params, "code").unwrap_or_default();
    match activate_pending_totp(&state, &account, code, &session.sid, None).await {
        Ok(Activation::On(plain)) => recovery_codes_page(&t, lang, &plain, Some(lang.texts().totp_enabled)),
        Ok(Activation::BadCode(secret)) => {
            enrol_page(&t, lang, &headers, &secret, &account, Some(lang.texts().bad_code), None)
        }
        Ok(Activation::NothingPending) => see_other(&crate::http::account::Section::Security.url(&t)),
        Err(e) => error_page(lang, &e),
    }
}

/// What a code typed on an authenticator set-up page did.
pub(crate) enum Activation {
    /// Nothing is pending: already on, or never begun.
    NothingPending,
    /// Not the code: the page again, with the same secret.
    BadCode(Secret),
    /// On: the new recovery codes, to show once.
    On(Vec<String>),
}

/// Activates `account`'s pending authenticator with its first `code`, auditing `factor_added`
/// for the session `sid` (from `ip` when known): the set-up of the account pages and of a
/// sign-in (`signin::enrol`) alike.
pub(crate) async fn activate_pending_totp(
    state: &AppState,
    account: &Account,
    code: &str,
    sid: &str,
    ip: Option<&str>,
) -> Result<Activation, OAuthError> {
    let pending = match state.store().totp(&account.id).await? {
        Some(c) if !c.confirmed => c,
        _ => return Ok(Activation::NothingPending),
    };
    let secret = state.ops.totp_secret(&pending).map_err(|e| OAuthError::server_error(e.to_string()))?;
    let Some(step) = secret.verify(code, state.env().now(), None) else {
        return Ok(Activation::BadCode(secret));
    };
    let suite = state.suite_of(&account.tenant_id).await?;
    let plain = match state.ops.activate_totp(&account.tenant_id, &account.id, step, &suite).await {
        Ok(Some(codes)) => codes,
        Ok(None) => return Ok(Activation::NothingPending),
        Err(e) => return Err(OAuthError::server_error(e.to_string())),
    };
    let detail = json!({"factor": "totp", "sid": sid});
    audit(state, &account.tenant_id, "factor_added", Some(&account.id), None, ip, detail).await;
    Ok(Activation::On(plain))
}

/// Turns two-step verification off: only from a session that used a second factor (aal2) or
/// recovered (`may_change_factors`), so a stolen password alone cannot remove it.
pub async fn totp_remove(
    state: State,
    Path(slug): Path<String>,
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
    if let Err(e) = state.store().delete_totp(&account.id).await {
        return error_page(lang, &e.into());
    }
    if let Err(e) = after_factor_removed(&state, &account.id).await {
        return error_page(lang, &e);
    }
    audit(
        &state,
        &t.tenant.id,
        "factor_removed",
        Some(&account.id),
        None,
        None,
        json!({"factor": "totp", "sid": session.sid}),
    )
    .await;
    see_other(&crate::http::account::Section::Security.url(&t))
}

/// New recovery codes (the old ones stop working), shown once: for an account with a second
/// factor, from a session that may change its factors.
pub async fn recovery_renew(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let has_factor = match state.store().totp(&account.id).await {
        Ok(Some(c)) if c.confirmed => true,
        Ok(_) => !state.store().webauthn_credentials(&account.id).await.unwrap_or_default().is_empty(),
        Err(e) => return error_page(lang, &e.into()),
    };
    if !has_factor {
        return see_other(&Section::Security.url(&t));
    }
    if !may_change_factors(&state, &t, &session).await.unwrap_or(false) {
        return show_account(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            Section::Security,
            Some(lang.texts().need_aal2),
        )
        .await;
    }
    let plain = match state.ops.new_recovery_codes(&t.tenant.id, &account.id, &t.keys.suite).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &OAuthError::server_error(e.to_string())),
    };
    audit(
        &state,
        &t.tenant.id,
        "recovery_codes_renewed",
        Some(&account.id),
        None,
        None,
        json!({"sid": session.sid}),
    )
    .await;
    recovery_codes_page(&t, lang, &plain, None)
}

/// The recovery codes, shown this once (never cached).
pub(crate) fn recovery_codes_page(
    t: &TenantCtx,
    lang: Lang,
    plain: &[String],
    done: Option<&str>,
) -> Response {
    recovery_codes_then(t, lang, plain, done, None)
}

/// [`recovery_codes_page`], then on to `next` (a sign-in to carry on with).
pub(crate) fn recovery_codes_then(
    t: &TenantCtx,
    lang: Lang,
    plain: &[String],
    done: Option<&str>,
    next: Option<String>,
) -> Response {
    let page =
        RecoveryCodesPage { t: lang.texts(), lang_switch: None, codes: plain, base: base(t), done, next };
    let mut res = render(StatusCode::OK, &page);
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
}
