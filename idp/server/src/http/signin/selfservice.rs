//! Self-service on the sign-in page, each where the tenant offers it (`OfferedFactors`) and an
//! SMS sender is configured: **registration** (a phone number proven by an SMS code, a password
//! against the tenant's rules, optionally a real-name binding at once; the new account is then
//! signed in and the interaction carries on) and **forgotten password** (a code to the
//! account's verified phone, then a new password; the person then signs in as usual, so a
//! second factor the account has is still asked: a reset never stands in for it).
//!
//! Neither tells who has an account. The answer to "send a code" is the same, and as fast,
//! whatever the number: registering a number that already has an account sends its holder a
//! notice instead of a code; resetting for a number no account has verified sends nothing. In
//! both cases a code is stored that was never sent, so that wrong codes answer alike too. Only
//! the holder of the phone learns anything. The sending limits are SMS sign-in's (per IP, one
//! code a minute and five an hour per number and purpose), the code tries the sign-in's.
//!
//! What an attacker holding the phone (a swapped SIM) or scripting the pages could do, and
//! what stops it:
//! - A password set by a code to the phone is not a second secret: for [`RECOVERY_PAUSE`]
//!   after such a reset, SMS recovery of a lost second factor is not offered
//!   (`factor::factors_of`), so the phone alone never stands in for both factors.
//! - A wrong reset code counts towards the account's lockout like a wrong SMS sign-in code
//!   (an unknown number's costs the same one write); a locked account is not reset (the code
//!   answers as used), and a reset does not clear a lockout.
//! - Registration sends codes only to mainland mobile numbers (`+86 1…`, no premium-rate or
//!   foreign ranges), at most [`REGISTER_SENDS_PER_HOUR`] a tenant an hour besides the limits
//!   above, and a number that already has an account gets at most one notice a day.
//! - The real-name fields at registration appear only where an identity-verification provider
//!   is configured: a self-asserted binding by a fresh account would let anyone squat a
//!   leaked ID number.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::SmsCheck;
use idp_core::{password, sms};
use serde_json::json;

use crate::http::account::password::{hash_new, problem_text, rules_text};
use crate::http::pages::{Texts, error_page, id_types, render, with_form_action};
use crate::http::session::audit;
use crate::http::signin::engine::interaction_url;
use crate::http::signin::interaction::{
    Loaded, credential_failed, first_factor_done, ghost_failure, lang_switch, load, login_page_with, posted,
};
use crate::http::signin::sms::{phone_limits, put_code, send_code};
use crate::http::{State, param, see_other};
use crate::ops::NewAccount;
use crate::state::AppState;

/// How long after a password reset by phone SMS recovery of a lost second factor is refused.
pub const RECOVERY_PAUSE: i64 = 30 * 86_400;
/// Registration codes a tenant sends in an hour at most (SMS pumping: every one costs money).
pub const REGISTER_SENDS_PER_HOUR: i64 = 500;

/// Whether the account's password was set by a code to its phone within [`RECOVERY_PAUSE`].
pub(crate) async fn reset_by_phone_lately(state: &AppState, tenant_id: &str, account_id: &str) -> bool {
    let since = state.env().now() - RECOVERY_PAUSE;
    match state.store().account_events(tenant_id, account_id, "password_reset", 5).await {
        Ok(events) => events.iter().any(|e| e.at >= since && e.detail["via"] == "sms"),
        // (unknown: the safe answer)
        Err(_) => true,
    }
}

/// Which self-service.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Register,
    Reset,
}

impl Flow {
    fn named(path: &str) -> Option<Flow> {
        [Flow::Register, Flow::Reset].into_iter().find(|f| f.purpose() == path)
    }

    fn purpose(self) -> &'static str {
        match self {
            Flow::Register => "register",
            Flow::Reset => "reset",
        }
    }

    /// Offered here: the tenant's switch and an SMS sender (`Loaded`).
    fn offered(self, l: &Loaded) -> bool {
        match self {
            Flow::Register => l.register,
            Flow::Reset => l.reset,
        }
    }

    fn title(self, t: &Texts) -> &'static str {
        match self {
            Flow::Register => t.reg_title,
            Flow::Reset => t.reset_title,
        }
    }
}

