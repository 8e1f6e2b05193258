//! Signing in through an upstream, the account half: which account a verified answer reaches
//! (`idp_core::upstream::decide_link`), the link made on a first sign-in, the account created
//! just in time, the person asked to prove their account here first, and the real-name level
//! the operator's rules give what the upstream verified.
//!
//! - **Nothing is written before the sign-in completes.** The answer waits, sealed, in a
//!   ceremony record of the interaction (`upstream-arrival:`) while the account's own second
//!   factor is asked; the link, the raised binding and the record of the session's upstream
//!   are written when the session starts ([`signed_in_through`]). Only an account created just
//!   in time is written at once, with its link (and removed again if the link loses a race).
//! - **Proving an account here.** When nothing links the answer, the person signs in with
//!   their account here in the same interaction; the answer waits (`upstream-link:`) and, once
//!   that sign-in completes, the person is asked in plain words whether to link it — naming the
//!   upstream and the (masked) name it verified — and nothing is linked without that click
//!   ([`waiting_link`], [`confirm`]): a browser that was sent to an upstream where someone
//!   else was signed in (a shared kiosk) links nothing by itself. A sign-in through an upstream
//!   never proves an account.
//! - **The session's level.** The upstream's sign-in is one factor (`amr` `fed`), and the
//!   account's own second factor follows as after a password. Where the operator's `acr_map`
//!   counts the upstream's sign-in as `aal2`, it stands for both (`fed` with `mfa`) — but not
//!   for the sign-in that makes a link to an existing account, and never for accounts holding
//!   roles: their second factor is always their own. Such a session cannot change the account's
//!   factors either (`crate::http::account::may_change_factors`).
//! - **The real-name binding** is raised, never lowered, to the level the rules give the
//!   upstream's verified identity (at most 3), with its evidence (method `upstream`, the
//!   upstream, its reference, its time); an identity that is not the account's never gets here
//!   (refused by `decide_link`).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::{Account, RealName, Session, Upstream, UpstreamLink, UpstreamSession};
use idp_core::realname;
use idp_core::upstream::{LinkDecision, LinkFacts, Proving, VerifiedIdentity, decide_link, read_identity};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::pages::{LinkConfirmPage, error_page, render, with_form_action};
use crate::http::session::audit;
use crate::http::signin::engine;
use crate::http::signin::interaction::{
    Loaded, first_factor_done, load, login_page, login_page_with, posted, session_of,
};
use crate::http::signin::upstream::{open, seal};
use crate::http::{param, see_other};
use crate::outbound::upstream::Answer;
use crate::state::{AppState, TenantCtx};

/// An upstream's answer waiting: for the person to prove their account here (`upstream-link:`),
/// or for the sign-in it began to complete (`upstream-arrival:`, with the account it reaches).
#[derive(Serialize, Deserialize)]
struct Waiting {
    upstream: String,
    subject: String,
    acr: Option<String>,
    #[serde(default)]
    upstream_sid: Option<String>,
    identity: Option<Identity>,
    #[serde(default)]
    account_id: Option<String>,
    /// The link to make when the sign-in completes (`verified_id`).
    #[serde(default)]
    new_link: Option<String>,
    /// The session that proved `account_id` (a waiting link is confirmed only by it).
    #[serde(default)]
    sid: Option<String>,
    /// The enterprise role an electronic business licence vouched for
    /// (`super::upstream_licence::grant`).
    #[serde(default)]
    licence: Option<idp_core::licence::Grant>,
}

/// A [`VerifiedIdentity`] as kept (sealed) while it waits.
#[derive(Serialize, Deserialize)]
struct Identity {
    name: String,
    id_type: String,
    id_number: String,
    level: i64,
    time: i64,
    txn: Option<String>,
}

impl From<&VerifiedIdentity> for Identity {
    fn from(v: &VerifiedIdentity) -> Self {
        Self {
            name: v.name.clone(),
            id_type: v.id_type.clone(),
            id_number: v.id_number.clone(),
            level: v.level,
            time: v.time,
            txn: v.txn.clone(),
        }
    }
}

impl From<Identity> for VerifiedIdentity {
    fn from(v: Identity) -> Self {
        Self {
            name: v.name,
            id_type: v.id_type,
            id_number: v.id_number,
            level: v.level,
            time: v.time,
            txn: v.txn,
        }
    }
}

