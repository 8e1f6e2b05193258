//! The protocols beside OpenID Connect, measured on the idp alone (no peer runs here): CAS's
//! ticket validation against the OpenID Connect code exchange it replaces, each timed alone
//! (the sign-in round trip before it untimed), and the whole CAS single sign-on round trip
//! (`/cas/login` with a session and remembered consent, then `/cas/serviceValidate`) beside the
//! OpenID Connect one of the main table.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::flows::{Target, http};
use crate::load::{Sample, Stats, run};

/// The bench's CAS service URL (never called: the redirect to it is where the ticket is read).
pub const CAS_SERVICE: &str = "http://127.0.0.1:1/cas-app";

/// One signed-in browser per worker, having consented to the CAS service and the web client.
async fn browsers(t: &Target, workers: usize, cas_login: &str) -> anyhow::Result<Vec<reqwest::Client>> {
    let mut out = vec![];
    for _ in 0..workers {
        let b = http(true);
        t.authorize(&b, "openid").await?;
        t.through_pages(&b, cas_login, CAS_SERVICE).await?;
        out.push(b);
    }
    Ok(out)
}

/// A fresh ticket from the session (no page: a redirect to the service).
async fn ticket(t: &Target, b: &reqwest::Client, cas_login: &str) -> anyhow::Result<String> {
    let back = t.through_pages(b, cas_login, CAS_SERVICE).await?;
    back.query_pairs().find(|(k, _)| k == "ticket").map(|(_, v)| v.into_owned()).context("no ticket")
}

async fn validates(b: &reqwest::Client, url: &str) -> bool {
    match b.get(url).send().await {
        Ok(r) => r.text().await.is_ok_and(|x| x.contains("<cas:authenticationSuccess>")),
        Err(_) => false,
    }
}

/// (scenario, stats): the code exchange alone, ticket validation alone, the CAS round trip.
pub async fn protocols(t: &Target, workers: usize, secs: u64) -> anyhow::Result<Vec<(&'static str, Stats)>> {
    let d = Duration::from_secs(secs);
    let base = t.authorize.trim_end_matches("/authorize").to_string();
    let service = url::form_urlencoded::byte_serialize(CAS_SERVICE.as_bytes()).collect::<String>();
    let cas_login = format!("{base}/cas/login?service={service}");
    let validate = format!("{base}/cas/serviceValidate?service={service}&ticket=");
    let per_worker = std::sync::Arc::new(browsers(t, workers, &cas_login).await?);
    let mut out = vec![];
    let stats = run(workers, d, |i, deadline| {
        let (t, pw) = (t.clone(), per_worker.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                let Ok((code, verifier)) = t.authorize(&pw[i], "openid").await else {
                    s.errors += 1;
                    continue;
                };
                s.time(async { t.redeem(&pw[i], &code, &verifier).await.is_ok() }).await;
            }
            s
        }
    })
    .await;
    out.push(("OIDC code exchange alone (token request)", stats));
    let stats = run(workers, d, |i, deadline| {
        let (t, pw, login, validate) = (t.clone(), per_worker.clone(), cas_login.clone(), validate.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                let Ok(st) = ticket(&t, &pw[i], &login).await else {
                    s.errors += 1;
                    continue;
                };
                s.time(validates(&pw[i], &format!("{validate}{st}"))).await;
            }
            s
        }
    })
    .await;
    out.push(("CAS ticket validation alone (serviceValidate)", stats));
    let stats = run(workers, d, |i, deadline| {
        let (t, pw, login, validate) = (t.clone(), per_worker.clone(), cas_login.clone(), validate.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async {
                    match ticket(&t, &pw[i], &login).await {
                        Ok(st) => validates(&pw[i], &format!("{validate}{st}")).await,
                        Err(_) => false,
                    }
                })
                .await;
            }
            s
        }
    })
    .await;
    out.push(("CAS SSO round trip (login + serviceValidate)", stats));
    Ok(out)
}
