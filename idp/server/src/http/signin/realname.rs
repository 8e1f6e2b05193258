//! Real-name binding through the pages: the person submits name, document type and number on
//! the account pages, or inside a sign-in when the client needs a higher level; a counter
//! clerk raises a person to level 4 after checking the card (`http/hall/counter.rs`). One function binds,
//! whoever asks: the number is validated (`idp_core::identifiers`), looked up by its keyed hash
//! (one number binds one account per tenant; a conflict is explained with a way forward), and
//! checked by the verification provider. A provider that fails changes nothing and says so.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::identifiers::IdError;
use idp_core::model::{Account, RealName, Session};
use idp_core::realname::{self, Outcome};
use idp_core::signin::SignInRequest;
use serde_json::json;

use crate::http::account::{Posted, posted as account_posted, show_account};
use crate::http::pages::{RealNamePage, Texts, error_page, id_types, render, with_form_action};
use crate::http::session::audit;
use crate::http::signin::engine;
use crate::http::signin::interaction::{Loaded, lang_switch, posted, session_of};
use crate::http::{State, param};
use crate::state::{AppState, TenantCtx};

/// Why a binding did not happen; each says what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The number fails validation (the message names what is wrong, never the number);
    /// `None`: the name is missing.
    Invalid(Option<IdError>),
    /// The number is of another document type than the one chosen.
    WrongType,
    /// Another account of the tenant has this number.
    Taken,
    Mismatch,
    NotFound,
    /// The provider could not answer: nothing changed.
    Unavailable,
    /// Without a provider, a self-asserted binding needs a verified phone.
    NeedPhone,
    /// The account already has this or a higher level for this number.
    Nothing,
    /// A binding checked at a counter is changed only at a counter.
    AtCounter,
    /// The bank card number is mistyped.
    CardInvalid(realname::CardError),
    /// The bank's records do not tie the card and the phone to this person.
    CardMismatch,
    CardNotFound,
    /// Level 3 builds on a level 2 binding.
    NeedsBinding,
    /// A clerk tried to bind their own account at the counter.
    OwnAccount,
}

impl Refusal {
    pub fn message(&self, t: &Texts) -> String {
        match self {
            Refusal::Invalid(None) => t.rn_name.into(),
            Refusal::Invalid(Some(e)) => format!("{} {}", t.rn_invalid, id_error(e, t.html_lang != "en")),
            Refusal::WrongType => t.rn_wrong_type.into(),
            Refusal::Taken => t.rn_taken.into(),
            Refusal::Mismatch => t.rn_mismatch.into(),
            Refusal::NotFound => t.rn_not_found.into(),
            Refusal::Unavailable => t.rn_unavailable.into(),
            Refusal::NeedPhone => t.rn_need_phone.into(),
            Refusal::Nothing => t.rn_nothing.into(),
            Refusal::AtCounter => t.rn_needs_counter.into(),
            Refusal::CardInvalid(e) => {
                format!("{} {}", t.rn_card_invalid, card_error(e, t.html_lang != "en"))
            }
            Refusal::CardMismatch => t.rn_card_mismatch.into(),
            Refusal::CardNotFound => t.rn_card_not_found.into(),
            Refusal::NeedsBinding => t.rn_card_needs_binding.into(),
            Refusal::OwnAccount => t.counter_own_account.into(),
        }
    }
}

/// What is wrong with a number, in the page's language.
fn id_error(e: &IdError, zh: bool) -> String {
    match (e, zh) {
        (IdError::WrongLength { expected, found }, true) => {
            format!("应为 {expected} 位，实际为 {found} 位。")
        }
        (IdError::BadCharacter { position }, true) => format!("第 {position} 位字符不正确。"),
        (IdError::ImpossibleBirthDate, true) => "出生日期不存在。".into(),
        (IdError::BirthDateInFuture, true) => "出生日期晚于今天。".into(),
        (IdError::CheckMismatch { expected, found }, true) => {
            format!("最后一位校验码应为 {expected}，填写的是 {found}，请核对号码。")
        }
        (e, false) => format!("{e}."),
    }
}

fn card_error(e: &realname::CardError, zh: bool) -> String {
    match (e, zh) {
        (realname::CardError::Length { found }, true) => {
            format!("银行卡号应为 16 至 19 位数字，实际为 {found} 位。")
        }
        (realname::CardError::BadCharacter { position }, true) => format!("第 {position} 位不是数字。"),
        (realname::CardError::Check, true) => "校验位不符，卡号可能输错了。".into(),
        (e, false) => format!("{e}."),
    }
}

