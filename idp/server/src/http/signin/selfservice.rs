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
    Loaded, first_factor_done, lang_switch, load, login_page_with, posted,
};
use crate::http::signin::sms::{phone_limits, put_code, send_code};
use crate::http::{State, param, see_other};
use crate::ops::NewAccount;
use crate::state::AppState;

/// Which self-service.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Register,
    Reset,
}

impl Flow {
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
        realname: flow == Flow::Register,
        id_types: id_types(texts),
    };
    with_form_action(render(StatusCode::OK, &p), Some(&l.ask.return_to))
}

async fn show(flow: Flow, state: State, slug: String, id: String, headers: HeaderMap) -> Response {
    match load(&state, &slug, &id, &headers).await {
        Ok(l) if flow.offered(&l) => page(flow, &l, &headers, "", false, (None, None)),
        Ok(l) => see_other(&interaction_url(&l.t, &l.interaction.id)),
        Err(r) => r,
    }
}

pub async fn show_register(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    show(Flow::Register, state, slug, id, headers).await
}

pub async fn show_reset(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    show(Flow::Reset, state, slug, id, headers).await
}

/// The account a number belongs to, for this flow: any holder for registration; for a reset,
/// one that verified it and is not disabled.
async fn holder(
    state: &AppState,
    tenant_id: &str,
    phone: &str,
    flow: Flow,
) -> Result<Option<idp_core::model::Account>, idp_core::OAuthError> {
    let found = state.store().account_by_login(tenant_id, phone).await?;
    Ok(found.filter(|a| {
        a.phone.as_deref() == Some(phone)
            && (flow == Flow::Register || (a.phone_verified_at.is_some() && !a.disabled))
    }))
}

async fn send(
    flow: Flow,
    state: State,
    (slug, id): (String, String),
    peer: SocketAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(sender) = state.sms.clone().filter(|_| flow.offered(&l)) else {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    };
    let t = l.lang.texts();
    let Some(phone) = sms::normalise_phone(param(&params, "phone").unwrap_or_default()) else {
        return page(flow, &l, &headers, "", false, (Some(t.bad_phone.into()), None));
    };
    let tenant_id = l.t.tenant.id.clone();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let now = state.env().now();
    let limited =
        match state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await {
            Ok(()) => phone_limits(&state, &tenant_id, &phone, flow.purpose()).await,
            Err(wait) => Err(wait),
        };
    if let Err(wait) = limited {
        let again = page(flow, &l, &headers, &phone, false, (Some(t.too_many.into()), None));
        return crate::http::limited(again, wait);
    }
    let holder = match holder(&state, &tenant_id, &phone, flow).await {
        Ok(h) => h,
        Err(e) => return error_page(l.lang, &e),
    };
    // a code for whom it is meant; for anyone else one that is stored and never sent
    let sent = match (flow, &holder) {
        (Flow::Register, None) | (Flow::Reset, Some(_)) => {
            send_code(&state, sender, &tenant_id, &phone, flow.purpose(), l.lang).await
        }
        (Flow::Register, Some(_)) => {
            let notice = t.reg_taken_sms.replace("{brand}", &t.look().name);
            let to = phone.clone();
            tokio::spawn(async move {
                if let Err(why) = sender.send(&to, &notice).await {
                    tracing::warn!(error = %why, "a notice could not be sent");
                }
            });
            put_code(&state, &tenant_id, &phone, flow.purpose()).await.map(|_| ())
        }
        (Flow::Reset, None) => put_code(&state, &tenant_id, &phone, flow.purpose()).await.map(|_| ()),
    };
    if let Err(e) = sent {
        return error_page(l.lang, &e);
    }
    let account = holder.as_ref().map(|a| a.id.as_str());
    audit(&state, &tenant_id, "sms_code_sent", account, None, Some(&ip), json!({"purpose": flow.purpose()}))
        .await;
    page(flow, &l, &headers, &phone, true, (None, Some(t.ss_sent)))
}

pub async fn send_register(
    state: State,
    Path(ids): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(Flow::Register, state, ids, peer, headers, body).await
}

pub async fn send_reset(
    state: State,
    Path(ids): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send(Flow::Reset, state, ids, peer, headers, body).await
}

