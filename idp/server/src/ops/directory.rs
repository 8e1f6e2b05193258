//! Syncing a staff directory (`idp_core::directory` plans it, `crate::outbound::ldap` reads
//! it): `idp directory sync [--dry-run]` and the scheduled sync both come here. A plan with
//! conflicts is reported and nothing is written; otherwise its changes are carried out in order
//! (departments, accounts, ended and new memberships, records), each audited, and the sync as a
//! whole (`directory_synced`, with its counts).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use idp_core::directory::{self, Change, Known, Org, Person, Record};
use idp_core::org::{Membership, NewOrganisation};
use serde::Serialize;
use serde_json::json;

use super::{NewAccount, Ops};
use crate::outbound::ldap::Directory;

/// What a sync did (or, dry, would do).
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    pub directory: String,
    pub dry_run: bool,
    /// The changes in words, in order.
    pub changes: Vec<String>,
    /// What stopped everything but the endings of what was deleted or disabled.
    pub conflicts: Vec<String>,
    /// What the directory changed that a sync does not follow.
    pub notices: Vec<String>,
    /// Changes that failed (the others were carried out; the next sync tries again).
    pub errors: Vec<String>,
}

/// What the changes carried out so far in a run made of the plan's new units and users.
#[derive(Default)]
struct Made {
    orgs: BTreeMap<String, String>,
    people: BTreeMap<String, String>,
}

fn describe(c: &Change) -> String {
    match c {
        Change::AddUnit { dn, name, .. } => format!("add department {name} ({dn})"),
        Change::AddUser { dn, username, .. } => format!("add account {username} ({dn})"),
        Change::End { membership, why } => format!("end membership {membership}: {why}"),
        Change::Join { person, org, roles } => {
            let who = match person {
                Person::Existing(a) | Person::New(a) => a,
            };
            let to = match org {
                Org::Existing(o) | Org::New(o) => o,
            };
            format!("staff membership of {who} in {to} with roles [{}]", roles.join(", "))
        }
        Change::Forget { uuid } => format!("forget entry {uuid}"),
        Change::Remember { record } => format!("note entry {} ({})", record.uuid, record.dn),
    }
}

impl Ops {
    /// Syncs directory `d`; with `dry_run`, only says what it would change.
    pub async fn sync_directory(&self, d: &Directory, dry_run: bool) -> anyhow::Result<SyncReport> {
        let tenant = self.tenant(&d.tenant).await?;
        let tenant_id = tenant.id.clone();
        if self.store.organisation(&tenant_id, &d.mapping.parent).await?.is_none() {
            bail!(
                "directory {}: the parent organisation {:?} is not in tenant {}",
                d.name,
                d.mapping.parent,
                d.tenant
            );
        }
        let records = self.store.directory_records(&tenant_id, &d.name).await?;
        let snapshot = crate::outbound::ldap::snapshot(d, &records)
            .await
            .map_err(|e| anyhow!("directory {}: {e}", d.name))?;
        // the usernames new users would take
        let mut usernames = BTreeMap::new();
        let known_uuids: std::collections::BTreeSet<&str> = records.iter().map(|r| r.uuid.as_str()).collect();
        for u in snapshot.users.iter().filter(|u| !known_uuids.contains(u.uuid.as_str())) {
            let Some(name) = u.attrs.get(&d.mapping.username.to_ascii_lowercase()).and_then(|v| v.first())
            else {
                continue;
            };
            let name = name.trim().to_lowercase();
            if let Some(a) = self.store.account_by_login(&tenant_id, &name).await? {
                usernames.insert(name, a.id);
            }
        }
        let memberships = self.store.memberships_from(&tenant_id, &directory::source(&d.name)).await?;
        let known = Known { records, usernames, memberships };
        let plan = directory::plan(&d.name, &d.mapping, &snapshot, &known);
        let mut report = SyncReport {
            directory: d.name.clone(),
            dry_run,
            changes: plan.changes.iter().map(describe).collect(),
            conflicts: plan.conflicts.clone(),
            notices: plan.notices.clone(),
            errors: vec![],
        };
        if dry_run {
            return Ok(report);
        }
        if !plan.conflicts.is_empty() {
            let detail = json!({"directory": d.name, "conflicts": plan.conflicts});
            self.audit(&tenant_id, "directory_conflicts", None, detail).await?;
        }
        if plan.changes.is_empty() {
            return Ok(report);
        }
        let mut made = Made::default();
        for change in plan.changes {
            let what = describe(&change);
            if let Err(e) = self.carry_out(&d.name, &tenant.slug, &tenant_id, change, &mut made).await {
                tracing::warn!(directory = %d.name, change = %what, error = %e, "a directory change failed");
                report.errors.push(format!("{what}: {e}"));
            }
        }
        let detail = json!({
            "directory": d.name, "changes": report.changes.len(), "errors": report.errors,
            "conflicts": report.conflicts.len(),
        });
        self.audit(&tenant_id, "directory_synced", None, detail).await?;
        Ok(report)
    }

