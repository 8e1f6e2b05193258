//! Identity brokering against a real OpenID provider nobody here wrote: node `oidc-provider` 9
//! (`tests/upstream/provider.mjs`, installed by `scripts/test.sh`) as the national platform. A
//! department app's sign-in goes to it through the "sign in with …" link, its own sign-in
//! and consent pages are filled in, and the app receives an ID token for a new account linked
//! to the upstream's subject, at the real-name level the operator's rule gives its
//! `verified_claims` (`trust_framework` `cn_gov`, `assurance_level` `face` → level 3), with the
//! upstream's reference as evidence. The same subject signs in again to the same account.

use std::process::{Child, Command, Stdio};

use idp_core::model::{ClientSettings, ClientType, LevelRule, UpstreamAuth, UpstreamSettings};
use idp_server::ops::upstreams::NewUpstream;
use serde_json::json;

use crate::browser::{Browser, Step};
use crate::cas_interop::{free_port, wait_for_port};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{id_token, redeem};

const SECRET: &str = "node-upstream-secret-0123456789abcdef";

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first form of an oidc-provider page: its action and hidden fields.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let start = page.find("<form").expect("a form");
    let form = &page[start..page[start..].find("</form>").unwrap() + start];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let m = format!("{name}=\"");
        let i = tag.find(&m)? + m.len();
        Some(tag[i..i + tag[i..].find('"')?].to_string())
    };
    let action = attr(form, "action").unwrap();
    let mut fields = vec![];
    for input in form.split("<input").skip(1) {
        if let (Some("hidden"), Some(n), Some(v)) =
            (attr(input, "type").as_deref(), attr(input, "name"), attr(input, "value"))
        {
            fields.push((n, v));
        }
    }
    (action, fields)
}

/// At the upstream: follows its redirects and fills in its sign-in (as `login`) and consent
/// pages until it sends the browser back to this provider.
async fn at_upstream(b: &Browser, issuer: &str, mut url: String, login: &str) -> String {
    for _ in 0..12 {
        let res = b.http.get(&url).send().await.unwrap();
        let mut res = res;
        loop {
            if res.status().is_redirection() {
                let loc = res.headers()["location"].to_str().unwrap().to_string();
                url = url::Url::parse(&url).unwrap().join(&loc).unwrap().to_string();
                if !url.starts_with(issuer) {
                    return url;
                }
                res = b.http.get(&url).send().await.unwrap();
                continue;
            }
            break;
        }
        let page = res.text().await.unwrap();
        let (action, mut fields) = form_of(&page);
        if page.contains("name=\"password\"") {
            fields.push(("login".into(), login.into()));
            fields.push(("password".into(), "anything".into()));
        }
        let target = url::Url::parse(&url).unwrap().join(&action).unwrap().to_string();
        let res = b.http.post(&target).form(&fields).send().await.unwrap();
        assert!(res.status().is_redirection(), "the upstream's form answered {}", res.status());
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        url = url::Url::parse(&target).unwrap().join(&loc).unwrap().to_string();
        if !url.starts_with(issuer) {
            return url;
        }
    }
    panic!("the upstream never sent the browser back");
}

