//! Clients, their secrets, and the replay guard of client assertions.

use idp_core::StoreError;
use idp_core::model::{Client, ClientType};
use idp_core::ports::Result;

use super::super::{Db, This};
use crate::map_err;
use crate::rows::{ClientRow, to_json};

impl This {
    pub(crate) async fn sql_insert_client(&self, c: &Client) -> Result<()> {
        insert_client_row(&self.write, c).await?;
        // After the write: a reader racing it cannot leave the old record cached.
        self.clients.forget(&c.tenant_id, &c.client_id);
        Ok(())
    }

    pub(crate) async fn sql_client(&self, tenant_id: &str, client_id: &str) -> Result<Option<Client>> {
        if let Some(hit) = self.clients.get(tenant_id, client_id) {
            return Ok(hit);
        }
        let row: Option<ClientRow> = sqlx::query_as(concat!(
            "SELECT ",
            clients_columns!(),
            " FROM clients WHERE tenant_id = $1 AND client_id = $2"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let client: Option<Client> = row.map(TryInto::try_into).transpose()?;
        self.clients.put(tenant_id, client_id, client.clone());
        Ok(client)
    }

    pub(crate) async fn sql_list_clients(&self, tenant_id: &str) -> Result<Vec<Client>> {
        let rows: Vec<ClientRow> = sqlx::query_as(concat!(
            "SELECT ",
            clients_columns!(),
            " FROM clients WHERE tenant_id = $1 ORDER BY created_at, client_id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_clients_of_type(&self, tenant_id: &str, kind: ClientType) -> Result<Vec<Client>> {
        let stamp = match self.clients.get_list(tenant_id, kind) {
            Ok(hit) => return Ok(hit.as_ref().clone()),
            Err(stamp) => stamp,
        };
        let rows: Vec<ClientRow> = sqlx::query_as(concat!(
            "SELECT ",
            clients_columns!(),
            " FROM clients WHERE tenant_id = $1 AND client_type = $2 ORDER BY created_at, client_id"
        ))
        .bind(tenant_id)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let list = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<Client>>>()?;
        self.clients.put_list(tenant_id, kind, stamp, std::sync::Arc::new(list.clone()));
        Ok(list)
    }

    pub(crate) async fn sql_set_client_secret(
        &self,
        tenant_id: &str,
        client_id: &str,
        hash: &str,
    ) -> Result<()> {
        let r = sqlx::query("UPDATE clients SET secret_hash = $3 WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id)
            .bind(client_id)
            .bind(hash)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        // After the write: a reader racing it cannot leave the old record cached.
        self.clients.forget(tenant_id, client_id);
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn sql_set_client_disabled(
        &self,
        tenant_id: &str,
        client_id: &str,
        v: bool,
    ) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let r = sqlx::query("UPDATE clients SET disabled = $3 WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id)
            .bind(client_id)
            .bind(v)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if v {
            // every family of the client dies (as in a withdrawal, for every person);
            // the family rows first (migration 0002: one revoker or rotator at a time)
            for sql in [
                "INSERT INTO family_revocations (family_id, reason) SELECT family_id, 'client_disabled' \
                 FROM grant_families WHERE tenant_id = $1 AND client_id = $2 ON CONFLICT (family_id) DO \
                 NOTHING",
                "INSERT INTO token_families (family_id, revoked, expires_at) SELECT family_id, TRUE, \
                 code_expires_at + 3600 FROM grant_families WHERE tenant_id = $1 AND client_id = $2 ON \
                 CONFLICT (family_id) DO UPDATE SET revoked = TRUE",
                "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id IN (SELECT family_id FROM \
                 grant_families WHERE tenant_id = $1 AND client_id = $2)",
                "UPDATE auth_codes SET consumed = TRUE WHERE consumed = FALSE AND family_id IN (SELECT \
                 family_id FROM grant_families WHERE tenant_id = $1 AND client_id = $2)",
            ] {
                sqlx::query(sql).bind(tenant_id).bind(client_id).execute(&mut *tx).await.map_err(map_err)?;
            }
        }
        tx.commit().await.map_err(map_err)?;
        // After the write: a reader racing it cannot leave the old record cached.
        self.clients.forget(tenant_id, client_id);
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn sql_remember_assertion_jti(
        &self,
        tenant_id: &str,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO assertion_jtis (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4) ON \
             CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_bulk_insert_clients(&self, clients: &[Client]) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        for c in clients {
            insert_client_row(&mut *tx, c).await?;
        }
        tx.commit().await.map_err(map_err)?;
        for c in clients {
            self.clients.forget(&c.tenant_id, &c.client_id);
        }
        Ok(())
    }
}

pub(crate) async fn insert_client_row<'e, E>(executor: E, c: &Client) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    sqlx::query(
        "INSERT INTO clients (tenant_id, client_id, name, client_type, secret_hash, settings, disabled, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.tenant_id)
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(c.client_type.as_str())
    .bind(&c.secret_hash)
    .bind(to_json(&c.settings)?)
    .bind(c.disabled)
    .bind(c.created_at)
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(())
}
