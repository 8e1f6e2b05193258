//! Passkeys and security keys (WebAuthn Level 3), through webauthn-rs: registration, passwordless
//! sign-in with discoverable credentials (also as conditional UI, the browser's autofill), and a
//! passkey or security key as the second factor after a password or SMS code.
//!
//! Two kinds of credential, told apart when registered:
//! - a **passkey** is created discoverable and with user verification required, so it signs in
//!   on its own; with UV it is two factors in one (possession plus PIN or biometric), which
//!   docs/domain.md counts as `aal2`;
//! - a **security key** is registered with user verification preferred and credProtect level 2
//!   (`userVerificationOptionalWithCredentialIDList`, not enforced: the only combination every
//!   browser accepts for a non-discoverable credential); it is only ever a second factor after
//!   something known, never a sign-in on its own.
//!
//! Ceremony state (the challenge) is kept server-side and used once (`Store::take_ceremony`),
//! as webauthn-rs requires; what reaches the browser is only the options JSON. The user handle
//! is an HMAC of the account id under a KEK-derived key: stable for the account, meaningless
//! outside this deployment, and no personal data on the authenticator (WebAuthn §14.6.1).
//!
//! The sign counter: webauthn-rs refuses an assertion whose counter did not grow
//! (`CredentialPossibleCompromise`, WebAuthn §7.2 step 21), which signals a cloned
//! authenticator. [`Outcome::Cloned`] carries that to the caller, which flags the credential,
//! audits it and refuses the sign-in.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid,
    Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::crypto::{Kek, b64};

/// The credential protection level asked of security keys (CTAP 2.1 credProtect level 2).
pub const SECURITY_KEY_CRED_PROTECT: &str = "userVerificationOptionalWithCredentialIDList";

/// How long a ceremony may take (the browser's timeout is the same).
pub const CEREMONY_SECONDS: i64 = 300;

/// What kind of authenticator a credential was registered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Passkey,
    SecurityKey,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Passkey => "passkey",
            Kind::SecurityKey => "security_key",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "passkey" => Some(Kind::Passkey),
            "security_key" => Some(Kind::SecurityKey),
            _ => None,
        }
    }
}

/// The RFC 8176 method of a credential: `swk` for a key that may be synchronised between
/// devices (backup eligible), `hwk` for one bound to its hardware.
pub fn method(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

/// The server-side state of one ceremony, stored between its two requests.
#[derive(Serialize, Deserialize)]
#[serde(tag = "ceremony", rename_all = "snake_case")]
pub enum State {
    RegisterPasskey {
        state: PasskeyRegistration,
    },
    RegisterSecurityKey {
        state: SecurityKeyRegistration,
    },
    /// A sign-in with a discoverable passkey (no username).
    Discover {
        state: DiscoverableAuthentication,
    },
    /// A second factor with any of the account's credentials.
    Second {
        state: SecurityKeyAuthentication,
    },
}

impl State {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Option<State> {
        serde_json::from_str(s).ok()
    }
}

/// A credential as registration produced it, ready to be stored.
#[derive(Debug, Clone)]
pub struct Registered {
    /// base64url of the credential id.
    pub cred_id: String,
    /// The webauthn-rs credential (public key, counter, flags) as JSON.
    pub credential: String,
    pub backup_eligible: bool,
}

/// What checking an assertion found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Verified {
        /// The credential JSON with its new counter and backup state, when it changed.
        updated: Option<String>,
        user_verified: bool,
        backup_eligible: bool,
    },
    /// The counter did not grow: the authenticator may have been cloned.
    Cloned,
    /// Anything else wrong with the assertion (bad signature, wrong origin or challenge, …).
    Refused(String),
}

/// Why a response was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(e: impl std::fmt::Display) -> Refused {
    Refused(e.to_string())
}

