//! The account centre's pages: an overview (who the person is, their real-name level, what needs
//! their attention, one card per section) and one page per section, each with the same
//! navigation (a list on wide screens, a menu on phones; `templates/account.html`) and a sign-out
//! button in the header. A section page loads only what it shows.
//!
//! A form posted from a section answers with that section's page (with what was done or what
//! stopped it), so the person stays where they were.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idp_core::model::{Account, Session};

use super::{Pending, base, may_change_factors, password, signed_in_to};
use crate::http::pages::{EntRow, KeyRow, Lang, RealNameRow, Texts, render, with_form_action};
use crate::http::session::{browser_binding, browser_cookie};
use crate::http::{State, words};
use crate::state::{AppState, TenantCtx};

/// A page of the account centre; its path under `/t/{tenant}/account`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Section {
    Overview,
    Security,
    Identity,
    Profile,
    Privacy,
    Devices,
    Activity,
    Delete,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Overview,
        Section::Security,
        Section::Identity,
        Section::Profile,
        Section::Privacy,
        Section::Devices,
        Section::Activity,
        Section::Delete,
    ];

    /// The path segment after `/account` (empty for the overview).
    pub fn key(self) -> &'static str {
        match self {
            Section::Overview => "",
            Section::Security => "security",
            Section::Identity => "identity",
            Section::Profile => "profile",
            Section::Privacy => "privacy",
            Section::Devices => "devices",
            Section::Activity => "activity",
            Section::Delete => "delete",
        }
    }

    pub fn from_key(key: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.key() == key && !key.is_empty())
    }

    pub fn title(self, t: &Texts) -> &'static str {
        match self {
            Section::Overview => t.sec_overview,
            Section::Security => t.sec_security,
            Section::Identity => t.sec_identity,
            Section::Profile => t.sec_profile,
            Section::Privacy => t.sec_privacy,
            Section::Devices => t.sec_devices,
            Section::Activity => t.sec_activity,
            Section::Delete => t.sec_delete,
        }
    }

    /// The page's address.
    pub fn url(self, t: &TenantCtx) -> String {
        match self {
            Section::Overview => super::home_url(t),
            s => format!("{}/{}", super::home_url(t), s.key()),
        }
    }
}

/// A link of the account centre's navigation.
pub struct NavLink {
    pub href: String,
    pub title: &'static str,
    pub current: bool,
}

/// A section's card on the overview: its title, a line of what it holds, the link.
pub struct Card {
    pub href: String,
    pub title: &'static str,
    pub summary: String,
    /// The card of the destructive section, drawn apart.
    pub danger: bool,
}

/// Something on the account the person should look at, and where to do it.
pub struct Attention {
    pub text: &'static str,
    pub href: String,
    pub action: &'static str,
}

/// What the account page says above its sections after an action: that it was done (a
/// polite status, never in red), or what stopped it (an alert).
#[derive(Clone, Copy)]
pub enum Note<'a> {
    Done(&'a str),
    Problem(&'a str),
}

impl Note<'_> {
    pub fn text(&self) -> &str {
        match self {
            Note::Done(t) | Note::Problem(t) => t,
        }
    }
    pub fn done(&self) -> bool {
        matches!(self, Note::Done(_))
    }
}

