//! A department's web application signing people in through any OpenID Connect provider:
//! authorization code flow with PKCE, state and nonce (the `openidconnect` crate, which also
//! verifies the ID token against the provider's JWKS), its own session cookie, RP-initiated
//! logout, and both logout receivers — Back-Channel Logout 1.0 (`POST /backchannel-logout`,
//! the logout token verified as §2.6 requires) and Front-Channel Logout 1.0
//! (`GET /frontchannel-logout?iss=…&sid=…`) — which end the local sessions of the provider's
//! session `sid`.
//!
//! Everything is kept in memory: this is an example, not a framework.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde::Deserialize;
use serde_json::Value;

mod http_client;
mod logout_token;

/// How long a logout token's `jti` is remembered: longer than any logout token lives.
const JTI_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);

/// What the application needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The provider's issuer, e.g. `https://id.example.gov.cn/t/main`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where this application is reached, e.g. `https://dept.example.gov.cn`: the redirect URI
    /// is `{base_url}/callback`, the post-logout redirect URI `{base_url}/`.
    pub base_url: String,
    /// The name of the session cookie (applications sharing a host need different ones).
    pub cookie: String,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A signed-in person, as this application remembers them.
#[derive(Clone)]
struct Local {
    sub: String,
    sid: Option<String>,
    name: String,
    id_token: String,
}

struct App {
    config: Config,
    client: Client,
    http: reqwest::Client,
    end_session: Option<String>,
    keys: logout_token::Keys,
    /// state → (PKCE verifier, nonce) of sign-ins under way.
    pending: Mutex<HashMap<String, (String, String)>>,
    /// session cookie value → person.
    sessions: Mutex<HashMap<String, Local>>,
    /// Logout token ids already seen (§2.6, replay), with when: forgotten after [`JTI_MEMORY`].
    seen_jti: Mutex<HashMap<String, std::time::Instant>>,
}

/// Discovers the provider and builds the application's routes.
pub async fn router(config: Config) -> anyhow::Result<Router> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let f = |r| http_client::call(&http, r);
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(config.issuer.clone())?, &f).await?;
    // discovery fields beyond the core ones, read from the document itself
    let doc: Value =
        http.get(format!("{}/.well-known/openid-configuration", config.issuer)).send().await?.json().await?;
    let end_session = doc["end_session_endpoint"].as_str().map(str::to_string);
    let keys = logout_token::Keys::new(meta.jwks_uri().url().to_string());
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{}/callback", config.base_url))?);
    let app = Arc::new(App {
        config,
        client,
        http,
        end_session,
        keys,
        pending: Mutex::default(),
        sessions: Mutex::default(),
        seen_jti: Mutex::default(),
    });
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout))
        .route("/backchannel-logout", post(backchannel_logout))
        .route("/frontchannel-logout", get(frontchannel_logout))
        .with_state(app))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn current(app: &App, headers: &HeaderMap) -> Option<(String, Local)> {
    let value = cookie(headers, &app.config.cookie)?;
    let sessions = app.sessions.lock().ok()?;
    sessions.get(value).map(|l| (value.to_string(), l.clone()))
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Html<String> {
    match current(&app, &headers) {
        Some((_, l)) => Html(format!(
            "<!doctype html><title>Signed in</title><p id=\"who\">Signed in as <b>{}</b> (sub {}, sid {})</p>\
             <p><a href=\"/logout\">Sign out</a></p>",
            escape(&l.name),
            escape(&l.sub),
            escape(l.sid.as_deref().unwrap_or("-"))
        )),
        None => Html(
            "<!doctype html><title>Welcome</title><p id=\"who\">Not signed in</p>\
                      <p><a href=\"/login\">Sign in</a></p>"
                .into(),
        ),
    }
}

async fn login(State(app): State<Arc<App>>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = app
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    if let Ok(mut p) = app.pending.lock() {
        p.insert(state.secret().clone(), (verifier.secret().clone(), nonce.secret().clone()));
    }
    // the state is bound to this browser too, so a callback cannot be planted in another one
    let bind = format!("{}_state={}; Path=/; HttpOnly; SameSite=Lax", app.config.cookie, state.secret());
    ([(header::SET_COOKIE, bind)], Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn problem(status: StatusCode, text: &str) -> Response {
    (status, Html(format!("<!doctype html><title>Error</title><p id=\"error\">{}</p>", escape(text))))
        .into_response()
}

async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    if let Some(e) = q.error {
        return problem(StatusCode::FORBIDDEN, &format!("The provider said: {e}"));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return problem(StatusCode::BAD_REQUEST, "No code in the callback.");
    };
    if cookie(&headers, &format!("{}_state", app.config.cookie)) != Some(state.as_str()) {
        return problem(StatusCode::BAD_REQUEST, "This sign-in was not started in this browser.");
    }
    let Some((verifier, nonce)) = app.pending.lock().ok().and_then(|mut p| p.remove(&state)) else {
        return problem(StatusCode::BAD_REQUEST, "Unknown or used state.");
    };
    let f = http_client::owned(&app.http);
    let exchange = match app.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(x) => x.set_pkce_verifier(PkceCodeVerifier::new(verifier)),
        Err(e) => return problem(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let tokens = match exchange.request_async(&f).await {
        Ok(t) => t,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, &format!("The code exchange failed: {e}")),
    };
    let Some(id_token) = tokens.id_token() else {
        return problem(StatusCode::BAD_GATEWAY, "No ID token.");
    };
    let claims = match id_token.claims(&app.client.id_token_verifier(), &Nonce::new(nonce)) {
        Ok(c) => c,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, &format!("The ID token is not valid: {e}")),
    };
    let raw = id_token.to_string();
    // `sid` is not among the crate's standard claims: read it from the verified token
    let sid = logout_token::payload(&raw).and_then(|p| p["sid"].as_str().map(str::to_string));
    // the name from UserInfo (the ID token carries it only when asked for with `claims`)
    let info: Option<CoreUserInfoClaims> =
        match app.client.user_info(tokens.access_token().clone(), Some(claims.subject().clone())) {
            Ok(req) => req.request_async(&f).await.ok(),
            Err(_) => None,
        };
    let name = info
        .as_ref()
        .and_then(|i| i.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()))
        .or_else(|| claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()))
        .or_else(|| claims.preferred_username().map(|u| u.as_str().to_string()))
        .unwrap_or_else(|| claims.subject().as_str().to_string());
    let value = CsrfToken::new_random().secret().clone();
    let local = Local { sub: claims.subject().as_str().to_string(), sid, name, id_token: raw };
    if let Ok(mut s) = app.sessions.lock() {
        s.insert(value.clone(), local);
    }
    let set = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax", app.config.cookie);
    ([(header::SET_COOKIE, set)], Redirect::to("/")).into_response()
}

