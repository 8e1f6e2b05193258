//! What SCIM clients provisioned (`idp_core::scim::Record`), and the account and organisation
//! changes only SCIM makes.

use idp_core::ports::Result;
use idp_core::scim::Record;

use super::super::This;
use crate::map_err;

type Row = (String, String, String, String, String, i64, i64, i64);

fn record((tenant_id, client_id, kind, id, data, version, created_at, updated_at): Row) -> Result<Record> {
    let data = serde_json::from_str(&data).map_err(|e| idp_core::StoreError::Other(e.to_string()))?;
    Ok(Record { tenant_id, client_id, kind, id, data, version, created_at, updated_at })
}

impl This {
    pub(crate) async fn sql_scim_records(
        &self,
        tenant_id: &str,
        client_id: &str,
        kind: &str,
    ) -> Result<Vec<Record>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT tenant_id, client_id, kind, id, data, version, created_at, updated_at FROM scim_resources \
             WHERE tenant_id = $1 AND client_id = $2 AND kind = $3 ORDER BY id",
        )
        .bind(tenant_id)
        .bind(client_id)
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(record).collect()
    }

    pub(crate) async fn sql_scim_record(
        &self,
        tenant_id: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<Record>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT tenant_id, client_id, kind, id, data, version, created_at, updated_at FROM scim_resources \
             WHERE tenant_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(tenant_id)
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(record).transpose()
    }

    pub(crate) async fn sql_insert_scim_record(&self, r: &Record) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO scim_resources (tenant_id, client_id, kind, id, data, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, kind, id) DO NOTHING",
        )
        .bind(&r.tenant_id)
        .bind(&r.client_id)
        .bind(&r.kind)
        .bind(&r.id)
        .bind(r.data.to_string())
        .bind(r.version)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_update_scim_record(&self, r: &Record) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE scim_resources SET data = $5, version = $6, updated_at = $7 WHERE tenant_id = $1 AND \
             client_id = $2 AND kind = $3 AND id = $4 AND version = $6 - 1",
        )
        .bind(&r.tenant_id)
        .bind(&r.client_id)
        .bind(&r.kind)
        .bind(&r.id)
        .bind(r.data.to_string())
        .bind(r.version)
        .bind(r.updated_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_delete_scim_record(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM scim_resources WHERE tenant_id = $1 AND kind = $2 AND id = $3")
            .bind(tenant_id)
            .bind(kind)
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_update_account_details(
        &self,
        tenant_id: &str,
        id: &str,
        username: &str,
        name: Option<&str>,
        email: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "UPDATE accounts SET username = $3, name = $4, email = $5, updated_at = $6 WHERE tenant_id = $1 \
             AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(username)
        .bind(name)
        .bind(email)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        // a verification holds for the address it proved, not for one written since
        sqlx::query("DELETE FROM email_verifications WHERE account_id = $1 AND email IS DISTINCT FROM $2")
            .bind(id)
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    pub(crate) async fn sql_rename_organisation(
        &self,
        tenant_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE organisations SET name = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(name)
            .execute(&self.write)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(n == 1)
    }
}

#[async_trait::async_trait]
impl idp_core::ports::ScimStore for This {
    async fn scim_records(&self, tenant_id: &str, client_id: &str, kind: &str) -> Result<Vec<Record>> {
        self.sql_scim_records(tenant_id, client_id, kind).await
    }
    async fn scim_record(&self, tenant_id: &str, kind: &str, id: &str) -> Result<Option<Record>> {
        self.sql_scim_record(tenant_id, kind, id).await
    }
    async fn insert_scim_record(&self, r: &Record) -> Result<bool> {
        self.sql_insert_scim_record(r).await
    }
    async fn update_scim_record(&self, r: &Record) -> Result<bool> {
        self.sql_update_scim_record(r).await
    }
    async fn delete_scim_record(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool> {
        self.sql_delete_scim_record(tenant_id, kind, id).await
    }
    async fn update_account_details(
        &self,
        tenant_id: &str,
        id: &str,
        username: &str,
        name: Option<&str>,
        email: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        self.sql_update_account_details(tenant_id, id, username, name, email, now).await
    }
    async fn rename_organisation(&self, tenant_id: &str, id: &str, name: &str) -> Result<bool> {
        self.sql_rename_organisation(tenant_id, id, name).await
    }
}
