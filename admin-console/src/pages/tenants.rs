//! Tenants: the list (create, disable, enable) and the console tenant's own settings.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use idp_proto::{Branding, Logo, NewTenant, TenantDetail, TenantPolicy, TenantRules};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, field, layout, opt, page, segment};
use crate::{Flash, MOUNT, Shared, api};

#[derive(Template)]
#[template(path = "tenants.html")]
pub struct TenantsPage {
    pub l: Layout,
    /// (slug, name, issuer, sandbox, disabled)
    pub rows: Vec<(String, String, String, bool, bool)>,
}

pub async fn tenants(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let (shared, a) = (&*shared, &a);
    let mut l = layout(a, "tenants", "/tenants");
    let list: Vec<TenantDetail> = match api::get_root(shared, &a.token, "tenants").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list.into_iter().map(|x| (x.slug, x.name, x.issuer, x.sandbox, x.disabled)).collect();
    page(a, &TenantsPage { l, rows })
}

pub async fn create_tenant(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let p = &posted.p;
    let new = NewTenant {
        slug: field(p, "slug").unwrap_or_default().into(),
        name: field(p, "name").map(String::from),
        sandbox: field(p, "sandbox").is_some(),
    };
    match api::post_root::<_, TenantDetail>(&shared, &posted.a.token, "tenants", Some(&new)).await {
        Ok(x) => posted.ok(format!("{} ({}) ✓", x.name, x.slug)),
        Err(e) => posted.refused(e),
    }
}

