//! The administrators' console (crate `admin-console`) served by `idp serve` itself under
//! `/console`, so a new deployment has it with no configuration (README, Admin console).
//!
//! Served in-process rather than as a second service because the first start must reach a
//! working console with one command, and because nothing is lost by it: the console stays an
//! ordinary OpenID Connect client of the provider (code flow with PKCE, `acr_values=aal2`,
//! its own client and tokens, calling the admin API over HTTP at `public_url`), so it holds no
//! right the administrator's token does not. Keycloak serves its admin console on its own
//! origin the same way. The standalone `admin-console` binary remains for deployments that put
//! the console on another host.
//!
//! At start the console's client (`client_id` [`CLIENT_ID`], a confidential `web` client of the
//! administrators' tenant, an administrators' client with scope `openid admin`, `min_acr`
//! `aal2`) is registered if missing and brought back to its expected redirect URI and secret
//! otherwise. Its secret and the console's cookie-sealing key are derived from the
//! key-encryption key, so they are never stored in plain, every node sharing the database and
//! KEK derives the same ones, and a console session works on any node.

use std::net::SocketAddr;

use anyhow::Context;
use idp_core::crypto::{b64, sha256_hex};
use idp_core::model::{Client, ClientSettings, ClientType};

use crate::ops::{OPERATOR, Ops};

/// The console's client id in the administrators' tenant.
pub const CLIENT_ID: &str = "console";

/// The console's client secret: derived from the KEK for the tenant.
fn secret(ops: &Ops, tenant_id: &str) -> String {
    b64(&ops.kek.derive("console-client-secret").mac(tenant_id.as_bytes()))
}

/// The console's router (all under `/console`), its client ensured; `None` when the console
/// is turned off or the administrators' tenant does not exist yet.
pub async fn router(ops: &Ops, public_url: &str, addr: SocketAddr) -> anyhow::Result<Option<axum::Router>> {
    if !ops.config.console.enabled {
        return Ok(None);
    }
    let slug = ops.config.admin_tenant.clone();
    let Some(tenant) = ops.store.tenant_by_slug(&slug).await? else {
        tracing::warn!(tenant = %slug, "no administrators' tenant yet: the console is not served");
        return Ok(None);
    };
    let secret = secret(ops, &tenant.id);
    let redirect = format!("{}{}/callback", public_url.trim_end_matches('/'), admin_console::MOUNT);
    ensure_client(ops, &slug, &tenant.id, &redirect, &secret).await.context("the console's client")?;
    let config = admin_console::Config {
        listen: addr.to_string(),
        public_url: Some(public_url.trim_end_matches('/').to_string()),
        issuer: ops.config.issuer(&slug),
        client_id: CLIENT_ID.into(),
        client_secret: secret,
        log: String::new(),
        tls_cert: None,
        tls_key: None,
        idp_ca: ops.config.console.idp_ca.clone(),
        session_key: Some(ops.kek.derive("console-sessions").mac(b"admin-console")),
    };
    let app = admin_console::App::new(config, addr).context("the console")?;
    Ok(Some(app.router()))
}

/// Registers the console's client, or brings it back to its redirect URI (added to those it
/// has) and secret. An operator's other changes (a name, lifetimes, being disabled) are kept.
async fn ensure_client(
    ops: &Ops,
    slug: &str,
    tenant_id: &str,
    redirect: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let hash = sha256_hex(secret.as_bytes());
    match ops.store.client(tenant_id, CLIENT_ID).await? {
        Some(mut c) => {
            // added beside the others (nodes of one deployment may have their own public URLs)
            let uris_ok = c.settings.redirect_uris.iter().any(|u| u == redirect);
            if uris_ok && c.secret_hash.as_deref() == Some(hash.as_str()) && c.settings.admin_client {
                return Ok(());
            }
            if !uris_ok {
                c.settings.redirect_uris.push(redirect.to_string());
            }
            c.settings.admin_client = true;
            ops.check_admin_scope(slug, c.client_type, &mut c.settings)?;
            ops.store.update_client(tenant_id, CLIENT_ID, &c.name, &c.settings, Some(&hash)).await?;
            let detail = serde_json::json!({"client": CLIENT_ID, "redirect_uri": redirect});
            ops.audit_by(tenant_id, "client_updated", None, detail, OPERATOR).await?;
        }
        None => {
            let mut settings = ClientSettings {
                redirect_uris: vec![redirect.to_string()],
                scope: "openid admin".into(),
                admin_client: true,
                min_acr: Some("aal2".into()),
                ..ClientSettings::default()
            };
            ops.check_admin_scope(slug, ClientType::Web, &mut settings)?;
            let client = Client {
                tenant_id: tenant_id.to_string(),
                client_id: CLIENT_ID.into(),
                name: "管理控制台".into(),
                client_type: ClientType::Web,
                secret_hash: Some(hash),
                settings,
                disabled: false,
                created_at: ops.now(),
            };
            match ops.store.insert_client(&client).await {
                Ok(()) => {}
                // another node registered it first
                Err(idp_core::StoreError::Conflict(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            let detail = serde_json::json!({"client": CLIENT_ID, "name": client.name, "type": "web"});
            ops.audit_by(tenant_id, "client_registered", None, detail, OPERATOR).await?;
        }
    }
    Ok(())
}
