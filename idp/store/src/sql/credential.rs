//! Second factors and sign-in codes: TOTP and recovery codes, WebAuthn credentials and ceremonies, SMS codes.

use idp_core::model::{Ceremony, SmsCheck, SmsCode, TotpCredential, WebauthnCredential};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{CeremonyRow, TotpRow, WebauthnRow};

impl This {
    pub(crate) async fn sql_begin_totp(&self, c: &TotpCredential) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO totp_credentials (account_id, tenant_id, sealed_secret, confirmed, last_step, \
             created_at, algorithm, period) VALUES ($1, $2, $3, FALSE, NULL, $4, $5, $6) ON CONFLICT \
             (account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, last_step = NULL, created_at = \
             excluded.created_at, algorithm = excluded.algorithm, period = excluded.period WHERE \
             totp_credentials.confirmed = FALSE",
        )
        .bind(&c.account_id)
        .bind(&c.tenant_id)
        .bind(&c.sealed_secret)
        .bind(c.created_at)
        .bind(c.kind.stored().0)
        .bind(c.kind.stored().1)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    /// A confirmed credential in place of whatever the account had (a hardware token assigned).
    pub(crate) async fn sql_put_totp(&self, c: &TotpCredential) -> Result<()> {
        sqlx::query(
            "INSERT INTO totp_credentials (account_id, tenant_id, sealed_secret, confirmed, last_step, \
             created_at, algorithm, period) VALUES ($1, $2, $3, TRUE, NULL, $4, $5, $6) ON CONFLICT \
             (account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed = TRUE, last_step = \
             NULL, created_at = excluded.created_at, algorithm = excluded.algorithm, period = excluded.period",
        )
        .bind(&c.account_id)
        .bind(&c.tenant_id)
        .bind(&c.sealed_secret)
        .bind(c.created_at)
        .bind(c.kind.stored().0)
        .bind(c.kind.stored().1)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_totp(&self, account_id: &str) -> Result<Option<TotpCredential>> {
        let row: Option<TotpRow> = sqlx::query_as(concat!(
            "SELECT ",
            totp_credentials_columns!(),
            " FROM totp_credentials WHERE account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_confirm_totp(&self, account_id: &str, step: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE totp_credentials SET confirmed = TRUE, last_step = $2 WHERE account_id = $1 AND \
             confirmed = FALSE",
        )
        .bind(account_id)
        .bind(step)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_record_totp_step(&self, account_id: &str, step: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE totp_credentials SET last_step = $2 WHERE account_id = $1 AND confirmed = TRUE AND \
             (last_step IS NULL OR last_step < $2)",
        )
        .bind(account_id)
        .bind(step)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_delete_totp(&self, account_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM totp_credentials WHERE account_id = $1")
            .bind(account_id)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_replace_recovery_codes(&self, account_id: &str, hashes: &[String]) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                .bind(account_id)
                .bind(h)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn sql_use_recovery_code(&self, account_id: &str, hash: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at \
             IS NULL",
        )
        .bind(account_id)
        .bind(hash)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_recovery_codes_left(&self, account_id: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
            .bind(account_id)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    pub(crate) async fn sql_add_webauthn_credential(&self, c: &WebauthnCredential) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO webauthn_credentials (id, tenant_id, account_id, cred_id, kind, name, credential, \
             backup_eligible, created_at, last_used_at, flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11) ON CONFLICT (tenant_id, cred_id) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.account_id)
        .bind(&c.cred_id)
        .bind(&c.kind)
        .bind(&c.name)
        .bind(&c.credential)
        .bind(c.backup_eligible)
        .bind(c.created_at)
        .bind(c.last_used_at)
        .bind(c.flagged_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_webauthn_credentials(&self, account_id: &str) -> Result<Vec<WebauthnCredential>> {
        let rows: Vec<WebauthnRow> = sqlx::query_as(concat!(
            "SELECT ",
            webauthn_credentials_columns!(),
            " FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_webauthn_credential(
        &self,
        tenant_id: &str,
        cred_id: &str,
    ) -> Result<Option<WebauthnCredential>> {
        let row: Option<WebauthnRow> = sqlx::query_as(concat!(
            "SELECT ",
            webauthn_credentials_columns!(),
            " FROM webauthn_credentials WHERE tenant_id = $1 AND cred_id = $2"
        ))
        .bind(tenant_id)
        .bind(cred_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn sql_use_webauthn_credential(
        &self,
        id: &str,
        now: i64,
        credential: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE webauthn_credentials SET last_used_at = $2, credential = COALESCE($3, credential) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(credential)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_flag_webauthn_credential(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE webauthn_credentials SET flagged_at = COALESCE(flagged_at, $2) WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_delete_webauthn_credential(&self, account_id: &str, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM webauthn_credentials WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_put_ceremony(&self, c: &Ceremony) -> Result<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (key, tenant_id, account_id, state, expires_at) VALUES ($1, \
             $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET tenant_id = excluded.tenant_id, account_id = \
             excluded.account_id, state = excluded.state, expires_at = excluded.expires_at",
        )
        .bind(&c.key)
        .bind(&c.tenant_id)
        .bind(&c.account_id)
        .bind(&c.state)
        .bind(c.expires_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_take_ceremony(&self, key: &str, now: i64) -> Result<Option<Ceremony>> {
        let row: Option<CeremonyRow> = sqlx::query_as(concat!(
            "DELETE FROM webauthn_ceremonies WHERE key = $1 RETURNING ",
            webauthn_ceremonies_columns!()
        ))
        .bind(key)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        Ok(row.map(Ceremony::from).filter(|c| c.expires_at > now))
    }

    pub(crate) async fn sql_put_sms_code(&self, c: &SmsCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO sms_codes (tenant_id, phone, purpose, code_mac, attempts, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, phone, purpose) DO UPDATE SET \
             code_mac = excluded.code_mac, attempts = excluded.attempts, expires_at = excluded.expires_at, \
             created_at = excluded.created_at",
        )
        .bind(&c.tenant_id)
        .bind(&c.phone)
        .bind(&c.purpose)
        .bind(&c.code_mac)
        .bind(c.attempts)
        .bind(c.expires_at)
        .bind(c.created_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_take_sms_code(
        &self,
        tenant_id: &str,
        phone: &str,
        purpose: &str,
        code_mac: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<SmsCheck> {
        let taken = sqlx::query(
            "DELETE FROM sms_codes WHERE tenant_id = $1 AND phone = $2 AND purpose = $3 AND code_mac = $4 \
             AND expires_at > $5 AND attempts < $6",
        )
        .bind(tenant_id)
        .bind(phone)
        .bind(purpose)
        .bind(code_mac)
        .bind(now)
        .bind(max_attempts)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        if taken == 1 {
            return Ok(SmsCheck::Accepted);
        }
        let tried: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE sms_codes SET attempts = attempts + 1 WHERE tenant_id = $1 AND phone = $2 AND purpose \
             = $3 RETURNING attempts, expires_at",
        )
        .bind(tenant_id)
        .bind(phone)
        .bind(purpose)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        Ok(match tried {
            Some((attempts, expires_at)) if expires_at > now && attempts < max_attempts => {
                SmsCheck::Wrong(max_attempts - attempts)
            }
            _ => SmsCheck::Gone,
        })
    }
}
