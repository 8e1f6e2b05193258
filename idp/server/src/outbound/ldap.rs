//! Reading a staff directory over LDAP (the plan is `idp_core::directory`'s), and the
//! directory's bind as the password check of the accounts it provisioned.
//!
//! A directory is the operator's own, named in a file of `[directory] config_dir`
//! ([`Directory`]), so its address is not subject to `[outbound]` (as the OTLP collector is
//! not). `ldaps://` uses rustls with the system's roots; `ldap://` is for a directory on the
//! same host or a protected network only.
//!
//! **Incremental reads.** Units and users are listed with only their `entryUUID` and
//! `modifyTimestamp` (paged, 500 at a time, so a server's size limit does not cut the list);
//! their attributes are read only for entries that are new or whose timestamp moved since the
//! last sync — in one search from the oldest such timestamp. Groups are read whole at every sync
//! (a change of a group's members does not move its members' timestamps).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use idp_core::directory::{Entry, Mapping, Record, Snapshot};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::Deserialize;

const TIMEOUT: Duration = Duration::from_secs(15);

/// One directory, as its file in `[directory] config_dir` describes it (JSON).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Its name (a slug): the source of the memberships it makes.
    pub name: String,
    /// The tenant (slug) it provisions.
    pub tenant: String,
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Who the sync binds as (read access to the units, users and groups).
    pub bind_dn: String,
    /// A file holding that account's password.
    pub bind_password_file: std::path::PathBuf,
    /// The accounts it provisioned check their password by binding to the directory as
    /// themselves (where they have no password here).
    #[serde(default)]
    pub password_check: bool,
    /// How often it is synced by itself; 0: only by `idp directory sync`.
    #[serde(default = "default_interval")]
    pub interval_minutes: i64,
    pub mapping: Mapping,
    /// The bind password, read from the file at load.
    #[serde(skip)]
    password: String,
}

fn default_interval() -> i64 {
    15
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("name", &self.name).field("url", &self.url).finish_non_exhaustive()
    }
}

impl Directory {
    /// Reads and checks a directory's file (and its password file).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut d: Directory = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a directory's description: {e}", path.display()))?;
        if !crate::ops::valid_slug(&d.name) {
            anyhow::bail!("{}: name is 1-40 characters of a-z, 0-9 and '-'", path.display());
        }
        if !(d.url.starts_with("ldap://") || d.url.starts_with("ldaps://")) {
            anyhow::bail!("{}: url is ldap:// or ldaps://", path.display());
        }
        d.mapping.check().map_err(|e| anyhow::anyhow!("{}: mapping: {e}", path.display()))?;
        d.password = std::fs::read_to_string(&d.bind_password_file)
            .map_err(|e| anyhow::anyhow!("{}: bind_password_file: {e}", path.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_string();
        Ok(d)
    }

    /// The directories `[directory] config_dir` describes (none without one).
    pub fn configured(config: &crate::config::Config) -> anyhow::Result<Vec<Directory>> {
        match config.directory.config_dir.as_str() {
            "" => Ok(vec![]),
            dir => Self::load_all(Path::new(dir)),
        }
    }

    /// Every `*.json` file of `dir`, by name; two with one name are an error.
    pub fn load_all(dir: &Path) -> anyhow::Result<Vec<Directory>> {
        let mut out: Vec<Directory> = vec![];
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for p in paths {
            let d = Directory::load(&p)?;
            if out.iter().any(|o| o.name == d.name) {
                anyhow::bail!("two directories are named {:?}", d.name);
            }
            out.push(d);
        }
        Ok(out)
    }
}

async fn connect(url: &str) -> Result<Ldap, String> {
    let settings = LdapConnSettings::new().set_conn_timeout(TIMEOUT);
    let (conn, ldap) =
        LdapConnAsync::with_settings(settings, url).await.map_err(|e| format!("cannot reach {url}: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(error = %e, "an LDAP connection ended");
        }
    });
    Ok(ldap)
}

/// Where account `account_id` of tenant `t` checks its password, if a staff directory with
/// `password_check` provisioned it: the directory and the entry's `entryUUID`.
pub async fn bind_target(
    state: &crate::state::AppState,
    t: &crate::state::TenantCtx,
    account_id: &str,
) -> Option<(Directory, String)> {
    let checking = state.directories().iter().any(|d| d.password_check && d.tenant == t.tenant.slug);
    if !checking {
        return None;
    }
    let (name, record) = state.store().directory_record_of(&t.tenant.id, account_id).await.ok()??;
    let d = state
        .directories()
        .iter()
        .find(|d| d.name == name && d.password_check && d.tenant == t.tenant.slug)?;
    Some((d.clone(), record.uuid))
}

