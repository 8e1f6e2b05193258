//! What administration reads: account search, an account's sessions, the audit chain, dashboard
//! counts.

use idp_core::StoreError;
use idp_core::model::{Account, ClientSettings, Session};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{AccountRow, ChainedRow, SessionRow, to_json};

impl This {
    pub(crate) async fn sql_search_accounts(
        &self,
        tenant_id: &str,
        query: &str,
        limit: i64,
    ) -> Result<Vec<Account>> {
        let escaped: String = query
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            accounts_columns!(),
            ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND \
             v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 AND \
             (LOWER(username) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE $2 ESCAPE '\\' OR \
             COALESCE(phone, '') LIKE $2 ESCAPE '\\') ORDER BY username LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(pattern)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_session_live(&self, tenant_id: &str, sid: &str, now: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM sessions WHERE sid = $1 AND tenant_id = $2 AND expires_at > $3",
        )
        .bind(sid)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    pub(crate) async fn sql_account_sessions(
        &self,
        tenant_id: &str,
        account_id: &str,
        now: i64,
    ) -> Result<Vec<Session>> {
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            sessions_columns!(),
            " FROM sessions WHERE tenant_id = $1 AND account_id = $2 AND expires_at > $3 ORDER BY \
             created_at DESC"
        ))
        .bind(tenant_id)
        .bind(account_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_update_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        name: &str,
        settings: &ClientSettings,
        secret_hash: Option<&str>,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE clients SET name = $3, settings = $4, secret_hash = COALESCE($5, secret_hash) WHERE \
             tenant_id = $1 AND client_id = $2",
        )
        .bind(tenant_id)
        .bind(client_id)
        .bind(name)
        .bind(to_json(settings)?)
        .bind(secret_hash)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        // after the write: a reader racing it cannot leave the old record cached
        self.clients.forget(tenant_id, client_id);
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn sql_hourly_counts(
        &self,
        tenant_id: &str,
        kinds: &[&str],
        since: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        let mut q = sqlx::QueryBuilder::<_>::new(
            "SELECT (at / 3600) * 3600 AS hour, kind, COUNT(*) AS n FROM audit_events WHERE tenant_id = ",
        );
        q.push_bind(tenant_id).push(" AND at >= ").push_bind(since).push(" AND kind IN (");
        let mut list = q.separated(", ");
        for k in kinds {
            list.push_bind(*k);
        }
        q.push(") GROUP BY hour, kind ORDER BY hour, kind");
        q.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(map_err)
    }

    pub(crate) async fn sql_live_sessions(&self, tenant_id: &str, now: i64) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE tenant_id = $1 AND expires_at > $2")
                .bind(tenant_id)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(n)
    }

    pub(crate) async fn sql_audit_heads(&self) -> Result<Vec<(String, i64, String)>> {
        sqlx::query_as("SELECT chain, seq, hash FROM audit_heads ORDER BY chain")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    pub(crate) async fn sql_audit_chain(
        &self,
        chain: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<idp_core::audit::ChainedRecord>> {
        let rows: Vec<ChainedRow> = sqlx::query_as(
            "SELECT chain, seq, prev_hash, hash, tenant_id, kind, account_id, client_id, ip, detail, at \
             FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(chain)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_audit_unchained(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE chain IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n)
    }

    pub(crate) async fn sql_audit_search(
        &self,
        tenant_id: &str,
        f: &idp_core::audit::Filter,
    ) -> Result<Vec<idp_core::audit::ChainedRecord>> {
        let mut q = sqlx::QueryBuilder::<_>::new(
            "SELECT chain, seq, prev_hash, hash, tenant_id, kind, account_id, client_id, ip, detail, at \
             FROM audit_events WHERE chain IS NOT NULL AND tenant_id = ",
        );
        q.push_bind(tenant_id);
        // a tenant's records are its own chain (`idp_core::audit::chain_of`): this lets the
        // (chain, seq) index serve the order
        q.push(" AND chain = ").push_bind(tenant_id);
        if let Some(k) = &f.kind {
            q.push(" AND kind = ").push_bind(k);
        }
        if let Some(a) = &f.account_id {
            q.push(" AND account_id = ").push_bind(a);
        }
        if let Some(c) = &f.client_id {
            q.push(" AND client_id = ").push_bind(c);
        }
        if let Some(ip) = &f.ip {
            q.push(" AND ip = ").push_bind(ip);
        }
        if let Some(s) = f.since {
            q.push(" AND at >= ").push_bind(s);
        }
        if let Some(u) = f.until {
            q.push(" AND at <= ").push_bind(u);
        }
        if let Some(b) = f.before_seq {
            q.push(" AND seq < ").push_bind(b);
        }
        q.push(" ORDER BY seq DESC LIMIT ").push_bind(f.limit.clamp(1, 10_000));
        let rows: Vec<ChainedRow> =
            q.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_end_account_sessions(&self, tenant_id: &str, account_id: &str) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}