async fn finish(
    flow: Flow,
    state: State,
    (slug, id): (String, String),
    peer: SocketAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !flow.offered(&l) {
        return see_other(&interaction_url(&l.t, &l.interaction.id));
    }
    let t = l.lang.texts();
    let Some(phone) = sms::normalise_phone(param(&params, "phone").unwrap_or_default()) else {
        return page(flow, &l, &headers, "", false, (Some(t.bad_phone.into()), None));
    };
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
    let mac = sms::code_mac(&state.ops.kek, &tenant_id, &phone, flow.purpose(), code);
    let check = match state
        .store()
        .take_sms_code(&tenant_id, &phone, flow.purpose(), &mac, now, sms::MAX_ATTEMPTS)
        .await
    {
        Ok(c) => c,
        Err(e) => return error_page(l.lang, &e.into()),
    };
    match check {
        SmsCheck::Accepted => {}
        SmsCheck::Wrong(left) => return refuse(format!("{} {left}", t.sms_wrong)),
        _ => return page(flow, &l, &headers, &phone, false, (Some(t.sms_gone.into()), None)),
    }
    // the number is proven from here on
    let holder = match holder(&state, &tenant_id, &phone, flow).await {
        Ok(h) => h,
        Err(e) => return error_page(l.lang, &e),
    };
    match (flow, holder) {
        (Flow::Register, Some(_)) => refuse(t.reg_taken.into()),
        (Flow::Register, None) => register(&state, &l, &headers, &params, &phone, &new, &ip).await,
        (Flow::Reset, Some(account)) => reset(&state, &l, &headers, account, &phone, &new, &ip).await,
        // (a code no one was sent cannot be accepted; an account that lost the number since)
        (Flow::Reset, None) => page(flow, &l, &headers, &phone, false, (Some(t.sms_gone.into()), None)),
    }
}

pub async fn finish_register(
    state: State,
    Path(ids): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(Flow::Register, state, ids, peer, headers, body).await
}

pub async fn finish_reset(
    state: State,
    Path(ids): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(Flow::Reset, state, ids, peer, headers, body).await
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
    let username: String = idp_core::crypto::random_token(state.env(), 12)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    let person = NewAccount {
        username: format!("u{username}"),
        password: None,
        name: None,
        phone: Some(phone.to_string()),
        email: None,
        roles: vec![],
    };
    let account = match state.ops.add_account(&l.t.tenant.slug, person).await {
        Ok(a) => a,
        // (a race with another registration of the number)
        Err(_) => {
            return page(
                Flow::Register,
                l,
                headers,
                phone,
                false,
                (Some(l.lang.texts().reg_taken.into()), None),
            );
        }
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
    if !name.trim().is_empty() && !number.trim().is_empty() {
        let id_type = param(params, "id_type").unwrap_or_default();
        let via = crate::http::signin::realname::Via::Person;
        if crate::http::signin::realname::bind(state, &l.t, &account, name, id_type, number, via)
            .await
            .is_err()
        {
            // (audited by `bind`; the account centre says it is not bound and offers the form)
            tracing::info!("a real-name binding at registration was refused");
        }
    }
    first_factor_done(state, l, headers, &account.id, vec!["sms".into()], ip).await
}

/// The new password; every session of the account ends (whoever knew the old one is out),
/// the lockout is cleared, and the person signs in with it as usual.
async fn reset(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account: idp_core::model::Account,
    phone: &str,
    new: &str,
    ip: &str,
) -> Response {
    let t = l.lang.texts();
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
    if let Err(e) = state.store().reset_login_failures(tenant_id, &account.id).await {
        return error_page(l.lang, &e.into());
    }
    let sessions = match state.store().account_sessions(tenant_id, &account.id, now).await {
        Ok(s) => s,
        Err(e) => return error_page(l.lang, &e.into()),
    };
    if let Err(e) = crate::http::signed_out::end_sessions(state, &l.t, &sessions, None).await {
        return error_page(l.lang, &e);
    }
    let detail = json!({"via": "sms", "sessions_ended": sessions.len()});
    audit(state, tenant_id, "password_reset", Some(&account.id), Some(&l.ask.party), Some(ip), detail).await;
    login_page_with(l, headers, None, Some(t.reset_done), phone, StatusCode::OK)
}
