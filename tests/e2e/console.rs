//! The admin console beside a real provider: an administrator signs in to it through the idp
//! (password, then a TOTP code: `aal2`), sees the dashboard, registers a client and sees it
//! listed, rotates its secret (shown once each time), switches to English; a visitor without a
//! session is sent to sign in; a form without the session's CSRF token is refused.

use idp_core::Env;
use idp_core::totp::Secret;
use idp_server::ops::NewAccount;

use crate::browser::{Browser, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer};
use crate::step_up::enrol;

/// GET `url` and follow redirects across the console and the idp; the last page and its URL.
pub(crate) async fn follow(b: &Browser, mut res: reqwest::Response) -> (String, String) {
    while res.status().is_redirection() {
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        let next = res.url().join(&loc).unwrap();
        res = b.http.get(next).send().await.unwrap();
    }
    let url = res.url().to_string();
    (url, res.text().await.unwrap())
}

pub(crate) async fn post(
    b: &Browser,
    base: &str,
    page: &str,
    action: &str,
    form: &[(&str, &str)],
) -> (String, String) {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    let url = if action.starts_with("http") { action.to_string() } else { format!("{base}{action}") };
    follow(b, b.http.post(url).form(&full).send().await.unwrap()).await
}

/// Opens `path` on the console without a session: the idp's sign-in with the password and a
/// TOTP code, consent, and back to `path`; the URL and the page.
pub(crate) async fn sign_in(
    s: &TestServer,
    b: &Browser,
    base: &str,
    path: &str,
    login: &str,
    totp: &Secret,
) -> (String, String) {
    let (url, page) = follow(b, b.http.get(format!("{base}{path}")).send().await.unwrap()).await;
    assert!(url.starts_with(&s.base) && page.contains("name=\"password\""), "{url}");
    let (_, code_page) =
        post(b, &s.base, &page, &form_action(&page), &[("login", login), ("password", PASSWORD)]).await;
    assert!(code_page.contains("name=\"code\""), "the second factor: {code_page}");
    let code = totp.code_at_step(s.env.now() / 30);
    let (url, consent) = post(b, &s.base, &code_page, &form_action(&code_page), &[("code", &code)]).await;
    if !consent.contains("name=\"decision\"") {
        // allowed before: straight back
        return (url, consent);
    }
    post(b, &s.base, &consent, &form_action(&consent), &[("decision", "allow")]).await
}