fn waiting_key(interaction: &str) -> String {
    format!("upstream-link:{interaction}")
}

fn arrival_key(interaction: &str) -> String {
    format!("upstream-arrival:{interaction}")
}

/// Keeps `w` sealed under `key` until the interaction expires.
async fn keep(state: &AppState, l: &Loaded, key: String, w: &Waiting) -> Result<(), OAuthError> {
    let plain = serde_json::to_vec(w).unwrap_or_default();
    let record = idp_core::model::Ceremony {
        state: seal(state, &l.t, &plain, &key),
        key,
        tenant_id: l.t.tenant.id.clone(),
        account_id: w.account_id.clone(),
        expires_at: l.interaction.expires_at,
    };
    Ok(state.store().put_ceremony(&record).await?)
}

/// Takes what waits under `key` (once).
async fn take(state: &AppState, l: &Loaded, key: &str) -> Option<Waiting> {
    let record = match state.store().take_ceremony(key, state.env().now()).await {
        Ok(Some(r)) if r.tenant_id == l.t.tenant.id => r,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read an upstream's answer waiting in an interaction");
            return None;
        }
    };
    open(state, &record.state, key).and_then(|p| serde_json::from_slice(&p).ok())
}

/// What the store knows about an answer: the subject's link and its account's binding, the
/// binding of the verified number and whether that account holds roles.
struct Known {
    link: Option<UpstreamLink>,
    linked_binding: Option<RealName>,
    hash: Option<String>,
    bound: Option<RealName>,
    bound_privileged: bool,
}

async fn known(
    state: &AppState,
    t: &TenantCtx,
    u: &Upstream,
    subject: &str,
    identity: Option<&VerifiedIdentity>,
) -> Result<Known, OAuthError> {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    let link = store.upstream_link(tenant_id, &u.id, subject).await?;
    let linked_binding = match &link {
        Some(l) => store.real_name(&l.account_id).await?,
        None => None,
    };
    let hash = identity.map(|i| realname::id_hash(&state.ops.kek, tenant_id, &i.id_number));
    let bound = match &hash {
        Some(h) => store.real_name_by_hash(tenant_id, h).await?,
        None => None,
    };
    let bound_privileged = match &bound {
        Some(b) => store.account(tenant_id, &b.account_id).await?.is_some_and(|a| !a.roles.is_empty()),
        None => false,
    };
    Ok(Known { link, linked_binding, hash, bound, bound_privileged })
}

impl Known {
    fn facts<'a>(
        &'a self,
        u: &Upstream,
        identity: Option<&VerifiedIdentity>,
        proving: Option<Proving<'a>>,
    ) -> LinkFacts<'a> {
        LinkFacts {
            link: self.link.as_ref(),
            linked_binding: self.linked_binding.as_ref(),
            identity: identity.zip(self.hash.as_deref()).map(|(i, h)| (i.level, h)),
            bound: self.bound.as_ref(),
            bound_privileged: self.bound_privileged,
            proving,
            link_by_id_number: u.settings.link_by_id_number,
            create_accounts: u.settings.create_accounts,
        }
    }
}

