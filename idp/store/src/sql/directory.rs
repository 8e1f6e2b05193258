//! What the syncs of staff directories made of their entries (`idp_core::directory`).

use idp_core::directory::Record;
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;

type Row = (String, String, String, String, String);

fn record((uuid, kind, dn, target, modified): Row) -> Record {
    Record { uuid, kind, dn, target, modified }
}

impl This {
    pub(crate) async fn sql_directory_records(
        &self,
        tenant_id: &str,
        directory: &str,
    ) -> Result<Vec<Record>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT uuid, kind, dn, target, modified FROM directory_records WHERE tenant_id = $1 AND \
             directory = $2 ORDER BY uuid",
        )
        .bind(tenant_id)
        .bind(directory)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(record).collect())
    }

    pub(crate) async fn sql_put_directory_record(
        &self,
        tenant_id: &str,
        directory: &str,
        r: &Record,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO directory_records (tenant_id, directory, uuid, kind, dn, target, modified) VALUES \
             ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, directory, uuid) DO UPDATE SET kind = \
             excluded.kind, dn = excluded.dn, target = excluded.target, modified = excluded.modified",
        )
        .bind(tenant_id)
        .bind(directory)
        .bind(&r.uuid)
        .bind(&r.kind)
        .bind(&r.dn)
        .bind(&r.target)
        .bind(&r.modified)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_forget_directory_record(
        &self,
        tenant_id: &str,
        directory: &str,
        uuid: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM directory_records WHERE tenant_id = $1 AND directory = $2 AND uuid = $3")
            .bind(tenant_id)
            .bind(directory)
            .bind(uuid)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_directory_record_of(
        &self,
        tenant_id: &str,
        account_id: &str,
    ) -> Result<Option<(String, Record)>> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT directory, uuid, kind, dn, target, modified FROM directory_records WHERE tenant_id = $1 \
             AND target = $2 AND kind = 'user' ORDER BY directory LIMIT 1",
        )
        .bind(tenant_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(|(d, u, k, dn, t, m)| (d, record((u, k, dn, t, m)))))
    }
}
