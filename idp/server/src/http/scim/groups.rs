//! SCIM Groups: the departments a client made under its registered parent organisation.
//! `displayName` is the department's name; `members` are the users (of the same client) who
//! are its staff, each membership carrying the roles the client's mapping gives the user's
//! `roles`. Groups are not nested here (a member is a User). Deleting a group ends its
//! memberships and releases the department from the client; the department itself stays,
//! with its history, for an administrator to keep or remove.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use idp_core::org::{Membership, NewOrganisation, Organisation};
use idp_core::scim::Record;
use idp_core::scim::list::Search;
use idp_core::scim::schema::{self, GROUPS, USERS};
use serde_json::{Value, json};

use super::{Result, Scim, ScimError, check_if_match, finish, users};

pub const KIND: &str = "Group";

async fn load(s: &Scim, id: &str) -> Result<(Record, Organisation)> {
    let rec = super::owned(s, KIND, id).await?;
    let org = s.state.store().organisation(s.tenant_id(), id).await?.ok_or_else(ScimError::not_found)?;
    Ok((rec, org))
}

async fn render(s: &Scim, rec: &Record, org: &Organisation) -> Result<Value> {
    let memberships = s.memberships_in(&org.id).await?;
    render_with(s, rec, org, &memberships, &mut HashMap::new()).await
}

/// A group as SCIM, with the client's live `memberships` in it and a cache of usernames.
async fn render_with(
    s: &Scim,
    rec: &Record,
    org: &Organisation,
    memberships: &[Membership],
    usernames: &mut HashMap<String, String>,
) -> Result<Value> {
    let mut v = rec.data.clone();
    v["id"] = json!(org.id);
    v["displayName"] = json!(org.name);
    let mut members = vec![];
    for m in memberships {
        let username = match usernames.get(&m.account_id) {
            Some(u) => u.clone(),
            None => {
                let account = s.state.store().account(s.tenant_id(), &m.account_id).await?;
                let u = account.map(|a| a.username).unwrap_or_default();
                usernames.insert(m.account_id.clone(), u.clone());
                u
            }
        };
        members.push(json!({
            "value": m.account_id,
            "$ref": s.location(&USERS, &m.account_id),
            "display": username,
            "type": "User",
        }));
    }
    if !members.is_empty() {
        v["members"] = Value::Array(members);
    }
    Ok(finish(&GROUPS, s.location(&GROUPS, &org.id), rec.created_at, rec.updated_at, v))
}

/// The groups the client made that a search may match, as SCIM (the one its filter names by
/// `id` when it does, else all).
pub async fn all(s: &Scim, search: &Search) -> Result<Vec<Value>> {
    let store = s.state.store();
    let records = match search.equals("id") {
        Some(id) => store
            .scim_record(s.tenant_id(), KIND, id)
            .await?
            .filter(|r| r.client_id == s.client.client_id)
            .into_iter()
            .collect(),
        None => store.scim_records(s.tenant_id(), &s.client.client_id, KIND).await?,
    };
    // the client's memberships at once, not one read per group
    let now = s.now();
    let mut by_org: HashMap<String, Vec<Membership>> = HashMap::new();
    for m in store.memberships_from(s.tenant_id(), &s.source).await?.into_iter().filter(|m| m.active(now)) {
        by_org.entry(m.organisation_id.clone()).or_default().push(m);
    }
    let mut usernames = HashMap::new();
    let mut out = vec![];
    for rec in records {
        if let Some(org) = store.organisation(s.tenant_id(), &rec.id).await? {
            let ms = by_org.get(&rec.id).map(Vec::as_slice).unwrap_or_default();
            out.push(render_with(s, &rec, &org, ms, &mut usernames).await?);
        }
    }
    Ok(out)
}

pub async fn read(s: &Scim, id: &str) -> Result<Value> {
    let (rec, org) = load(s, id).await?;
    render(s, &rec, &org).await
}

/// The department's name and its members (ids of the client's users), as the group says.
async fn wanted(s: &Scim, c: &Value) -> Result<(String, BTreeSet<String>)> {
    let name = c["displayName"].as_str().unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ScimError::bad("invalidValue", "displayName has 1-128 characters."));
    }
    let mut members = BTreeSet::new();
    for m in c.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        if m.get("type").and_then(Value::as_str).is_some_and(|t| !t.eq_ignore_ascii_case("User")) {
            return Err(ScimError::bad(
                "invalidValue",
                "A group's members are users: groups are not nested here.",
            ));
        }
        let Some(id) = m.get("value").and_then(Value::as_str) else {
            return Err(ScimError::bad("invalidValue", "A member needs its value (the user's id)."));
        };
        if users::load(s, id).await.is_err() {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{id:?} is not a user this client provisioned."),
            ));
        }
        members.insert(id.to_string());
    }
    Ok((name, members))
}

