//! The one body of SQL behind both backends (see the crate docs). This folder is compiled twice,
//! once inside `sqlite.rs` and once inside `postgres.rs` (each declares it with
//! `#[path = "sql/mod.rs"]`), against that backend's `Db`, store type `This` and `BACKEND`
//! name: so the SQL is ordinary Rust that rustfmt formats and the compiler checks for both,
//! without a macro. Each file holds one aggregate's queries as `sql_*` methods; the `Store`
//! implementation here delegates to them.

mod account;
mod admin;
mod audit;
pub(super) mod batch;
mod client;
mod coordination;
mod credential;
mod device;
mod directory;
mod identity;
mod logout;
mod scim;
mod sealed;
mod session;
mod tenant;
mod token;
mod upstream;

use idp_core::model::{
    Account, AuditEvent, AuthCode, Ceremony, Client, ClientSettings, DeviceGrant, Grant, Interaction,
    LogoutDelivery, PendingSignIn, Profile, RealName, RefreshToken, Session, SigningAlg, SigningKeyRecord,
    SmsCheck, SmsCode, Tenant, TenantSettings, TotpCredential, WebauthnCredential,
};
use idp_core::ports::{Issue, IssueFn, Redeem, Result, Rotate};
use idp_core::token::TokenResponse;

use super::{BACKEND, Db, This};
use crate::map_err;

#[async_trait::async_trait]
impl idp_core::Store for This {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    fn pool_usage(&self) -> Vec<(&'static str, u32, u32, u32)> {
        let usage = |p: &sqlx::Pool<Db>| (p.size(), p.num_idle() as u32, p.options().get_max_connections());
        // SQLite writes through a one-connection pool of their own; on PostgreSQL both
        // names are the one shared pool
        let ((rs, ri, rm), (ws, wi, wm)) = (usage(&self.pool), usage(&self.write));
        vec![("read", rs, ri, rm), ("write", ws, wi, wm)]
    }

    async fn schema_version(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn insert_tenant(&self, t: &Tenant) -> Result<()> {
        self.sql_insert_tenant(t).await
    }

    async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        self.sql_tenant_by_slug(slug).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.sql_list_tenants().await
    }

    async fn set_tenant_settings(&self, tenant_id: &str, settings: &TenantSettings) -> Result<()> {
        self.sql_set_tenant_settings(tenant_id, settings).await
    }

    async fn set_tenant_disabled(&self, tenant_id: &str, disabled: bool) -> Result<()> {
        self.sql_set_tenant_disabled(tenant_id, disabled).await
    }

    async fn set_account_email(
        &self,
        tenant_id: &str,
        id: &str,
        email: &str,
        verified_at: i64,
    ) -> Result<()> {
        self.sql_set_account_email(tenant_id, id, email, verified_at).await
    }

