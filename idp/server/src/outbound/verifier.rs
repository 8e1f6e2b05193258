//! The identity verification provider the configuration names (`[realname]`): `none` (no
//! provider: a binding is self-asserted, level 1), `simulator` (development and sandbox:
//! deterministic outcomes, see `idp_core::realname::Simulator`) or `http` (the real gateway).
//!
//! The HTTP adapter POSTs `{"name", "id_type", "id_number"}` (HMAC signature and/or
//! Authorization header, or a client certificate; timeout; retries) and reads
//! `{"result": "match"|"mismatch"|"not_found", "reference": "…"}`. Where the gateway offers
//! the bank-card four-factor check (`bank_card = true`, level 3) it gets `{"check":
//! "bank_card", "name", "id_type", "id_number", "card_number", "phone"}` and answers alike. A
//! circuit breaker stops
//! asking a failing gateway: after `breaker_failures` consecutive failures every call answers
//! "unavailable" at once for `breaker_seconds`, then one call is let through to try again.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use idp_core::realname::{BankCardCheck, Outcome, Simulator, Verifier};

use crate::config::{Config, RealNameConfig};
use crate::outbound::webhook::SignedPost;

pub struct HttpVerifier {
    gateway: SignedPost,
    breaker: Breaker,
    bank_card: bool,
}

/// Consecutive failures, and until when the circuit stays open.
struct Breaker {
    state: Mutex<(u32, Option<Instant>)>,
    failures: u32,
    open_for: Duration,
}

impl Breaker {
    fn open(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.1 {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                // half-open: let this call try; a failure opens it again at once
                s.1 = None;
                s.0 = self.failures.saturating_sub(1);
                false
            }
            None => false,
        }
    }
    fn record(&self, ok: bool) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            *s = (0, None);
        } else {
            s.0 += 1;
            if s.0 >= self.failures {
                s.1 = Some(Instant::now() + self.open_for);
                tracing::warn!(
                    seconds = self.open_for.as_secs(),
                    "the verification gateway keeps failing: not asking it for a while"
                );
            }
        }
    }
}

#[async_trait::async_trait]
impl Verifier for HttpVerifier {
    fn name(&self) -> &str {
        "gateway"
    }

    async fn verify(&self, name: &str, id_type: &str, id_number: &str) -> Outcome {
        self.ask(serde_json::json!({"name": name, "id_type": id_type, "id_number": id_number})).await
    }

    fn offers_bank_card(&self) -> bool {
        self.bank_card
    }

    async fn verify_bank_card(&self, p: &BankCardCheck<'_>) -> Outcome {
        if !self.bank_card {
            return Outcome::Unavailable("the bank-card check is not offered".into());
        }
        self.ask(serde_json::json!({
            "check": "bank_card", "name": p.name, "id_type": p.id_type, "id_number": p.id_number,
            "card_number": p.card_number, "phone": p.phone,
        }))
        .await
    }
}

impl HttpVerifier {
    async fn ask(&self, body: serde_json::Value) -> Outcome {
        if self.breaker.open() {
            return Outcome::Unavailable("circuit open".into());
        }
        let answer = self.gateway.post(&body.to_string()).await;
        let outcome = match answer {
            Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) => match v["result"].as_str() {
                    Some("match") => Outcome::Match {
                        reference: v["reference"].as_str().unwrap_or_default().chars().take(128).collect(),
                    },
                    Some("mismatch") => Outcome::Mismatch,
                    Some("not_found") => Outcome::NotFound,
                    _ => Outcome::Unavailable("the gateway's answer has no known result".into()),
                },
                Err(_) => Outcome::Unavailable("the gateway's answer is not JSON".into()),
            },
            Err(e) => Outcome::Unavailable(e.to_string()),
        };
        self.breaker.record(!matches!(outcome, Outcome::Unavailable(_)));
        outcome
    }
}

