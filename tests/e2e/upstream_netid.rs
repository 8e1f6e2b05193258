//! The national network identity service through its simulator (`[netid] provider =
//! "simulator"`): minimal provision by default (a department app's user is linked by the
//! pseudonymous number alone, no name or ID number released, no real-name level raised), the
//! name and ID number released only to a client registered for real-name data with the
//! person's consent in the app — then the operator's rule on the way the person was checked
//! (`cn_netid`, face check → level 3) raises the binding, with the service's reference as
//! evidence in `verified_claims`. Refused: a cancelled check, a replayed or forged code, a
//! return carried to another browser, and the simulator where it is not configured.

use idp_core::model::{ClientSettings, ClientType, LevelRule, NetidUpstream, UpstreamAuth, UpstreamSettings};
use idp_server::ops::upstreams::NewUpstream;
use serde_json::json;

use crate::browser::{Browser, Step, extract};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{id_token, redeem};
use crate::upstream_signin::{asking_verified_claims, consent_if_asked, settle, upstream_link};

const NUMBER: &str = "220102199003070013";

async fn add(s: &TestServer, plaintext: bool) {
    let n = NewUpstream {
        id: "netid".into(),
        issuer: String::new(),
        client_id: String::new(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: None,
        settings: UpstreamSettings {
            name_zh: "国家网络身份认证".into(),
            levels: vec![LevelRule {
                trust_framework: Some("cn_netid".into()),
                assurance_level: Some("netcert_face".into()),
                level: 3,
                ..Default::default()
            }],
            create_accounts: true,
            netid: Some(NetidUpstream { plaintext, ..Default::default() }),
            ..Default::default()
        },
    };
    let u = s.ops.add_upstream_by("main", n, "test").await.unwrap();
    assert_eq!(s.ops.upstream_info("main", &u).protocol, "netid");
    settle().await;
}

/// From the app's sign-in page to the simulator's page.
async fn to_app(b: &Browser, s: &TestServer, url: &str) -> String {
    let (_, _, login) = b.get(s, url).await.page();
    let href = upstream_link(&login, "netid").unwrap_or_else(|| panic!("no link: {login}"));
    let (at, status, page) = b.get(s, &format!("{}{href}", s.base)).await.page();
    assert!(status == 200 && at.contains("/netid-simulator?"), "{at}: {page}");
    page
}

/// Confirms (or cancels) in the simulated app.
async fn confirm(b: &Browser, s: &TestServer, page: &str, share: bool, decision: &str) -> Step {
    let mut form = confirm_form(page);
    form.retain(|(k, _)| k != "decision");
    form.push(("decision".into(), decision.into()));
    if share {
        form.push(("share".into(), "on".into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(s, "/t/main/netid-simulator", &pairs).await
}

async fn minimal_then_plaintext(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.netid.provider = "simulator".into()).await else {
        return;
    };
    add(&s, true).await;

    // an app without real-name data: the number only, however the person answers
    let (plain_app, plain_secret) = s
        .add_client(ClientType::Web, ClientSettings { scope: "openid profile".into(), ..Default::default() })
        .await;
    let b = Browser::new();
    let page = to_app(&b, &s, &auth_url(&s.issuer, &plain_app, "")).await;
    assert!(page.contains("id=\"netid-minimal\"") && !page.contains("name=\"share\""), "{page}");
    let cb = consent_if_asked(&b, &s, confirm(&b, &s, &page, true, "confirm").await).await.callback();
    let id = id_token(&redeem(&s, &plain_app, plain_secret.as_deref().unwrap(), &cb["code"]).await);
    assert_eq!(id["amr"], json!(["fed"]), "{id}");
    let account = id["sub"].as_str().unwrap().to_string();
    let links = s.ops.store.upstream_links(&account).await.unwrap();
    assert!(
        links[0].subject.starts_with("WH") && !links[0].subject.contains(NUMBER),
        "a pseudonym: {links:?}"
    );
    let tenant = s.tenant_id().await;
    assert!(s.ops.store.real_name(&account).await.unwrap().is_none(), "nothing bound without identity");
    // the page's query changed to ask for the name and number anyway: released by the
    // simulator, but not asked for by this provider, so not kept
    let b = Browser::new();
    let page = to_app(&b, &s, &auth_url(&s.issuer, &plain_app, "")).await;
    let mut form = confirm_form(&page);
    form.retain(|(k, _)| k != "plaintext");
    form.extend([("plaintext".to_string(), "1".to_string()), ("share".to_string(), "on".to_string())]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let step = b.post_form(&s, "/t/main/netid-simulator", &pairs).await;
    let cb = consent_if_asked(&b, &s, step).await.callback();
    assert!(cb.contains_key("code"), "{cb:?}");
    assert!(
        s.ops.store.real_name(&account).await.unwrap().is_none(),
        "an identity not asked for is not kept"
    );

    // an app registered for real-name data, the person consenting: the same account, bound
    // at level 3 by the rule on the face check
    let (app, secret) = s.add_client(ClientType::Web, crate::upstream_signin::app()).await;
    let b = Browser::new();
    let page = to_app(&b, &s, &asking_verified_claims(&s, &app)).await;
    assert!(page.contains("id=\"netid-share\""), "asked to consent: {page}");
    let step = confirm(&b, &s, &page, true, "confirm").await;
    let cb = consent_if_asked(&b, &s, step).await.callback();
    let id = id_token(&redeem(&s, &app, secret.as_deref().unwrap(), &cb["code"]).await);
    assert_eq!(id["realname_level"], 3, "{id}");
    let evidence = &id["verified_claims"]["verification"]["evidence"][0];
    assert!(evidence["attestation"]["reference_number"].as_str().unwrap().starts_with("netid-sim-"), "{id}");
    assert_eq!(id["verified_claims"]["claims"]["name"], "艾达", "{id}");
    let again = s.ops.store.upstream_links(&account).await.unwrap();
    assert_eq!(again.len(), 1, "linked by the same number: {again:?}");
    assert_eq!(s.ops.store.real_name(&account).await.unwrap().unwrap().level, 3);

    // the person declines to release: signed in, nothing more bound (level stays)
    let b = Browser::new();
    let page = to_app(&b, &s, &asking_verified_claims(&s, &app)).await;
    let (url, status, body) = confirm(&b, &s, &page, false, "cancel").await.page();
    assert_eq!(status, 200, "{url}");
    assert!(body.contains("name=\"password\""), "a cancelled check: back at the sign-in page");
    let events = s.ops.store.audit_events(&tenant, 20).await.unwrap();
    let failure = events.iter().find(|e| e.kind == "upstream_failure").unwrap();
    assert!(failure.detail["reason"].as_str().unwrap().contains("access_denied"), "{}", failure.detail);

    // a code replayed, or a return carried to another browser
    let b = Browser::new();
    let page = to_app(&b, &s, &asking_verified_claims(&s, &app)).await;
    let res = b
        .http
        .post(format!("{}/t/main/netid-simulator", s.base))
        .form(&confirm_form(&page))
        .send()
        .await
        .unwrap();
    let back = format!("{}{}", s.base, res.headers()["location"].to_str().unwrap());
    let thief = Browser::new();
    let (_, status, _) = thief.get(&s, &back).await.page();
    assert_eq!(status, 400, "another browser");
    let (_, status, _) = b.get(&s, &back).await.page();
    assert_eq!(status, 400, "the state was taken by the first try");
    let forged = back.replace("code=", "code=x");
    let (_, status, _) = b.get(&s, &forged).await.page();
    assert_eq!(status, 400);
    // nor can the thief redeem the victim's unspent code with a sign-in of their own
    let code =
        url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let page = to_app(&thief, &s, &asking_verified_claims(&s, &app)).await;
    let own = extract(&page, "state").unwrap();
    let q = serde_urlencoded::to_string([("code", code.as_str()), ("state", own.as_str())]).unwrap();
    let (_, status, body) =
        thief.get(&s, &format!("{}/t/main/upstream/netid/netid/callback?{q}", s.base)).await.page();
    assert!(status == 200 && body.contains("name=\"password\""), "{body}");
    failed_because(&s, "issued to another sign-in").await;

    // a weaker check than the one asked for
    let b = Browser::new();
    let page = to_app(&b, &s, &asking_verified_claims(&s, &app)).await;
    let mut form = confirm_form(&page);
    form.retain(|(k, _)| k != "checked");
    form.push(("checked".into(), "netcert".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (_, _, body) = b.post_form(&s, "/t/main/netid-simulator", &pairs).await.page();
    assert!(body.contains("name=\"password\""), "{body}");
    failed_because(&s, "weaker than the netcert_face asked for").await;
}

async fn failed_because(s: &TestServer, reason: &str) {
    let tenant = s.tenant_id().await;
    let events = s.ops.store.audit_events(&tenant, 20).await.unwrap();
    let failure = events.iter().find(|e| e.kind == "upstream_failure").unwrap();
    assert!(failure.detail["reason"].as_str().unwrap().contains(reason), "{reason}: {}", failure.detail);
}
crate::both_backends!(signing_in_with_the_national_network_identity, minimal_then_plaintext);

fn confirm_form(page: &str) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = ["upstream", "state", "mode", "plaintext", "party", "statutory"]
        .iter()
        .map(|k| (k.to_string(), extract(page, k).unwrap_or_default()))
        .collect();
    form.extend([
        ("name".into(), "艾达".into()),
        ("id_number".into(), NUMBER.into()),
        ("checked".into(), "netcert_face".into()),
        ("decision".into(), "confirm".into()),
    ]);
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_is_there_only_when_configured() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let res = reqwest::get(format!(
        "{}/t/main/netid-simulator?upstream=netid&state=s&mode=netcert&plaintext=0&party=p&statutory=0",
        s.base
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    // an upstream of the service without a connector: its link says it is unavailable
    add(&s, false).await;
    let (app, _) = s.add_client(ClientType::Web, crate::upstream_signin::app()).await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &app, "")).await.page();
    let href = upstream_link(&login, "netid").unwrap();
    let (_, status, _) = b.get(&s, &format!("{}{href}", s.base)).await.page();
    assert_eq!(status, 502);
}

/// The simulator's page in Chromium (`tests/browser/connectors.mjs`): audited (axe WCAG 2.1 AA,
/// weight) and pictured in `docs/screenshots/netid-simulator.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_in_chromium() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.netid.provider = "simulator".into()).await.unwrap();
    add(&s, true).await;
    let (app, _) = s.add_client(ClientType::Web, crate::upstream_signin::app()).await;
    let authorize = asking_verified_claims(&s, &app);
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let args = ["netid", &s.base, &authorize, crate::common::REDIRECT, &shots.display().to_string()];
    let (ok, stdout) =
        crate::browser::browser_script("connectors.mjs", args.map(|a| a.to_string()).to_vec(), vec![]).await;
    assert!(ok, "{stdout}");
    for step in ["netid_simulator", "signed_in", "done"] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
}
