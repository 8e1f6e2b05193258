//! Sealed values, read and replaced for re-sealing (`idp_core::ports::SealedColumn`). The
//! statements are written out per column, so no SQL is assembled from strings.

use idp_core::ports::{Result, SealedColumn};

use super::super::This;
use crate::map_err;

impl This {
    pub(crate) async fn sql_sealed_values(
        &self,
        tenant_id: &str,
        column: SealedColumn,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let sql = match column {
            SealedColumn::SigningKey => {
                "SELECT kid, sealed_private_key FROM signing_keys WHERE tenant_id = $1 AND kid > $2 ORDER BY kid \
                 LIMIT $3"
            }
            SealedColumn::TotpSeed => {
                "SELECT account_id, sealed_secret FROM totp_credentials WHERE tenant_id = $1 AND account_id > $2 \
                 ORDER BY account_id LIMIT $3"
            }
            SealedColumn::IdNumber => {
                "SELECT account_id, id_sealed FROM real_names WHERE tenant_id = $1 AND account_id > $2 ORDER BY \
                 account_id LIMIT $3"
            }
            SealedColumn::UpstreamSecret => {
                "SELECT id, secret_sealed FROM upstreams WHERE tenant_id = $1 AND id > $2 AND secret_sealed IS NOT \
                 NULL ORDER BY id LIMIT $3"
            }
        };
        sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    pub(crate) async fn sql_replace_sealed(
        &self,
        tenant_id: &str,
        column: SealedColumn,
        key: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool> {
        let sql = match column {
            SealedColumn::SigningKey => {
                "UPDATE signing_keys SET sealed_private_key = $4 WHERE tenant_id = $1 AND kid = $2 AND \
                 sealed_private_key = $3"
            }
            SealedColumn::TotpSeed => {
                "UPDATE totp_credentials SET sealed_secret = $4 WHERE tenant_id = $1 AND account_id = $2 AND \
                 sealed_secret = $3"
            }
            SealedColumn::IdNumber => {
                "UPDATE real_names SET id_sealed = $4 WHERE tenant_id = $1 AND account_id = $2 AND id_sealed = $3"
            }
            SealedColumn::UpstreamSecret => {
                "UPDATE upstreams SET secret_sealed = $4 WHERE tenant_id = $1 AND id = $2 AND secret_sealed = $3"
            }
        };
        let done = sqlx::query(sql)
            .bind(tenant_id)
            .bind(key)
            .bind(old)
            .bind(new)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
