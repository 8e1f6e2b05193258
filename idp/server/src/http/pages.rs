//! Server-rendered pages (askama, compile-checked) in zh-CN by default and English on request,
//! and the texts they use.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use idp_core::OAuthError;

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

pub struct Texts {
    pub html_lang: &'static str,
    pub brand: &'static str,
    pub other_lang: &'static str,
    pub sign_in: &'static str,
    pub sign_in_to: &'static str,
    pub username_or_phone: &'static str,
    pub password: &'static str,
    pub bad_credentials: &'static str,
    pub locked: &'static str,
    pub too_many: &'static str,
    pub consent_title: &'static str,
    pub operated_by: &'static str,
    pub consent_asks: &'static str,
    pub signed_in_as: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub error_title: &'static str,
    pub sign_out: &'static str,
    pub sign_out_question: &'static str,
    pub stay_signed_in: &'static str,
    pub signed_out: &'static str,
    pub signed_out_text: &'static str,
    pub not_found: &'static str,
    pub expired_interaction: &'static str,
    pub bad_csrf: &'static str,
    pub unknown_tenant: &'static str,
    pub server_error: &'static str,
    pub second_factor: &'static str,
    pub totp_prompt: &'static str,
    pub totp_code: &'static str,
    pub verify: &'static str,
    pub bad_code: &'static str,
    pub unmet_acr: &'static str,
    pub account_title: &'static str,
    pub two_step: &'static str,
    pub totp_on: &'static str,
    pub totp_off: &'static str,
    pub totp_setup: &'static str,
    pub totp_remove: &'static str,
    pub totp_scan: &'static str,
    pub totp_key: &'static str,
    pub recovery_title: &'static str,
    pub recovery_note: &'static str,
    pub recovery_left: &'static str,
    pub need_aal2: &'static str,
    pub back: &'static str,
    pub sms_sign_in: &'static str,
    pub phone: &'static str,
    pub send_code: &'static str,
    pub sms_sent: &'static str,
    pub sms_gone: &'static str,
    pub sms_wrong: &'static str,
    pub bad_phone: &'static str,
    pub use_password: &'static str,
}

pub static ZH: Texts = Texts {
    html_lang: "zh-CN",
    brand: "统一身份认证",
    other_lang: "English",
    sign_in: "登录",
    sign_in_to: "登录以继续使用",
    username_or_phone: "用户名或手机号",
    password: "密码",
    bad_credentials: "用户名或密码不正确。",
    locked: "密码输错次数过多，账号已暂时锁定。请于以下时间后重试（UTC）：",
    too_many: "尝试过于频繁，请稍后再试。",
    consent_title: "授权确认",
    operated_by: "由",
    consent_asks: "请求获取您的以下信息：",
    signed_in_as: "当前登录账号：",
    allow: "同意",
    deny: "拒绝",
    error_title: "无法继续",
    sign_out: "退出登录",
    sign_out_question: "确定要退出统一身份认证吗？",
    stay_signed_in: "保持登录",
    signed_out: "已退出登录",
    signed_out_text: "您已安全退出。",
    not_found: "页面不存在。",
    expired_interaction: "本次登录已过期或无效，请返回应用重新发起登录。",
    bad_csrf: "表单已失效，请返回应用重新发起登录。",
    unknown_tenant: "该认证域不存在。",
    server_error: "服务暂时不可用，请稍后再试。",
    second_factor: "两步验证",
    totp_prompt: "请输入身份验证器应用中显示的 6 位验证码；手机丢失时，可输入一个恢复码（每个只能使用一次）。",
    totp_code: "验证码",
    verify: "验证",
    bad_code: "验证码不正确或已使用，请输入新的验证码。",
    unmet_acr: "该应用要求更高强度的登录方式，但您的账号尚未设置第二重验证。",
    account_title: "我的账号",
    two_step: "两步验证",
    totp_on: "已开启：登录时需要输入身份验证器应用中的验证码。",
    totp_off: "未开启。开启后，登录时除密码外还需输入手机身份验证器应用中的验证码。",
    totp_setup: "设置身份验证器",
    totp_remove: "关闭两步验证",
    totp_scan: "用身份验证器应用（如 Google Authenticator、Microsoft Authenticator、FreeOTP）扫描二维码，或手动输入以下密钥，然后输入应用显示的 6 位验证码完成设置。",
    totp_key: "密钥",
    recovery_title: "恢复码",
    recovery_note: "请妥善保存以下恢复码：手机丢失时，每个恢复码可代替验证码使用一次。它们只显示这一次。",
    recovery_left: "剩余恢复码：",
    need_aal2: "请先使用两步验证重新登录，再关闭两步验证。",
    back: "返回",
    sms_sign_in: "手机验证码登录",
    phone: "手机号",
    send_code: "获取验证码",
    sms_sent: "如果该号码已注册，验证码已发送，5 分钟内有效。",
    sms_gone: "验证码已失效，请重新获取。",
    sms_wrong: "验证码不正确，剩余尝试次数：",
    bad_phone: "请输入正确的手机号。",
    use_password: "使用密码登录",
};

