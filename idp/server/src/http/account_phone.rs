//! The phone number on the account pages: set or change it, proven by an SMS code sent to it
//! (purpose `verify`: 6 digits, 5 minutes, 5 tries, one a minute and five an hour per number,
//! like sign-in codes). Stored in E.164 with the time it was proven; the `phone_number_verified`
//! claim says so. The number is a way to sign in, so changing it follows the rule for factors
//! (`account::may_change_factors`). Whether another account has the number is said only after
//! its code was given: only the holder of the number learns it.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::StoreError;
use idp_core::model::SmsCheck;
use idp_core::sms;
use serde_json::json;

use super::State;
use super::account::{Pending, Posted, home_url, may_change_factors, posted, show_account_with};
use super::authorize::see_other;
use super::pages::error_page;
use super::session::audit;
use super::sms::{NotSent, send_verification};

const PURPOSE: &str = "verify";

/// Sends a code to the number typed.
pub async fn send(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let show = |msg: &'static str, pending: Option<String>| {
        show_account_with(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            Some(msg),
            pending.map(Pending::Phone),
        )
    };
    let Some(sender) = state.sms.clone() else { return see_other(&home_url(&t)) };
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => return show(texts.need_aal2, None).await,
        Err(e) => return error_page(lang, &e),
    }
    let Some(phone) = sms::normalise_phone(super::param(&params, "phone").unwrap_or_default()) else {
        return show(texts.bad_phone, None).await;
    };
    let ip = super::client_ip(&state, &headers, peer);
    let how = (lang, "sms_code_sent");
    match send_verification(&state, &t.tenant.id, &account.id, &ip, sender, &phone, PURPOSE, how).await {
        Ok(()) => show(texts.phone_code_sent, Some(phone)).await,
        Err(NotSent::Limited(wait)) => super::limited(show(texts.too_many, Some(phone)).await, wait),
        Err(NotSent::Failed(e)) => error_page(lang, &e),
    }
}

/// Checks the code; a right one sets the number as the account's, verified now.
pub async fn verify(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => {
            return show_account_with(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                Some(texts.need_aal2),
                None,
            )
            .await;
        }
        Err(e) => return error_page(lang, &e),
    }
    let Some(phone) = sms::normalise_phone(super::param(&params, "phone").unwrap_or_default()) else {
        return see_other(&home_url(&t));
    };
    let now = state.env().now();
    let ip = super::client_ip(&state, &headers, peer);
    let tenant_id = t.tenant.id.clone();
    let code = super::param(&params, "code").unwrap_or_default();
    let mac = sms::code_mac(&state.ops.kek, &tenant_id, &phone, PURPOSE, code);
    let check =
        match state.store().take_sms_code(&tenant_id, &phone, PURPOSE, &mac, now, sms::MAX_ATTEMPTS).await {
            Ok(c) => c,
            Err(e) => return error_page(lang, &e.into()),
        };
    let message = match check {
        SmsCheck::Accepted => {
            match state.store().set_account_phone(&tenant_id, &account.id, &phone, now).await {
                Ok(()) => {
                    let detail = json!({"sid": session.sid, "changed": account.phone.as_deref() != Some(phone.as_str())});
                    audit(&state, &tenant_id, "phone_verified", Some(&account.id), None, Some(&ip), detail)
                        .await;
                    return see_other(&home_url(&t));
                }
                Err(StoreError::Conflict(_)) => {
                    return show_account_with(
                        &state,
                        &t,
                        lang,
                        &headers,
                        &session,
                        &account,
                        Some(texts.phone_taken),
                        None,
                    )
                    .await;
                }
                Err(e) => return error_page(lang, &e.into()),
            }
        }
        SmsCheck::Wrong(left) => format!("{} {left}", texts.sms_wrong),
        SmsCheck::Gone => {
            return show_account_with(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                Some(texts.sms_gone),
                None,
            )
            .await;
        }
    };
    show_account_with(
        &state,
        &t,
        lang,
        &headers,
        &session,
        &account,
        Some(&message),
        Some(Pending::Phone(phone)),
    )
    .await
}
