//! Operator actions on the organisation tree and memberships (`idp org …`, `idp member …`);
//! the admin API will call the same. Every change is audited.

use anyhow::{Context, anyhow};
use idp_core::crypto::random_token;
use idp_core::org::{self, Membership, NewOrganisation, Organisation};

use crate::ops::{OPERATOR, Ops};

impl Ops {
    /// Adds an organisation under `parent` (an organisation id; `None`: a root).
    pub async fn add_organisation(
        &self,
        slug: &str,
        parent: Option<&str>,
        new: NewOrganisation,
    ) -> anyhow::Result<Organisation> {
        self.add_organisation_by(slug, parent, new, OPERATOR).await
    }

    /// [`Ops::add_organisation`] by `by` (an administrator's account id, for the audit trail).
    pub async fn add_organisation_by(
        &self,
        slug: &str,
        parent: Option<&str>,
        new: NewOrganisation,
        by: &str,
    ) -> anyhow::Result<Organisation> {
        let tenant = self.tenant(slug).await?;
        let parent = match parent {
            Some(id) => Some(
                self.store
                    .organisation(&tenant.id, id)
                    .await?
                    .with_context(|| format!("no organisation {id:?} in tenant {slug:?}"))?,
            ),
            None => None,
        };
        let (kind, level, region_code, uscc, uscc_flagged) =
            org::check(&new, parent.as_ref()).map_err(|e| anyhow!(e))?;
        let representative_hash = match (&new.representative_name, &new.representative_id) {
            (Some(_), Some(number)) if kind == org::OrgKind::Enterprise => {
                let id = idp_core::identifiers::parse_person_id(number.trim(), self.now())
                    .map_err(|e| anyhow!("the representative's ID number: {e}"))?;
                Some(idp_core::realname::id_hash(&self.kek, &tenant.id, &id.number))
            }
            (None, None) => None,
            _ => anyhow::bail!("a legal representative is an enterprise's, with both name and ID number"),
        };
        let id = random_token(self.env.as_ref(), 9).replace(['-', '_'], "x");
        let o = Organisation {
            representative_name: new.representative_name.as_deref().map(|n| n.trim().to_string()),
            representative_hash,
            path: org::path_of(parent.as_ref(), &id),
            id,
            tenant_id: tenant.id.clone(),
            kind: kind.as_str().into(),
            name: new.name.trim().to_string(),
            parent_id: parent.map(|p| p.id),
            level,
            region_code,
            uscc,
            uscc_flagged,
            created_at: self.now(),
        };
        self.store.insert_organisation(&o).await.map_err(|e| match e {
            e @ idp_core::StoreError::Conflict(_) => {
                anyhow::Error::new(e).context("an organisation with this unified social credit code exists")
            }
            e => e.into(),
        })?;
        let detail =
            serde_json::json!({"organisation": o.id, "kind": o.kind, "uscc_flagged": o.uscc_flagged});
        self.audit_by(&tenant.id, "organisation_added", None, detail, by).await?;
        Ok(o)
    }

    /// The tenant's organisations in tree order; with `under`, that organisation's subtree.
    pub async fn organisations(&self, slug: &str, under: Option<&str>) -> anyhow::Result<Vec<Organisation>> {
        let tenant = self.tenant(slug).await?;
        let path = match under {
            Some(id) => {
                self.store
                    .organisation(&tenant.id, id)
                    .await?
                    .with_context(|| format!("no organisation {id:?}"))?
                    .path
            }
            None => "/".into(),
        };
        Ok(self.store.organisations_under(&tenant.id, &path).await?)
    }

