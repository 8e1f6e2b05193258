//! Sign-in with a phone number and an SMS code (the usual citizen path): 6 digits, 5 minutes,
//! 5 tries (`idp_core::sms`); at most one code a minute and five an hour per phone number and
//! the sign-in limit per IP, counted in the database so that they hold across nodes. The answer
//! to "send a code" is the same, and as fast, whether or not the number is registered (the
//! message goes out after the answer). A person with an authenticator still gives its code
//! afterwards.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::{SmsCheck, SmsCode};
use idp_core::sms;
use serde_json::json;

use crate::http::pages::{Lang, SmsPage, error_page, render, with_form_action};
use crate::http::see_other;
use crate::http::session::audit;
use crate::http::signin::engine::interaction_url;
use crate::http::signin::interaction::{
    Loaded, credential_failed, first_factor_done, lang_switch, load, lock_end, posted,
};
use crate::http::{State, param};
use crate::state::AppState;

const PURPOSE: &str = "signin";

fn page(
    l: &Loaded,
    headers: &HeaderMap,
    phone: &str,
    code_step: bool,
    error: Option<String>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let base = format!("/t/{}/interaction/{}", l.t.tenant.slug, l.interaction.id);
    let p = SmsPage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        error,
        notice,
        send_action: format!("{base}/sms/send"),
        verify_action: format!("{base}/sms/verify"),
        password_link: base.clone(),
        csrf: &csrf,
        phone,
        code_step,
    };
    with_form_action(render(status, &p), Some(&l.ask.return_to))
}

fn too_many(l: &Loaded, headers: &HeaderMap, phone: &str, code_step: bool, wait: u64) -> Response {
    let t = l.lang.texts();
    crate::http::limited(
        page(l, headers, phone, code_step, Some(t.too_many.into()), None, StatusCode::TOO_MANY_REQUESTS),
        wait,
    )
}

