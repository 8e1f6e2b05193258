//! The second factor of a sign-in, and step-up inside a live session: a TOTP code, a recovery
//! code, or a passkey or security key (whose ceremony is in `passkey.rs`). Which level a request
//! needs and which methods reach it is decided in `idp_core::policy`; this module shows the page,
//! checks codes (single use; failures count towards the same lockout as wrong passwords,
//! docs/domain.md) and finishes the sign-in or step-up once a factor is done.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::Session;
use idp_core::signin::SignInRequest;
use idp_core::{OAuthError, policy};
use serde_json::json;

use crate::http::pages::{FactorPage, error_page, render, with_form_action};
use crate::http::see_other;
use crate::http::session::audit;
use crate::http::signin::engine::{self, interaction_url};
use crate::http::signin::interaction::{
    Loaded, credential_failed, lang_switch, lock_end, posted, session_of, signed_in,
};
use crate::http::{State, param};
use crate::state::{AppState, TenantCtx};

/// The level `req` needs of `session`: its `acr_values`, the acr of its `claims` parameter,
/// the client's minimum, what the account's roles demand (carried by the session), and the
/// staff rule (docs/domain.md: staff acting as staff need `aal2`): a client accepting only the staff
/// context needs it of everyone, and a client accepting staff among others needs it of anyone
/// with a live staff membership, before the context is chosen (so no choice, made now or on the
/// account pages, reaches staff below `aal2`). The account pages are the exception to the
/// last two: a staff member without a second factor must be able to reach them to set one up.
pub(crate) async fn required_for(
    state: &AppState,
    t: &TenantCtx,
    ask: &SignInRequest,
    session: &Session,
) -> Option<&'static str> {
    let client = state.store().client(&t.tenant.id, &ask.party).await.ok().flatten();
    let accepts_staff = client.as_ref().is_some_and(|c| c.settings.contexts.iter().any(|x| x == "staff"));
    let staff_only = client.as_ref().is_some_and(|c| c.settings.contexts.iter().all(|x| x == "staff"));
    let minimum = client.and_then(|c| c.settings.min_acr);
    let asked = policy::required(ask.level.as_deref(), minimum.as_deref());
    let asked = policy::strongest(asked, policy::required(ask.essential_level.as_deref(), None));
    if ask.first_party {
        return asked;
    }
    let roles = policy::required(None, session.min_acr.as_deref());
    let staff = if staff_only {
        Some(policy::STAFF)
    } else if accepts_staff && roles.is_none() {
        let now = state.env().now();
        // a read failure counts as staff: the stronger requirement
        let memberships = state.store().memberships(&session.account_id).await;
        memberships
            .map_or(true, |ms| ms.iter().any(|m| m.kind == "staff" && m.active(now)))
            .then_some(policy::STAFF)
    } else {
        None
    };
    policy::strongest(policy::strongest(asked, roles), staff)
}

pub(crate) async fn satisfied(state: &AppState, l: &Loaded, session: &Session) -> bool {
    policy::satisfies(&session.acr, required_for(state, &l.t, &l.ask, session).await)
}

/// The second factors an account can use now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Factors {
    pub totp: bool,
    /// Passkeys or security keys that are not flagged (and the deployment offers WebAuthn).
    pub keys: bool,
    pub recovery: bool,
    /// The verified phone a recovery code can go to, where the tenant offers SMS recovery.
    pub phone: Option<String>,
    /// A recovery code was just sent to `phone`: ask for it.
    pub sms_sent: bool,
}

impl Factors {
    /// Something held, so the sign-in asks for it after the password or SMS code.
    pub fn any(&self) -> bool {
        self.totp || self.keys
    }
}

pub(crate) async fn factors_of(
    state: &AppState,
    t: &TenantCtx,
    account_id: &str,
) -> Result<Factors, OAuthError> {
    let store = state.store();
    let totp = matches!(store.totp(account_id).await?, Some(c) if c.confirmed);
    let keys = state.passkeys.is_some()
        && store.webauthn_credentials(account_id).await?.iter().any(|c| c.flagged_at.is_none());
    let recovery = store.recovery_codes_left(account_id).await? > 0;
    let phone = if t.tenant.settings.factors.sms_recovery
        && state.sms.is_some()
        && !crate::http::signin::selfservice::reset_by_phone_lately(state, &t.tenant.id, account_id).await
    {
        store
            .account(&t.tenant.id, account_id)
            .await?
            .filter(|a| a.phone_verified_at.is_some())
            .and_then(|a| a.phone)
    } else {
        None
    };
    Ok(Factors { totp, keys, recovery, phone, sms_sent: false })
}

