//! The admin API with the administrator's own token: JSON in, JSON out, a problem's detail as
//! the error to show.

use serde_json::Value;

use crate::Shared;

/// `path` under `/admin/v1/tenants/{tenant}/`.
fn url(shared: &Shared, path: &str) -> String {
    format!("{}/admin/v1/tenants/{}/{path}", shared.idp_base, shared.tenant)
}

async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Result<Value, String> {
    let res = res.map_err(|_| "The identity provider could not be reached.".to_string())?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(body["detail"].as_str().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}")))
    }
}

/// `path` under `/admin/v1/` itself (tenants are above any one tenant).
fn root_url(shared: &Shared, path: &str) -> String {
    format!("{}/admin/v1/{path}", shared.idp_base)
}

pub(crate) async fn get_root(shared: &Shared, token: &str, path: &str) -> Result<Value, String> {
    answer(shared.http.get(root_url(shared, path)).bearer_auth(token).send().await).await
}

pub(crate) async fn post_root(
    shared: &Shared,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<Value, String> {
    answer(shared.http.post(root_url(shared, path)).bearer_auth(token).json(body).send().await).await
}

pub(crate) async fn get(shared: &Shared, token: &str, path: &str) -> Result<Value, String> {
    answer(shared.http.get(url(shared, path)).bearer_auth(token).send().await).await
}

pub(crate) async fn post(shared: &Shared, token: &str, path: &str, body: &Value) -> Result<Value, String> {
    answer(shared.http.post(url(shared, path)).bearer_auth(token).json(body).send().await).await
}
