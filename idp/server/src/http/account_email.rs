//! The email address on the account pages (issue 7 §4, contact verification): set or change
//! it, proven by a code sent to it — 6 digits, 5 minutes, 5 tries, one a minute and five an hour
//! per address, stored only as an HMAC, exactly like the phone's SMS codes (the same table and
//! limits, keyed by the address, purpose `email`). The `email_verified` claim says whether the
//! address was proven, and clients may link accounts by it, so changing it follows the rule
//! for factors (`account::may_change_factors`): a stolen password alone cannot change it.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::SmsCheck;
use idp_core::sms;
use serde_json::json;

use super::State;
use super::account::{Pending, Posted, home_url, may_change_factors, posted, show_account_with};
use super::authorize::see_other;
use super::pages::error_page;
use super::session::audit;
use super::sms::{NotSent, send_verification};

const PURPOSE: &str = "email";

/// The address in canonical form (the domain in lower case), or `None` when it is not one.
pub fn normalise_email(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let (local, domain) = typed.rsplit_once('@')?;
    let fine = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
    (typed.len() <= 254 && local.len() <= 64 && fine(local) && fine(domain) && labels_ok)
        .then(|| format!("{local}@{}", domain.to_lowercase()))
}

/// Sends a code to the address typed.
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
            pending.map(Pending::Email),
        )
    };
    let Some(sender) = state.email.clone() else { return see_other(&home_url(&t)) };
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => return show(texts.need_aal2, None).await,
        Err(e) => return error_page(lang, &e),
    }
    let Some(email) = normalise_email(super::param(&params, "email").unwrap_or_default()) else {
        return show(texts.email_bad, None).await;
    };
    let ip = super::client_ip(&state, &headers, peer);
    let how = (lang, "email_code_sent");
    match send_verification(&state, &t.tenant.id, &account.id, &ip, sender, &email, PURPOSE, how).await {
        Ok(()) => show(texts.email_code_sent, Some(email)).await,
        Err(NotSent::Limited(wait)) => super::limited(show(texts.too_many, Some(email)).await, wait),
        Err(NotSent::Failed(e)) => error_page(lang, &e),
    }
}

/// Checks the code; a right one sets the address as the account's, verified now.
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
            let msg = Some(texts.need_aal2);
            return show_account_with(&state, &t, lang, &headers, &session, &account, msg, None).await;
        }
        Err(e) => return error_page(lang, &e),
    }
    let Some(email) = normalise_email(super::param(&params, "email").unwrap_or_default()) else {
        return see_other(&home_url(&t));
    };
    let now = state.env().now();
    let tenant_id = t.tenant.id.clone();
    let code = super::param(&params, "code").unwrap_or_default();
    let mac = sms::code_mac(&state.ops.kek, &tenant_id, &email, PURPOSE, code);
    let check =
        match state.store().take_sms_code(&tenant_id, &email, PURPOSE, &mac, now, sms::MAX_ATTEMPTS).await {
            Ok(c) => c,
            Err(e) => return error_page(lang, &e.into()),
        };
    let message = match check {
        SmsCheck::Accepted => {
            if let Err(e) = state.store().set_account_email(&tenant_id, &account.id, &email, now).await {
                return error_page(lang, &e.into());
            }
            let ip = super::client_ip(&state, &headers, peer);
            let detail = json!({"changed": account.email.as_deref() != Some(email.as_str())});
            audit(&state, &tenant_id, "email_verified", Some(&account.id), None, Some(&ip), detail).await;
            return see_other(&home_url(&t));
        }
        SmsCheck::Wrong(left) => (format!("{} {left}", texts.sms_wrong), Some(Pending::Email(email))),
        SmsCheck::Gone => (texts.sms_gone.to_string(), None),
    };
    show_account_with(&state, &t, lang, &headers, &session, &account, Some(&message.0), message.1).await
}

#[cfg(test)]
mod tests {
    use super::normalise_email;

    #[test]
    fn addresses_are_checked_and_their_domain_lower_cased() {
        assert_eq!(normalise_email(" Li.Wei@Example.GOV.cn ").as_deref(), Some("Li.Wei@example.gov.cn"));
        for bad in ["", "a", "a@", "@b.cn", "a@b", "a b@c.cn", "a@b..cn", "a@b.c n", "a@@b.cn"] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
    }
}
