//! The sign-in and consent pages of an interaction, and resuming the authorization request
//! once the person has signed in or decided.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Grant, Interaction, PendingSignIn, Session};
use idp_core::signin::SignInRequest;
use idp_core::{OAuthError, scope};
use serde_json::json;

use crate::http::pages::{ConsentPage, Lang, LoginPage, error_page, render, with_form_action};
use crate::http::session::{SESSION_COOKIE, audit, csrf_ok, tenant_path};
use crate::http::signin::engine;
use crate::http::{State, body_text, param, parse_params, require_form};
use crate::state::{AppState, TenantCtx};

pub(crate) struct Loaded {
    pub t: Arc<TenantCtx>,
    pub interaction: Interaction,
    /// What the interaction's front-end asks of the sign-in.
    pub ask: SignInRequest,
    pub lang: Lang,
    pub client_name: String,
    pub organisation: Option<String>,
    /// SMS sign-in is offered (a sender is configured and the tenant offers it).
    pub sms: bool,
    /// Passwordless passkeys are offered (the deployment has a WebAuthn relying party and the
    /// tenant offers them).
    pub passkeys: bool,
    /// Self-registration and the forgotten-password pages are offered (the tenant's switches
    /// and an SMS sender; `selfservice.rs`).
    pub register: bool,
    pub reset: bool,
    /// Codes can go to email addresses (a reset by a verified address).
    pub email: bool,
    /// An identity-verification provider checks real-name bindings for this tenant.
    pub verifier: bool,
    /// The client acts under a statutory duty: consent informs instead of asking.
    pub statutory: bool,
    /// Why the client receives each scope (its register entry), shown beside the item.
    pub purposes: std::collections::BTreeMap<String, String>,
    /// The upstream identity provider every sign-in for the client goes through.
    pub required_upstream: Option<String>,
}

pub(crate) async fn load(
    state: &AppState,
    slug: &str,
    id: &str,
    headers: &HeaderMap,
) -> Result<Loaded, Response> {
    let lang0 = Lang::pick(None, headers);
    let expired =
        |lang: Lang| error_page(lang, &OAuthError::invalid_request(lang.texts().expired_interaction));
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(expired(lang0)),
        Err(e) => return Err(error_page(lang0, &e)),
    };
    if id.len() > 64 || id.chars().any(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_') {
        return Err(expired(lang0));
    }
    let interaction = match state.store().interaction(&t.tenant.id, id).await {
        Ok(Some(i)) if i.expires_at > state.env().now() => i,
        Ok(_) => return Err(expired(lang0)),
        Err(e) => return Err(error_page(lang0, &e.into())),
    };
    let ask = interaction.front.sign_in();
    let lang = Lang::pick(ask.locale.as_deref(), headers);
    // The interaction belongs to the browser that started it.
    let bound = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE)
        .is_some_and(|c| sha256_hex(c.as_bytes()) == interaction.browser_hash);
    if !bound {
        return Err(expired(lang));
    }
    let (client_name, organisation, statutory, purposes, required_upstream) =
        match state.store().client(&t.tenant.id, &ask.party).await {
            Ok(Some(c)) => {
                let s = c.settings;
                (c.name, s.organisation, s.statutory, s.purposes, s.upstream)
            }
            _ if ask.first_party => {
                (lang.texts().account_title.to_string(), None, false, Default::default(), None)
            }
            _ => (ask.party.clone(), None, false, Default::default(), None),
        };
    let offered = &t.tenant.settings.factors;
    let sms = state.sms.is_some() && offered.sms_signin;
    let passkeys = state.passkeys.is_some() && offered.passkeys;
    let register = state.sms.is_some() && offered.registration;
    let reset = (state.sms.is_some() || state.email.is_some()) && offered.password_reset;
    let verifier = state.verifier_for(&t).is_some();
    Ok(Loaded {
        t,
        interaction,
        ask,
        lang,
        client_name,
        organisation,
        sms,
        passkeys,
        register,
        reset,
        email: state.email.is_some(),
        verifier,
        statutory,
        purposes,
        required_upstream,
    })
}

pub(crate) fn lang_switch(l: &Loaded) -> Option<String> {
    Some(format!("?lang={}", l.lang.other().code()))
}