/// A verified answer from `u`: to the account it reaches, a new one, or the person proves
/// theirs first.
pub(crate) async fn arrived(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
    answer: &Answer,
    ip: &str,
) -> Response {
    let texts = l.lang.texts();
    let now = state.env().now();
    let identity = read_identity(&u.settings, answer.acr.as_deref(), answer.verified_claims.as_ref(), now);
    let known = match known(state, &l.t, u, &answer.subject, identity.as_ref()).await {
        Ok(k) => k,
        Err(e) => return error_page(l.lang, &e),
    };
    let decision = decide_link(&known.facts(u, identity.as_ref(), None));
    let decision = match already_linked(state, u, decision).await {
        Ok(d) => d,
        Err(e) => return error_page(l.lang, &e),
    };
    let tenant_id = &l.t.tenant.id;
    match decision {
        LinkDecision::SignIn { account_id, new_link } => {
            complete(state, l, headers, u, answer, identity.as_ref(), &account_id, new_link, ip).await
        }
        LinkDecision::Create => match create(state, l, identity.as_ref()).await {
            Ok(account) => {
                // linked at once: an account nobody can reach never stays behind (a second
                // callback for the same subject that lost the race removes its account again)
                if let Err(r) = link(state, l, u, &answer.subject, &account, "created", ip).await {
                    if let Err(e) = state.store().delete_account(tenant_id, &account.id).await {
                        tracing::warn!(error = %e, "could not remove an account whose link lost a race");
                    }
                    return r;
                }
                let detail = json!({"via": "upstream", "upstream": u.id});
                let client = Some(l.ask.party.as_str());
                audit(state, tenant_id, "account_registered", Some(&account.id), client, Some(ip), detail)
                    .await;
                complete(state, l, headers, u, answer, identity.as_ref(), &account.id, None, ip).await
            }
            Err(e) => error_page(l.lang, &e),
        },
        LinkDecision::AskToProve => {
            let waiting = Waiting {
                upstream: u.id.clone(),
                subject: answer.subject.clone(),
                acr: answer.acr.clone(),
                upstream_sid: answer.sid.clone(),
                identity: identity.as_ref().map(Identity::from),
                account_id: None,
                new_link: None,
                sid: None,
                licence: answer.licence.clone(),
            };
            if let Err(e) = keep(state, l, waiting_key(&l.interaction.id), &waiting).await {
                return error_page(l.lang, &e);
            }
            let detail = json!({"upstream": u.id});
            audit(state, tenant_id, "upstream_link_needed", None, Some(&l.ask.party), Some(ip), detail).await;
            login_page_with(l, headers, None, Some(texts.up_prove), "", StatusCode::OK)
        }
        LinkDecision::Refuse(reason) => {
            let detail = json!({"upstream": u.id, "reason": reason});
            audit(state, tenant_id, "upstream_refused", None, Some(&l.ask.party), Some(ip), detail).await;
            login_page(l, headers, Some(refusal_text(l, reason).into()), "", StatusCode::FORBIDDEN)
        }
    }
}

/// A new link to an account that is linked to another subject of the upstream already is
/// refused (`linked_elsewhere`) before anything happens: an account has one subject of each
/// upstream.
async fn already_linked(state: &AppState, u: &Upstream, d: LinkDecision) -> Result<LinkDecision, OAuthError> {
    if let LinkDecision::SignIn { account_id, new_link: Some(_) } = &d
        && state.store().upstream_links(account_id).await?.iter().any(|l| l.upstream_id == u.id)
    {
        return Ok(LinkDecision::Refuse("linked_elsewhere"));
    }
    Ok(d)
}

fn refusal_text(l: &Loaded, reason: &str) -> &'static str {
    let t = l.lang.texts();
    match reason {
        "identity_mismatch" => t.up_mismatch,
        "identity_taken" => t.up_taken,
        _ => t.up_elsewhere,
    }
}

/// A new account for a first sign-in (the upstream may create them): a random username, the
/// verified name if there is one; no password, no phone, no roles.
async fn create(
    state: &AppState,
    l: &Loaded,
    identity: Option<&VerifiedIdentity>,
) -> Result<Account, OAuthError> {
    let person = crate::ops::NewAccount {
        username: crate::http::signin::selfservice::generated_username(state.env()),
        password: None,
        name: identity.map(|i| i.name.clone()),
        phone: None,
        email: None,
        roles: vec![],
    };
    state.ops.add_account(&l.t.tenant.slug, person).await.map_err(|e| OAuthError::server_error(e.to_string()))
}