#[derive(askama::Template, Default)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    /// The section shown (`Section::key`; "" for the overview).
    pub section: &'static str,
    pub heading: &'static str,
    pub nav: Vec<NavLink>,
    /// The sign-out form's action.
    pub sign_out: String,
    pub username: &'a str,
    /// How the header names the person (`words::shown_name`).
    pub shown: String,
    pub note: Option<Note<'a>>,
    pub base: String,
    pub csrf: &'a str,
    // the overview
    pub attention: Vec<Attention>,
    pub cards: Vec<Card>,
    // sign-in and security
    pub totp_on: bool,
    pub recovery_left: i64,
    /// The account has a password (the form asks for it); else it may set one.
    pub has_password: bool,
    /// The tenant's password rules, shown beside the form.
    pub pw_rules: Vec<(String, String)>,
    pub keys: Vec<KeyRow>,
    /// The upstream identity providers the account is linked to (`links.rs`).
    pub links: Vec<super::links::LinkRow>,
    /// Keys can be added here (the deployment offers WebAuthn, and the session may change
    /// the account's factors).
    pub keys_add: bool,
    /// Passkeys or security keys are offered here (the deployment's WebAuthn and the tenant).
    pub keys_offered: bool,
    /// The kinds of key the tenant offers: (form value, label).
    pub kinds: Vec<(&'static str, &'static str)>,
    /// Authenticator apps can be set up.
    pub totp_offered: bool,
    /// This session may change the account's factors (`may_change_factors`).
    pub may_change: bool,
    // personal details
    pub phone: Option<&'a str>,
    pub phone_verified: bool,
    /// Phone numbers can be verified (an SMS sender is configured).
    pub phone_offered: bool,
    /// A number a code was just sent to, awaiting the code.
    pub phone_pending: Option<String>,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    /// Whether codes can be sent to email addresses.
    pub email_offered: bool,
    /// An address a code was sent to, awaiting the code.
    pub email_pending: Option<String>,
    /// The profile form's fields.
    pub profile: Vec<super::profile::ProfileField>,
    // identity (the real-name level also heads the overview)
    pub realname: Option<RealNameRow>,
    /// The binding form is shown (below level 4).
    pub realname_form: bool,
    /// The bank-card form (level 2 → 3) is shown.
    pub card_form: bool,
    pub id_types: Vec<(&'static str, &'static str)>,
    pub enterprises: Vec<EntRow>,
    /// The contexts the person can switch between: (value, label, current); empty with one.
    pub contexts: Vec<(String, String, bool)>,
    // privacy
    /// The latest releases of the person's claims: (when, client, claim names).
    pub releases: Vec<(String, String, String)>,
    pub grants: Vec<super::grants::GrantRow>,
    // devices and activity
    pub sessions: Vec<super::sessions::SessionRow>,
    /// The latest sign-ins and failed attempts: (when, what, address).
    pub history: Vec<(String, String, String)>,
}

impl Default for &Texts {
    fn default() -> Self {
        Lang::Zh.texts()
    }
}

/// `GET /t/{tenant}/account/{section}`.
pub async fn show_section(
    state: State,
    Path((slug, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match Section::from_key(&key) {
        Some(section) => show_signed_in(&state, &slug, &headers, section).await,
        None => crate::http::pages::page_not_found(headers).await,
    }
}

/// `GET /t/{tenant}/account/profile` (the path the profile form posts to).
pub async fn show_profile(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    show_signed_in(&state, &slug, &headers, Section::Profile).await
}

/// `GET /t/{tenant}/account/delete` (the path the deletion form posts to).
pub async fn show_delete(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    show_signed_in(&state, &slug, &headers, Section::Delete).await
}

/// The section for the signed-in person; a sign-in first, which comes back here.
pub(crate) async fn show_signed_in(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    section: Section,
) -> Response {
    let back = match section {
        Section::Overview => "account".to_string(),
        s => format!("account/{}", s.key()),
    };
    match signed_in_to(state, slug, headers, &back, None).await {
        Ok((t, lang, session, account)) => {
            show_account_with(state, &t, lang, headers, &session, &account, section, None, None).await
        }
        Err(r) => r,
    }
}

/// A section page, with what stopped the action, if anything.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn show_account(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    section: Section,
    problem: Option<&str>,
) -> Response {
    show_account_with(state, t, lang, headers, session, account, section, problem.map(Note::Problem), None)
        .await
}

/// A section page after an action that was done.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn show_account_done(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    section: Section,
    done: &str,
) -> Response {
    show_account_with(state, t, lang, headers, session, account, section, Some(Note::Done(done)), None).await
}

/// A section page; `pending` is an address a code was sent to, awaiting the code.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn show_account_with(
    state: &AppState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    session: &Session,
    account: &Account,
    section: Section,
    note: Option<Note<'_>>,
    pending: Option<Pending>,
) -> Response {
    let texts = lang.texts();
    let (csrf, is_new) = browser_binding(headers);
    let nav = Section::ALL
        .into_iter()
        .map(|s| NavLink { href: s.url(t), title: s.title(texts), current: s == section })
        .collect();
    let mut page = AccountPage {
        t: texts,
        section: section.key(),
        heading: if section == Section::Overview { texts.account_title } else { section.title(texts) },
        nav,
        sign_out: format!("{}/end_session/confirm", base(t)),
        username: &account.username,
        shown: words::shown_name(account),
        note,
        base: base(t),
        csrf: &csrf,
        ..Default::default()
    };
    match section {
        Section::Overview => overview(state, t, texts, session, account, &mut page).await,
        Section::Security => security(state, t, texts, session, account, &mut page).await,
        Section::Identity => identity(state, t, texts, session, account, &mut page).await,
        Section::Profile => {
            let (phone_pending, email_pending) = match pending {
                Some(Pending::Phone(p)) => (Some(p), None),
                Some(Pending::Email(e)) => (None, Some(e)),
                None => (None, None),
            };
            page.phone = account.phone.as_deref();
            page.phone_verified = account.phone_verified_at.is_some();
            page.phone_offered = state.sms.is_some();
            page.phone_pending = phone_pending;
            page.email = account.email.as_deref();
            page.email_verified = account.email_verified_at.is_some();
            page.email_offered = state.email.is_some();
            page.email_pending = email_pending;
            page.profile = super::profile::fields(state, account, texts).await;
        }
        Section::Privacy => {
            page.grants = super::grants::rows(state, t, account, lang).await;
            page.releases = releases(state, t, account).await;
        }
        Section::Devices => page.sessions = super::sessions::rows(state, t, account, session, texts).await,
        Section::Activity => page.history = super::sessions::history(state, t, account, texts).await,
        Section::Delete => {}
    }
    let mut res = with_form_action(render(StatusCode::OK, &page), None);
    if is_new {
        res.headers_mut().append(header::SET_COOKIE, browser_cookie(state, t, &csrf));
    }
    res
}

