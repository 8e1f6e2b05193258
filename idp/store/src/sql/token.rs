//! Authorization codes, refresh tokens and their families, access-token revocations, and the
//! purge of what expired.

use idp_core::Store;
use idp_core::model::{AuthCode, RefreshToken};
use idp_core::ports::{Issue, IssueFn, Redeem, Result, Rotate};
use idp_core::token::TokenResponse;

use super::super::{Db, This};
use crate::map_err;
use crate::rows::{CodeRow, RefreshRow, to_json};

impl This {
    pub(crate) async fn sql_insert_code(&self, c: &AuthCode) -> Result<()> {
        self.batch.submit(crate::batch::Item::Code(c.clone())).await.map(drop)
    }

    pub(crate) async fn sql_code(&self, code_hash: &str) -> Result<Option<AuthCode>> {
        let row: Option<CodeRow> = sqlx::query_as(concat!(
            "SELECT ",
            auth_codes_columns!(),
            " FROM auth_codes WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_redeem_code<'a>(
        &self,
        code_hash: &str,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>> {
        let Some(code) = self.code(code_hash).await? else { return Ok(Redeem::NotFound) };
        self.sql_redeem_read_code(code, tenant_id, client_id, issue).await
    }

    pub(crate) async fn sql_redeem_read_code<'a>(
        &self,
        code: AuthCode,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>> {
        // the presenter's binding first: another client's replay revokes nothing
        if code.authz.tenant_id != tenant_id || code.authz.client_id != client_id {
            return Ok(Redeem::NotFound);
        }
        if code.consumed {
            self.revoke_family(&code.family_id, "code_replay").await?;
            return Ok(Redeem::Replayed);
        }
        // A refused redemption still consumes the code: it cannot be tried again.
        let (records, out) = match issue(&code) {
            Ok((records, out)) => (records, Ok(out)),
            Err(e) => (Issue::default(), Err(e)),
        };
        let item = crate::batch::Item::Redeem {
            code_hash: code.code_hash.clone(),
            family: code.family_id.clone(),
            issue: records,
        };
        match (self.batch.submit(item).await?, out) {
            (crate::batch::Outcome::Won, Ok(out)) => Ok(Redeem::Issued(code, out)),
            (crate::batch::Outcome::Won, Err(e)) => Ok(Redeem::Refused(e)),
            (crate::batch::Outcome::Ended, _) => Ok(Redeem::SessionEnded),
            _ => Ok(Redeem::Replayed),
        }
    }

    pub(crate) async fn sql_rotate_refresh_token<'a>(
        &self,
        token: &RefreshToken,
        issue: IssueFn<'a, RefreshToken, TokenResponse>,
    ) -> Result<Rotate<TokenResponse>> {
        // The token as the caller read it: the conditional update below decides, so a
        // stale read can only lose.
        if token.used || token.revoked {
            self.revoke_family(&token.family_id, "refresh_replay").await?;
            return Ok(Rotate::Replayed);
        }
        // Refused: not consumed (a client's mistake, say a wider scope, does not burn it).
        let (records, out) = match issue(token) {
            Ok(v) => v,
            Err(e) => return Ok(Rotate::Refused(e)),
        };
        let item = crate::batch::Item::Rotate {
            token_hash: token.token_hash.clone(),
            family: token.family_id.clone(),
            issue: records,
        };
        match self.batch.submit(item).await? {
            crate::batch::Outcome::Won => Ok(Rotate::Rotated(token.clone(), out)),
            _ => Ok(Rotate::Replayed),
        }
    }

    pub(crate) async fn sql_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        let row: Option<RefreshRow> = sqlx::query_as(concat!(
            "SELECT ",
            refresh_tokens_columns!(),
            " FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_family_refresh_after(
        &self,
        family_id: &str,
        after: i64,
    ) -> Result<Vec<RefreshToken>> {
        let rows: Vec<RefreshRow> = sqlx::query_as(concat!(
            "SELECT ",
            refresh_tokens_columns!(),
            " FROM refresh_tokens WHERE family_id = $1 AND created_at >= $2 ORDER BY created_at"
        ))
        .bind(family_id)
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_issue_in_family(&self, presented: &RefreshToken, issue: &Issue) -> Result<bool> {
        let family_id = presented.family_id.as_str();
        let mut tx = self.write.begin().await.map_err(map_err)?;
        // the family row's lock first (migration 0002), and only while it lives
        let until = issue.family.as_ref().map_or(0, |(_, until)| *until);
        let live = sqlx::query(
            "UPDATE token_families SET expires_at = CASE WHEN $2 > expires_at THEN $2 ELSE expires_at END \
             WHERE family_id = $1 AND revoked = FALSE",
        )
        .bind(family_id)
        .bind(until)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if live == 0 {
            return Ok(false);
        }
        // under the lock: exactly one successor since the presented token, still fresh
        let (later, spent): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN used OR revoked THEN 1 ELSE 0 END), 0) FROM \
             refresh_tokens WHERE family_id = $1 AND created_at >= $2 AND token_hash <> $3",
        )
        .bind(family_id)
        .bind(presented.created_at)
        .bind(&presented.token_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if later != 1 || spent != 0 {
            return Ok(false);
        }
        if let Some(r) = &issue.refresh_token {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, authz, created_at, expires_at, used, \
                 revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.token_hash)
            .bind(&r.family_id)
            .bind(to_json(&r.authz)?)
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(r.used)
            .bind(r.revoked)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        // (audited right after, group-committed: the audit chain's key lives with the
        // batcher; a crash in between loses this record, not the tokens' safety)
        for e in &issue.audit {
            self.append_audit(e).await?;
        }
        Ok(true)
    }

    pub(crate) async fn sql_revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO \
             NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_access_token_revoked(
        &self,
        jti: &str,
        family_id: Option<&str>,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1) OR EXISTS (SELECT 1 FROM \
             token_families WHERE family_id = $2 AND revoked = TRUE) OR EXISTS (SELECT 1 FROM clients \
             WHERE tenant_id = $3 AND client_id = $4 AND disabled = TRUE)",
        )
        .bind(jti)
        .bind(family_id)
        .bind(tenant_id)
        .bind(client_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)
    }

