//! JSON POSTs to an outside gateway (the SMS gateway, the identity verification gateway): an
//! `Authorization` header and/or an HMAC-SHA-256 signature of the body (`X-Signature:
//! sha256=<hex>`), optionally a client certificate (mutual TLS), a timeout, and retries with a
//! growing pause on server errors and timeouts. A 4xx answer is final. Errors are safe to log:
//! they never carry the body.

use std::time::Duration;

/// How to reach one gateway.
pub struct SignedPost {
    http: reqwest::Client,
    url: String,
    authorization: Option<String>,
    hmac_secret: Option<String>,
    retries: u32,
}

/// Why a POST got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// The gateway refused the request (4xx): retrying will not help.
    Refused(u16),
    /// Server errors, timeouts or no connection, after every retry.
    Failed(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Refused(s) => write!(f, "the gateway refused the request ({s})"),
            PostError::Failed(why) => f.write_str(why),
        }
    }
}

/// TLS towards a gateway beyond the defaults.
#[derive(Default, Clone)]
pub struct GatewayTls<'a> {
    /// A PEM file with the client certificate chain and its private key (mutual TLS).
    pub client_identity_pem: Option<&'a std::path::Path>,
    /// The CA certificates (PEM) of a gateway on a private PKI: when given, the only ones
    /// trusted for it.
    pub ca_pem: Option<&'a std::path::Path>,
    /// Pinned keys: when given, the only keys trusted for it, whatever signed their
    /// certificate (`crate::outbound::pinning`).
    pub pins: crate::outbound::pinning::Pins,
}

impl SignedPost {
    #[allow(clippy::too_many_arguments)] // one gateway's whole description, read once at start
    pub fn new(
        url: String,
        authorization: Option<String>,
        hmac_secret: Option<String>,
        tls: GatewayTls<'_>,
        timeout: Duration,
        retries: u32,
        outbound: &crate::outbound::Policy,
    ) -> anyhow::Result<Self> {
        if outbound.check_url(&url).is_err() {
            anyhow::bail!(
                "the gateway {url} is not an allowed destination: an http(s) URL whose host is in \
                 [outbound] allow_hosts (when set) and, for a loopback or private address, whose network \
                 is in [outbound] allow_networks"
            );
        }
        let mut builder = outbound.client(timeout);
        anyhow::ensure!(
            url.starts_with("https://")
                || (tls.ca_pem.is_none() && tls.client_identity_pem.is_none() && tls.pins.is_empty()),
            "the gateway {url} has TLS settings (a CA, a client certificate or pinned keys) but is not an https URL"
        );
        anyhow::ensure!(
            tls.ca_pem.is_none() || tls.pins.is_empty(),
            "a gateway is trusted by its CA certificates or by pinned keys, not both"
        );
        let identity = match tls.client_identity_pem {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("cannot read the client certificate {}: {}", path.display(), e.kind())
            })?),
            None => None,
        };
        if !tls.pins.is_empty() {
            let identity = match (&identity, tls.client_identity_pem) {
                (Some(_), Some(path)) => {
                    Some((https_serve::certificates(path)?, https_serve::private_key(path)?))
                }
                _ => None,
            };
            builder = builder.use_preconfigured_tls(tls.pins.client_config(identity)?);
        }
        if let Some(path) = tls.ca_pem {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("cannot read the gateway's CA certificates {}: {}", path.display(), e.kind())
            })?;
            let cas = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                anyhow::anyhow!("the gateway's CA certificates {} are not usable: {e}", path.display())
            })?;
            anyhow::ensure!(!cas.is_empty(), "{} holds no certificate", path.display());
            builder = builder.tls_certs_only(cas);
        }
        if let (Some(pem), Some(path), true) = (identity, tls.client_identity_pem, tls.pins.is_empty()) {
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                anyhow::anyhow!("the client certificate {} is not usable: {e}", path.display())
            })?;
            builder = builder.identity(identity);
        }
        let http = builder.build().map_err(|e| anyhow::anyhow!("gateway client: {e}"))?;
        Ok(Self { http, url, authorization, hmac_secret, retries: retries.min(5) })
    }

    /// POSTs `body` (JSON) and returns the body of the first 2xx answer.
    pub async fn post(&self, body: &str) -> Result<Vec<u8>, PostError> {
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            let mut req =
                self.http.post(&self.url).header("content-type", "application/json").body(body.to_string());
            if let Some(a) = &self.authorization {
                req = req.header("authorization", a);
            }
            if let Some(secret) = &self.hmac_secret {
                let hex = idp_core::crypto::hmac_sha256_hex(secret.as_bytes(), body.as_bytes());
                req = req.header("x-signature", format!("sha256={hex}"));
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => {
                    return r
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .map_err(|_| PostError::Failed("the answer broke off".into()));
                }
                Ok(r) if r.status().is_client_error() => return Err(PostError::Refused(r.status().as_u16())),
                Ok(r) => last = format!("the gateway answered {}", r.status()),
                Err(e) if crate::outbound::is_refusal(&e) => {
                    return Err(PostError::Failed(
                        "the gateway's address is not allowed ([outbound])".into(),
                    ));
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "the gateway timed out".into()
                    } else {
                        "the gateway is unreachable".into()
                    }
                }
            }
        }
        Err(PostError::Failed(last))
    }
}
