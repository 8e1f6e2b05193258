//! Signing administrators in through the idp: the code flow with PKCE, `acr_values=aal2`, the
//! ID token checked by the `openidconnect` crate (signature from the idp's JWKS, issuer,
//! audience, nonce) and its `acr` required to be `aal2`; the access token kept in the
//! server-side session.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use crate::{Session, Shared};

pub(crate) const COOKIE: &str = "console_session";
/// Over HTTPS the cookie carries the `__Host-` prefix (RFC 6265bis §4.1.3.2): the browser
/// keeps it only when Secure, for Path=/ and without Domain, so no other host of the domain
/// can plant or shadow it.
pub(crate) const HOST_COOKIE: &str = "__Host-console_session";

/// The session cookie's name for this console.
pub(crate) fn cookie_name(shared: &Shared) -> &'static str {
    if shared.public_url.starts_with("https://") { HOST_COOKIE } else { COOKIE }
}

/// The session id of the request's cookie (only the name this console sets).
pub(crate) fn session_id(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(shared);
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The signed-in session of the request, if any and not expired.
pub(crate) fn signed_in(shared: &Shared, headers: &HeaderMap) -> Option<Session> {
    let id = session_id(shared, headers)?;
    let sessions = shared.sessions.lock().ok()?;
    let s = sessions.get(&id)?;
    (s.access_token.is_some() && s.expires_at > now()).then(|| s.clone())
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[derive(Debug)]
pub(crate) struct HttpError(String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}

/// `openidconnect`'s HTTP calls through our reqwest client.
async fn call(
    http: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut r = http.request(parts.method, parts.uri.to_string()).body(body);
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

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The HTTP function `openidconnect` calls (owning its client, so the futures are `Send`).
fn http_fn(
    shared: &Shared,
) -> impl Fn(
    openidconnect::HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>> {
    let http = shared.http.clone();
    move |r| {
        let http = http.clone();
        Box::pin(async move { call(&http, r).await })
    }
}

/// The idp's metadata (fetched each sign-in: keys rotate) and the client.
async fn client(shared: &Shared) -> Result<Client, String> {
    let f = http_fn(shared);
    let issuer = IssuerUrl::new(shared.config.issuer.clone()).map_err(|e| e.to_string())?;
    let meta =
        CoreProviderMetadata::discover_async(issuer, &f).await.map_err(|e| format!("discovery: {e}"))?;
    let redirect = RedirectUrl::new(format!("{}/callback", shared.public_url)).map_err(|e| e.to_string())?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(shared.config.client_id.clone()),
        Some(ClientSecret::new(shared.config.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

fn unavailable(why: &str) -> Response {
    tracing::warn!(reason = why, "sign-in through the idp failed");
    (StatusCode::BAD_GATEWAY, "The identity provider could not be reached; try again.").into_response()
}

/// A page asked for without a live session goes through the sign-in and comes back: the
/// layer on every route (form posts are sent to `/login` by their handlers).
pub async fn require(
    State(shared): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let open = path == "/login" || path == "/callback" || path.starts_with("/static/");
    if req.method() == axum::http::Method::GET && !open && signed_in(&shared, req.headers()).is_none() {
        let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let to = format!("/login?{}", serde_urlencoded::to_string([("next", here)]).unwrap_or_default());
        return Redirect::to(&to).into_response();
    }
    next.run(req).await
}

/// A console path to come back to: local, absolute, and not a scheme-relative URL. Browsers
/// drop tabs and newlines inside a URL (WHATWG URL parsing), so `/\t/evil.example` would go to
/// `//evil.example`: any control character, whitespace or backslash is refused, and what is
/// kept is what the URL parser leaves on the console's own origin.
fn local_path(p: &str) -> Option<String> {
    if p.len() > 512
        || !p.starts_with('/')
        || p.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let base = url::Url::parse("http://console.invalid/").ok()?;
    let u = base.join(p).ok()?;
    if u.origin() != base.origin() || u.username() != "" || u.password().is_some() {
        return None;
    }
    let mut out = u.path().to_string();
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    (out.starts_with('/') && !out.starts_with("//")).then_some(out)
}

#[derive(Deserialize)]
pub struct Login {
    next: Option<String>,
}

/// `GET /login`: off to the idp.
pub async fn login(State(shared): State<Arc<Shared>>, Query(q): Query<Login>) -> Response {
    let client = match client(&shared).await {
        Ok(c) => c,
        Err(e) => return unavailable(&e),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("admin".into()))
        .add_auth_context_value(AuthenticationContextClass::new("aal2".into()))
        .set_pkce_challenge(challenge)
        .url();
    let id = CsrfToken::new_random().secret().clone();
    let session = Session {
        csrf: CsrfToken::new_random().secret().clone(),
        pending: Some((state.secret().clone(), nonce.secret().clone(), verifier.secret().clone())),
        next: q.next.as_deref().and_then(local_path),
        expires_at: now() + 600,
        ..Session::default()
    };
    if let Ok(mut s) = shared.sessions.lock() {
        s.retain(|_, v| v.expires_at > now());
        s.insert(id.clone(), session);
    }
    let secure = if shared.public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!("{}={id}; Path=/; HttpOnly; SameSite=Lax{secure}", cookie_name(&shared));
    let mut res = Redirect::to(url.as_str()).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /callback`: the code for tokens; the ID token must verify and say `aal2`.
pub async fn callback(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(id) = session_id(&shared, &headers) else { return Redirect::to("/login").into_response() };
    let pending = shared.sessions.lock().ok().and_then(|mut s| s.get_mut(&id).and_then(|s| s.pending.take()));
    let Some((state, nonce, verifier)) = pending else { return Redirect::to("/login").into_response() };
    if let Some(e) = q.error {
        return (StatusCode::FORBIDDEN, format!("The identity provider refused the sign-in: {e}"))
            .into_response();
    }
    if q.state.as_deref() != Some(state.as_str()) {
        return (StatusCode::BAD_REQUEST, "The sign-in did not come back as it left; start again.")
            .into_response();
    }
    let Some(code) = q.code else { return Redirect::to("/login").into_response() };
    let client = match client(&shared).await {
        Ok(c) => c,
        Err(e) => return unavailable(&e),
    };
    let f = http_fn(&shared);
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(x) => x,
        Err(e) => return unavailable(&e.to_string()),
    };
    let tokens = match exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier)).request_async(&f).await {
        Ok(t) => t,
        Err(e) => return unavailable(&e.to_string()),
    };
    let Some(id_token) = tokens.id_token() else { return unavailable("no ID token") };
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(nonce)) {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    if claims.auth_context_ref().map(|a| a.as_str()) != Some("aal2") {
        return (StatusCode::FORBIDDEN, "Administration needs a sign-in with two factors.").into_response();
    }
    let lifetime = tokens.expires_in().map_or(600, |d| d.as_secs() as i64);
    let mut back = None;
    if let Ok(mut s) = shared.sessions.lock()
        && let Some(session) = s.get_mut(&id)
    {
        session.access_token = Some(tokens.access_token().secret().clone());
        session.subject = claims.subject().as_str().to_string();
        session.expires_at = now() + lifetime;
        back = session.next.take();
    }
    Redirect::to(back.as_deref().unwrap_or("/")).into_response()
}

/// `POST /logout`: the session ends here (the idp session stays; sign out there too).
pub async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&shared, &headers)
        && let Ok(mut s) = shared.sessions.lock()
    {
        s.remove(&id);
    }
    Redirect::to(&format!("{}/t/{}/end_session", shared.idp_base, shared.tenant)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_to_come_back_to() {
        assert_eq!(super::local_path("/clients/abc?lang=en").as_deref(), Some("/clients/abc?lang=en"));
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "clients",
            "",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/\u{85}/evil.example",
            "/\u{3000}/evil.example",
        ] {
            assert_eq!(super::local_path(bad), None, "{bad}");
        }
    }
}
