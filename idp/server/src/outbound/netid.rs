//! The connector to the national network identity authentication public service (国家网络身份
//! 认证公共服务; the rules are `idp_core::netid`). Its access specification for relying
//! parties is still a draft, so what a connector must do is this interface, and the one
//! connector built is the simulator (`[netid] provider = "simulator"`, pages in
//! `crate::http::netid_simulator`) that behaves as the published rules describe: the browser
//! goes to the service (the app's redirect, or a page with its QR code to scan in the app),
//! the person is checked there and consents to what is released, and comes back with a
//! one-time code for which the service gives the verification result, the pseudonymous
//! number (网号) and, only where asked and released, the name and ID number.

use async_trait::async_trait;
use idp_core::netid::NetidResult;

use crate::state::{AppState, TenantCtx};

/// A sign-in to send to the service.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    /// The upstream (of the tenant) the sign-in goes through.
    pub upstream: &'a str,
    /// Comes back with the code (or `error`).
    pub state: &'a str,
    /// The check asked for (`idp_core::netid::MODES`).
    pub mode: &'a str,
    /// Ask for the name and ID number.
    pub plaintext: bool,
    /// Who receives them, as the person is told in the app.
    pub party: &'a str,
    /// The party receives them under a statutory duty (the person is informed, not asked).
    pub statutory: bool,
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn name(&self) -> &'static str;
    /// Where the browser goes for `s` in tenant `t`.
    fn authorize_url(&self, t: &TenantCtx, s: &Start<'_>) -> String;
    /// The result the service's one-time `code` stands for (a second ask finds nothing).
    async fn result(&self, state: &AppState, t: &TenantCtx, code: &str) -> Result<NetidResult, String>;
}

/// The connector the configuration names, if any.
pub fn connector(config: &crate::config::Config) -> Option<Box<dyn Connector>> {
    match config.netid.provider.as_str() {
        "simulator" => Some(Box::new(Simulator)),
        _ => None,
    }
}

/// The simulator: its pages are this provider's own (`crate::http::netid_simulator`), its
/// results kept sealed in the ceremony store for two minutes (`super::connector`).
pub struct Simulator;

#[async_trait]
impl Connector for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn authorize_url(&self, t: &TenantCtx, s: &Start<'_>) -> String {
        let query = serde_urlencoded::to_string([
            ("upstream", s.upstream),
            ("state", s.state),
            ("mode", s.mode),
            ("plaintext", if s.plaintext { "1" } else { "0" }),
            ("party", s.party),
            ("statutory", if s.statutory { "1" } else { "0" }),
        ])
        .unwrap_or_default();
        format!("/t/{}/netid-simulator?{query}", t.tenant.slug)
    }

    async fn result(&self, state: &AppState, t: &TenantCtx, code: &str) -> Result<NetidResult, String> {
        super::connector::take_result(state, t, "netid", code).await
    }
}