pub async fn show(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let mut l = match load(&state, &slug, &id, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    // ?lang=en|zh-CN switches the page language and remembers it in a cookie.
    let chosen = q
        .as_deref()
        .and_then(|q| q.strip_prefix("lang="))
        .map(|v| if v.starts_with("en") { Lang::En } else { Lang::Zh });
    if let Some(lang) = chosen {
        l.lang = lang;
        // the account pages' own name, in the language chosen
        if l.ask.first_party {
            l.client_name = lang.texts().account_title.to_string();
        }
    }
    let mut res = if let Some(p) = &l.interaction.pending {
        // the first factor is done: the second is awaited
        crate::http::signin::factor::factor_page_for(
            &state,
            &l,
            &headers,
            &p.account_id,
            None,
            StatusCode::OK,
        )
        .await
    } else {
        let required = l.required_upstream.clone();
        match session_of(&state, &l, &headers).await {
            // a client that takes sign-ins only through one upstream: a session that began
            // otherwise signs in again through it
            Ok(Some((session, _)))
                if required
                    .as_deref()
                    .is_some_and(|r| crate::http::signin::upstream::offered(&l, r).is_some())
                    && !crate::http::signin::upstream::came_through(
                        &state,
                        &session,
                        required.as_deref(),
                    )
                    .await =>
            {
                crate::http::signin::upstream::begin(
                    &state,
                    &l,
                    &headers,
                    required.as_deref().unwrap_or_default(),
                )
                .await
            }
            Ok(Some((session, _))) if !crate::http::signin::factor::satisfied(&state, &l, &session).await => {
                crate::http::signin::factor::step_up(&state, &l, &headers, &session).await
            }
            Ok(Some((session, username))) => {
                match crate::http::signin::realname::short_of(&state, &l.t, &l.ask, &session).await {
                    Some(short) => {
                        crate::http::signin::realname::upgrade_page(&state, &l, &headers, short, None)
                    }
                    None => {
                        match crate::http::signin::context::before_consent(&state, &l, &headers, &session)
                            .await
                        {
                            Some(r) => r,
                            None => consent_page(&l, &headers, &username),
                        }
                    }
                }
            }
            // a client's hint (`idp_hint`) goes straight to that upstream
            // a client whose upstream is not offered (disabled, removed) takes no other way
            Ok(None)
                if required
                    .as_deref()
                    .is_some_and(|r| crate::http::signin::upstream::offered(&l, r).is_none()) =>
            {
                let e = OAuthError::new(
                    "temporarily_unavailable",
                    "The upstream identity provider this client requires is not available.",
                );
                engine::refuse(&state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await
            }
            Ok(None) => match required.as_deref().or(l.ask.upstream_hint.as_deref()) {
                Some(hint) if crate::http::signin::upstream::offered(&l, hint).is_some() => {
                    crate::http::signin::upstream::begin(&state, &l, &headers, hint).await
                }
                _ => login_page(&l, &headers, None, "", StatusCode::OK),
            },
            Err(e) => error_page(l.lang, &e),
        }
    };
    if let Some(lang) = chosen {
        let c = crate::http::set_cookie(&state, "idp_lang", lang.code(), "/", Some(365 * 86400));
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The session attached to this interaction, if it is still this browser's live session.
pub(crate) async fn session_of(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
) -> Result<Option<(Session, String)>, OAuthError> {
    let Some(sid) = &l.interaction.session_sid else {
        return Ok(None);
    };
    let Some(session) = crate::http::session::current(state, &l.t, headers).await? else {
        return Ok(None);
    };
    if &session.sid != sid {
        return Ok(None);
    }
    let account = state.store().account(&l.t.tenant.id, &session.account_id).await?;
    Ok(account.map(|a| (session, crate::http::words::shown_name(&a))))
}

pub(crate) fn login_page(
    l: &Loaded,
    headers: &HeaderMap,
    error: Option<String>,
    login: &str,
    status: StatusCode,
) -> Response {
    login_page_with(l, headers, error, None, login, status)
}

/// The sign-in page, with what stopped the last try or a notice (a polite status).
pub(crate) fn login_page_with(
    l: &Loaded,
    headers: &HeaderMap,
    error: Option<String>,
    notice: Option<&str>,
    login: &str,
    status: StatusCode,
) -> Response {
    let base = format!("/t/{}/interaction/{}", l.t.tenant.slug, l.interaction.id);
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let hint = l.ask.login_hint.as_deref().unwrap_or_default();
    let page = LoginPage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        error,
        action: format!("/t/{}/interaction/{}/login", l.t.tenant.slug, l.interaction.id),
        csrf: &csrf,
        login: if login.is_empty() { hint } else { login },
        sms_link: l.sms.then(|| format!("{base}/sms")),
        passkeys: l.passkeys,
        notice,
        register_link: l.register.then(|| format!("{base}/register")),
        reset_link: l.reset.then(|| format!("{base}/reset")),
        upstreams: crate::http::signin::upstream::buttons(l),
        base,
    };
    with_form_action(render(status, &page), Some(&l.ask.return_to))
}

fn consent_page(l: &Loaded, headers: &HeaderMap, username: &str) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let scopes = l
        .ask
        .release
        .iter()
        .filter(|s| !scope::SENSITIVE.contains(&s.as_str()))
        .filter_map(|s| scope::info(s))
        .map(|i| (if l.lang == Lang::En { i.en } else { i.zh }, l.purposes.get(i.name).map(String::as_str)))
        .collect();
    let sensitive = l
        .ask
        .release
        .iter()
        .filter(|s| scope::SENSITIVE.contains(&s.as_str()))
        .filter_map(|s| scope::info(s))
        .map(|i| {
            (i.name, if l.lang == Lang::En { i.en } else { i.zh }, l.purposes.get(i.name).map(String::as_str))
        })
        .collect();
    let page = ConsentPage {
        statutory: l.statutory,
        sensitive,
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        organisation: l.organisation.as_deref(),
        scopes,
        username,
        action: format!("/t/{}/interaction/{}/consent", l.t.tenant.slug, l.interaction.id),
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), Some(&l.ask.return_to))
}

/// The common start of the form posts: the interaction, its form, and the CSRF check.
pub(crate) async fn posted(
    state: &AppState,
    slug: &str,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Loaded, Vec<(String, String)>), Response> {
    let l = load(state, slug, id, headers).await?;
    let params = match require_form(headers).and_then(|_| parse_params(body_text(body)?)) {
        Ok(p) => p,
        Err(e) => return Err(error_page(l.lang, &e)),
    };
    if !csrf_ok(headers, param(&params, "csrf"), Some(&l.interaction.browser_hash)) {
        return Err(error_page(
            l.lang,
            &OAuthError::invalid_request(l.lang.texts().bad_csrf).with_status(403),
        ));
    }
    Ok((l, params))
}

/// When a lockout ends, as the tenant's pages show times.
pub(crate) fn lock_end(state: &AppState, t: &crate::state::TenantCtx, until: i64) -> String {
    t.local(until, state.env().now())
}

pub async fn login(
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
    let t = l.lang.texts();
    let login = param(&params, "login").unwrap_or_default().trim().to_lowercase();
    let password = param(&params, "password").unwrap_or_default().to_string();
    let ip = crate::http::client_ip(&state, &headers, peer);
    let tenant_id = l.t.tenant.id.clone();
    let now = state.env().now();
    if let Err(wait) =
        state.limits.signin_ip.check_shared(state.store(), now, &format!("{tenant_id}:{ip}")).await
    {
        return crate::http::limited(
            login_page(&l, &headers, Some(t.too_many.into()), &login, StatusCode::TOO_MANY_REQUESTS),
            wait,
        );
    }
    if login.is_empty() || login.len() > 64 || password.is_empty() || password.len() > 256 {
        return login_page(&l, &headers, Some(t.bad_credentials.into()), &login, StatusCode::OK);
    }
    if let Err(wait) =
        state.limits.signin_account.check_shared(state.store(), now, &format!("{tenant_id}:{login}")).await
    {
        return crate::http::limited(
            login_page(&l, &headers, Some(t.too_many.into()), &login, StatusCode::TOO_MANY_REQUESTS),
            wait,
        );
    }
    let account = match state.store().account_by_typed_login(&tenant_id, &login).await {
        Ok(a) => a,
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let now = state.env().now();
    let client_id = l.ask.party.clone();
    // Verify against a dummy hash when there is no usable account, so that an unknown user and
    // a wrong password take the same time and get the same answer.
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    // an account a staff directory provisioned, without a password here, binds to it instead
    // (crate::outbound::ldap); never for an account disabled or locked here (each guess would
    // reach the directory and could lock the person out there)
    let usable = |a: &&idp_core::model::Account| !a.disabled && a.locked_until.is_none_or(|u| u <= now);
    let directory = match account.as_ref().filter(|_| stored.is_none()).filter(usable) {
        Some(a) => crate::outbound::ldap::bind_target(&state, &l.t, &a.id).await,
        None => None,
    };
    let hasher = state.hasher.clone();
    let dummy = state.dummy_hash();
    // At most one Argon2 computation per core at a time: more only adds memory and contention.
    // (A directory's account is verified against the dummy too, so that it takes no less time.)
    let permit = state.argon2_permits.acquire().await;
    let typed = password.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let ok = hasher.verify(&typed, stored.as_deref().unwrap_or(&dummy));
        let rehash = ok && hasher.needs_rehash(stored.as_deref().unwrap_or_default());
        (ok && stored.is_some(), rehash.then(|| hasher.hash(&idp_core::SystemEnv, &typed).ok()).flatten())
    })
    .await;
    drop(permit);
    let (mut ok, new_hash) = verified.unwrap_or((false, None));
    if let Some((d, uuid)) = directory {
        ok = match crate::outbound::ldap::check_password(&d, &uuid, &password).await {
            Ok(ok) => ok,
            Err(why) => {
                tracing::warn!(directory = %d.name, reason = %why, "a directory could not check a password");
                let page =
                    login_page(&l, &headers, Some(t.up_unavailable.into()), &login, StatusCode::BAD_GATEWAY);
                return page;
            }
        };
    }
    let Some(account) = account else {
        // the same work as a failure of a real account (one counted write), so an unknown name
        // is not told apart by time either
        ghost_failure(&state, &tenant_id, &login).await;
        audit(
            &state,
            &tenant_id,
            "login_failure",
            None,
            Some(&client_id),
            Some(&ip),
            json!({"reason": "unknown_account"}),
        )
        .await;
        return login_page(&l, &headers, Some(t.bad_credentials.into()), &login, StatusCode::OK);
    };
    if account.disabled {
        ghost_failure(&state, &tenant_id, &login).await;
        audit(
            &state,
            &tenant_id,
            "login_failure",
            Some(&account.id),
            Some(&client_id),
            Some(&ip),
            json!({"reason": "disabled"}),
        )
        .await;
        return login_page(&l, &headers, Some(t.bad_credentials.into()), &login, StatusCode::OK);
    }
    // A locked account answers exactly as an unknown name or a wrong password, whether or not
    // the password was right: the answer tells neither that the name exists nor, during the
    // lockout, whether a guess was right. The generic message says that repeated failures
    // pause sign-in; the person learns the time on a page reached with the password (the
    // second factor's) once the lockout is over, or from an administrator.
    if account.locked_until.is_some_and(|u| u > now) {
        ghost_failure(&state, &tenant_id, &login).await;
        audit(
            &state,
            &tenant_id,
            "login_failure",
            Some(&account.id),
            Some(&client_id),
            Some(&ip),
            json!({"reason": "locked"}),
        )
        .await;
        return login_page(&l, &headers, Some(t.bad_credentials.into()), &login, StatusCode::OK);
    }
    if !ok {
        // the failure that locks the account answers like any other
        if let Err(e) = credential_failed(&state, &tenant_id, &account.id, &client_id, &ip, "password").await
        {
            return error_page(l.lang, &e);
        }
        return login_page(&l, &headers, Some(t.bad_credentials.into()), &login, StatusCode::OK);
    }
    // the failure counter is reset only when the whole sign-in succeeds (`signed_in`): a
    // password holder gets no fresh second-factor guesses by entering it again
    if let Some(h) = new_hash
        && let Err(e) = state.store().set_password_hash(&tenant_id, &account.id, &h, now).await
    {
        tracing::warn!(error = %e, "could not store a rehashed password");
    }
    first_factor_done(&state, &l, &headers, &account.id, vec!["pwd".into()], &ip).await
}

