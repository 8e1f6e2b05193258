//! SCIM Users: the accounts a client provisioned. `userName` is the account's username,
//! `active` its enabled state, the primary (or first) email its unverified email, `name`
//! (formatted, else `displayName`, else family and given name) its name; the rest is kept as
//! the client's data. `roles` decide the roles of the user's staff memberships, through the
//! client's mapping. `groups` are read-only: membership is written on the Group.

use std::collections::HashMap;

use axum::http::StatusCode;
use idp_core::model::Account;
use idp_core::org::Membership;
use idp_core::scim::list::Search;
use idp_core::scim::schema::{self, GROUPS, USERS};
use idp_core::scim::{DISABLED_BY_CLIENT, Record, filter, patch};
use serde_json::{Value, json};

use super::{Result, Scim, ScimError, check_if_match, finish};
use crate::ops::{NewAccount, accounts};

pub const KIND: &str = "User";

/// The record and account of a user the client provisioned.
pub async fn load(s: &Scim, id: &str) -> Result<(Record, Account)> {
    let rec = super::owned(s, KIND, id).await?;
    let account = s.state.store().account(s.tenant_id(), id).await?.ok_or_else(ScimError::not_found)?;
    Ok((rec, account))
}

async fn render(s: &Scim, rec: &Record, account: &Account) -> Result<Value> {
    let memberships = s.memberships_of_account(&account.id).await?;
    render_with(s, rec, account, &memberships, &mut HashMap::new()).await
}

/// A user as SCIM, with the client's live `memberships` of it and a cache of department names.
async fn render_with(
    s: &Scim,
    rec: &Record,
    account: &Account,
    memberships: &[Membership],
    names: &mut HashMap<String, String>,
) -> Result<Value> {
    let mut v = rec.data.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove(DISABLED_BY_CLIENT);
    }
    v["id"] = json!(account.id);
    v["userName"] = json!(account.username);
    v["active"] = json!(!account.disabled);
    let mut groups = vec![];
    for m in memberships {
        let name = match names.get(&m.organisation_id) {
            Some(n) => n.clone(),
            None => {
                let org = s.state.store().organisation(s.tenant_id(), &m.organisation_id).await?;
                let n = org.map(|o| o.name).unwrap_or_default();
                names.insert(m.organisation_id.clone(), n.clone());
                n
            }
        };
        groups.push(json!({
            "value": m.organisation_id,
            "$ref": s.location(&GROUPS, &m.organisation_id),
            "display": name,
            "type": "direct",
        }));
    }
    if !groups.is_empty() {
        v["groups"] = Value::Array(groups);
    }
    let modified = rec.updated_at.max(account.updated_at);
    Ok(finish(&USERS, s.location(&USERS, &account.id), rec.created_at, modified, v))
}

/// The users the client provisioned that a search may match, as SCIM: the one its filter names
/// by `userName` or `id` when it does (an HR system's lookup before each write), else all.
pub async fn all(s: &Scim, search: &Search) -> Result<Vec<Value>> {
    let store = s.state.store();
    let mine = |r: &Record| r.client_id == s.client.client_id;
    let records = if let Some(name) = search.equals("userName") {
        match store.account_by_login(s.tenant_id(), &name.trim().to_lowercase()).await? {
            Some(a) => {
                store.scim_record(s.tenant_id(), KIND, &a.id).await?.filter(mine).into_iter().collect()
            }
            None => vec![],
        }
    } else if let Some(id) = search.equals("id") {
        store.scim_record(s.tenant_id(), KIND, id).await?.filter(mine).into_iter().collect()
    } else {
        store.scim_records(s.tenant_id(), &s.client.client_id, KIND).await?
    };
    // the client's memberships at once, not one read per user
    let now = s.now();
    let mut by_account: HashMap<String, Vec<Membership>> = HashMap::new();
    for m in store.memberships_from(s.tenant_id(), &s.source).await?.into_iter().filter(|m| m.active(now)) {
        by_account.entry(m.account_id.clone()).or_default().push(m);
    }
    let mut names = HashMap::new();
    let mut out = vec![];
    for rec in records {
        if let Some(account) = store.account(s.tenant_id(), &rec.id).await? {
            let ms = by_account.get(&rec.id).map(Vec::as_slice).unwrap_or_default();
            out.push(render_with(s, &rec, &account, ms, &mut names).await?);
        }
    }
    Ok(out)
}

