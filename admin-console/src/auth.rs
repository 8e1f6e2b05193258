//! Signing administrators in through the idp: the code flow with PKCE, `acr_values=aal2`, the
//! ID token checked by the `openidconnect` crate (signature from the idp's JWKS, issuer,
//! audience, nonce) and its `acr` required to be `aal2`; the access token kept in the sealed
//! session cookie (`session.rs`). And what sends an administrator to sign in again: no live
//! session, or a token the admin API refused, with the form they posted kept.

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

use crate::{Flash, MOUNT, Session, Shared};

pub(crate) const COOKIE: &str = "console_session";
/// Over HTTPS the cookie carries the `__Secure-` prefix (RFC 6265bis §4.1.3.1): the browser
/// keeps it only when Secure. It is host-only (no Domain) and scoped to `Path=/console`, so
/// the provider's own pages on the same origin never receive it (`__Host-` would need
/// `Path=/`).
pub(crate) const SECURE_COOKIE: &str = "__Secure-console_session";

/// The session cookie's name for this console.
pub(crate) fn cookie_name(shared: &Shared) -> &'static str {
    if shared.public_url.starts_with("https://") { SECURE_COOKIE } else { COOKIE }
}

/// Whether a request comes from another site: Fetch Metadata (`Sec-Fetch-Site` other than
/// `same-origin` or `none`), else an `Origin` that is not the console's. Such a request never
/// changes anything here, whatever cookie it carries.
pub(crate) fn cross_site(shared: &Shared, headers: &HeaderMap) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        Some(origin) => {
            let own = url::Url::parse(&shared.public_url).map(|u| u.origin().ascii_serialization());
            own.map_or(true, |own| origin != own)
        }
        None => false,
    }
}

/// The session of the request's cookie, as sealed (live or not).
pub(crate) fn session(shared: &Shared, headers: &HeaderMap) -> Option<Session> {
    let name = cookie_name(shared);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| shared.sealer.open(name, v))
}

/// Whether `s` is signed in and not expired.
pub(crate) fn live(s: &Session) -> bool {
    s.access_token.is_some() && s.expires_at > now()
}

/// The signed-in session of the request, if any and not expired.
pub(crate) fn signed_in(shared: &Shared, headers: &HeaderMap) -> Option<Session> {
    session(shared, headers).filter(live)
}