#[derive(Template)]
#[template(path = "selfservice.html")]
struct SelfServicePage<'a> {
    t: &'a Texts,
    lang_switch: Option<String>,
    title: &'static str,
    client_name: &'a str,
    register: bool,
    error: Option<String>,
    notice: Option<&'a str>,
    /// `/t/{tenant}/interaction/{id}/{register|reset}`: `/send` and `/finish` below it.
    action: String,
    /// The sign-in page.
    back: String,
    csrf: &'a str,
    phone: &'a str,
    code_step: bool,
    pw_rules: Vec<(String, String)>,
    /// The optional real-name fields (registration, where binding is possible).
    realname: bool,
    /// A reset may go by email as well as by phone: the field takes either.
    by_email: bool,
    id_types: Vec<(&'static str, &'static str)>,
}

fn page(
    flow: Flow,
    l: &Loaded,
    headers: &HeaderMap,
    phone: &str,
    code_step: bool,
    (error, notice): (Option<String>, Option<&str>),
) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let base = interaction_url(&l.t, &l.interaction.id);
    let texts = l.lang.texts();
    let p = SelfServicePage {
        t: texts,
        lang_switch: lang_switch(l),
        title: flow.title(texts),
        client_name: &l.client_name,
        register: flow == Flow::Register,
        error,
        notice,
        action: format!("{base}/{}", flow.purpose()),
        back: base,
        csrf: &csrf,
        phone,
        code_step,
        pw_rules: rules_text(l.t.tenant.settings.policy.password_rules(), texts),
        realname: flow == Flow::Register && l.verifier,
        by_email: flow == Flow::Reset && l.email,
        id_types: id_types(texts),
    };
    with_form_action(render(StatusCode::OK, &p), Some(&l.ask.return_to))
}