/// The bound identity in plain words (`words::realname`), with the masked number.
async fn realname_row(state: &AppState, account: &Account, texts: &Texts) -> Option<RealNameRow> {
    let bound = state.store().real_name(&account.id).await.ok().flatten()?;
    let types = crate::http::pages::id_types(texts);
    let (meaning, next) = words::realname(bound.level, texts);
    Some(RealNameRow {
        level: bound.level,
        meaning,
        next,
        id_type: types.iter().find(|(v, _)| *v == bound.id_type).map_or("", |(_, l)| l),
        name: bound.name,
        masked: bound.id_masked,
    })
}

/// What the security section and the overview both need: the authenticator, the keys.
async fn factors(state: &AppState, t: &TenantCtx, texts: &Texts, account: &Account) -> (bool, Vec<KeyRow>) {
    let totp_on = matches!(state.store().totp(&account.id).await, Ok(Some(c)) if c.confirmed);
    let now = state.env().now();
    let keys = state.store().webauthn_credentials(&account.id).await.unwrap_or_default();
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            kind: if k.kind == "passkey" { texts.kind_passkey } else { texts.kind_security_key },
            created: t.local(k.created_at, now),
            last_used: k.last_used_at.map(|u| t.local(u, now)),
            flagged: k.flagged_at.is_some(),
            id: k.id,
            name: k.name,
        })
        .collect();
    (totp_on, keys)
}

async fn security(
    state: &AppState,
    t: &TenantCtx,
    texts: &Texts,
    session: &Session,
    account: &Account,
    page: &mut AccountPage<'_>,
) {
    let (totp_on, keys) = factors(state, t, texts, account).await;
    let offered = &t.tenant.settings.factors;
    if offered.passkeys {
        page.kinds.push(("passkey", texts.kind_passkey));
    }
    if offered.security_keys {
        page.kinds.push(("security_key", texts.kind_security_key));
    }
    let may_change = may_change_factors(state, t, session).await.unwrap_or(false);
    page.totp_on = totp_on;
    page.keys = keys;
    page.links = super::links::rows(state, t, texts, account).await;
    page.keys_offered = state.passkeys.is_some() && !page.kinds.is_empty();
    page.keys_add = page.keys_offered && may_change;
    page.may_change = may_change;
    page.totp_offered = offered.totp;
    page.recovery_left = state.store().recovery_codes_left(&account.id).await.unwrap_or(0);
    page.has_password = account.password_hash.is_some();
    page.pw_rules = password::rules_text(t.tenant.settings.policy.password_rules(), texts);
}

async fn identity(
    state: &AppState,
    t: &TenantCtx,
    texts: &Texts,
    session: &Session,
    account: &Account,
    page: &mut AccountPage<'_>,
) {
    let realname = realname_row(state, account, texts).await;
    let level = realname.as_ref().map_or(0, |r| r.level);
    page.realname_form = level < idp_core::realname::IN_PERSON;
    page.card_form = crate::http::signin::realname::card_offered(state, t, level);
    page.realname = realname;
    page.id_types = crate::http::pages::id_types(texts);
    page.enterprises = super::enterprise::rows(state, t, account, texts).await;
    page.contexts = crate::http::signin::context::account_options(state, t, session, texts).await;
}

