//! Signing in through an upstream, the account half: which account a verified answer reaches
//! (`idp_core::upstream::decide_link`), the link made on a first sign-in, the account created
//! just in time, the person asked to prove their account here first, and the real-name level
//! the operator's rules give what the upstream verified.
//!
//! - **Proving an account here.** When nothing links the answer, the person signs in once with
//!   their account here in the same interaction; the upstream's answer waits, sealed, in a
//!   ceremony record of the interaction and is linked when that sign-in completes
//!   ([`link_proved`]). A sign-in through an upstream proves nothing here (it never links
//!   another upstream's answer).
//! - **The session's level.** The upstream's sign-in is one factor (`amr` `fed`), and the
//!   account's own second factor follows as after a password. Where the operator's `acr_map`
//!   counts the upstream's sign-in as `aal2`, it stands for both (`fed` with `mfa`), except for
//!   accounts holding roles: an administrator's or clerk's second factor is always their own
//!   (a compromised upstream never reaches a privileged account with its answer alone).
//! - **The real-name binding** is raised, never lowered, to the level the rules give the
//!   upstream's verified identity, with its evidence (method `upstream`, the upstream, its
//!   reference, its time); an identity that is not the account's never gets here (refused by
//!   `decide_link`).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::{Account, RealName, Upstream, UpstreamLink};
use idp_core::realname;
use idp_core::upstream::{LinkDecision, LinkFacts, Proving, VerifiedIdentity, decide_link, read_identity};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::pages::error_page;
use crate::http::session::audit;
use crate::http::signin::interaction::{Loaded, first_factor_done, login_page, login_page_with};
use crate::http::signin::upstream::{open, seal};
use crate::outbound::upstream::Answer;
use crate::state::{AppState, TenantCtx};

/// An upstream's answer waiting for the person to prove their account here.
#[derive(Serialize, Deserialize)]
struct Waiting {
    upstream: String,
    subject: String,
    acr: Option<String>,
    identity: Option<Identity>,
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
    let tenant_id = &l.t.tenant.id;
    match decision {
        LinkDecision::SignIn { account_id, new_link } => {
            complete(state, l, headers, u, answer, identity.as_ref(), &account_id, new_link, ip).await
        }
        LinkDecision::Create => match create(state, l, identity.as_ref()).await {
            Ok(account) => {
                let detail = json!({"via": "upstream", "upstream": u.id});
                let client = Some(l.ask.party.as_str());
                audit(state, tenant_id, "account_registered", Some(&account.id), client, Some(ip), detail)
                    .await;
                complete(state, l, headers, u, answer, identity.as_ref(), &account.id, Some("created"), ip)
                    .await
            }
            Err(e) => error_page(l.lang, &e),
        },
        LinkDecision::AskToProve => {
            let waiting = Waiting {
                upstream: u.id.clone(),
                subject: answer.subject.clone(),
                acr: answer.acr.clone(),
                identity: identity.as_ref().map(Identity::from),
            };
            let key = waiting_key(&l.interaction.id);
            let plain = serde_json::to_vec(&waiting).unwrap_or_default();
            let record = idp_core::model::Ceremony {
                state: seal(state, &l.t, &plain, &key),
                key,
                tenant_id: tenant_id.clone(),
                account_id: None,
                expires_at: l.interaction.expires_at,
            };
            if let Err(e) = state.store().put_ceremony(&record).await {
                return error_page(l.lang, &e.into());
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
    let username: String = idp_core::crypto::random_token(state.env(), 12)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    let person = crate::ops::NewAccount {
        username: format!("u{username}"),
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
    if let Some(via) = new_link
        && let Err(r) = link(state, l, u, &answer.subject, &account, via, ip).await
    {
        return r;
    }
    if let Err(e) =
        state.store().touch_upstream_link(tenant_id, &u.id, &answer.subject, now, answer.acr.as_deref()).await
    {
        tracing::warn!(error = %e, "could not note an upstream link's use");
    }
    if let Some(i) = identity {
        bind(state, &l.t, &account, u, i).await;
    }
    let strong = idp_core::upstream::session_acr(&u.settings, answer.acr.as_deref()) == "aal2";
    let amr = if strong && account.roles.is_empty() {
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
            let detail = json!({"upstream": u.id, "via": via});
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

/// The person proved `account_id` here in an interaction where an upstream's answer waits for
/// it: link the two (or, refused, leave them apart and say why in the audit trail). Called
/// when a sign-in that did not come through an upstream completes.
pub(crate) async fn link_proved(state: &AppState, l: &Loaded, account_id: &str, ip: &str) {
    let key = waiting_key(&l.interaction.id);
    let record = match state.store().take_ceremony(&key, state.env().now()).await {
        Ok(Some(r)) if r.tenant_id == l.t.tenant.id => r,
        Ok(_) => return,
        Err(e) => return tracing::warn!(error = %e, "could not read an upstream answer waiting to be linked"),
    };
    let Some(waiting) =
        open(state, &record.state, &key).and_then(|p| serde_json::from_slice::<Waiting>(&p).ok())
    else {
        return;
    };
    let Some(u) = l.t.upstreams.iter().find(|u| u.id == waiting.upstream && !u.disabled) else {
        return;
    };
    let identity: Option<VerifiedIdentity> = waiting.identity.map(Into::into);
    let (account, binding) = match (
        state.store().account(&l.t.tenant.id, account_id).await,
        state.store().real_name(account_id).await,
    ) {
        (Ok(Some(a)), Ok(b)) => (a, b),
        _ => return,
    };
    let known = match known(state, &l.t, u, &waiting.subject, identity.as_ref()).await {
        Ok(k) => k,
        Err(e) => return tracing::warn!(error = %e.description, "could not read an upstream link"),
    };
    let proving = Proving { account_id, binding: binding.as_ref(), via: "proved_local" };
    match decide_link(&known.facts(u, identity.as_ref(), Some(proving))) {
        LinkDecision::SignIn { new_link: Some(via), .. } => {
            if link(state, l, u, &waiting.subject, &account, via, ip).await.is_ok()
                && let Some(i) = &identity
            {
                bind(state, &l.t, &account, u, i).await;
            }
        }
        LinkDecision::Refuse(reason) => {
            let detail = json!({"upstream": u.id, "reason": reason});
            audit(state, &l.t.tenant.id, "upstream_refused", Some(account_id), None, Some(ip), detail).await;
        }
        _ => {}
    }
}
