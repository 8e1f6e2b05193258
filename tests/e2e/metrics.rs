//! Prometheus metrics on their own listener: after a failed and a successful sign-in, a
//! lockout, tokens by two grants and a rate-limited request, the scrape shows each counted
//! under its documented name with bounded labels (route templates, never paths with ids),
//! latency histograms, database pools and the signing keys' ages; the public listener does not
//! serve `/metrics`.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::{Browser, rp_http};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};

/// The value of the sample `name{labels}` (labels as printed, in order), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.metrics_listen = Some("127.0.0.1:0".into());
        c.limits.lockout_threshold = 2;
        c.limits.token_per_client_per_minute = 3;
    })
    .await
    else {
        return;
    };
    let scrape_url = s.metrics.clone().expect("a metrics listener");
    s.add_account("wei").await;
    s.add_account("victim").await;
    let (web, web_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let (svc, svc_secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;

    // a failed sign-in, then a successful one; two failures lock another account
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, login) = b.sign_in(&s, &login, "wei", "Wrong-Password-1").await.page();
    let cb = match b.sign_in(&s, &login, "wei", PASSWORD).await {
        crate::browser::Step::Page { body, .. } => b.consent(&s, &body, true).await.callback(),
        left => left.callback(),
    };
    crate::rp::redeem(&s, &web, web_secret.as_deref().unwrap(), &cb["code"]).await;
    for _ in 0..2 {
        let b = Browser::new();
        let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
        b.sign_in(&s, &login, "victim", "Wrong-Password-1").await;
    }
    // client credentials until the client's rate limit answers 429
    let mut limited = false;
    for _ in 0..5 {
        let res = rp_http()
            .post(format!("{}/token", s.issuer))
            .basic_auth(&svc, svc_secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        limited |= res.status() == 429;
    }
    assert!(limited, "the client's token limit was reached");

    let res = rp_http().get(&scrape_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    let at_least = |series: &str, n: f64| {
        let v = sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert!(v >= n, "{series} = {v}, expected at least {n}");
    };
    at_least("idp_sign_ins_total{method=\"pwd\"}", 1.0);
    at_least("idp_sign_in_failures_total{reason=\"password\"}", 3.0);
    at_least("idp_lockouts_total", 1.0);
    at_least("idp_tokens_issued_total{grant_type=\"authorization_code\"}", 1.0);
    at_least("idp_tokens_issued_total{grant_type=\"client_credentials\"}", 2.0);
    at_least("idp_rate_limited_total{route=\"/t/{tenant}/token\"}", 1.0);
    at_least("idp_http_requests_total{route=\"/t/{tenant}/token\",method=\"POST\",status=\"429\"}", 1.0);
    at_least(
        "idp_http_requests_total{route=\"/t/{tenant}/interaction/{id}/login\",method=\"POST\",status=\"200\"}",
        1.0,
    );
    at_least("idp_http_request_duration_seconds_count{route=\"/t/{tenant}/token\",method=\"POST\"}", 5.0);
    at_least("idp_database_pool_connections{pool=\"write\",state=\"max\"}", 1.0);
    assert!(text.contains("idp_signing_key_age_seconds{tenant=\"main\",alg=\"ES256\"}"), "{text}");
    // no concrete value (an interaction id, a client id, a code) becomes a label
    assert!(!text.contains(&web) && !text.contains(&svc) && !text.contains(&cb["code"]), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
    // the public listener has no /metrics
    assert_eq!(rp_http().get(format!("{}/metrics", s.base)).send().await.unwrap().status(), 404);
}
crate::both_backends!(metrics_count_what_happened, metrics);