/// node oidc-provider on a free port, for this provider's callback; its issuer.
fn start_node(s: &TestServer) -> (Node, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("upstream");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "node oidc-provider is not installed: run scripts/test.sh (it runs npm ci in tests/upstream)"
    );
    let port = free_port();
    let callback = format!("{}/upstream/gov/callback", s.issuer);
    let node = Node(
        Command::new("node")
            .arg("provider.mjs")
            .args([&port.to_string(), &callback, SECRET])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs"),
    );
    (node, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_oidc_provider_as_the_national_platform() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (_node, issuer) = start_node(&s);
    let port: u16 = issuer.rsplit(':').next().unwrap().parse().unwrap();
    wait_for_port(port, "node oidc-provider").await;
    let callback = format!("{}/upstream/gov/callback", s.issuer);

    let settings = UpstreamSettings {
        name_zh: "国家政务服务平台".into(),
        levels: vec![
            LevelRule { trust_framework: Some("cn_gov".into()), level: 2, ..Default::default() },
            LevelRule {
                trust_framework: Some("cn_gov".into()),
                assurance_level: Some("face".into()),
                level: 3,
                ..Default::default()
            },
        ],
        scopes: vec!["openid".into(), "profile".into()],
        request_verified_claims: true,
        create_accounts: true,
        ..Default::default()
    };
    let n = NewUpstream {
        id: "gov".into(),
        issuer: issuer.clone(),
        client_id: "provincial-idp".into(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: Some(SECRET.into()),
        settings,
    };
    s.ops.add_upstream_by("main", n, "test").await.unwrap();
    crate::upstream_signin::settle().await;
    let app = ClientSettings { scope: "openid profile realname".into(), ..ClientSettings::default() };
    let (client, secret) = s.add_client(ClientType::Web, app).await;
    let secret = secret.unwrap();
    let claims = json!({"id_token": {"realname_level": null, "verified_claims": {
        "verification": {"trust_framework": null, "assurance_level": null, "evidence": null},
        "claims": {"name": null}}}});
    let extra = format!("&{}", serde_urlencoded::to_string([("claims", claims.to_string())]).unwrap());
    let url =
        auth_url(&s.issuer, &client, &extra).replace("scope=openid", "scope=openid%20profile%20realname");

    let mut subjects = vec![];
    for _ in 0..2 {
        let b = Browser::new();
        let (_, _, login) = b.get(&s, &url).await.page();
        let href =
            login.split("href=\"").find_map(|h| h.split('"').next().filter(|h| h.ends_with("/via/gov")));
        let to_op = b.get(&s, &format!("{}{}", s.base, href.expect("the upstream's link"))).await.left();
        let back = at_upstream(&b, &issuer, to_op.to_string(), "ada").await;
        assert!(back.starts_with(&callback) && back.contains("iss="), "RFC 9207 iss: {back}");
        let step = match b.get(&s, &back).await {
            Step::Page { body, .. } if body.contains("value=\"allow\"") => b.consent(&s, &body, true).await,
            other => other,
        };
        let cb = step.callback();
        let id = id_token(&redeem(&s, &client, &secret, &cb["code"]).await);
        assert_eq!(id["amr"], json!(["fed"]), "{id}");
        assert_eq!(id["realname_level"], 3, "face verification → level 3 by the rule: {id}");
        let v = &id["verified_claims"];
        assert_eq!(v["claims"]["name"], "艾达", "{id}");
        assert_eq!(v["verification"]["evidence"][0]["attestation"]["reference_number"], "node-txn-7", "{id}");
        subjects.push(id["sub"].as_str().unwrap().to_string());
    }
    assert_eq!(subjects[0], subjects[1], "the same account the second time");
    let links = s.ops.store.upstream_links(&subjects[0]).await.unwrap();
    assert_eq!((links[0].subject.as_str(), links[0].via.as_str()), ("ada", "created"));
}

/// The pages of an upstream sign-in in Chromium (`tests/browser/upstream.mjs`): the sign-in
/// page's link, the notice when nothing links, the question whether to link, and the linked
/// provider on the account pages — each audited (axe WCAG 2.1 AA, weight) and pictured in
/// `docs/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_an_upstream_sign_in_in_chromium() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (_node, issuer) = start_node(&s);
    let port: u16 = issuer.rsplit(':').next().unwrap().parse().unwrap();
    wait_for_port(port, "node oidc-provider").await;
    let n = NewUpstream {
        id: "gov".into(),
        issuer,
        client_id: "provincial-idp".into(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: Some(SECRET.into()),
        settings: UpstreamSettings { name_zh: "国家政务服务平台".into(), ..Default::default() },
    };
    s.ops.add_upstream_by("main", n, "test").await.unwrap();
    crate::upstream_signin::settle().await;
    s.add_account("lin").await;
    let (client, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let authorize = auth_url(&s.issuer, &client, "&nonce=n-1");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let args = [
        &s.base,
        &authorize,
        crate::common::REDIRECT,
        "lin",
        crate::common::PASSWORD,
        &shots.display().to_string(),
    ];
    let (ok, stdout) =
        crate::browser::browser_script("upstream.mjs", args.map(|a| a.to_string()).to_vec(), vec![]).await;
    assert!(ok, "{stdout}");
    for step in ["upstream_signin", "upstream_prove", "upstream_link", "linked", "account_links", "done"] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
    let lin = s.ops.account("main", "lin").await.unwrap().id;
    assert_eq!(s.ops.store.upstream_links(&lin).await.unwrap()[0].subject, "stranger-at-gov");
}
