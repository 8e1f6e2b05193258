//! Recovery of a lost second factor with a code sent to the account's verified phone, where the
//! tenant offers it (`sms_recovery`). It happens only in a sign-in to the account pages, after
//! the password: the code completes that sign-in (amr `pwd sms`, which the policy rates `aal1`)
//! and lands on the account page, where such a session may replace the lost factor
//! (`account::may_change_factors`). Other clients' second-factor pages link there. The code is
//! like every SMS code (6 digits, 5 minutes, 5 tries, per-number limits), and wrong ones count
//! towards the account's lockout.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::SmsCheck;
use idp_core::{OAuthError, sms};
use serde_json::json;

use crate::http::pages::error_page;
use crate::http::session::audit;
use crate::http::signin::factor::{Factors, factor_page_with, factors_of, second_factor_done};
use crate::http::signin::interaction::{Loaded, credential_failed, posted};
use crate::http::signin::sms::{phone_limits, send_code};
use crate::http::{State, param};
use crate::state::AppState;

const PURPOSE: &str = "recovery";

/// The pending sign-in to the account pages and the account's factors, with the phone a
/// recovery code may go to; `Err` is the response to send instead.
async fn recovering(state: &AppState, l: &Loaded) -> Result<(String, Factors, String), Response> {
    let refuse = || error_page(l.lang, &OAuthError::invalid_request(l.lang.texts().expired_interaction));
    let Some(p) = &l.interaction.pending else { return Err(refuse()) };
    if !l.ask.first_party {
        return Err(refuse());
    }
    match factors_of(state, &l.t, &p.account_id).await {
        Ok(f) => match f.phone.clone() {
            Some(phone) => Ok((p.account_id.clone(), f, phone)),
            None => Err(refuse()),
        },
        Err(e) => Err(error_page(l.lang, &e)),
    }
}

/// Sends a recovery code to the verified phone.
pub async fn send(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, _) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (account_id, mut f, phone) = match recovering(&state, &l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(sender) = state.sms.clone() else {
        return error_page(l.lang, &OAuthError::server_error("no sender"));
    };
    let t = l.lang.texts();
    let (tenant_id, now) = (l.t.tenant.id.clone(), state.env().now());
    let ip = crate::http::client_ip(&state, &headers, peer);
    let limited =
        match state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await {
            Ok(()) => phone_limits(&state, &tenant_id, &phone, PURPOSE).await,
            Err(wait) => Err(wait),
        };
    if let Err(wait) = limited {
        f.sms_sent = true;
        return crate::http::limited(
            factor_page_with(&l, &headers, f, Some(t.too_many.into()), StatusCode::TOO_MANY_REQUESTS),
            wait,
        );
    }
    if let Err(e) = send_code(&state, sender, &tenant_id, &phone, PURPOSE, l.lang).await {
        return error_page(l.lang, &e);
    }
    audit(
        &state,
        &tenant_id,
        "sms_code_sent",
        Some(&account_id),
        None,
        Some(&ip),
        json!({"purpose": PURPOSE}),
    )
    .await;
    f.sms_sent = true;
    factor_page_with(&l, &headers, f, Some(t.sms_sent.into()), StatusCode::OK)
}

/// Checks the recovery code; a right one completes the sign-in to the account pages.
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
    let (account_id, mut f, phone) = match recovering(&state, &l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = l.lang.texts();
    let (tenant_id, now) = (l.t.tenant.id.clone(), state.env().now());
    let ip = crate::http::client_ip(&state, &headers, peer);
    // a locked account stays locked here too: failures of any factor count (docs/domain.md)
    match state.store().account(&tenant_id, &account_id).await {
        Ok(Some(a)) if a.locked_until.is_some_and(|u| u > now) => {
            let until = a.locked_until.unwrap_or(now);
            let msg =
                format!("{} {}", t.locked, crate::http::signin::interaction::lock_end(&state, &l.t, until));
            return factor_page_with(&l, &headers, f, Some(msg), StatusCode::OK);
        }
        Ok(_) => {}
        Err(e) => return error_page(l.lang, &e.into()),
    }
    if let Err(wait) = state
        .limits
        .signin_account
        .check_shared(state.store(), now, &format!("{tenant_id}:sms:{phone}"))
        .await
    {
        f.sms_sent = true;
        return crate::http::limited(
            factor_page_with(&l, &headers, f, Some(t.too_many.into()), StatusCode::TOO_MANY_REQUESTS),
            wait,
        );
    }
    let mac = sms::code_mac(
        &state.ops.kek,
        l.t.keys.suite.mac_alg(),
        &tenant_id,
        &phone,
        PURPOSE,
        param(&params, "sms_code").unwrap_or_default(),
    );
    let check =
        match state.store().take_sms_code(&tenant_id, &phone, PURPOSE, &mac, now, sms::MAX_ATTEMPTS).await {
            Ok(c) => c,
            Err(e) => return error_page(l.lang, &e.into()),
        };
    if check != SmsCheck::Accepted {
        let client_id = &l.ask.party;
        let msg = match credential_failed(&state, &tenant_id, &account_id, client_id, &ip, "sms_recovery")
            .await
        {
            Ok(Some(until)) => {
                format!("{} {}", t.locked, crate::http::signin::interaction::lock_end(&state, &l.t, until))
            }
            Ok(None) => match check {
                SmsCheck::Wrong(left) => {
                    f.sms_sent = true;
                    format!("{} {left}", t.sms_wrong)
                }
                _ => t.sms_gone.into(),
            },
            Err(e) => return error_page(l.lang, &e),
        };
        return factor_page_with(&l, &headers, f, Some(msg), StatusCode::OK);
    }
    audit(
        &state,
        &tenant_id,
        "factor_recovery",
        Some(&account_id),
        None,
        Some(&ip),
        json!({"method": "sms"}),
    )
    .await;
    second_factor_done(&state, &l, &headers, &account_id, None, &["sms"], &ip).await
}