    /// Records a change of an enterprise's registered legal representative (registry data:
    /// name and ID number, kept as its keyed hash). The new representative then binds on the
    /// account pages, which ends every earlier enterprise role.
    pub async fn set_representative(
        &self,
        slug: &str,
        organisation_id: &str,
        name: &str,
        id_number: &str,
    ) -> anyhow::Result<()> {
        let tenant = self.tenant(slug).await?;
        let o = self
            .store
            .organisation(&tenant.id, organisation_id)
            .await?
            .with_context(|| format!("no organisation {organisation_id:?}"))?;
        if o.kind != "enterprise" {
            anyhow::bail!("only an enterprise has a legal representative");
        }
        let id = idp_core::identifiers::parse_person_id(id_number.trim(), self.now())
            .map_err(|e| anyhow!("the representative's ID number: {e}"))?;
        let hash = idp_core::realname::id_hash(&self.kek, &tenant.id, &id.number);
        self.store.set_representative(&tenant.id, &o.id, name.trim(), &hash, false).await?;
        self.audit(&tenant.id, "representative_registered", None, serde_json::json!({"organisation": o.id}))
            .await?;
        Ok(())
    }

    /// Makes `login` staff of the organisation with `roles`.
    pub async fn add_membership(
        &self,
        slug: &str,
        login: &str,
        organisation_id: &str,
        roles: Vec<String>,
    ) -> anyhow::Result<Membership> {
        self.add_membership_by(slug, login, organisation_id, roles, OPERATOR).await
    }

    /// [`Ops::add_membership`] by `by`.
    pub async fn add_membership_by(
        &self,
        slug: &str,
        login: &str,
        organisation_id: &str,
        roles: Vec<String>,
        by: &str,
    ) -> anyhow::Result<Membership> {
        let account = self.account(slug, login).await?;
        let o = self
            .store
            .organisation(&account.tenant_id, organisation_id)
            .await?
            .with_context(|| format!("no organisation {organisation_id:?}"))?;
        if o.kind == "enterprise" {
            anyhow::bail!(
                "staff memberships are in government bodies and departments; enterprise roles come with mandates"
            );
        }
        let now = self.now();
        let live = self.store.memberships(&account.id).await?;
        if live.iter().any(|m| m.organisation_id == o.id && m.kind == "staff" && m.active(now)) {
            return Err(idp_core::StoreError::Conflict(format!(
                "{login} is already a member of {}: change or end that membership instead",
                o.name
            ))
            .into());
        }
        let roles: Vec<String> =
            roles.into_iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
        if roles.iter().any(|r| r.len() > 64 || r.chars().any(|c| c.is_whitespace() || c.is_control())) {
            anyhow::bail!("a role is a word of at most 64 characters");
        }
        let m = Membership {
            id: random_token(self.env.as_ref(), 9).replace(['-', '_'], "x"),
            tenant_id: account.tenant_id.clone(),
            account_id: account.id.clone(),
            organisation_id: o.id,
            kind: "staff".into(),
            roles,
            created_at: self.now(),
            revoked_at: None,
            matters: vec![],
            starts_at: None,
            expires_at: None,
            confirmed_at: None,
            granted_by: None,
            source: None,
        };
        self.store.insert_membership(&m).await?;
        let detail =
            serde_json::json!({"membership": m.id, "organisation": m.organisation_id, "roles": m.roles});
        self.audit_by(&account.tenant_id, "membership_added", Some(&account.id), detail, by).await?;
        Ok(m)
    }

    pub async fn memberships(&self, slug: &str, login: &str) -> anyhow::Result<Vec<Membership>> {
        let account = self.account(slug, login).await?;
        Ok(self.store.memberships(&account.id).await?)
    }

    /// Ends a membership now (its tokens stop carrying it; see the acting context).
    pub async fn revoke_membership(&self, slug: &str, id: &str) -> anyhow::Result<Membership> {
        self.revoke_membership_by(slug, id, OPERATOR).await
    }

    /// [`Ops::revoke_membership`] by `by`.
    pub async fn revoke_membership_by(&self, slug: &str, id: &str, by: &str) -> anyhow::Result<Membership> {
        let tenant = self.tenant(slug).await?;
        let m = self
            .store
            .revoke_membership(&tenant.id, id, self.now())
            .await?
            .with_context(|| format!("no live membership {id:?} in tenant {slug:?}"))?;
        let detail = serde_json::json!({"membership": m.id, "organisation": m.organisation_id});
        self.audit_by(&tenant.id, "membership_revoked", Some(&m.account_id), detail, by).await?;
        Ok(m)
    }
}
