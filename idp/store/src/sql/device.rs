//! Kiosk sign-ins (RFC 8628 device grants).

use idp_core::model::DeviceGrant;
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::DeviceGrantRow;

impl This {
    pub(crate) async fn sql_insert_device_grant(&self, g: &DeviceGrant) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO device_grants (device_hash, tenant_id, client_id, user_code, scope, status, \
             account_id, interval_seconds, last_poll_at, expires_at, created_at) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant_id, user_code) DO NOTHING",
        )
        .bind(&g.device_hash)
        .bind(&g.tenant_id)
        .bind(&g.client_id)
        .bind(&g.user_code)
        .bind(g.scope.join(" "))
        .bind(&g.status)
        .bind(&g.account_id)
        .bind(g.interval)
        .bind(g.last_poll_at)
        .bind(g.expires_at)
        .bind(g.created_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_device_grant(&self, device_hash: &str) -> Result<Option<DeviceGrant>> {
        let row: Option<DeviceGrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            device_grants_columns!(),
            " FROM device_grants WHERE device_hash = $1"
        ))
        .bind(device_hash)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn sql_device_grant_by_user_code(
        &self,
        tenant_id: &str,
        user_code: &str,
    ) -> Result<Option<DeviceGrant>> {
        let row: Option<DeviceGrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            device_grants_columns!(),
            " FROM device_grants WHERE tenant_id = $1 AND user_code = $2"
        ))
        .bind(tenant_id)
        .bind(user_code)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn sql_decide_device_grant(
        &self,
        device_hash: &str,
        status: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE device_grants SET status = $2, account_id = $3 WHERE device_hash = $1 AND status = \
             'pending' AND expires_at > $4",
        )
        .bind(device_hash)
        .bind(status)
        .bind(account_id)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn sql_poll_device_grant(
        &self,
        device_hash: &str,
        now: i64,
        interval: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE device_grants SET last_poll_at = $2, interval_seconds = $3 WHERE device_hash = $1",
        )
        .bind(device_hash)
        .bind(now)
        .bind(interval)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
