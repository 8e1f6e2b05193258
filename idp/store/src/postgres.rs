//! The PostgreSQL backend: the production store shared by many stateless idp nodes.

use idp_core::StoreError;
use idp_core::model::{
    Account, AuditEvent, AuthCode, Ceremony, Client, ClientSettings, DeviceGrant, Grant, Interaction,
    LogoutDelivery, PendingSignIn, Profile, RealName, RefreshToken, Session, SigningAlg, SigningKeyRecord,
    SmsCheck, SmsCode, Tenant, TenantSettings, TotpCredential, WebauthnCredential,
};
use idp_core::org::{Membership, Organisation};
use idp_core::ports::{Issue, IssueFn, Redeem, Result, Rotate};
use idp_core::token::TokenResponse;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use std::sync::Arc;

use crate::cache::ClientCache;
use crate::macros::impl_store;
use crate::map_err;
use crate::rows::*;

/// One pool for reads and writes (`write` is the same pool): PostgreSQL handles concurrent
/// writers itself.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub pool: PgPool,
    pub write: PgPool,
    clients: Arc<ClientCache>,
    batch: crate::batch::Batcher,
}

impl PgStore {
    pub async fn connect(
        url: &str,
        store_options: crate::StoreOptions,
    ) -> std::result::Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(store_options.acquire_timeout)
            .connect(url)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let batch = spawn_batcher(&pool, store_options.audit_key.clone());
        Ok(Self { batch, write: pool.clone(), pool, clients: Arc::default() })
    }
}

impl_store!(PgStore, Postgres, "postgres");
impl_identity_sql!(PgStore);
impl_device_sql!(PgStore);
impl_admin_sql!(PgStore);
impl_batch_sql!(Postgres);
impl_logout_sql!(PgStore);