/// A failure that counts against no account (an unknown name or number, a locked account):
/// one counted write, as `credential_failed` makes, so that the answer takes as long.
pub(crate) async fn ghost_failure(state: &AppState, tenant_id: &str, login: &str) {
    let now = state.env().now();
    let key = format!("ghost-failure:{tenant_id}:{}", idp_core::crypto::sha256_hex(login.as_bytes()));
    if let Err(e) = state.store().count_hit(&key, now - now % 3600).await {
        tracing::warn!(error = %e, "could not count a failure");
    }
}

/// Counts a failed credential (password, TOTP or SMS code) towards the account's lockout and
/// audits it, and the lockout it caused; returns the lockout's end if this failure locked it.
pub(crate) async fn credential_failed(
    state: &AppState,
    tenant_id: &str,
    account_id: &str,
    client_id: &str,
    ip: &str,
    reason: &str,
) -> Result<Option<i64>, OAuthError> {
    let (.., threshold, lockout_seconds) = state.rules(tenant_id);
    let until = state.env().now() + lockout_seconds;
    let locked = state.store().record_login_failure(tenant_id, account_id, threshold, until).await?;
    let detail = json!({"reason": reason});
    audit(state, tenant_id, "login_failure", Some(account_id), Some(client_id), Some(ip), detail).await;
    if !locked {
        return Ok(None);
    }
    audit(state, tenant_id, "account_locked", Some(account_id), None, Some(ip), json!({"until": until}))
        .await;
    Ok(Some(until))
}