/// The relying party: one per deployment, its id the host of the public URL.
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty").finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// The relying party of the deployment at `public_url`, or why there can be none: WebAuthn
    /// needs a domain name (browsers refuse IP addresses as RP ids), served over HTTPS or from
    /// `localhost`.
    pub fn new(public_url: &str, name: &str) -> Result<RelyingParty, Refused> {
        let url = Url::parse(public_url).map_err(refused)?;
        let host =
            url.domain().ok_or_else(|| Refused(format!("{public_url} has no domain name")))?.to_string();
        if url.scheme() != "https" && host != "localhost" {
            return Err(Refused(format!("{public_url} is not served over HTTPS")));
        }
        let origin = Url::parse(&url.origin().ascii_serialization()).map_err(refused)?;
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .map_err(refused)?
            .rp_name(name)
            .timeout(std::time::Duration::from_secs(CEREMONY_SECONDS as u64))
            .build()
            .map_err(refused)?;
        Ok(RelyingParty { webauthn })
    }

    /// Starts registering a credential of `kind` for the account whose user handle is
    /// `handle`; `existing` are its credentials already registered (excluded, so one
    /// authenticator is not registered twice). Returns the options JSON for the browser.
    pub fn begin_register(
        &self,
        kind: Kind,
        handle: Uuid,
        username: &str,
        display_name: &str,
        existing: &[Credential],
    ) -> Result<(String, State), Refused> {
        let exclude = Some(existing.iter().map(|c| c.cred_id.clone()).collect());
        let (options, state) = match kind {
            Kind::Passkey => {
                let (o, s) = self
                    .webauthn
                    .start_passkey_registration(handle, username, display_name, exclude)
                    .map_err(refused)?;
                (o, State::RegisterPasskey { state: s })
            }
            Kind::SecurityKey => {
                let (o, s) = self
                    .webauthn
                    .start_securitykey_registration(handle, username, display_name, exclude, None, None)
                    .map_err(refused)?;
                (o, State::RegisterSecurityKey { state: s })
            }
        };
        let mut options = serde_json::to_value(&options).map_err(refused)?;
        match kind {
            Kind::Passkey => {
                // A passkey must be discoverable to sign in without a username (the stored
                // state does not depend on it; the authenticator reports what it did in
                // credProps).
                if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
                    sel["residentKey"] = "required".into();
                    sel["requireResidentKey"] = true.into();
                }
            }
            Kind::SecurityKey => {
                // webauthn-rs asks for credProtect `userVerificationRequired` with user
                // verification only preferred. Chromium (Chrome, Edge, 360, QQ) refuses that
                // pair with NotSupportedError before asking the key, and refuses
                // `userVerificationOptional` for a credential that is not discoverable. Level 2,
                // not enforced, is accepted by every browser; the level the key returns is only
                // recorded by webauthn-rs, never checked, so the stored state is unaffected.
                if let Some(ext) = options.pointer_mut("/publicKey/extensions") {
                    ext["credentialProtectionPolicy"] = SECURITY_KEY_CRED_PROTECT.into();
                    ext["enforceCredentialProtectionPolicy"] = false.into();
                }
            }
        }
        Ok((options.to_string(), state))
    }

    /// Checks the browser's registration response against the stored state.
    pub fn finish_register(&self, response: &str, state: &State) -> Result<Registered, Refused> {
        let reg: RegisterPublicKeyCredential = serde_json::from_str(response).map_err(refused)?;
        let cred: Credential = match state {
            State::RegisterPasskey { state } => {
                self.webauthn.finish_passkey_registration(&reg, state).map(Into::into)
            }
            State::RegisterSecurityKey { state } => {
                self.webauthn.finish_securitykey_registration(&reg, state).map(Into::into)
            }
            _ => return Err(Refused("not a registration".into())),
        }
        .map_err(refused)?;
        Ok(Registered {
            cred_id: b64(&cred.cred_id),
            backup_eligible: cred.backup_eligible,
            credential: serde_json::to_string(&cred).map_err(refused)?,
        })
    }

    /// Starts a passwordless sign-in: any discoverable passkey of this relying party, offered
    /// by the browser in a chooser or (with `mediation: conditional`) in the username's autofill.
    pub fn begin_discover(&self) -> Result<(String, State), Refused> {
        let (options, state) = self.webauthn.start_discoverable_authentication().map_err(refused)?;
        Ok((serde_json::to_string(&options).map_err(refused)?, State::Discover { state }))
    }

    /// Starts a second-factor check with the account's credentials (user verification
    /// preferred: a passkey still verifies its user, a plain security key need not).
    pub fn begin_second(&self, creds: &[Credential]) -> Result<(String, State), Refused> {
        let keys: Vec<SecurityKey> = creds.iter().cloned().map(SecurityKey::from).collect();
        let (options, state) = self.webauthn.start_securitykey_authentication(&keys).map_err(refused)?;
        Ok((serde_json::to_string(&options).map_err(refused)?, State::Second { state }))
    }

    /// Whose credential an assertion claims to be: (user handle, base64url credential id).
    /// Nothing is verified yet; the caller looks the credential up and calls [`Self::finish`].
    pub fn identify(&self, response: &str) -> Result<(Option<Uuid>, String), Refused> {
        let cred: PublicKeyCredential = serde_json::from_str(response).map_err(refused)?;
        let handle = cred.get_user_unique_id().and_then(|b| Uuid::from_slice(b).ok());
        Ok((handle, b64(cred.get_credential_id())))
    }

    /// Verifies an assertion against the stored state and the credential it names.
    pub fn finish(&self, response: &str, state: State, credential: &str) -> Outcome {
        let parsed: Result<(PublicKeyCredential, Credential), String> = serde_json::from_str(response)
            .map_err(|e| e.to_string())
            .and_then(|r| serde_json::from_str(credential).map(|c| (r, c)).map_err(|e| e.to_string()));
        let (response, cred) = match parsed {
            Ok(v) => v,
            Err(e) => return Outcome::Refused(e),
        };
        let result = match state {
            State::Discover { state } => {
                self.webauthn.finish_discoverable_authentication_v2(&response, state, &cred)
            }
            State::Second { state } => {
                if !state_allows(&response, &cred) {
                    return Outcome::Refused("credential not offered".into());
                }
                self.webauthn.finish_securitykey_authentication(&response, &state)
            }
            _ => return Outcome::Refused("not an authentication".into()),
        };
        match result {
            Ok(res) => {
                let mut key = Passkey::from(cred);
                let updated = key
                    .update_credential(&res)
                    .filter(|changed| *changed)
                    .and_then(|_| serde_json::to_string(&Credential::from(key)).ok());
                Outcome::Verified {
                    updated,
                    user_verified: res.user_verified(),
                    backup_eligible: res.backup_eligible(),
                }
            }
            Err(WebauthnError::CredentialPossibleCompromise) => Outcome::Cloned,
            Err(e) => Outcome::Refused(e.to_string()),
        }
    }
}

/// The assertion names the credential the caller looked up (webauthn-rs checks it against the
/// ceremony's allow list as well).
fn state_allows(response: &PublicKeyCredential, cred: &Credential) -> bool {
    response.get_credential_id() == cred.cred_id.as_slice()
}

/// Parses a stored credential (for the exclude and allow lists).
pub fn credential(json: &str) -> Option<Credential> {
    serde_json::from_str(json).ok()
}

/// The WebAuthn user handle of an account: an HMAC of its id, 16 bytes.
pub fn user_handle(kek: &Kek, account_id: &str) -> Uuid {
    let mac = kek.derive("webauthn-user-handle").mac(account_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&mac[..16]);
    Uuid::from_bytes(b)
}