async fn console(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = NewAccount {
        username: "ops".into(),
        password: Some(PASSWORD.into()),
        name: Some("运维".into()),
        phone: None,
        email: None,
        roles: vec!["system_admin".into()],
    };
    s.ops.add_account("main", admin).await.unwrap();
    let (totp, _) = enrol(&s, "ops").await;

    let base = start_console(&s).await;

    // no session: off to sign in at the idp
    let b = Browser::new();
    let (url, dashboard) = sign_in(&s, &b, &base, "/", "ops", &totp).await;
    assert!(url.starts_with(&base), "back at the console: {url}");
    assert!(
        dashboard.contains("<svg id=\"signins\"") && dashboard.contains("id=\"sessions\""),
        "{dashboard}"
    );

    // register a client, see it listed, rotate its secret
    let (_, page) = follow(&b, b.http.get(format!("{base}/clients")).send().await.unwrap()).await;
    assert!(page.contains("id=\"register\""), "{page}");
    let form = [
        ("name", "民政业务系统"),
        ("type", "web"),
        ("redirect_uri", "https://mz.example.gov.cn/cb"),
        ("scope", "openid profile"),
    ];
    let (_, page) = post(&b, &base, &page, "/clients", &form).await;
    let first = extract_secret(&page);
    assert!(page.contains("民政业务系统"), "listed: {page}");
    let id = attr(&page, "id=\"secret\" data-client=\"");
    let (_, page) = post(&b, &base, &page, &format!("/clients/{id}/rotate"), &[("overlap_days", "1")]).await;
    let second = extract_secret(&page);
    assert_ne!(first, second, "a new secret");
    let stored = s.ops.client("main", &id).await.unwrap();
    assert!(stored.settings.previous_secret.is_some(), "the old one overlaps");

    // disable and enable it
    let (_, page) =
        post(&b, &base, &page, &format!("/clients/{id}/disable"), &[("back", "/console/clients")]).await;
    assert!(s.ops.client("main", &id).await.unwrap().disabled && page.contains("(已停用)"), "{page}");
    let (_, page) = post(&b, &base, &page, &format!("/clients/{id}/enable"), &[]).await;
    assert!(!s.ops.client("main", &id).await.unwrap().disabled);
    // a CAS service: registered with its service URL, no secret; edited on its own page
    let form = [("name", "不动产登记系统"), ("type", "cas"), ("service", "https://bdc.example.gov.cn/*")];
    let (_, page) = post(&b, &base, &page, "/clients", &form).await;
    assert!(page.contains("不动产登记系统") && !page.contains("id=\"secret\""), "{page}");
    let cas = s.ops.store.list_clients(&s.tenant_id().await).await.unwrap();
    let cas = cas.iter().find(|c| c.client_type == idp_core::model::ClientType::Cas).expect("registered");
    assert_eq!(cas.settings.cas.services, ["https://bdc.example.gov.cn/*"]);
    let (_, edit) =
        follow(&b, b.http.get(format!("{base}/clients/{}", cas.client_id)).send().await.unwrap()).await;
    assert!(edit.contains("name=\"services\"") && !edit.contains("name=\"access_ttl\""), "{edit}");
    let form = [
        ("type", "cas"),
        ("name", "不动产登记系统"),
        ("services", "https://bdc.example.gov.cn/*\nhttps://bdc2.example.gov.cn/login"),
        ("ticket_ttl", "30"),
        ("scope", "openid profile"),
    ];
    let (_, _) = post(&b, &base, &edit, &format!("/clients/{}", cas.client_id), &form).await;
    let after = s.ops.client("main", &cas.client_id).await.unwrap().settings.cas;
    assert_eq!(
        (after.services.len(), after.ticket_ttl, after.single_logout),
        (2, Some(30), false),
        "{after:?}"
    );
    // a SAML service provider, from its pasted metadata
    let metadata = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://sb.example.gov.cn/sp\">\
        <md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:AssertionConsumerService \
        index=\"0\" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sb.example.gov.cn/acs\"/>\
        </md:SPSSODescriptor></md:EntityDescriptor>";
    let form = [("name", "社保业务系统"), ("type", "saml"), ("saml_metadata", metadata)];
    let (_, page) = post(&b, &base, &page, "/clients", &form).await;
    assert!(page.contains("社保业务系统") && !page.contains("role=\"alert\""), "{page}");
    let all = s.ops.store.list_clients(&s.tenant_id().await).await.unwrap();
    let sp = all.iter().find(|c| c.client_type == idp_core::model::ClientType::Saml).expect("registered");
    assert_eq!(sp.settings.saml.entity_id, "https://sb.example.gov.cn/sp");
    let (_, edit) =
        follow(&b, b.http.get(format!("{base}/clients/{}", sp.client_id)).send().await.unwrap()).await;
    assert!(edit.contains("id=\"saml\"") && edit.contains("https://sb.example.gov.cn/acs"), "{edit}");
    // the idp decides: a system administrator may not lock accounts nor handle keys
    let (_, found) = follow(&b, b.http.get(format!("{base}/accounts?q=ops")).send().await.unwrap()).await;
    assert!(found.contains("role=\"alert\""), "searching accounts is for security administrators: {found}");
    let account = s.ops.account("main", "ops").await.unwrap().id;
    let (_, refused) = post(&b, &base, &page, &format!("/accounts/{account}/lock"), &[("q", "ops")]).await;
    assert!(refused.contains("这超出了您的管理权限"), "said in the console's language: {refused}");
    assert!(!s.ops.account("main", "ops").await.unwrap().disabled);
    let (_, keys) = follow(&b, b.http.get(format!("{base}/keys")).send().await.unwrap()).await;
    assert!(keys.contains("role=\"alert\""), "{keys}");

    // tenants: create a sandbox, see it listed, disable it
    let (_, tenants) = follow(&b, b.http.get(format!("{base}/tenants")).send().await.unwrap()).await;
    assert!(tenants.contains("data-tenant=\"main\""), "{tenants}");
    let (_, tenants) =
        post(&b, &base, &tenants, "/tenants", &[("slug", "pilot"), ("name", "试点"), ("sandbox", "on")])
            .await;
    assert!(tenants.contains("data-tenant=\"pilot\"") && tenants.contains("/t/pilot"), "{tenants}");
    assert!(s.ops.tenant("pilot").await.unwrap().settings.sandbox);
    let (_, tenants) = post(&b, &base, &tenants, "/tenants/pilot/disable", &[]).await;
    assert!(s.ops.tenant("pilot").await.unwrap().disabled, "{tenants}");
    let (_, refused) = post(&b, &base, &tenants, "/tenants/main/disable", &[]).await;
    assert!(refused.contains("role=\"alert\"") && !s.ops.tenant("main").await.unwrap().disabled);

    // English on request; a form without the session's CSRF token is refused
    let (_, en) = follow(&b, b.http.get(format!("{base}/?lang=en")).send().await.unwrap()).await;
    assert!(en.contains("Dashboard") && en.contains("lang=\"en\""));
    let forged =
        b.http.post(format!("{base}/clients")).form(&[("name", "x"), ("type", "web")]).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 303, "back to the page, saying the form had expired");
    let all = s.ops.store.list_clients(&s.tenant_id().await).await.unwrap();
    assert!(!all.iter().any(|c| c.name == "x"), "nothing registered without the CSRF token");
}
crate::both_backends!(the_console_signs_in_and_manages_clients, console);

