//! The organisation tree, memberships and real-name bindings.

use idp_core::model::RealName;
use idp_core::org::{Membership, Organisation};
use idp_core::ports::Result;

use super::super::This;
use crate::map_err;
use crate::rows::{MembershipRow, OrganisationRow, RealNameRow, to_json};

impl This {
    pub(crate) async fn sql_insert_organisation(&self, o: &Organisation) -> Result<()> {
        sqlx::query(
            "INSERT INTO organisations (id, tenant_id, kind, name, parent_id, level, region_code, uscc, \
             uscc_flagged, path, created_at, representative_name, representative_hash) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&o.id)
        .bind(&o.tenant_id)
        .bind(&o.kind)
        .bind(&o.name)
        .bind(&o.parent_id)
        .bind(&o.level)
        .bind(&o.region_code)
        .bind(&o.uscc)
        .bind(o.uscc_flagged)
        .bind(&o.path)
        .bind(o.created_at)
        .bind(&o.representative_name)
        .bind(&o.representative_hash)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_organisation(&self, tenant_id: &str, id: &str) -> Result<Option<Organisation>> {
        sqlx::query_as::<_, OrganisationRow>(concat!(
            "SELECT ",
            organisations_columns!(),
            " FROM organisations WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
        .map(|r| r.map(Into::into))
    }

    pub(crate) async fn sql_organisations_under(
        &self,
        tenant_id: &str,
        path: &str,
    ) -> Result<Vec<Organisation>> {
        // a prefix comparison, not LIKE: ids may hold LIKE's wildcards
        let rows: Vec<OrganisationRow> = sqlx::query_as(concat!(
            "SELECT ",
            organisations_columns!(),
            " FROM organisations WHERE tenant_id = $1 AND substr(path, 1, length($2)) = $2 ORDER BY path"
        ))
        .bind(tenant_id)
        .bind(path)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn sql_insert_membership(&self, m: &Membership) -> Result<()> {
        sqlx::query(
            "INSERT INTO memberships (id, tenant_id, account_id, organisation_id, kind, roles, created_at, \
             revoked_at, matters, starts_at, expires_at, confirmed_at, granted_by, source) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&m.id)
        .bind(&m.tenant_id)
        .bind(&m.account_id)
        .bind(&m.organisation_id)
        .bind(&m.kind)
        .bind(to_json(&m.roles)?)
        .bind(m.created_at)
        .bind(m.revoked_at)
        .bind(to_json(&m.matters)?)
        .bind(m.starts_at)
        .bind(m.expires_at)
        .bind(m.confirmed_at)
        .bind(&m.granted_by)
        .bind(&m.source)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_membership(&self, tenant_id: &str, id: &str) -> Result<Option<Membership>> {
        let row: Option<MembershipRow> = sqlx::query_as(concat!(
            "SELECT ",
            memberships_columns!(),
            " FROM memberships WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_organisation_by_uscc(
        &self,
        tenant_id: &str,
        uscc: &str,
    ) -> Result<Option<Organisation>> {
        sqlx::query_as::<_, OrganisationRow>(concat!(
            "SELECT ",
            organisations_columns!(),
            " FROM organisations WHERE tenant_id = $1 AND uscc = $2"
        ))
        .bind(tenant_id)
        .bind(uscc)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
        .map(|r| r.map(Into::into))
    }

    pub(crate) async fn sql_set_representative(
        &self,
        tenant_id: &str,
        organisation_id: &str,
        name: &str,
        id_hash: &str,
        only_if_unset: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE organisations SET representative_name = $3, representative_hash = $4 WHERE tenant_id = \
             $1 AND id = $2 AND (NOT $5 OR representative_hash IS NULL)",
        )
        .bind(tenant_id)
        .bind(organisation_id)
        .bind(name)
        .bind(id_hash)
        .bind(only_if_unset)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_memberships_from(
        &self,
        tenant_id: &str,
        source: &str,
    ) -> Result<Vec<Membership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(concat!(
            "SELECT ",
            memberships_columns!(),
            " FROM memberships WHERE tenant_id = $1 AND source = $2 AND revoked_at IS NULL ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_end_memberships_from(
        &self,
        tenant_id: &str,
        prefix: &str,
        now: i64,
    ) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE memberships SET revoked_at = $3 WHERE tenant_id = $1 AND revoked_at IS NULL AND \
             substr(source, 1, length($2)) = $2",
        )
        .bind(tenant_id)
        .bind(prefix)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }

    pub(crate) async fn sql_record_revocation(&self, tenant_id: &str, key: &str, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO membership_revocations (tenant_id, source, revoked_at) VALUES ($1, $2, $3) ON \
             CONFLICT (tenant_id, source) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(at)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_revoked(&self, tenant_id: &str, key: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT revoked_at FROM membership_revocations WHERE tenant_id = $1 AND source = $2",
        )
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(found.is_some())
    }

    pub(crate) async fn sql_members_of(
        &self,
        tenant_id: &str,
        organisation_id: &str,
    ) -> Result<Vec<Membership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(concat!(
            "SELECT ",
            memberships_columns!(),
            " FROM memberships WHERE tenant_id = $1 AND organisation_id = $2 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_confirm_membership(
        &self,
        tenant_id: &str,
        id: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE memberships SET confirmed_at = $4 WHERE tenant_id = $1 AND id = $2 AND account_id = $3 \
             AND confirmed_at IS NULL AND revoked_at IS NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(account_id)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn sql_end_enterprise_roles(
        &self,
        tenant_id: &str,
        organisation_id: &str,
        now: i64,
    ) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE memberships SET revoked_at = $3 WHERE tenant_id = $1 AND organisation_id = $2 AND \
             revoked_at IS NULL AND kind IN ('legal_representative', 'enterprise_admin', 'agent')",
        )
        .bind(tenant_id)
        .bind(organisation_id)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }

    pub(crate) async fn sql_memberships(&self, account_id: &str) -> Result<Vec<Membership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(concat!(
            "SELECT ",
            memberships_columns!(),
            " FROM memberships WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub(crate) async fn sql_revoke_membership(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<Membership>> {
        let row: Option<MembershipRow> = sqlx::query_as(concat!(
            "UPDATE memberships SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS \
             NULL RETURNING ",
            memberships_columns!()
        ))
        .bind(tenant_id)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    pub(crate) async fn sql_real_name(&self, account_id: &str) -> Result<Option<RealName>> {
        let row: Option<RealNameRow> = sqlx::query_as(concat!(
            "SELECT ",
            real_names_columns!(),
            " FROM real_names WHERE account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    pub(crate) async fn sql_put_real_name(&self, r: &RealName) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO real_names (account_id, tenant_id, level, name, id_type, id_sealed, id_hash, \
             id_masked, method, verifier, verified_at, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12) ON CONFLICT (account_id) DO UPDATE SET level = excluded.level, name = \
             excluded.name, id_type = excluded.id_type, id_sealed = excluded.id_sealed, id_hash = \
             excluded.id_hash, id_masked = excluded.id_masked, method = excluded.method, verifier = \
             excluded.verifier, verified_at = excluded.verified_at, evidence = excluded.evidence",
        )
        .bind(&r.account_id)
        .bind(&r.tenant_id)
        .bind(r.level)
        .bind(&r.name)
        .bind(&r.id_type)
        .bind(&r.id_sealed)
        .bind(&r.id_hash)
        .bind(&r.id_masked)
        .bind(&r.method)
        .bind(&r.verifier)
        .bind(r.verified_at)
        .bind(&r.evidence)
        .execute(&self.write)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }

    pub(crate) async fn sql_real_name_by_hash(
        &self,
        tenant_id: &str,
        id_hash: &str,
    ) -> Result<Option<RealName>> {
        let row: Option<RealNameRow> = sqlx::query_as(concat!(
            "SELECT ",
            real_names_columns!(),
            " FROM real_names WHERE tenant_id = $1 AND id_hash = $2"
        ))
        .bind(tenant_id)
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }
}

#[async_trait::async_trait]
impl idp_core::ports::OrgStore for This {
    async fn insert_organisation(&self, o: &Organisation) -> Result<()> {
        self.sql_insert_organisation(o).await
    }

    async fn organisation(&self, tenant_id: &str, id: &str) -> Result<Option<Organisation>> {
        self.sql_organisation(tenant_id, id).await
    }

    async fn organisations_under(&self, tenant_id: &str, path: &str) -> Result<Vec<Organisation>> {
        self.sql_organisations_under(tenant_id, path).await
    }

    async fn insert_membership(&self, m: &Membership) -> Result<()> {
        self.sql_insert_membership(m).await
    }

    async fn membership(&self, tenant_id: &str, id: &str) -> Result<Option<Membership>> {
        self.sql_membership(tenant_id, id).await
    }

    async fn organisation_by_uscc(&self, tenant_id: &str, uscc: &str) -> Result<Option<Organisation>> {
        self.sql_organisation_by_uscc(tenant_id, uscc).await
    }

    async fn set_representative(
        &self,
        tenant_id: &str,
        organisation_id: &str,
        name: &str,
        id_hash: &str,
        only_if_unset: bool,
    ) -> Result<bool> {
        self.sql_set_representative(tenant_id, organisation_id, name, id_hash, only_if_unset).await
    }

    async fn members_of(&self, tenant_id: &str, organisation_id: &str) -> Result<Vec<Membership>> {
        self.sql_members_of(tenant_id, organisation_id).await
    }

    async fn confirm_membership(
        &self,
        tenant_id: &str,
        id: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool> {
        self.sql_confirm_membership(tenant_id, id, account_id, now).await
    }

    async fn end_enterprise_roles(&self, tenant_id: &str, organisation_id: &str, now: i64) -> Result<u64> {
        self.sql_end_enterprise_roles(tenant_id, organisation_id, now).await
    }

    async fn memberships_from(&self, tenant_id: &str, source: &str) -> Result<Vec<Membership>> {
        self.sql_memberships_from(tenant_id, source).await
    }

    async fn directory_records(
        &self,
        tenant_id: &str,
        directory: &str,
    ) -> Result<Vec<idp_core::directory::Record>> {
        self.sql_directory_records(tenant_id, directory).await
    }

    async fn put_directory_record(
        &self,
        tenant_id: &str,
        directory: &str,
        r: &idp_core::directory::Record,
    ) -> Result<()> {
        self.sql_put_directory_record(tenant_id, directory, r).await
    }

    async fn forget_directory_record(&self, tenant_id: &str, directory: &str, uuid: &str) -> Result<()> {
        self.sql_forget_directory_record(tenant_id, directory, uuid).await
    }

    async fn directory_record_of(
        &self,
        tenant_id: &str,
        account_id: &str,
    ) -> Result<Option<(String, idp_core::directory::Record)>> {
        self.sql_directory_record_of(tenant_id, account_id).await
    }

    async fn end_memberships_from(&self, tenant_id: &str, prefix: &str, now: i64) -> Result<u64> {
        self.sql_end_memberships_from(tenant_id, prefix, now).await
    }

    async fn record_revocation(&self, tenant_id: &str, key: &str, at: i64) -> Result<()> {
        self.sql_record_revocation(tenant_id, key, at).await
    }

    async fn revoked(&self, tenant_id: &str, keys: &[String]) -> Result<bool> {
        for key in keys {
            if self.sql_revoked(tenant_id, key).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn memberships(&self, account_id: &str) -> Result<Vec<Membership>> {
        self.sql_memberships(account_id).await
    }

    async fn revoke_membership(&self, tenant_id: &str, id: &str, now: i64) -> Result<Option<Membership>> {
        self.sql_revoke_membership(tenant_id, id, now).await
    }
}
