//! The protocols beside OpenID Connect, measured on the idp alone (no peer runs here): CAS's
//! ticket validation against the OpenID Connect code exchange it replaces, each timed alone
//! (the codes and tickets issued first, untimed, then only redeemed), the whole CAS single sign-on round trip
//! (`/cas/login` with a session and remembered consent, then `/cas/serviceValidate`) and the
//! SAML one (an `AuthnRequest` by HTTP-Redirect answered with the signed `Response`) beside the
//! OpenID Connect one of the main table; and, in process, signing a SAML `Response` (response
//! and assertion, RSA-SHA256) against signing an ID token.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::flows::{Target, http};
use crate::load::{Sample, Stats, run};

/// The bench's CAS service URL (never called: the redirect to it is where the ticket is read);
/// it receives the profile attributes.
pub const CAS_SERVICE: &str = "http://127.0.0.1:1/cas-app";
/// A CAS service that receives the person's identifier only (scope `openid`, as the code
/// exchange it is compared with).
pub const CAS_SERVICE_ID: &str = "http://127.0.0.1:1/cas-id";
/// The bench's SAML service provider (its consumer service is never called either).
pub const SAML_SP: &str = "http://127.0.0.1:1/saml-sp";
pub const SAML_ACS: &str = "http://127.0.0.1:1/saml-acs";

/// The bench service provider's metadata (it does not sign its requests).
pub fn saml_metadata() -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{SAML_SP}\">\
         <md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <md:AssertionConsumerService index=\"0\" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"{SAML_ACS}\"/></md:SPSSODescriptor></md:EntityDescriptor>"
    )
}

/// A fresh (never seen) HTTP-Redirect `AuthnRequest` URL.
fn authn_request_url(base: &str) -> String {
    use base64::Engine;
    let id = format!("_{}", idp_core::crypto::random_token(&idp_core::SystemEnv, 16).replace('-', "x"));
    let now = idp_core::identifiers::CalendarDate::rfc3339_utc(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
    );
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" \
         ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{now}\" AssertionConsumerServiceURL=\"{SAML_ACS}\">\
         <saml:Issuer>{SAML_SP}</saml:Issuer></samlp:AuthnRequest>"
    );
    let deflated = miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6);
    let encoded: String = url::form_urlencoded::byte_serialize(
        base64::engine::general_purpose::STANDARD.encode(deflated).as_bytes(),
    )
    .collect();
    format!("{base}/saml/sso?SAMLRequest={encoded}")
}

/// Signing in process, microseconds per operation (median of `n`): a SAML `Response` with its
/// assertion (two RSA-SHA256 signatures, exclusive c14n by construction), an RS256 ID token and
/// an ES256 ID token (the default).
pub fn signing(n: usize) -> (f64, f64, f64) {
    use idp_core::model::SigningAlg;
    let env = idp_core::SystemEnv;
    let kek = idp_core::crypto::Kek::generate(&env);
    let module = idp_core::module::SoftwareModule::new(kek.clone());
    let records: Vec<_> = [SigningAlg::RS256, SigningAlg::ES256]
        .into_iter()
        .map(|alg| idp_core::keys::generate(&env, &module, "t", alg, &Default::default()).expect("a key"))
        .collect();
    let keys = idp_core::keys::KeySet::load(
        &records,
        &module,
        &kek,
        &Default::default(),
        "t",
        idp_core::Env::now(&env),
    )
    .expect("keys");
    let signer = keys.saml_signer().expect("an RS256 key");
    let attributes = vec![
        ("name".to_string(), vec!["林晓".to_string()]),
        ("preferred_username".to_string(), vec!["lin".to_string()]),
    ];
    let assertion = idp_core::saml::response::Assertion {
        issuer: "https://idp.example.gov.cn/t/main/saml",
        audience: SAML_SP,
        acs: SAML_ACS,
        in_response_to: Some("_request"),
        name_id_format: idp_core::saml::NAMEID_PERSISTENT,
        name_id: "pHBfMumrkUfsBOQbPc8k1IfYHNoBkNHys",
        session_index: "_session",
        auth_instant: 0,
        class_ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        session_not_on_or_after: 3600,
        attributes: &attributes,
        now: 0,
        ids: ("_response", "_assertion"),
    };
    let claims = serde_json::json!({"iss": "https://idp.example.gov.cn/t/main", "sub": "pHBfMumrkUfsBOQbPc8k1IfYHNoBkNHys",
        "aud": "client", "exp": 2_000_000_000, "iat": 1_900_000_000, "auth_time": 1_900_000_000, "nonce": "n",
        "acr": "aal1", "amr": ["pwd"], "sid": "s", "name": "林晓", "preferred_username": "lin"});
    let median = |f: &dyn Fn()| {
        let mut t: Vec<f64> = (0..n)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[n / 2]
    };
    let saml = median(&|| {
        idp_core::saml::response::success(&assertion, signer, true, true, None).expect("signed");
    });
    let rs = median(&|| {
        keys.sign(SigningAlg::RS256, "JWT", &claims).expect("signed");
    });
    let es = median(&|| {
        keys.sign(SigningAlg::ES256, "JWT", &claims).expect("signed");
    });
    (saml, rs, es)
}

