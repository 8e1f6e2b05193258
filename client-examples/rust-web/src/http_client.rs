//! The `openidconnect` crate's HTTP calls made with reqwest 0.13 (the crate's own reqwest
//! feature pulls an older reqwest and a second TLS stack).

#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

pub async fn call(
    client: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut r = client.request(parts.method, parts.uri.to_string()).body(body);
    for (k, v) in parts.headers.iter() {
        r = r.header(k, v);
    }
    let res = r.send().await.map_err(|e| HttpError(e.to_string()))?;
    let mut builder = http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        builder = builder.header(k, v);
    }
    let bytes = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    builder.body(bytes.to_vec()).map_err(|e| HttpError(e.to_string()))
}

/// A client for the crate's `request_async` whose futures own what they use (so that they are
/// `Send` inside axum handlers).
pub fn owned(
    client: &reqwest::Client,
) -> impl Fn(
    openidconnect::HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>> {
    let client = client.clone();
    move |req| {
        let client = client.clone();
        Box::pin(async move { call(&client, req).await })
    }
}
