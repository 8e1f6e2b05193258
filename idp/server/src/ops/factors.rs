//! An account's second factors and passwords as the operator and the sign-in set them up: a
//! TOTP authenticator sealed at rest, its confirmation and recovery codes, and password hashes
//! by the configured hasher.

use anyhow::{Context, anyhow};
use idp_core::model::{Account, TotpCredential};
use idp_core::password;
use idp_core::suite::Suite;

use crate::ops::Ops;

/// The associated data a TOTP seed is sealed with: a seed moved to another account will not open.
pub(crate) fn totp_context(account_id: &str) -> String {
    format!("totp:{account_id}")
}

impl Ops {
    /// A new authenticator for the account, sealed at rest and pending until
    /// [`Ops::activate_totp`]; `None` while a confirmed one exists (it must be removed first).
    pub async fn begin_totp(
        &self,
        account: &Account,
        suite: &Suite,
    ) -> anyhow::Result<Option<idp_core::totp::Secret>> {
        let secret = idp_core::totp::Secret::generate(self.env.as_ref());
        let cred = self.totp_credential(account, suite, &secret, false);
        Ok(self.store.begin_totp(&cred).await?.then_some(secret))
    }

    /// The account's authenticator with `secret` sealed under the tenant's `suite` (opened by
    /// [`Ops::totp_secret`]).
    pub(crate) fn totp_credential(
        &self,
        account: &Account,
        suite: &Suite,
        secret: &idp_core::totp::Secret,
        confirmed: bool,
    ) -> TotpCredential {
        let context = totp_context(&account.id);
        TotpCredential {
            account_id: account.id.clone(),
            tenant_id: account.tenant_id.clone(),
            sealed_secret: self.kek.seal_with(
                self.env.as_ref(),
                suite.seal_alg(),
                secret.as_bytes(),
                &context,
            ),
            confirmed,
            last_step: None,
            created_at: self.now(),
            kind: secret.kind(),
        }
    }

    /// A new stored hash of `password` with the configured scheme (`[passwords]`).
    pub fn password_hash(&self, password: &str) -> anyhow::Result<String> {
        password::Hasher::new(self.config.argon2)
            .with_config(self.config.passwords)
            .hash(self.env.as_ref(), password)
            .map_err(|e| anyhow!(e))
    }

    /// The seed of a stored TOTP credential.
    pub fn totp_secret(&self, cred: &TotpCredential) -> anyhow::Result<idp_core::totp::Secret> {
        let seed = self.kek.open(&cred.sealed_secret, &totp_context(&cred.account_id))?;
        Ok(idp_core::totp::Secret::of_kind(seed, cred.kind))
    }

    /// Activates the pending authenticator with the step of its first correct code; returns the
    /// ten recovery codes (shown once), or `None` if it was activated or replaced meanwhile.
    pub async fn activate_totp(
        &self,
        tenant_id: &str,
        account_id: &str,
        step: i64,
        suite: &Suite,
    ) -> anyhow::Result<Option<Vec<String>>> {
        if !self.store.confirm_totp(account_id, step).await? {
            return Ok(None);
        }
        Ok(Some(self.new_recovery_codes(tenant_id, account_id, suite).await?))
    }

    /// Ten new recovery codes for the account, replacing any it had; returns them to be shown
    /// once (only their digests are stored).
    pub async fn new_recovery_codes(
        &self,
        tenant_id: &str,
        account_id: &str,
        suite: &Suite,
    ) -> anyhow::Result<Vec<String>> {
        let key = idp_core::totp::RecoveryKey { kek: &self.kek, tenant_id, account_id, mac: suite.mac_alg() };
        let codes = idp_core::totp::recovery_codes(self.env.as_ref(), &key);
        let hashes: Vec<String> = codes.iter().map(|(_, h)| h.clone()).collect();
        self.store.replace_recovery_codes(account_id, &hashes).await?;
        Ok(codes.into_iter().map(|(c, _)| c).collect())
    }

    /// [`Ops::begin_totp`] by tenant and login name (for tests and operators).
    pub async fn enrol_totp(&self, slug: &str, login: &str) -> anyhow::Result<idp_core::totp::Secret> {
        let account = self.account(slug, login).await?;
        let suite = Suite::of(&self.tenant(slug).await?.settings.crypto);
        self.begin_totp(&account, &suite)
            .await?
            .with_context(|| format!("{login:?} already has a confirmed authenticator; remove it first"))
    }

    /// Activates `login`'s pending authenticator with a code from the app.
    pub async fn confirm_totp(&self, slug: &str, login: &str, code: &str) -> anyhow::Result<Vec<String>> {
        let account = self.account(slug, login).await?;
        let cred =
            self.store.totp(&account.id).await?.filter(|c| !c.confirmed).context("no enrolment pending")?;
        let step = self.totp_secret(&cred)?.verify(code, self.now(), None).context("wrong code")?;
        let suite = Suite::of(&self.tenant(slug).await?.settings.crypto);
        self.activate_totp(&account.tenant_id, &account.id, step, &suite)
            .await?
            .context("the enrolment was confirmed or replaced meanwhile")
    }
}