    async fn set_account_phone(
        &self,
        tenant_id: &str,
        id: &str,
        phone: &str,
        verified_at: i64,
    ) -> Result<()> {
        self.sql_set_account_phone(tenant_id, id, phone, verified_at).await
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()> {
        self.sql_insert_signing_key(k).await
    }

    async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>> {
        self.sql_signing_keys(tenant_id).await
    }

    async fn retire_signing_keys(
        &self,
        tenant_id: &str,
        alg: SigningAlg,
        keep_kid: &str,
        retires_at: i64,
    ) -> Result<()> {
        self.sql_retire_signing_keys(tenant_id, alg, keep_kid, retires_at).await
    }

    async fn revoke_signing_key(&self, tenant_id: &str, kid: &str, at: i64) -> Result<bool> {
        self.sql_revoke_signing_key(tenant_id, kid, at).await
    }

    async fn set_interaction_context(&self, id: &str, context: &str) -> Result<()> {
        self.sql_set_interaction_context(id, context).await
    }

    async fn set_interaction_pending(&self, id: &str, pending: Option<&PendingSignIn>) -> Result<()> {
        self.sql_set_interaction_pending(id, pending).await
    }

    async fn set_session_context(&self, tenant_id: &str, sid: &str, context: Option<&str>) -> Result<()> {
        self.sql_set_session_context(tenant_id, sid, context).await
    }

    async fn upgrade_session(&self, tenant_id: &str, sid: &str, amr: &[String], acr: &str) -> Result<()> {
        self.sql_upgrade_session(tenant_id, sid, amr, acr).await
    }

    async fn begin_totp(&self, c: &TotpCredential) -> Result<bool> {
        self.sql_begin_totp(c).await
    }

    async fn put_totp(&self, c: &TotpCredential) -> Result<()> {
        self.sql_put_totp(c).await
    }

    async fn totp(&self, account_id: &str) -> Result<Option<TotpCredential>> {
        self.sql_totp(account_id).await
    }

    async fn confirm_totp(&self, account_id: &str, step: i64) -> Result<bool> {
        self.sql_confirm_totp(account_id, step).await
    }

    async fn record_totp_step(&self, account_id: &str, step: i64) -> Result<bool> {
        self.sql_record_totp_step(account_id, step).await
    }

    async fn delete_totp(&self, account_id: &str) -> Result<()> {
        self.sql_delete_totp(account_id).await
    }

    async fn replace_recovery_codes(&self, account_id: &str, hashes: &[String]) -> Result<()> {
        self.sql_replace_recovery_codes(account_id, hashes).await
    }

    async fn use_recovery_code(&self, account_id: &str, hash: &str, now: i64) -> Result<bool> {
        self.sql_use_recovery_code(account_id, hash, now).await
    }

    async fn recovery_codes_left(&self, account_id: &str) -> Result<i64> {
        self.sql_recovery_codes_left(account_id).await
    }

    async fn add_webauthn_credential(&self, c: &WebauthnCredential) -> Result<bool> {
        self.sql_add_webauthn_credential(c).await
    }

    async fn webauthn_credentials(&self, account_id: &str) -> Result<Vec<WebauthnCredential>> {
        self.sql_webauthn_credentials(account_id).await
    }

    async fn webauthn_credential(
        &self,
        tenant_id: &str,
        cred_id: &str,
    ) -> Result<Option<WebauthnCredential>> {
        self.sql_webauthn_credential(tenant_id, cred_id).await
    }

    async fn use_webauthn_credential(&self, id: &str, now: i64, credential: Option<&str>) -> Result<()> {
        self.sql_use_webauthn_credential(id, now, credential).await
    }

    async fn flag_webauthn_credential(&self, id: &str, now: i64) -> Result<()> {
        self.sql_flag_webauthn_credential(id, now).await
    }

    async fn delete_webauthn_credential(&self, account_id: &str, id: &str) -> Result<bool> {
        self.sql_delete_webauthn_credential(account_id, id).await
    }

    async fn put_ceremony(&self, c: &Ceremony) -> Result<()> {
        self.sql_put_ceremony(c).await
    }

    async fn take_ceremony(&self, key: &str, now: i64) -> Result<Option<Ceremony>> {
        self.sql_take_ceremony(key, now).await
    }

    async fn search_accounts(&self, tenant_id: &str, query: &str, limit: i64) -> Result<Vec<Account>> {
        self.sql_search_accounts(tenant_id, query, limit).await
    }

    async fn account_sessions(&self, tenant_id: &str, account_id: &str, now: i64) -> Result<Vec<Session>> {
        self.sql_account_sessions(tenant_id, account_id, now).await
    }

    async fn session_live(&self, tenant_id: &str, sid: &str, now: i64) -> Result<bool> {
        self.sql_session_live(tenant_id, sid, now).await
    }

    async fn end_account_sessions(&self, tenant_id: &str, account_id: &str) -> Result<u64> {
        self.sql_end_account_sessions(tenant_id, account_id).await
    }

    async fn hourly_counts(
        &self,
        tenant_id: &str,
        kinds: &[&str],
        since: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        self.sql_hourly_counts(tenant_id, kinds, since).await
    }

    async fn live_sessions(&self, tenant_id: &str, now: i64) -> Result<i64> {
        self.sql_live_sessions(tenant_id, now).await
    }

    async fn update_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        name: &str,
        settings: &ClientSettings,
        secret_hash: Option<&str>,
    ) -> Result<()> {
        self.sql_update_client(tenant_id, client_id, name, settings, secret_hash).await
    }

    async fn insert_device_grant(&self, g: &DeviceGrant) -> Result<bool> {
        self.sql_insert_device_grant(g).await
    }

    async fn device_grant(&self, device_hash: &str) -> Result<Option<DeviceGrant>> {
        self.sql_device_grant(device_hash).await
    }

    async fn device_grant_by_user_code(
        &self,
        tenant_id: &str,
        user_code: &str,
    ) -> Result<Option<DeviceGrant>> {
        self.sql_device_grant_by_user_code(tenant_id, user_code).await
    }

