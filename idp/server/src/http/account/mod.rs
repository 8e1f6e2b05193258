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

use super::pages::{
    AccountPage, KeyRow, Lang, RecoveryCodesPage, TotpEnrolPage, error_page, render, with_form_action,
};
use super::see_other;
use super::session::{BROWSER_COOKIE, audit, browser_binding, browser_cookie, csrf_ok};
use super::signin::engine;
use super::{State, body_text, param, parse_params, require_form};
use crate::state::{AppState, TenantCtx};

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
    if policy::satisfies(&session.acr, Some("aal2")) || recovered {
        return Ok(true);
    }
    let totp = matches!(state.store().totp(&session.account_id).await?, Some(c) if c.confirmed);
    Ok(!totp && state.store().webauthn_credentials(&session.account_id).await?.is_empty())
}

/// The latest claims released about the person (`claims_released` events): when, to which
/// client, which claims.
async fn releases(state: &AppState, t: &TenantCtx, account: &Account) -> Vec<(String, String, String)> {
    let events = state
        .store()
        .account_events(&t.tenant.id, &account.id, "claims_released", 20)
        .await
        .unwrap_or_default();
    let mut out = vec![];
    for e in events {
        let client_id = e.client_id.unwrap_or_default();
        let name = match state.store().client(&t.tenant.id, &client_id).await {
            Ok(Some(c)) => c.name,
            _ => client_id,
        };
        let claims = e.detail["claims"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        out.push((t.local(e.at, state.env().now()), name, claims));
    }
    out
}

/// After a factor was removed: with no second factor left, the recovery codes go too.
pub(crate) async fn after_factor_removed(state: &AppState, account_id: &str) -> Result<(), OAuthError> {
    let totp = state.store().totp(account_id).await?.is_some_and(|c| c.confirmed);
    if !totp && state.store().webauthn_credentials(account_id).await?.is_empty() {
        state.store().replace_recovery_codes(account_id, &[]).await?;
    }
    Ok(())
}

/// What the account page says above its sections after an action: that it was done (a
/// polite status, never in red), or what stopped it (an alert).
#[derive(Clone, Copy)]
pub enum Note<'a> {
    Done(&'a str),
    Problem(&'a str),
}

impl Note<'_> {
    pub fn text(&self) -> &str {
        match self {
            Note::Done(t) | Note::Problem(t) => t,
        }
    }
    pub fn done(&self) -> bool {
        matches!(self, Note::Done(_))
    }
}

/// The account page, with what stopped the action, if anything.
pub(crate) async fn show_account(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    problem: Option<&str>,
) -> Response {
    show_account_with(state, t, lang, headers, session, account, problem.map(Note::Problem), None).await
}

/// The account page after an action that was done.
pub(crate) async fn show_account_done(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    done: &str,
) -> Response {
    show_account_with(state, t, lang, headers, session, account, Some(Note::Done(done)), None).await
}

/// A phone number or email address a code was sent to, awaiting the code.
pub enum Pending {
    Phone(String),
    Email(String),
}

/// The account page; `pending` is an address a code was sent to, awaiting the code.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn show_account_with(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    note: Option<Note<'_>>,
    pending: Option<Pending>,
) -> Response {
    let (phone_pending, email_pending) = match pending {
        Some(Pending::Phone(p)) => (Some(p), None),
        Some(Pending::Email(e)) => (None, Some(e)),
        None => (None, None),
    };
    let totp_on = matches!(state.store().totp(&account.id).await, Ok(Some(c)) if c.confirmed);
    let recovery_left = state.store().recovery_codes_left(&account.id).await.unwrap_or(0);
    let keys = state.store().webauthn_credentials(&account.id).await.unwrap_or_default();
    let texts = lang.texts();
    let now = state.env().now();
    let keys: Vec<KeyRow> = keys
        .into_iter()
        .map(|k| KeyRow {
            kind: if k.kind == "passkey" { texts.kind_passkey } else { texts.kind_security_key },
            created: t.local(k.created_at, now),
            last_used: k.last_used_at.map(|u| t.local(u, now)),
            flagged: k.flagged_at.is_some(),
            id: k.id,
            name: k.name,
        })
        .collect();
    let offered = &t.tenant.settings.factors;
    let mut kinds = vec![];
    if offered.passkeys {
        kinds.push(("passkey", texts.kind_passkey));
    }
    if offered.security_keys {
        kinds.push(("security_key", texts.kind_security_key));
    }
    let may_change = may_change_factors(state, t, session).await.unwrap_or(false);
    let bound = state.store().real_name(&account.id).await.ok().flatten();
    let types = super::pages::id_types(texts);
    let realname = bound.as_ref().map(|r| super::pages::RealNameRow {
        level: r.level,
        meaning: super::words::realname(r.level, texts).0,
        next: super::words::realname(r.level, texts).1,
        name: r.name.clone(),
        id_type: types.iter().find(|(v, _)| *v == r.id_type).map_or("", |(_, l)| l),
        masked: r.id_masked.clone(),
    });
    let keys_add = state.passkeys.is_some() && !kinds.is_empty() && may_change;
    let (csrf, is_new) = browser_binding(headers);
    let page = AccountPage {
        t: lang.texts(),
        lang_switch: None,
        username: &account.username,
        totp_on,
        recovery_left,
        note,
        has_password: account.password_hash.is_some(),
        pw_rules: password::rules_text(t.tenant.settings.policy.password_rules(), lang.texts()),
        base: base(t),
        csrf: &csrf,
        keys,
        keys_add,
        kinds,
        totp_offered: offered.totp,
        phone: account.phone.as_deref(),
        phone_verified: account.phone_verified_at.is_some(),
        phone_offered: state.sms.is_some(),
        phone_pending,
        email: account.email.as_deref(),
        email_verified: account.email_verified_at.is_some(),
        email_offered: state.email.is_some(),
        email_pending,
        realname_form: bound.as_ref().is_none_or(|r| r.level < idp_core::realname::IN_PERSON),
        card_form: super::signin::realname::card_offered(state, t, bound.as_ref().map_or(0, |r| r.level)),
        realname,
        id_types: types,
        enterprises: super::account::enterprise::rows(state, t, account, texts).await,
        contexts: super::signin::context::account_options(state, t, session, texts).await,
        releases: releases(state, t, account).await,
        grants: super::account::grants::rows(state, t, account, lang).await,
        sessions: super::account::sessions::rows(state, t, account, session, texts).await,
        history: super::account::sessions::history(state, t, account, texts).await,
        profile: super::account::profile::fields(state, account, texts).await,
    };
    let mut res = with_form_action(render(StatusCode::OK, &page), None);
    if is_new {
        res.headers_mut().append(header::SET_COOKIE, browser_cookie(state, t, &csrf));
    }
    res
}

