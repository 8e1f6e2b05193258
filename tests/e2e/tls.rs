//! HTTPS: `idp serve` with a certificate and key from the development PKI (`idp dev-certs`)
//! answers over TLS only, with HSTS; the `openidconnect` crate discovers it and reads its keys
//! trusting only that CA; a client that does not trust the CA is refused; the plain-HTTP
//! redirect listener sends every request to the same path on the HTTPS public URL. The admin
//! console serves HTTPS the same way and reaches the idp over HTTPS trusting the same CA.

use std::sync::Arc;

use idp_server::app::Application;
use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;
use reqwest::redirect::Policy;

use crate::browser::rp_call;
use crate::common::{Backend, TestDb, test_config};

#[tokio::test]
async fn the_provider_serves_https_with_hsts_and_redirects_plain_http() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let pki = db.dir.path().join("certs");
    idp_server::tls::devcerts::write_dev_pki(&pki, &[]).unwrap();
    let mut config = test_config(&db);
    config.tls_cert = Some(pki.join("server.pem"));
    config.tls_key = Some(pki.join("server-key.pem"));
    config.public_url = Some("https://localhost:0".into());
    config.http_redirect_listen = Some("127.0.0.1:0".into());
    let app = Application::build_with_env(config, Arc::new(idp_core::SystemEnv)).await.expect("starts");
    let base = app.public_url();
    let port = app.local_addr().port();
    let redirect = app.redirect_addr().expect("a redirect listener");
    assert_eq!(base, format!("https://localhost:{port}"));
    let ops = app.state.ops.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let tess = idp_server::ops::NewAccount {
        username: "tess".into(),
        password: Some(crate::common::PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec![],
    };
    ops.add_account("main", tess).await.unwrap();

    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.join("ca.pem")).unwrap()).unwrap();
    let http = reqwest::Client::builder().redirect(Policy::none()).tls_certs_only([ca]).build().unwrap();
    let res = http.get(format!("{base}/t/main/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // a real client library, over TLS
    let f = |r| rp_call(&http, r);
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(format!("{base}/t/main")).unwrap(), &f)
        .await
        .expect("discovery over https");
    assert!(!meta.jwks().keys().is_empty(), "keys fetched over https");
    assert!(meta.token_endpoint().unwrap().as_str().starts_with("https://localhost:"));

    // the pages' cookies under TLS: Secure, HttpOnly, SameSite=Lax, the tenant's path (a
    // tenant-scoped cookie cannot take the `__Host-` prefix, which requires Path=/)
    let pages = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .tls_certs_only(
            [reqwest::Certificate::from_pem(&std::fs::read(pki.join("ca.pem")).unwrap()).unwrap()],
        )
        .build()
        .unwrap();
    let mut set_cookies = vec![];
    let mut res = pages.get(format!("{base}/t/main/account")).send().await.unwrap();
    while res.status().is_redirection() {
        set_cookies
            .extend(res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()));
        let next = res.url().join(res.headers()["location"].to_str().unwrap()).unwrap();
        res = pages.get(next).send().await.unwrap();
    }
    let login = res.text().await.unwrap();
    let csrf = crate::browser::extract(&login, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("login", "tess"), ("password", crate::common::PASSWORD)];
    let action = crate::browser::form_action(&login);
    let res = pages.post(format!("{base}{action}")).form(&form).send().await.unwrap();
    set_cookies.extend(res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()));
    for name in ["idp_browser=", "idp_session="] {
        let c = set_cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} {set_cookies:?}"));
        assert!(
            c.contains("; Secure")
                && c.contains("; HttpOnly")
                && c.contains("; SameSite=Lax")
                && c.contains("; Path=/t/main/"),
            "{c}"
        );
    }

    // a client that does not trust the development CA is refused; plain HTTP gets no answer
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(format!("{base}/healthz")).send().await.is_err());
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_err());

    // the redirect listener: same path and query, 308 (a POST stays a POST)
    let plain = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let res = plain.post(format!("http://{redirect}/t/main/token?x=1")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 308);
    assert_eq!(res.headers()["location"], format!("{base}/t/main/token?x=1").as_str());

    // the console over HTTPS too, calling the idp over HTTPS trusting the development CA
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let console_url = format!("https://localhost:{}", addr.port());
    let config = admin_console::Config {
        listen: addr.to_string(),
        public_url: Some(console_url.clone()),
        issuer: format!("{base}/t/main"),
        client_id: "console".into(),
        client_secret: "not-used-here".into(),
        log: "warn".into(),
        tls_cert: Some(pki.join("server.pem")),
        tls_key: Some(pki.join("server-key.pem")),
        idp_ca: Some(pki.join("ca.pem")),
        session_key: None,
    };
    let console = admin_console::App::new(config, addr).expect("the console starts with TLS");
    tokio::spawn(console.serve(listener, std::future::pending()));
    let res = http.get(format!("{console_url}/console/clients?lang=en")).send().await.unwrap();
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    assert_eq!(
        res.headers()["location"],
        "/console/login?next=%2Fconsole%2Fclients%3Flang%3Den",
        "back to the page after sign-in"
    );
    let res =
        http.get(format!("{console_url}/console/login?next=%2Fconsole%2Fclients")).send().await.unwrap();
    let to_idp = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to_idp.starts_with(&format!("{base}/t/main/authorize?")), "discovered over https: {to_idp}");
    assert!(to_idp.contains("acr_values=aal2"), "{to_idp}");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Secure-console_session=")
            && cookie.contains("; Secure")
            && cookie.contains("; Path=/console;")
            && cookie.contains("; HttpOnly")
            && cookie.contains("; SameSite=Lax")
            && !cookie.contains("Domain="),
        "{cookie}"
    );
    assert!(untrusting.get(format!("{console_url}/console/login")).send().await.is_err());
    let half = admin_console::Config {
        listen: addr.to_string(),
        public_url: None,
        issuer: format!("{base}/t/main"),
        client_id: "console".into(),
        client_secret: "x".into(),
        log: "warn".into(),
        tls_cert: Some(pki.join("server.pem")),
        tls_key: None,
        idp_ca: None,
        session_key: None,
    };
    assert!(admin_console::App::new(half, addr).is_err(), "a certificate without its key is refused");
    let _ = tx.send(());
}
