//! The connector to the electronic business licence system (电子营业执照; the rules are
//! `idp_core::licence`). A relying party's access to it is granted per integration by the
//! market regulator, so what a connector must do is this interface, and the one connector
//! built is the simulator (`[licence] provider = "simulator"`, pages in
//! `crate::http::licence_simulator`) that behaves as the licence app does: the browser goes to
//! the licence system (the app's redirect, or a page with its QR code to scan in the app), the
//! holder of a role under the licence confirms, and comes back with a one-time code for which
//! the system gives the enterprise, the person and their role (for an agent, the authorised
//! matters and period).
//!
//! **Notifications.** The licence system tells relying parties when an authorisation is
//! revoked or a licence cancelled: a compact JWS signed with its SM2 key
//! (`SGD_SM3_SM2`, GM/T 0125.1-2022; type `licence-event+jwt`), whose `aud` is this
//! provider's notification address for the upstream, with `iat` and a `jti` used once. The
//! connector checks the signature ([`Connector::notification`]); the address
//! (`crate::http::signin::upstream_licence::notify`) checks the rest and ends what the licence
//! granted.

use async_trait::async_trait;
use idp_core::licence::LicenceResult;
use idp_core::sm::{DEFAULT_USER_ID, Sm2Signer, Sm2Verifier};
use serde_json::Value;

use crate::state::{AppState, TenantCtx};

/// The `alg` and `typ` of a notification.
pub const NOTIFICATION_ALG: &str = "SGD_SM3_SM2";
pub const NOTIFICATION_TYP: &str = "licence-event+jwt";

/// A sign-in to send to the licence system.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    /// The upstream (of the tenant) the sign-in goes through.
    pub upstream: &'a str,
    /// Comes back with the code (or `error`).
    pub state: &'a str,
    /// Who receives the enterprise's and the person's data, as the app tells the person.
    pub party: &'a str,
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn name(&self) -> &'static str;
    /// Where the browser goes for `s` in tenant `t`.
    fn authorize_url(&self, t: &TenantCtx, s: &Start<'_>) -> String;
    /// The result the one-time `code` stands for (a second ask finds nothing).
    async fn result(&self, state: &AppState, t: &TenantCtx, code: &str) -> Result<LicenceResult, String>;
    /// The claims of a notification (a compact JWS) whose signature is the licence system's;
    /// the caller checks the claims.
    fn notification(&self, state: &AppState, jws: &str) -> Result<Value, String>;
}

/// The connector the configuration names, if any.
pub fn connector(config: &crate::config::Config) -> Option<Box<dyn Connector>> {
    match config.licence.provider.as_str() {
        "simulator" => Some(Box::new(Simulator::default())),
        _ => None,
    }
}

/// The simulator: its pages are this provider's own (`crate::http::licence_simulator`), its
/// results kept as `super::connector` keeps them; its SM2 key is derived from the KEK (the same
/// on every node).
#[derive(Default)]
pub struct Simulator {
    /// Its public key, derived once.
    verifier: std::sync::OnceLock<Option<Sm2Verifier>>,
}

impl Simulator {
    /// The simulated licence system's signing key.
    pub(crate) fn signer(state: &AppState) -> Option<Sm2Signer> {
        let d = state.ops.kek.derive("licence-simulator").mac(b"sm2 notification key");
        Sm2Signer::new(&d, DEFAULT_USER_ID).ok()
    }

    /// A notification as the simulated licence system sends it.
    pub(crate) fn sign(state: &AppState, claims: &Value) -> Option<String> {
        let signer = Self::signer(state)?;
        let header = serde_json::json!({"alg": NOTIFICATION_ALG, "typ": NOTIFICATION_TYP});
        let b64 = |v: &Value| idp_core::crypto::b64(&serde_json::to_vec(v).unwrap_or_default());
        let input = format!("{}.{}", b64(&header), b64(claims));
        let sig = signer.sign(input.as_bytes()).ok()?;
        Some(format!("{input}.{}", idp_core::crypto::b64(&sig)))
    }
}

/// Verifies a compact JWS signed with SM2 by `key`: its header must say exactly
/// [`NOTIFICATION_ALG`] and [`NOTIFICATION_TYP`]; its claims.
pub fn verify_sm2_jws(key: &Sm2Verifier, jws: &str) -> Result<Value, String> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a compact JWS".into());
    };
    let decode = |part: &str| idp_core::crypto::b64_decode(part).ok_or("not base64url");
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| "the header is not JSON")?;
    if header["alg"] != NOTIFICATION_ALG || header["typ"] != NOTIFICATION_TYP || header.get("crit").is_some()
    {
        return Err("the header is not a licence notification's".into());
    }
    let signature = decode(s)?;
    if !key.verify_raw(format!("{h}.{p}").as_bytes(), &signature) {
        return Err("the signature is not the licence system's".into());
    }
    let claims: Value = serde_json::from_slice(&decode(p)?).map_err(|_| "the claims are not JSON")?;
    if !claims.is_object() {
        return Err("the claims are not an object".into());
    }
    Ok(claims)
}

#[async_trait]
impl Connector for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn authorize_url(&self, t: &TenantCtx, s: &Start<'_>) -> String {
        let query =
            serde_urlencoded::to_string([("upstream", s.upstream), ("state", s.state), ("party", s.party)])
                .unwrap_or_default();
        format!("/t/{}/licence-simulator?{query}", t.tenant.slug)
    }

    async fn result(&self, state: &AppState, t: &TenantCtx, code: &str) -> Result<LicenceResult, String> {
        super::connector::take_result(state, t, "licence", code).await
    }

    fn notification(&self, state: &AppState, jws: &str) -> Result<Value, String> {
        let key = self.verifier.get_or_init(|| {
            let (x, y) = Self::signer(state)?.public_xy();
            Sm2Verifier::from_xy(&x, &y, DEFAULT_USER_ID).ok()
        });
        verify_sm2_jws(key.as_ref().ok_or("the simulator has no key")?, jws)
    }
}
