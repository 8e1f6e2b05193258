//! Looking after people's accounts ("Accounts"): search by username, name, phone or
//! ID number (through its keyed hash; the number is never shown in full), everything about an
//! account at once, lock and unlock, reset its second factors, end its sessions. Every change
//! is audited with the administrator's identity. The admin API calls these.
//!
//! And making accounts (`Ops::add_account`, for the CLI, start-up, staff directories and SCIM)
//! with the rules every account's username, email and password follow (`username`,
//! `check_email`, `check_password`), and the operator's password and lock.

use anyhow::{Context, anyhow, bail};
use idp_core::crypto::random_token;
use idp_core::model::Account;
use idp_core::password;
use idp_proto::{AccountDetail, AccountInfo, FactorKeyInfo, MembershipInfo, RealNameInfo, SessionInfo};

use crate::ops::Ops;

/// An account to make (`Ops::add_account`).
#[derive(Clone)]
pub struct NewAccount {
    pub username: String,
    pub password: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

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

/// A username as accounts keep it (trimmed, lower case), or why it cannot be one.
pub fn username(raw: &str) -> Result<String, &'static str> {
    let username = raw.trim().to_lowercase();
    if username.is_empty()
        || username.chars().count() > 64
        || username.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err("a username has 1-64 characters without spaces");
    }
    // sign-ins look a login up as a username first: one that reads as a phone number would
    // take that number's password sign-in (a directory's uid, an administrator's typo)
    if idp_core::sms::normalise_phone(&username).is_some() {
        return Err("a username must not be a phone number");
    }
    Ok(username)
}

/// An email address an account may be given (unverified).
pub fn check_email(email: &str) -> Result<(), &'static str> {
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err("invalid email address");
    }
    Ok(())
}

/// The tenant's password rules for a new password of the account `about` describes (its
/// username, name and email: a password must not be made of them).
pub fn check_password(
    tenant: &idp_core::model::Tenant,
    pw: &str,
    about: [Option<&str>; 3],
) -> Result<(), String> {
    let personal = password::personal_words(&about.into_iter().flatten().collect::<Vec<_>>());
    password::check_rules_for(pw, tenant.settings.policy.password_rules(), &personal).map_err(|e| e.message())
}

/// Making accounts and the operator's changes to them (the CLI, start-up, SCIM, directories).
impl Ops {
    pub async fn add_account(&self, slug: &str, new: NewAccount) -> anyhow::Result<Account> {
        let tenant = self.tenant(slug).await?;
        let username = username(&new.username).map_err(|e| anyhow!(e))?;
        // phone numbers are stored in E.164, the form every lookup uses
        let phone = match new.phone.as_deref().map(idp_core::sms::normalise_phone) {
            Some(None) => bail!("not a phone number (E.164, or a national number of +86)"),
            Some(Some(p)) => Some(p),
            None => None,
        };
        if let Some(email) = &new.email {
            check_email(email).map_err(|e| anyhow!(e))?;
        }
        let password_hash = match &new.password {
            Some(p) => {
                let about = [Some(username.as_str()), new.name.as_deref(), new.email.as_deref()];
                check_password(&tenant, p, about).map_err(|e| anyhow!(e))?;
                Some(self.password_hash(p)?)
            }
            None => None,
        };
        idp_core::admin::check_separation(&new.roles).map_err(|e| anyhow!(e))?;
        let now = self.now();
        let account = Account {
            id: random_token(self.env.as_ref(), 16),
            tenant_id: tenant.id,
            username,
            name: new.name,
            phone,
            phone_verified_at: None,
            email_verified_at: None,
            email: new.email,
            password_hash,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            roles: new.roles,
            locale: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_account(&account).await.map_err(|e| match e {
            idp_core::StoreError::Conflict(_) => {
                anyhow!("the username or phone number is taken")
            }
            other => other.into(),
        })?;
        Ok(account)
    }

    pub async fn account(&self, slug: &str, login: &str) -> anyhow::Result<Account> {
        let tenant = self.tenant(slug).await?;
        self.store
            .account_by_typed_login(&tenant.id, &login.trim().to_lowercase())
            .await?
            .ok_or_else(|| anyhow!("no account {login:?} in tenant {slug:?}"))
    }

    pub async fn set_password(&self, slug: &str, login: &str, pw: &str) -> anyhow::Result<()> {
        let account = self.account(slug, login).await?;
        let about = [Some(account.username.as_str()), account.name.as_deref(), account.email.as_deref()];
        check_password(&self.tenant(slug).await?, pw, about).map_err(|e| anyhow!(e))?;
        let hash = self.password_hash(pw)?;
        self.store.set_password_hash(&account.tenant_id, &account.id, &hash, self.now()).await?;
        self.store.reset_login_failures(&account.tenant_id, &account.id).await?;
        self.audit(&account.tenant_id, "password_set_by_operator", Some(&account.id), serde_json::json!({}))
            .await
    }

    pub async fn set_account_disabled(&self, slug: &str, login: &str, v: bool) -> anyhow::Result<()> {
        let account = self.account(slug, login).await?;
        self.store.set_account_disabled(&account.tenant_id, &account.id, v, self.now()).await?;
        self.forget_scim_disabling(&account.tenant_id, &account.id).await?;
        let kind = if v { "account_disabled_by_operator" } else { "account_enabled_by_operator" };
        self.audit(&account.tenant_id, kind, Some(&account.id), serde_json::json!({})).await
    }

    /// An administrator's lock or unlock is theirs: a SCIM client's note that it disabled the
    /// account (`idp_core::scim::DISABLED_BY_CLIENT`) goes, so the client's `active: true` no
    /// longer lifts a lock. (A write racing this one keeps the note; the next lock clears it.)
    pub(crate) async fn forget_scim_disabling(&self, tenant_id: &str, id: &str) -> anyhow::Result<()> {
        if let Some(mut r) = self.store.scim_record(tenant_id, "User", id).await?
            && let Some(o) = r.data.as_object_mut()
            && o.remove(idp_core::scim::DISABLED_BY_CLIENT).is_some()
        {
            r.version += 1;
            r.updated_at = self.now();
            self.store.update_scim_record(&r).await?;
        }
        Ok(())
    }
}
