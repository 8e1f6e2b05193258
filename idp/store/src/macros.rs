//! The one body of SQL behind both backends (see the crate docs). `impl_store!(Type)` expands
//! the `Store` implementation for a type with a `pool` (reads) and a `write` pool (writes and
//! transactions) of either backend.

macro_rules! impl_store {
    ($ty:ty, $crate_db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl idp_core::Store for $ty {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
                Ok(())
            }

            fn pool_usage(&self) -> Vec<(&'static str, u32, u32, u32)> {
                let usage = |p: &sqlx::Pool<$crate_db>| (p.size(), p.num_idle() as u32, p.options().get_max_connections());
                // SQLite writes through a one-connection pool of their own; on PostgreSQL both
                // names are the one shared pool
                let ((rs, ri, rm), (ws, wi, wm)) = (usage(&self.pool), usage(&self.write));
                vec![("read", rs, ri, rm), ("write", ws, wi, wm)]
            }

            async fn schema_version(&self) -> Result<i64> {
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_one(&self.pool).await.map_err(map_err)
            }

            async fn insert_tenant(&self, t: &Tenant) -> Result<()> {
                sqlx::query("INSERT INTO tenants (id, slug, name, created_at, disabled, settings) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&t.id).bind(&t.slug).bind(&t.name).bind(t.created_at).bind(t.disabled).bind(to_json(&t.settings)?)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
                let row: Option<TenantRow> = sqlx::query_as(concat!("SELECT ", tenants_columns!(), " FROM tenants WHERE slug = $1"))
                    .bind(slug).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_tenants(&self) -> Result<Vec<Tenant>> {
                let rows: Vec<TenantRow> = sqlx::query_as(concat!("SELECT ", tenants_columns!(), " FROM tenants ORDER BY created_at, slug"))
                    .fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_tenant_settings(&self, tenant_id: &str, settings: &TenantSettings) -> Result<()> {
                sqlx::query("UPDATE tenants SET settings = $2 WHERE id = $1")
                    .bind(tenant_id).bind(to_json(settings)?).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn set_tenant_disabled(&self, tenant_id: &str, disabled: bool) -> Result<()> {
                sqlx::query("UPDATE tenants SET disabled = $2 WHERE id = $1")
                    .bind(tenant_id).bind(disabled).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn set_account_email(&self, tenant_id: &str, id: &str, email: &str, verified_at: i64) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                let n = sqlx::query("UPDATE accounts SET email = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(id).bind(email).bind(verified_at).execute(&mut *tx).await.map_err(map_err)?.rows_affected();
                if n == 1 {
                    sqlx::query("INSERT INTO email_verifications (account_id, email, verified_at) VALUES ($1, $2, $3) \
                                 ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at")
                        .bind(id).bind(email).bind(verified_at).execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn set_account_phone(&self, tenant_id: &str, id: &str, phone: &str, verified_at: i64) -> Result<()> {
                sqlx::query("UPDATE accounts SET phone = $3, phone_verified_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(id).bind(phone).bind(verified_at).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()> {
                sqlx::query("INSERT INTO signing_keys (kid, tenant_id, alg, sealed_private_key, created_at, active, activates_at, retires_at, revoked_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&k.kid).bind(&k.tenant_id).bind(k.alg.as_str()).bind(&k.sealed_private_key)
                    .bind(k.created_at).bind(k.active).bind(k.activates_at).bind(k.retires_at).bind(k.revoked_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>> {
                let rows: Vec<KeyRow> = sqlx::query_as(concat!("SELECT ", signing_keys_columns!(), " FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid"))
                    .bind(tenant_id).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn retire_signing_keys(&self, tenant_id: &str, alg: SigningAlg, keep_kid: &str, retires_at: i64) -> Result<()> {
                sqlx::query("UPDATE signing_keys SET retires_at = $4 WHERE tenant_id = $1 AND alg = $2 AND kid <> $3 \
                             AND retires_at IS NULL AND activates_at <= (SELECT activates_at FROM signing_keys WHERE kid = $3)")
                    .bind(tenant_id).bind(alg.as_str()).bind(keep_kid).bind(retires_at).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn revoke_signing_key(&self, tenant_id: &str, kid: &str, at: i64) -> Result<bool> {
                let r = sqlx::query("UPDATE signing_keys SET revoked_at = $3 WHERE tenant_id = $1 AND kid = $2 AND revoked_at IS NULL")
                    .bind(tenant_id).bind(kid).bind(at).execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_interaction_context(&self, id: &str, context: &str) -> Result<()> {
                sqlx::query("UPDATE interactions SET act_context = $2 WHERE id = $1")
                    .bind(id).bind(context).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn set_interaction_pending(&self, id: &str, pending: Option<&PendingSignIn>) -> Result<()> {
                let json = pending.map(to_json).transpose()?;
                sqlx::query("UPDATE interactions SET pending = $2 WHERE id = $1")
                    .bind(id).bind(json).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn set_session_context(&self, tenant_id: &str, sid: &str, context: Option<&str>) -> Result<()> {
                sqlx::query("UPDATE sessions SET act_context = $3 WHERE tenant_id = $1 AND sid = $2")
                    .bind(tenant_id).bind(sid).bind(context).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn upgrade_session(&self, tenant_id: &str, sid: &str, amr: &[String], acr: &str) -> Result<()> {
                sqlx::query("UPDATE sessions SET amr = $3, acr = $4 WHERE tenant_id = $1 AND sid = $2")
                    .bind(tenant_id).bind(sid).bind(to_json(&amr)?).bind(acr).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn begin_totp(&self, c: &TotpCredential) -> Result<bool> {
                let r = sqlx::query("INSERT INTO totp_credentials (account_id, tenant_id, sealed_secret, confirmed, last_step, created_at) \
                                     VALUES ($1, $2, $3, FALSE, NULL, $4) \
                                     ON CONFLICT (account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, last_step = NULL, \
                                     created_at = excluded.created_at WHERE totp_credentials.confirmed = FALSE")
                    .bind(&c.account_id).bind(&c.tenant_id).bind(&c.sealed_secret).bind(c.created_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn totp(&self, account_id: &str) -> Result<Option<TotpCredential>> {
                let row: Option<TotpRow> = sqlx::query_as(concat!("SELECT ", totp_credentials_columns!(), " FROM totp_credentials WHERE account_id = $1"))
                    .bind(account_id).fetch_optional(&self.pool).await.map_err(map_err)?;
                Ok(row.map(Into::into))
            }

            async fn confirm_totp(&self, account_id: &str, step: i64) -> Result<bool> {
                let r = sqlx::query("UPDATE totp_credentials SET confirmed = TRUE, last_step = $2 WHERE account_id = $1 AND confirmed = FALSE")
                    .bind(account_id).bind(step).execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn record_totp_step(&self, account_id: &str, step: i64) -> Result<bool> {
                let r = sqlx::query("UPDATE totp_credentials SET last_step = $2 WHERE account_id = $1 AND confirmed = TRUE \
                                     AND (last_step IS NULL OR last_step < $2)")
                    .bind(account_id).bind(step).execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_totp(&self, account_id: &str) -> Result<()> {
                sqlx::query("DELETE FROM totp_credentials WHERE account_id = $1").bind(account_id).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn replace_recovery_codes(&self, account_id: &str, hashes: &[String]) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1").bind(account_id).execute(&mut *tx).await.map_err(map_err)?;
                for h in hashes {
                    sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                        .bind(account_id).bind(h).execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn use_recovery_code(&self, account_id: &str, hash: &str, now: i64) -> Result<bool> {
                let r = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL")
                    .bind(account_id).bind(hash).bind(now).execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, account_id: &str) -> Result<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                    .bind(account_id).fetch_one(&self.pool).await.map_err(map_err)
            }

            async fn add_webauthn_credential(&self, c: &WebauthnCredential) -> Result<bool> {
                let r = sqlx::query("INSERT INTO webauthn_credentials (id, tenant_id, account_id, cred_id, kind, name, credential, \
                                     backup_eligible, created_at, last_used_at, flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                                     ON CONFLICT (tenant_id, cred_id) DO NOTHING")
                    .bind(&c.id).bind(&c.tenant_id).bind(&c.account_id).bind(&c.cred_id).bind(&c.kind).bind(&c.name)
                    .bind(&c.credential).bind(c.backup_eligible).bind(c.created_at).bind(c.last_used_at).bind(c.flagged_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn webauthn_credentials(&self, account_id: &str) -> Result<Vec<WebauthnCredential>> {
                let rows: Vec<WebauthnRow> = sqlx::query_as(concat!("SELECT ", webauthn_credentials_columns!(), " FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id"))
                    .bind(account_id).fetch_all(&self.pool).await.map_err(map_err)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn webauthn_credential(&self, tenant_id: &str, cred_id: &str) -> Result<Option<WebauthnCredential>> {
                let row: Option<WebauthnRow> = sqlx::query_as(concat!("SELECT ", webauthn_credentials_columns!(), " FROM webauthn_credentials WHERE tenant_id = $1 AND cred_id = $2"))
                    .bind(tenant_id).bind(cred_id).fetch_optional(&self.pool).await.map_err(map_err)?;
                Ok(row.map(Into::into))
            }

            async fn use_webauthn_credential(&self, id: &str, now: i64, credential: Option<&str>) -> Result<()> {
                sqlx::query("UPDATE webauthn_credentials SET last_used_at = $2, credential = COALESCE($3, credential) WHERE id = $1")
                    .bind(id).bind(now).bind(credential).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn flag_webauthn_credential(&self, id: &str, now: i64) -> Result<()> {
                sqlx::query("UPDATE webauthn_credentials SET flagged_at = COALESCE(flagged_at, $2) WHERE id = $1")
                    .bind(id).bind(now).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn delete_webauthn_credential(&self, account_id: &str, id: &str) -> Result<bool> {
                let r = sqlx::query("DELETE FROM webauthn_credentials WHERE account_id = $1 AND id = $2")
                    .bind(account_id).bind(id).execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn put_ceremony(&self, c: &Ceremony) -> Result<()> {
                sqlx::query("INSERT INTO webauthn_ceremonies (key, tenant_id, account_id, state, expires_at) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (key) DO UPDATE SET tenant_id = excluded.tenant_id, account_id = excluded.account_id, \
                             state = excluded.state, expires_at = excluded.expires_at")
                    .bind(&c.key).bind(&c.tenant_id).bind(&c.account_id).bind(&c.state).bind(c.expires_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn take_ceremony(&self, key: &str, now: i64) -> Result<Option<Ceremony>> {
                let row: Option<CeremonyRow> = sqlx::query_as(concat!("DELETE FROM webauthn_ceremonies WHERE key = $1 RETURNING ", webauthn_ceremonies_columns!()))
                    .bind(key).fetch_optional(&self.write).await.map_err(map_err)?;
                Ok(row.map(Ceremony::from).filter(|c| c.expires_at > now))
            }

            // account administration: SQL in `admin_sql.rs`
            async fn search_accounts(&self, tenant_id: &str, query: &str, limit: i64) -> Result<Vec<Account>> { self.sql_search_accounts(tenant_id, query, limit).await }
            async fn account_sessions(&self, tenant_id: &str, account_id: &str, now: i64) -> Result<Vec<Session>> { self.sql_account_sessions(tenant_id, account_id, now).await }
            async fn end_account_sessions(&self, tenant_id: &str, account_id: &str) -> Result<u64> { self.sql_end_account_sessions(tenant_id, account_id).await }
            async fn hourly_counts(&self, tenant_id: &str, kinds: &[&str], since: i64) -> Result<Vec<(i64, String, i64)>> { self.sql_hourly_counts(tenant_id, kinds, since).await }
            async fn live_sessions(&self, tenant_id: &str, now: i64) -> Result<i64> { self.sql_live_sessions(tenant_id, now).await }
            async fn update_client(&self, tenant_id: &str, client_id: &str, name: &str, settings: &ClientSettings, secret_hash: Option<&str>) -> Result<()> { self.sql_update_client(tenant_id, client_id, name, settings, secret_hash).await }

            // kiosk sign-ins: SQL in `device_sql.rs`
            async fn insert_device_grant(&self, g: &DeviceGrant) -> Result<bool> { self.sql_insert_device_grant(g).await }
            async fn device_grant(&self, device_hash: &str) -> Result<Option<DeviceGrant>> { self.sql_device_grant(device_hash).await }
            async fn device_grant_by_user_code(&self, tenant_id: &str, user_code: &str) -> Result<Option<DeviceGrant>> { self.sql_device_grant_by_user_code(tenant_id, user_code).await }
            async fn decide_device_grant(&self, device_hash: &str, status: &str, account_id: &str, now: i64) -> Result<bool> { self.sql_decide_device_grant(device_hash, status, account_id, now).await }
            async fn poll_device_grant(&self, device_hash: &str, now: i64, interval: i64) -> Result<()> { self.sql_poll_device_grant(device_hash, now, interval).await }

            // logout everywhere: SQL in `logout_sql.rs`
            async fn session_clients(&self, tenant_id: &str, sid: &str) -> Result<Vec<String>> { self.sql_session_clients(tenant_id, sid).await }
            async fn insert_logout_deliveries(&self, ds: &[LogoutDelivery]) -> Result<()> { self.sql_insert_logout_deliveries(ds).await }
            async fn claim_logout_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<LogoutDelivery>> { self.sql_claim_logout_deliveries(now, lease_until, limit).await }
            async fn finish_logout_delivery(&self, d: &LogoutDelivery) -> Result<()> { self.sql_finish_logout_delivery(d).await }
            async fn logout_deliveries(&self, tenant_id: &str, client_id: Option<&str>, limit: i64) -> Result<Vec<LogoutDelivery>> { self.sql_logout_deliveries(tenant_id, client_id, limit).await }
            async fn account_grants(&self, tenant_id: &str, account_id: &str) -> Result<Vec<Grant>> { self.sql_account_grants(tenant_id, account_id).await }
            async fn delete_account(&self, tenant_id: &str, account_id: &str) -> Result<bool> { self.sql_delete_account(tenant_id, account_id).await }
            async fn withdraw_grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<bool> { self.sql_withdraw_grant(tenant_id, account_id, client_id).await }

            // the organisation tree, memberships and real names: SQL in `identity_sql.rs`
            async fn insert_organisation(&self, o: &Organisation) -> Result<()> { self.sql_insert_organisation(o).await }
            async fn organisation(&self, tenant_id: &str, id: &str) -> Result<Option<Organisation>> { self.sql_organisation(tenant_id, id).await }
            async fn organisations_under(&self, tenant_id: &str, path: &str) -> Result<Vec<Organisation>> { self.sql_organisations_under(tenant_id, path).await }
            async fn insert_membership(&self, m: &Membership) -> Result<()> { self.sql_insert_membership(m).await }
            async fn membership(&self, tenant_id: &str, id: &str) -> Result<Option<Membership>> { self.sql_membership(tenant_id, id).await }
            async fn organisation_by_uscc(&self, tenant_id: &str, uscc: &str) -> Result<Option<Organisation>> { self.sql_organisation_by_uscc(tenant_id, uscc).await }
            async fn set_representative(&self, tenant_id: &str, organisation_id: &str, name: &str, id_hash: &str) -> Result<()> { self.sql_set_representative(tenant_id, organisation_id, name, id_hash).await }
            async fn members_of(&self, tenant_id: &str, organisation_id: &str) -> Result<Vec<Membership>> { self.sql_members_of(tenant_id, organisation_id).await }
            async fn confirm_membership(&self, tenant_id: &str, id: &str, account_id: &str, now: i64) -> Result<bool> { self.sql_confirm_membership(tenant_id, id, account_id, now).await }
            async fn end_enterprise_roles(&self, tenant_id: &str, organisation_id: &str, now: i64) -> Result<u64> { self.sql_end_enterprise_roles(tenant_id, organisation_id, now).await }
            async fn memberships(&self, account_id: &str) -> Result<Vec<Membership>> { self.sql_memberships(account_id).await }
            async fn revoke_membership(&self, tenant_id: &str, id: &str, now: i64) -> Result<Option<Membership>> { self.sql_revoke_membership(tenant_id, id, now).await }
            async fn real_name(&self, account_id: &str) -> Result<Option<RealName>> { self.sql_real_name(account_id).await }
            async fn put_real_name(&self, r: &RealName) -> Result<bool> { self.sql_put_real_name(r).await }
            async fn real_name_by_hash(&self, tenant_id: &str, id_hash: &str) -> Result<Option<RealName>> { self.sql_real_name_by_hash(tenant_id, id_hash).await }

            async fn put_sms_code(&self, c: &SmsCode) -> Result<()> {
                sqlx::query("INSERT INTO sms_codes (tenant_id, phone, purpose, code_mac, attempts, expires_at, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, phone, purpose) DO UPDATE SET \
                             code_mac = excluded.code_mac, attempts = excluded.attempts, expires_at = excluded.expires_at, \
                             created_at = excluded.created_at")
                    .bind(&c.tenant_id).bind(&c.phone).bind(&c.purpose).bind(&c.code_mac).bind(c.attempts)
                    .bind(c.expires_at).bind(c.created_at).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn take_sms_code(&self, tenant_id: &str, phone: &str, purpose: &str, code_mac: &str, now: i64, max_attempts: i64) -> Result<SmsCheck> {
                let taken = sqlx::query("DELETE FROM sms_codes WHERE tenant_id = $1 AND phone = $2 AND purpose = $3 \
                                         AND code_mac = $4 AND expires_at > $5 AND attempts < $6")
                    .bind(tenant_id).bind(phone).bind(purpose).bind(code_mac).bind(now).bind(max_attempts)
                    .execute(&self.write).await.map_err(map_err)?.rows_affected();
                if taken == 1 {
                    return Ok(SmsCheck::Accepted);
                }
                let tried: Option<(i64, i64)> = sqlx::query_as("UPDATE sms_codes SET attempts = attempts + 1 \
                                         WHERE tenant_id = $1 AND phone = $2 AND purpose = $3 RETURNING attempts, expires_at")
                    .bind(tenant_id).bind(phone).bind(purpose).fetch_optional(&self.write).await.map_err(map_err)?;
                Ok(match tried {
                    Some((attempts, expires_at)) if expires_at > now && attempts < max_attempts => SmsCheck::Wrong(max_attempts - attempts),
                    _ => SmsCheck::Gone,
                })
            }

            async fn claim_job(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
                let won: Option<(String,)> = sqlx::query_as(
                    "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                     WHERE job_leases.until <= $4 OR job_leases.holder = excluded.holder RETURNING holder",
                )
                .bind(name).bind(holder).bind(until).bind(now).fetch_optional(&self.write).await.map_err(map_err)?;
                Ok(won.is_some())
            }

            async fn count_hit(&self, key: &str, window_start: i64) -> Result<i64> {
                sqlx::query_scalar("INSERT INTO rate_limit_windows (key, window_start, hits) VALUES ($1, $2, 1) \
                                    ON CONFLICT (key) DO UPDATE SET \
                                    hits = CASE WHEN rate_limit_windows.window_start = excluded.window_start THEN rate_limit_windows.hits + 1 ELSE 1 END, \
                                    window_start = excluded.window_start \
                                    RETURNING hits")
                    .bind(key).bind(window_start).fetch_one(&self.write).await.map_err(map_err)
            }

            async fn bump_change(&self, name: &str) -> Result<()> {
                sqlx::query("INSERT INTO change_counters (name, version) VALUES ($1, 1) \
                             ON CONFLICT (name) DO UPDATE SET version = change_counters.version + 1")
                    .bind(name).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn change_version(&self, name: &str) -> Result<i64> {
                let v: Option<i64> = sqlx::query_scalar("SELECT version FROM change_counters WHERE name = $1")
                    .bind(name).fetch_optional(&self.pool).await.map_err(map_err)?;
                Ok(v.unwrap_or(0))
            }

            async fn insert_client(&self, c: &Client) -> Result<()> {
                insert_client_row(&self.write, c).await?;
                // After the write: a reader racing it cannot leave the old record cached.
                self.clients.forget(&c.tenant_id, &c.client_id);
                Ok(())
            }

            async fn client(&self, tenant_id: &str, client_id: &str) -> Result<Option<Client>> {
                if let Some(hit) = self.clients.get(tenant_id, client_id) {
                    return Ok(hit);
                }
                let row: Option<ClientRow> = sqlx::query_as(concat!("SELECT ", clients_columns!(), " FROM clients WHERE tenant_id = $1 AND client_id = $2"))
                    .bind(tenant_id).bind(client_id).fetch_optional(&self.pool).await.map_err(map_err)?;
                let client: Option<Client> = row.map(TryInto::try_into).transpose()?;
                self.clients.put(tenant_id, client_id, client.clone());
                Ok(client)
            }

            async fn list_clients(&self, tenant_id: &str) -> Result<Vec<Client>> {
                let rows: Vec<ClientRow> = sqlx::query_as(concat!("SELECT ", clients_columns!(), " FROM clients WHERE tenant_id = $1 ORDER BY created_at, client_id"))
                    .bind(tenant_id).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_client_secret(&self, tenant_id: &str, client_id: &str, hash: &str) -> Result<()> {
                let r = sqlx::query("UPDATE clients SET secret_hash = $3 WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant_id).bind(client_id).bind(hash).execute(&self.write).await.map_err(map_err)?;
                // After the write: a reader racing it cannot leave the old record cached.
                self.clients.forget(tenant_id, client_id);
                if r.rows_affected() == 0 { return Err(StoreError::NotFound); }
                Ok(())
            }

            async fn set_client_disabled(&self, tenant_id: &str, client_id: &str, v: bool) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                let r = sqlx::query("UPDATE clients SET disabled = $3 WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant_id).bind(client_id).bind(v).execute(&mut *tx).await.map_err(map_err)?;
                if v {
                    // every family of the client dies (as in a withdrawal, for every person);
                    // the family rows first (migration 0002: one revoker or rotator at a time)
                    for sql in [
                        "INSERT INTO family_revocations (family_id, reason) \
                         SELECT family_id, 'client_disabled' FROM grant_families WHERE tenant_id = $1 AND client_id = $2 \
                         ON CONFLICT (family_id) DO NOTHING",
                        "INSERT INTO token_families (family_id, revoked, expires_at) \
                         SELECT family_id, TRUE, code_expires_at + 3600 FROM grant_families WHERE tenant_id = $1 AND client_id = $2 \
                         ON CONFLICT (family_id) DO UPDATE SET revoked = TRUE",
                        "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id IN \
                         (SELECT family_id FROM grant_families WHERE tenant_id = $1 AND client_id = $2)",
                        "UPDATE auth_codes SET consumed = TRUE WHERE consumed = FALSE AND family_id IN \
                         (SELECT family_id FROM grant_families WHERE tenant_id = $1 AND client_id = $2)",
                    ] {
                        sqlx::query(sql).bind(tenant_id).bind(client_id).execute(&mut *tx).await.map_err(map_err)?;
                    }
                }
                tx.commit().await.map_err(map_err)?;
                // After the write: a reader racing it cannot leave the old record cached.
                self.clients.forget(tenant_id, client_id);
                if r.rows_affected() == 0 { return Err(StoreError::NotFound); }
                Ok(())
            }

            async fn remember_assertion_jti(&self, tenant_id: &str, client_id: &str, jti: &str, expires_at: i64) -> Result<bool> {
                let r = sqlx::query("INSERT INTO assertion_jtis (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                    .bind(tenant_id).bind(client_id).bind(jti).bind(expires_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_account(&self, a: &Account) -> Result<()> {
                insert_account_row(&self.write, a).await
            }

            async fn bulk_insert_accounts(&self, accounts: &[Account]) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                for a in accounts {
                    insert_account_row(&mut *tx, a).await?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn bulk_insert_clients(&self, clients: &[Client]) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                for c in clients {
                    insert_client_row(&mut *tx, c).await?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn account(&self, tenant_id: &str, id: &str) -> Result<Option<Account>> {
                let row: Option<AccountRow> = sqlx::query_as(concat!("SELECT ", accounts_columns!(), ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 AND id = $2"))
                    .bind(tenant_id).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn account_by_login(&self, tenant_id: &str, login: &str) -> Result<Option<Account>> {
                let row: Option<AccountRow> = sqlx::query_as(concat!("SELECT ", accounts_columns!(), ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 AND (username = $2 OR phone = $2) ORDER BY username = $2 DESC LIMIT 1"))
                    .bind(tenant_id).bind(login).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_accounts(&self, tenant_id: &str) -> Result<Vec<Account>> {
                let rows: Vec<AccountRow> = sqlx::query_as(concat!("SELECT ", accounts_columns!(), ", (SELECT v.verified_at FROM email_verifications v WHERE v.account_id = accounts.id AND v.email = accounts.email) AS email_verified_at FROM accounts WHERE tenant_id = $1 ORDER BY username"))
                    .bind(tenant_id).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_password_hash(&self, tenant_id: &str, id: &str, hash: &str, now: i64) -> Result<()> {
                let r = sqlx::query("UPDATE accounts SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(id).bind(hash).bind(now).execute(&self.write).await.map_err(map_err)?;
                if r.rows_affected() == 0 { return Err(StoreError::NotFound); }
                Ok(())
            }

            async fn set_account_disabled(&self, tenant_id: &str, id: &str, v: bool, now: i64) -> Result<()> {
                let r = sqlx::query("UPDATE accounts SET disabled = $3, failed_logins = 0, locked_until = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(id).bind(v).bind(now).execute(&self.write).await.map_err(map_err)?;
                if r.rows_affected() == 0 { return Err(StoreError::NotFound); }
                Ok(())
            }

            async fn record_login_failure(&self, tenant_id: &str, id: &str, threshold: i64, lock_until: i64) -> Result<bool> {
                let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "UPDATE accounts SET \
                       locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE locked_until END, \
                       failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END \
                     WHERE tenant_id = $1 AND id = $2 RETURNING failed_logins, locked_until")
                    .bind(tenant_id).bind(id).bind(threshold).bind(lock_until)
                    .fetch_optional(&self.write).await.map_err(map_err)?;
                // The counter is 0 after this update only when this very failure reached the threshold.
                Ok(matches!(row, Some((0, Some(t))) if t == lock_until))
            }

            async fn reset_login_failures(&self, tenant_id: &str, id: &str) -> Result<()> {
                sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2 AND (failed_logins <> 0 OR locked_until IS NOT NULL)")
                    .bind(tenant_id).bind(id).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn insert_session(&self, s: &Session) -> Result<()> {
                self.batch.submit(crate::batch::Item::Session(s.clone())).await.map(drop)
            }

            async fn session(&self, tenant_id: &str, id_hash: &str) -> Result<Option<Session>> {
                let row: Option<SessionRow> = sqlx::query_as(concat!("SELECT ", sessions_columns!(), " FROM sessions WHERE tenant_id = $1 AND id_hash = $2"))
                    .bind(tenant_id).bind(id_hash).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
                sqlx::query("UPDATE sessions SET last_seen = $2 WHERE id_hash = $1")
                    .bind(id_hash).bind(now).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn renew_session(&self, s: &Session) -> Result<bool> {
                let n = sqlx::query("UPDATE sessions SET id_hash = $3, auth_time = $4, amr = $5, acr = $6, min_acr = $7, act_context = NULL, \
                                     created_at = $8, last_seen = $8, expires_at = $9 WHERE tenant_id = $1 AND sid = $2 AND account_id = $10")
                    .bind(&s.tenant_id).bind(&s.sid).bind(&s.id_hash).bind(s.auth_time).bind(to_json(&s.amr)?).bind(&s.acr)
                    .bind(&s.min_acr).bind(s.created_at).bind(s.expires_at).bind(&s.account_id)
                    .execute(&self.write).await.map_err(map_err)?.rows_affected();
                Ok(n == 1)
            }

            async fn delete_session(&self, tenant_id: &str, sid: &str) -> Result<()> {
                // its clients (`session_clients`) are purged once no session has the sid: signing
                // in again as the same person continues a session under its sid
                sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND sid = $2")
                    .bind(tenant_id).bind(sid).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn insert_interaction(&self, i: &Interaction) -> Result<()> {
                self.batch.submit(crate::batch::Item::Interaction(i.clone())).await.map(drop)
            }

            async fn interaction(&self, tenant_id: &str, id: &str) -> Result<Option<Interaction>> {
                let row: Option<InteractionRow> = sqlx::query_as(concat!("SELECT ", interactions_columns!(), " FROM interactions WHERE tenant_id = $1 AND id = $2"))
                    .bind(tenant_id).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_interaction_session(&self, id: &str, sid: &str) -> Result<()> {
                sqlx::query("UPDATE interactions SET session_sid = $2 WHERE id = $1")
                    .bind(id).bind(sid).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn delete_interaction(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM interactions WHERE id = $1")
                    .bind(id).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<Option<Grant>> {
                let row: Option<GrantRow> = sqlx::query_as(concat!("SELECT ", grants_columns!(), " FROM grants WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3"))
                    .bind(tenant_id).bind(account_id).bind(client_id).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn upsert_grant(&self, g: &Grant) -> Result<()> {
                sqlx::query("INSERT INTO grants (tenant_id, account_id, client_id, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (tenant_id, account_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at")
                    .bind(&g.tenant_id).bind(&g.account_id).bind(&g.client_id).bind(to_json(&g.scopes)?)
                    .bind(g.created_at).bind(g.updated_at)
                    .execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn insert_code(&self, c: &AuthCode) -> Result<()> {
                self.batch.submit(crate::batch::Item::Code(c.clone())).await.map(drop)
            }

            async fn code(&self, code_hash: &str) -> Result<Option<AuthCode>> {
                let row: Option<CodeRow> = sqlx::query_as(concat!("SELECT ", auth_codes_columns!(), " FROM auth_codes WHERE code_hash = $1"))
                    .bind(code_hash).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn redeem_code<'a>(&self, code_hash: &str, tenant_id: &str, client_id: &str, issue: IssueFn<'a, AuthCode, TokenResponse>) -> Result<Redeem<TokenResponse>> {
                let Some(code) = self.code(code_hash).await? else { return Ok(Redeem::NotFound) };
                // the presenter's binding first: another client's replay revokes nothing
                if code.authz.tenant_id != tenant_id || code.authz.client_id != client_id {
                    return Ok(Redeem::NotFound);
                }
                if code.consumed {
                    self.revoke_family(&code.family_id, "code_replay").await?;
                    return Ok(Redeem::Replayed);
                }
                // A refused redemption still consumes the code: it cannot be tried again.
                let (records, out) = match issue(&code) {
                    Ok((records, out)) => (records, Ok(out)),
                    Err(e) => (Issue::default(), Err(e)),
                };
                let item = crate::batch::Item::Redeem { code_hash: code_hash.to_string(), family: code.family_id.clone(), issue: records };
                match (self.batch.submit(item).await?, out) {
                    (crate::batch::Outcome::Won, Ok(out)) => Ok(Redeem::Issued(code, out)),
                    (crate::batch::Outcome::Won, Err(e)) => Ok(Redeem::Refused(e)),
                    _ => Ok(Redeem::Replayed),
                }
            }

            async fn rotate_refresh_token<'a>(&self, token: &RefreshToken, issue: IssueFn<'a, RefreshToken, TokenResponse>) -> Result<Rotate<TokenResponse>> {
                // The token as the caller read it: the conditional update below decides, so a
                // stale read can only lose.
                if token.used || token.revoked {
                    self.revoke_family(&token.family_id, "refresh_replay").await?;
                    return Ok(Rotate::Replayed);
                }
                // Refused: not consumed (a client's mistake, say a wider scope, does not burn it).
                let (records, out) = match issue(token) {
                    Ok(v) => v,
                    Err(e) => return Ok(Rotate::Refused(e)),
                };
                let item = crate::batch::Item::Rotate { token_hash: token.token_hash.clone(), family: token.family_id.clone(), issue: records };
                match self.batch.submit(item).await? {
                    crate::batch::Outcome::Won => Ok(Rotate::Rotated(token.clone(), out)),
                    _ => Ok(Rotate::Replayed),
                }
            }

            async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
                let row: Option<RefreshRow> = sqlx::query_as(concat!("SELECT ", refresh_tokens_columns!(), " FROM refresh_tokens WHERE token_hash = $1"))
                    .bind(token_hash).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn account_profile(&self, account_id: &str) -> Result<Option<Profile>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT profile FROM account_profiles WHERE account_id = $1")
                    .bind(account_id).fetch_optional(&self.pool).await.map_err(map_err)?;
                row.map(|(p,)| crate::rows::from_json(&p)).transpose()
            }

            async fn set_account_profile(&self, tenant_id: &str, account_id: &str, profile: &Profile, now: i64) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                let n = sqlx::query("UPDATE accounts SET updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(account_id).bind(now).execute(&mut *tx).await.map_err(map_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("INSERT INTO account_profiles (account_id, tenant_id, profile) VALUES ($1, $2, $3) \
                             ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile")
                    .bind(account_id).bind(tenant_id).bind(to_json(profile)?).execute(&mut *tx).await.map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn family_refresh_after(&self, family_id: &str, after: i64) -> Result<Vec<RefreshToken>> {
                let rows: Vec<RefreshRow> = sqlx::query_as(concat!("SELECT ", refresh_tokens_columns!(), " FROM refresh_tokens WHERE family_id = $1 AND created_at >= $2 ORDER BY created_at"))
                    .bind(family_id).bind(after).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn issue_in_family(&self, presented: &RefreshToken, issue: &Issue) -> Result<bool> {
                let family_id = presented.family_id.as_str();
                let mut tx = self.write.begin().await.map_err(map_err)?;
                // the family row's lock first (migration 0002), and only while it lives
                let until = issue.family.as_ref().map_or(0, |(_, until)| *until);
                let live = sqlx::query("UPDATE token_families SET expires_at = CASE WHEN $2 > expires_at THEN $2 ELSE expires_at END \
                                        WHERE family_id = $1 AND revoked = FALSE")
                    .bind(family_id).bind(until).execute(&mut *tx).await.map_err(map_err)?.rows_affected();
                if live == 0 {
                    return Ok(false);
                }
                // under the lock: exactly one successor since the presented token, still fresh
                let (later, spent): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN used OR revoked THEN 1 ELSE 0 END), 0) FROM refresh_tokens \
                     WHERE family_id = $1 AND created_at >= $2 AND token_hash <> $3")
                    .bind(family_id).bind(presented.created_at).bind(&presented.token_hash)
                    .fetch_one(&mut *tx).await.map_err(map_err)?;
                if later != 1 || spent != 0 {
                    return Ok(false);
                }
                if let Some(r) = &issue.refresh_token {
                    sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, authz, created_at, expires_at, used, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(&r.token_hash).bind(&r.family_id).bind(to_json(&r.authz)?).bind(r.created_at)
                        .bind(r.expires_at).bind(r.used).bind(r.revoked)
                        .execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                // (audited right after, group-committed: the audit chain's key lives with the
                // batcher; a crash in between loses this record, not the tokens' safety)
                for e in &issue.audit {
                    self.append_audit(e).await?;
                }
                Ok(true)
            }

            async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
                sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                    .bind(jti).bind(expires_at).execute(&self.write).await.map_err(map_err)?;
                Ok(())
            }

            async fn access_token_revoked(&self, jti: &str, family_id: Option<&str>, tenant_id: &str, client_id: &str) -> Result<bool> {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1) \
                                    OR EXISTS (SELECT 1 FROM token_families WHERE family_id = $2 AND revoked = TRUE) \
                                    OR EXISTS (SELECT 1 FROM clients WHERE tenant_id = $3 AND client_id = $4 AND disabled = TRUE)")
                    .bind(jti).bind(family_id).bind(tenant_id).bind(client_id)
                    .fetch_one(&self.pool).await.map_err(map_err)
            }

            async fn revoke_family(&self, family_id: &str, reason: &str) -> Result<()> {
                let mut tx = self.write.begin().await.map_err(map_err)?;
                revoke_family_in(&mut tx, family_id, reason).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn family_revocation(&self, family_id: &str) -> Result<Option<String>> {
                sqlx::query_scalar("SELECT reason FROM family_revocations WHERE family_id = $1")
                    .bind(family_id).fetch_optional(&self.pool).await.map_err(map_err)
            }

            async fn purge_expired(&self, now: i64) -> Result<u64> {
                let mut n = 0;
                for sql in [
                    "DELETE FROM interactions WHERE expires_at < $1",
                    "DELETE FROM sessions WHERE expires_at < $1",
                    "DELETE FROM assertion_jtis WHERE expires_at < $1",
                    "DELETE FROM revoked_access_tokens WHERE expires_at < $1",
                    "DELETE FROM refresh_tokens WHERE expires_at < $1",
                    "DELETE FROM auth_codes WHERE expires_at < $1 - 3600",
                    "DELETE FROM token_families WHERE expires_at < $1",
                    "DELETE FROM rate_limit_windows WHERE window_start < $1 - 7200",
                    "DELETE FROM sms_codes WHERE expires_at < $1",
                    "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
                    "DELETE FROM device_grants WHERE expires_at < $1",
                    "DELETE FROM session_clients WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.sid = session_clients.sid)",
                    "DELETE FROM logout_deliveries WHERE status <> 'pending' AND created_at < $1 - 7 * 86400",
                    "DELETE FROM grant_families WHERE code_expires_at < $1 - 3600 \
                     AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.family_id = grant_families.family_id)",
                    "DELETE FROM family_revocations WHERE $1 > 0 \
                     AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.family_id = family_revocations.family_id) \
                     AND NOT EXISTS (SELECT 1 FROM auth_codes c WHERE c.family_id = family_revocations.family_id)",
                ] {
                    n += sqlx::query(sql).bind(now).execute(&self.write).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
                self.batch.submit(crate::batch::Item::Audit(e.clone())).await.map(drop)
            }

            async fn account_events(&self, tenant_id: &str, account_id: &str, kind: &str, limit: i64) -> Result<Vec<AuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as("SELECT tenant_id, kind, account_id, client_id, ip, detail, at FROM audit_events \
                                                           WHERE account_id = $2 AND kind = $3 AND tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $4")
                    .bind(tenant_id).bind(account_id).bind(kind).bind(limit).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            // the audit chain's reads: SQL in `admin_sql.rs`
            async fn audit_heads(&self) -> Result<Vec<(String, i64, String)>> { self.sql_audit_heads().await }
            async fn audit_chain(&self, chain: &str, after_seq: i64, limit: i64) -> Result<Vec<idp_core::audit::ChainedRecord>> { self.sql_audit_chain(chain, after_seq, limit).await }
            async fn audit_unchained(&self) -> Result<i64> { self.sql_audit_unchained().await }
            async fn audit_search(&self, tenant_id: &str, f: &idp_core::audit::Filter) -> Result<Vec<idp_core::audit::ChainedRecord>> { self.sql_audit_search(tenant_id, f).await }

            async fn audit_events(&self, tenant_id: &str, limit: i64) -> Result<Vec<AuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as("SELECT tenant_id, kind, account_id, client_id, ip, detail, at FROM audit_events WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2")
                    .bind(tenant_id).bind(limit).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        async fn revoke_family_in<'c>(tx: &mut sqlx::Transaction<'c, $crate_db>, family: &str, reason: &str) -> Result<()> {
            // The family row first (see migration 0002): one revoker or rotator at a time.
            sqlx::query("UPDATE token_families SET revoked = TRUE WHERE family_id = $1")
                .bind(family).execute(&mut **tx).await.map_err(map_err)?;
            sqlx::query("INSERT INTO family_revocations (family_id, reason) VALUES ($1, $2) ON CONFLICT (family_id) DO NOTHING")
                .bind(family).bind(reason).execute(&mut **tx).await.map_err(map_err)?;
            sqlx::query("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1")
                .bind(family).execute(&mut **tx).await.map_err(map_err)?;
            Ok(())
        }

        async fn insert_account_row<'e, E>(executor: E, a: &Account) -> Result<()>
        where
            E: sqlx::Executor<'e, Database = $crate_db>,
        {
            // (a new account's email is unverified: `set_account_email` records a proof)
            sqlx::query("INSERT INTO accounts (id, tenant_id, username, name, phone, phone_verified_at, email, password_hash, failed_logins, locked_until, disabled, roles, locale, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $15, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                .bind(&a.id).bind(&a.tenant_id).bind(&a.username).bind(&a.name).bind(&a.phone)
                .bind(&a.email).bind(&a.password_hash).bind(a.failed_logins).bind(a.locked_until)
                .bind(a.disabled).bind(to_json(&a.roles)?).bind(&a.locale).bind(a.created_at).bind(a.updated_at)
                .bind(a.phone_verified_at)
                .execute(executor).await.map_err(map_err)?;
            Ok(())
        }

        async fn insert_client_row<'e, E>(executor: E, c: &Client) -> Result<()>
        where
            E: sqlx::Executor<'e, Database = $crate_db>,
        {
            sqlx::query("INSERT INTO clients (tenant_id, client_id, name, client_type, secret_hash, settings, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(&c.tenant_id).bind(&c.client_id).bind(&c.name).bind(c.client_type.as_str())
                .bind(&c.secret_hash).bind(to_json(&c.settings)?).bind(c.disabled).bind(c.created_at)
                .execute(executor).await.map_err(map_err)?;
            Ok(())
        }

    };
}

pub(crate) use impl_store;