/// Signs the person in to `account_id` through `u`: the link made (`new_link`) or touched, the
/// binding raised, then the account's second factor where one is needed.
#[allow(clippy::too_many_arguments)]
async fn complete(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    u: &Upstream,
    answer: &Answer,
    identity: Option<&VerifiedIdentity>,
    account_id: &str,
    new_link: Option<&'static str>,
    ip: &str,
) -> Response {
    let texts = l.lang.texts();
    let tenant_id = &l.t.tenant.id;
    let now = state.env().now();
    let account = match state.store().account(tenant_id, account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return login_page(l, headers, Some(texts.up_failed.into()), "", StatusCode::OK),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    // an account an administrator locked, or that repeated failures paused, stays so
    let reason = if account.disabled {
        Some("disabled")
    } else if account.locked_until.is_some_and(|t| t > now) {
        Some("locked")
    } else {
        None
    };
    if let Some(reason) = reason {
        let detail = json!({"reason": reason, "upstream": u.id});
        audit(state, tenant_id, "login_failure", Some(&account.id), Some(&l.ask.party), Some(ip), detail)
            .await;
        return login_page(l, headers, Some(texts.up_unusable.into()), "", StatusCode::FORBIDDEN);
    }
    // written when the sign-in completes (after the account's second factor, if it has one)
    let waiting = Waiting {
        upstream: u.id.clone(),
        subject: answer.subject.clone(),
        acr: answer.acr.clone(),
        upstream_sid: answer.sid.clone(),
        identity: identity.map(Identity::from),
        account_id: Some(account.id.clone()),
        new_link: new_link.map(str::to_string),
        sid: None,
        licence: answer.licence.clone(),
    };
    if let Err(e) = keep(state, l, arrival_key(&l.interaction.id), &waiting).await {
        return error_page(l.lang, &e);
    }
    // the upstream's aal2 stands for both factors only on an account it already reached, and
    // never on one holding roles
    let strong = idp_core::upstream::session_acr(&u.settings, answer.acr.as_deref()) == "aal2";
    let amr = if strong && account.roles.is_empty() && new_link.is_none() {
        vec!["fed".to_string(), "mfa".to_string()]
    } else {
        vec!["fed".to_string()]
    };
    first_factor_done(state, l, headers, &account.id, amr, ip).await
}

/// Links `subject` of `u` to `account` (made `via`), audited; a link another sign-in made in
/// the meantime refuses this one.
async fn link(
    state: &AppState,
    l: &Loaded,
    u: &Upstream,
    subject: &str,
    account: &Account,
    via: &'static str,
    ip: &str,
) -> Result<(), Response> {
    let now = state.env().now();
    let record = UpstreamLink {
        tenant_id: l.t.tenant.id.clone(),
        upstream_id: u.id.clone(),
        subject: subject.to_string(),
        account_id: account.id.clone(),
        via: via.to_string(),
        created_at: now,
        last_used_at: None,
        last_acr: None,
    };
    match state.store().insert_upstream_link(&record).await {
        Ok(true) => {
            let detail = json!({"upstream": u.id, "via": via, "subject": subject});
            audit(
                state,
                &l.t.tenant.id,
                "upstream_linked",
                Some(&account.id),
                Some(&l.ask.party),
                Some(ip),
                detail,
            )
            .await;
            Ok(())
        }
        Ok(false) => {
            let detail = json!({"upstream": u.id, "reason": "linked_elsewhere"});
            audit(state, &l.t.tenant.id, "upstream_refused", Some(&account.id), None, Some(ip), detail).await;
            Err(error_page(
                l.lang,
                &OAuthError::invalid_request(l.lang.texts().up_elsewhere).with_status(409),
            ))
        }
        Err(e) => Err(error_page(l.lang, &e.into())),
    }
}

/// Raises `account`'s binding to what `u` verified, if that is higher; never lowers it, and
/// never binds a number another account holds.
pub(crate) async fn bind(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    u: &Upstream,
    i: &VerifiedIdentity,
) {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    let current = match store.real_name(&account.id).await {
        Ok(c) => c,
        Err(e) => return tracing::warn!(error = %e, "could not read a binding"),
    };
    let hash = realname::id_hash(&state.ops.kek, tenant_id, &i.id_number);
    if current.as_ref().is_some_and(|c| c.level >= i.level || c.id_hash != hash) {
        return;
    }
    let Ok((number, masked)) =
        crate::http::signin::realname::check_number(&i.id_type, &i.id_number, state.env().now())
    else {
        return;
    };
    let record = RealName {
        account_id: account.id.clone(),
        tenant_id: tenant_id.clone(),
        level: i.level,
        name: i.name.clone(),
        id_type: i.id_type.clone(),
        id_sealed: realname::seal_id(
            &state.ops.kek,
            state.env(),
            t.keys.suite.seal_alg(),
            tenant_id,
            &number,
        ),
        id_hash: hash,
        id_masked: masked,
        method: "upstream".into(),
        verifier: u.id.clone(),
        verified_at: i.time,
        evidence: i.txn.clone(),
    };
    match store.put_real_name(&record).await {
        Ok(true) => {
            let detail = json!({
                "level": record.level, "method": "upstream", "verifier": u.id,
                "previous_level": current.map(|c| c.level),
            });
            audit(state, tenant_id, "realname_bound", Some(&account.id), None, None, detail).await;
        }
        Ok(false) => {
            tracing::warn!(upstream = %u.id, "an upstream's verified number is bound to another account")
        }
        Err(e) => tracing::warn!(error = %e, "could not store a binding from an upstream"),
    }
}

/// A sign-in through an upstream completed (`session`): the link it makes, the link's use,
/// the binding raised, the enterprise role a licence vouched for, and the record of the
/// session's upstream. The membership the session acts in, where the licence gave one.
pub(crate) async fn signed_in_through(
    state: &AppState,
    l: &Loaded,
    session: &Session,
    ip: &str,
) -> Option<String> {
    // a sign-in through an upstream proves no account: another upstream's answer waiting to
    // be linked is dropped
    let _ = take(state, l, &waiting_key(&l.interaction.id)).await;
    let w = take(state, l, &arrival_key(&l.interaction.id)).await?;
    if w.account_id.as_deref() != Some(session.account_id.as_str()) {
        return None;
    }
    let u = l.t.upstreams.iter().find(|u| u.id == w.upstream)?;
    let store = state.store();
    let account = store.account(&l.t.tenant.id, &session.account_id).await.ok()??;
    let now = state.env().now();
    if let Some(via) = w.new_link.as_deref() {
        let via = if via == "verified_id" { "verified_id" } else { "proved_local" };
        link(state, l, u, &w.subject, &account, via, ip).await.ok()?;
    }
    if let Err(e) = store.touch_upstream_link(&l.t.tenant.id, &u.id, &w.subject, now, w.acr.as_deref()).await
    {
        tracing::warn!(error = %e, "could not note an upstream link's use");
    }
    if let Some(i) = w.identity {
        bind(state, &l.t, &account, u, &i.into()).await;
    }
    let acting = match &w.licence {
        Some(g) => crate::http::signin::upstream_licence::grant(state, &l.t, &account, u, g, ip).await,
        None => None,
    };
    let record = UpstreamSession {
        sid: session.sid.clone(),
        tenant_id: l.t.tenant.id.clone(),
        upstream_id: u.id.clone(),
        subject: w.subject,
        account_id: session.account_id.clone(),
        upstream_sid: w.upstream_sid,
        created_at: now,
    };
    if let Err(e) = store.put_upstream_session(&record).await {
        tracing::warn!(error = %e, "could not record a session's upstream");
    }
    acting
}

/// A sign-in that did not come through an upstream completed in an interaction where an
/// upstream's answer waits to be linked: to the page that asks whether to link it.
pub(crate) async fn waiting_link(state: &AppState, l: &Loaded, session: &Session) -> Option<Response> {
    // the session no longer began through an upstream (signed in again another way)
    if let Err(e) = state.store().delete_upstream_session(&session.sid).await {
        tracing::warn!(error = %e, "could not forget a session's upstream");
    }
    let key = waiting_key(&l.interaction.id);
    let mut w = take(state, l, &key).await?;
    // kept again for the page's answer, for this session and account only
    w.account_id = Some(session.account_id.clone());
    w.sid = Some(session.sid.clone());
    keep(state, l, key, &w).await.ok()?;
    Some(see_other(&format!("/t/{}/interaction/{}/link", l.t.tenant.slug, l.interaction.id)))
}

/// Whether `session` is the one that proved the account after `w` arrived (not an earlier
/// session the interaction carried, not a sign-in through an upstream).
fn proved_by(w: &Waiting, session: &Session) -> bool {
    w.sid.as_deref() == Some(session.sid.as_str())
        && w.account_id.as_deref() == Some(session.account_id.as_str())
        && !session.amr.iter().any(|m| m == "fed")
}

/// A name as the confirmation shows it: the first character, the rest masked.
fn masked(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| std::iter::once(c).chain(chars.map(|_| '*')).collect()).unwrap_or_default()
}