pub async fn read(s: &Scim, id: &str) -> Result<Value> {
    let (rec, account) = load(s, id).await?;
    render(s, &rec, &account).await
}

/// What the account takes from a user's SCIM data.
struct Fields {
    username: String,
    name: Option<String>,
    email: Option<String>,
    active: Option<bool>,
    password: Option<String>,
    /// The roles its staff memberships carry (the client's mapping of `roles`).
    roles: Vec<String>,
}

fn text<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

/// A full name from its parts: a Chinese name is the family name then the given name, written
/// together; others, given name first.
fn joined(family: &str, given: &str) -> String {
    let cjk = |t: &str| t.chars().any(|c| ('\u{2e80}'..='\u{9fff}').contains(&c));
    if cjk(family) || cjk(given) { format!("{family}{given}") } else { format!("{given} {family}") }
}

/// The roles `data`'s `roles` grant under the client's mapping. A value the mapping does not
/// name is refused when it is new; one `before` held already (the operator has since taken it
/// out of the mapping) grants nothing, so that the user's other changes, and its offboarding,
/// still go through.
pub fn roles_of(s: &Scim, data: &Value, before: Option<&Value>) -> Result<Vec<String>> {
    let values = |d: &Value| -> Vec<String> {
        match d.get("roles") {
            Some(Value::Array(items)) => {
                items.iter().filter_map(|r| Some(r.get("value")?.as_str()?.to_string())).collect()
            }
            _ => vec![],
        }
    };
    let held = before.map(values).unwrap_or_default();
    let mapped: Vec<String> =
        values(data).into_iter().filter(|v| s.settings.roles.contains_key(v) || !held.contains(v)).collect();
    s.settings.roles_for(mapped.iter().map(String::as_str)).map_err(|v| {
        ScimError::bad(
            "invalidValue",
            format!("The role {v:?} is not in this client's mapping (scim.roles)."),
        )
    })
}

fn fields(s: &Scim, c: &Value, before: Option<&Value>) -> Result<Fields> {
    // the rules of every account's username (never a phone number: that would take the
    // number's sign-in, and a 409 would tell whether it is registered here)
    let username = accounts::username(c["userName"].as_str().unwrap_or_default())
        .map_err(|e| ScimError::bad("invalidValue", format!("userName: {e}")))?;
    let name = text(c, "/name/formatted")
        .map(str::to_string)
        .or_else(|| text(c, "/displayName").map(str::to_string))
        .or_else(|| Some(joined(text(c, "/name/familyName")?, text(c, "/name/givenName")?)));
    let emails = c.get("emails").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let email = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or(emails.first())
        .and_then(|e| e.get("value")?.as_str())
        .map(|e| e.trim().to_string());
    if let Some(e) = &email {
        accounts::check_email(e).map_err(|e| ScimError::bad("invalidValue", format!("emails: {e}")))?;
    }
    Ok(Fields {
        username,
        name,
        email,
        active: c.get("active").and_then(Value::as_bool),
        password: c.get("password").and_then(Value::as_str).map(str::to_string),
        roles: roles_of(s, c, before)?,
    })
}

/// The data kept: what the client wrote, without the password.
fn kept(mut c: Value, disabled_by_client: bool) -> Value {
    if let Some(o) = c.as_object_mut() {
        o.remove("password");
        if disabled_by_client {
            o.insert(DISABLED_BY_CLIENT.into(), Value::Bool(true));
        }
    }
    c
}

/// Whether the account holds more than this client gave it: an account role (every one is
/// staff or administration), or a live membership from elsewhere (an administrator, the
/// licence, a directory, another client). Its way in (username, password, whether it may sign
/// in) and its existence are then an administrator's to change, not an HR feed's.
async fn beyond_client(s: &Scim, account: &Account) -> Result<bool> {
    if !account.roles.is_empty() {
        return Ok(true);
    }
    let now = s.now();
    let all = s.state.store().memberships(&account.id).await?;
    // not only the active ones: one that begins later, or a mandate not yet confirmed, is an
    // administrator's grant as much
    Ok(all.iter().any(|m| {
        m.revoked_at.is_none()
            && m.expires_at.is_none_or(|e| now < e)
            && m.source.as_deref() != Some(s.source.as_str())
    }))
}

