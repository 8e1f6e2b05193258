//! Real-name identity bound to an account.

/// An account's bound identity (see `realname.rs`). The ID number is only sealed, hashed and
/// masked here; `Debug` shows neither name nor number.
#[derive(Clone, PartialEq, Eq)]
pub struct RealName {
    pub account_id: String,
    pub tenant_id: String,
    /// 1-4 (docs/domain.md).
    pub level: i64,
    pub name: String,
    /// `resident_id`, `hk_macau_permit`, `taiwan_permit` or `foreign_permanent_resident`.
    pub id_type: String,
    pub id_sealed: Vec<u8>,
    pub id_hash: String,
    /// e.g. `2201**********0013`.
    pub id_masked: String,
    /// `self_asserted`, `provider` or `counter`.
    pub method: String,
    /// The provider's name, or the clerk's account id.
    pub verifier: String,
    pub verified_at: i64,
    /// The provider's transaction id, or the counter's record.
    pub evidence: Option<String>,
}

impl std::fmt::Debug for RealName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealName")
            .field("account_id", &self.account_id)
            .field("level", &self.level)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}
