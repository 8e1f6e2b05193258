//! The sign-in engine over HTTP: given a front-end's request ([`FrontRequest`], and what it
//! asks as a [`SignInRequest`]) and the browser's session, decide the next step
//! (`idp_core::signin::decide`), check what the pages of this room check (the real-name level,
//! the acting context), and either start or continue the interaction, or end it by handing
//! the front-end a [`SignedIn`] or a refusal through `crate::http::fronts`.
//!
//! A front-end never runs a page and the pages never speak a protocol: `/authorize` calls
//! [`proceed`] with its validated request, every page of this room resumes the interaction with
//! [`resume`] (or [`proceed`] with the request as consented), and the front-end's answer is made
//! in `crate::http::fronts` — the table of front-ends, the one place that knows them all.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Interaction, Session};
use idp_core::signin::{FrontRequest, SignInRequest, Step};

use crate::http::fronts;
use crate::http::pages::{Lang, error_page};
use crate::http::see_other;
use crate::http::session::{browser_binding, browser_cookie};
use crate::http::signin::context::Chosen;
use crate::state::{AppState, TenantCtx};

/// Interactions (sign-in and consent round trips) expire after 30 minutes.
pub const INTERACTION_TTL: i64 = 30 * 60;

pub fn interaction_url(t: &TenantCtx, id: &str) -> String {
    format!("/t/{}/interaction/{id}", t.tenant.slug)
}

/// Carries on with an interaction's request as the front-end made it.
pub async fn resume(
    state: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
    interaction: &Interaction,
    session: Option<&Session>,
    fresh_login: bool,
    lang: Lang,
) -> Response {
    let ask = interaction.front.sign_in();
    proceed(state, t, headers, &interaction.front, &ask, session, fresh_login, Some(interaction), lang).await
}

/// Decides what happens next for a front-end's request and carries it out: start or continue
/// an interaction, or end it with the front-end's answer.
#[allow(clippy::too_many_arguments)]
pub async fn proceed(
    state: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
    front: &FrontRequest,
    ask: &SignInRequest,
    session: Option<&Session>,
    fresh_login: bool,
    interaction: Option<&Interaction>,
    lang: Lang,
) -> Response {
    let grant = match session {
        Some(s) if !ask.first_party => {
            match state.store().grant(&t.tenant.id, &s.account_id, &ask.party).await {
                Ok(g) => g,
                Err(e) => return error_page(lang, &e.into()),
            }
        }
        _ => None,
    };
    let required = match session {
        Some(s) => crate::http::signin::factor::required_for(state, t, ask, s).await,
        None => None,
    };
    let step = idp_core::signin::decide(state.env(), ask, session, fresh_login, required, grant.as_ref());
    // A party that needs a higher real-name level than the person has: the sign-in offers the
    // upgrade (the interaction shows it), or, when no page may be shown, tells the party.
    let step = match (step, session) {
        (s @ (Step::Consent | Step::Done(..)), Some(session)) => {
            match crate::http::signin::realname::short_of(state, t, ask, session).await {
                Some(_) if ask.passive => Step::Refuse(OAuthError::new(
                    "interaction_required",
                    "The client needs a higher real-name level.",
                )),
                Some(_) => Step::Consent,
                None => s,
            }
        }
        (s, _) => s,
    };
    // A party that takes sign-ins only through one upstream: a session that began otherwise
    // signs in again (through it: the interaction goes straight there).
    let step = match (step, session) {
        (s @ (Step::Consent | Step::Done(..)), Some(session)) => {
            match crate::http::signin::upstream::short_of(state, t, ask, session).await {
                None => s,
                Some(false) => Step::Refuse(OAuthError::new(
                    "temporarily_unavailable",
                    "The upstream identity provider this client requires is not available.",
                )),
                Some(true) if ask.passive => Step::Refuse(OAuthError::new(
                    "login_required",
                    "The client needs a sign-in through its upstream identity provider.",
                )),
                Some(true) => Step::Login,
            }
        }
        (s, _) => s,
    };
    // The acting context goes into the release; with more than one to choose from, the
    // interaction asks (when no page may be shown, the party hears it needs interaction).
    let step = match (step, session) {
        (Step::Done(mut done), Some(s)) => {
            let texts = lang.texts();
            match crate::http::signin::context::choose(state, t, ask, s, interaction, texts).await {
                Ok(Chosen::Ready(act_as, context)) => {
                    done.act_as = act_as.into();
                    done.context = context;
                    Step::Done(done)
                }
                Ok(Chosen::Ask) if ask.passive => Step::Refuse(OAuthError::new(
                    "interaction_required",
                    "The person has to choose an acting context.",
                )),
                Ok(Chosen::Ask) => Step::Consent,
                Ok(Chosen::Nothing) => Step::Refuse(OAuthError::new(
                    "access_denied",
                    "The person has no acting context this client accepts.",
                )),
                Err(e) => return error_page(lang, &e),
            }
        }
        (s, _) => s,
    };
    match step {
        Step::Login | Step::Consent | Step::StepUp => {
            if let Some(i) = interaction {
                return see_other(&interaction_url(t, &i.id));
            }
            let (binding, is_new) = browser_binding(headers);
            let now = state.env().now();
            let record = Interaction {
                id: random_token(state.env(), 16),
                tenant_id: t.tenant.id.clone(),
                front: front.clone(),
                browser_hash: sha256_hex(binding.as_bytes()),
                session_sid: match step {
                    Step::Consent | Step::StepUp => session.map(|s| s.sid.clone()),
                    _ => None,
                },
                pending: None,
                act_context: None,
                created_at: now,
                expires_at: now + INTERACTION_TTL,
            };
            if let Err(e) = state.store().insert_interaction(&record).await {
                return error_page(lang, &e.into());
            }
            let mut res = see_other(&interaction_url(t, &record.id));
            if is_new {
                res.headers_mut().append(header::SET_COOKIE, browser_cookie(state, t, &binding));
            }
            res
        }
        Step::Done(mut done) => {
            // a new sign-in is one whose authentication happened within this interaction (the
            // consent page resumes the sign-in too, without anyone presenting credentials)
            done.new_login =
                interaction.is_some_and(|i| session.is_some_and(|s| s.auth_time >= i.created_at));
            // (an answer that could not be made leaves the interaction, to be tried again)
            let res = match fronts::finish(state, t, front, &done, lang).await {
                Ok(res) => res,
                Err(page) => return page,
            };
            if let Some(i) = interaction
                && let Err(e) = state.store().delete_interaction(&i.id).await
            {
                tracing::warn!(error = %e, "could not delete a finished interaction");
            }
            res
        }
        Step::Refuse(e) => refuse(state, t, front, interaction, &e).await,
    }
}

/// Ends the sign-in without one: the interaction is forgotten and the front-end tells its
/// party why (`e.code`).
pub async fn refuse(
    state: &AppState,
    t: &TenantCtx,
    front: &FrontRequest,
    interaction: Option<&Interaction>,
    e: &OAuthError,
) -> Response {
    crate::http::log_error(e);
    if let Some(i) = interaction {
        let _ = state.store().delete_interaction(&i.id).await;
    }
    fronts::refuse(state, t, front, e).await
}
