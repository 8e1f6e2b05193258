//! `idp seed`: synthetic tenants, clients and accounts in bulk, for the scale benchmark
//! (issue: a million accounts, ten thousand clients, a thousand tenants). Every seeded account
//! has the same password and every seeded client the same secret (both printed), so that any
//! tenant can be measured; nothing here is meant for production data.

use anyhow::anyhow;
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{Account, Client, ClientSettings, ClientType};
use serde::Serialize;

use crate::ops::Ops;

pub const PASSWORD: &str = "Seed-Pass-1!";
const CHUNK: usize = 5000;

#[derive(Debug, Serialize)]
pub struct Seeded {
    pub tenants: usize,
    pub clients: usize,
    pub accounts: usize,
    pub password: String,
    pub client_secret: String,
    /// The last tenant created, with a web client, a service client and an account of it, to
    /// point a benchmark at.
    pub sample_tenant: String,
    pub sample_client_id: String,
    pub sample_service_client_id: String,
    pub sample_username: String,
    pub redirect_uri: String,
}

/// Creates `tenants` tenants named `seed-00001`…, spreads `clients` clients and `accounts`
/// accounts evenly over them. `progress` is told after each chunk.
pub async fn seed(
    ops: &Ops,
    tenants: usize,
    clients: usize,
    accounts: usize,
    progress: impl Fn(&str),
) -> anyhow::Result<Seeded> {
    if tenants == 0 {
        return Err(anyhow!("at least one tenant"));
    }
    let env = ops.env.as_ref();
    let run = random_token(env, 3).to_lowercase().replace(['-', '_'], "x");
    let secret = random_token(env, 24);
    let secret_hash = sha256_hex(secret.as_bytes());
    let password_hash = ops.password_hash(PASSWORD)?;
    let redirect = "http://127.0.0.1:1/cb".to_string();
    let now = ops.now();
    let mut ids = vec![];
    for i in 0..tenants {
        let slug = format!("seed-{run}-{:05}", i + 1);
        ids.push((slug.clone(), ops.add_tenant(&slug, Some(&format!("Seed tenant {}", i + 1))).await?.id));
        if (i + 1).is_multiple_of(100) {
            progress(&format!("{} tenants", i + 1));
        }
    }
    let mut batch = vec![];
    let last = tenants - 1;
    let (mut web_sample, mut service_sample) = (String::new(), String::new());
    for i in 0..clients {
        let (_, tenant_id) = &ids[i % tenants];
        let client = Client {
            tenant_id: tenant_id.clone(),
            client_id: random_token(env, 16),
            name: format!("Seed app {}", i + 1),
            // each tenant gets web and service clients in turn
            client_type: if (i / tenants).is_multiple_of(2) { ClientType::Web } else { ClientType::Service },
            secret_hash: Some(secret_hash.clone()),
            settings: ClientSettings {
                redirect_uris: vec![redirect.clone()],
                scope: "openid profile email phone offline_access api".into(),
                ..ClientSettings::default()
            },
            disabled: false,
            created_at: now,
        };
        if i % tenants == last {
            let sample =
                if client.client_type == ClientType::Web { &mut web_sample } else { &mut service_sample };
            if sample.is_empty() {
                *sample = client.client_id.clone();
            }
        }
        batch.push(client);
        if batch.len() == CHUNK || i + 1 == clients {
            ops.store.bulk_insert_clients(&batch).await?;
            batch.clear();
            progress(&format!("{} clients", i + 1));
        }
    }
    let mut batch = vec![];
    for i in 0..accounts {
        let (_, tenant_id) = &ids[i % tenants];
        batch.push(Account {
            id: random_token(env, 16),
            tenant_id: tenant_id.clone(),
            username: format!("user-{:07}", i + 1),
            name: Some(format!("Seed person {}", i + 1)),
            phone: Some(format!("+86139{:08}", i + 1)),
            phone_verified_at: None,
            email_verified_at: None,
            email: None,
            password_hash: Some(password_hash.clone()),
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            roles: vec![],
            locale: None,
            created_at: now,
            updated_at: now,
        });
        if batch.len() == CHUNK || i + 1 == accounts {
            ops.store.bulk_insert_accounts(&batch).await?;
            batch.clear();
            if (i + 1).is_multiple_of(50_000) || i + 1 == accounts {
                progress(&format!("{} accounts", i + 1));
            }
        }
    }
    Ok(Seeded {
        tenants,
        clients,
        accounts,
        password: PASSWORD.into(),
        client_secret: secret,
        sample_tenant: ids[last].0.clone(),
        sample_client_id: web_sample,
        sample_service_client_id: service_sample,
        sample_username: format!("user-{:07}", last + 1),
        redirect_uri: redirect,
    })
}