/// `res` with the session cookie set to `s`, or cleared for `None`.
pub(crate) fn with_session(shared: &Shared, mut res: Response, s: Option<&Session>) -> Response {
    let name = cookie_name(shared);
    let secure = if shared.public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie = match s {
        Some(s) => {
            format!("{name}={}; Path={MOUNT}; HttpOnly; SameSite=Lax{secure}", shared.sealer.seal(name, s))
        }
        None => format!("{name}=; Path={MOUNT}; Max-Age=0; HttpOnly; SameSite=Lax{secure}"),
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
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
    let redirect =
        RedirectUrl::new(format!("{}{MOUNT}/callback", shared.public_url)).map_err(|e| e.to_string())?;
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

/// What a request's handlers met that sends the administrator to sign in again: the admin
/// API refusing the token (expired, revoked, the sessions ended), and the form they posted.
#[derive(Default)]
pub(crate) struct Seen {
    pub rejected: bool,
    pub kept: Option<(String, Vec<(String, String)>)>,
}

tokio::task_local! {
    pub(crate) static SEEN: std::cell::RefCell<Seen>;
}

/// Marks the request for a new sign-in (the admin API refused the token), keeping `form`.
pub(crate) fn sign_in_needed(form: Option<(String, Vec<(String, String)>)>) {
    let _ = SEEN.try_with(|s| {
        let mut s = s.borrow_mut();
        s.rejected = true;
        if form.is_some() {
            s.kept = form;
        }
    });
}

/// Keeps `form` for the case the admin API refuses the token while it is handled.
pub(crate) fn remember_form(form: (String, Vec<(String, String)>)) {
    let _ = SEEN.try_with(|s| s.borrow_mut().kept = Some(form));
}

/// The console page an htmx request was made from (`HX-Current-URL`), with its query.
pub(crate) fn htmx_page(headers: &HeaderMap) -> Option<String> {
    let u = url::Url::parse(headers.get("hx-current-url")?.to_str().ok()?).ok()?;
    let page = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    local_path(&page)
}

/// The console page the request was made from: htmx names it; else the request's own path (a
/// form's address leads back to its page, `pages::elsewhere`).
fn current_page(req: &axum::extract::Request) -> String {
    htmx_page(req.headers())
        .or_else(|| req.uri().path_and_query().and_then(|p| local_path(p.as_str())))
        .unwrap_or_else(|| format!("{MOUNT}/"))
}

/// Off to sign in again, coming back to `here` with `kept` filled in again. An htmx request is
/// answered with `HX-Redirect`, so the browser itself goes (htmx cannot follow a redirect to
/// the idp: another origin's page, and the CSP's `connect-src 'self'`).
fn sign_in_again(
    shared: &Shared,
    headers: &HeaderMap,
    here: &str,
    kept: Option<(String, Vec<(String, String)>)>,
) -> Response {
    let to = format!("{MOUNT}/login?{}", serde_urlencoded::to_string([("next", here)]).unwrap_or_default());
    let res = if headers.contains_key("hx-request") {
        let mut res = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&to) {
            res.headers_mut().insert("hx-redirect", v);
        }
        res
    } else {
        Redirect::to(&to).into_response()
    };
    match kept {
        Some(form) => {
            let mut s = session(shared, headers).unwrap_or_default();
            s.access_token = None;
            let for_subject = Some(s.subject.clone());
            s.flash = Some(Flash { form: Some(form), resumed: true, for_subject, ..Flash::default() });
            with_session(shared, res, Some(&s))
        }
        None => res,
    }
}

/// Every console request: a page asked for without a live session goes through the sign-in
/// and comes back; so does any request whose token the admin API refused, with the form it
/// carried kept (form posts without a session are caught by `pages::Posted`).
pub async fn require(
    State(shared): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let open = path == format!("{MOUNT}/login")
        || path == format!("{MOUNT}/callback")
        || path.starts_with(&format!("{MOUNT}/static/"));
    let here = current_page(&req);
    let headers = req.headers().clone();
    let reads = matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if !reads && cross_site(&shared, &headers) {
        return (StatusCode::FORBIDDEN, "跨站请求被拒绝。A request from another site was refused.")
            .into_response();
    }
    if req.method() == axum::http::Method::GET && !open && signed_in(&shared, &headers).is_none() {
        return sign_in_again(&shared, &headers, &here, None);
    }
    let (res, seen) = SEEN
        .scope(std::cell::RefCell::new(Seen::default()), async move {
            let res = next.run(req).await;
            (res, SEEN.with(|s| std::mem::take(&mut *s.borrow_mut())))
        })
        .await;
    if seen.rejected {
        return sign_in_again(&shared, &headers, &here, seen.kept);
    }
    res
}

/// A console path to come back to: local, absolute, and not a scheme-relative URL. Browsers
/// drop tabs and newlines inside a URL (WHATWG URL parsing), so `/\t/evil.example` would go to
/// `//evil.example`: any control character, whitespace or backslash is refused, and what is
/// kept is what the URL parser leaves on the console's own origin.
pub(crate) fn local_path(p: &str) -> Option<String> {
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
    let console = out == MOUNT || out.starts_with(&format!("{MOUNT}/"));
    (console && !out.starts_with("//")).then_some(out)
}

#[derive(Deserialize)]
pub struct Login {
    next: Option<String>,
}

/// `GET /login`: off to the idp. A flash waiting in the cookie (a form kept across the
/// sign-in) stays.
pub async fn login(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Login>,
) -> Response {
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
    // only a form kept across the sign-in goes on (never a message or a secret), and only to
    // the administrator it was typed by (checked at the callback)
    let flash = session(&shared, &headers)
        .and_then(|s| s.flash)
        .filter(|f| f.form.is_some() && f.for_subject.is_some())
        .map(|f| Flash { form: f.form, resumed: f.resumed, for_subject: f.for_subject, ..Flash::default() });
    let session = Session {
        csrf: CsrfToken::new_random().secret().clone(),
        pending: Some((state.secret().clone(), nonce.secret().clone(), verifier.secret().clone())),
        next: q.next.as_deref().and_then(local_path),
        expires_at: now() + 600,
        flash,
        ..Session::default()
    };
    with_session(&shared, Redirect::to(url.as_str()).into_response(), Some(&session))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// A page saying why the sign-in did not finish, with the way to try again.
fn stopped(status: StatusCode, why: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>管理控制台</title><link rel=\"stylesheet\" \
         href=\"{MOUNT}/static/console.css\"></head><body><main><h1>管理控制台</h1><p role=\"alert\">{}</p>\
         <p><a class=\"button\" href=\"{MOUNT}/login\">重新登录 · Sign in again</a></p></main></body></html>",
        why.replace('&', "&amp;").replace('<', "&lt;")
    );
    (status, axum::response::Html(html)).into_response()
}

/// `GET /callback`: the code for tokens; the ID token must verify and say `aal2`; who the
/// administrator is comes from the admin API (`/me`), which also refuses a non-administrator.
pub async fn callback(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let restart = || Redirect::to(&format!("{MOUNT}/login")).into_response();
    let Some(mut session) = session(&shared, &headers) else { return restart() };
    let Some((state, nonce, verifier)) = session.pending.take() else { return restart() };
    if let Some(e) = q.error {
        let why = match e.as_str() {
            "access_denied" => "登录已取消。The sign-in was cancelled.".to_string(),
            "unmet_authentication_requirements" => {
                "管理需要第二重验证，而该账号尚未设置。Administration needs a second factor, and this account has none."
                    .to_string()
            }
            other => format!("身份认证服务拒绝了登录（{other}）。The identity provider refused the sign-in."),
        };
        return stopped(StatusCode::FORBIDDEN, &why);
    }
    if q.state.as_deref() != Some(state.as_str()) {
        return stopped(
            StatusCode::BAD_REQUEST,
            "登录未按原路返回，请重新登录。The sign-in did not come back as it left.",
        );
    }
    let Some(code) = q.code else { return restart() };
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
        return stopped(
            StatusCode::FORBIDDEN,
            "管理需要两种因素登录。Administration needs a sign-in with two factors.",
        );
    }
    let token = tokens.access_token().secret().clone();
    let me: idp_proto::Me = match crate::api::get(&shared, &token, "me").await {
        Ok(me) => me,
        Err(e) => return stopped(StatusCode::FORBIDDEN, &e),
    };
    let lifetime = tokens.expires_in().map_or(600, |d| d.as_secs() as i64);
    session.access_token = Some(token);
    session.subject = claims.subject().as_str().to_string();
    if session.flash.as_ref().is_some_and(|f| f.for_subject.as_deref() != Some(session.subject.as_str())) {
        session.flash = None;
    }
    session.name = me.name.filter(|n| !n.trim().is_empty()).unwrap_or(me.username);
    session.roles = me.roles;
    if me.delegated {
        session.roles.push("org_admin".into());
    }
    session.time_zone = me.time_zone;
    session.expires_at = now() + lifetime;
    let back = session.next.take().unwrap_or_else(|| format!("{MOUNT}/"));
    with_session(&shared, Redirect::to(&back).into_response(), Some(&session))
}

/// `POST /logout` (with the CSRF token): the access token is revoked at the idp (RFC 7009),
/// the cookie cleared, and the administrator taken to the idp's sign-out.
pub async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let csrf = form.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let s = session(&shared, &headers);
    if let Some(s) = &s
        && csrf == Some(s.csrf.as_str())
        && let Some(token) = &s.access_token
    {
        let revoke = format!("{}/revoke", shared.config.issuer.trim_end_matches('/'));
        let sent = shared
            .http
            .post(revoke)
            .basic_auth(&shared.config.client_id, Some(&shared.config.client_secret))
            .form(&[("token", token.as_str()), ("token_type_hint", "access_token")])
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "the console could not revoke an access token at sign-out");
        }
    }
    let to = format!("{}/t/{}/end_session", shared.idp_base, shared.tenant);
    with_session(&shared, Redirect::to(&to).into_response(), None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_to_come_back_to() {
        assert_eq!(
            super::local_path("/console/clients/abc?lang=en").as_deref(),
            Some("/console/clients/abc?lang=en")
        );
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
            "/t/main/account",
            "/console/../t/main/account",
            "/consoleevil",
        ] {
            assert_eq!(super::local_path(bad), None, "{bad}");
        }
    }
}
