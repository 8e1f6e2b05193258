//! The Java department application of `client-examples/java-oidc` (the JDK alone, run by its
//! single-file launcher; docs/guides/java.md) against a live provider: sign-in with the code
//! flow and PKCE, the ID token verified in Java, the name from UserInfo, RP-initiated logout,
//! and back-channel logout when an administrator ends the person's sessions.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewClient;

use crate::browser::{Browser, Step};
use crate::cas_interop::{Running, at_service, free_port, root, wait_for_port};
use crate::common::{Backend, TestServer};

/// The application's `GET /` once signed in (through the provider when needed).
async fn signed_in(s: &TestServer, b: &Browser, app: &str) -> String {
    let (url, _) = at_service(b, format!("{app}/"), app).await;
    assert!(url.starts_with(&format!("{}/authorize?", s.issuer)), "sent to the provider: {url}");
    let Step::Left(back) = b.authorize(s, &url, "lin").await else { panic!("back to the application") };
    assert!(back.as_str().starts_with(&format!("{app}/callback?")), "{back}");
    let (at, res) = at_service(b, back.to_string(), app).await;
    assert_eq!(res.status(), 200, "{at}");
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_java_application_signs_in_with_oidc_and_obeys_both_logouts() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let lin = s.add_account("lin").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let new = NewClient {
        name: "Java 示例".into(),
        client_type: ClientType::Web,
        redirect_uris: vec![format!("{app}/callback")],
        post_logout_redirect_uris: vec![format!("{app}/")],
        scope: Some("openid profile".into()),
        settings: Some(ClientSettings {
            backchannel_logout_uri: Some(format!("{app}/backchannel-logout")),
            ..ClientSettings::default()
        }),
    };
    let (client, secret) = s.ops.add_client("main", new).await.unwrap();
    let _java = Running(
        Command::new("java")
            .arg(root().join("client-examples/java-oidc/OidcApp.java"))
            .env("OIDC_ISSUER", &s.issuer)
            .env("OIDC_CLIENT_ID", &client.client_id)
            .env("OIDC_CLIENT_SECRET", secret.unwrap())
            .env("APP_URL", &app)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("java runs (scripts/test.sh installs Debian default-jdk-headless)"),
    );
    // (the single-file launcher compiles the application first: a second or two)
    wait_for_port(port, "java OidcApp.java").await;

    let b = Browser::new();
    let page = signed_in(&s, &b, &app).await;
    assert!(page.contains(&format!("user={lin}\n")) && page.contains("acr=aal1"), "{page}");
    let name = s.ops.account("main", "lin").await.unwrap().name.unwrap_or_default();
    assert!(page.contains(&format!("name={name}")), "the name from UserInfo: {page}");

    // a callback it did not start is refused
    let res = Browser::new().http.get(format!("{app}/callback?code=x&state=y")).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    // RP-initiated logout: through the provider's end_session and back, signed out at both
    let (url, _) = at_service(&b, format!("{app}/logout"), &app).await;
    assert!(
        url.starts_with(&format!("{}/end_session?", s.issuer)) && url.contains("id_token_hint="),
        "{url}"
    );
    let step = b.get(&s, &url).await;
    let Step::Left(back) = step else { panic!("back to the application: {step:?}") };
    assert_eq!(back.as_str(), format!("{app}/"));
    let (url, _) = at_service(&b, format!("{app}/"), &app).await;
    assert!(url.starts_with(&s.issuer), "signed out of the application: {url}");
    let (_, _, provider) = b.get(&s, &url).await.page();
    assert!(provider.contains("name=\"password\""), "and of the provider");

    // back-channel logout: an administrator ends the person's sessions; the provider tells the
    // application, which ends its own
    let page = signed_in(&s, &b, &app).await;
    assert!(page.contains(&format!("user={lin}\n")), "{page}");
    s.ops.end_sessions_by("main", &lin, "test").await.unwrap();
    for _ in 0..100 {
        let (url, _) = at_service(&b, format!("{app}/"), &app).await;
        if url.starts_with(&s.issuer) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the Java application kept the session after back-channel logout");
}
