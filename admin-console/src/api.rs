//! The admin API with the administrator's own token, typed: every request and answer body is
//! an `idp-proto` type (the very types the idp's handlers read and answer), and an error is
//! the detail of the RFC 9457 problem the idp answered (`idp_proto::Problem`), to show.
//! An answer whose body is not wanted is read as `serde::de::IgnoredAny`.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Shared;

/// `path` under `/admin/v1/tenants/{tenant}/`.
fn url(shared: &Shared, path: &str) -> String {
    format!("{}/admin/v1/tenants/{}/{path}", shared.idp_base, shared.tenant)
}

/// `path` under `/admin/v1/` itself (tenants are above any one tenant).
fn root_url(shared: &Shared, path: &str) -> String {
    format!("{}/admin/v1/{path}", shared.idp_base)
}

/// What to show for a failed answer: its problem's detail, else its status.
async fn problem(res: reqwest::Response) -> String {
    let status = res.status();
    match res.json::<idp_proto::Problem>().await {
        Ok(idp_proto::Problem { detail: Some(detail), .. }) => detail,
        _ => format!("HTTP {status}"),
    }
}

/// A successful answer, or what to show: the idp unreachable, or its problem. A token the
/// admin API refuses (expired, revoked) ends the request in a new sign-in (`auth::require`).
async fn succeeded(res: Result<reqwest::Response, reqwest::Error>) -> Result<reqwest::Response, String> {
    let res = res.map_err(|_| "The identity provider could not be reached.".to_string())?;
    if res.status() == reqwest::StatusCode::UNAUTHORIZED {
        crate::auth::sign_in_needed(None);
    }
    if !res.status().is_success() {
        return Err(problem(res).await);
    }
    Ok(res)
}

async fn answer<T: DeserializeOwned>(res: Result<reqwest::Response, reqwest::Error>) -> Result<T, String> {
    succeeded(res).await?.json::<T>().await.map_err(|e| {
        tracing::warn!(error = %e, "an admin API answer of an unexpected shape");
        "The identity provider's answer could not be read.".to_string()
    })
}

/// `method` on `url` with a JSON body or none.
async fn call<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    method: Method,
    url: String,
    body: Option<&B>,
) -> Result<T, String> {
    let mut req = shared.http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    answer(req.send().await).await
}

pub(crate) async fn get_root<T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    path: &str,
) -> Result<T, String> {
    call::<(), T>(shared, token, Method::GET, root_url(shared, path), None).await
}

pub(crate) async fn post_root<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, String> {
    call(shared, token, Method::POST, root_url(shared, path), body).await
}

/// Any method under `/admin/v1/` itself (another tenant's settings).
pub(crate) async fn send_root<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, String> {
    call(shared, token, method, root_url(shared, path), body).await
}

pub(crate) async fn get<T: DeserializeOwned>(shared: &Shared, token: &str, path: &str) -> Result<T, String> {
    call::<(), T>(shared, token, Method::GET, url(shared, path), None).await
}

/// A POST with a JSON body, or none (the actions: `disable`, `lock`, `revoke` and the like).
pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, String> {
    call(shared, token, Method::POST, url(shared, path), body).await
}

/// Any method, with a JSON body or none.
pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, String> {
    call(shared, token, method, url(shared, path), body).await
}

/// A download (the audit export): the answer's type and bytes as the idp sent them.
pub(crate) async fn raw(shared: &Shared, token: &str, path: &str) -> Result<(String, Vec<u8>), String> {
    let res = succeeded(shared.http.get(url(shared, path)).bearer_auth(token).send().await).await?;
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let bytes = res.bytes().await.map_err(|_| "The download was cut short.".to_string())?;
    Ok((content_type, bytes.to_vec()))
}