fn managed_here(what: &str) -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        Some("mutability"),
        format!("{what}: the account holds roles granted here, and an administrator manages it now."),
    )
}

/// A new password's hash, off the async threads and under the server's Argon2 permits.
async fn hash(s: &Scim, pw: &str) -> Result<String> {
    crate::http::account::password::hash_new(&s.state, pw)
        .await
        .ok_or_else(|| ScimError::failed("a password could not be hashed"))
}

/// The tenant's password rules, as a SCIM refusal.
fn check_password(s: &Scim, pw: &str, f: &Fields) -> Result<()> {
    let about = [Some(f.username.as_str()), f.name.as_deref(), f.email.as_deref()];
    accounts::check_password(&s.t.tenant, pw, about)
        .map_err(|e| ScimError::bad("invalidValue", format!("password: {e}")))
}

async fn taken(s: &Scim, username: &str, other_than: Option<&str>) -> Result<()> {
    match s.state.store().account_by_login(s.tenant_id(), username).await? {
        Some(a) if Some(a.id.as_str()) != other_than => {
            Err(ScimError::conflict(format!("The userName {username:?} is taken in this tenant.")))
        }
        _ => Ok(()),
    }
}

pub async fn create(s: &Scim, body: Value) -> Result<Value> {
    let c = schema::clean(&USERS, &body)?;
    let f = fields(s, &c, None)?;
    taken(s, &f.username, None).await?;
    if let Some(pw) = &f.password {
        // checked here so that a refusal is SCIM's; the account is made (and it hashed) below
        check_password(s, pw, &f)?;
    }
    let hash = match &f.password {
        Some(pw) => Some(hash(s, pw).await?),
        None => None,
    };
    let new = NewAccount {
        username: f.username.clone(),
        password: None,
        name: f.name.clone(),
        phone: None,
        email: f.email.clone(),
        roles: vec![],
    };
    // everything the operation checks was checked above: what it still refuses is a race
    // for the username, or a failure of this server
    let account = s.state.ops.add_account(&s.t.tenant.slug, new).await.map_err(|e| match e
        .downcast_ref::<idp_core::StoreError>(
    ) {
        None if e.to_string().contains("taken") => {
            ScimError::conflict("The userName is taken in this tenant.")
        }
        _ => ScimError::failed(e),
    })?;
    let now = s.now();
    let rec = Record {
        tenant_id: s.tenant_id().to_string(),
        client_id: s.client.client_id.clone(),
        kind: KIND.into(),
        id: account.id.clone(),
        data: kept(c, f.active == Some(false)),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let store = s.state.store();
    let finished = async {
        if !store.insert_scim_record(&rec).await? {
            return Err(ScimError::failed("the SCIM record of a new account could not be written"));
        }
        if let Some(hash) = &hash {
            store.set_password_hash(s.tenant_id(), &account.id, hash, now).await?;
        }
        if f.active == Some(false) {
            store.set_account_disabled(s.tenant_id(), &account.id, true, now).await?;
        }
        Ok(())
    };
    if let Err(e) = finished.await {
        // nothing half-made: the account (and its record) go again
        store.delete_account(s.tenant_id(), &account.id).await?;
        return Err(e);
    }
    s.audit("account_registered", Some(&account.id), json!({})).await?;
    read(s, &account.id).await
}

/// The resource a PATCH makes of `current` (read-only attributes must stay as they are).
pub fn patched(current: &Value, body: Value, read_only: &[&str]) -> Result<Value> {
    let req: patch::PatchRequest = serde_json::from_value(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("Not a PatchOp: {e}")))?;
    if !req.schemas.iter().any(|x| x == patch::SCHEMA) {
        return Err(ScimError::bad("invalidValue", format!("schemas must list {}", patch::SCHEMA)));
    }
    let mut base = current.clone();
    if let Some(o) = base.as_object_mut() {
        o.remove("meta");
    }
    let new = patch::apply(&base, &req).map_err(|e| ScimError::bad(e.scim_type(), e.to_string()))?;
    for k in read_only {
        if filter::get(&new, k) != filter::get(&base, k) {
            return Err(ScimError::bad("mutability", format!("{k} is read-only.")));
        }
    }
    Ok(new)
}