pub static EN: Texts = Texts {
    html_lang: "en",
    brand: "Unified Identity",
    other_lang: "中文",
    sign_in: "Sign in",
    sign_in_to: "Sign in to continue to",
    username_or_phone: "Username or phone number",
    password: "Password",
    bad_credentials: "The username or password is incorrect.",
    locked: "Too many wrong passwords: the account is locked. Try again after (UTC):",
    too_many: "Too many attempts; please wait a moment and try again.",
    consent_title: "Allow access",
    operated_by: "operated by",
    consent_asks: "asks for the following information about you:",
    signed_in_as: "Signed in as",
    allow: "Allow",
    deny: "Deny",
    error_title: "Cannot continue",
    sign_out: "Sign out",
    sign_out_question: "Do you want to sign out?",
    stay_signed_in: "Stay signed in",
    signed_out: "Signed out",
    signed_out_text: "You have been signed out.",
    not_found: "There is no such page.",
    expired_interaction: "This sign-in has expired or is not valid. Go back to the application and start again.",
    bad_csrf: "The form has expired. Go back to the application and start again.",
    unknown_tenant: "There is no such tenant.",
    server_error: "The service is temporarily unavailable; please try again shortly.",
    second_factor: "Two-step verification",
    totp_prompt: "Enter the 6-digit code your authenticator app shows, or, if you lost your phone, one of your recovery codes (each works once).",
    totp_code: "Code",
    verify: "Verify",
    bad_code: "The code is wrong or was already used; enter a new one.",
    unmet_acr: "This application needs a stronger sign-in, and your account has no second factor yet.",
    account_title: "My account",
    two_step: "Two-step verification",
    totp_on: "On: signing in asks for a code from your authenticator app.",
    totp_off: "Off. Once on, signing in asks for a code from an authenticator app on your phone as well as your password.",
    totp_setup: "Set up an authenticator",
    totp_remove: "Turn off two-step verification",
    totp_scan: "Scan the QR code with an authenticator app (such as Google Authenticator, Microsoft Authenticator or FreeOTP), or type in the key below, then enter the 6-digit code the app shows.",
    totp_key: "Key",
    recovery_title: "Recovery codes",
    recovery_note: "Keep these recovery codes somewhere safe: if you lose your phone, each one stands in for a code once. They are shown only now.",
    recovery_left: "Recovery codes left:",
    need_aal2: "Sign in again with two-step verification before turning it off.",
    back: "Back",
    sms_sign_in: "Sign in with a text message code",
    phone: "Phone number",
    send_code: "Send code",
    sms_sent: "If this number is registered, a code is on its way; it is valid for 5 minutes.",
    sms_gone: "The code is no longer valid; ask for a new one.",
    sms_wrong: "Wrong code; tries left:",
    bad_phone: "Enter a valid phone number.",
    use_password: "Sign in with a password",
};

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
#[template(path = "totp.html")]
pub struct TotpPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub error: Option<String>,
    pub action: String,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub username: &'a str,
    pub totp_on: bool,
    pub recovery_left: i64,
    pub message: Option<&'a str>,
    pub base: String,
    pub csrf: &'a str,
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
    pub base: String,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub codes: &'a [String],
    pub base: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub client_name: &'a str,
    pub organisation: Option<&'a str>,
    pub scopes: Vec<&'static str>,
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
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self' {target}"
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
    render(status, &MessagePage { t: lang.texts(), lang_switch: None, title, message })
}

pub async fn home(headers: HeaderMap) -> Response {
    let lang = Lang::pick(None, &headers);
    let t = lang.texts();
    message_page(
        lang,
        StatusCode::OK,
        t.brand,
        "OpenID Connect: /t/{tenant}/.well-known/openid-configuration",
    )
}

pub async fn not_found(headers: HeaderMap) -> Response {
    let lang = Lang::pick(None, &headers);
    let t = lang.texts();
    message_page(lang, StatusCode::NOT_FOUND, t.error_title, t.not_found)
}

pub async fn stylesheet() -> Response {
    let mut res = include_str!("../../templates/style.css").into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}
