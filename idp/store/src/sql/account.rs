//! Accounts: creation, lookup by login, passwords, lockout, contact details and profile.

use idp_core::StoreError;
use idp_core::model::{Account, Profile};
use idp_core::ports::Result;

use super::super::{Db, This};
use crate::map_err;
use crate::rows::{AccountRow, to_json};

impl This {
    pub(crate) async fn sql_set_account_email(
        &self,
        tenant_id: &str,
        id: &str,
        email: &str,
        verified_at: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let n =
            sqlx::query("UPDATE accounts SET email = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .bind(email)
                .bind(verified_at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        if n == 1 {
            sqlx::query(
                "INSERT INTO email_verifications (account_id, email, verified_at) VALUES ($1, $2, $3) ON \
                 CONFLICT (account_id) DO UPDATE SET email = excluded.email, verified_at = \
                 excluded.verified_at",
            )
            .bind(id)
            .bind(email)
            .bind(verified_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_set_account_phone(
        &self,
        tenant_id: &str,
        id: &str,
        phone: &str,
        verified_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET phone = $3, phone_verified_at = $4, updated_at = $4 WHERE tenant_id = $1 \
             AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(phone)
        .bind(verified_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_insert_account(&self, a: &Account) -> Result<()> {
        insert_account_row(&self.write, a).await
    }

    pub(crate) async fn sql_bulk_insert_accounts(&self, accounts: &[Account]) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        for a in accounts {
            insert_account_row(&mut *tx, a).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn sql_account(&self, tenant_id: &str, id: &str) -> Result<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            accounts_columns!(),
            ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND \
             v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 AND id = \
             $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_account_by_login(&self, tenant_id: &str, login: &str) -> Result<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            accounts_columns!(),
            ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND \
             v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 AND \
             (username = $2 OR phone = $2) ORDER BY username = $2 DESC LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(login)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_accounts_by_verified_email(
        &self,
        tenant_id: &str,
        email: &str,
        limit: i64,
    ) -> Result<Vec<Account>> {
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            accounts_columns!(),
            ", v.verified_at AS email_verified_at FROM accounts JOIN email_verifications v ON \
             v.account_id = accounts.id AND v.email = accounts.email WHERE accounts.tenant_id = $1 \
             AND accounts.email = $2 ORDER BY accounts.username LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(email)
        .bind(limit.clamp(1, 100))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_list_accounts(&self, tenant_id: &str) -> Result<Vec<Account>> {
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            accounts_columns!(),
            ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND \
             v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 ORDER BY \
             username"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_set_password_hash(
        &self,
        tenant_id: &str,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE accounts SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn sql_set_account_disabled(
        &self,
        tenant_id: &str,
        id: &str,
        v: bool,
        now: i64,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE accounts SET disabled = $3, failed_logins = 0, locked_until = NULL, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(v)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn sql_record_login_failure(
        &self,
        tenant_id: &str,
        id: &str,
        threshold: i64,
        lock_until: i64,
    ) -> Result<bool> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "UPDATE accounts SET locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE \
             locked_until END, failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins \
             + 1 END WHERE tenant_id = $1 AND id = $2 RETURNING failed_logins, locked_until",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(threshold)
        .bind(lock_until)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        // The counter is 0 after this update only when this very failure reached the threshold.
        Ok(matches!(row, Some((0, Some(t))) if t == lock_until))
    }

    pub(crate) async fn sql_reset_login_failures(&self, tenant_id: &str, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2 \
             AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_account_profile(&self, account_id: &str) -> Result<Option<Profile>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT profile FROM account_profiles WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|(p,)| crate::rows::from_json(&p)).transpose()
    }

    pub(crate) async fn sql_set_account_profile(
        &self,
        tenant_id: &str,
        account_id: &str,
        profile: &Profile,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let n = sqlx::query("UPDATE accounts SET updated_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO account_profiles (account_id, tenant_id, profile) VALUES ($1, $2, $3) ON CONFLICT \
             (account_id) DO UPDATE SET profile = excluded.profile",
        )
        .bind(account_id)
        .bind(tenant_id)
        .bind(to_json(profile)?)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}

pub(crate) async fn insert_account_row<'e, E>(executor: E, a: &Account) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    // (a new account's email is unverified: `set_account_email` records a proof)
    sqlx::query(
        "INSERT INTO accounts (id, tenant_id, username, name, phone, phone_verified_at, email, \
         password_hash, failed_logins, locked_until, disabled, roles, locale, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $15, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&a.id)
    .bind(&a.tenant_id)
    .bind(&a.username)
    .bind(&a.name)
    .bind(&a.phone)
    .bind(&a.email)
    .bind(&a.password_hash)
    .bind(a.failed_logins)
    .bind(a.locked_until)
    .bind(a.disabled)
    .bind(to_json(&a.roles)?)
    .bind(&a.locale)
    .bind(a.created_at)
    .bind(a.updated_at)
    .bind(a.phone_verified_at)
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(())
}
