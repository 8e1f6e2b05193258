//! Tenants, their rules and their branding: `/tenants`, `/tenants/{tenant}/{action}`,
//! `/tenants/{tenant}/settings`, `/tenants/{tenant}/branding`,
//! `/tenants/{tenant}/synthetic-people`.

use serde::{Deserialize, Serialize};

/// A tenant as the admin API answers it: what the CLI shows (`TenantInfo`) and its rules and
/// branding (the logo as its type and size only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantDetail {
    pub slug: String,
    pub name: String,
    pub issuer: String,
    pub disabled: bool,
    pub created_at: i64,
    /// A sandbox for integrators: the simulated verification provider, synthetic people.
    pub sandbox: bool,
    /// The sign-in methods and second factors offered, as `TenantRules::factors` names them.
    pub factors: Vec<String>,
    pub policy: TenantPolicy,
    /// What applies where `policy` sets nothing: the deployment's configuration and the
    /// baseline password rules.
    #[serde(default)]
    pub defaults: TenantPolicy,
    pub branding: BrandingSummary,
    /// The cryptography profile and the algorithms it signs with.
    #[serde(default)]
    pub crypto: TenantCrypto,
}

/// A tenant's cryptography (docs/cryptography.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TenantCrypto {
    /// `international`, `sm` (SM2, SM3 and SM4 only) or `dual`.
    pub profile: String,
    /// The SM2 user identifier bound into new SM2 signatures (1-64 printable ASCII
    /// characters); left out or `null` in a request: unchanged.
    pub sm2_user_id: Option<String>,
    /// In a request: back to the default identifier of GM/T 0009, `1234567812345678`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_sm2_user_id: bool,
    /// The signing algorithms (JOSE names), in answers; ignored in requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub algs: Vec<String>,
}

/// `POST /tenants`: its own issuer and signing keys at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1 to 40 of `a-z`, `0-9` and `-`: the issuer is `{public_url}/t/{slug}`.
    pub slug: String,
    pub name: Option<String>,
    /// Uses the simulated verification provider and may create synthetic people.
    #[serde(default)]
    pub sandbox: bool,
}

/// `PUT /tenants/{tenant}/settings`: the parts sent replace the tenant's; parts left out stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantRules {
    /// The offered ones of `totp`, `passkeys`, `security_keys`, `sms_signin`, `sms_recovery`,
    /// `registration` (self-registration) and `password_reset` (forgotten password).
    pub factors: Option<Vec<String>>,
    pub policy: Option<TenantPolicy>,
    /// Moves the tenant to another cryptography profile or SM2 user identifier (its security
    /// administrators); keys follow at once, tokens in flight keep verifying.
    pub crypto: Option<TenantCrypto>,
}

/// A tenant's own session, lockout and password rules; `null` keeps the deployment's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TenantPolicy {
    /// 60 to 86400.
    pub session_idle_seconds: Option<i64>,
    /// 300 to 2592000.
    pub session_absolute_seconds: Option<i64>,
    /// 3 to 20.
    pub lockout_threshold: Option<i64>,
    /// 60 to 86400.
    pub lockout_seconds: Option<i64>,
    /// Stricter than the baseline of 8 characters (at most 64); never weaker.
    pub password_min_length: Option<i64>,
    /// Of lower case, upper case, digits, symbols: 3 (the baseline) or 4.
    pub password_min_classes: Option<i64>,
    /// The tenant's own API scopes for service clients, beside the standard ones and `api`; a
    /// client may be registered only with scopes the tenant defines (at most 100, 64
    /// characters each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_scopes: Vec<String>,
    /// The default refresh-token reuse interval of the tenant's clients, 0 to 60 (none: 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
    /// The IANA time zone of the tenant's pages (default `Asia/Shanghai`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Name, logo and colours on the tenant's pages (`GET` and `PUT /tenants/{tenant}/branding`;
/// a `PUT` replaces the whole branding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// The name in the header, title and SMS messages (Chinese), at most 40 characters.
    pub name_zh: Option<String>,
    /// The same in English.
    pub name_en: Option<String>,
    /// `#rrggbb`: header and buttons; the text on it is chosen for contrast.
    pub accent: Option<String>,
    /// `#rrggbb`: the page around the content; must be light (7:1 with the text).
    pub background: Option<String>,
    pub logo: Option<Logo>,
    /// The footer: who runs the service (Chinese, at most 60 characters; English, 80).
    pub operator_zh: Option<String>,
    pub operator_en: Option<String>,
    /// The ICP filing number (ICP备案号), linked to MIIT's register.
    pub icp_filing: Option<String>,
    /// The public-security filing number (公安备案号), linked to the MPS register by its digits.
    pub psb_filing: Option<String>,
    /// The help line, as dialled.
    pub help_phone: Option<String>,
    /// The privacy policy: an https URL or a path on this site.
    pub privacy_url: Option<String>,
}

/// A logo: `image/png`, `image/jpeg` or `image/svg+xml`, at most 32 KiB decoded (an SVG
/// without scripts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Logo {
    pub content_type: String,
    /// The image, base64.
    pub data: String,
}

/// The branding as a tenant shows it: the logo as its type and size only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrandingSummary {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub accent: Option<String>,
    pub background: Option<String>,
    pub logo: Option<LogoSummary>,
    pub operator_zh: Option<String>,
    pub operator_en: Option<String>,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub help_phone: Option<String>,
    pub privacy_url: Option<String>,
}

/// A logo's type and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoSummary {
    pub content_type: String,
    /// Decoded, in bytes.
    pub bytes: u64,
}

/// `POST /tenants/{tenant}/synthetic-people`: how many (1 to 50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyntheticPeople {
    pub count: usize,
}

/// A synthetic person of a sandbox tenant, bound at real-name level 2: sign in with these (the
/// password is shown once). `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyntheticPerson {
    pub username: String,
    pub password: String,
    pub name: String,
    /// Synthetic (valid check character, matched by the simulator); never a real person's.
    pub id_number: String,
    pub phone: String,
}

impl std::fmt::Debug for SyntheticPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntheticPerson")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("id_number", &self.id_number)
            .field("phone", &self.phone)
            .finish()
    }
}
