//! Browser sessions, interactions and grants (consent records).

use idp_core::model::{Grant, Interaction, PendingSignIn, Session};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{GrantRow, InteractionRow, SessionRow, to_json};

impl This {
    pub(crate) async fn sql_set_interaction_context(&self, id: &str, context: &str) -> Result<()> {
        sqlx::query("UPDATE interactions SET act_context = $2 WHERE id = $1")
            .bind(id)
            .bind(context)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_set_interaction_pending(
        &self,
        id: &str,
        pending: Option<&PendingSignIn>,
    ) -> Result<()> {
        let json = pending.map(to_json).transpose()?;
        sqlx::query("UPDATE interactions SET pending = $2 WHERE id = $1")
            .bind(id)
            .bind(json)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_set_session_context(
        &self,
        tenant_id: &str,
        sid: &str,
        context: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE sessions SET act_context = $3 WHERE tenant_id = $1 AND sid = $2")
            .bind(tenant_id)
            .bind(sid)
            .bind(context)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_upgrade_session(
        &self,
        tenant_id: &str,
        sid: &str,
        amr: &[String],
        acr: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE sessions SET amr = $3, acr = $4 WHERE tenant_id = $1 AND sid = $2")
            .bind(tenant_id)
            .bind(sid)
            .bind(to_json(&amr)?)
            .bind(acr)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_insert_session(&self, s: &Session) -> Result<()> {
        self.batch.submit(crate::batch::Item::Session(s.clone())).await.map(drop)
    }

    pub(crate) async fn sql_session(&self, tenant_id: &str, id_hash: &str) -> Result<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            sessions_columns!(),
            " FROM sessions WHERE tenant_id = $1 AND id_hash = $2"
        ))
        .bind(tenant_id)
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_renew_session(&self, s: &Session) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE sessions SET id_hash = $3, auth_time = $4, amr = $5, acr = $6, min_acr = $7, \
             act_context = NULL, created_at = $8, last_seen = $8, expires_at = $9 WHERE tenant_id = $1 AND \
             sid = $2 AND account_id = $10",
        )
        .bind(&s.tenant_id)
        .bind(&s.sid)
        .bind(&s.id_hash)
        .bind(s.auth_time)
        .bind(to_json(&s.amr)?)
        .bind(&s.acr)
        .bind(&s.min_acr)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.account_id)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_delete_session(&self, tenant_id: &str, sid: &str) -> Result<()> {
        // its clients (`session_clients`) are purged once no session has the sid: signing
        // in again as the same person continues a session under its sid
        sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND sid = $2")
            .bind(tenant_id)
            .bind(sid)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_insert_interaction(&self, i: &Interaction) -> Result<()> {
        self.batch.submit(crate::batch::Item::Interaction(i.clone())).await.map(drop)
    }

    pub(crate) async fn sql_interaction(&self, tenant_id: &str, id: &str) -> Result<Option<Interaction>> {
        let row: Option<InteractionRow> = sqlx::query_as(concat!(
            "SELECT ",
            interactions_columns!(),
            " FROM interactions WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_set_interaction_session(&self, id: &str, sid: &str) -> Result<()> {
        sqlx::query("UPDATE interactions SET session_sid = $2 WHERE id = $1")
            .bind(id)
            .bind(sid)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_delete_interaction(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM interactions WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_grant(
        &self,
        tenant_id: &str,
        account_id: &str,
        client_id: &str,
    ) -> Result<Option<Grant>> {
        let row: Option<GrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            grants_columns!(),
            " FROM grants WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3"
        ))
        .bind(tenant_id)
        .bind(account_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_upsert_grant(&self, g: &Grant) -> Result<()> {
        sqlx::query(
            "INSERT INTO grants (tenant_id, account_id, client_id, scopes, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, account_id, client_id) DO UPDATE SET scopes \
             = excluded.scopes, updated_at = excluded.updated_at",
        )
        .bind(&g.tenant_id)
        .bind(&g.account_id)
        .bind(&g.client_id)
        .bind(to_json(&g.scopes)?)
        .bind(g.created_at)
        .bind(g.updated_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
