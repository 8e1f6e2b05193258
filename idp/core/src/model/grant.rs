//! Grants: what one account consented to release to one client.

/// A consent record: what one account granted one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub tenant_id: String,
    pub account_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Grant {
    /// The granted scopes whose consent is still current (`scope::consent_current`): a scope
    /// that has since widened is asked for again.
    pub fn current_scopes(&self) -> impl Iterator<Item = &String> {
        self.scopes.iter().filter(|s| crate::scope::consent_current(s, self.updated_at))
    }

    /// Whether the grant covers `scope` as the consent page now describes it.
    pub fn covers(&self, scope: &str) -> bool {
        self.current_scopes().any(|s| s == scope)
    }
}
