//! Logout everywhere (which clients took part in a session, and the back-channel deliveries),
//! withdrawing grants and deleting an account. The clients of a session are written with its
//! codes (`batch.rs`, `write_pending`) and deleted with the session.

use idp_core::model::{CasPgt, CasTicketUse, Grant, LogoutDelivery, SamlParticipation};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{GrantRow, LogoutDeliveryRow, from_json, to_json};

impl This {
    pub(crate) async fn sql_session_clients(&self, tenant_id: &str, sid: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT client_id FROM session_clients WHERE tenant_id = $1 AND sid = $2 ORDER BY client_id",
        )
        .bind(tenant_id)
        .bind(sid)
        .fetch_all(&self.write)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    pub(crate) async fn sql_cas_session_tickets(
        &self,
        tenant_id: &str,
        sid: &str,
    ) -> Result<Vec<CasTicketUse>> {
        let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT sid, ticket, tenant_id, client_id, service, created_at FROM cas_session_tickets WHERE \
             tenant_id = $1 AND sid = $2 ORDER BY created_at, ticket",
        )
        .bind(tenant_id)
        .bind(sid)
        .fetch_all(&self.write)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(sid, ticket, tenant_id, client_id, service, created_at)| CasTicketUse {
                sid,
                ticket,
                tenant_id,
                client_id,
                service,
                created_at,
            })
            .collect())
    }

    pub(crate) async fn sql_insert_cas_pgt(&self, p: &CasPgt) -> Result<()> {
        sqlx::query(
            "INSERT INTO cas_pgts (id, pgt_hash, tenant_id, sid, authz, pgt_url, proxies, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&p.id)
        .bind(&p.pgt_hash)
        .bind(&p.authz.tenant_id)
        .bind(p.authz.sid.as_deref().unwrap_or_default())
        .bind(to_json(&p.authz)?)
        .bind(&p.pgt_url)
        .bind(to_json(&p.proxies)?)
        .bind(p.created_at)
        .bind(p.expires_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_cas_pgt(
        &self,
        pgt_hash: Option<&str>,
        id: Option<&str>,
    ) -> Result<Option<CasPgt>> {
        type Row = (String, String, String, String, String, i64, i64);
        let (sql, key) = match (pgt_hash, id) {
            (Some(h), _) => (
                "SELECT id, pgt_hash, authz, pgt_url, proxies, created_at, expires_at FROM cas_pgts WHERE \
                 pgt_hash = $1",
                h,
            ),
            (None, Some(id)) => (
                "SELECT id, pgt_hash, authz, pgt_url, proxies, created_at, expires_at FROM cas_pgts WHERE id = $1",
                id,
            ),
            (None, None) => return Ok(None),
        };
        let row: Option<Row> =
            sqlx::query_as(sql).bind(key).fetch_optional(&self.write).await.map_err(map_err)?;
        let Some((id, pgt_hash, authz, pgt_url, proxies, created_at, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(CasPgt {
            id,
            pgt_hash,
            authz: from_json(&authz)?,
            pgt_url,
            proxies: from_json(&proxies)?,
            created_at,
            expires_at,
        }))
    }

    pub(crate) async fn sql_saml_participations(
        &self,
        tenant_id: &str,
        sid: Option<&str>,
        by_name: Option<(&str, &str)>,
    ) -> Result<Vec<SamlParticipation>> {
        type Row = (String, String, String, String, String, String, String, i64);
        let columns = "SELECT sid, client_id, session_index, tenant_id, account_id, name_id, name_id_format, \
                       created_at FROM saml_participations WHERE tenant_id = $1";
        let rows: Vec<Row> = match (sid, by_name) {
            (Some(sid), _) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{columns} AND sid = $2 ORDER BY created_at")))
                    .bind(tenant_id)
                    .bind(sid)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?
            }
            (None, Some((client, name))) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{columns} AND client_id = $2 AND name_id = $3 ORDER BY created_at"
            )))
            .bind(tenant_id)
            .bind(client)
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?,
            (None, None) => vec![],
        };
        Ok(rows
            .into_iter()
            .map(
                |(
                    sid,
                    client_id,
                    session_index,
                    tenant_id,
                    account_id,
                    name_id,
                    name_id_format,
                    created_at,
                )| {
                    SamlParticipation {
                        sid,
                        client_id,
                        session_index,
                        tenant_id,
                        account_id,
                        name_id,
                        name_id_format,
                        created_at,
                    }
                },
            )
            .collect())
    }

    pub(crate) async fn sql_insert_logout_deliveries(&self, ds: &[LogoutDelivery]) -> Result<()> {
        if ds.is_empty() {
            return Ok(());
        }
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO logout_deliveries (id, tenant_id, client_id, account_id, sid, uri, status, \
             attempts, next_attempt_at, leased_until, last_error, created_at, delivered_at, expires_at, \
             session_index, name_id, name_id_format) ",
        );
        q.push_values(ds, |mut b, d| {
            b.push_bind(&d.id)
                .push_bind(&d.tenant_id)
                .push_bind(&d.client_id)
                .push_bind(&d.account_id)
                .push_bind(&d.sid)
                .push_bind(&d.uri)
                .push_bind(&d.status)
                .push_bind(d.attempts)
                .push_bind(d.next_attempt_at)
                .push_bind(0i64)
                .push_bind(&d.last_error)
                .push_bind(d.created_at)
                .push_bind(d.delivered_at)
                .push_bind(d.expires_at)
                .push_bind(&d.session_index)
                .push_bind(d.name_id.as_ref().map(|(v, _)| v))
                .push_bind(d.name_id.as_ref().map(|(_, f)| f));
        });
        q.build().persistent(false).execute(&self.write).await.map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_claim_logout_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>> {
        // a cheap read first: most seconds nothing is due, and the claim is a write
        let due: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM logout_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 AND \
             leased_until <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if due.is_none() {
            return Ok(vec![]);
        }
        // the outer condition is checked again on each row as it is updated, so two
        // nodes claiming at once never both win a row
        let rows: Vec<LogoutDeliveryRow> = sqlx::query_as(concat!(
            "UPDATE logout_deliveries SET leased_until = $2 WHERE status = 'pending' AND next_attempt_at \
             <= $1 AND leased_until <= $1 AND id IN (SELECT id FROM logout_deliveries WHERE status = \
             'pending' AND next_attempt_at <= $1 AND leased_until <= $1 ORDER BY next_attempt_at LIMIT $3) \
             RETURNING ",
            logout_deliveries_columns!()
        ))
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&self.write)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_finish_logout_delivery(&self, d: &LogoutDelivery) -> Result<()> {
        sqlx::query(
            "UPDATE logout_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_error = \
             $5, delivered_at = $6, leased_until = 0 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(&d.last_error)
        .bind(d.delivered_at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_logout_deliveries(
        &self,
        tenant_id: &str,
        client_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>> {
        let rows: Vec<LogoutDeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            logout_deliveries_columns!(),
            " FROM logout_deliveries WHERE tenant_id = $1 AND ($2 IS NULL OR client_id = $2) ORDER BY \
             created_at DESC, id LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_account_grants(&self, tenant_id: &str, account_id: &str) -> Result<Vec<Grant>> {
        let rows: Vec<GrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            grants_columns!(),
            " FROM grants WHERE tenant_id = $1 AND account_id = $2 ORDER BY updated_at DESC, client_id"
        ))
        .bind(tenant_id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_withdraw_grant(
        &self,
        tenant_id: &str,
        account_id: &str,
        client_id: &str,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "DELETE FROM grants WHERE tenant_id = $1 AND account_id = $2 AND client_id = \
                             $3",
        )
        .bind(tenant_id)
        .bind(account_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        // the family rows first (migration 0002: one revoker or rotator at a time); a
        // code not yet redeemed gets its row now, revoked, kept past the code's life
        sqlx::query(
            "INSERT INTO token_families (family_id, revoked, expires_at) SELECT family_id, TRUE, \
             code_expires_at + 3600 FROM grant_families WHERE tenant_id = $1 AND account_id = $2 AND \
             client_id = $3 ON CONFLICT (family_id) DO UPDATE SET revoked = TRUE",
        )
        .bind(tenant_id)
        .bind(account_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO family_revocations (family_id, reason) SELECT family_id, 'withdrawn' FROM \
             grant_families WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3 ON CONFLICT \
             (family_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(account_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // refresh tokens revoked, and a code not yet redeemed used up (redeeming it later
        // is a replay: refused)
        for sql in [
            "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id IN (SELECT family_id FROM \
             grant_families WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3)",
            "UPDATE auth_codes SET consumed = TRUE WHERE consumed = FALSE AND family_id IN (SELECT \
             family_id FROM grant_families WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3)",
        ] {
            sqlx::query(sql)
                .bind(tenant_id)
                .bind(account_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n > 0)
    }

    pub(crate) async fn sql_delete_account(&self, tenant_id: &str, account_id: &str) -> Result<bool> {
        let mut tx = self.write.begin().await.map_err(map_err)?;
        let found: Option<(String,)> =
            sqlx::query_as("SELECT id FROM accounts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if found.is_none() {
            return Ok(false);
        }
        // every token family of the account dies first (as in a withdrawal, for all
        // its clients), then every row that describes the person
        for sql in [
            "INSERT INTO token_families (family_id, revoked, expires_at) SELECT family_id, TRUE, \
             code_expires_at + 3600 FROM grant_families WHERE tenant_id = $1 AND account_id = $2 ON \
             CONFLICT (family_id) DO UPDATE SET revoked = TRUE",
            "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id IN (SELECT family_id FROM \
             grant_families WHERE tenant_id = $1 AND account_id = $2)",
            "UPDATE auth_codes SET consumed = TRUE WHERE consumed = FALSE AND family_id IN (SELECT \
             family_id FROM grant_families WHERE tenant_id = $1 AND account_id = $2)",
            "DELETE FROM grant_families WHERE tenant_id = $1 AND account_id = $2",
            "DELETE FROM grants WHERE tenant_id = $1 AND account_id = $2",
            "DELETE FROM sessions WHERE tenant_id = $1 AND account_id = $2",
            "DELETE FROM device_grants WHERE tenant_id = $1 AND account_id = $2",
            "DELETE FROM memberships WHERE tenant_id = $1 AND account_id = $2",
            "DELETE FROM directory_records WHERE tenant_id = $1 AND target = $2",
            "DELETE FROM scim_resources WHERE tenant_id = $1 AND kind = 'User' AND id = $2",
        ] {
            sqlx::query(sql).bind(tenant_id).bind(account_id).execute(&mut *tx).await.map_err(map_err)?;
        }
        // the rows keyed by the account alone (found in this tenant above)
        for sql in [
            "DELETE FROM totp_credentials WHERE account_id = $1",
            "DELETE FROM recovery_codes WHERE account_id = $1",
            "DELETE FROM webauthn_ceremonies WHERE account_id = $1",
            "DELETE FROM webauthn_credentials WHERE account_id = $1",
            "DELETE FROM real_names WHERE account_id = $1",
            "DELETE FROM upstream_links WHERE account_id = $1",
            "DELETE FROM email_verifications WHERE account_id = $1",
            "DELETE FROM account_profiles WHERE account_id = $1",
            "DELETE FROM accounts WHERE id = $1",
        ] {
            sqlx::query(sql).bind(account_id).execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}
