//! Server-rendered pages (askama, compile-checked) in zh-CN by default and English on request,
//! and the texts they use.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use idp_core::OAuthError;

pub use super::texts::{EN, Texts, ZH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// From `ui_locales` (space-separated, in order of preference), then the `lang` cookie,
    /// then Accept-Language; zh-CN by default.
    pub fn pick(ui_locales: Option<&str>, headers: &HeaderMap) -> Lang {
        let from = |s: &str| -> Option<Lang> {
            let s = s.trim().to_ascii_lowercase();
            if s.starts_with("en") {
                Some(Lang::En)
            } else if s.starts_with("zh") {
                Some(Lang::Zh)
            } else {
                None
            }
        };
        if let Some(l) = ui_locales.and_then(|u| u.split(' ').find_map(from)) {
            return l;
        }
        if let Some(l) = super::cookie(headers, "idp_lang").and_then(|c| from(&c)) {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next().and_then(|f| from(f.split(';').next().unwrap_or(""))))
            .unwrap_or(Lang::Zh)
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub error: Option<String>,
    pub action: String,
    pub csrf: &'a str,
    pub login: &'a str,
    /// The SMS sign-in page, where SMS codes are offered.
    pub sms_link: Option<String>,
    /// Passkeys are offered: the passkey button and the username's autofill.
    pub passkeys: bool,
    /// A polite status above the form (after a password reset).
    pub notice: Option<&'a str>,
    /// Self-registration and forgotten password, where offered.
    pub register_link: Option<String>,
    pub reset_link: Option<String>,
    /// "Sign in with …" links to the tenant's upstreams: `(href, words)`.
    pub upstreams: Vec<(String, String)>,
    /// `/t/{tenant}/interaction/{id}`.
    pub base: String,
}

#[derive(Template)]
#[template(path = "sms.html")]
pub struct SmsPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub error: Option<String>,
    pub notice: Option<&'a str>,
    /// Where the phone number goes (send) and where the code goes (verify).
    pub send_action: String,
    pub verify_action: String,
    pub password_link: String,
    pub csrf: &'a str,
    pub phone: &'a str,
    /// A code was (or may have been) sent: show the code field.
    pub code_step: bool,
}

#[derive(Template)]
#[template(path = "factor.html")]
pub struct FactorPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub error: Option<String>,
    /// An authenticator app is set up.
    pub totp: bool,
    /// The code form is shown (for a TOTP or a recovery code).
    pub code: bool,
    /// Passkeys or security keys can be used.
    pub keys: bool,
    /// The masked verified phone a recovery code can go to (the tenant offers SMS recovery).
    pub recovery_phone: Option<String>,
    /// This sign-in is for the account pages, where recovery happens; elsewhere, a link there.
    pub recovery_here: bool,
    /// A recovery code was sent: the form for it.
    pub sms_sent: bool,
    pub account_url: String,
    /// `/t/{tenant}/interaction/{id}`.
    pub base: String,
    pub csrf: &'a str,
}

/// An enterprise role of the person on the account page.
pub struct EntRow {
    pub membership_id: String,
    pub organisation_id: String,
    pub name: String,
    pub uscc: String,
    pub role: &'static str,
    /// A mandate the person has still to confirm.
    pub pending: bool,
    pub matters: String,
    pub expiry: Option<String>,
    /// A mandate's start, while it lies in the future.
    pub starts: Option<String>,
    /// The person may grant mandates here (legal representative or administrator).
    pub manage: bool,
    /// …and appoint administrators (legal representative).
    pub appoint: bool,
    /// The enterprise's administrators and agents, for a manager.
    pub members: Vec<EntMember>,
}

pub struct EntMember {
    pub id: String,
    pub who: String,
    pub role: &'static str,
    pub pending: bool,
    pub matters: String,
    pub expiry: Option<String>,
    pub starts: Option<String>,
}

/// The bound identity as the account page shows it (masked number).
pub struct RealNameRow {
    pub level: i64,
    /// The level in plain words, and how to reach the next one (`words::realname`).
    pub meaning: &'static str,
    pub next: Option<&'static str>,
    pub name: String,
    pub id_type: &'static str,
    pub masked: String,
}