/// The verifier the configuration names; `None` for `none`.
pub fn from_config(config: &Config) -> anyhow::Result<Option<Arc<dyn Verifier>>> {
    let c: &RealNameConfig = &config.realname;
    Ok(match c.provider.as_str() {
        "none" => None,
        "simulator" => {
            tracing::warn!("real-name checks use the simulator (development and sandbox only)");
            Some(Arc::new(Simulator))
        }
        "http" => {
            let url = c.url.clone().ok_or_else(|| anyhow::anyhow!("realname.url is required"))?;
            let gateway = SignedPost::new(
                url,
                c.authorization.clone(),
                c.hmac_secret.clone(),
                crate::outbound::webhook::GatewayTls {
                    client_identity_pem: c.client_identity_pem.as_deref(),
                    ca_pem: c.ca_pem.as_deref(),
                    pins: crate::outbound::pinning::Pins::parse(&c.pin_sha256, "realname.pin_sha256")?,
                },
                Duration::from_secs(c.timeout_seconds.max(1)),
                c.retries,
                &crate::outbound::Policy::new(&config.outbound)?,
            )?;
            let breaker = Breaker {
                state: Mutex::new((0, None)),
                failures: c.breaker_failures.max(1),
                open_for: Duration::from_secs(c.breaker_seconds.max(1)),
            };
            Some(Arc::new(HttpVerifier { gateway, breaker, bank_card: c.bank_card }))
        }
        other => anyhow::bail!("realname.provider must be none, simulator or http, not {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;

    use super::*;

    /// A gateway answering by the number's last character: `1` match, `2` mismatch, `3` not
    /// found, anything else 503. It checks the signature and counts the calls.
    async fn gateway() -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let app = axum::Router::new().route(
            "/verify",
            post(move |headers: HeaderMap, body: String| {
                let c = c.clone();
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    let sig = idp_core::crypto::hmac_sha256_hex(b"gw-secret", body.as_bytes());
                    if headers.get("x-signature").and_then(|v| v.to_str().ok())
                        != Some(&format!("sha256={sig}"))
                    {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let result = match v["id_number"].as_str().and_then(|n| n.chars().last()) {
                        Some('1') => "match",
                        Some('2') => "mismatch",
                        Some('3') => "not_found",
                        _ => return (StatusCode::SERVICE_UNAVAILABLE, String::new()),
                    };
                    (StatusCode::OK, serde_json::json!({"result": result, "reference": "tx-42"}).to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/verify"), calls)
    }

    fn config(url: &str, secret: &str) -> Config {
        let realname = RealNameConfig {
            provider: "http".into(),
            url: Some(url.into()),
            hmac_secret: Some(secret.into()),
            timeout_seconds: 2,
            retries: 1,
            breaker_failures: 2,
            breaker_seconds: 60,
            ..RealNameConfig::default()
        };
        let outbound = crate::outbound::OutboundConfig {
            allow_networks: vec!["127.0.0.0/8".into()],
            ..Default::default()
        };
        Config { realname, outbound, ..Config::default() }
    }

    #[tokio::test]
    async fn the_http_adapter_signs_reads_and_breaks_the_circuit() {
        let (url, calls) = gateway().await;
        let v = from_config(&config(&url, "gw-secret")).unwrap().unwrap();
        assert_eq!(v.verify("张三", "resident_id", "x1").await, Outcome::Match { reference: "tx-42".into() });
        assert_eq!(v.verify("张三", "resident_id", "x2").await, Outcome::Mismatch);
        assert_eq!(v.verify("张三", "resident_id", "x3").await, Outcome::NotFound);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // the bank-card check only where configured
        let card = BankCardCheck {
            name: "张三",
            id_type: "resident_id",
            id_number: "x2",
            card_number: "c",
            phone: "p",
        };
        assert!(!v.offers_bank_card());
        assert!(matches!(v.verify_bank_card(&card).await, Outcome::Unavailable(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "not asked");
        let mut with_card = config(&url, "gw-secret");
        with_card.realname.bank_card = true;
        let vc = from_config(&with_card).unwrap().unwrap();
        assert!(vc.offers_bank_card());
        assert_eq!(vc.verify_bank_card(&card).await, Outcome::Mismatch);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        // a failing gateway: retried, then unavailable; two failures open the circuit
        assert!(matches!(v.verify("张三", "resident_id", "x9").await, Outcome::Unavailable(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 6, "one retry");
        assert!(matches!(v.verify("张三", "resident_id", "x9").await, Outcome::Unavailable(_)));
        let before = calls.load(Ordering::SeqCst);
        assert_eq!(v.verify("张三", "resident_id", "x1").await, Outcome::Unavailable("circuit open".into()));
        assert_eq!(calls.load(Ordering::SeqCst), before, "an open circuit does not call");
        // a wrong signature is refused by the gateway: unavailable, and no retry of a 4xx
        let bad = from_config(&config(&url, "wrong")).unwrap().unwrap();
        let before = calls.load(Ordering::SeqCst);
        assert!(matches!(bad.verify("张三", "resident_id", "x1").await, Outcome::Unavailable(_)));
        assert_eq!(calls.load(Ordering::SeqCst), before + 1);
        // the configuration is checked at start-up
        let missing = Config {
            realname: RealNameConfig { provider: "http".into(), ..RealNameConfig::default() },
            ..Config::default()
        };
        assert!(from_config(&missing).is_err());
        let unknown = Config {
            realname: RealNameConfig { provider: "oracle".into(), ..RealNameConfig::default() },
            ..Config::default()
        };
        assert!(from_config(&unknown).is_err());
        assert!(from_config(&Config::default()).unwrap().is_none(), "none by default");
    }
}

#[cfg(test)]
mod mutual_tls {
    use std::sync::Arc;

    use axum::routing::post;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::server::WebPkiClientVerifier;

    use super::*;
    use crate::tls::devcerts::DevCa;

    /// A gateway on its own PKI that only talks to clients with a certificate of its CA.
    async fn gateway(ca: &DevCa, dir: &std::path::Path) -> String {
        let server = ca.server(&[]).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(dir.join("server.pem"), &server.cert_pem).unwrap();
        std::fs::write(dir.join("server-key.pem"), &server.key_pem).unwrap();
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        for c in crate::tls::certificates(&dir.join("ca.pem")).unwrap() {
            roots.add(c).unwrap();
        }
        let clients = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crate::tls::provider())
            .build()
            .unwrap();
        let config = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(clients)
            .with_single_cert(
                crate::tls::certificates(&dir.join("server.pem")).unwrap(),
                crate::tls::private_key(&dir.join("server-key.pem")).unwrap(),
            )
            .unwrap();
        let app = axum::Router::new().route(
            "/verify",
            post(|| async { serde_json::json!({"result": "match", "reference": "mtls-1"}).to_string() }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(crate::tls::serve(listener, app, Arc::new(config), std::future::pending()));
        format!("https://localhost:{port}/verify")
    }

    fn config(url: &str, identity: Option<std::path::PathBuf>, ca: std::path::PathBuf) -> Config {
        let realname = RealNameConfig {
            provider: "http".into(),
            url: Some(url.into()),
            client_identity_pem: identity,
            ca_pem: Some(ca),
            timeout_seconds: 2,
            retries: 0,
            ..RealNameConfig::default()
        };
        let outbound = crate::outbound::OutboundConfig {
            allow_networks: vec!["127.0.0.0/8".into()],
            ..Default::default()
        };
        Config { realname, outbound, ..Config::default() }
    }

    #[tokio::test]
    async fn the_http_adapter_authenticates_with_a_client_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::new().unwrap();
        let url = gateway(&ca, dir.path()).await;
        let identity = dir.path().join("client-identity.pem");
        std::fs::write(&identity, ca.client("idp").unwrap().identity_pem()).unwrap();
        let ca_pem = dir.path().join("ca.pem");

        let v = from_config(&config(&url, Some(identity.clone()), ca_pem.clone())).unwrap().unwrap();
        assert_eq!(
            v.verify("张三", "resident_id", "x1").await,
            Outcome::Match { reference: "mtls-1".into() }
        );

        // no client certificate: the gateway ends the handshake; nothing is learnt
        let anonymous = from_config(&config(&url, None, ca_pem.clone())).unwrap().unwrap();
        assert!(matches!(anonymous.verify("张三", "resident_id", "x1").await, Outcome::Unavailable(_)));

        // a certificate of another CA: refused as well
        let stranger = dir.path().join("stranger.pem");
        std::fs::write(&stranger, DevCa::new().unwrap().client("idp").unwrap().identity_pem()).unwrap();
        let v = from_config(&config(&url, Some(stranger), ca_pem)).unwrap().unwrap();
        assert!(matches!(v.verify("张三", "resident_id", "x1").await, Outcome::Unavailable(_)));

        // and the gateway itself must be of the configured CA
        let other_ca = dir.path().join("other-ca.pem");
        std::fs::write(&other_ca, DevCa::new().unwrap().cert_pem()).unwrap();
        let v = from_config(&config(&url, Some(identity), other_ca)).unwrap().unwrap();
        assert!(matches!(v.verify("张三", "resident_id", "x1").await, Outcome::Unavailable(_)));
    }
}