/// Ends the local session and asks the provider to end its own (RP-Initiated Logout 1.0).
async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some((value, local)) = current(&app, &headers) else { return Redirect::to("/").into_response() };
    if let Ok(mut s) = app.sessions.lock() {
        s.remove(&value);
    }
    let clear = format!("{}=; Path=/; Max-Age=0", app.config.cookie);
    let Some(end) = &app.end_session else {
        return ([(header::SET_COOKIE, clear)], Redirect::to("/")).into_response();
    };
    let mut url = match url::Url::parse(end) {
        Ok(u) => u,
        Err(_) => {
            return problem(StatusCode::BAD_GATEWAY, "The provider's end_session_endpoint is not a URL.");
        }
    };
    url.query_pairs_mut()
        .append_pair("id_token_hint", &local.id_token)
        .append_pair("post_logout_redirect_uri", &format!("{}/", app.config.base_url));
    ([(header::SET_COOKIE, clear)], Redirect::to(url.as_str())).into_response()
}

/// Ends every local session of the provider's session `sid` (or of `sub` when none is given).
fn end_local(app: &App, sid: Option<&str>, sub: Option<&str>) -> usize {
    let Ok(mut sessions) = app.sessions.lock() else { return 0 };
    let before = sessions.len();
    sessions.retain(|_, l| match sid {
        Some(sid) => l.sid.as_deref() != Some(sid),
        None => sub.is_none_or(|sub| l.sub != sub),
    });
    before - sessions.len()
}

#[derive(Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

async fn backchannel_logout(State(app): State<Arc<App>>, Form(form): Form<LogoutForm>) -> Response {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let Some(token) = form.logout_token else {
        return (StatusCode::BAD_REQUEST, no_store, "missing logout_token").into_response();
    };
    match app.keys.verify(&app.http, &token, &app.config.issuer, &app.config.client_id).await {
        Ok(claims) => {
            let jti = claims["jti"].as_str().unwrap_or_default().to_string();
            let fresh = app
                .seen_jti
                .lock()
                .map(|mut seen| {
                    seen.retain(|_, at| at.elapsed() < JTI_MEMORY);
                    seen.insert(jti, std::time::Instant::now()).is_none()
                })
                .unwrap_or(false);
            if !fresh {
                return (StatusCode::BAD_REQUEST, no_store, "logout token replayed").into_response();
            }
            end_local(&app, claims["sid"].as_str(), claims["sub"].as_str());
            (StatusCode::OK, no_store).into_response()
        }
        Err(why) => (StatusCode::BAD_REQUEST, no_store, why).into_response(),
    }
}

#[derive(Deserialize)]
struct FrontChannel {
    iss: Option<String>,
    sid: Option<String>,
}

async fn frontchannel_logout(State(app): State<Arc<App>>, Query(q): Query<FrontChannel>) -> Response {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    // §3: with iss and sid, only the named session of the named provider
    if q.iss.as_deref() == Some(app.config.issuer.as_str())
        && let Some(sid) = q.sid.as_deref()
    {
        end_local(&app, Some(sid), None);
    }
    (StatusCode::OK, no_store, Html("<!doctype html><title>Signed out</title>")).into_response()
}