    pub(crate) async fn sql_revoke_family(&self, family_id: &str, reason: &str) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        revoke_family_in(&mut tx, family_id, reason).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_family_revocation(&self, family_id: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT reason FROM family_revocations WHERE family_id = $1")
            .bind(family_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    pub(crate) async fn sql_purge_expired(&self, now: i64) -> Result<u64> {
        let mut n = 0;
        for sql in [
            "DELETE FROM interactions WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
            "DELETE FROM assertion_jtis WHERE expires_at < $1",
            "DELETE FROM revoked_access_tokens WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM auth_codes WHERE expires_at < $1 - 3600",
            "DELETE FROM token_families WHERE expires_at < $1",
            "DELETE FROM rate_limit_windows WHERE window_start < $1 - 7200",
            "DELETE FROM sms_codes WHERE expires_at < $1",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
            "DELETE FROM device_grants WHERE expires_at < $1",
            "DELETE FROM session_clients WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.sid = \
             session_clients.sid)",
            "DELETE FROM cas_session_tickets WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.sid = \
             cas_session_tickets.sid)",
            "DELETE FROM upstream_sessions WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.sid = \
             upstream_sessions.sid)",
            "DELETE FROM saml_participations WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.sid = \
             saml_participations.sid)",
            "DELETE FROM cas_pgts WHERE expires_at < $1 OR NOT EXISTS (SELECT 1 FROM sessions WHERE \
             sessions.sid = cas_pgts.sid)",
            "DELETE FROM logout_deliveries WHERE status <> 'pending' AND created_at < $1 - 7 * 86400",
            "DELETE FROM grant_families WHERE code_expires_at < $1 - 3600 AND NOT EXISTS (SELECT 1 FROM \
             token_families f WHERE f.family_id = grant_families.family_id)",
            "DELETE FROM family_revocations WHERE $1 > 0 AND NOT EXISTS (SELECT 1 FROM token_families f \
             WHERE f.family_id = family_revocations.family_id) AND NOT EXISTS (SELECT 1 FROM auth_codes c \
             WHERE c.family_id = family_revocations.family_id)",
        ] {
            n += sqlx::query(sql).bind(now).execute(&self.write).await.map_err(map_err)?.rows_affected();
        }
        Ok(n)
    }
}

pub(crate) async fn revoke_family_in<'c>(
    tx: &mut sqlx::Transaction<'c, Db>,
    family: &str,
    reason: &str,
) -> Result<()> {
    // The family row first (see migration 0002): one revoker or rotator at a time.
    sqlx::query("UPDATE token_families SET revoked = TRUE WHERE family_id = $1")
        .bind(family)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO family_revocations (family_id, reason) VALUES ($1, $2) ON CONFLICT (family_id) DO \
         NOTHING",
    )
    .bind(family)
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1")
        .bind(family)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