/// At most this many password checks against directories at once (each waits for a free
/// one): a slow directory does not gather every worker of the sign-in page.
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// How long one password check may take in all.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `password` is the password of the entry `uuid` of directory `d`: the entry is found
/// by its `entryUUID` (as the sync's account; among the users, not disabled) — never by a DN
/// remembered earlier, which another entry may have taken since — and bound to as itself. An
/// empty password is refused before anything is sent (many servers take it as an anonymous
/// bind).
pub async fn check_password(d: &Directory, uuid: &str, password: &str) -> Result<bool, String> {
    if password.is_empty() || uuid.is_empty() {
        return Ok(false);
    }
    let _permit = CHECKS.acquire().await.map_err(|_| "closed")?;
    let work = async {
        let mut ldap = connect(&d.url).await?;
        let r = ldap.simple_bind(&d.bind_dn, &d.password).await.map_err(|e| format!("bind: {e}"))?;
        if r.rc != 0 {
            return Err(format!("the directory refused the sync's bind ({})", r.rc));
        }
        let m = &d.mapping;
        let mut filter = format!("(&{}(entryUUID={}))", m.user_filter, ldap3::ldap_escape(uuid));
        if !m.disabled_filter.is_empty() {
            filter = format!("(&{filter}(!{}))", m.disabled_filter);
        }
        let found = search(&mut ldap, &m.base_dn, &filter, &["entryUUID"]).await?;
        let [entry] = found.as_slice() else { return Ok(false) };
        let r = ldap.simple_bind(&entry.dn, password).await.map_err(|e| format!("bind: {e}"))?;
        let _ = ldap.unbind().await;
        match r.rc {
            0 => Ok(true),
            // invalidCredentials, inappropriateAuthentication, unwillingToPerform
            49 | 48 | 53 => Ok(false),
            rc => Err(format!("bind answered {rc}")),
        }
    };
    tokio::time::timeout(CHECK_TIMEOUT, work)
        .await
        .map_err(|_| "the directory did not answer in time".to_string())?
}

/// Searches `filter` under `base`, paged, for `attrs`.
async fn search(ldap: &mut Ldap, base: &str, filter: &str, attrs: &[&str]) -> Result<Vec<Entry>, String> {
    let adapters: Vec<Box<dyn Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(500))];
    let mut stream = ldap
        .with_timeout(TIMEOUT)
        .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .map_err(|e| format!("search {filter}: {e}"))?;
    let mut out = vec![];
    while let Some(e) = stream.next().await.map_err(|e| format!("search {filter}: {e}"))? {
        let e = SearchEntry::construct(e);
        let mut attrs: BTreeMap<String, Vec<String>> =
            e.attrs.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let one = |attrs: &mut BTreeMap<String, Vec<String>>, k: &str| {
            attrs.remove(k).and_then(|v| v.into_iter().next()).unwrap_or_default()
        };
        let uuid = one(&mut attrs, "entryuuid");
        let modified = one(&mut attrs, "modifytimestamp");
        out.push(Entry { dn: e.dn, uuid, modified, attrs });
    }
    stream.finish().await.success().map_err(|e| format!("search {filter}: {e}"))?;
    Ok(out)
}

/// What a sync of `d` reads, given its earlier `records`.
pub async fn snapshot(d: &Directory, records: &[Record]) -> Result<Snapshot, String> {
    let m = &d.mapping;
    let mut ldap = connect(&d.url).await?;
    let r = ldap
        .with_timeout(TIMEOUT)
        .simple_bind(&d.bind_dn, &d.password)
        .await
        .map_err(|e| format!("bind: {e}"))?;
    if r.rc != 0 {
        return Err(format!("the directory refused the sync's bind ({})", r.rc));
    }
    let known: BTreeMap<&str, &str> =
        records.iter().map(|r| (r.uuid.as_str(), r.modified.as_str())).collect();
    let listed = ["entryUUID", "modifyTimestamp"];
    let attrs: Vec<&str> = ["entryUUID", "modifyTimestamp", "ou", "cn"]
        .into_iter()
        .chain([m.username.as_str(), m.name.as_str(), m.phone.as_str(), m.email.as_str()])
        .collect();
    let mut s = Snapshot::default();
    for (filter, out) in [(&m.unit_filter, &mut s.units), (&m.user_filter, &mut s.users)] {
        let mut entries = search(&mut ldap, &m.base_dn, filter, &listed).await?;
        let changed: Vec<&Entry> =
            entries.iter().filter(|e| known.get(e.uuid.as_str()) != Some(&e.modified.as_str())).collect();
        if let Some(oldest) = changed.iter().map(|e| e.modified.as_str()).min() {
            // generalized time compares as text (same length and zone, as servers write it)
            let since = format!("(&{filter}(modifyTimestamp>={}))", ldap3::ldap_escape(oldest));
            let full = search(&mut ldap, &m.base_dn, &since, &attrs).await?;
            let by_uuid: BTreeMap<String, Entry> = full.into_iter().map(|e| (e.uuid.clone(), e)).collect();
            for e in entries.iter_mut() {
                if known.get(e.uuid.as_str()) != Some(&e.modified.as_str())
                    && let Some(f) = by_uuid.get(&e.uuid)
                {
                    e.attrs = f.attrs.clone();
                }
            }
        }
        *out = entries;
    }
    s.groups =
        search(&mut ldap, &m.base_dn, &m.group_filter, &["entryUUID", "modifyTimestamp", "cn", &m.member])
            .await?;
    if !m.disabled_filter.is_empty() {
        let disabled = format!("(&{}{})", m.user_filter, m.disabled_filter);
        s.disabled =
            search(&mut ldap, &m.base_dn, &disabled, &listed).await?.into_iter().map(|e| e.uuid).collect();
    }
    let _ = ldap.unbind().await;
    Ok(s)
}