/// The same in Debian's Chromium (`tests/browser/console.mjs`), screenshots kept under
/// `target/artefacts/console/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_to_the_console_and_registers_a_client() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists() && dir.join("node_modules/playwright-core").exists(),
        "this test needs Debian's chromium ({chromium}) and playwright-core (`npm ci` in {}); scripts/test.sh installs both",
        dir.display()
    );
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let admin = NewAccount {
        username: "ops".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["system_admin".into()],
    };
    s.ops.add_account("main", admin).await.unwrap();
    let (totp, _) = enrol(&s, "ops").await;
    let base = start_console(&s).await;
    let code = totp.code_at_step(s.env.now() / 30);
    let artefacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artefacts/console");
    let artefacts_arg = artefacts.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(dir.join("console.mjs"))
            .args([&base, "ops", PASSWORD, &code, &artefacts_arg])
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"step\":\"done\""), "{stdout}");
    let client = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["client"].as_str().map(str::to_string))
        .unwrap();
    let stored = s.ops.client("main", &client).await.unwrap();
    assert_eq!(stored.name, "不动产登记系统");
    assert!(stored.settings.previous_secret.is_some(), "rotated with an overlap");
    for shot in [
        "1-idp-sign-in",
        "2-dashboard",
        "3-client-registered",
        "4-secret-rotated",
        "5-client-detail",
        "6-settings",
    ] {
        assert!(artefacts.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
}

/// An administrator of `main` with `role`, named `{who}-name`, the password [`PASSWORD`] and
/// an authenticator; its secret.
pub(crate) async fn add_admin(s: &TestServer, who: &str, role: &str) -> Secret {
    let a = NewAccount {
        username: who.into(),
        password: Some(PASSWORD.into()),
        name: Some(format!("{who}-name")),
        phone: None,
        email: None,
        roles: vec![role.into()],
    };
    s.ops.add_account("main", a).await.unwrap();
    enrol(s, who).await.0
}

/// The console `idp serve` serves for `s`'s main tenant (its client registered at start);
/// its URL.
pub(crate) async fn start_console(s: &TestServer) -> String {
    format!("{}/console", s.base)
}

pub(crate) fn attr(page: &str, marker: &str) -> String {
    let i = page.find(marker).unwrap_or_else(|| panic!("{marker} not in {page}")) + marker.len();
    page[i..i + page[i..].find('"').unwrap()].to_string()
}

fn extract_secret(page: &str) -> String {
    let marker = "id=\"secret-value\">";
    let i = page.find(marker).unwrap_or_else(|| panic!("no secret shown: {page}")) + marker.len();
    page[i..i + page[i..].find("</code>").unwrap()].to_string()
}