/// The page that offers a real-name upgrade inside a sign-in.
#[derive(Template)]
#[template(path = "realname.html")]
pub struct RealNamePage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub needed: i64,
    /// The level needed in plain words (`words::realname`).
    pub needed_words: &'static str,
    /// The name-and-number form is offered.
    pub bind: bool,
    /// The bank-card form (level 3) is offered.
    pub card: bool,
    pub error: Option<String>,
    /// `/t/{tenant}/interaction/{id}`.
    pub base: String,
    pub csrf: &'a str,
    pub id_types: Vec<(&'static str, &'static str)>,
}

/// The acting-context chooser.
#[derive(Template)]
#[template(path = "context.html")]
pub struct ContextPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    /// (form value, label)
    pub options: Vec<(String, String)>,
    pub action: String,
    pub csrf: &'a str,
}

/// The counter clerk's page.
#[derive(Template)]
#[template(path = "counter.html")]
pub struct CounterPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub clerk: &'a str,
    /// The signed-in person is a clerk with a two-factor session.
    pub allowed: bool,
    pub message: Option<&'a str>,
    pub base: String,
    pub csrf: &'a str,
    pub id_types: Vec<(&'static str, &'static str)>,
}

/// The document types with their labels, in the page's language.
pub fn id_types(t: &Texts) -> Vec<(&'static str, &'static str)> {
    vec![
        ("resident_id", t.type_resident_id),
        ("hk_macau_permit", t.type_hk_macau_permit),
        ("taiwan_permit", t.type_taiwan_permit),
        ("foreign_permanent_resident", t.type_foreign_permanent_resident),
    ]
}

/// A passkey or security key on the account page.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub created: String,
    pub last_used: Option<String>,
    pub flagged: bool,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub codes: &'a [String],
    pub base: String,
    /// What was just done, said above the codes (a key added).
    pub done: Option<&'a str>,
    /// A sign-in to carry on with once the codes are kept (set-up during a sign-in).
    pub next: Option<String>,
}

/// A sign-in that needs a second factor the account does not have yet: the offer to set one
/// up now (`signin::enrol`).
#[derive(Template)]
#[template(path = "enrol_needed.html")]
pub struct EnrolNeededPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub action: String,
    /// Not now: back to the client, refused.
    pub decline: String,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub organisation: Option<&'a str>,
    /// Each item with the client's purpose for it, if registered.
    pub scopes: Vec<(&'static str, Option<&'a str>)>,
    /// Sensitive items, each with its own tick: (scope, description).
    /// (scope, label, the client's purpose for it).
    pub sensitive: Vec<(&'static str, &'static str, Option<&'a str>)>,
    /// The client acts under a statutory duty: inform, do not ask.
    pub statutory: bool,
    pub username: &'a str,
    pub action: String,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub message: &'a str,
    pub code: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub title: &'a str,
    pub message: &'a str,
    /// A link on to the account centre, where there is nothing else to do.
    pub home: Option<&'a str>,
}

/// Whether to link an upstream's answer to the account just signed in to
/// (`signin::upstream_link`).
#[derive(Template)]
#[template(path = "link_confirm.html")]
pub struct LinkConfirmPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub upstream: String,
    pub username: &'a str,
    /// The name the upstream verified, masked.
    pub name: Option<String>,
    pub action: String,
    pub csrf: &'a str,
}

/// The national network identity simulator's stand-in for the app (`crate::http::netid_simulator`).
#[derive(Template)]
#[template(path = "netid_simulator.html")]
pub struct NetidSimulatorPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub action: String,
    pub carry: Vec<(String, String)>,
    /// (mode, words, selected)
    pub modes: Vec<(String, String, bool)>,
    pub plaintext: bool,
    pub statutory: bool,
    pub party: String,
    pub error: Option<String>,
}

/// The electronic business licence simulator's stand-in for the app
/// (`crate::http::licence_simulator`).
#[derive(Template)]
#[template(path = "licence_simulator.html")]
pub struct LicenceSimulatorPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub action: String,
    pub carry: Vec<(String, String)>,
    /// (role, words, selected)
    pub roles: Vec<(String, String, bool)>,
    pub party: String,
    /// What was typed, shown again after a mistake: (field, value).
    pub typed: std::collections::BTreeMap<String, String>,
    pub error: Option<String>,
}