/// A live session below the level the request needs: ask for a factor the account has, or
/// tell the client the requirement cannot be met (OpenID Connect Core §3.1.2.6 registry:
/// `unmet_authentication_requirements`).
pub(crate) async fn step_up(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    session: &Session,
) -> Response {
    match factors_of(state, &l.t, &session.account_id).await {
        Ok(f) if f.any() => factor_page(l, headers, f, None),
        Ok(_) => {
            use crate::http::signin::enrol;
            if enrol::offered(l) && enrol::no_factor_at_all(state, &session.account_id).await.unwrap_or(false)
            {
                return enrol::needed_page(l, headers);
            }
            let e = OAuthError::new("unmet_authentication_requirements", l.lang.texts().unmet_acr);
            engine::refuse(state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await
        }
        Err(e) => error_page(l.lang, &e),
    }
}

/// The second-factor page of the account whose sign-in or step-up this is.
pub(crate) async fn factor_page_for(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account_id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match factors_of(state, &l.t, account_id).await {
        Ok(f) => factor_page_with(l, headers, f, error, status),
        Err(e) => error_page(l.lang, &e),
    }
}

pub(crate) fn factor_page(l: &Loaded, headers: &HeaderMap, f: Factors, error: Option<String>) -> Response {
    factor_page_with(l, headers, f, error, StatusCode::OK)
}

pub(crate) fn factor_page_with(
    l: &Loaded,
    headers: &HeaderMap,
    f: Factors,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let base = format!("/t/{}/interaction/{}", l.t.tenant.slug, l.interaction.id);
    let page = FactorPage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        error,
        totp: f.totp,
        code: f.totp || f.recovery,
        keys: f.keys,
        recovery_phone: f.phone.as_deref().map(mask_phone),
        // the recovery itself happens on the account pages, where the lost factor is replaced
        recovery_here: l.ask.first_party,
        sms_sent: f.sms_sent,
        account_url: crate::http::account::home_url(&l.t),
        base,
        csrf: &csrf,
    };
    with_form_action(render(status, &page), Some(&l.ask.return_to))
}

/// A phone number as shown to its owner on a page: `+86138****1111`.
pub(crate) fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (&chars[..6], &chars[chars.len() - 4..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 10),
        tail.iter().collect::<String>()
    )
}