/// Whether the bank-card check (level 3) can be offered to a person at `level`.
pub fn card_offered(state: &AppState, t: &TenantCtx, level: i64) -> bool {
    level == realname::PROVIDER_MATCH && state.verifier_for(t).is_some_and(|v| v.offers_bank_card())
}

/// Raises a level-2 binding to level 3 by the bank-card four-factor check: the bound name and
/// number, the card, and the account's verified phone (the one the bank must have). The card
/// number is used for the check only and kept nowhere.
pub async fn raise_by_card(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    card: &str,
) -> Result<RealName, Refusal> {
    let card = realname::parse_bank_card(card).map_err(Refusal::CardInvalid)?;
    let current = state.store().real_name(&account.id).await.map_err(|_| Refusal::Unavailable)?;
    let current = match current {
        Some(c) if c.level >= realname::REAL_PERSON => return Err(Refusal::Nothing),
        Some(c) if c.level == realname::PROVIDER_MATCH => c,
        _ => return Err(Refusal::NeedsBinding),
    };
    let Some(phone) = account.phone.as_deref().filter(|_| account.phone_verified_at.is_some()) else {
        return Err(Refusal::NeedPhone);
    };
    let Some(v) = state.verifier_for(t).filter(|v| v.offers_bank_card()) else {
        return Err(Refusal::Unavailable);
    };
    let number =
        realname::open_id(&state.ops.kek, &t.tenant.id, &current.id_sealed).ok_or(Refusal::Unavailable)?;
    let check = realname::BankCardCheck {
        name: &current.name,
        id_type: &current.id_type,
        id_number: &number,
        card_number: &card,
        phone,
    };
    let reference = match v.verify_bank_card(&check).await {
        Outcome::Match { reference } => reference,
        Outcome::Mismatch => return Err(Refusal::CardMismatch),
        Outcome::NotFound => return Err(Refusal::CardNotFound),
        Outcome::Unavailable(why) => {
            tracing::warn!(reason = %why, "the bank-card check could not answer");
            return Err(Refusal::Unavailable);
        }
    };
    let record = RealName {
        level: realname::REAL_PERSON,
        method: "bank_card".into(),
        verifier: v.name().to_string(),
        verified_at: state.env().now(),
        evidence: Some(reference),
        ..current
    };
    match state.store().put_real_name(&record).await {
        Ok(true) => {}
        Ok(false) => return Err(Refusal::Taken),
        Err(_) => return Err(Refusal::Unavailable),
    }
    let detail = json!({
        "level": record.level, "method": record.method, "verifier": record.verifier,
        "previous_level": realname::PROVIDER_MATCH,
    });
    audit(state, &t.tenant.id, "realname_bound", Some(&account.id), None, None, detail).await;
    Ok(record)
}

/// The document's type, its number in canonical form and masked, or why it is not one.
pub fn check_number(id_type: &str, number: &str, now: i64) -> Result<(String, String), Refusal> {
    let id =
        idp_core::identifiers::parse_person_id(number.trim(), now).map_err(|e| Refusal::Invalid(Some(e)))?;
    if id.kind.as_str() != id_type {
        return Err(Refusal::WrongType);
    }
    let masked = idp_core::identifiers::mask_id_number(&id.number);
    Ok((id.number, masked))
}

/// The provider's reference for a match of name and number, or why there is none.
async fn provider_match(
    v: &dyn realname::Verifier,
    name: &str,
    id_type: &str,
    number: &str,
) -> Result<String, Refusal> {
    match v.verify(name, id_type, number).await {
        Outcome::Match { reference } => Ok(reference),
        Outcome::Mismatch => Err(Refusal::Mismatch),
        Outcome::NotFound => Err(Refusal::NotFound),
        Outcome::Unavailable(why) => {
            tracing::warn!(reason = %why, "the identity verification provider could not answer");
            Err(Refusal::Unavailable)
        }
    }
}

/// How a binding is made: by the person through the provider (or self-asserted without one),
/// or by a clerk at the counter.
pub enum Via<'a> {
    Person,
    Counter { clerk: &'a Account },
}

