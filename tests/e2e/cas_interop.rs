//! CAS clients nobody here wrote, against the provider's CAS server: PyPI `python-cas`
//! validating a ticket, Apereo's phpCAS (Debian `php-cas`) protecting a PHP page, and Debian's
//! `libapache2-mod-auth-cas` protecting a page served by Apache; and the JDK-only Java
//! application of `client-examples/cas-java` (Apereo's Java client needs Maven Central, which
//! these machines cannot reach). Each runs the example of `client-examples/` that a department
//! would start from; each signs a person in through the provider's pages, reads the user and the
//! consented attributes, and (phpCAS, mod_auth_cas, Java) loses its session when the person logs
//! out at the provider (CAS single logout). `scripts/test.sh` installs the clients and the JDK.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use crate::browser::{Browser, Step};
use crate::cas::{register, ticket_for};
use crate::common::{Backend, TestServer};

/// The repository's root (the tests run in `tests/`).
pub(crate) fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A process stopped when the test ends, however it ends.
pub(crate) struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        // Apache stops its children on SIGTERM; kill() would orphan them
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not start on port {port}");
}

/// Follows redirects within the service at `app` (its own URLs), stopping at the provider or
/// at a page; the provider's pages are then driven by the browser.
pub(crate) async fn at_service(b: &Browser, mut url: String, app: &str) -> (String, reqwest::Response) {
    loop {
        let res = b.http.get(&url).send().await.expect("GET the service");
        if !res.status().is_redirection() {
            return (url, res);
        }
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        url = url::Url::parse(&url).unwrap().join(&loc).unwrap().to_string();
        if !url.starts_with(app) {
            return (url, res);
        }
    }
}