    async fn decide_device_grant(
        &self,
        device_hash: &str,
        status: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool> {
        self.sql_decide_device_grant(device_hash, status, account_id, now).await
    }

    async fn poll_device_grant(&self, device_hash: &str, now: i64, interval: i64) -> Result<()> {
        self.sql_poll_device_grant(device_hash, now, interval).await
    }

    async fn session_clients(&self, tenant_id: &str, sid: &str) -> Result<Vec<String>> {
        self.sql_session_clients(tenant_id, sid).await
    }

    async fn insert_logout_deliveries(&self, ds: &[LogoutDelivery]) -> Result<()> {
        self.sql_insert_logout_deliveries(ds).await
    }

    async fn insert_cas_pgt(&self, pgt: &idp_core::model::CasPgt) -> Result<()> {
        self.sql_insert_cas_pgt(pgt).await
    }

    async fn cas_pgt(
        &self,
        pgt_hash: Option<&str>,
        id: Option<&str>,
    ) -> Result<Option<idp_core::model::CasPgt>> {
        self.sql_cas_pgt(pgt_hash, id).await
    }

    async fn record_saml_assertion(
        &self,
        audit: &[AuditEvent],
        participation: Option<&idp_core::model::SamlParticipation>,
    ) -> Result<()> {
        let item =
            crate::batch::Item::Assertion { audit: audit.to_vec(), participation: participation.cloned() };
        self.batch.submit(item).await.map(drop)
    }

    async fn saml_participations(
        &self,
        tenant_id: &str,
        sid: &str,
    ) -> Result<Vec<idp_core::model::SamlParticipation>> {
        self.sql_saml_participations(tenant_id, Some(sid), None).await
    }

    async fn saml_participations_of(
        &self,
        tenant_id: &str,
        client_id: &str,
        name_id: &str,
    ) -> Result<Vec<idp_core::model::SamlParticipation>> {
        self.sql_saml_participations(tenant_id, None, Some((client_id, name_id))).await
    }

    async fn cas_session_tickets(
        &self,
        tenant_id: &str,
        sid: &str,
    ) -> Result<Vec<idp_core::model::CasTicketUse>> {
        self.sql_cas_session_tickets(tenant_id, sid).await
    }

    async fn claim_logout_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>> {
        self.sql_claim_logout_deliveries(now, lease_until, limit).await
    }

    async fn finish_logout_delivery(&self, d: &LogoutDelivery) -> Result<()> {
        self.sql_finish_logout_delivery(d).await
    }

    async fn logout_deliveries(
        &self,
        tenant_id: &str,
        client_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>> {
        self.sql_logout_deliveries(tenant_id, client_id, limit).await
    }

    async fn account_grants(&self, tenant_id: &str, account_id: &str) -> Result<Vec<Grant>> {
        self.sql_account_grants(tenant_id, account_id).await
    }

    async fn delete_account(&self, tenant_id: &str, account_id: &str) -> Result<bool> {
        self.sql_delete_account(tenant_id, account_id).await
    }

    async fn withdraw_grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<bool> {
        self.sql_withdraw_grant(tenant_id, account_id, client_id).await
    }

    async fn real_name(&self, account_id: &str) -> Result<Option<RealName>> {
        self.sql_real_name(account_id).await
    }

    async fn put_real_name(&self, r: &RealName) -> Result<bool> {
        self.sql_put_real_name(r).await
    }

    async fn real_name_by_hash(&self, tenant_id: &str, id_hash: &str) -> Result<Option<RealName>> {
        self.sql_real_name_by_hash(tenant_id, id_hash).await
    }

    async fn put_sms_code(&self, c: &SmsCode) -> Result<()> {
        self.sql_put_sms_code(c).await
    }

    async fn take_sms_code(
        &self,
        tenant_id: &str,
        phone: &str,
        purpose: &str,
        code_mac: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<SmsCheck> {
        self.sql_take_sms_code(tenant_id, phone, purpose, code_mac, now, max_attempts).await
    }

    async fn claim_job(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        self.sql_claim_job(name, holder, now, until).await
    }

    async fn count_hit(&self, key: &str, window_start: i64) -> Result<i64> {
        self.sql_count_hit(key, window_start).await
    }

    async fn bump_change(&self, name: &str) -> Result<()> {
        self.sql_bump_change(name).await
    }

    async fn change_version(&self, name: &str) -> Result<i64> {
        self.sql_change_version(name).await
    }

    async fn insert_client(&self, c: &Client) -> Result<()> {
        self.sql_insert_client(c).await
    }

    async fn client(&self, tenant_id: &str, client_id: &str) -> Result<Option<Client>> {
        self.sql_client(tenant_id, client_id).await
    }

    async fn list_clients(&self, tenant_id: &str) -> Result<Vec<Client>> {
        self.sql_list_clients(tenant_id).await
    }

    async fn clients_of_type(
        &self,
        tenant_id: &str,
        kind: idp_core::model::ClientType,
    ) -> Result<Vec<Client>> {
        self.sql_clients_of_type(tenant_id, kind).await
    }

    async fn set_client_secret(&self, tenant_id: &str, client_id: &str, hash: &str) -> Result<()> {
        self.sql_set_client_secret(tenant_id, client_id, hash).await
    }

    async fn set_client_disabled(&self, tenant_id: &str, client_id: &str, v: bool) -> Result<()> {
        self.sql_set_client_disabled(tenant_id, client_id, v).await
    }

    async fn remember_assertion_jti(
        &self,
        tenant_id: &str,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool> {
        self.sql_remember_assertion_jti(tenant_id, client_id, jti, expires_at).await
    }

    async fn insert_account(&self, a: &Account) -> Result<()> {
        self.sql_insert_account(a).await
    }

    async fn bulk_insert_accounts(&self, accounts: &[Account]) -> Result<()> {
        self.sql_bulk_insert_accounts(accounts).await
    }

    async fn bulk_insert_clients(&self, clients: &[Client]) -> Result<()> {
        self.sql_bulk_insert_clients(clients).await
    }

    async fn account(&self, tenant_id: &str, id: &str) -> Result<Option<Account>> {
        self.sql_account(tenant_id, id).await
    }

    async fn account_by_login(&self, tenant_id: &str, login: &str) -> Result<Option<Account>> {
        self.sql_account_by_login(tenant_id, login).await
    }

    async fn accounts_by_verified_email(
        &self,
        tenant_id: &str,
        email: &str,
        limit: i64,
    ) -> Result<Vec<Account>> {
        self.sql_accounts_by_verified_email(tenant_id, email, limit).await
    }

    async fn list_accounts(&self, tenant_id: &str) -> Result<Vec<Account>> {
        self.sql_list_accounts(tenant_id).await
    }

    async fn set_password_hash(&self, tenant_id: &str, id: &str, hash: &str, now: i64) -> Result<()> {
        self.sql_set_password_hash(tenant_id, id, hash, now).await
    }

    async fn set_account_disabled(&self, tenant_id: &str, id: &str, v: bool, now: i64) -> Result<()> {
        self.sql_set_account_disabled(tenant_id, id, v, now).await
    }

    async fn record_login_failure(
        &self,
        tenant_id: &str,
        id: &str,
        threshold: i64,
        lock_until: i64,
    ) -> Result<bool> {
        self.sql_record_login_failure(tenant_id, id, threshold, lock_until).await
    }

    async fn reset_login_failures(&self, tenant_id: &str, id: &str) -> Result<()> {
        self.sql_reset_login_failures(tenant_id, id).await
    }

    async fn insert_session(&self, s: &Session) -> Result<()> {
        self.sql_insert_session(s).await
    }

    async fn session(&self, tenant_id: &str, id_hash: &str) -> Result<Option<Session>> {
        self.sql_session(tenant_id, id_hash).await
    }

    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        self.sql_touch_session(id_hash, now).await
    }

    async fn renew_session(&self, s: &Session) -> Result<bool> {
        self.sql_renew_session(s).await
    }

    async fn delete_session(&self, tenant_id: &str, sid: &str) -> Result<()> {
        self.sql_delete_session(tenant_id, sid).await
    }

    async fn insert_interaction(&self, i: &Interaction) -> Result<()> {
        self.sql_insert_interaction(i).await
    }

    async fn interaction(&self, tenant_id: &str, id: &str) -> Result<Option<Interaction>> {
        self.sql_interaction(tenant_id, id).await
    }

    async fn set_interaction_session(&self, id: &str, sid: &str) -> Result<()> {
        self.sql_set_interaction_session(id, sid).await
    }

    async fn delete_interaction(&self, id: &str) -> Result<()> {
        self.sql_delete_interaction(id).await
    }

    async fn grant(&self, tenant_id: &str, account_id: &str, client_id: &str) -> Result<Option<Grant>> {
        self.sql_grant(tenant_id, account_id, client_id).await
    }

    async fn upsert_grant(&self, g: &Grant) -> Result<()> {
        self.sql_upsert_grant(g).await
    }

    async fn insert_code(&self, c: &AuthCode) -> Result<()> {
        self.sql_insert_code(c).await
    }

    async fn code(&self, code_hash: &str) -> Result<Option<AuthCode>> {
        self.sql_code(code_hash).await
    }

    async fn redeem_code<'a>(
        &self,
        code_hash: &str,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>> {
        self.sql_redeem_code(code_hash, tenant_id, client_id, issue).await
    }

    async fn redeem_read_code<'a>(
        &self,
        code: AuthCode,
        tenant_id: &str,
        client_id: &str,
        issue: IssueFn<'a, AuthCode, TokenResponse>,
    ) -> Result<Redeem<TokenResponse>> {
        self.sql_redeem_read_code(code, tenant_id, client_id, issue).await
    }

    async fn rotate_refresh_token<'a>(
        &self,
        token: &RefreshToken,
        issue: IssueFn<'a, RefreshToken, TokenResponse>,
    ) -> Result<Rotate<TokenResponse>> {
        self.sql_rotate_refresh_token(token, issue).await
    }

    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        self.sql_refresh_token(token_hash).await
    }