/// `POST /tenants/{slug}/{disable|enable}`.
pub async fn tenant_action(
    State(shared): State<Arc<Shared>>,
    Path((slug, action)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let t = posted.a.t;
    let path = format!("tenants/{}/{}", segment(&slug), segment(&action));
    let done = if action == "disable" { t.disabled } else { t.enabled };
    match api::post_root::<(), IgnoredAny>(&shared, &posted.a.token, &path, None).await {
        Ok(_) => posted.ok(format!("{}: {done}", segment(&slug))),
        Err(e) => posted.refused(e),
    }
}

/// The sign-in methods a tenant may offer, as the admin API names them.
const FACTORS: [&str; 7] =
    ["totp", "passkeys", "security_keys", "sms_signin", "sms_recovery", "registration", "password_reset"];
/// The policy's numbers, as the admin API names them.
const POLICY: [&str; 6] = [
    "session_idle_seconds",
    "session_absolute_seconds",
    "lockout_threshold",
    "lockout_seconds",
    "password_min_length",
    "password_min_classes",
];

/// What a branding field's input accepts (the API checks it again).
pub struct LookInput {
    pub max: u32,
    pub placeholder: Option<&'static str>,
    /// `#rrggbb`.
    pub colour: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub l: Layout,
    pub slug: String,
    /// Where the forms go: `/settings` (the console's tenant) or `/tenants/{slug}/settings`.
    pub base: String,
    /// (name, offered)
    /// (name, offered, what it is)
    pub factors: Vec<(&'static str, bool, &'static str)>,
    /// (field, label, value, the effective default shown when empty)
    pub policy: Vec<(&'static str, &'static str, String, String)>,
    /// (field, label, value, the default colour for a colour) of the branding's texts and colours.
    /// (field, label, value, input): what each branding field accepts.
    pub look: Vec<(&'static str, &'static str, String, LookInput)>,
    /// The current logo as a `data:` URL (the console's CSP allows no other origin's images).
    pub logo: Option<String>,
}

/// The policy's numbers in the order of [`POLICY`].
fn policy_numbers(p: &TenantPolicy) -> [Option<i64>; 6] {
    [
        p.session_idle_seconds,
        p.session_absolute_seconds,
        p.lockout_threshold,
        p.lockout_seconds,
        p.password_min_length,
        p.password_min_classes,
    ]
}

/// Whose settings: the console's own tenant, or the one in the path (platform administrators).
fn whose(shared: &Shared, slug: Option<String>) -> (String, String) {
    match slug {
        Some(s) => {
            let s = segment(&s);
            let base = format!("{MOUNT}/tenants/{s}/settings");
            (s, base)
        }
        None => (shared.tenant.clone(), format!("{MOUNT}/settings")),
    }
}

pub(crate) async fn settings_page(shared: &Shared, a: &Admin, slug: Option<String>) -> Response {
    let t = a.t;
    let (slug, base) = whose(shared, slug);
    let mut l = layout(a, "settings", base.strip_prefix(MOUNT).unwrap_or(&base));
    let tenant: Option<TenantDetail> =
        match api::get_root(shared, &a.token, &format!("tenants/{slug}/settings")).await {
            Ok(v) => Some(v),
            Err(e) => {
                l.error = Some(e);
                None
            }
        };
    let on: Vec<String> = tenant.as_ref().map(|x| x.factors.clone()).unwrap_or_default();
    let labels = [
        t.session_idle,
        t.session_absolute,
        t.lockout_threshold,
        t.lockout_seconds,
        t.password_min_length,
        t.password_min_classes,
    ];
    let numbers = tenant.as_ref().map(|x| policy_numbers(&x.policy)).unwrap_or_default();
    let defaults = tenant.as_ref().map(|x| policy_numbers(&x.defaults)).unwrap_or_default();
    let shown = |f: &str, n: Option<i64>| n.map(|n| (n / unit(f)).to_string()).unwrap_or_default();
    let policy = POLICY
        .iter()
        .zip(labels)
        .zip(numbers.into_iter().zip(defaults))
        .map(|((f, label), (n, d))| (*f, label, shown(f, n), shown(f, d)))
        .collect();
    let b: Branding =
        api::get_root(shared, &a.token, &format!("tenants/{slug}/branding")).await.unwrap_or_default();
    let text = |max: u32, placeholder: Option<&'static str>| LookInput { max, placeholder, colour: false };
    let colour = |default: &'static str| LookInput { max: 7, placeholder: Some(default), colour: true };
    let look = vec![
        ("name_zh", t.name_zh, opt(&b.name_zh), text(40, None)),
        ("name_en", t.name_en, opt(&b.name_en), text(40, None)),
        ("accent", t.accent, opt(&b.accent), colour("#b3261e")),
        ("background", t.background, opt(&b.background), colour("#f4f6f9")),
        ("operator_zh", t.operator_zh, opt(&b.operator_zh), text(60, None)),
        ("operator_en", t.operator_en, opt(&b.operator_en), text(80, None)),
        ("icp_filing", t.icp_filing, opt(&b.icp_filing), text(40, Some("京ICP备12345678号-1"))),
        ("psb_filing", t.psb_filing, opt(&b.psb_filing), text(40, Some("京公网安备11010502030000号"))),
        ("help_phone", t.help_phone, opt(&b.help_phone), text(20, Some("12345"))),
        ("privacy_url", t.privacy_url, opt(&b.privacy_url), text(300, Some("https://"))),
    ];
    let logo = b.logo.map(|l| format!("data:{};base64,{}", l.content_type, l.data));
    let factors = FACTORS.iter().map(|f| (*f, on.iter().any(|o| o == f), t.factor_hint(f))).collect();
    page(a, &SettingsPage { l, slug, base, factors, policy, look, logo })
}

/// What a policy number is typed in: minutes for the durations, else itself.
fn unit(field: &str) -> i64 {
    if field.ends_with("_seconds") { 60 } else { 1 }
}

pub async fn settings(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    settings_page(&shared, &a, None).await
}

/// `GET /tenants/{slug}/settings`: another tenant's (platform administrators).
pub async fn tenant_settings(
    State(shared): State<Arc<Shared>>,
    Path(slug): Path<String>,
    a: Admin,
) -> Response {
    settings_page(&shared, &a, Some(slug)).await
}

/// `POST /settings`: offered factors and policy (the tenant's security administrators).
pub async fn save_rules(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    rules(&shared, posted, None).await
}

/// `POST /tenants/{slug}/settings`.
pub async fn save_tenant_rules(
    State(shared): State<Arc<Shared>>,
    Path(slug): Path<String>,
    posted: Posted,
) -> Response {
    rules(&shared, posted, Some(slug)).await
}

async fn rules(shared: &Shared, posted: Posted, slug: Option<String>) -> Response {
    let (a, p) = (&posted.a, &posted.p);
    let t = a.t;
    let factors: Vec<String> = p.iter().filter(|(k, _)| k == "factor").map(|(_, v)| v.clone()).collect();
    let mut numbers = [None; 6];
    for (f, n) in POLICY.iter().zip(&mut numbers) {
        *n = match field(p, f).map(str::parse::<i64>) {
            None => None,
            Some(Ok(v)) if v >= 0 => Some(v * unit(f)),
            Some(_) => {
                let typed = field(p, f).unwrap_or_default();
                return posted.refused(format!("{}: {}: {typed}", t.not_a_number, t.field_label(f)));
            }
        };
    }
    let [
        session_idle_seconds,
        session_absolute_seconds,
        lockout_threshold,
        lockout_seconds,
        min_length,
        min_classes,
    ] = numbers;
    if let (Some(idle), Some(absolute)) = (session_idle_seconds, session_absolute_seconds)
        && idle >= absolute
    {
        return posted.refused(t.idle_not_shorter);
    }
    let path = format!("tenants/{}/settings", whose(shared, slug.clone()).0);
    // the policy is replaced whole: what this form does not show (time zone, API scopes, the
    // refresh reuse interval) is sent back as it is
    let current = match api::get_root::<TenantDetail>(shared, &a.token, &path).await {
        Ok(d) => d.policy,
        Err(e) => return posted.refused(e),
    };
    let policy = TenantPolicy {
        session_idle_seconds,
        session_absolute_seconds,
        lockout_threshold,
        lockout_seconds,
        password_min_length: min_length,
        password_min_classes: min_classes,
        ..current
    };
    let rules = TenantRules { factors: Some(factors), policy: Some(policy), crypto: None };
    match api::send_root::<_, IgnoredAny>(shared, &a.token, reqwest::Method::PUT, &path, Some(&rules)).await {
        Ok(_) => posted.ok(t.saved),
        Err(e) => posted.refused(e),
    }
}

/// `POST /settings/branding` (multipart, for the logo): the tenant's system administrators.
pub async fn save_branding(
    State(shared): State<Arc<Shared>>,
    a: Admin,
    multipart: axum::extract::Multipart,
) -> Response {
    branding(&shared, a, multipart, None).await
}

/// `POST /tenants/{slug}/settings/branding`.
pub async fn save_tenant_branding(
    State(shared): State<Arc<Shared>>,
    Path(slug): Path<String>,
    a: Admin,
    multipart: axum::extract::Multipart,
) -> Response {
    branding(&shared, a, multipart, Some(slug)).await
}

/// The admin API replaces the whole branding, so a logo kept as it is is read through the API
/// and sent back.
async fn branding(
    shared: &Shared,
    a: Admin,
    multipart: axum::extract::Multipart,
    slug: Option<String>,
) -> Response {
    let t = a.t;
    let back = whose(shared, slug.clone()).1;
    let (p, upload) = match super::multipart_form(&a, multipart, &back).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let refused = |e: String| a.done(&back, Flash::error(e));
    let path = format!("tenants/{}/branding", whose(shared, slug.clone()).0);
    let text = |f: &str| field(&p, f).map(String::from);
    let mut look = Branding {
        name_zh: text("name_zh"),
        name_en: text("name_en"),
        accent: text("accent"),
        background: text("background"),
        logo: None,
        operator_zh: text("operator_zh"),
        operator_en: text("operator_en"),
        icp_filing: text("icp_filing"),
        psb_filing: text("psb_filing"),
        help_phone: text("help_phone"),
        privacy_url: text("privacy_url"),
    };
    match upload {
        Some((content_type, bytes)) => {
            use base64::Engine;
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            look.logo = Some(Logo { content_type, data });
        }
        None if field(&p, "remove_logo").is_some() => {}
        None => match api::get_root::<Branding>(shared, &a.token, &path).await {
            Ok(current) => look.logo = current.logo,
            Err(e) => return refused(e),
        },
    }
    match api::send_root::<_, IgnoredAny>(shared, &a.token, reqwest::Method::PUT, &path, Some(&look)).await {
        Ok(_) => a.done(&back, Flash::message(t.saved)),
        Err(e) => refused(e),
    }
}