/// Binds `account` to the identity, audits it and returns the record; nothing changes on a
/// refusal.
pub async fn bind(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    name: &str,
    id_type: &str,
    number: &str,
    via: Via<'_>,
) -> Result<RealName, Refusal> {
    let now = state.env().now();
    let name: String = name.trim().chars().filter(|c| !c.is_control()).take(64).collect();
    if name.is_empty() {
        return Err(Refusal::Invalid(None));
    }
    let (number, masked) = check_number(id_type, number, now)?;
    let kek = &state.ops.kek;
    let tenant_id = &t.tenant.id;
    let hash = realname::id_hash(kek, tenant_id, &number);
    let current = state.store().real_name(&account.id).await.map_err(|_| Refusal::Unavailable)?;
    // what a clerk checked in person, the person cannot replace online
    if matches!(via, Via::Person) && current.as_ref().is_some_and(|c| c.level >= realname::IN_PERSON) {
        return Err(Refusal::AtCounter);
    }
    match state.store().real_name_by_hash(tenant_id, &hash).await {
        Ok(Some(other)) if other.account_id != account.id => return Err(Refusal::Taken),
        Ok(_) => {}
        Err(_) => return Err(Refusal::Unavailable),
    }
    let (level, method, verifier, evidence) = match via {
        // Four eyes: a clerk never acts on their own account (docs/domain.md). Where a verification
        // provider is configured the counter asks it too, and binds only on its match: the
        // clerk vouches for the person and the document, the population register for the pair
        // of name and number (README "Real-name binding", four eyes at the counter).
        Via::Counter { clerk } if clerk.id == account.id => return Err(Refusal::OwnAccount),
        Via::Counter { clerk } => {
            let provider = match &state.verifier_for(t) {
                None => String::new(),
                Some(v) => {
                    format!(";{}:{}", v.name(), provider_match(v.as_ref(), &name, id_type, &number).await?)
                }
            };
            (
                realname::IN_PERSON,
                "counter",
                clerk.id.clone(),
                Some(format!("counter:{}:{now}{provider}", clerk.username)),
            )
        }
        Via::Person => match &state.verifier_for(t) {
            None if account.phone_verified_at.is_none() => return Err(Refusal::NeedPhone),
            None => (realname::SELF_ASSERTED, "self_asserted", "self".to_string(), None),
            Some(v) => {
                let reference = provider_match(v.as_ref(), &name, id_type, &number).await?;
                (realname::PROVIDER_MATCH, "provider", v.name().to_string(), Some(reference))
            }
        },
    };
    if let Some(c) = &current
        && c.id_hash == hash
        && c.level >= level
        && c.name == name
    {
        return Err(Refusal::Nothing);
    }
    let record = RealName {
        account_id: account.id.clone(),
        tenant_id: tenant_id.clone(),
        level,
        name,
        id_type: id_type.to_string(),
        id_sealed: realname::seal_id(kek, state.env(), t.keys.suite.seal_alg(), tenant_id, &number),
        id_hash: hash,
        id_masked: masked,
        method: method.into(),
        verifier,
        verified_at: now,
        evidence,
    };
    match state.store().put_real_name(&record).await {
        Ok(true) => {}
        Ok(false) => return Err(Refusal::Taken),
        Err(_) => return Err(Refusal::Unavailable),
    }
    let clerk = match via {
        Via::Counter { clerk } => Some(clerk.id.clone()),
        Via::Person => None,
    };
    let detail = json!({
        "level": record.level, "method": record.method, "verifier": record.verifier,
        "previous_level": current.map(|c| c.level), "clerk": clerk,
    });
    audit(state, tenant_id, "realname_bound", Some(&account.id), None, None, detail).await;
    Ok(record)
}

/// The level `req`'s client needs and the person's, when the signed-in person is below it (one
/// read, and only for clients that set a level).
pub(crate) async fn short_of(
    state: &AppState,
    t: &TenantCtx,
    ask: &SignInRequest,
    session: &Session,
) -> Option<(i64, i64)> {
    let client = state.store().client(&t.tenant.id, &ask.party).await.ok().flatten()?;
    let needed = client.settings.min_realname_level?;
    let has = state.store().real_name(&session.account_id).await.ok().flatten().map_or(0, |r| r.level);
    (has < needed).then_some((needed, has))
}

/// What the upgrade page offers the person at `has` for a client needing `needed`.
#[derive(Clone, Copy)]
pub(crate) struct Offer {
    pub needed: i64,
    /// The name-and-number form (below level 2).
    pub bind: bool,
    /// The bank-card form (level 2 towards 3).
    pub card: bool,
}

