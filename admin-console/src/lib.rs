//! The administrators' console: server-rendered pages (askama, compile-checked; a
//! vendored htmx for smoother navigation, no front-end build) over the idp's admin JSON API.
//!
//! It is an ordinary OpenID Connect client of the idp (code flow with PKCE, `acr_values=aal2`,
//! scope `openid admin`): the administrator signs in there with a second factor, and every page
//! calls the admin API with the administrator's own access token, so the idp alone decides what
//! each administrator may do. Sessions are kept in memory (one console process; a restart signs
//! everyone out) behind an HttpOnly, SameSite=Lax cookie; every form carries a CSRF token.
//!
//! A console session lasts as long as the access token. No refresh token is kept: when the
//! token expires, the next page goes back through the idp, whose SSO session answers at once
//! while it lives — so the idp alone applies the administrators' 15-minute idle timeout, and an
//! administrator whose sessions were ended, or whose account was locked, is out of the console
//! too. The page asked for is where the sign-in comes back to.
//!
//! Configuration (environment): `CONSOLE_LISTEN` (default `127.0.0.1:8090`),
//! `CONSOLE_PUBLIC_URL` (default `http(s)://{listen}`), `CONSOLE_ISSUER` (the administrators'
//! tenant's issuer, e.g. `http://localhost:8080/t/main`), `CONSOLE_CLIENT_ID`,
//! `CONSOLE_CLIENT_SECRET`, `CONSOLE_LOG`; HTTPS with `CONSOLE_TLS_CERT` and `CONSOLE_TLS_KEY`
//! (PEM files; HSTS then), and `CONSOLE_IDP_CA` (PEM) to trust a private CA for the idp's
//! own HTTPS (the development CA of `idp dev-certs`).
//!
//! Depends on `idp-proto` (docs/design.md) and `https-serve` (a TLS loop that knows nothing of
//! identity, split out of the idp so both serve HTTPS alike), never on the provider's crates.
//! Every admin API request and answer is read and written as its `idp-proto` type (`api.rs`),
//! the very types the idp's handlers use, without that crate's `openapi` feature.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

mod api;
mod auth;
mod pages;
mod texts;

/// The console's settings.
#[derive(Clone)]
pub struct Config {
    pub listen: String,
    pub public_url: Option<String>,
    /// The administrators' tenant's issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub log: String,
    /// HTTPS: the certificate chain and key (PEM files).
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// A CA to trust for the idp's HTTPS, besides the system's.
    pub idp_ca: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let need = |k: &str| var(k).ok_or_else(|| anyhow::anyhow!("{k} is required"));
        Ok(Self {
            listen: var("CONSOLE_LISTEN").unwrap_or_else(|| "127.0.0.1:8090".into()),
            public_url: var("CONSOLE_PUBLIC_URL"),
            issuer: need("CONSOLE_ISSUER")?,
            client_id: need("CONSOLE_CLIENT_ID")?,
            client_secret: need("CONSOLE_CLIENT_SECRET")?,
            log: var("CONSOLE_LOG").unwrap_or_else(|| "info".into()),
            tls_cert: var("CONSOLE_TLS_CERT").map(Into::into),
            tls_key: var("CONSOLE_TLS_KEY").map(Into::into),
            idp_ca: var("CONSOLE_IDP_CA").map(Into::into),
        })
    }
}

/// A signed-in administrator's session, or one on its way through the sign-in.
#[derive(Clone, Default)]
pub(crate) struct Session {
    pub csrf: String,
    pub access_token: Option<String>,
    pub expires_at: i64,
    pub subject: String,
    /// While signing in: (state, nonce, PKCE verifier).
    pub pending: Option<(String, String, String)>,
    /// While signing in: the console page to come back to.
    pub next: Option<String>,
}

pub(crate) struct Shared {
    pub config: Config,
    pub public_url: String,
    pub http: reqwest::Client,
    pub sessions: Mutex<HashMap<String, Session>>,
    /// The idp's base URL and the tenant slug, from the issuer.
    pub idp_base: String,
    pub tenant: String,
}

pub struct App {
    shared: Arc<Shared>,
    tls: Option<Arc<https_serve::ServerConfig>>,
}

impl App {
    /// The console for `config`, reachable at `addr` (the bound listener's address); fails on
    /// unreadable TLS or CA files.
    pub fn new(config: Config, addr: SocketAddr) -> anyhow::Result<Self> {
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(https_serve::server_config(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("CONSOLE_TLS_CERT and CONSOLE_TLS_KEY go together"),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let (idp_base, tenant) = match config.issuer.rsplit_once("/t/") {
            Some((base, slug)) => (base.to_string(), slug.trim_end_matches('/').to_string()),
            None => (config.issuer.clone(), "main".into()),
        };
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = &config.idp_ca {
            for cert in https_serve::certificates(ca)? {
                http = http.add_root_certificate(reqwest::Certificate::from_der(&cert)?);
            }
        }
        let http = http.build()?;
        let shared =
            Arc::new(Shared { config, public_url, http, sessions: Mutex::default(), idp_base, tenant });
        Ok(Self { shared, tls })
    }

    pub fn public_url(&self) -> String {
        self.shared.public_url.clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(pages::dashboard))
            .route("/login", get(auth::login))
            .route("/callback", get(auth::callback))
            .route("/logout", post(auth::logout))
            .route("/tenants", get(pages::tenants).post(pages::create_tenant))
            .route("/tenants/{slug}/{action}", post(pages::tenant_action))
            .route("/tenants/{slug}/settings", get(pages::tenant_settings).post(pages::save_tenant_rules))
            .route("/tenants/{slug}/settings/branding", post(pages::save_tenant_branding))
            .route("/settings", get(pages::settings).post(pages::save_rules))
            .route("/settings/branding", post(pages::save_branding))
            .route("/organisations", get(pages::organisations).post(pages::add_organisation))
            .route("/organisations/{id}", get(pages::organisation).post(pages::add_member))
            .route("/memberships/{id}/remove", post(pages::remove_member))
            .route("/clients", get(pages::clients).post(pages::register_client))
            .route("/clients/{id}", get(pages::client).post(pages::edit_client))
            .route("/clients/{id}/{action}", post(pages::client_action))
            .route("/keys", get(pages::keys).post(pages::rotate_key))
            .route("/keys/{kid}/revoke", post(pages::revoke_key))
            .route("/accounts", get(pages::accounts))
            .route("/accounts/{id}", get(pages::account))
            .route("/accounts/{id}/{action}", post(pages::account_action))
            .route("/audit", get(pages::audit))
            .route("/audit/export", get(pages::audit_export))
            .route("/static/htmx.min.js", get(pages::htmx))
            .route("/static/console.css", get(pages::stylesheet))
            .layer(axum::middleware::from_fn_with_state(self.shared.clone(), auth::require))
            .layer(axum::middleware::from_fn(pages::security_headers))
            .with_state(self.shared.clone())
    }

    /// Serves until `shutdown`: HTTPS with HSTS when configured, else HTTP.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.router();
        match self.tls {
            Some(tls) => {
                let hsts = tower_http::set_header::SetResponseHeaderLayer::overriding(
                    axum::http::header::STRICT_TRANSPORT_SECURITY,
                    axum::http::HeaderValue::from_static(https_serve::HSTS),
                );
                https_serve::serve(listener, router.layer(hsts), tls, shutdown).await
            }
            None => axum::serve(listener, router).with_graceful_shutdown(shutdown).await,
        }
    }
}
