//! The console's sessions, kept in the browser: one cookie sealed with AES-256-GCM (the
//! cookie's name bound as associated data) under the console's session key. Nothing is kept in
//! the process, so every node of a deployment that shares the key (embedded in `idp serve`, it
//! is derived from the key-encryption key) answers any administrator, and a restart signs
//! nobody out. A sealed cookie cannot be revoked where it lies: signing out clears it and
//! revokes the access token inside it at the idp, and the session never outlives that token.
//!
//! Besides the sign-in it carries what one page leaves for the next (Post/Redirect/Get): the
//! flash message, a secret to show once, and a form to fill in again after a refusal or a
//! sign-in in between.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Browsers keep cookies of up to 4096 bytes (RFC 6265 §6.1); past this the flash gives way.
const MAX_COOKIE: usize = 3800;

/// A signed-in administrator's session, or one on its way through the sign-in.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct Session {
    pub csrf: String,
    pub access_token: Option<String>,
    pub expires_at: i64,
    pub subject: String,
    /// The administrator's name (or username) and roles, for the header and the navigation.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The tenant's IANA time zone, in which the pages show times.
    #[serde(default)]
    pub time_zone: String,
    /// While signing in: (state, nonce, PKCE verifier).
    pub pending: Option<(String, String, String)>,
    /// While signing in: the console page to come back to.
    pub next: Option<String>,
    /// What the next page shows once.
    #[serde(default)]
    pub flash: Option<Flash>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// What one page leaves for the next.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct Flash {
    pub message: Option<String>,
    pub error: Option<String>,
    /// A client secret to show once: (client id, client name, secret).
    pub secret: Option<(String, String, String)>,
    /// A form to fill in again: its action and fields (never the CSRF token).
    pub form: Option<(String, Vec<(String, String)>)>,
    /// The form is back after a sign-in in between (the session had ended): say so.
    #[serde(default)]
    pub resumed: bool,
    /// Whose it is: kept across a sign-in only for the same administrator.
    #[serde(default)]
    pub for_subject: Option<String>,
}

impl Flash {
    pub fn message(m: impl Into<String>) -> Self {
        Self { message: Some(m.into()), ..Self::default() }
    }

    pub fn error(e: impl Into<String>) -> Self {
        Self { error: Some(e.into()), ..Self::default() }
    }
}

/// Seals and opens session cookies.
pub(crate) struct Sealer(LessSafeKey);

impl Sealer {
    pub fn new(key: [u8; 32]) -> Self {
        // a 32-byte key is always a valid AES-256 key
        #[allow(clippy::expect_used)]
        Self(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32-byte AES key")))
    }

    /// A key for one process (the standalone console without `CONSOLE_SESSION_KEY`).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        let _ = aws_lc_rs::rand::fill(&mut key);
        Self::new(key)
    }

    /// The cookie's value for `s` under `name`; the flash (its form first) gives way to fit.
    pub fn seal(&self, name: &str, s: &Session) -> String {
        let mut s = s.clone();
        loop {
            let value = self.seal_once(name, &s);
            if value.len() <= MAX_COOKIE {
                return value;
            }
            match &mut s.flash {
                Some(f) if f.form.is_some() => f.form = None,
                Some(_) => s.flash = None,
                None => return value,
            }
        }
    }

    fn seal_once(&self, name: &str, s: &Session) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        let _ = aws_lc_rs::rand::fill(&mut nonce);
        let mut buf = serde_json::to_vec(s).unwrap_or_default();
        if self
            .0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut buf,
            )
            .is_err()
        {
            return String::new();
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn open(&self, name: &str, value: &str) -> Option<Session> {
        if value.len() > 8192 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = rest.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(name.as_bytes()), &mut buf).ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_sessions_open_only_under_their_key_and_name() {
        let sealer = Sealer::random();
        let s = Session { csrf: "c".into(), subject: "sub".into(), ..Session::default() };
        let v = sealer.seal("console_session", &s);
        assert_eq!(sealer.open("console_session", &v).map(|s| s.subject), Some("sub".into()));
        assert!(sealer.open("__Host-console_session", &v).is_none(), "bound to its name");
        assert!(Sealer::random().open("console_session", &v).is_none(), "another key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&v).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(sealer.open("console_session", &URL_SAFE_NO_PAD.encode(bytes)).is_none(), "tampered");
        assert!(sealer.open("console_session", "not base64!").is_none());
    }

    #[test]
    fn a_large_flash_gives_way_to_fit_a_cookie() {
        let sealer = Sealer::random();
        let big = "x".repeat(10_000);
        let s = Session {
            flash: Some(Flash {
                message: Some("saved".into()),
                form: Some(("/console/clients".into(), vec![("saml_metadata".into(), big)])),
                ..Flash::default()
            }),
            ..Session::default()
        };
        let v = sealer.seal("n", &s);
        assert!(v.len() <= MAX_COOKIE);
        let back = sealer.open("n", &v).unwrap().flash.unwrap();
        assert_eq!((back.message.as_deref(), back.form.is_none()), (Some("saved"), true));
    }
}
