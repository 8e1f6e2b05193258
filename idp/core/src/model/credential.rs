//! Sign-in credentials: TOTP secrets, SMS codes, WebAuthn credentials and their ceremonies.

/// A TOTP credential of an account (see `totp.rs`). Its `Debug` never shows the sealed seed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub account_id: String,
    pub tenant_id: String,
    /// The seed, sealed under the KEK with the account id as context.
    pub sealed_secret: Vec<u8>,
    /// False until the first correct code confirms the enrolment.
    pub confirmed: bool,
    /// The last accepted time step.
    pub last_step: Option<i64>,
    pub created_at: i64,
    /// An authenticator app's (RFC 6238) or a hardware token's (GM/T 0021).
    pub kind: crate::totp::OtpKind,
}

impl std::fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCredential")
            .field("account_id", &self.account_id)
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A live SMS code (see `crate::sms`); the code itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCode {
    pub tenant_id: String,
    pub phone: String,
    /// `signin` or `verify`.
    pub purpose: String,
    pub code_mac: String,
    pub attempts: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

/// What checking an SMS code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCheck {
    /// Right, and now used up.
    Accepted,
    /// Wrong; this many tries are left.
    Wrong(i64),
    /// No live code: never sent, expired, or out of tries.
    Gone,
}

/// A registered passkey or security key (see `passkey.rs`). Holds only public data: the
/// credential id, the public key and the sign counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredential {
    /// Our handle for it (in the account pages' URLs).
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// base64url of the WebAuthn credential id (unique in the tenant).
    pub cred_id: String,
    /// `passkey` or `security_key`.
    pub kind: String,
    /// The person's name for it ("phone", "blue key").
    pub name: String,
    /// The webauthn-rs credential as JSON: public key, counter, flags.
    pub credential: String,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// When a sign counter that did not grow showed it may have been cloned; it is refused
    /// from then on.
    pub flagged_at: Option<i64>,
}

/// The server-side state of a WebAuthn ceremony between its two requests, used once.
#[derive(Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// `{interaction or session}:{purpose}`: a new ceremony for the same page replaces the last.
    pub key: String,
    pub tenant_id: String,
    /// Whose ceremony it is, when known (registration, second factor).
    pub account_id: Option<String>,
    pub state: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("key", &self.key)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