pub async fn show(state: State, Path((slug, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    match load(&state, &slug, &id, &headers).await {
        Ok(l) if l.sms => page(&l, &headers, "", false, None, None, StatusCode::OK),
        Ok(l) => see_other(&interaction_url(&l.t, &l.interaction.id)),
        Err(r) => r,
    }
}

/// The per-number limits of sending: one code a minute and five an hour (per purpose), counted
/// in the database so that they hold across nodes; `Err(wait)` beyond them.
pub(crate) async fn phone_limits(
    state: &AppState,
    tenant_id: &str,
    phone: &str,
    purpose: &str,
) -> Result<(), u64> {
    for (window, seconds, limit) in [("sms_minute", 60, 1), ("sms_hour", 3600, 5)] {
        phone_window(state, &format!("{window}:{purpose}:{tenant_id}:{phone}"), seconds, limit).await?;
    }
    Ok(())
}

/// Draws a code for `phone` and `purpose` and stores its MAC (replacing the last one).
pub(crate) async fn put_code(
    state: &AppState,
    tenant_id: &str,
    phone: &str,
    purpose: &str,
) -> Result<String, idp_core::OAuthError> {
    let now = state.env().now();
    let code = sms::new_code(state.env());
    let mac = state.suite_of(tenant_id).await?.mac_alg();
    let record = SmsCode {
        tenant_id: tenant_id.to_string(),
        phone: phone.to_string(),
        purpose: purpose.into(),
        code_mac: sms::code_mac(&state.ops.kek, mac, tenant_id, phone, purpose, &code),
        attempts: 0,
        expires_at: now + sms::TTL_SECONDS,
        created_at: now,
    };
    state.store().put_sms_code(&record).await?;
    Ok(code)
}

/// Draws a code for `phone` and `purpose`, stores its MAC (replacing the last one) and sends it
/// after the caller has answered: waiting for the gateway would tell a registered number from
/// an unregistered one by the time the answer takes. A failure is logged (never the message).
pub(crate) async fn send_code(
    state: &AppState,
    sender: std::sync::Arc<dyn crate::outbound::sms::SmsSender>,
    tenant_id: &str,
    phone: &str,
    purpose: &str,
    lang: Lang,
) -> Result<(), idp_core::OAuthError> {
    let code = put_code(state, tenant_id, phone, purpose).await?;
    let brand = lang.texts().look().name;
    let message = match (lang, purpose) {
        (Lang::Zh, PURPOSE) => format!("【{brand}】您的登录验证码是 {code}，5 分钟内有效，请勿告诉他人。"),
        (Lang::Zh, "recovery") => {
            format!(
                "【{brand}】您正在找回账号的登录方式，验证码是 {code}，5 分钟内有效。如非本人操作，请勿提供。"
            )
        }
        (Lang::Zh, "register") => {
            format!("【{brand}】您正在注册账号，验证码是 {code}，5 分钟内有效，请勿告诉他人。")
        }
        (Lang::En, "register") => format!(
            "{brand}: your code to register an account is {code}. It is valid for 5 minutes; do not share it."
        ),
        (Lang::Zh, "reset") => {
            format!("【{brand}】您正在重设登录密码，验证码是 {code}，5 分钟内有效。如非本人操作，请勿提供。")
        }
        (Lang::En, "reset") => format!(
            "{brand}: your code to set a new password is {code}. It is valid for 5 minutes; if this was not you, do not share it."
        ),
        (Lang::Zh, "email") => {
            format!("【{brand}】您正在验证电子邮箱，验证码是 {code}，5 分钟内有效，请勿告诉他人。")
        }
        (Lang::En, "email") => format!(
            "{brand}: your code to verify this email address is {code}. It is valid for 5 minutes; do not share it."
        ),
        (Lang::Zh, _) => {
            format!("【{brand}】您正在验证手机号，验证码是 {code}，5 分钟内有效，请勿告诉他人。")
        }
        (Lang::En, PURPOSE) => {
            format!("{brand}: your sign-in code is {code}. It is valid for 5 minutes; do not share it.")
        }
        (Lang::En, "recovery") => format!(
            "{brand}: your code to recover access to your account is {code}. It is valid for 5 minutes; if this was not you, do not share it."
        ),
        (Lang::En, _) => {
            format!(
                "{brand}: your code to verify this number is {code}. It is valid for 5 minutes; do not share it."
            )
        }
    };
    let to = phone.to_string();
    tokio::spawn(async move {
        if let Err(why) = sender.send(&to, &message).await {
            tracing::warn!(error = %why, "a code could not be sent");
        }
    });
    Ok(())
}

/// Why a verification code was not sent.
pub(crate) enum NotSent {
    /// Over the per-IP or per-address limit: wait this many seconds.
    Limited(u64),
    Failed(idp_core::OAuthError),
}

/// Sends a code proving `address` (a phone number or an email address) to the signed-in
/// account's page: the sign-in limit per IP and the per-address limits first, then the code,
/// audited as `kind` (never with the address or the code).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_verification(
    state: &AppState,
    tenant_id: &str,
    account_id: &str,
    ip: &str,
    sender: std::sync::Arc<dyn crate::outbound::sms::SmsSender>,
    address: &str,
    purpose: &str,
    (lang, kind): (Lang, &str),
) -> Result<(), NotSent> {
    let now = state.env().now();
    state
        .limits
        .signin_ip
        .check_shared(state.store(), now, &format!("{tenant_id}:{ip}"))
        .await
        .map_err(NotSent::Limited)?;
    phone_limits(state, tenant_id, address, purpose).await.map_err(NotSent::Limited)?;
    send_code(state, sender, tenant_id, address, purpose, lang).await.map_err(NotSent::Failed)?;
    audit(state, tenant_id, kind, Some(account_id), None, Some(ip), json!({"purpose": purpose})).await;
    Ok(())
}

/// One hit on a per-phone window of `seconds`; `Err(wait)` beyond `limit`.
async fn phone_window(state: &AppState, key: &str, seconds: i64, limit: i64) -> Result<(), u64> {
    let now = state.env().now();
    let start = now - now.rem_euclid(seconds);
    match state.store().count_hit(key, start).await {
        Ok(hits) if hits > limit => Err((start + seconds - now).max(1) as u64),
        _ => Ok(()),
    }
}

pub async fn send(
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
    let Some(sender) = state.sms.clone().filter(|_| l.sms) else {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    };
    let t = l.lang.texts();
    let typed = param(&params, "phone").unwrap_or_default();
    let Some(phone) = sms::normalise_phone(typed) else {
        return page(&l, &headers, "", false, Some(t.bad_phone.into()), None, StatusCode::OK);
    };
    let tenant_id = l.t.tenant.id.clone();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    if let Err(wait) =
        state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await
    {
        return too_many(&l, &headers, &phone, false, wait);
    }
    if let Err(wait) = phone_limits(&state, &tenant_id, &phone, PURPOSE).await {
        return too_many(&l, &headers, &phone, true, wait);
    }
    let account = match state.store().account_by_login(&tenant_id, &phone).await {
        Ok(a) => a.filter(|a| !a.disabled && a.phone.as_deref() == Some(phone.as_str())),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    // Only a registered number gets a code; the answer is the same either way. An unregistered
    // one gets a code stored that is never sent, so that wrong codes then answer alike too
    // (tries left, then gone) and take the same work.
    if account.is_none()
        && let Err(e) = put_code(&state, &tenant_id, &phone, PURPOSE).await
    {
        return error_page(l.lang, &e);
    }
    if account.is_some() {
        if let Err(e) = send_code(&state, sender, &tenant_id, &phone, PURPOSE, l.lang).await {
            return error_page(l.lang, &e);
        }
        audit(
            &state,
            &tenant_id,
            "sms_code_sent",
            account.as_ref().map(|a| a.id.as_str()),
            None,
            Some(&ip),
            json!({"purpose": PURPOSE}),
        )
        .await;
    }
    page(&l, &headers, &phone, true, None, Some(t.sms_sent), StatusCode::OK)
}

pub async fn verify(
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
    if !l.sms {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    }
    let t = l.lang.texts();
    let Some(phone) = sms::normalise_phone(param(&params, "phone").unwrap_or_default()) else {
        return page(&l, &headers, "", false, Some(t.bad_phone.into()), None, StatusCode::OK);
    };
    let code = param(&params, "code").unwrap_or_default();
    let tenant_id = l.t.tenant.id.clone();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let key = format!("{tenant_id}:sms:{phone}");
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), now, &key).await {
        return too_many(&l, &headers, &phone, true, wait);
    }
    let mac = sms::code_mac(&state.ops.kek, l.t.keys.suite.mac_alg(), &tenant_id, &phone, PURPOSE, code);
    let check =
        match state.store().take_sms_code(&tenant_id, &phone, PURPOSE, &mac, now, sms::MAX_ATTEMPTS).await {
            Ok(c) => c,
            Err(e) => return error_page(l.lang, &e.into()),
        };
    let account = match state.store().account_by_login(&tenant_id, &phone).await {
        Ok(a) => a.filter(|a| !a.disabled && a.phone.as_deref() == Some(phone.as_str())),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let client_id = l.ask.party.clone();
    let account = match (check, account) {
        (SmsCheck::Accepted, Some(a)) => a,
        (check, account) => {
            // a registered number's failure counts towards its account's lockout; an unknown
            // number's costs the same one write, and the answer is the same
            match &account {
                Some(a) => {
                    if let Err(e) = credential_failed(&state, &tenant_id, &a.id, &client_id, &ip, "sms").await
                    {
                        return error_page(l.lang, &e);
                    }
                }
                None => {
                    crate::http::signin::interaction::ghost_failure(&state, &tenant_id, &phone).await;
                    let detail = serde_json::json!({"reason": "unknown_number"});
                    audit(&state, &tenant_id, "login_failure", None, Some(&client_id), Some(&ip), detail)
                        .await;
                }
            }
            let (msg, code_step) = match check {
                SmsCheck::Wrong(left) => (format!("{} {left}", t.sms_wrong), true),
                _ => (t.sms_gone.to_string(), false),
            };
            return page(&l, &headers, &phone, code_step, Some(msg), None, StatusCode::OK);
        }
    };
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        let msg = format!("{} {}", t.locked, lock_end(&state, &l.t, until));
        return page(&l, &headers, &phone, false, Some(msg), None, StatusCode::OK);
    }
    // the code reached this number: it is verified
    if account.phone_verified_at.is_none()
        && let Err(e) = state.store().set_account_phone(&tenant_id, &account.id, &phone, now).await
    {
        tracing::warn!(error = %e, "could not record a verified phone");
    }
    first_factor_done(&state, &l, &headers, &account.id, vec!["sms".into()], &ip).await
}
