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

/// Any method under `/admin/v1/` itself (another tenant's settings).
pub(crate) async fn send_root(
    shared: &Shared,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let mut req = shared.http.request(method, root_url(shared, path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    answer(req.send().await).await
}

pub(crate) async fn get(shared: &Shared, token: &str, path: &str) -> Result<Value, String> {
    answer(shared.http.get(url(shared, path)).bearer_auth(token).send().await).await
}

pub(crate) async fn post(shared: &Shared, token: &str, path: &str, body: &Value) -> Result<Value, String> {
    send(shared, token, reqwest::Method::POST, path, Some(body)).await
}

/// Any method, with a JSON body or none.
pub(crate) async fn send(
    shared: &Shared,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let mut req = shared.http.request(method, url(shared, path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    answer(req.send().await).await
}

/// A download (the audit export): the answer's type and bytes as the idp sent them.
pub(crate) async fn raw(shared: &Shared, token: &str, path: &str) -> Result<(String, Vec<u8>), String> {
    let res = shared.http.get(url(shared, path)).bearer_auth(token).send().await;
    let res = res.map_err(|_| "The identity provider could not be reached.".to_string())?;
    if !res.status().is_success() {
        return answer(Ok(res)).await.map(|_| Default::default());
    }
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let bytes = res.bytes().await.map_err(|_| "The download was cut short.".to_string())?;
    Ok((content_type, bytes.to_vec()))
}