fn offer(state: &AppState, t: &TenantCtx, (needed, has): (i64, i64)) -> Offer {
    let card_possible =
        needed == realname::REAL_PERSON && state.verifier_for(t).is_some_and(|v| v.offers_bank_card());
    Offer {
        needed,
        bind: has < realname::PROVIDER_MATCH && (needed <= realname::PROVIDER_MATCH || card_possible),
        card: card_possible && has == realname::PROVIDER_MATCH,
    }
}

/// The upgrade page of a sign-in for a person at `short.1` and a client needing `short.0`.
pub(crate) fn upgrade_page(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    short: (i64, i64),
    error: Option<String>,
) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let o = offer(state, &l.t, short);
    let page = RealNamePage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        needed: o.needed,
        needed_words: crate::http::words::realname(o.needed, l.lang.texts()).0,
        bind: o.bind,
        card: o.card,
        error,
        base: format!("/t/{}/interaction/{}", l.t.tenant.slug, l.interaction.id),
        csrf: &csrf,
        id_types: id_types(l.lang.texts()),
    };
    with_form_action(render(StatusCode::OK, &page), Some(&l.ask.return_to))
}

/// The upgrade page's form: bind and carry on with the request, or decline (the client hears
/// `access_denied`).
pub async fn upgrade(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = l.lang.texts();
    let expired = || error_page(l.lang, &OAuthError::invalid_request(t.expired_interaction));
    let session = match session_of(&state, &l, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return expired(),
        Err(e) => return error_page(l.lang, &e),
    };
    let Some(short) = short_of(&state, &l.t, &l.ask, &session).await else {
        return engine::resume(&state, &l.t, &headers, &l.interaction, Some(&session), false, l.lang).await;
    };
    let o = offer(&state, &l.t, short);
    let decision = param(&params, "decision");
    let acting = (decision == Some("verify") && o.bind) || (decision == Some("card") && o.card);
    if !acting {
        let e = OAuthError::new(
            "access_denied",
            "The person has not reached the real-name level this client needs.",
        );
        return engine::refuse(&state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await;
    }
    // (a provider call costs: limited per account like credentials)
    let key = format!("{}:realname:{}", l.t.tenant.id, session.account_id);
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), state.env().now(), &key).await
    {
        return crate::http::limited(
            upgrade_page(&state, &l, &headers, short, Some(t.too_many.into())),
            wait,
        );
    }
    let account = match state.store().account(&l.t.tenant.id, &session.account_id).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => return expired(),
        Err(e) => return error_page(l.lang, &e.into()),
    };
    let done = if decision == Some("card") {
        raise_by_card(&state, &l.t, &account, param(&params, "card_number").unwrap_or_default()).await
    } else {
        let (name, id_type, number) = form_identity(&params);
        bind(&state, &l.t, &account, name, id_type, number, Via::Person).await
    };
    match done {
        // on to the client, or to the next step (the card after the binding)
        Ok(_) | Err(Refusal::Nothing) => {
            engine::resume(&state, &l.t, &headers, &l.interaction, Some(&session), false, l.lang).await
        }
        Err(r) => upgrade_page(&state, &l, &headers, short, Some(r.message(t))),
    }
}

fn form_identity(params: &[(String, String)]) -> (&str, &str, &str) {
    (
        param(params, "name").unwrap_or_default(),
        param(params, "id_type").unwrap_or_default(),
        param(params, "id_number").unwrap_or_default(),
    )
}

/// The account page's binding form.
pub async fn account_bind(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, params } =
        match account_posted(&state, &slug, &headers, &body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    let texts = lang.texts();
    let key = format!("{}:realname:{}", t.tenant.id, account.id);
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), state.env().now(), &key).await
    {
        return crate::http::limited(
            show_account(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Identity,
                Some(texts.too_many),
            )
            .await,
            wait,
        );
    }
    let (name, id_type, number) = form_identity(&params);
    let done = match param(&params, "card_number") {
        Some(card) => raise_by_card(&state, &t, &account, card).await,
        None => bind(&state, &t, &account, name, id_type, number, Via::Person).await,
    };
    match done {
        Ok(_) => {
            crate::http::account::show_account_done(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Identity,
                texts.rn_bound,
            )
            .await
        }
        Err(r) => {
            show_account(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Identity,
                Some(&r.message(texts)),
            )
            .await
        }
    }
}