/// `GET /t/{tenant}/interaction/{id}/link`: link the upstream's answer to the account just
/// signed in to?
pub async fn confirm_page(
    state: crate::http::State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let l = match load(&state, &slug, &id, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (session, username) = match session_of(&state, &l, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&engine::interaction_url(&l.t, &l.interaction.id)),
        Err(e) => return error_page(l.lang, &e),
    };
    let key = waiting_key(&l.interaction.id);
    let Some(w) = take(&state, &l, &key).await.filter(|w| proved_by(w, &session)) else {
        return engine::resume(&state, &l.t, &headers, &l.interaction, Some(&session), true, l.lang).await;
    };
    if let Err(e) = keep(&state, &l, key, &w).await {
        return error_page(l.lang, &e);
    }
    let texts = l.lang.texts();
    let csrf = crate::http::cookie(&headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let page = LinkConfirmPage {
        t: texts,
        lang_switch: None,
        upstream: crate::http::upstreams::name_of(&l.t, texts, &w.upstream),
        username: &username,
        name: w.identity.as_ref().map(|i| masked(&i.name)),
        action: format!("/t/{}/interaction/{}/link", l.t.tenant.slug, l.interaction.id),
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), Some(&l.ask.return_to))
}

/// `POST /t/{tenant}/interaction/{id}/link`: the person's answer (`decision` `link` or not),
/// then on with the sign-in.
pub async fn confirm(
    state: crate::http::State,
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
        Ok(None) => return see_other(&engine::interaction_url(&l.t, &l.interaction.id)),
        Err(e) => return error_page(l.lang, &e),
    };
    let ip = crate::http::client_ip(&state, &headers, peer);
    if let Some(w) =
        take(&state, &l, &waiting_key(&l.interaction.id)).await.filter(|w| proved_by(w, &session))
    {
        if param(&params, "decision") == Some("link") {
            // a licence's enterprise role, where it gave one, is the context to act in
            if let Some(m) = link_proved(&state, &l, &session.account_id, w, &ip).await {
                return act_in(&state, &l, l.interaction.clone(), &headers, &session, &m).await;
            }
        } else {
            let detail = json!({"upstream": w.upstream});
            audit(
                &state,
                &l.t.tenant.id,
                "upstream_link_declined",
                Some(&session.account_id),
                None,
                Some(&ip),
                detail,
            )
            .await;
        }
    }
    engine::resume(&state, &l.t, &headers, &l.interaction, Some(&session), true, l.lang).await
}

