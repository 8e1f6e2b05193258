//! Debian's `libapache2-mod-auth-mellon` as the SAML service provider: Apache protecting a page
//! (`client-examples/saml-apache`), registered from the metadata mellon made for itself. A
//! person opens the page, signs in at the provider through mellon's signed HTTP-Redirect
//! `AuthnRequest`, and mellon accepts the signed response and shows the pairwise NameID and the
//! attributes; logging out at mellon ends the provider's session (mellon verifies the signed
//! `LogoutResponse`), and the page asks for a sign-in again. `scripts/test.sh` installs Apache
//! and mod_auth_mellon.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use idp_proto::ClientRequest;

use crate::browser::{Browser, Step, rp_http};
use crate::cas_interop::{Running, at_service, free_port, root, wait_for_port};
use crate::common::{Backend, TestServer};
use crate::saml::posted;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mod_auth_mellon_signs_in_and_out_through_the_provider() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("lin").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let work = tempfile::tempdir().unwrap();
    let metadata =
        rp_http().get(format!("{}/saml/metadata", s.issuer)).send().await.unwrap().text().await.unwrap();
    let idp_file = work.path().join("provider-metadata.xml");
    std::fs::write(&idp_file, metadata).unwrap();
    let _apache = Running(
        Command::new("sh")
            .arg(root().join("client-examples/saml-apache/run.sh"))
            .env("SAML_IDP_METADATA", &idp_file)
            .env("PORT", port.to_string())
            .env("WORK_DIR", work.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Apache signals its whole process group when it stops: its own, not the tests'
            .process_group(0)
            .spawn()
            .expect("apache2 runs (scripts/test.sh installs Debian apache2 and libapache2-mod-auth-mellon)"),
    );
    wait_for_port(port, "apache2").await;
    let sp_metadata = std::fs::read_to_string(work.path().join("sp/sp.xml")).expect("mellon's metadata");
    let req = ClientRequest {
        name: Some("Apache mod_auth_mellon".into()),
        client_type: Some("saml".into()),
        saml_metadata: Some(sp_metadata),
        scope: Some("openid profile".into()),
        ..ClientRequest::default()
    };
    s.ops.register_client_by("main", &req, None, "test").await.expect("mellon registered from its metadata");

    let b = Browser::new();
    let (login, _) = at_service(&b, format!("{app}/secret/"), &app).await;
    assert!(
        login.starts_with(&format!("{}/saml/sso?SAMLRequest=", s.issuer)) && login.contains("&Signature="),
        "{login}"
    );
    let acs = format!("{app}/secret/mellon/postResponse");
    let (response, relay) = posted(b.authorize(&s, &login, "lin").await, &acs);
    let mut form = vec![("SAMLResponse", response.as_str())];
    if let Some(r) = relay.as_deref() {
        form.push(("RelayState", r));
    }
    let res = b.http.post(&acs).form(&form).send().await.unwrap();
    assert!(
        res.status().is_redirection(),
        "mellon accepts the response: {}",
        res.text().await.unwrap_or_default()
    );
    let (_, page) = at_service(&b, format!("{app}/secret/"), &app).await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains("user=p"), "the pairwise NameID: {text}");
    assert!(text.contains("MELLON_preferred_username=lin"), "{text}");

    // logout at mellon: the provider's session ends, mellon's too
    let (slo, _) = at_service(&b, format!("{app}/secret/mellon/logout?ReturnTo=/"), &app).await;
    assert!(slo.starts_with(&format!("{}/saml/slo?SAMLRequest=", s.issuer)), "{slo}");
    let back = match b.get(&s, &slo).await {
        Step::Left(u) => u,
        other => panic!("back to mellon with the LogoutResponse: {other:?}"),
    };
    assert!(back.as_str().starts_with(&format!("{app}/secret/mellon/logout?SAMLResponse=")), "{back}");
    let res = b.http.get(back.as_str()).send().await.unwrap();
    assert!(res.status().is_redirection(), "mellon accepts the signed LogoutResponse");
    let (again, _) = at_service(&b, format!("{app}/secret/"), &app).await;
    assert!(again.starts_with(&format!("{}/saml/sso", s.issuer)), "signed out at mellon: {again}");
    let step = b.get(&s, &again).await;
    assert!(
        matches!(&step, Step::Page { body, .. } if body.contains("name=\"password\"")),
        "and at the provider"
    );
}