    async fn account_profile(&self, account_id: &str) -> Result<Option<Profile>> {
        self.sql_account_profile(account_id).await
    }

    async fn set_account_profile(
        &self,
        tenant_id: &str,
        account_id: &str,
        profile: &Profile,
        now: i64,
    ) -> Result<()> {
        self.sql_set_account_profile(tenant_id, account_id, profile, now).await
    }

    async fn family_refresh_after(&self, family_id: &str, after: i64) -> Result<Vec<RefreshToken>> {
        self.sql_family_refresh_after(family_id, after).await
    }

    async fn issue_in_family(&self, presented: &RefreshToken, issue: &Issue) -> Result<bool> {
        self.sql_issue_in_family(presented, issue).await
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        self.sql_revoke_access_token(jti, expires_at).await
    }

    async fn access_token_revoked(
        &self,
        jti: &str,
        family_id: Option<&str>,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool> {
        self.sql_access_token_revoked(jti, family_id, tenant_id, client_id).await
    }

    async fn revoke_family(&self, family_id: &str, reason: &str) -> Result<()> {
        self.sql_revoke_family(family_id, reason).await
    }

    async fn family_revocation(&self, family_id: &str) -> Result<Option<String>> {
        self.sql_family_revocation(family_id).await
    }

    async fn purge_expired(&self, now: i64) -> Result<u64> {
        self.sql_purge_expired(now).await
    }

    async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        self.sql_append_audit(e).await
    }