/// A department beside it under the parent (the client's or an administrator's) has the name:
/// a group must not pass for another department.
async fn name_taken(s: &Scim, name: &str, other_than: Option<&str>) -> Result<()> {
    let store = s.state.store();
    let Some(parent) = store.organisation(s.tenant_id(), &s.settings.parent).await? else {
        return Err(ScimError::failed("the SCIM registration's parent organisation is gone"));
    };
    let siblings = store.organisations_under(s.tenant_id(), &parent.path).await?;
    let clash = siblings.iter().any(|o| {
        o.parent_id.as_deref() == Some(parent.id.as_str())
            && Some(o.id.as_str()) != other_than
            && o.name.trim().to_lowercase() == name.trim().to_lowercase()
    });
    if clash {
        return Err(ScimError::conflict(format!("A department named {name:?} is there already.")));
    }
    Ok(())
}

/// The data kept: what the client wrote but the members (the memberships are their record).
fn kept(mut c: Value) -> Value {
    if let Some(o) = c.as_object_mut() {
        o.remove("members");
    }
    c
}

/// Makes the department's staff (those the client made) the `wanted` users.
async fn set_members(s: &Scim, org_id: &str, wanted: &BTreeSet<String>) -> Result<()> {
    let current = s.memberships_in(org_id).await?;
    for m in current.iter().filter(|m| !wanted.contains(&m.account_id)) {
        s.end(m, "removed from the group").await?;
    }
    for id in wanted.iter().filter(|id| !current.iter().any(|m| &m.account_id == *id)) {
        let (rec, _) = users::load(s, id).await?;
        let roles = users::roles_of(s, &rec.data, Some(&rec.data))?;
        s.join(id, org_id, &roles).await?;
    }
    Ok(())
}

pub async fn create(s: &Scim, body: Value) -> Result<Value> {
    let c = schema::clean(&GROUPS, &body)?;
    let (name, members) = wanted(s, &c).await?;
    name_taken(s, &name, None).await?;
    let new = NewOrganisation { kind: "department".into(), name, ..Default::default() };
    let org = s
        .state
        .ops
        .add_organisation_by(&s.t.tenant.slug, Some(s.settings.parent.as_str()), new, &s.source)
        .await
        // the name was checked above; what is left is the registration's parent gone, or a
        // failure of this server
        .map_err(ScimError::failed)?;
    let now = s.now();
    let rec = Record {
        tenant_id: s.tenant_id().to_string(),
        client_id: s.client.client_id.clone(),
        kind: KIND.into(),
        id: org.id.clone(),
        data: kept(c),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    if !s.state.store().insert_scim_record(&rec).await? {
        return Err(ScimError::failed("the SCIM record of a new department could not be written"));
    }
    set_members(s, &org.id, &members).await?;
    read(s, &org.id).await
}

/// PUT (`patch` false) or PATCH.
pub async fn replace(s: &Scim, id: &str, body: Value, if_match: Option<&str>, patch: bool) -> Result<Value> {
    let (rec, org) = load(s, id).await?;
    let current = render(s, &rec, &org).await?;
    check_if_match(if_match, &current)?;
    let body = if patch { users::patched(&current, body, &["id"])? } else { body };
    let c = schema::clean(&GROUPS, &body)?;
    let (name, members) = wanted(s, &c).await?;
    if name != org.name {
        name_taken(s, &name, Some(id)).await?;
    }
    let next = Record { data: kept(c), version: rec.version + 1, updated_at: s.now(), ..rec };
    if !s.state.store().update_scim_record(&next).await? {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            None,
            "The group changed while this request was written: read it and try again.",
        ));
    }
    if name != org.name {
        s.state.store().rename_organisation(s.tenant_id(), id, &name).await?;
        s.audit("organisation_renamed", None, json!({"organisation": id, "from": org.name, "to": name}))
            .await?;
    }
    set_members(s, id, &members).await?;
    read(s, id).await
}

pub async fn delete(s: &Scim, id: &str, if_match: Option<&str>) -> Result<()> {
    let (rec, org) = load(s, id).await?;
    check_if_match(if_match, &render(s, &rec, &org).await?)?;
    for m in s.memberships_in(id).await? {
        s.end(&m, "the group was deleted").await?;
    }
    s.state.store().delete_scim_record(s.tenant_id(), KIND, id).await?;
    s.audit("organisation_released", None, json!({"organisation": id, "name": org.name})).await
}
