//! The administrators' console: server-rendered pages (askama, compile-checked; a
//! vendored htmx for smoother navigation, no front-end build) over the idp's admin JSON API.
//!
//! It is an ordinary OpenID Connect client of the idp (code flow with PKCE, `acr_values=aal2`,
//! scope `openid admin`): the administrator signs in there with a second factor, and every page
//! calls the admin API with the administrator's own access token, so the idp alone decides what
//! each administrator may do. Sessions are sealed cookies (`session.rs`: HttpOnly,
//! SameSite=Lax, nothing kept in the process); every form carries a CSRF token.
//!
//! It lives under `/console` and is served two ways: by `idp serve` itself, on the provider's
//! own port, with its client registered at start (`idp_server::console`), which is what a new
//! deployment gets with no configuration; or as this crate's own binary, in front of a provider
//! elsewhere, configured from the environment below.
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

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

mod api;
mod auth;
mod pages;
mod session;
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
    /// The key sealing session cookies; random for this process when none (a restart then
    /// signs everyone out). Consoles behind one address share it.
    pub session_key: Option<[u8; 32]>,
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
            session_key: match var("CONSOLE_SESSION_KEY") {
                None => None,
                Some(k) => Some(session_key(&k)?),
            },
        })
    }
}

/// `CONSOLE_SESSION_KEY`: 32 bytes, base64 (standard or URL-safe).
fn session_key(k: &str) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    let k = k.trim().trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(k)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(k))
        .map_err(|_| anyhow::anyhow!("CONSOLE_SESSION_KEY is not base64"))?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("CONSOLE_SESSION_KEY is not 32 bytes"))
}

pub(crate) use session::{Flash, Session};

/// Where the console lives, on its own port as inside `idp serve`.
pub const MOUNT: &str = "/console";

pub(crate) struct Shared {
    pub config: Config,
    pub public_url: String,
    pub http: reqwest::Client,
    pub sealer: session::Sealer,
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
        let sealer = config.session_key.map_or_else(session::Sealer::random, session::Sealer::new);
        let shared = Arc::new(Shared { config, public_url, http, sealer, idp_base, tenant });
        Ok(Self { shared, tls })
    }

    pub fn public_url(&self) -> String {
        self.shared.public_url.clone()
    }

    /// The console's routes, all under [`MOUNT`]. A form's address reloaded or opened from
    /// history (a GET where only POST is taken) leads to the page the form belongs to.
    pub fn router(&self) -> Router {
        let back = || get(pages::elsewhere);
        // the branding form (a logo): read whole, after the session is checked, so that a file
        // too large is refused in words rather than by a cut connection
        let upload = || axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024);
        let routes: Vec<(&str, axum::routing::MethodRouter<Arc<Shared>>)> = vec![
            ("", get(pages::dashboard)),
            ("/", get(pages::dashboard)),
            ("/login", get(auth::login)),
            ("/callback", get(auth::callback)),
            ("/logout", post(auth::logout).merge(back())),
            ("/tenants", get(pages::tenants).post(pages::create_tenant)),
            ("/tenants/{slug}/{action}", post(pages::tenant_action).merge(back())),
            ("/tenants/{slug}/settings", get(pages::tenant_settings).post(pages::save_tenant_rules)),
            (
                "/tenants/{slug}/settings/branding",
                post(pages::save_tenant_branding).layer(upload()).merge(back()),
            ),
            ("/settings", get(pages::settings).post(pages::save_rules)),
            ("/settings/branding", post(pages::save_branding).layer(upload()).merge(back())),
            ("/organisations", get(pages::organisations).post(pages::add_organisation)),
            ("/organisations/export", get(pages::export_organisations)),
            ("/organisations/{id}", get(pages::organisation).post(pages::add_member)),
            ("/memberships/{id}/remove", post(pages::remove_member).merge(back())),
            ("/clients", get(pages::clients).post(pages::register_client)),
            ("/clients/export", get(pages::export_clients)),
            ("/clients/{id}", get(pages::client).post(pages::edit_client)),
            ("/clients/{id}/{action}", post(pages::client_action).merge(back())),
            ("/keys", get(pages::keys).post(pages::rotate_key)),
            ("/keys/profile", post(pages::move_profile).merge(back())),
            ("/upstreams", get(pages::upstreams).post(pages::add_upstream)),
            ("/upstreams/{id}/{action}", post(pages::upstream_action).merge(back())),
            ("/keys/{kid}/revoke", post(pages::revoke_key).merge(back())),
            ("/accounts", get(pages::accounts)),
            ("/accounts/{id}", get(pages::account)),
            ("/accounts/{id}/{action}", post(pages::account_action).merge(back())),
            ("/audit", get(pages::audit)),
            ("/audit/export", get(pages::audit_export)),
            ("/static/htmx.min.js", get(pages::htmx)),
            ("/static/console.css", get(pages::stylesheet)),
            ("/static/console.js", get(pages::script)),
        ];
        let mut router = Router::new();
        for (path, method) in routes {
            router = router.route(&format!("{MOUNT}{path}"), method);
        }
        router
            // forms are small (the branding's own limit is above)
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
            .layer(axum::middleware::from_fn_with_state(self.shared.clone(), auth::require))
            .layer(axum::middleware::from_fn(pages::security_headers))
            .with_state(self.shared.clone())
    }

    /// The standalone console: [`App::router`], and its root leading there.
    pub fn standalone_router(&self) -> Router {
        self.router().route("/", get(|| async { axum::response::Redirect::to(&format!("{MOUNT}/")) }))
    }

    /// Serves until `shutdown`: HTTPS with HSTS when configured, else HTTP.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.standalone_router();
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
