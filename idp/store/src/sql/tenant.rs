//! Tenants and their signing keys.

use idp_core::model::{SigningAlg, SigningKeyRecord, Tenant, TenantSettings};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{KeyRow, TenantRow, to_json};

impl This {
    pub(crate) async fn sql_insert_tenant(&self, t: &Tenant) -> Result<()> {
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, created_at, disabled, settings) VALUES ($1, $2, $3, $4, \
             $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.slug)
        .bind(&t.name)
        .bind(t.created_at)
        .bind(t.disabled)
        .bind(to_json(&t.settings)?)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        let row: Option<TenantRow> =
            sqlx::query_as(concat!("SELECT ", tenants_columns!(), " FROM tenants WHERE slug = $1"))
                .bind(slug)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<TenantRow> =
            sqlx::query_as(concat!("SELECT ", tenants_columns!(), " FROM tenants ORDER BY created_at, slug"))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_set_tenant_settings(
        &self,
        tenant_id: &str,
        settings: &TenantSettings,
    ) -> Result<()> {
        sqlx::query("UPDATE tenants SET settings = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(to_json(settings)?)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_set_tenant_disabled(&self, tenant_id: &str, disabled: bool) -> Result<()> {
        sqlx::query("UPDATE tenants SET disabled = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(disabled)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, tenant_id, alg, sealed_private_key, created_at, active, \
             activates_at, retires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&k.kid)
        .bind(&k.tenant_id)
        .bind(k.alg.as_str())
        .bind(&k.sealed_private_key)
        .bind(k.created_at)
        .bind(k.active)
        .bind(k.activates_at)
        .bind(k.retires_at)
        .bind(k.revoked_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>> {
        let rows: Vec<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            signing_keys_columns!(),
            " FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_retire_signing_keys(
        &self,
        tenant_id: &str,
        alg: SigningAlg,
        keep_kid: &str,
        retires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE signing_keys SET retires_at = $4 WHERE tenant_id = $1 AND alg = $2 AND kid <> $3 AND \
             retires_at IS NULL AND activates_at <= (SELECT activates_at FROM signing_keys WHERE kid = \
             $3)",
        )
        .bind(tenant_id)
        .bind(alg.as_str())
        .bind(keep_kid)
        .bind(retires_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_revoke_signing_key(&self, tenant_id: &str, kid: &str, at: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE signing_keys SET revoked_at = $3 WHERE tenant_id = $1 AND kid = $2 AND revoked_at IS \
             NULL",
        )
        .bind(tenant_id)
        .bind(kid)
        .bind(at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }
}
