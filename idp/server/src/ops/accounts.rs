//! Looking after people's accounts ("Accounts"): search by username, name, phone or
//! ID number (through its keyed hash; the number is never shown in full), everything about an
//! account at once, lock and unlock, reset its second factors, end its sessions. Every change
//! is audited with the administrator's identity. The admin API calls these.

use anyhow::Context;
use idp_core::model::Account;
use idp_proto::{AccountDetail, AccountInfo, FactorKeyInfo, MembershipInfo, RealNameInfo, SessionInfo};

use crate::ops::Ops;

/// A membership as the admin API shows it.
pub fn membership_info(m: idp_core::org::Membership) -> MembershipInfo {
    MembershipInfo {
        id: m.id,
        organisation_id: m.organisation_id,
        organisation_name: None,
        account_id: m.account_id,
        username: None,
        name: None,
        kind: m.kind,
        roles: m.roles,
        created_at: m.created_at,
        revoked_at: m.revoked_at,
        matters: m.matters,
        starts_at: m.starts_at,
        expires_at: m.expires_at,
        confirmed_at: m.confirmed_at,
    }
}

impl Ops {
    /// Accounts matching `query`: an ID number finds its one bound account (by keyed hash), a
    /// phone number however typed, anything else is matched within usernames, names and phones.
    pub async fn search_accounts(
        &self,
        slug: &str,
        query: &str,
    ) -> anyhow::Result<Vec<idp_proto::AccountInfo>> {
        let tenant = self.tenant(slug).await?;
        let q = query.trim();
        if let Ok(id) = idp_core::identifiers::parse_person_id(q, self.now()) {
            let hash = idp_core::realname::id_hash(&self.kek, &tenant.id, &id.number);
            let found = match self.store.real_name_by_hash(&tenant.id, &hash).await? {
                Some(r) => self.store.account(&tenant.id, &r.account_id).await?,
                None => None,
            };
            return Ok(found.iter().map(account_info).collect());
        }
        let q = match idp_core::sms::normalise_phone(q) {
            Some(p) if q.chars().filter(char::is_ascii_digit).count() >= 7 => p,
            _ => q.to_string(),
        };
        let found = self.store.search_accounts(&tenant.id, &q, 100).await?;
        Ok(found.iter().map(account_info).collect())
    }

    pub async fn account_detail(&self, slug: &str, id: &str) -> anyhow::Result<Option<AccountDetail>> {
        let tenant = self.tenant(slug).await?;
        let Some(a) = self.store.account(&tenant.id, id).await? else { return Ok(None) };
        let realname = self.store.real_name(&a.id).await?.map(|r| RealNameInfo {
            level: r.level,
            name: r.name,
            id_type: r.id_type,
            id_number_masked: r.id_masked,
            method: r.method,
            verified_at: r.verified_at,
        });
        let keys = self
            .store
            .webauthn_credentials(&a.id)
            .await?
            .into_iter()
            .map(|k| FactorKeyInfo {
                id: k.id,
                name: k.name,
                kind: k.kind,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                flagged: k.flagged_at.is_some(),
            })
            .collect();
        let mut memberships = vec![];
        for m in self.store.memberships(&a.id).await? {
            let org = self.store.organisation(&a.tenant_id, &m.organisation_id).await?.map(|o| o.name);
            memberships.push(MembershipInfo { organisation_name: org, ..membership_info(m) });
        }
        let sessions = self
            .store
            .account_sessions(&tenant.id, &a.id, self.now())
            .await?
            .into_iter()
            .map(|s| SessionInfo {
                sid: s.sid,
                acr: s.acr,
                amr: s.amr,
                created_at: s.created_at,
                last_seen: s.last_seen,
                expires_at: s.expires_at,
            })
            .collect();
        Ok(Some(AccountDetail {
            totp: self.store.totp(&a.id).await?.is_some_and(|c| c.confirmed),
            recovery_codes_left: self.store.recovery_codes_left(&a.id).await?,
            account: account_info(&a),
            realname,
            keys,
            memberships,
            sessions,
        }))
    }

    async fn account_by_id(
        &self,
        slug: &str,
        id: &str,
    ) -> anyhow::Result<(String, idp_core::model::Account)> {
        let tenant = self.tenant(slug).await?;
        let a = self.store.account(&tenant.id, id).await?.with_context(|| format!("no account {id:?}"))?;
        Ok((tenant.id, a))
    }