/// POST of the TOTP page: for a sign-in whose password is done, or a step-up of the session.
pub async fn totp(
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
    let ip = crate::http::client_ip(&state, &headers, peer);
    let tenant_id = l.t.tenant.id.clone();
    let now = state.env().now();
    // Whose code: the pending sign-in's, or the live session's.
    let (account_id, session) = match whose(&state, &l, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let key = format!("{tenant_id}:totp:{account_id}");
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), now, &key).await {
        return crate::http::limited(
            factor_page_for(
                &state,
                &l,
                &headers,
                &account_id,
                Some(t.too_many.into()),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await,
            wait,
        );
    }
    let expired = || error_page(l.lang, &OAuthError::invalid_request(t.expired_interaction));
    let account = match state.store().account(&tenant_id, &account_id).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => return expired(),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        let msg = format!("{} {}", t.locked, lock_end(&state, &l.t, until));
        return factor_page_for(&state, &l, &headers, &account_id, Some(msg), StatusCode::OK).await;
    }
    let cred = match state.store().totp(&account_id).await {
        Ok(c) => c.filter(|c| c.confirmed),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let code = param(&params, "code").unwrap_or_default().trim();
    let is_totp = code.len() == idp_core::totp::DIGITS && code.bytes().all(|b| b.is_ascii_digit());
    let accepted = if is_totp {
        let Some(cred) = cred else {
            return factor_page_for(
                &state,
                &l,
                &headers,
                &account_id,
                Some(t.bad_code.into()),
                StatusCode::OK,
            )
            .await;
        };
        let secret = match state.ops.totp_secret(&cred) {
            Ok(s) => s,
            Err(e) => return error_page(l.lang, &OAuthError::server_error(e.to_string())),
        };
        match secret.verify(code, now, cred.last_step) {
            // the step is taken atomically: of two requests with one code, one wins
            Some(step) => match state.store().record_totp_step(&account_id, step).await {
                Ok(won) => won,
                Err(e) => return error_page(l.lang, &e.into()),
            },
            None => false,
        }
    } else {
        // a recovery code, for a lost phone: each works once
        let key = idp_core::totp::RecoveryKey {
            kek: &state.ops.kek,
            tenant_id: &tenant_id,
            account_id: &account_id,
            mac: l.t.keys.suite.mac_alg(),
        };
        let mut used = Ok(false);
        for stored in idp_core::totp::recovery_hashes(&key, code) {
            used = state.store().use_recovery_code(&account_id, &stored, now).await;
            if !matches!(used, Ok(false)) {
                break;
            }
        }
        match used {
            Ok(true) => {
                let left = state.store().recovery_codes_left(&account_id).await.unwrap_or(0);
                audit(
                    &state,
                    &tenant_id,
                    "recovery_code_used",
                    Some(&account_id),
                    None,
                    Some(&ip),
                    json!({"left": left}),
                )
                .await;
                true
            }
            Ok(false) => false,
            Err(e) => return error_page(l.lang, &e.into()),
        }
    };
    let client_id = l.ask.party.clone();
    if !accepted {
        let msg = match credential_failed(&state, &tenant_id, &account_id, &client_id, &ip, "totp").await {
            Ok(Some(until)) => format!("{} {}", t.locked, lock_end(&state, &l.t, until)),
            Ok(None) => t.bad_code.into(),
            Err(e) => return error_page(l.lang, &e),
        };
        return factor_page_for(&state, &l, &headers, &account_id, Some(msg), StatusCode::OK).await;
    }
    second_factor_done(&state, &l, &headers, &account_id, session, &["otp"], &ip).await
}

/// Whose second factor this is: the pending sign-in's account, or the live session's (a
/// step-up); `Err` is the response to send instead.
pub(crate) async fn whose(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
) -> Result<(String, Option<Session>), Response> {
    match &l.interaction.pending {
        Some(p) => Ok((p.account_id.clone(), None)),
        None => match session_of(state, l, headers).await {
            Ok(Some((s, _))) => Ok((s.account_id.clone(), Some(s))),
            Ok(None) => Err(see_other(&interaction_url(&l.t, &l.interaction.id))),
            Err(e) => Err(error_page(l.lang, &e)),
        },
    }
}

/// A second factor (`methods`, RFC 8176) is done: finish the pending sign-in, or raise the
/// live session and carry on with the request.
pub(crate) async fn second_factor_done(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    account_id: &str,
    session: Option<Session>,
    methods: &[&str],
    ip: &str,
) -> Response {
    let add = |amr: &[String]| methods.iter().fold(amr.to_vec(), |a, m| policy::add_method(&a, m));
    let tenant_id = l.t.tenant.id.clone();
    let client_id = l.ask.party.clone();
    let expired = || error_page(l.lang, &OAuthError::invalid_request(l.lang.texts().expired_interaction));
    match (&l.interaction.pending, session) {
        (Some(p), _) => {
            if let Err(e) = state.store().set_interaction_pending(&l.interaction.id, None).await {
                return error_page(l.lang, &e.into());
            }
            signed_in(state, l, headers, account_id, add(&p.amr), state.env().now(), ip).await
        }
        (None, Some(s)) => {
            let amr = add(&s.amr);
            let acr = policy::acr_of(&amr);
            if let Err(e) = state.store().upgrade_session(&tenant_id, &s.sid, &amr, acr).await {
                return error_page(l.lang, &e.into());
            }
            // the step-up is a complete sign-in too: the failures are forgotten
            if let Err(e) = state.store().reset_login_failures(&tenant_id, account_id).await {
                return error_page(l.lang, &e.into());
            }
            audit(
                state,
                &tenant_id,
                "step_up",
                Some(account_id),
                Some(&client_id),
                Some(ip),
                json!({"amr": amr, "acr": acr, "sid": s.sid}),
            )
            .await;
            let upgraded = Session { amr, acr: acr.into(), ..s };
            engine::resume(state, &l.t, headers, &l.interaction, Some(&upgraded), false, l.lang).await
        }
        (None, None) => expired(),
    }
}
