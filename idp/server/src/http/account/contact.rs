//! The phone number and the email address on the account pages (contact
//! verification): set or change either, proven by a code sent to it — 6 digits, 5 minutes, 5
//! tries, one a minute and five an hour per address, stored only as an HMAC (the SMS codes'
//! table and limits, keyed by the address; purpose `verify` for the phone, like sign-in
//! codes, and `email` for the address). The number is stored in E.164 and the address with its
//! domain in lower case, each with the time it was proven; `phone_number_verified` and
//! `email_verified` say so. The number is a way to sign in and clients may link accounts by
//! the address, so changing either follows the rule for factors (`account::may_change_factors`):
//! a stolen password alone cannot. Whether another account has the number is said only after
//! its code was given: only the holder of the number learns it.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::StoreError;
use idp_core::model::{Account, SmsCheck};
use idp_core::sms;
use serde_json::json;

use crate::http::State;
use crate::http::account::{Note, Pending, Posted, may_change_factors, posted, show_account_with};
use crate::http::pages::{Texts, error_page};
use crate::http::see_other;
use crate::http::session::audit;
use crate::http::signin::sms::{NotSent, send_verification};

/// Which contact a page's form is about.
#[derive(Clone, Copy)]
enum Contact {
    Phone,
    Email,
}

impl Contact {
    /// The form field, and the address's name in the audit trail's kind (`phone_verified`).
    fn field(self) -> &'static str {
        match self {
            Contact::Phone => "phone",
            Contact::Email => "email",
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Contact::Phone => "verify",
            Contact::Email => "email",
        }
    }

    fn normalise(self, typed: &str) -> Option<String> {
        match self {
            Contact::Phone => sms::normalise_phone(typed),
            Contact::Email => normalise_email(typed),
        }
    }

    fn pending(self, address: String) -> Pending {
        match self {
            Contact::Phone => Pending::Phone(address),
            Contact::Email => Pending::Email(address),
        }
    }

    fn current(self, account: &Account) -> Option<&str> {
        match self {
            Contact::Phone => account.phone.as_deref(),
            Contact::Email => account.email.as_deref(),
        }
    }

    fn sender(
        self,
        state: &crate::state::AppState,
    ) -> Option<std::sync::Arc<dyn crate::outbound::sms::SmsSender>> {
        match self {
            Contact::Phone => state.sms.clone(),
            Contact::Email => state.email.clone(),
        }
    }

    /// What the page says of an unusable address, and of a code sent; the sent message's kind.
    fn texts(self, texts: &'static Texts) -> (&'static str, &'static str, &'static str) {
        match self {
            Contact::Phone => (texts.bad_phone, texts.phone_code_sent, "sms_code_sent"),
            Contact::Email => (texts.email_bad, texts.email_code_sent, "email_code_sent"),
        }
    }
}

/// The address in canonical form (the domain in lower case), or `None` when it is not one.
pub fn normalise_email(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let (local, domain) = typed.rsplit_once('@')?;
    let fine = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
    (typed.len() <= 254 && local.len() <= 64 && fine(local) && fine(domain) && labels_ok)
        .then(|| format!("{local}@{}", domain.to_lowercase()))
}

/// Sends a code to the number typed.
pub async fn send_phone(
    state: State,
    slug: Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(Contact::Phone, state, slug, peer, headers, body).await
}

/// Checks the code; a right one sets the number as the account's, verified now.
pub async fn verify_phone(
    state: State,
    slug: Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    verify(Contact::Phone, state, slug, peer, headers, body).await
}

/// Sends a code to the address typed.
pub async fn send_email(
    state: State,
    slug: Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(Contact::Email, state, slug, peer, headers, body).await
}

/// Checks the code; a right one sets the address as the account's, verified now.
pub async fn verify_email(
    state: State,
    slug: Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    verify(Contact::Email, state, slug, peer, headers, body).await
}

