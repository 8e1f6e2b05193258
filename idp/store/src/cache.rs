//! A small read-through cache of client records. Clients are read on every token request and
//! change rarely; a change made through this process is seen at once, a change made by another
//! node within `TTL`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use idp_core::model::Client;

pub const TTL: Duration = Duration::from_secs(5);

/// (tenant id, client id) → (when read, the record or its absence).
type Entries = HashMap<(String, String), (Instant, Option<Client>)>;

#[derive(Debug, Default)]
pub struct ClientCache {
    map: RwLock<Entries>,
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
    }
}
