//! Accounts: the people (and staff) who sign in.

#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub name: Option<String>,
    /// In E.164 (`sms::normalise_phone`).
    pub phone: Option<String>,
    /// When an SMS code sent to `phone` last proved it.
    pub phone_verified_at: Option<i64>,
    pub email: Option<String>,
    /// When a code sent to `email` last proved it.
    pub email_verified_at: Option<i64>,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    /// Locked by an administrator until unlocked.
    pub disabled: bool,
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
