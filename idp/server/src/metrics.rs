//! Prometheus metrics, served on their own listener (`metrics_listen`) so that
//! they never share a port with the public endpoints. Names follow the Prometheus conventions
//! (`idp_` prefix, `_total` counters, `_seconds` histograms, base units) and are listed in
//! `docs/metrics.md`. Labels carry only bounded values: the route template (never the
//! path with its ids), the method, the status code, a grant type, a sign-in method.
//!
//! Counted where it happens: every request by the middleware [`track`]; sign-ins, failures and
//! lockouts where they are audited (`http::session::audit`); tokens by the token endpoint.
//! Database pools and signing-key ages are read when scraped.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

type Labels<const N: usize> = [(&'static str, String); N];
type Timing = Family<Labels<2>, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels<3>, Counter>,
    duration: Timing,
    rate_limited: Family<Labels<1>, Counter>,
    sign_ins: Family<Labels<1>, Counter>,
    sign_in_failures: Family<Labels<1>, Counter>,
    lockouts: Counter,
    tokens: Family<Labels<1>, Counter>,
    pool_connections: Family<Labels<2>, Gauge>,
    key_age: Family<Labels<2>, Gauge>,
}

fn latency() -> Histogram {
    // 0.5 ms to about 16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("idp");
        let requests = Family::<Labels<3>, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let duration: Timing = Family::new_with_constructor(latency);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            duration.clone(),
        );
        let rate_limited = Family::<Labels<1>, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 by a rate limit, by route template",
            rate_limited.clone(),
        );
        let sign_ins = Family::<Labels<1>, Counter>::default();
        registry.register("sign_ins", "Completed sign-ins, by the methods used (amr)", sign_ins.clone());
        let sign_in_failures = Family::<Labels<1>, Counter>::default();
        registry.register("sign_in_failures", "Failed sign-in attempts, by reason", sign_in_failures.clone());
        let lockouts = Counter::default();
        registry.register("lockouts", "Accounts locked after repeated failures", lockouts.clone());
        let tokens = Family::<Labels<1>, Counter>::default();
        registry.register("tokens_issued", "Successful token responses, by grant type", tokens.clone());
        let pool_connections = Family::<Labels<2>, Gauge>::default();
        registry.register(
            "database_pool_connections",
            "Database connections by pool (read, write) and state (idle, in_use, max)",
            pool_connections.clone(),
        );
        let key_age = Family::<Labels<2>, Gauge>::default();
        registry.register(
            "signing_key_age_seconds",
            "Age of the key that signs now, by tenant and algorithm (tenants this node has loaded)",
            key_age.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            rate_limited,
            sign_ins,
            sign_in_failures,
            lockouts,
            tokens,
            pool_connections,
            key_age,
        }
    }
}

impl Metrics {
    /// What an audit record of the pages says about sign-ins.
    pub fn audited(&self, kind: &str, detail: &serde_json::Value) {
        match kind {
            "login_success" => {
                let amr = detail["amr"].as_array().map(|a| {
                    let mut m: Vec<&str> = a.iter().filter_map(|v| v.as_str()).collect();
                    m.sort_unstable();
                    m.join("+")
                });
                self.sign_ins.get_or_create(&[("method", amr.unwrap_or_else(|| "unknown".into()))]).inc();
            }
            "login_failure" => {
                let reason = detail["reason"].as_str().unwrap_or("unknown").to_string();
                self.sign_in_failures.get_or_create(&[("reason", reason)]).inc();
            }
            "account_locked" => {
                self.lockouts.inc();
            }
            _ => {}
        }
    }

    pub fn token_issued(&self, grant_type: &str) {
        self.tokens.get_or_create(&[("grant_type", grant_type.to_string())]).inc();
    }

    fn observe(&self, route: String, method: &str, status: StatusCode, seconds: f64) {
        let method = method.to_string();
        self.requests
            .get_or_create(&[
                ("route", route.clone()),
                ("method", method.clone()),
                ("status", status.as_u16().to_string()),
            ])
            .inc();
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.rate_limited.get_or_create(&[("route", route.clone())]).inc();
        }
        self.duration.get_or_create(&[("route", route), ("method", method)]).observe(seconds);
    }
}

/// The middleware that counts and times every request.
pub async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().clone();
    let t0 = Instant::now();
    let res = next.run(req).await;
    state.metrics.observe(route, method.as_str(), res.status(), t0.elapsed().as_secs_f64());
    res
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let m = &state.metrics;
    for (pool, size, idle, max) in state.store().pool_usage() {
        let n = |s: &'static str| [("pool", pool.to_string()), ("state", s.to_string())];
        m.pool_connections.get_or_create(&n("idle")).set(i64::from(idle));
        m.pool_connections.get_or_create(&n("in_use")).set(i64::from(size.saturating_sub(idle)));
        m.pool_connections.get_or_create(&n("max")).set(i64::from(max));
    }
    let now = state.env().now();
    for (slug, id) in state.loaded_tenants() {
        let Ok(keys) = state.store().signing_keys(&id).await else { continue };
        for k in keys
            .iter()
            .filter(|k| k.active && k.revoked_at.is_none() && k.retires_at.is_none() && k.activates_at <= now)
        {
            let labels = [("tenant", slug.clone()), ("alg", k.alg.as_str().to_string())];
            m.key_age.get_or_create(&labels).set(now - k.activates_at);
        }
    }
    let mut body = String::new();
    if encode(&mut body, &m.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}

/// The metrics listener's routes.
pub fn router(state: Arc<AppState>) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(scrape)).with_state(state)
}