    /// Carries one change out; one that fails is reported by the caller and the others go on
    /// (what depends on it fails in turn; the next sync tries again).
    async fn carry_out(
        &self,
        name: &str,
        slug: &str,
        tenant_id: &str,
        change: Change,
        made: &mut Made,
    ) -> anyhow::Result<()> {
        let now = self.now();
        let by = format!("directory:{name}");
        match change {
            Change::AddUnit { uuid, dn, name: unit, parent, modified } => {
                let parent = match parent {
                    Org::Existing(o) => o,
                    Org::New(u) => {
                        made.orgs.get(&u).cloned().ok_or_else(|| anyhow!("unit {u} was not added"))?
                    }
                };
                let new = NewOrganisation { kind: "department".into(), name: unit, ..Default::default() };
                let o = self.add_organisation_by(slug, Some(&parent), new, &by).await?;
                let record =
                    Record { uuid: uuid.clone(), kind: "unit".into(), dn, target: o.id.clone(), modified };
                self.store.put_directory_record(tenant_id, name, &record).await?;
                made.orgs.insert(uuid, o.id);
            }
            Change::AddUser { uuid, dn, username, name: person, phone: _, email, modified } => {
                // the directory's phone number is not taken: here it would be a way to sign in
                // (SMS codes) beside the directory's password, and numbers are unique; an
                // address the account cannot take is left out (addresses stay unverified)
                let email = email.filter(|e| super::accounts::check_email(e).is_ok());
                let new =
                    NewAccount { username, password: None, name: person, phone: None, email, roles: vec![] };
                let a = self.add_account(slug, new).await?;
                let record =
                    Record { uuid: uuid.clone(), kind: "user".into(), dn, target: a.id.clone(), modified };
                self.store.put_directory_record(tenant_id, name, &record).await?;
                let detail = json!({"via": "directory", "directory": name});
                self.audit(tenant_id, "account_registered", Some(&a.id), detail).await?;
                made.people.insert(uuid, a.id);
            }
            Change::End { membership, why } => {
                if let Some(m) = self.store.revoke_membership(tenant_id, &membership, now).await? {
                    let detail = json!({"membership": m.id, "organisation": m.organisation_id, "directory": name, "reason": why});
                    self.audit(tenant_id, "membership_ended", Some(&m.account_id), detail).await?;
                }
            }
            Change::Join { person, org, roles } => {
                let account = match person {
                    Person::Existing(a) => a,
                    Person::New(u) => {
                        made.people.get(&u).cloned().ok_or_else(|| anyhow!("user {u} was not added"))?
                    }
                };
                let org = match org {
                    Org::Existing(o) => o,
                    Org::New(u) => {
                        made.orgs.get(&u).cloned().ok_or_else(|| anyhow!("unit {u} was not added"))?
                    }
                };
                let m = Membership {
                    id: idp_core::crypto::random_token(self.env.as_ref(), 9).replace(['-', '_'], "x"),
                    tenant_id: tenant_id.to_string(),
                    account_id: account.clone(),
                    organisation_id: org.clone(),
                    kind: "staff".into(),
                    roles,
                    created_at: now,
                    revoked_at: None,
                    matters: vec![],
                    starts_at: None,
                    expires_at: None,
                    confirmed_at: None,
                    granted_by: None,
                    source: Some(directory::source(name)),
                };
                self.store.insert_membership(&m).await?;
                let detail =
                    json!({"membership": m.id, "organisation": org, "roles": m.roles, "directory": name});
                self.audit(tenant_id, "membership_added", Some(&account), detail).await?;
            }
            Change::Forget { uuid } => self.store.forget_directory_record(tenant_id, name, &uuid).await?,
            Change::Remember { record } => self.store.put_directory_record(tenant_id, name, &record).await?,
        }
        Ok(())
    }
}
