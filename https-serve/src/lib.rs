//! HTTPS with rustls (aws-lc-rs, as everywhere in the stack): the certificate and key from PEM
//! files, an accept loop that serves HTTP/1.1 and HTTP/2 (ALPN) with each request's peer
//! address (`ConnectInfo`) and a graceful shutdown, and the plain-HTTP listener that only
//! redirects to the HTTPS public URL.
//!
//! axum's own `serve` has no TLS; `axum-server` would add a second server stack for what is
//! this one loop over hyper-util, already in the tree. A crate of its own so that the admin
//! console, which must not depend on the provider's crates (docs/design.md), serves HTTPS the same
//! way; it knows nothing of identity.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
pub use tokio_rustls::rustls::ServerConfig;
use tower::ServiceExt;

/// The crypto provider of every TLS configuration we build.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The certificates of a PEM file (a chain, or CA certificates).
pub fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read certificates from {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} holds a malformed certificate", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

/// A private key from a PEM file (PKCS#8, PKCS#1 or SEC1). The error never carries the key.
pub fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|_| anyhow::anyhow!("{} holds no usable private key", path.display()))
}

/// A server configuration presenting `cert` (chain) with `key`, offering h2 and HTTP/1.1.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let mut c = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certificates(cert)?, private_key(key)?)
        .context("the TLS certificate and key do not go together")?;
    c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(c))
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then lets open
/// connections finish. A handshake that does not complete within 10 s is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(v) => v,
                Err(e) => {
                    // out of file descriptors and the like: pause instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let service = router.clone().map_request(move |req: hyper::Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        tokio::spawn(async move {
            let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let _ = watcher.watch(conn.into_owned()).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The plain-HTTP listener beside TLS: every request is sent to the same path on `public_url`
/// (308, so a POST stays a POST).
pub fn redirect_router(public_url: String) -> Router {
    Router::new().fallback(move |uri: Uri| {
        let base = public_url.clone();
        async move { redirect(&base, &uri) }
    })
}

fn redirect(base: &str, uri: &Uri) -> Response {
    let target = format!("{base}{}", uri.path_and_query().map_or("/", |p| p.as_str()));
    match HeaderValue::from_str(&target) {
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `Strict-Transport-Security` on every answer served over TLS: a year, subdomains included.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Serves the redirect router on `listener` until `shutdown`.
pub async fn serve_redirects(
    listener: TcpListener,
    public_url: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, redirect_router(public_url).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
