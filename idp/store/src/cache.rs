//! A small read-through cache of client records. Clients are read on every token request and
//! change rarely; a change made through this process is seen at once, a change made by another
//! node within `TTL`. Beside single records it keeps each tenant's clients of one type (its CAS
//! services, its SAML service providers: what `/cas/login` and `/saml/sso` search by URL or
//! entity id on every request); any change to a client of the tenant forgets its lists.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use idp_core::model::{Client, ClientType};

pub const TTL: Duration = Duration::from_secs(5);

/// (tenant id, client id) → (when read, the record or its absence).
type Entries = HashMap<(String, String), (Instant, Option<Client>)>;
/// (tenant id, type) → (when read, the tenant's clients of that type).
type Lists = HashMap<(String, ClientType), (Instant, Arc<Vec<Client>>)>;

#[derive(Debug, Default)]
pub struct ClientCache {
    map: RwLock<Entries>,
    /// The lists and how many times any were forgotten: a list read before a forget is not
    /// kept after it.
    lists: RwLock<(Lists, u64)>,
}

impl ClientCache {
    pub fn get(&self, tenant_id: &str, client_id: &str) -> Option<Option<Client>> {
        let map = self.map.read().ok()?;
        let (at, c) = map.get(&(tenant_id.to_string(), client_id.to_string()))?;
        (at.elapsed() < TTL).then(|| c.clone())
    }

    pub fn put(&self, tenant_id: &str, client_id: &str, client: Option<Client>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() > 100_000 {
                map.retain(|_, (at, _)| at.elapsed() < TTL);
            }
            map.insert((tenant_id.to_string(), client_id.to_string()), (Instant::now(), client));
        }
    }

    pub fn forget(&self, tenant_id: &str, client_id: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(&(tenant_id.to_string(), client_id.to_string()));
        }
        self.forget_lists(tenant_id);
    }

    /// Forgets the tenant's lists (a client of it was added or changed).
    pub fn forget_lists(&self, tenant_id: &str) {
        if let Ok(mut guard) = self.lists.write() {
            let (lists, forgets) = &mut *guard;
            lists.retain(|(t, _), _| t != tenant_id);
            *forgets += 1;
        }
    }

    /// The cached list, or the stamp to give [`ClientCache::put_list`] with the list read now.
    pub fn get_list(&self, tenant_id: &str, kind: ClientType) -> Result<Arc<Vec<Client>>, u64> {
        let Ok(guard) = self.lists.read() else { return Err(u64::MAX) };
        let (lists, forgets) = &*guard;
        match lists.get(&(tenant_id.to_string(), kind)) {
            Some((at, list)) if at.elapsed() < TTL => Ok(list.clone()),
            _ => Err(*forgets),
        }
    }

    /// Keeps a list read after [`ClientCache::get_list`] gave `stamp`, unless a list was
    /// forgotten since: a change racing the read must not leave the old list cached.
    pub fn put_list(&self, tenant_id: &str, kind: ClientType, stamp: u64, list: Arc<Vec<Client>>) {
        if let Ok(mut guard) = self.lists.write() {
            let (lists, forgets) = &mut *guard;
            if *forgets != stamp {
                return;
            }
            if lists.len() > 10_000 {
                lists.retain(|_, (at, _)| at.elapsed() < TTL);
            }
            lists.insert((tenant_id.to_string(), kind), (Instant::now(), list));
        }
    }
}
