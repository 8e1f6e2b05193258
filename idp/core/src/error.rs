//! Errors in the language of the RFCs: an OAuth error code, a public description, a private
//! detail that is logged but never sent, and whether the error may be redirected to the client.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The registered error code (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6; RFC 6750 §3.1).
    pub code: &'static str,
    /// Safe to show to the client or the person.
    pub description: String,
    /// Logged, never sent.
    pub detail: Option<String>,
    /// HTTP status for direct (non-redirect) responses.
    pub status: u16,
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = match code {
            "invalid_client" | "invalid_token" => 401,
            "insufficient_scope" | "access_denied" => 403,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            // RFC 8628 §3.5 `slow_down` is a token-endpoint error of RFC 6749 §5.2: 400, like
            // the others (a rate limiter that answers 429 says so with `with_status`).
            _ => 400,
        };
        Self { code, description: description.into(), detail: None, status }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new("invalid_token", d)
    }
    pub fn server_error(detail: impl Into<String>) -> Self {
        Self::new("server_error", "The server could not complete the request.").with_detail(detail)
    }
}

/// A storage failure. The message is for logs; callers answer `server_error` or 503.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(d) => OAuthError::new(
                "temporarily_unavailable",
                "The service is temporarily unavailable; try again shortly.",
            )
            .with_detail(d),
            other => OAuthError::server_error(other.to_string()),
        }
    }
}