/// One signed-in browser per worker, having consented to the CAS service, the SAML service
/// provider and the web client.
async fn browsers(
    t: &Target,
    workers: usize,
    cas_login: &str,
    base: &str,
) -> anyhow::Result<Vec<reqwest::Client>> {
    let mut out = vec![];
    for _ in 0..workers {
        let b = http(true);
        t.authorize(&b, "openid").await?;
        t.through_pages(&b, cas_login, CAS_SERVICE).await?;
        t.through_pages(&b, &cas_login_url(base, CAS_SERVICE_ID), CAS_SERVICE_ID).await?;
        saml_sso(t, &b, base, true).await?;
        out.push(b);
    }
    Ok(out)
}

/// An SP-initiated SAML sign-in through whatever pages appear (`pages`), or with none: whether
/// the signed Response came back.
async fn saml_sso(t: &Target, b: &reqwest::Client, base: &str, pages: bool) -> anyhow::Result<()> {
    let mut res = b.get(authn_request_url(base)).send().await?;
    for _ in 0..8 {
        if res.status().is_redirection() && pages {
            let loc = res.headers().get("location").context("Location")?.to_str()?.to_string();
            let next = res.url().join(&loc)?;
            res = b.get(next).send().await?;
            continue;
        }
        let url = res.url().clone();
        let page = res.text().await?;
        if page.contains("name=\"SAMLResponse\"") {
            return Ok(());
        }
        anyhow::ensure!(pages, "no SAMLResponse without pages: {page}");
        let (action, mut fields) =
            crate::flows::form_of(&page).with_context(|| format!("no form at {url}: {page}"))?;
        if page.contains("name=\"login\"") {
            fields.push(("login".into(), t.login.clone()));
        }
        if page.contains("name=\"password\"") {
            fields.push(("password".into(), t.password.clone()));
        }
        if page.contains("name=\"decision\"") {
            fields.push(("decision".into(), "allow".into()));
        }
        res = b.post(url.join(&action)?).form(&fields).send().await?;
    }
    anyhow::bail!("the SAML sign-in did not finish")
}

/// How many codes or tickets each worker is given before their redemption is timed: about
/// as many as it redeems in a few seconds, so that none outlives its 10 s (ticket) or 60 s
/// (code) life (issuing takes about 3 s here, redeeming about 3 s).
const AHEAD: usize = 300;

/// Each worker's `AHEAD` codes or tickets, issued concurrently by `issue` in the worker's
/// browser (failures left out). Timing the redemptions of these alone measures the
/// redemption, not the redemption beside the requests that issue (which differ by protocol).
async fn ahead<T, F, Fut>(
    workers: usize,
    browsers: std::sync::Arc<Vec<reqwest::Client>>,
    issue: F,
) -> std::sync::Arc<Vec<std::sync::Mutex<Vec<T>>>>
where
    T: Send + 'static,
    F: Fn(reqwest::Client) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let handles: Vec<_> = (0..workers)
        .map(|i| {
            let jobs: Vec<Fut> = (0..AHEAD).map(|_| issue(browsers[i].clone())).collect();
            tokio::spawn(async move {
                let mut got = Vec::with_capacity(jobs.len());
                for job in jobs {
                    got.extend(job.await.ok());
                }
                got
            })
        })
        .collect();
    let mut all = Vec::with_capacity(workers);
    for h in handles {
        all.push(std::sync::Mutex::new(h.await.unwrap_or_default()));
    }
    std::sync::Arc::new(all)
}

fn cas_login_url(base: &str, service: &str) -> String {
    let service = url::form_urlencoded::byte_serialize(service.as_bytes()).collect::<String>();
    format!("{base}/cas/login?service={service}")
}