impl LicenceSimulatorPage<'_> {
    pub fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub action: String,
    pub csrf: &'a str,
    pub carry: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub params: &'a [(String, String)],
    pub nonce: &'a str,
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Pages with a form get a CSP whose `form-action` names this origin and the origin the form's
/// answer redirects to: browsers apply `form-action` to that redirect as well.
pub fn with_form_action(mut res: Response, redirect_to: Option<&str>) -> Response {
    let target = redirect_to
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {target}"
    );
    if let Ok(v) = HeaderValue::from_str(csp.trim_end()) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// An error page for a person (never a redirect).
pub fn error_page(lang: Lang, e: &OAuthError) -> Response {
    super::log_error(e);
    let t = lang.texts();
    let message = if e.status >= 500 { t.server_error } else { e.description.as_str() };
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    render(status, &ErrorPage { t, lang_switch: None, message, code: e.code })
}

pub fn message_page(lang: Lang, status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &MessagePage { t: lang.texts(), lang_switch: None, title, message, home: None })
}

/// The root page: the enabled tenants' account centres, and the administrators' console.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    /// (slug, name).
    pub tenants: Vec<(String, String)>,
    /// The console is served (`crate::console`).
    pub console: bool,
}

/// `GET /`: the way to the account centre (one primary button with one tenant, a choice with
/// several: a person who types the provider's address finds where to sign in and manage their
/// account), and below it the administrators' console.
pub async fn home(state: super::State, headers: HeaderMap) -> Response {
    let lang = Lang::pick(None, &headers);
    let tenants = match state.store().list_tenants().await {
        // (a sandbox tenant is for testing integrations, not for the public)
        Ok(all) => all.into_iter().filter(|t| !t.disabled && !t.settings.sandbox).collect::<Vec<_>>(),
        Err(e) => return error_page(lang, &e.into()),
    };
    let tenants = tenants.into_iter().map(|t| (t.slug, t.name)).collect();
    let console = state.config().console.enabled;
    render(StatusCode::OK, &HomePage { t: lang.texts(), lang_switch: None, tenants, console })
}

/// `GET /t/{tenant}` and `/t/{tenant}/`: the tenant's account centre.
pub async fn tenant_home(axum::extract::Path(slug): axum::extract::Path<String>) -> Response {
    let slug: String = slug.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    super::see_other(&format!("/t/{slug}/account"))
}

/// A page that does not exist: said plainly, with the way to the account centre (the root
/// page leads there).
pub async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/t/") && uri.path().contains("/scim/v2") {
        return crate::http::scim::not_found();
    }
    page_not_found(headers).await
}

/// The page that says a page is not here.
pub async fn page_not_found(headers: HeaderMap) -> Response {
    let lang = Lang::pick(None, &headers);
    let t = lang.texts();
    let page =
        MessagePage { t, lang_switch: None, title: t.not_found_title, message: t.not_found, home: Some("/") };
    render(StatusCode::NOT_FOUND, &page)
}

/// A file of the pages (script, icon, stylesheet), compiled in.
pub fn asset(body: &'static str, content_type: &'static str, max_age: u32) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

const SCRIPT: &str = "text/javascript; charset=utf-8";

/// The WebAuthn calls (see the file's head).
pub async fn webauthn_script() -> Response {
    asset(include_str!("../../templates/webauthn.js"), SCRIPT, 3600)
}

/// The password rules marked as the person types (see the file's head).
pub async fn password_script() -> Response {
    asset(include_str!("../../templates/password-rules.js"), SCRIPT, 3600)
}

/// The signed-out page's move on to the client (see the file's head).
pub async fn signed_out_script() -> Response {
    asset(include_str!("../../templates/signed_out.js"), SCRIPT, 3600)
}

/// The provider's icon (`/static/favicon.svg`, and `/favicon.ico` for browsers that ask there).
pub async fn favicon() -> Response {
    asset(include_str!("../../templates/favicon.svg"), "image/svg+xml", 86400)
}

pub async fn stylesheet() -> Response {
    asset(include_str!("../../templates/style.css"), "text/css; charset=utf-8", 3600)
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct TotpEnrolPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    /// An SVG we drew ourselves from the otpauth URI.
    pub qr_svg: &'a str,
    pub key: &'a str,
    pub error: Option<&'a str>,
    /// Where the code goes, and the way back.
    pub action: String,
    pub cancel: String,
    pub csrf: &'a str,
}
