//! What the connectors to services reached through an app share — the national network
//! identity service (`super::netid`) and the electronic business licence system
//! (`super::licence`): the `provider` setting checked at start, and, for their simulators, the
//! result a one-time code stands for, kept sealed in the ceremony store for two minutes and
//! taken once.

use idp_core::model::Ceremony;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ConnectorConfig;
use crate::state::{AppState, TenantCtx};

/// Checks one service's `provider` at start: a name it does not know is an error, the
/// simulator a warning (anyone can be anyone there: development and sandboxes only).
pub fn check_config(section: &str, what: &str, config: &ConnectorConfig) -> anyhow::Result<()> {
    match config.provider.as_str() {
        "none" => Ok(()),
        "simulator" => {
            tracing::warn!("{what} is the simulator (development and sandbox only)");
            Ok(())
        }
        other => anyhow::bail!("{section}.provider must be none or simulator, not {other:?}"),
    }
}

fn result_key(service: &str, code: &str) -> String {
    format!("{service}-simulator:{}", idp_core::crypto::sha256_hex(code.as_bytes()))
}

/// Keeps a simulator's `result` for tenant `t` under a fresh one-time code (two minutes).
pub(crate) async fn keep_result<T: Serialize>(
    state: &AppState,
    t: &TenantCtx,
    service: &str,
    result: &T,
) -> Result<String, idp_core::StoreError> {
    let code = idp_core::crypto::random_token(state.env(), 32);
    let key = result_key(service, &code);
    let plain = serde_json::to_vec(result).unwrap_or_default();
    let record = Ceremony {
        state: crate::http::signin::upstream::seal(state, t, &plain, &key),
        key,
        tenant_id: t.tenant.id.clone(),
        account_id: None,
        expires_at: state.env().now() + 120,
    };
    state.store().put_ceremony(&record).await?;
    Ok(code)
}

/// Takes the result a simulator's `code` stands for (a second ask finds nothing).
pub(crate) async fn take_result<T: DeserializeOwned>(
    state: &AppState,
    t: &TenantCtx,
    service: &str,
    code: &str,
) -> Result<T, String> {
    let key = result_key(service, code);
    let record = match state.store().take_ceremony(&key, state.env().now()).await {
        Ok(Some(c)) if c.tenant_id == t.tenant.id => c,
        Ok(_) => return Err("the code is unknown, spent or expired".into()),
        Err(e) => return Err(format!("the result could not be read: {e}")),
    };
    let plain = crate::http::signin::upstream::open(state, &record.state, &key)
        .ok_or("the result cannot be opened")?;
    serde_json::from_slice(&plain).map_err(|_| "the result is not one".into())
}