/// The first factor (password or SMS code) is done: with a second factor set up (authenticator
/// app, passkey or security key) its page comes next and no session exists before it;
/// otherwise the sign-in is complete.
pub(crate) async fn first_factor_done(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account_id: &str,
    amr: Vec<String>,
    ip: &str,
) -> Response {
    let now = state.env().now();
    // (a sign-in that reached aal2 by itself, through an upstream the operator trusts that far,
    // needs no second factor here: `upstream_link.rs`)
    let complete = idp_core::policy::acr_of(&amr) == "aal2";
    match crate::http::signin::factor::factors_of(state, &l.t, account_id).await {
        Ok(f) if f.any() && !complete => {
            let pending = PendingSignIn { account_id: account_id.to_string(), amr, auth_time: now };
            if let Err(e) = state.store().set_interaction_pending(&l.interaction.id, Some(&pending)).await {
                return error_page(l.lang, &e.into());
            }
            let (tenant_id, client_id) = (&l.t.tenant.id, &l.ask.party);
            let detail = json!({"amr": pending.amr});
            audit(
                state,
                tenant_id,
                "login_first_factor",
                Some(account_id),
                Some(client_id),
                Some(ip),
                detail,
            )
            .await;
            crate::http::see_other(&crate::http::signin::engine::interaction_url(&l.t, &l.interaction.id))
        }
        Ok(_) => signed_in(state, l, headers, account_id, amr, now, ip).await,
        Err(e) => error_page(l.lang, &e),
    }
}

