//! Audit events: appending and reading back (the chain itself is in `admin.rs`).

use idp_core::model::AuditEvent;
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::AuditRow;

impl This {
    pub(crate) async fn sql_append_audit(&self, e: &AuditEvent) -> Result<()> {
        self.batch.submit(crate::batch::Item::Audit(e.clone())).await.map(drop)
    }

    pub(crate) async fn sql_account_events(
        &self,
        tenant_id: &str,
        account_id: &str,
        kind: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT tenant_id, kind, account_id, client_id, ip, detail, at FROM audit_events WHERE \
             account_id = $2 AND kind = $3 AND tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(account_id)
        .bind(kind)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_audit_events(&self, tenant_id: &str, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT tenant_id, kind, account_id, client_id, ip, detail, at FROM audit_events WHERE \
             tenant_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