/// `GET /t/{tenant}/interaction/{id}/{register|reset}`: the first page.
pub async fn show(
    state: State,
    Path((slug, id, flow)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(flow) = Flow::named(&flow) else { return crate::http::pages::page_not_found(headers).await };
    match load(&state, &slug, &id, &headers).await {
        Ok(l) if flow.offered(&l) => page(flow, &l, &headers, "", false, (None, None)),
        Ok(l) => see_other(&interaction_url(&l.t, &l.interaction.id)),
        Err(r) => r,
    }
}

/// Where a code goes: a phone number (E.164), or, for a reset where email is offered, an
/// email address (`normalise_email`).
enum To {
    Phone(String),
    Email(String),
}

impl To {
    fn parse(flow: Flow, state: &AppState, typed: &str) -> Option<To> {
        if flow == Flow::Reset && typed.contains('@') && state.email.is_some() {
            return crate::http::account::contact::normalise_email(typed).map(To::Email);
        }
        let phone = sms::normalise_phone(typed)?;
        // registration texts strangers' numbers: mainland mobile numbers only
        let mainland_mobile = phone
            .strip_prefix("+86")
            .is_some_and(|r| r.len() == 11 && r.starts_with('1') && matches!(r.as_bytes()[1], b'3'..=b'9'));
        (flow == Flow::Reset || mainland_mobile).then_some(To::Phone(phone))
    }

    fn address(&self) -> &str {
        match self {
            To::Phone(a) | To::Email(a) => a,
        }
    }

    fn sender(&self, state: &AppState) -> Option<std::sync::Arc<dyn crate::outbound::sms::SmsSender>> {
        match self {
            To::Phone(_) => state.sms.clone(),
            To::Email(_) => state.email.clone(),
        }
    }
}

/// Whose the address is, for this flow.
enum Holder {
    None,
    One(Box<idp_core::model::Account>),
    /// Several accounts proved the same email address: a reset by it cannot tell which.
    Many,
}

/// For registration any account with the number; for a reset one that verified the number
/// or the address and is not disabled.
async fn holder(
    state: &AppState,
    tenant_id: &str,
    to: &To,
    flow: Flow,
) -> Result<Holder, idp_core::OAuthError> {
    match to {
        To::Phone(phone) => {
            let found = state.store().account_by_login(tenant_id, phone).await?;
            Ok(
                match found.filter(|a| {
                    a.phone.as_deref() == Some(phone.as_str())
                        && (flow == Flow::Register || (a.phone_verified_at.is_some() && !a.disabled))
                }) {
                    Some(a) => Holder::One(Box::new(a)),
                    None => Holder::None,
                },
            )
        }
        To::Email(email) => {
            let mut found = state.store().accounts_by_verified_email(tenant_id, email, 2).await?;
            found.retain(|a| !a.disabled);
            Ok(match found.len() {
                0 => Holder::None,
                1 => Holder::One(Box::new(found.remove(0))),
                _ => Holder::Many,
            })
        }
    }
}

/// One hit on a window of `seconds` under `key`; `Err(wait)` beyond `limit`.
async fn window(state: &AppState, key: &str, seconds: i64, limit: i64) -> Result<(), u64> {
    let now = state.env().now();
    let start = now - now.rem_euclid(seconds);
    match state.store().count_hit(key, start).await {
        Ok(hits) if hits > limit => Err((start + seconds - now).max(1) as u64),
        _ => Ok(()),
    }
}

/// [`notify`], at most once a day to an address (the notice must not become a way to pester
/// someone).
async fn notify_daily(
    state: &AppState,
    tenant_id: &str,
    sender: std::sync::Arc<dyn crate::outbound::sms::SmsSender>,
    to: &str,
    message: String,
) {
    let key = format!("notice:{tenant_id}:{}", idp_core::crypto::sha256_hex(to.as_bytes()));
    if window(state, &key, 86_400, 1).await.is_ok() {
        notify(sender, to, message);
    }
}

/// A message in place of a code (sent after the answer, like a code).
fn notify(sender: std::sync::Arc<dyn crate::outbound::sms::SmsSender>, to: &str, message: String) {
    let to = to.to_string();
    tokio::spawn(async move {
        if let Err(why) = sender.send(&to, &message).await {
            tracing::warn!(error = %why, "a notice could not be sent");
        }
    });
}

/// `POST …/{register|reset}/send`: a code (or what stands for one) to the address typed.
pub async fn send(
    state: State,
    Path((slug, id, flow)): Path<(String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(flow) = Flow::named(&flow) else { return crate::http::pages::page_not_found(headers).await };
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !flow.offered(&l) {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    }
    let t = l.lang.texts();
    let typed = param(&params, "phone").unwrap_or_default();
    let Some((to, sender)) = To::parse(flow, &state, typed).and_then(|to| to.sender(&state).map(|s| (to, s)))
    else {
        return page(flow, &l, &headers, "", false, (Some(bad_address(flow, &state, t).into()), None));
    };
    let address = to.address();
    let tenant_id = l.t.tenant.id.clone();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let limited =
        match state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await {
            Ok(()) => phone_limits(&state, &tenant_id, address, flow.purpose()).await,
            Err(wait) => Err(wait),
        };
    let limited = match (limited, flow) {
        (Ok(()), Flow::Register) => {
            let key = format!("register-sends:{tenant_id}");
            window(&state, &key, 3600, REGISTER_SENDS_PER_HOUR).await
        }
        (other, _) => other,
    };
    if let Err(wait) = limited {
        let again = page(flow, &l, &headers, address, false, (Some(t.too_many.into()), None));
        return crate::http::limited(again, wait);
    }
    let holder = match holder(&state, &tenant_id, &to, flow).await {
        Ok(h) => h,
        Err(e) => return error_page(l.lang, &e),
    };
    // a code for whom it is meant; for anyone else one that is stored and never sent
    let brand = &t.look().name;
    let sent = match (flow, &holder) {
        (Flow::Register, Holder::None) | (Flow::Reset, Holder::One(_)) => {
            send_code(&state, sender, &tenant_id, address, flow.purpose(), l.lang).await
        }
        (Flow::Register, _) => {
            notify_daily(&state, &tenant_id, sender, address, t.reg_taken_sms.replace("{brand}", brand))
                .await;
            put_code(&state, &tenant_id, address, flow.purpose()).await.map(|_| ())
        }
        (Flow::Reset, Holder::Many) => {
            notify_daily(&state, &tenant_id, sender, address, t.reset_many.replace("{brand}", brand)).await;
            put_code(&state, &tenant_id, address, flow.purpose()).await.map(|_| ())
        }
        (Flow::Reset, Holder::None) => {
            put_code(&state, &tenant_id, address, flow.purpose()).await.map(|_| ())
        }
    };
    if let Err(e) = sent {
        return error_page(l.lang, &e);
    }
    let account = match &holder {
        Holder::One(a) => Some(a.id.as_str()),
        _ => None,
    };
    // what went out, for an investigation (the same one write whichever it was)
    let kind = match (flow, &holder) {
        (Flow::Register, Holder::None) | (Flow::Reset, Holder::One(_)) => "sms_code_sent",
        (Flow::Register, _) | (Flow::Reset, Holder::Many) => "sms_notice_sent",
        (Flow::Reset, Holder::None) => "sms_code_withheld",
    };
    let via = if matches!(to, To::Email(_)) { "email" } else { "sms" };
    let detail = json!({"purpose": flow.purpose(), "via": via});
    audit(&state, &tenant_id, kind, account, None, Some(&ip), detail).await;
    // (a number with an account got a message too: the notice)
    let said = if flow == Flow::Register { t.reg_sent } else { t.ss_sent };
    page(flow, &l, &headers, address, true, (None, Some(said)))
}

/// What the page says of an address it cannot use.
fn bad_address(flow: Flow, state: &AppState, t: &'static Texts) -> &'static str {
    if flow == Flow::Reset && state.email.is_some() { t.ss_bad_address } else { t.bad_phone }
}

/// `POST …/{register|reset}/finish`: the code and the new password.
pub async fn finish(
    state: State,
    Path((slug, id, flow)): Path<(String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(flow) = Flow::named(&flow) else { return crate::http::pages::page_not_found(headers).await };
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !flow.offered(&l) {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    }
    let t = l.lang.texts();
    let Some(to) = To::parse(flow, &state, param(&params, "phone").unwrap_or_default()) else {
        return page(flow, &l, &headers, "", false, (Some(bad_address(flow, &state, t).into()), None));
    };
    let phone = to.address().to_string();
    let refuse = |why: String| page(flow, &l, &headers, &phone, true, (Some(why), None));
    let tenant_id = l.t.tenant.id.clone();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let key = format!("{tenant_id}:{}:{phone}", flow.purpose());
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), now, &key).await {
        return crate::http::limited(refuse(t.too_many.into()), wait);
    }
    // the password first: a mistake there keeps the code for the next try
    let new = param(&params, "new").unwrap_or_default().to_string();
    if new != param(&params, "again").unwrap_or_default() {
        return refuse(t.pw_mismatch.into());
    }
    let rules = l.t.tenant.settings.policy.password_rules();
    if let Err(p) = password::check_rules_for(&new, rules, &password::personal_words(&[phone.as_str()])) {
        return refuse(problem_text(&p, t));
    }
    let code = param(&params, "code").unwrap_or_default();
    let mac =
        sms::code_mac(&state.ops.kek, l.t.keys.suite.mac_alg(), &tenant_id, &phone, flow.purpose(), code);
    let check = match state
        .store()
        .take_sms_code(&tenant_id, &phone, flow.purpose(), &mac, now, sms::MAX_ATTEMPTS)
        .await
    {
        Ok(c) => c,
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let holder = match holder(&state, &tenant_id, &to, flow).await {
        Ok(h) => h,
        Err(e) => return error_page(l.lang, &e),
    };
    if flow == Flow::Reset && check != SmsCheck::Accepted {
        // a wrong reset code counts as a wrong sign-in code would (an unknown address's costs
        // the same one write)
        match &holder {
            Holder::One(a) => {
                let client = &l.ask.party;
                if let Err(e) = credential_failed(&state, &tenant_id, &a.id, client, &ip, "sms_reset").await {
                    return error_page(l.lang, &e);
                }
            }
            _ => ghost_failure(&state, &tenant_id, &phone).await,
        }
    }
    match check {
        SmsCheck::Accepted => {}
        SmsCheck::Wrong(left) => return refuse(format!("{} {left}", t.sms_wrong)),
        _ => return page(flow, &l, &headers, &phone, false, (Some(t.sms_gone.into()), None)),
    }
    // the address is proven from here on; a locked account is not reset (the code answers as
    // used, as for an address without an account)
    let holder = match holder {
        Holder::One(a) if a.locked_until.is_some_and(|u| u > now) => Holder::None,
        other => other,
    };
    match (flow, holder, &to) {
        (Flow::Register, Holder::None, To::Phone(_)) => {
            register(&state, &l, &headers, &params, &phone, &new, &ip).await
        }
        (Flow::Register, ..) => refuse(t.reg_taken.into()),
        (Flow::Reset, Holder::One(account), _) => reset(&state, &l, &headers, *account, &to, &new, &ip).await,
        // (a code no one was sent cannot be accepted; an account that lost the address since)
        (Flow::Reset, ..) => page(flow, &l, &headers, &phone, false, (Some(t.sms_gone.into()), None)),
    }
}

/// The new account: a generated username (people sign in with the phone number), the proven
/// number, the password; the real-name binding if the fields were filled in (a refusal leaves
/// the account unbound, shown on the account centre); then signed in by the code.
async fn register(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    params: &[(String, String)],
    phone: &str,
    new: &str,
    ip: &str,
) -> Response {
    let Some(hash) = hash_new(state, new).await else {
        return error_page(l.lang, &idp_core::OAuthError::server_error("could not hash the password"));
    };
    let person = NewAccount {
        username: generated_username(state.env()),
        password: None,
        name: None,
        phone: Some(phone.to_string()),
        email: None,
        roles: vec![],
    };
    let account = match state.ops.add_account(&l.t.tenant.slug, person).await {
        Ok(a) => a,
        // a race with another registration of the number (`Ops::add_account` says "taken")
        Err(e) if e.to_string().contains("taken") => {
            return page(
                Flow::Register,
                l,
                headers,
                phone,
                false,
                (Some(l.lang.texts().reg_taken.into()), None),
            );
        }
        Err(e) => return error_page(l.lang, &idp_core::OAuthError::server_error(e.to_string())),
    };
    let now = state.env().now();
    let tenant_id = &l.t.tenant.id;
    let written = match state.store().set_password_hash(tenant_id, &account.id, &hash, now).await {
        Ok(()) => state.store().set_account_phone(tenant_id, &account.id, phone, now).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        return error_page(l.lang, &e.into());
    }
    let account = idp_core::model::Account { phone_verified_at: Some(now), ..account };
    audit(
        state,
        tenant_id,
        "account_registered",
        Some(&account.id),
        Some(&l.ask.party),
        Some(ip),
        json!({"via": "sms"}),
    )
    .await;
    let name = param(params, "name").unwrap_or_default();
    let number = param(params, "id_number").unwrap_or_default();
    // (only by a provider: see the module's head)
    if !name.trim().is_empty() && !number.trim().is_empty() && state.verifier_for(&l.t).is_some() {
        let id_type = param(params, "id_type").unwrap_or_default();
        let via = crate::http::signin::realname::Via::Person;
        if crate::http::signin::realname::bind(state, &l.t, &account, name, id_type, number, via)
            .await
            .is_err()
        {
            // (the account centre says it is not bound and offers the form)
            let detail = json!({"at": "registration"});
            audit(state, &l.t.tenant.id, "realname_refused", Some(&account.id), None, None, detail).await;
        }
    }
    first_factor_done(state, l, headers, &account.id, vec!["sms".into()], ip).await
}

/// The new password; every session of the account ends (whoever knew the old one is out),
/// and the person signs in with it as usual (a lockout stays: the next full sign-in ends it).
async fn reset(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account: idp_core::model::Account,
    to: &To,
    new: &str,
    ip: &str,
) -> Response {
    let t = l.lang.texts();
    let phone = to.address();
    let details = [Some(account.username.as_str()), account.name.as_deref(), account.email.as_deref()];
    let personal = password::personal_words(&details.into_iter().flatten().collect::<Vec<_>>());
    if let Err(p) = password::check_rules_for(new, l.t.tenant.settings.policy.password_rules(), &personal) {
        // (the code is used: the page starts again)
        return page(Flow::Reset, l, headers, phone, false, (Some(problem_text(&p, t)), None));
    }
    let Some(hash) = hash_new(state, new).await else {
        return error_page(l.lang, &idp_core::OAuthError::server_error("could not hash the password"));
    };
    let now = state.env().now();
    let tenant_id = &l.t.tenant.id;
    if let Err(e) = state.store().set_password_hash(tenant_id, &account.id, &hash, now).await {
        return error_page(l.lang, &e.into());
    }
    let sessions = match state.store().account_sessions(tenant_id, &account.id, now).await {
        Ok(s) => s,
        Err(e) => return error_page(l.lang, &e.into()),
    };
    if let Err(e) = crate::http::signed_out::end_sessions(state, &l.t, &sessions, None).await {
        return error_page(l.lang, &e);
    }
    let via = if matches!(to, To::Email(_)) { "email" } else { "sms" };
    let detail = json!({"via": via, "sessions_ended": sessions.len()});
    audit(state, tenant_id, "password_reset", Some(&account.id), Some(&l.ask.party), Some(ip), detail).await;
    // the sign-in form filled in with what signs in: the number, or the username
    let login = if matches!(to, To::Email(_)) { account.username.as_str() } else { phone };
    login_page_with(l, headers, None, Some(t.reset_done), login, StatusCode::OK)
}

/// The username of an account the person did not name (registered by phone, or created by a
/// first sign-in through an upstream): `u` and ten random lower-case letters and digits.
pub(crate) fn generated_username(env: &dyn idp_core::Env) -> String {
    let tail: String = idp_core::crypto::random_token(env, 12)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    format!("u{tail}")
}