/// Carries on with the sign-in acting in `membership` (the chooser checks it is one the
/// client accepts and still live).
pub(crate) async fn act_in(
    state: &AppState,
    l: &Loaded,
    mut interaction: idp_core::model::Interaction,
    headers: &HeaderMap,
    session: &Session,
    membership: &str,
) -> Response {
    // a client that asks to choose again (`prompt=select_account`) is asked
    if !l.ask.select_account
        && state.store().set_interaction_context(&interaction.id, membership).await.is_ok()
    {
        interaction.act_context = Some(membership.to_string());
    }
    engine::resume(state, &l.t, headers, &interaction, Some(session), true, l.lang).await
}

/// The person proved `account_id` here and agreed to link the upstream's answer `w` to it;
/// the membership to act in, where a licence gave one.
async fn link_proved(state: &AppState, l: &Loaded, account_id: &str, w: Waiting, ip: &str) -> Option<String> {
    let u = l.t.upstreams.iter().find(|u| u.id == w.upstream && !u.disabled)?;
    let identity: Option<VerifiedIdentity> = w.identity.map(Into::into);
    let (account, binding) = match (
        state.store().account(&l.t.tenant.id, account_id).await,
        state.store().real_name(account_id).await,
    ) {
        (Ok(Some(a)), Ok(b)) => (a, b),
        _ => return None,
    };
    let known = match known(state, &l.t, u, &w.subject, identity.as_ref()).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e.description, "could not read an upstream link");
            return None;
        }
    };
    let proving = Proving { account_id, binding: binding.as_ref(), via: "proved_local" };
    let decision = decide_link(&known.facts(u, identity.as_ref(), Some(proving)));
    let decision = already_linked(state, u, decision).await.ok()?;
    match decision {
        LinkDecision::SignIn { new_link: Some(via), .. } => {
            link(state, l, u, &w.subject, &account, via, ip).await.ok()?;
            if let Some(i) = &identity {
                bind(state, &l.t, &account, u, i).await;
            }
            let g = w.licence.as_ref()?;
            crate::http::signin::upstream_licence::grant(state, &l.t, &account, u, g, ip).await
        }
        LinkDecision::Refuse(reason) => {
            let detail = json!({"upstream": u.id, "reason": reason});
            audit(state, &l.t.tenant.id, "upstream_refused", Some(account_id), None, Some(ip), detail).await;
            None
        }
        _ => None,
    }
}
