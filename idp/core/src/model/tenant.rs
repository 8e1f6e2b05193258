//! Tenants: their settings, policy (levels, lockout, passwords, time zone) and the sign-in methods they offer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub disabled: bool,
    pub settings: TenantSettings,
}

/// A tenant's own settings (JSON in the database; members missing there take their defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TenantSettings {
    pub factors: OfferedFactors,
    /// A sandbox for integrators: the simulated verification provider whatever the deployment
    /// has, and synthetic people on request.
    #[serde(default)]
    pub sandbox: bool,
    /// The tenant's own session and lockout rules, where they differ from the deployment's.
    #[serde(default)]
    pub policy: TenantPolicy,
    /// Name, logo and colours on the tenant's pages.
    #[serde(default)]
    pub branding: crate::branding::Branding,
    /// Which algorithms sign, hash and seal for the tenant (`crate::suite`).
    #[serde(default)]
    pub crypto: CryptoSettings,
}

/// The tenant's cryptography: its profile, and the SM2 user identifier its signatures bind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CryptoSettings {
    pub profile: CryptoProfile,
    /// The SM2 distinguishing identifier in Z_A; none: GM/T 0009's "1234567812345678".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sm2_user_id: Option<String>,
    /// When the profile last changed: keys of algorithms it left stay published (verifying,
    /// never signing) until `keys::retirement` of this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<i64>,
}

/// `international`: ES256, RS256, PS256, EdDSA, SHA-256 and AES-GCM; `sm`: SM2, SM3 and SM4
/// only; `dual`: both key sets published, each client choosing its algorithm.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum CryptoProfile {
    #[default]
    International,
    Sm,
    Dual,
}

impl CryptoProfile {
    pub const ALL: [CryptoProfile; 3] =
        [CryptoProfile::International, CryptoProfile::Sm, CryptoProfile::Dual];
    pub fn as_str(self) -> &'static str {
        match self {
            CryptoProfile::International => "international",
            CryptoProfile::Sm => "sm",
            CryptoProfile::Dual => "dual",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A tenant's own rules; `None` keeps the deployment's (configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TenantPolicy {
    pub session_idle_seconds: Option<i64>,
    pub session_absolute_seconds: Option<i64>,
    pub lockout_threshold: Option<i64>,
    pub lockout_seconds: Option<i64>,
    /// Stricter password rules than the baseline (8 characters, 3 of 4 classes), never weaker.
    pub password_min_length: Option<i64>,
    pub password_min_classes: Option<i64>,
    /// The tenant's own API scopes (for service clients), beside the standard ones and `api`:
    /// a client may be registered only with scopes the tenant defines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_scopes: Vec<String>,
    /// The tenant's default for `ClientSettings::refresh_reuse_seconds` (0-60; none: 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_seconds: Option<i64>,
    /// The IANA time zone in which the tenant's pages show times (docs/domain.md: default
    /// `Asia/Shanghai`, China Standard Time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The longest refresh-token reuse interval a client or tenant may set.
pub const MAX_REFRESH_REUSE_SECONDS: i64 = 60;

/// The time zone of pages when a tenant sets none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

impl TenantPolicy {
    /// The password rules in force: the tenant's where stricter, else the baseline.
    pub fn password_rules(&self) -> crate::password::Rules {
        let base = crate::password::Rules::default();
        crate::password::Rules {
            min_length: self
                .password_min_length
                .map_or(base.min_length, |n| (n.max(0) as usize).max(base.min_length)),
            min_classes: self
                .password_min_classes
                .map_or(base.min_classes, |n| (n.max(0) as usize).clamp(base.min_classes, 4)),
        }
    }
}

/// Which sign-in methods and second factors a tenant offers. What is off cannot be set up or
/// used to sign in with; a second factor a person already has is still asked for, so turning
/// an offer off never makes anyone's sign-in weaker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OfferedFactors {
    /// Authenticator apps (TOTP).
    pub totp: bool,
    /// Passkeys: passwordless sign-in (button and autofill), and registration.
    pub passkeys: bool,
    /// Security keys as a second factor.
    pub security_keys: bool,
    /// Sign-in with a phone number and an SMS code.
    pub sms_signin: bool,
    /// A code to the account's verified phone in place of a lost second factor.
    pub sms_recovery: bool,
    /// Self-registration on the sign-in page: a phone number proven by an SMS code, a password,
    /// and optionally a real-name binding at once (`http/signin/selfservice.rs`).
    pub registration: bool,
    /// "Forgot password" on the sign-in page: a new password after a code to the account's
    /// verified phone or email address (`http/signin/selfservice.rs`); the second factor is
    /// still asked at sign-in. Off by default, like registration: an operator turns it on.
    pub password_reset: bool,
}

impl Default for OfferedFactors {
    fn default() -> Self {
        Self {
            totp: true,
            passkeys: true,
            security_keys: true,
            sms_signin: true,
            sms_recovery: false,
            registration: false,
            password_reset: false,
        }
    }
}

impl OfferedFactors {
    /// The names the operator commands use, with whether each is on.
    pub fn named(&self) -> [(&'static str, bool); 7] {
        [
            ("totp", self.totp),
            ("passkeys", self.passkeys),
            ("security_keys", self.security_keys),
            ("sms_signin", self.sms_signin),
            ("sms_recovery", self.sms_recovery),
            ("registration", self.registration),
            ("password_reset", self.password_reset),
        ]
    }

    /// Exactly the named ones on; an unknown name is an error.
    pub fn only(names: &[String]) -> Result<OfferedFactors, String> {
        let mut f = OfferedFactors {
            totp: false,
            passkeys: false,
            security_keys: false,
            sms_signin: false,
            sms_recovery: false,
            registration: false,
            password_reset: false,
        };
        for n in names {
            match n.as_str() {
                "totp" => f.totp = true,
                "passkeys" => f.passkeys = true,
                "security_keys" => f.security_keys = true,
                "sms_signin" => f.sms_signin = true,
                "sms_recovery" => f.sms_recovery = true,
                "registration" => f.registration = true,
                "password_reset" => f.password_reset = true,
                other => return Err(format!("unknown factor {other:?}")),
            }
        }
        Ok(f)
    }
}