/// Starts the session of a completed sign-in (a new session id every time, so no session
/// fixation; the browser's old session ends), audits it and carries on with the request.
pub(crate) async fn signed_in(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account_id: &str,
    amr: Vec<String>,
    auth_time: i64,
    ip: &str,
) -> Response {
    let tenant_id = l.t.tenant.id.clone();
    let now = state.env().now();
    // The whole sign-in succeeded: only now are the failures of any factor forgotten
    // (docs/domain.md "failures of any factor count towards the lockout until the whole sign-in
    // succeeds").
    if let Err(e) = state.store().reset_login_failures(&tenant_id, account_id).await {
        return error_page(l.lang, &e.into());
    }
    // The browser's old session ends. Signing in again as the same person continues it under
    // its `sid` (the clients that took part stay with it; the cookie is new all the same);
    // another person's sign-in ends it everywhere.
    let mut sid = None;
    if let Ok(Some(old)) = crate::http::session::current(state, &l.t, headers).await {
        if old.account_id == account_id {
            sid = Some(old.sid);
        } else if let Err(e) =
            crate::http::signed_out::end_sessions(state, &l.t, std::slice::from_ref(&old), None).await
        {
            tracing::warn!(error = %e.description, "could not end the browser's previous session");
        }
    }
    let value = random_token(state.env(), 32);
    let roles = match state.store().account(&tenant_id, account_id).await {
        Ok(a) => a.map(|a| a.roles).unwrap_or_default(),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let session = Session {
        id_hash: sha256_hex(value.as_bytes()),
        sid: sid.clone().unwrap_or_else(|| random_token(state.env(), 16)),
        tenant_id: tenant_id.clone(),
        account_id: account_id.to_string(),
        auth_time,
        acr: idp_core::policy::acr_of(&amr).into(),
        min_acr: idp_core::policy::required_by_roles(&roles).map(str::to_string),
        act_context: None,
        amr,
        created_at: now,
        last_seen: now,
        expires_at: now + state.rules(&tenant_id).1,
    };
    // the same person's session is renewed in place (one statement, so its clients are never
    // without a session row); otherwise a new one
    let renewed = match &sid {
        Some(_) => state.store().renew_session(&session).await,
        None => Ok(false),
    };
    let written = match renewed {
        Ok(true) => Ok(()),
        Ok(false) => state.store().insert_session(&session).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        return error_page(l.lang, &e.into());
    }
    if let Err(e) = state.store().set_interaction_session(&l.interaction.id, &session.sid).await {
        return error_page(l.lang, &e.into());
    }
    // a sign-in through an upstream: its link, binding and session record; any other sign-in
    // with an upstream's answer waiting in this interaction: the person is asked whether to
    // link it (`upstream_link.rs`)
    let mut ask_link = None;
    let mut acting = None;
    if !l.t.upstreams.is_empty() {
        if session.amr.iter().any(|m| m == "fed") {
            acting = crate::http::signin::upstream_link::signed_in_through(state, l, &session, ip).await;
        } else {
            ask_link = crate::http::signin::upstream_link::waiting_link(state, l, &session).await;
        }
    }
    let client_id = &l.ask.party;
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let device = crate::http::words::device(user_agent);
    audit(
        state,
        &tenant_id,
        "login_success",
        Some(account_id),
        Some(client_id),
        Some(ip),
        json!({"amr": session.amr, "acr": session.acr, "sid": session.sid, "device": device}),
    )
    .await;
    let mut interaction = l.interaction.clone();
    interaction.session_sid = Some(session.sid.clone());
    interaction.pending = None;
    let mut res = match (ask_link, acting) {
        (Some(r), _) => r,
        // a licence's enterprise role is the context to act in
        (None, Some(m)) => {
            crate::http::signin::upstream_link::act_in(state, l, interaction, headers, &session, &m).await
        }
        (None, None) => {
            engine::resume(state, &l.t, headers, &interaction, Some(&session), true, l.lang).await
        }
    };
    let cookie = crate::http::set_cookie(state, SESSION_COOKIE, &value, &tenant_path(&l.t), None);
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

pub async fn consent(
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
    let (session, _) = match session_of(&state, &l, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return crate::http::see_other(&crate::http::signin::engine::interaction_url(
                &l.t,
                &l.interaction.id,
            ));
        }
        Err(e) => return error_page(l.lang, &e),
    };
    let ask = &l.ask;
    let ip = crate::http::client_ip(&state, &headers, peer);
    let tenant_id = &l.t.tenant.id;
    if param(&params, "decision") != Some("allow") {
        audit(
            &state,
            tenant_id,
            "consent_denied",
            Some(&session.account_id),
            Some(&ask.party),
            Some(&ip),
            json!({"scope": ask.release, "statutory": l.statutory}),
        )
        .await;
        let e = OAuthError::new("access_denied", "The person denied the request.");
        return engine::refuse(&state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await;
    }
    // Sensitive items are granted only with their own tick (PIPL art. 29); unticked, this
    // authorization goes on without them.
    let ticked: Vec<&str> =
        params.iter().filter(|(k, _)| k == "sensitive").map(|(_, v)| v.as_str()).collect();
    let mut release = ask.release.clone();
    // (a party under a statutory duty is informed of, not asked for, every item)
    release
        .retain(|s| l.statutory || !scope::SENSITIVE.contains(&s.as_str()) || ticked.contains(&s.as_str()));
    // The session was checked in this interaction; consent given now must not loop back.
    let ask = ask.consented(release);
    let now = state.env().now();
    let previous = state.store().grant(tenant_id, &session.account_id, &ask.party).await.ok().flatten();
    // (what was granted before and is still current stays granted; a widened scope not asked
    // for now is dropped, since this consent's time would otherwise seem to cover it)
    let mut scopes: Vec<String> =
        previous.as_ref().map(|g| g.current_scopes().cloned().collect()).unwrap_or_default();
    for s in &ask.release {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let grant = Grant {
        tenant_id: tenant_id.clone(),
        account_id: session.account_id.clone(),
        client_id: ask.party.clone(),
        scopes,
        created_at: previous.map(|g| g.created_at).unwrap_or(now),
        updated_at: now,
    };
    if let Err(e) = state.store().upsert_grant(&grant).await {
        return error_page(l.lang, &e.into());
    }
    audit(
        &state,
        tenant_id,
        "consent_granted",
        Some(&session.account_id),
        Some(&ask.party),
        Some(&ip),
        json!({"scope": ask.release}),
    )
    .await;
    let front = &l.interaction.front;
    engine::proceed(&state, &l.t, &headers, front, &ask, Some(&session), true, Some(&l.interaction), l.lang)
        .await
}