/// PUT (`patch` false) or PATCH.
pub async fn replace(s: &Scim, id: &str, body: Value, if_match: Option<&str>, patch: bool) -> Result<Value> {
    let (rec, account) = load(s, id).await?;
    let current = render(s, &rec, &account).await?;
    check_if_match(if_match, &current)?;
    let body = if patch { patched(&current, body, &["id", "groups"])? } else { body };
    let c = schema::clean(&USERS, &body)?;
    let f = fields(s, &c, Some(&rec.data))?;
    let beyond = beyond_client(s, &account).await?;
    if f.username != account.username {
        if beyond {
            return Err(managed_here("userName"));
        }
        taken(s, &f.username, Some(id)).await?;
    }
    let hash = match f.password.as_deref() {
        // a first password only: once the account has one, it is the person's to change
        Some(_) if account.password_hash.is_some() => {
            return Err(ScimError::bad(
                "mutability",
                "The account has a password: the person changes it now.",
            ));
        }
        Some(_) if beyond => return Err(managed_here("password")),
        Some(pw) => {
            check_password(s, pw, &f)?;
            Some(hash(s, pw).await?)
        }
        None => None,
    };
    let was_ours = rec.data.get(DISABLED_BY_CLIENT) == Some(&Value::Bool(true));
    // `active` as asked, where this client may decide it: it disables what is enabled (unless
    // an administrator manages the account), and enables only what it disabled itself
    let toggle = match f.active {
        Some(false) if !account.disabled && beyond => return Err(managed_here("active")),
        Some(false) if !account.disabled => Some(false),
        Some(true) if account.disabled && was_ours => Some(true),
        _ => None,
    };
    let disabled_by_client = match toggle {
        Some(v) => !v,
        None => was_ours && account.disabled,
    };
    let now = s.now();
    let store = s.state.store();
    // the version first: of two writes from the same version, one wins and the other is told
    let next = Record { data: kept(c, disabled_by_client), version: rec.version + 1, updated_at: now, ..rec };
    if !store.update_scim_record(&next).await? {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            None,
            "The user changed while this request was written: read it and try again.",
        ));
    }
    // an account an administrator manages keeps its name and email (and the email's
    // verification): the feed's are kept as its data only
    if !beyond {
        store
            .update_account_details(
                s.tenant_id(),
                id,
                &f.username,
                f.name.as_deref(),
                f.email.as_deref(),
                now,
            )
            .await?;
    }
    if let Some(hash) = hash {
        store.set_password_hash(s.tenant_id(), id, &hash, now).await?;
        s.audit("password_set", Some(id), json!({})).await?;
    }
    if let Some(active) = toggle {
        store.set_account_disabled(s.tenant_id(), id, !active, now).await?;
        if !active {
            // with the logouts the applications it signed in to are told of
            s.state.ops.end_account_sessions(s.tenant_id(), id).await.map_err(ScimError::failed)?;
        }
        s.audit(if active { "account_enabled" } else { "account_disabled" }, Some(id), json!({})).await?;
    }
    for m in s.memberships_of_account(id).await? {
        if m.roles != f.roles {
            s.end(&m, "the user's roles changed").await?;
            s.join(id, &m.organisation_id, &f.roles).await?;
        }
    }
    s.audit("account_updated", Some(id), json!({})).await?;
    read(s, id).await
}

/// Deletes the account (its history stays in the audit trail), ending its memberships first.
pub async fn delete(s: &Scim, id: &str, if_match: Option<&str>) -> Result<()> {
    let (rec, account) = load(s, id).await?;
    check_if_match(if_match, &render(s, &rec, &account).await?)?;
    if beyond_client(s, &account).await? {
        return Err(managed_here("DELETE"));
    }
    for m in s.memberships_of_account(id).await? {
        s.end(&m, "the user was deleted").await?;
    }
    s.state.ops.end_account_sessions(s.tenant_id(), id).await.map_err(ScimError::failed)?;
    s.state.store().delete_account(s.tenant_id(), id).await?;
    s.audit("account_deleted", Some(id), json!({"username": account.username})).await
}