/// The signed-in person's form, once the session may change factors (`may_change_factors`);
/// else the page that says why not.
async fn open(state: &State, slug: &str, headers: &HeaderMap, body: &Bytes) -> Result<Posted, Response> {
    let posted = posted(state, slug, headers, body).await?;
    match may_change_factors(state, &posted.t, &posted.session).await {
        Ok(true) => Ok(posted),
        Ok(false) => {
            let Posted { t, lang, session, account, .. } = &posted;
            let note = Some(Note::Problem(lang.texts().need_aal2));
            Err(show_account_with(
                state,
                t,
                *lang,
                headers,
                session,
                account,
                crate::http::account::Section::Profile,
                note,
                None,
            )
            .await)
        }
        Err(e) => Err(error_page(posted.lang, &e)),
    }
}

async fn send(
    contact: Contact,
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } = match open(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(sender) = contact.sender(&state) else {
        return see_other(&crate::http::account::Section::Profile.url(&t));
    };
    let texts = lang.texts();
    let show = |note: Note<'static>, pending: Option<String>| {
        let pending = pending.map(|a| contact.pending(a));
        show_account_with(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            crate::http::account::Section::Profile,
            Some(note),
            pending,
        )
    };
    let (bad, sent, kind) = contact.texts(texts);
    let Some(address) = contact.normalise(crate::http::param(&params, contact.field()).unwrap_or_default())
    else {
        return show(Note::Problem(bad), None).await;
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    let purpose = contact.purpose();
    match send_verification(&state, &t.tenant.id, &account.id, &ip, sender, &address, purpose, (lang, kind))
        .await
    {
        Ok(()) => show(Note::Done(sent), Some(address)).await,
        Err(NotSent::Limited(wait)) => {
            crate::http::limited(show(Note::Problem(texts.too_many), Some(address)).await, wait)
        }
        Err(NotSent::Failed(e)) => error_page(lang, &e),
    }
}

async fn verify(
    contact: Contact,
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } = match open(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let page = (&state, &t, &headers, &session, &account);
    let show = |msg: String, pending: Option<String>| {
        let pending = pending.map(|a| contact.pending(a));
        let (state, t, headers, session, account) = page;
        async move {
            show_account_with(
                state,
                t,
                lang,
                headers,
                session,
                account,
                crate::http::account::Section::Profile,
                Some(Note::Problem(&msg)),
                pending,
            )
            .await
        }
    };
    let Some(address) = contact.normalise(crate::http::param(&params, contact.field()).unwrap_or_default())
    else {
        return see_other(&crate::http::account::Section::Profile.url(&t));
    };
    let now = state.env().now();
    let tenant_id = t.tenant.id.clone();
    let (purpose, code) = (contact.purpose(), crate::http::param(&params, "code").unwrap_or_default());
    let mac = sms::code_mac(&state.ops.kek, t.keys.suite.mac_alg(), &tenant_id, &address, purpose, code);
    let check = match state
        .store()
        .take_sms_code(&tenant_id, &address, purpose, &mac, now, sms::MAX_ATTEMPTS)
        .await
    {
        Ok(c) => c,
        Err(e) => return error_page(lang, &e.into()),
    };
    match check {
        SmsCheck::Accepted => {
            let set = match contact {
                Contact::Phone => {
                    state.store().set_account_phone(&tenant_id, &account.id, &address, now).await
                }
                Contact::Email => {
                    state.store().set_account_email(&tenant_id, &account.id, &address, now).await
                }
            };
            match set {
                Ok(()) => {
                    let ip = crate::http::client_ip(&state, &headers, peer);
                    let changed = contact.current(&account) != Some(address.as_str());
                    let detail = json!({"sid": session.sid, "changed": changed});
                    let kind = format!("{}_verified", contact.field());
                    audit(&state, &tenant_id, &kind, Some(&account.id), None, Some(&ip), detail).await;
                    see_other(&crate::http::account::Section::Profile.url(&t))
                }
                // (only a number is unique to one account)
                Err(StoreError::Conflict(_)) if matches!(contact, Contact::Phone) => {
                    show(texts.phone_taken.to_string(), None).await
                }
                Err(e) => error_page(lang, &e.into()),
            }
        }
        SmsCheck::Wrong(left) => show(format!("{} {left}", texts.sms_wrong), Some(address)).await,
        SmsCheck::Gone => show(texts.sms_gone.to_string(), None).await,
    }
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