/// Signs in at the provider from the service's redirect and comes back to the service with
/// the ticket; the service's page after validation.
async fn sign_in_through(s: &TestServer, b: &Browser, start: &str, app: &str) -> reqwest::Response {
    let (login, _) = at_service(b, start.to_string(), app).await;
    assert!(login.starts_with(&format!("{}/cas/login?service=", s.issuer)), "sent to the provider: {login}");
    let Step::Left(back) = b.authorize(s, &login, "lin").await else { panic!("back to the service") };
    assert!(back.as_str().starts_with(app) && back.as_str().contains("ticket=ST-"), "{back}");
    let (_, res) = at_service(b, back.to_string(), app).await;
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_cas_validates_a_ticket() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let lin = s.add_account("lin").await;
    let service = "http://127.0.0.1:9/app";
    register(&s, &[service], "openid profile").await;
    let ticket = ticket_for(&s, &Browser::new(), service, "").await;
    let run = |ticket: &str| {
        Command::new("python3")
            .arg(root().join("client-examples/cas-python/verify.py"))
            .args([ticket, service])
            .env("CAS_BASE", &s.issuer)
            .output()
            .expect("python3 runs (scripts/test.sh installs PyPI python-cas)")
    };
    let out = run(&ticket);
    assert!(out.status.success(), "python-cas refused: {}", String::from_utf8_lossy(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["user"], lin.as_str());
    assert_eq!(got["attributes"]["preferred_username"], "lin", "{got}");
    assert_eq!(got["attributes"]["authnContextClass"], "aal1", "{got}");
    assert_eq!(got["login_url"], format!("{}/cas/login?service=http%3A%2F%2F127.0.0.1%3A9%2Fapp", s.issuer));
    // python-cas sees a used ticket refused
    assert_eq!(run(&ticket).status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn phpcas_protects_a_page_and_obeys_single_logout() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let lin = s.add_account("lin").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let page = format!("{app}/index.php");
    register(&s, &[&page], "openid profile").await;
    let sessions = tempfile::tempdir().unwrap();
    let _php = Running(
        Command::new("php")
            .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
            .arg(root().join("client-examples/cas-php"))
            .env("CAS_BASE", &s.issuer)
            .env("SERVICE_URL", &page)
            .env("SESSION_DIR", sessions.path())
            .env("CAS_LOGOUT_FROM", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("php runs (scripts/test.sh installs Debian php-cli and php-cas)"),
    );
    wait_for_port(port, "php -S").await;

    let b = Browser::new();
    let res = sign_in_through(&s, &b, &page, &app).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains(&format!("user={lin}\n")), "{text}");
    assert!(
        text.contains("attr:preferred_username=lin\n") && text.contains("attr:isFromNewLogin=true"),
        "{text}"
    );
    // the PHP session holds the sign-in
    let (_, res) = at_service(&b, page.clone(), &app).await;
    assert_eq!(res.status(), 200, "signed in at the service");

    // logout at the provider: phpCAS destroys the session the ticket opened
    let _ =
        b.get(&s, &format!("{}/cas/logout?service={}", s.issuer, crate::oidc_flow::urlencode(&page))).await;
    for _ in 0..50 {
        let (url, _) = at_service(&b, page.clone(), &app).await;
        if url.starts_with(&s.issuer) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("phpCAS kept the session after single logout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mod_auth_cas_protects_an_apache_page_and_obeys_single_logout() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let lin = s.add_account("lin").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    register(&s, &[&format!("{app}/secured/*")], "openid profile").await;
    let work = tempfile::tempdir().unwrap();
    let _apache = Running(
        Command::new("sh")
            .arg(root().join("client-examples/cas-apache/run.sh"))
            .env("CAS_BASE", &s.issuer)
            .env("PORT", port.to_string())
            .env("WORK_DIR", work.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Apache signals its whole process group when it stops: its own, not the tests'
            .process_group(0)
            .spawn()
            .expect("apache2 runs (scripts/test.sh installs Debian apache2 and libapache2-mod-auth-cas)"),
    );
    wait_for_port(port, "apache2").await;

    let b = Browser::new();
    let res = sign_in_through(&s, &b, &format!("{app}/secured/"), &app).await;
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(header("cas-user"), Some(lin.clone()), "{:?}", res.headers());
    assert_eq!(header("cas-attr-preferred_username").as_deref(), Some("lin"), "{:?}", res.headers());
    let text = res.text().await.unwrap();
    assert!(text.contains(&format!("user={lin}\n")), "{text}");

    let secured = crate::oidc_flow::urlencode(&format!("{app}/secured/"));
    let _ = b.get(&s, &format!("{}/cas/logout?service={secured}", s.issuer)).await;
    for _ in 0..50 {
        let (url, _) = at_service(&b, format!("{app}/secured/"), &app).await;
        if url.starts_with(&s.issuer) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("mod_auth_cas kept the session after single logout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_java_application_signs_in_by_cas_and_obeys_single_logout() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let lin = s.add_account("lin").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let page = format!("{app}/app");
    register(&s, &[&page], "openid profile").await;
    let _java = Running(
        Command::new("java")
            .arg(root().join("client-examples/cas-java/CasApp.java"))
            .env("CAS_BASE", &s.issuer)
            .env("SERVICE_URL", &page)
            .env("CAS_LOGOUT_FROM", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("java runs (scripts/test.sh installs Debian default-jdk-headless)"),
    );
    // (the single-file launcher compiles the application first: a second or two)
    wait_for_port(port, "java CasApp.java").await;

    let b = Browser::new();
    let res = sign_in_through(&s, &b, &page, &app).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains(&format!("user={lin}\n")), "{text}");
    assert!(
        text.contains("attr:preferred_username=lin\n") && text.contains("attr:isFromNewLogin=true"),
        "{text}"
    );
    // a ticket brought by a browser that did not start a sign-in there is not even tried (CAS
    // has no `state`: this stops a link carrying an attacker's own ticket)
    let forged = format!("{page}?ticket=ST-1-{}", "0".repeat(64));
    let res = b.http.get(&forged).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(res.headers()["location"].to_str().unwrap().starts_with(&format!("{}/cas/login?", s.issuer)));
    // in one that did, the provider refuses a ticket it never issued, and so does the application
    let other = Browser::new();
    assert!(other.http.get(&page).send().await.unwrap().status().is_redirection());
    let res = other.http.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("INVALID_TICKET"));
    let (_, res) = at_service(&b, page.clone(), &app).await;
    assert_eq!(res.status(), 200, "signed in at the service");

    let _ =
        b.get(&s, &format!("{}/cas/logout?service={}", s.issuer, crate::oidc_flow::urlencode(&page))).await;
    for _ in 0..50 {
        let (url, _) = at_service(&b, page.clone(), &app).await;
        if url.starts_with(&s.issuer) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the Java application kept the session after single logout");
}