    /// Locks (`true`) or unlocks an account; a lock also ends its sessions.
    pub async fn lock_account_by(&self, slug: &str, id: &str, lock: bool, by: &str) -> anyhow::Result<()> {
        let (tenant_id, a) = self.account_by_id(slug, id).await?;
        self.store.set_account_disabled(&tenant_id, &a.id, lock, self.now()).await?;
        self.forget_scim_disabling(&tenant_id, &a.id).await?;
        if lock {
            self.end_account_sessions(&tenant_id, &a.id).await?;
        }
        let kind = if lock { "account_locked_by_admin" } else { "account_unlocked_by_admin" };
        self.audit_by(&tenant_id, kind, Some(&a.id), serde_json::json!({}), by).await
    }

    /// Removes every second factor (authenticator app, passkeys, security keys, recovery codes)
    /// so the person can set new ones up after signing in with the password; ends the sessions.
    pub async fn reset_factors_by(&self, slug: &str, id: &str, by: &str) -> anyhow::Result<()> {
        let (tenant_id, a) = self.account_by_id(slug, id).await?;
        self.store.delete_totp(&a.id).await?;
        let keys = self.store.webauthn_credentials(&a.id).await?;
        for k in &keys {
            self.store.delete_webauthn_credential(&a.id, &k.id).await?;
        }
        self.store.replace_recovery_codes(&a.id, &[]).await?;
        self.end_account_sessions(&tenant_id, &a.id).await?;
        let detail = serde_json::json!({"keys_removed": keys.len()});
        self.audit_by(&tenant_id, "factors_reset_by_admin", Some(&a.id), detail, by).await
    }

    /// Assigns a GM/T 0021 hardware token (its seed, as the vendor delivers it, and its step of
    /// 1-60 seconds) to `login`: it is the account's authenticator from now on, in place of any
    /// app or earlier token, sealed like any seed. Its first code is accepted at the next sign-in.
    pub async fn assign_otp_token_by(
        &self,
        slug: &str,
        login: &str,
        seed: &[u8],
        period: i64,
        by: &str,
    ) -> anyhow::Result<()> {
        use idp_core::totp::{OtpKind, SM3_MAX_PERIOD, SM3_MIN_SEED};
        if seed.len() < SM3_MIN_SEED || seed.len() > 64 {
            anyhow::bail!("a GM/T 0021 seed is {SM3_MIN_SEED} to 64 bytes (at least 128 bits)");
        }
        if !(1..=SM3_MAX_PERIOD).contains(&period) {
            anyhow::bail!("a GM/T 0021 token's step is 1 to {SM3_MAX_PERIOD} seconds");
        }
        let tenant = self.tenant(slug).await?;
        let account = self.account(slug, login).await?;
        let suite = idp_core::suite::Suite::of(&tenant.settings.crypto);
        let token = idp_core::totp::Secret::of_kind(seed.to_vec(), OtpKind::Sm3 { period });
        let cred = self.totp_credential(&account, &suite, &token, true);
        let previous = self.store.totp(&account.id).await?.filter(|c| c.confirmed).map(|c| c.kind.stored().0);
        self.store.put_totp(&cred).await?;
        let detail = serde_json::json!({"factor": "otp_token", "algorithm": "sm3", "period": period,
            "replaced": previous});
        let kind = if previous.is_some() { "factor_replaced" } else { "factor_added" };
        self.audit_by(&tenant.id, kind, Some(&account.id), detail, by).await
    }

    /// Ends every session of the account (signed out everywhere); how many.
    pub async fn end_sessions_by(&self, slug: &str, id: &str, by: &str) -> anyhow::Result<u64> {
        let (tenant_id, a) = self.account_by_id(slug, id).await?;
        let n = self.end_account_sessions(&tenant_id, &a.id).await?;
        self.audit_by(
            &tenant_id,
            "sessions_ended_by_admin",
            Some(&a.id),
            serde_json::json!({"sessions": n}),
            by,
        )
        .await?;
        Ok(n)
    }
}

/// What the CLI prints and the admin API answers for an account (`idp_proto::AccountInfo`).
pub fn account_info(a: &Account) -> AccountInfo {
    AccountInfo {
        id: a.id.clone(),
        username: a.username.clone(),
        name: a.name.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
        disabled: a.disabled,
        locked_until: a.locked_until,
        roles: a.roles.clone(),
    }
}
