//! Sending SMS codes: a development sender that appends to a file, and an HTTP webhook for a
//! real SMS gateway (JSON `{"phone", "message"}`, an Authorization header and/or an HMAC
//! signature of the body, a timeout, retries). Messages carry a code, so they are never logged.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, SmsConfig};

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    /// Delivers `message` to `phone`; the error is safe to log (it never carries the message).
    async fn send(&self, phone: &str, message: &str) -> Result<(), String>;
}

/// Appends `phone<TAB>message` lines to a file: for development and tests.
pub struct FileSender {
    pub path: PathBuf,
}

#[async_trait::async_trait]
impl SmsSender for FileSender {
    async fn send(&self, phone: &str, message: &str) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| format!("cannot open the SMS outbox: {}", e.kind()))?;
        f.write_all(format!("{phone}\t{message}\n").as_bytes())
            .await
            .map_err(|e| format!("cannot write the SMS outbox: {}", e.kind()))
    }
}

/// POSTs `{"phone", "message"}` to an SMS gateway (`{"email", "message"}` to a mail gateway).
pub struct WebhookSender {
    gateway: crate::outbound::webhook::SignedPost,
    /// The JSON member that names the recipient.
    field: &'static str,
}

#[async_trait::async_trait]
impl SmsSender for WebhookSender {
    async fn send(&self, to: &str, message: &str) -> Result<(), String> {
        let body = serde_json::json!({self.field: to, "message": message}).to_string();
        self.gateway.post(&body).await.map(drop).map_err(|e| format!("{}: {e}", self.field))
    }
}

/// The SMS sender the configuration names (`None`: SMS codes are not offered).
pub fn from_config(config: &Config) -> anyhow::Result<Option<std::sync::Arc<dyn SmsSender>>> {
    outbox(&config.sms, config, "sms", "phone")
}

/// The email sender (`[email]`, the same settings as `[sms]`; `None`: email addresses cannot be
/// verified). Messages carry a code, so they are never logged either.
pub fn email_from_config(config: &Config) -> anyhow::Result<Option<std::sync::Arc<dyn SmsSender>>> {
    outbox(&config.email, config, "email", "email")
}

fn outbox(
    c: &SmsConfig,
    config: &Config,
    section: &'static str,
    field: &'static str,
) -> anyhow::Result<Option<std::sync::Arc<dyn SmsSender>>> {
    Ok(match c.sender.as_str() {
        "none" => None,
        "file" => {
            let path =
                c.file.clone().unwrap_or_else(|| config.data_dir.join(format!("{section}-outbox.txt")));
            tracing::warn!(path = %path.display(), "{section} codes go to a file (the development sender); \
                set [{section}] sender = \"webhook\" for a real gateway, or \"none\"");
            Some(std::sync::Arc::new(FileSender { path }))
        }
        "webhook" => {
            let url =
                c.webhook_url.clone().ok_or_else(|| anyhow::anyhow!("{section}.webhook_url is required"))?;
            let gateway = crate::outbound::webhook::SignedPost::new(
                url,
                c.webhook_authorization.clone(),
                c.webhook_hmac_secret.clone(),
                crate::outbound::webhook::GatewayTls {
                    pins: crate::outbound::pinning::Pins::parse(
                        &c.webhook_pin_sha256,
                        &format!("{section}.webhook_pin_sha256"),
                    )?,
                    ..Default::default()
                },
                Duration::from_secs(c.timeout_seconds.max(1)),
                c.retries,
                &crate::outbound::Policy::new(&config.outbound)?,
            )?;
            Some(std::sync::Arc::new(WebhookSender { gateway, field }))
        }
        other => anyhow::bail!("{section}.sender must be file, webhook or none, not {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;

    use super::*;

    /// A gateway that fails `fail_first` times with 503, then records what it got.
    async fn gateway(
        fail_first: usize,
        status: StatusCode,
    ) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
        let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let calls = Arc::new(Mutex::new(0usize));
        let (s, c) = (seen.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/send",
            post(move |headers: HeaderMap, body: String| {
                let (s, c) = (s.clone(), c.clone());
                async move {
                    let n = {
                        let mut n = c.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    if n <= fail_first {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    s.lock().unwrap().push((headers, body));
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/send"), seen)
    }

    fn config(url: &str, retries: u32) -> Config {
        let sms = SmsConfig {
            sender: "webhook".into(),
            webhook_url: Some(url.into()),
            webhook_authorization: Some("Bearer gw-token".into()),
            webhook_hmac_secret: Some("gw-secret".into()),
            timeout_seconds: 2,
            retries,
            ..SmsConfig::default()
        };
        // the test gateway listens on loopback: its network must be allowed
        let outbound = crate::outbound::OutboundConfig {
            allow_networks: vec!["127.0.0.0/8".into()],
            ..Default::default()
        };
        Config { sms, outbound, ..Config::default() }
    }

    #[tokio::test]
    async fn webhook_signs_authenticates_and_retries() {
        let (url, seen) = gateway(2, StatusCode::OK).await;
        let sender = from_config(&config(&url, 2)).unwrap().unwrap();
        sender.send("+8613800000000", "code 123456").await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "two 503s, then delivered");
        let (headers, body) = &seen[0];
        assert_eq!(body, r#"{"message":"code 123456","phone":"+8613800000000"}"#);
        assert_eq!(headers["authorization"], "Bearer gw-token");
        let expected = format!("sha256={}", idp_core::crypto::hmac_sha256_hex(b"gw-secret", body.as_bytes()));
        assert_eq!(headers["x-signature"], expected.as_str());
    }

    #[tokio::test]
    async fn webhook_failures_are_errors_without_the_message() {
        let (url, _) = gateway(10, StatusCode::OK).await;
        let err =
            from_config(&config(&url, 1)).unwrap().unwrap().send("+861", "code 654321").await.unwrap_err();
        assert!(err.contains("503") && !err.contains("654321"), "{err}");
        let (url, seen) = gateway(0, StatusCode::BAD_REQUEST).await;
        let err = from_config(&config(&url, 3)).unwrap().unwrap().send("+861", "code 1").await.unwrap_err();
        assert!(err.contains("refused"), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 1, "a refusal is not retried");
        let err =
            from_config(&config("http://127.0.0.1:9/none", 0)).unwrap().unwrap().send("+861", "x").await;
        assert!(err.unwrap_err().contains("unreachable"));
        let mut bad = Config::default();
        bad.sms.sender = "pigeon".into();
        assert!(from_config(&bad).is_err());
        bad.sms.sender = "webhook".into();
        assert!(from_config(&bad).is_err(), "a webhook needs its URL");
        bad.sms.sender = "none".into();
        assert!(from_config(&bad).unwrap().is_none());
        // a gateway on loopback without its network allowed ([outbound]) is refused at start
        let mut local = config(&url, 0);
        local.outbound = Default::default();
        let e = from_config(&local).err().expect("refused");
        assert!(e.to_string().contains("allow_networks"), "{e}");
    }
}