pub async fn show(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    match signed_in(&state, &slug, &headers).await {
        Ok((t, lang, session, account)) => {
            show_account(&state, &t, lang, &headers, &session, &account, None).await
        }
        Err(r) => r,
    }
}

fn enrol_page(
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    secret: &Secret,
    account: &Account,
    error: Option<&str>,
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
        base: base(t),
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
        return see_other(&home_url(&t));
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
                Some(lang.texts().need_aal2),
            )
            .await;
        }
        Err(e) => return error_page(lang, &e),
    }
    match state.ops.begin_totp(&account).await {
        Ok(Some(secret)) => enrol_page(&t, lang, &headers, &secret, &account, None),
        // already on: nothing to set up
        Ok(None) => see_other(&home_url(&t)),
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
    let pending = match state.store().totp(&account.id).await {
        Ok(Some(c)) if !c.confirmed => c,
        Ok(_) => return see_other(&home_url(&t)),
        Err(e) => return error_page(lang, &e.into()),
    };
    let secret = match state.ops.totp_secret(&pending) {
        Ok(s) => s,
        Err(e) => return error_page(lang, &OAuthError::server_error(e.to_string())),
    };
    let now = state.env().now();
    let code = param(&params, "code").unwrap_or_default();
    let Some(step) = secret.verify(code, now, None) else {
        return enrol_page(&t, lang, &headers, &secret, &account, Some(lang.texts().bad_code));
    };
    let plain = match state.ops.activate_totp(&account.tenant_id, &account.id, step).await {
        Ok(Some(codes)) => codes,
        Ok(None) => return see_other(&home_url(&t)),
        Err(e) => return error_page(lang, &OAuthError::server_error(e.to_string())),
    };
    audit(
        &state,
        &t.tenant.id,
        "factor_added",
        Some(&account.id),
        None,
        None,
        json!({"factor": "totp", "sid": session.sid}),
    )
    .await;
    let page = RecoveryCodesPage { t: lang.texts(), lang_switch: None, codes: &plain, base: base(&t) };
    let mut res = render(StatusCode::OK, &page);
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
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
        return show_account(&state, &t, lang, &headers, &session, &account, Some(lang.texts().need_aal2))
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
    see_other(&home_url(&t))
}
