//! Upstream identity providers and the accounts linked to their subjects
//! (`idp_core::upstream`).

use idp_core::model::{Upstream, UpstreamLink, UpstreamSession};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{UpstreamLinkRow, UpstreamRow, to_json};

impl This {
    pub(crate) async fn sql_upstreams(&self, tenant_id: &str) -> Result<Vec<Upstream>> {
        let rows: Vec<UpstreamRow> = sqlx::query_as(concat!(
            "SELECT ",
            upstreams_columns!(),
            " FROM upstreams WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(Upstream::try_from).collect()
    }

    pub(crate) async fn sql_insert_upstream(&self, u: &Upstream) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO upstreams (tenant_id, id, issuer, client_id, auth_method, secret_sealed, settings, \
             disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&u.tenant_id)
        .bind(&u.id)
        .bind(&u.issuer)
        .bind(&u.client_id)
        .bind(u.auth.as_str())
        .bind(&u.secret_sealed)
        .bind(to_json(&u.settings)?)
        .bind(u.disabled)
        .bind(u.created_at)
        .bind(u.updated_at)
        .execute(&self.write)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }

    pub(crate) async fn sql_update_upstream(&self, u: &Upstream) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE upstreams SET issuer = $3, client_id = $4, auth_method = $5, secret_sealed = $6, settings = \
             $7, disabled = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&u.tenant_id)
        .bind(&u.id)
        .bind(&u.issuer)
        .bind(&u.client_id)
        .bind(u.auth.as_str())
        .bind(&u.secret_sealed)
        .bind(to_json(&u.settings)?)
        .bind(u.disabled)
        .bind(u.updated_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn sql_delete_upstream(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        for sql in [
            "DELETE FROM upstream_links WHERE tenant_id = $1 AND upstream_id = $2",
            "DELETE FROM upstream_sessions WHERE tenant_id = $1 AND upstream_id = $2",
        ] {
            sqlx::query(sql).bind(tenant_id).bind(id).execute(&mut *tx).await.map_err(map_err)?;
        }
        let gone = sqlx::query("DELETE FROM upstreams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(gone > 0)
    }

    pub(crate) async fn sql_upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
    ) -> Result<Option<UpstreamLink>> {
        sqlx::query_as::<_, UpstreamLinkRow>(concat!(
            "SELECT ",
            upstream_links_columns!(),
            " FROM upstream_links WHERE tenant_id = $1 AND upstream_id = $2 AND subject = $3"
        ))
        .bind(tenant_id)
        .bind(upstream_id)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
        .map(|r| r.map(Into::into))
    }

    pub(crate) async fn sql_upstream_links(&self, account_id: &str) -> Result<Vec<UpstreamLink>> {
        let rows: Vec<UpstreamLinkRow> = sqlx::query_as(concat!(
            "SELECT ",
            upstream_links_columns!(),
            " FROM upstream_links WHERE account_id = $1 ORDER BY upstream_id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_insert_upstream_link(&self, l: &UpstreamLink) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO upstream_links (tenant_id, upstream_id, subject, account_id, via, created_at, \
             last_used_at, last_acr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&l.tenant_id)
        .bind(&l.upstream_id)
        .bind(&l.subject)
        .bind(&l.account_id)
        .bind(&l.via)
        .bind(l.created_at)
        .bind(l.last_used_at)
        .bind(&l.last_acr)
        .execute(&self.write)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }

    pub(crate) async fn sql_touch_upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
        at: i64,
        acr: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE upstream_links SET last_used_at = $4, last_acr = $5 WHERE tenant_id = $1 AND upstream_id \
             = $2 AND subject = $3",
        )
        .bind(tenant_id)
        .bind(upstream_id)
        .bind(subject)
        .bind(at)
        .bind(acr)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_delete_upstream_link(&self, account_id: &str, upstream_id: &str) -> Result<bool> {
        let gone = sqlx::query("DELETE FROM upstream_links WHERE account_id = $1 AND upstream_id = $2")
            .bind(account_id)
            .bind(upstream_id)
            .execute(&self.write)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(gone > 0)
    }

    pub(crate) async fn sql_put_upstream_session(&self, s: &UpstreamSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO upstream_sessions (sid, tenant_id, upstream_id, subject, account_id, upstream_sid, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sid) DO UPDATE SET tenant_id = $2, \
             upstream_id = $3, subject = $4, account_id = $5, upstream_sid = $6, created_at = $7",
        )
        .bind(&s.sid)
        .bind(&s.tenant_id)
        .bind(&s.upstream_id)
        .bind(&s.subject)
        .bind(&s.account_id)
        .bind(&s.upstream_sid)
        .bind(s.created_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_upstream_session(&self, sid: &str) -> Result<Option<UpstreamSession>> {
        let rows = self.upstream_sessions_where("sid = $1", sid, None, None, None).await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn sql_upstream_sessions_of(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: Option<&str>,
        upstream_sid: Option<&str>,
    ) -> Result<Vec<UpstreamSession>> {
        // (both absent: nothing, never every session of the upstream)
        if subject.is_none() && upstream_sid.is_none() {
            return Ok(vec![]);
        }
        self.upstream_sessions_where(
            "tenant_id = $1 AND upstream_id = $2 AND ($3 IS NULL OR subject = $3) AND ($4 IS NULL OR \
             upstream_sid = $4)",
            tenant_id,
            Some(upstream_id),
            subject,
            upstream_sid,
        )
        .await
    }

    async fn upstream_sessions_where(
        &self,
        condition: &str,
        first: &str,
        second: Option<&str>,
        third: Option<&str>,
        fourth: Option<&str>,
    ) -> Result<Vec<UpstreamSession>> {
        let sql = format!(
            "SELECT sid, tenant_id, upstream_id, subject, account_id, upstream_sid, created_at FROM \
             upstream_sessions WHERE {condition} ORDER BY sid"
        );
        let mut q = sqlx::query_as::<_, (String, String, String, String, String, Option<String>, i64)>(
            sqlx::AssertSqlSafe(sql),
        )
        .bind(first);
        if second.is_some() {
            q = q.bind(second).bind(third).bind(fourth);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(sid, tenant_id, upstream_id, subject, account_id, upstream_sid, created_at)| {
                UpstreamSession { sid, tenant_id, upstream_id, subject, account_id, upstream_sid, created_at }
            })
            .collect())
    }

    pub(crate) async fn sql_delete_upstream_session(&self, sid: &str) -> Result<()> {
        sqlx::query("DELETE FROM upstream_sessions WHERE sid = $1")
            .bind(sid)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl idp_core::ports::UpstreamStore for This {
    async fn upstreams(&self, tenant_id: &str) -> Result<Vec<Upstream>> {
        self.sql_upstreams(tenant_id).await
    }

    async fn insert_upstream(&self, u: &Upstream) -> Result<bool> {
        self.sql_insert_upstream(u).await
    }

    async fn update_upstream(&self, u: &Upstream) -> Result<bool> {
        self.sql_update_upstream(u).await
    }

    async fn delete_upstream(&self, tenant_id: &str, id: &str) -> Result<bool> {
        self.sql_delete_upstream(tenant_id, id).await
    }

    async fn upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
    ) -> Result<Option<UpstreamLink>> {
        self.sql_upstream_link(tenant_id, upstream_id, subject).await
    }

    async fn upstream_links(&self, account_id: &str) -> Result<Vec<UpstreamLink>> {
        self.sql_upstream_links(account_id).await
    }

    async fn insert_upstream_link(&self, l: &UpstreamLink) -> Result<bool> {
        self.sql_insert_upstream_link(l).await
    }

    async fn touch_upstream_link(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: &str,
        at: i64,
        acr: Option<&str>,
    ) -> Result<()> {
        self.sql_touch_upstream_link(tenant_id, upstream_id, subject, at, acr).await
    }

    async fn delete_upstream_link(&self, account_id: &str, upstream_id: &str) -> Result<bool> {
        self.sql_delete_upstream_link(account_id, upstream_id).await
    }

    async fn put_upstream_session(&self, s: &UpstreamSession) -> Result<()> {
        self.sql_put_upstream_session(s).await
    }

    async fn upstream_session(&self, sid: &str) -> Result<Option<UpstreamSession>> {
        self.sql_upstream_session(sid).await
    }

    async fn upstream_sessions_of(
        &self,
        tenant_id: &str,
        upstream_id: &str,
        subject: Option<&str>,
        upstream_sid: Option<&str>,
    ) -> Result<Vec<UpstreamSession>> {
        self.sql_upstream_sessions_of(tenant_id, upstream_id, subject, upstream_sid).await
    }

    async fn delete_upstream_session(&self, sid: &str) -> Result<()> {
        self.sql_delete_upstream_session(sid).await
    }
}