/// A fresh ticket from the session (no page: a redirect to the service).
async fn ticket(t: &Target, b: &reqwest::Client, cas_login: &str, service: &str) -> anyhow::Result<String> {
    let back = t.through_pages(b, cas_login, service).await?;
    back.query_pairs().find(|(k, _)| k == "ticket").map(|(_, v)| v.into_owned()).context("no ticket")
}

async fn validates(b: &reqwest::Client, url: &str) -> bool {
    match b.get(url).send().await {
        Ok(r) => r.text().await.is_ok_and(|x| x.contains("<cas:authenticationSuccess>")),
        Err(_) => false,
    }
}

/// Validations of tickets for `service` issued first (untimed), timed alone.
async fn validation_alone(
    t: &Target,
    workers: usize,
    d: Duration,
    per_worker: &std::sync::Arc<Vec<reqwest::Client>>,
    base: &str,
    service: &str,
) -> Stats {
    let login = cas_login_url(base, service);
    let encoded = url::form_urlencoded::byte_serialize(service.as_bytes()).collect::<String>();
    let validate = format!("{base}/cas/serviceValidate?service={encoded}&ticket=");
    let tickets = ahead(workers, per_worker.clone(), {
        let (t, service) = (t.clone(), service.to_string());
        move |b| {
            let (t, login, service) = (t.clone(), login.clone(), service.clone());
            async move { ticket(&t, &b, &login, &service).await }
        }
    })
    .await;
    run(workers, d, |i, deadline| {
        let (pw, validate, tickets) = (per_worker.clone(), validate.clone(), tickets.clone());
        async move {
            let mut s = Sample::default();
            let mine = tickets[i].lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
            for st in mine.into_iter().take_while(|_| Instant::now() < deadline) {
                s.time(validates(&pw[i], &format!("{validate}{st}"))).await;
            }
            s
        }
    })
    .await
}

/// (scenario, stats): the code exchange alone, ticket validation alone (identifier only, and
/// with attributes), the CAS and SAML round trips.
pub async fn protocols(t: &Target, workers: usize, secs: u64) -> anyhow::Result<Vec<(&'static str, Stats)>> {
    let d = Duration::from_secs(secs);
    let base = t.authorize.trim_end_matches("/authorize").to_string();
    let service = url::form_urlencoded::byte_serialize(CAS_SERVICE.as_bytes()).collect::<String>();
    let cas_login = cas_login_url(&base, CAS_SERVICE);
    let validate = format!("{base}/cas/serviceValidate?service={service}&ticket=");
    let per_worker = std::sync::Arc::new(browsers(t, workers, &cas_login, &base).await?);
    let mut out = vec![];
    // codes and tickets issued first, untimed; then only their redemption runs, and is timed
    let codes = ahead(workers, per_worker.clone(), {
        let t = t.clone();
        move |b| {
            let t = t.clone();
            async move { t.authorize(&b, "openid").await }
        }
    })
    .await;
    let stats = run(workers, d, |i, deadline| {
        let (t, pw, codes) = (t.clone(), per_worker.clone(), codes.clone());
        async move {
            let mut s = Sample::default();
            let mine = codes[i].lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default();
            for (code, verifier) in mine.into_iter().take_while(|_| Instant::now() < deadline) {
                s.time(async { t.redeem(&pw[i], &code, &verifier).await.is_ok() }).await;
            }
            s
        }
    })
    .await;
    out.push(("OIDC code exchange alone (token request)", stats));
    for (name, service) in [
        (
            "CAS ticket validation alone, identifier only (serviceValidate; scope openid, as the code exchange)",
            CAS_SERVICE_ID,
        ),
        ("CAS ticket validation alone, with profile attributes (serviceValidate)", CAS_SERVICE),
    ] {
        out.push((name, validation_alone(t, workers, d, &per_worker, &base, service).await));
    }
    let stats = run(workers, d, |i, deadline| {
        let (t, pw, login, validate) = (t.clone(), per_worker.clone(), cas_login.clone(), validate.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async {
                    match ticket(&t, &pw[i], &login, CAS_SERVICE).await {
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
    let stats = run(workers, d, |i, deadline| {
        let (t, pw, base) = (t.clone(), per_worker.clone(), base.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async { saml_sso(&t, &pw[i], &base, false).await.is_ok() }).await;
            }
            s
        }
    })
    .await;
    out.push(("SAML SSO round trip (AuthnRequest → signed Response)", stats));
    Ok(out)
}
