//! Start-up: open the store (running migrations), load the key-encryption key, bootstrap an
//! empty database, bind the listener and serve until shut down.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use idp_core::{Env, SystemEnv};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::ops::{Ops, open_module};
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    /// HTTPS (`tls_cert`, `tls_key`), checked at build.
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The plain-HTTP listener that redirects to HTTPS (`http_redirect_listen`).
    redirect: Option<TcpListener>,
    /// The Prometheus listener (`metrics_listen`).
    metrics: Option<TcpListener>,
    pub state: Arc<AppState>,
    /// The bootstrap administrator's (username, password), when this start created it.
    pub bootstrap_admin: Option<(String, String)>,
    /// The administrators' console's routes (`crate::console`), when served.
    console: Option<axum::Router>,
}

/// Creates the directory of a SQLite database file if needed.
fn prepare_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Opens the store and the operator handle without serving (for the CLI).
pub async fn open_ops(config: Config, env: Arc<dyn Env>) -> anyhow::Result<Ops> {
    prepare_sqlite_dir(&config.database_url)?;
    let (kek, module) = open_module(&config, env.as_ref())?;
    let options = idp_store::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(config.database_acquire_timeout.clamp(1, 600)),
        audit_key: idp_core::audit::chain_key(&kek),
    };
    let store = idp_store::connect_with(&config.database_url, options).await.with_context(|| {
        format!("cannot open the database {}", crate::config::redact_url(&config.database_url))
    })?;
    Ok(Ops { store, env, kek, module, config })
}

/// [`open_ops`], trying again once a second for `database_wait_seconds` while the database is
/// unavailable (not yet accepting connections, starting up): nodes, their database and their
/// orchestrator may start in any order. Any other error ends the wait at once.
async fn open_ops_waiting(config: Config, env: Arc<dyn Env>) -> anyhow::Result<Ops> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(config.database_wait_seconds);
    loop {
        match open_ops(config.clone(), env.clone()).await {
            Err(e) if std::time::Instant::now() < deadline && is_unavailable(&e) => {
                tracing::warn!(error = %format!("{e:#}"), "the database is not answering yet; trying again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref(), Some(idp_core::StoreError::Unavailable(_))))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_env(config, Arc::new(SystemEnv)).await
    }

    pub async fn build_with_env(mut config: Config, env: Arc<dyn Env>) -> anyhow::Result<Self> {
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("tls_cert and tls_key go together"),
        };
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let redirect = match (&config.http_redirect_listen, &tls) {
            (Some(addr), Some(_)) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (HTTP redirect)"))?,
            ),
            (Some(_), None) => anyhow::bail!("http_redirect_listen needs TLS (tls_cert and tls_key)"),
            (None, _) => None,
        };
        let metrics = match &config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?,
            ),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        match config.public_url.as_deref().map(url::Url::parse) {
            None => config.public_url = Some(format!("{scheme}://{}", listener.local_addr()?)),
            // port 0 in the public URL means the port the listener got (tests on localhost)
            Some(Ok(mut u)) if u.port() == Some(0) => {
                let _ = u.set_port(Some(listener.local_addr()?.port()));
                config.public_url = Some(u.as_str().trim_end_matches('/').to_string());
            }
            Some(_) => {}
        }
        let bootstrap = config.bootstrap;
        let ops = open_ops_waiting(config, env).await?;
        let bootstrap_admin = if bootstrap { ops.bootstrap().await? } else { None };
        let sms = crate::outbound::sms::from_config(&ops.config)?;
        // the outbound rules are checked at start, whether or not a gateway uses them yet
        crate::outbound::Policy::new(&ops.config.outbound)?;
        let verifier = crate::outbound::verifier::from_config(&ops.config)?;
        let (netid, licence) = (&ops.config.netid, &ops.config.licence);
        crate::outbound::connector::check_config("netid", "the national network identity service", netid)?;
        crate::outbound::connector::check_config(
            "licence",
            "the electronic business licence system",
            licence,
        )?;
        // the staff directories' files are read and checked at start
        crate::outbound::ldap::Directory::configured(&ops.config)?;
        let email = crate::outbound::sms::email_from_config(&ops.config)?;
        let public_url = ops.config.public_url();
        let console = crate::console::router(&ops, &public_url, listener.local_addr()?).await?;
        let mut state = AppState::new(ops, sms, verifier);
        state.email = email;
        let state = Arc::new(state);
        state.spawn_housekeeping();
        crate::outbound::logout::spawn_deliveries(&state);
        Ok(Self { listener, tls, redirect, metrics, state, bootstrap_admin, console })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn public_url(&self) -> String {
        self.state.config().public_url()
    }

    /// The address of the metrics listener, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address of the plain-HTTP redirect listener, if any.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes; then `/readyz` says so, no new connection is
    /// accepted, and in-flight requests may finish within `shutdown_grace_seconds`, after
    /// which the process goes on regardless.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = self.state.clone();
        let grace = std::time::Duration::from_secs(state.config().shutdown_grace_seconds);
        let (began, begun) = tokio::sync::oneshot::channel::<()>();
        let signalled = async move {
            shutdown.await;
            state.draining.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = began.send(());
        };
        let serving = self.serve(signalled);
        tokio::pin!(serving);
        tokio::select! {
            r = &mut serving => r,
            () = async {
                if begun.await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(seconds = grace.as_secs(), "requests still running after the shutdown grace period; exiting");
                Ok(())
            }
        }
    }

    async fn serve(mut self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        if let Some(listener) = self.metrics.take() {
            let app = crate::metrics::router(self.state.clone());
            // it ends with the process: scrapes during shutdown still see the drain
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        let mut router = crate::http::router(self.state.clone());
        if let Some(console) = self.console.take() {
            router = router.merge(console);
        }
        let Some(tls) = self.tls else {
            return axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown)
                .await;
        };
        let hsts = tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static(crate::tls::HSTS),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if let Some(listener) = self.redirect {
            let mut stopped = stopped.clone();
            let public_url = self.state.config().public_url();
            tokio::spawn(crate::tls::serve_redirects(listener, public_url, async move {
                let _ = stopped.changed().await;
            }));
        }
        let shutdown = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        crate::tls::serve(self.listener, router.layer(hsts), tls, shutdown).await
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(async {
            let ctrl_c = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            #[cfg(unix)]
            let term = async {
                if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    s.recv().await;
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! { _ = ctrl_c => {}, _ = term => {} }
            tracing::info!("shutting down");
        })
        .await
    }
}