/// The overview: the real-name level, what needs attention, a card per section.
async fn overview(
    state: &AppState,
    t: &TenantCtx,
    texts: &Texts,
    session: &Session,
    account: &Account,
    page: &mut AccountPage<'_>,
) {
    let (totp_on, keys) = factors(state, t, texts, account).await;
    let realname = realname_row(state, account, texts).await;
    let enterprises = super::enterprise::rows(state, t, account, texts).await;
    let grants = state.store().account_grants(&t.tenant.id, &account.id).await.map_or(0, |g| g.len());
    let now = state.env().now();
    let sessions =
        state.store().account_sessions(&t.tenant.id, &account.id, now).await.map_or(1, |s| s.len());
    let offered = &t.tenant.settings.factors;
    let url = |s: Section| s.url(t);

    let mut attention = vec![];
    if !totp_on && keys.is_empty() && (offered.totp || (state.passkeys.is_some() && offered.passkeys)) {
        attention.push(Attention {
            text: texts.att_second_factor,
            href: url(Section::Security),
            action: texts.att_second_factor_go,
        });
    }
    if keys.iter().any(|k| k.flagged) {
        attention.push(Attention {
            text: texts.att_flagged,
            href: url(Section::Security),
            action: texts.att_look,
        });
    }
    if realname.is_none() {
        attention.push(Attention {
            text: texts.att_realname,
            href: url(Section::Identity),
            action: texts.att_realname_go,
        });
    }
    if enterprises.iter().any(|e| e.pending) {
        attention.push(Attention {
            text: texts.att_mandate,
            href: url(Section::Identity),
            action: texts.att_look,
        });
    }
    if state.sms.is_some() && account.phone_verified_at.is_none() {
        let (text, action) = match account.phone {
            Some(_) => (texts.att_phone, texts.att_phone_go),
            None => (texts.att_phone_none, texts.att_phone_add),
        };
        attention.push(Attention { text, href: url(Section::Profile), action });
    }

    let count = |template: &str, n: usize| template.replace("{n}", &n.to_string());
    let security = format!(
        "{} · {}",
        if totp_on || !keys.is_empty() { texts.sum_totp_on } else { texts.sum_totp_off },
        count(texts.sum_keys, keys.len())
    );
    let identity = match &realname {
        Some(r) => {
            format!("{} {} · {}", texts.rn_level, r.level, count(texts.sum_enterprises, enterprises.len()))
        }
        None => format!("{} · {}", texts.sum_rn_none, count(texts.sum_enterprises, enterprises.len())),
    };
    // (masked here, as the ID number is; the section shows it whole)
    let masked = account.phone.as_deref().map(crate::http::signin::factor::mask_phone);
    let phone = match (&masked, account.phone_verified_at) {
        (Some(p), Some(_)) => format!("{p} · {}", texts.phone_is_verified),
        (Some(p), None) => format!("{p} · {}", texts.phone_unverified),
        (None, _) => texts.phone_none.to_string(),
    };
    let profile = texts.sum_phone.replace("{v}", &phone);
    let last = state
        .store()
        // (a sign-in again as the same person, a step-up say, keeps the session's id: enough
        // of them that one before this session shows)
        .account_events(&t.tenant.id, &account.id, "login_success", 20)
        .await
        .unwrap_or_default()
        .into_iter()
        // the sign-in before this session's, if there was one
        .find(|e| e.detail["sid"].as_str() != Some(session.sid.as_str()))
        .map_or_else(
            || texts.sum_first_signin.to_string(),
            |e| texts.sum_last.replace("{when}", &t.local(e.at, now)),
        );
    let card = |s: Section, summary: String| Card {
        href: url(s),
        title: s.title(texts),
        summary,
        danger: s == Section::Delete,
    };
    page.cards = vec![
        card(Section::Security, security),
        card(Section::Identity, identity),
        card(Section::Profile, profile),
        card(Section::Privacy, count(texts.sum_apps, grants)),
        card(Section::Devices, count(texts.sum_sessions, sessions)),
        card(Section::Activity, last),
        card(Section::Delete, texts.sum_delete.to_string()),
    ];
    page.attention = attention;
    page.realname = realname;
    page.totp_on = totp_on;
    page.keys = keys;
}

/// The latest claims released about the person (`claims_released` events): when, to which
/// client, which claims.
async fn releases(state: &AppState, t: &TenantCtx, account: &Account) -> Vec<(String, String, String)> {
    let events = state
        .store()
        .account_events(&t.tenant.id, &account.id, "claims_released", 20)
        .await
        .unwrap_or_default();
    let mut out = vec![];
    for e in events {
        let client_id = e.client_id.unwrap_or_default();
        let name = match state.store().client(&t.tenant.id, &client_id).await {
            Ok(Some(c)) => c.name,
            _ => client_id,
        };
        let claims = e.detail["claims"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        out.push((t.local(e.at, state.env().now()), name, claims));
    }
    out
}