    async fn account_events(
        &self,
        tenant_id: &str,
        account_id: &str,
        kind: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        self.sql_account_events(tenant_id, account_id, kind, limit).await
    }

    async fn audit_heads(&self) -> Result<Vec<(String, i64, String)>> {
        self.sql_audit_heads().await
    }

    async fn audit_chain(
        &self,
        chain: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<idp_core::audit::ChainedRecord>> {
        self.sql_audit_chain(chain, after_seq, limit).await
    }

    async fn audit_unchained(&self) -> Result<i64> {
        self.sql_audit_unchained().await
    }

    async fn audit_search(
        &self,
        tenant_id: &str,
        f: &idp_core::audit::Filter,
    ) -> Result<Vec<idp_core::audit::ChainedRecord>> {
        self.sql_audit_search(tenant_id, f).await
    }

    async fn audit_events(&self, tenant_id: &str, limit: i64) -> Result<Vec<AuditEvent>> {
        self.sql_audit_events(tenant_id, limit).await
    }

    async fn sealed_values(
        &self,
        tenant_id: &str,
        column: idp_core::ports::SealedColumn,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.sql_sealed_values(tenant_id, column, after, limit).await
    }

    async fn replace_sealed(
        &self,
        tenant_id: &str,
        column: idp_core::ports::SealedColumn,
        key: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool> {
        self.sql_replace_sealed(tenant_id, column, key, old, new).await
    }
}
