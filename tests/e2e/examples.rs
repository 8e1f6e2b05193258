//! The four client examples (`client-examples/`) against a live provider, as CI runs them:
//! - `rust-web` three times, as three department sites: a person signs in once (SSO), uses all
//!   three, signs out at one, and each site's back-channel receiver ends its own session;
//! - `service`: a client-credentials token accepted by the protected API, which refuses a
//!   missing, forged or under-scoped token;
//! - `kiosk`: the device flow, the person approving on a phone, the kiosk printing the name;
//! - `spa`: the plain-JavaScript page in headless Chromium (code + PKCE, ID token verified with
//!   WebCrypto, UserInfo, sign-out).

use std::sync::{Arc, Mutex};

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewClient;

use crate::browser::{Browser, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer};

/// Moves the provider's test clock on with the real one (the examples wait in real time).
fn tick(s: &TestServer) -> tokio::task::JoinHandle<()> {
    let env = s.env.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            env.advance(1);
        }
    })
}

async fn serve(listener: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// GETs `url` (or POSTs `form` to it) and follows every redirect, across origins, with the
/// browser's cookies: the final URL and page.
async fn walk(b: &Browser, url: &str, form: Option<&[(&str, &str)]>) -> (String, String) {
    let mut res = match form {
        Some(f) => b.http.post(url).form(f).send().await.unwrap(),
        None => b.http.get(url).send().await.unwrap(),
    };
    loop {
        if res.status().is_redirection() {
            let loc = res.headers()["location"].to_str().unwrap().to_string();
            let next = res.url().join(&loc).unwrap();
            res = b.http.get(next).send().await.unwrap();
            continue;
        }
        let url = res.url().to_string();
        return (url, res.text().await.unwrap());
    }
}

/// Through the provider's sign-in and consent pages, whichever come, back to the site.
async fn through_the_provider(
    s: &TestServer,
    b: &Browser,
    mut page: (String, String),
    login: &str,
) -> String {
    for _ in 0..3 {
        let (url, body) = &page;
        if !url.starts_with(&s.base) {
            return body.clone();
        }
        let action = format!("{}{}", s.base, form_action(body));
        let csrf = extract(body, "csrf").unwrap();
        page = if body.contains("name=\"password\"") {
            walk(b, &action, Some(&[("csrf", &csrf), ("login", login), ("password", PASSWORD)])).await
        } else {
            assert!(body.contains("value=\"allow\""), "{body}");
            walk(b, &action, Some(&[("csrf", &csrf), ("decision", "allow")])).await
        };
    }
    panic!("still at the provider: {}", page.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_web_three_sites_one_logout() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("ming").await;
    let mut sites = vec![];
    for i in 0..3 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings = ClientSettings {
            backchannel_logout_uri: Some(format!("{base}/backchannel-logout")),
            ..ClientSettings::default()
        };
        let new = NewClient {
            name: format!("部门网站 {i}"),
            client_type: ClientType::Web,
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            scope: None,
            settings: Some(settings),
        };
        let (client, secret) = s.ops.add_client("main", new).await.unwrap();
        let config = rust_web::Config {
            issuer: s.issuer.clone(),
            client_id: client.client_id,
            client_secret: secret.unwrap(),
            base_url: base.clone(),
            // the three share a host here: each its own cookie
            cookie: format!("site{i}"),
        };
        serve(listener, rust_web::router(config).await.unwrap()).await;
        sites.push(base);
    }
    let b = Browser::new();
    for (i, site) in sites.iter().enumerate() {
        let (_, home) = walk(&b, &format!("{site}/"), None).await;
        assert!(home.contains("Not signed in"), "{home}");
        let at_provider = walk(&b, &format!("{site}/login"), None).await;
        if i > 0 {
            assert!(!at_provider.1.contains("name=\"password\""), "signed in once: SSO from here on");
        }
        let home = through_the_provider(&s, &b, at_provider, "ming").await;
        assert!(home.contains("Signed in as <b>ming 张</b>"), "site {i}: {home}");
    }
    // one sign-out, at the second site
    let (url, home) = walk(&b, &format!("{}/logout", sites[1]), None).await;
    assert!(url.starts_with(&sites[1]) && home.contains("Not signed in"), "{url}: {home}");
    // the other two are told by the provider (back-channel) and end their sessions
    for site in [&sites[0], &sites[2]] {
        let mut signed_out = false;
        for _ in 0..50 {
            if walk(&b, &format!("{site}/"), None).await.1.contains("Not signed in") {
                signed_out = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(signed_out, "{site} still shows the person signed in");
    }
    // and signing in again needs the password: the provider's session is gone too
    let (_, page) = walk(&b, &format!("{}/login", sites[0]), None).await;
    assert!(page.contains("name=\"password\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_token_and_protected_api() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let service = |scope: &str| NewClient {
        name: "部门后台服务".into(),
        client_type: ClientType::Service,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some(scope.into()),
        settings: None,
    };
    // the tenant defines the API scope `reports` for the second service
    let policy = idp_core::model::TenantPolicy { api_scopes: vec!["reports".into()], ..Default::default() };
    s.ops.set_tenant_rules_by("main", None, Some(policy), "test").await.unwrap();
    let (caller, secret) = s.ops.add_client("main", service("api")).await.unwrap();
    let (other, other_secret) = s.ops.add_client("main", service("reports")).await.unwrap();
    let (caller, other) = (caller.client_id, other.client_id);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hello", listener.local_addr().unwrap());
    let config = service::ApiConfig { issuer: s.issuer.clone(), scope: "api".into(), audience: None };
    serve(listener, service::api(config).await.unwrap()).await;

    let token = service::fetch_token(&s.issuer, &caller, &secret.unwrap(), "api").await.unwrap();
    let http = reqwest::Client::new();
    let res = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!((body["hello"].as_str(), body["scope"].as_str()), (Some(caller.as_str()), Some("api")));
    // no token, a forged one, one without the scope
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let res = http.get(&url).bearer_auth(&forged).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let weak = service::fetch_token(&s.issuer, &other, &other_secret.unwrap(), "reports").await.unwrap();
    let res = http.get(&url).bearer_auth(&weak).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    // a secret that is wrong gets no token
    assert!(service::fetch_token(&s.issuer, &caller, "wrong", "api").await.is_err());
}

/// What the kiosk's screen shows, shared with the test.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_device_flow_in_a_terminal() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let _clock = tick(&s);
    s.add_account("hua").await;
    let new = NewClient {
        name: "政务服务自助终端".into(),
        client_type: ClientType::Kiosk,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(ClientSettings {
            location: Some("市民中心一楼 3 号机".into()),
            ..ClientSettings::default()
        }),
    };
    let (client, secret) = s.ops.add_client("main", new).await.unwrap();
    let config = kiosk::Config {
        issuer: s.issuer.clone(),
        client_id: client.client_id,
        client_secret: secret.unwrap(),
    };
    let screen = Screen::default();
    let mut out = screen.clone();
    let kiosk =
        tokio::spawn(async move { kiosk::sign_in(&config, &mut out).await.map_err(|e| e.to_string()) });
    let mut uri = None;
    for _ in 0..100 {
        uri = screen.text().lines().find_map(|l| l.strip_prefix("VERIFY ").map(str::to_string));
        if uri.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let uri = uri.expect("the kiosk shows where to approve");
    assert!(screen.text().contains('█'), "a QR code: {}", screen.text());
    // on the phone: sign in, see the kiosk, approve
    let phone = Browser::new();
    let (_, _, page) = phone.get(&s, &uri).await.page();
    let (_, _, page) = phone.sign_in(&s, &page, "hua", PASSWORD).await.page();
    assert!(page.contains("市民中心一楼 3 号机"), "{page}");
    let csrf = extract(&page, "csrf").unwrap();
    let code = extract(&page, "user_code").unwrap();
    phone
        .post_form(&s, "/t/main/device", &[("csrf", &csrf), ("user_code", &code), ("decision", "allow")])
        .await;
    let info =
        tokio::time::timeout(std::time::Duration::from_secs(60), kiosk).await.unwrap().unwrap().unwrap();
    assert_eq!(info["name"], "hua 张");
    assert!(screen.text().contains("Signed in: hua 张"), "{}", screen.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spa_in_chromium() {
    let browser_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists() && browser_dir.join("node_modules/playwright-core").exists(),
        "this test needs Debian's chromium and playwright-core (`npm ci` in {}); scripts/test.sh installs both",
        browser_dir.display()
    );
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("yan").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let new = NewClient {
        name: "网上办事大厅".into(),
        client_type: ClientType::Spa,
        redirect_uris: vec![base.clone()],
        post_logout_redirect_uris: vec![base.clone()],
        scope: None,
        settings: None,
    };
    let (client, _) = s.ops.add_client("main", new).await.unwrap();
    // the example's files as they are, and its configuration
    let spa = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client-examples/spa");
    let file = |name: &str| std::fs::read_to_string(spa.join(name)).unwrap();
    let (index, script) = (file("index.html"), file("app.js"));
    let config = serde_json::json!({
        "issuer": s.issuer, "client_id": client.client_id, "redirect_uri": base,
        "post_logout_redirect_uri": base, "scope": "openid profile",
    })
    .to_string();
    let html = [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")];
    let js = [(axum::http::header::CONTENT_TYPE, "text/javascript")];
    let app = axum::Router::new()
        .route("/", axum::routing::get(move || async move { (html, index) }))
        .route("/app.js", axum::routing::get(move || async move { (js, script) }))
        .route("/config.json", axum::routing::get(move || async move { config }));
    serve(listener, app).await;

    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(browser_dir.join("spa.mjs"))
            .args([&base, "yan", PASSWORD])
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"name\":\"yan 张\"") && stdout.contains("\"step\":\"done\""), "{stdout}");
}
