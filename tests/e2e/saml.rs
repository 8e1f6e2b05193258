//! SAML 2.0 Web Browser SSO against a service provider nobody here wrote: PyPI `pysaml2`
//! (`client-examples/saml-python/sp.py`) registers by its metadata, sends its `AuthnRequest`
//! by HTTP-Redirect (signed and unsigned) and HTTP-POST, and accepts the provider's signed
//! `Response` only after checking the signatures, audience, destination, `InResponseTo` and
//! times; Debian's `xmlsec1` verifies the provider's signatures on its own. Also: the same
//! session reaches an OpenID Connect client; `ForceAuthn`, `IsPassive` (`NoPassive`),
//! `RequestedAuthnContext` (step-up, `NoAuthnContext`), NameID formats (pairwise persistent,
//! transient, refused formats) and IdP-initiated SSO; and refusals: an unknown issuer, an
//! unregistered consumer service, a forged or missing signature, a replayed or stale request.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_proto::ClientRequest;
use serde_json::Value;

use crate::browser::{Browser, Step, extract, rp_http};
use crate::common::{Backend, TestServer};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A pysaml2 service provider with its own key, trusting the provider's metadata.
pub(crate) struct Sp {
    dir: tempfile::TempDir,
    pub entity: String,
    pub acs: String,
    sign: bool,
    /// Its single logout service (HTTP-Redirect), if it has one.
    pub slo: Option<String>,
}

impl Sp {
    pub(crate) async fn new(s: &TestServer, sign: bool) -> Sp {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sp"])
            .arg("-keyout")
            .arg(dir.path().join("sp.key"))
            .arg("-out")
            .arg(dir.path().join("sp.crt"))
            .output()
            .expect("openssl runs")
            .status
            .success();
        assert!(ok, "an SP key");
        let metadata = rp_http().get(format!("{}/saml/metadata", s.issuer)).send().await.unwrap();
        assert_eq!(metadata.headers()["content-type"], "application/samlmetadata+xml");
        std::fs::write(dir.path().join("idp.xml"), metadata.text().await.unwrap()).unwrap();
        Sp {
            dir,
            entity: "http://127.0.0.1:9/sp".into(),
            acs: "http://127.0.0.1:9/acs".into(),
            sign,
            slo: None,
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use std::io::Write;
        let mut child = Command::new("python3")
            .arg(root().join("client-examples/saml-python/sp.py"))
            .args(args)
            .env("SAML_IDP_METADATA", self.dir.path().join("idp.xml"))
            .env("SP_ENTITY", &self.entity)
            .env("SP_ACS", &self.acs)
            .env("SP_KEY", self.dir.path().join("sp.key"))
            .env("SP_CERT", self.dir.path().join("sp.crt"))
            .env("SIGN_REQUESTS", if self.sign { "1" } else { "0" })
            .env("SP_SLO", self.slo.as_deref().unwrap_or_default())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/test.sh installs PyPI pysaml2 and Debian xmlsec1)");
        child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    pub(crate) fn metadata(&self) -> String {
        let (ok, out, err) = self.run(&["metadata"], None);
        assert!(ok, "{err}");
        out
    }

    /// An AuthnRequest: (request id, where the browser goes).
    pub(crate) fn login(&self, extra: &[&str]) -> (String, String) {
        let mut args = vec!["login"];
        args.extend(extra);
        let (ok, out, err) = self.run(&args, None);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        (
            v["request_id"].as_str().unwrap().to_string(),
            v["location"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// The POST binding's form: (request id, action, SAMLRequest, RelayState).
    pub(crate) fn login_post(&self) -> (String, String, String, String) {
        let (ok, out, err) = self.run(&["login", "--binding", "post"], None);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        (s("request_id"), s("action"), s("SAMLRequest"), s("RelayState"))
    }

    /// pysaml2's verdict on a SAMLResponse: the identity, or its refusal.
    pub(crate) fn acs(&self, request_id: Option<&str>, response: &str) -> Result<Value, String> {
        let args: Vec<&str> = ["acs"].into_iter().chain(request_id).collect();
        let (ok, out, err) = self.run(&args, Some(response));
        if ok { Ok(serde_json::from_str(&out).unwrap()) } else { Err(err) }
    }

    /// A signed HTTP-Redirect LogoutRequest for an assertion: where the browser goes.
    pub(crate) fn logout(&self, name_id: &str, session_index: &str) -> String {
        let (ok, out, err) = self.run(&["logout", name_id, session_index], None);
        assert!(ok, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()["location"].as_str().unwrap().to_string()
    }

    /// pysaml2's verdict on a Redirect message of the provider (`logout-request` or
    /// `logout-response`), given the URL it was sent to.
    pub(crate) fn check_redirect(&self, what: &str, url: &str) -> Result<Value, String> {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let (ok, out, err) = self.run(&[what], Some(query));
        if ok { Ok(serde_json::from_str(&out).unwrap()) } else { Err(err) }
    }

    /// `xmlsec1 --verify` of the signature of the `id_attr` element in the file at `path`.
    fn xmlsec_file_verifies(&self, path: &std::path::Path, id_attr: &str) {
        let pem_path = self.idp_pem();
        let out = Command::new("xmlsec1")
            .args(["--verify", "--trusted-pem"])
            .arg(&pem_path)
            .args(["--id-attr:ID", id_attr])
            .arg(path)
            .output()
            .expect("xmlsec1 runs");
        assert!(out.status.success(), "xmlsec1 {id_attr}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The provider's certificate from its metadata, as a PEM file.
    fn idp_pem(&self) -> std::path::PathBuf {
        let metadata = std::fs::read_to_string(self.dir.path().join("idp.xml")).unwrap();
        let cert = metadata.split("<ds:X509Certificate>").nth(1).unwrap().split('<').next().unwrap();
        let pem = format!("-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n");
        let pem_path = self.dir.path().join("idp.pem");
        std::fs::write(&pem_path, pem).unwrap();
        pem_path
    }

    /// `xmlsec1 --verify` of the assertion's and the response's signatures with the
    /// provider's certificate from its metadata.
    fn xmlsec_verifies(&self, response: &str) {
        let xml = STANDARD.decode(response).unwrap();
        let path = self.dir.path().join("response.xml");
        std::fs::write(&path, &xml).unwrap();
        let pem_path = self.idp_pem();
        for (id_attr, node) in [
            ("urn:oasis:names:tc:SAML:2.0:protocol:Response", None),
            (
                "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                Some("//*[local-name()='Assertion']/*[local-name()='Signature']"),
            ),
        ] {
            let mut cmd = Command::new("xmlsec1");
            cmd.args(["--verify", "--trusted-pem"]).arg(&pem_path).args(["--id-attr:ID", id_attr]);
            if let Some(n) = node {
                cmd.args(["--node-xpath", n]);
            }
            let out =
                cmd.arg(&path).output().expect("xmlsec1 runs (scripts/test.sh installs Debian xmlsec1)");
            assert!(out.status.success(), "xmlsec1 {id_attr}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// Registers `sp` from its metadata, as an administrator would.
pub(crate) async fn register(s: &TestServer, sp: &Sp, scope: &str, extra: ClientRequest) -> String {
    let req = ClientRequest {
        name: Some("社保业务系统".into()),
        client_type: Some("saml".into()),
        saml_metadata: Some(sp.metadata()),
        scope: Some(scope.into()),
        ..extra
    };
    s.ops.register_client_by("main", &req, None, "test").await.expect("SP registered").0.client_id
}

/// The SAMLResponse (and RelayState) the provider's auto-submitting form carries to `acs`.
pub(crate) fn posted(step: Step, acs: &str) -> (String, Option<String>) {
    let (_, status, page) = step.page();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("action=\"{acs}\"")), "a form to the ACS: {page}");
    let unescape = |v: String| {
        v.replace("&#x2b;", "+")
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "=")
            .replace("&#43;", "+")
            .replace("&#47;", "/")
            .replace("&#61;", "=")
    };
    (unescape(extract(&page, "SAMLResponse").expect(&page)), extract(&page, "RelayState").map(unescape))
}

async fn sso(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let lin = s.add_account("lin").await;
    let sp = Sp::new(&s, true).await;
    let id = register(
        &s,
        &sp,
        "openid profile",
        ClientRequest { idp_initiated: Some(true), ..ClientRequest::default() },
    )
    .await;
    let b = Browser::new();

    // SP-initiated, signed HTTP-Redirect request: sign-in, consent, a signed Response
    let (request, location) = sp.login(&[]);
    assert!(
        location.starts_with(&format!("{}/saml/sso?SAMLRequest=", s.issuer))
            && location.contains("&Signature=")
    );
    let step = b.authorize(&s, &location, "lin").await;
    let (response, relay) = posted(step, &sp.acs);
    assert_eq!(relay.as_deref(), Some("/after-login"));
    let got = sp.acs(Some(&request), &response).expect("pysaml2 accepts the response");
    sp.xmlsec_verifies(&response);
    let persistent = got["name_id"].as_str().unwrap().to_string();
    assert_eq!(got["name_id_format"], "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    assert!(persistent.starts_with('p') && persistent != lin, "pairwise: {persistent}");
    assert_eq!(got["attributes"]["preferred_username"], serde_json::json!(["lin"]), "{got}");
    assert_eq!(got["authn_context"], "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
    assert_eq!(got["issuer"], format!("{}/saml", s.issuer));
    // it answers that request and no other
    assert!(sp.acs(Some("_another-request"), &response).is_err(), "InResponseTo is checked");

    // SSO: a second request goes straight back, the same pairwise NameID
    let (request, location) = sp.login(&[]);
    let (response, _) = posted(b.get(&s, &location).await, &sp.acs);
    let again = sp.acs(Some(&request), &response).unwrap();
    assert_eq!(again["name_id"], persistent.as_str(), "stable");
    // a transient NameID on request
    let (request, location) = sp.login(&["--nameid", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"]);
    let (response, _) = posted(b.get(&s, &location).await, &sp.acs);
    let t = sp.acs(Some(&request), &response).unwrap();
    assert!(t["name_id"].as_str().unwrap().starts_with('_') && t["name_id"] != persistent.as_str());
    // an email NameID the registration does not allow: InvalidNameIDPolicy
    let (request, location) =
        sp.login(&["--nameid", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"]);
    let (response, _) = posted(b.get(&s, &location).await, &sp.acs);
    let refused = sp.acs(Some(&request), &response).unwrap_err();
    assert!(refused.contains("InvalidNameIDPolicy"), "{refused}");

    // ForceAuthn: the sign-in page again
    let (request, location) = sp.login(&["--force"]);
    let (_, _, page) = b.get(&s, &location).await.page();
    assert!(page.contains("name=\"password\""), "{page}");
    let step = b.sign_in(&s, &page, "lin", crate::common::PASSWORD).await;
    assert!(sp.acs(Some(&request), &posted(step, &sp.acs).0).is_ok());
    // a RequestedAuthnContext no sign-in here can meet: NoAuthnContext
    let (request, location) = sp.login(&["--context", "urn:example:retina-scan"]);
    let (response, _) = posted(b.get(&s, &location).await, &sp.acs);
    assert!(sp.acs(Some(&request), &response).unwrap_err().contains("NoAuthnContext"));
    // two factors asked for: this account has none; the offer to set one up, declined:
    // NoAuthnContext
    let (request, location) = sp.login(&["--context", "https://refeds.org/profile/mfa"]);
    let offer = b.get(&s, &location).await;
    let (response, _) = posted(b.decline_set_up(&s, offer).await, &sp.acs);
    assert!(sp.acs(Some(&request), &response).unwrap_err().contains("NoAuthnContext"));

    // IsPassive without a session: NoPassive, no page
    let stranger = Browser::new();
    let (request, location) = sp.login(&["--passive"]);
    let (response, _) = posted(stranger.get(&s, &location).await, &sp.acs);
    assert!(sp.acs(Some(&request), &response).unwrap_err().contains("NoPassive"));
    // the HTTP-POST binding: on to the Redirect encoding (for the session cookie), then SSO
    let nosign = Sp { sign: false, ..Sp::new(&s, false).await };
    let nosign =
        Sp { entity: "http://127.0.0.1:9/sp2".into(), acs: "http://127.0.0.1:9/acs2".into(), ..nosign };
    register(&s, &nosign, "openid", ClientRequest::default()).await;
    let (request, action, saml_request, relay) = nosign.login_post();
    assert_eq!(action, format!("{}/saml/sso", s.issuer));
    let step = b.post_form(&s, &action, &[("SAMLRequest", &saml_request), ("RelayState", &relay)]).await;
    let step = match step {
        Step::Page { body, .. } if body.contains("value=\"allow\"") => b.consent(&s, &body, true).await,
        other => other,
    };
    let (response, _) = posted(step, &nosign.acs);
    assert!(nosign.acs(Some(&request), &response).is_ok());

    // IdP-initiated: unsolicited, no InResponseTo, to the default consumer service
    let init =
        format!("{}/saml/init?sp={}&RelayState=%2Fhome", s.issuer, crate::oidc_flow::urlencode(&sp.entity));
    let (response, relay) = posted(b.get(&s, &init).await, &sp.acs);
    assert_eq!(relay.as_deref(), Some("/home"));
    let unsolicited = sp.acs(None, &response).expect("accepted as unsolicited");
    assert_eq!(unsolicited["name_id"], persistent.as_str());

    // one session: an OpenID Connect client signs in without the sign-in page
    let (oidc, _) = s.add_client(idp_core::model::ClientType::Web, Default::default()).await;
    let (_, _, page) = b.get(&s, &crate::common::auth_url(&s.issuer, &oidc, "")).await.page();
    assert!(page.contains("value=\"allow\"") && !page.contains("name=\"password\""), "{page}");
    // the account pages list the service provider among the applications allowed
    let grants = s.ops.store.account_grants(&s.tenant_id().await, &lin).await.unwrap();
    assert!(grants.iter().any(|g| g.client_id == id));
}

crate::both_backends!(a_saml_service_provider_signs_in_with_pysaml2, sso);

/// Signs in at `sp` through the pages: its NameID and SessionIndex.
async fn signed_in(s: &TestServer, sp: &Sp, b: &Browser) -> (String, String) {
    signed_in_as(s, sp, b, "lin").await
}

async fn signed_in_as(s: &TestServer, sp: &Sp, b: &Browser, login: &str) -> (String, String) {
    let (request, location) = sp.login(&[]);
    let (response, _) = posted(b.authorize(s, &location, login).await, &sp.acs);
    let got = sp.acs(Some(&request), &response).unwrap();
    (got["name_id"].as_str().unwrap().to_string(), got["session_index"].as_str().unwrap().to_string())
}

/// Single logout both ways: a logout at the provider reaches the service provider by a signed
/// Redirect `LogoutRequest` in the signed-out page (naming its NameID and SessionIndex); the
/// service provider's own signed `LogoutRequest` ends the session everywhere (an OpenID
/// Connect client of the same session is signed out too) and gets a signed `LogoutResponse`
/// with its RelayState; an unsigned or replayed one gets a page.
async fn single_logout(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    let sp = Sp { slo: Some("http://127.0.0.1:9/slo".into()), ..Sp::new(&s, true).await };
    register(&s, &sp, "openid", ClientRequest::default()).await;
    let (oidc, _) = s.add_client(idp_core::model::ClientType::Web, Default::default()).await;
    let b = Browser::new();
    let (name_id, index) = signed_in(&s, &sp, &b).await;
    assert!(index.starts_with('_'), "a SessionIndex for single logout");

    // logout at the provider (OpenID Connect's end_session, confirmed): the frame tells the SP
    let (_, _, page) = b.get(&s, &format!("{}/end_session", s.issuer)).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    let action = crate::browser::form_action(&page);
    let (_, _, signed_out) = b.post_form(&s, &action, &[("csrf", &csrf), ("decision", "yes")]).await.page();
    let frame = signed_out
        .split("src=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&"))
        .find(|u| u.starts_with("http://127.0.0.1:9/slo?SAMLRequest="))
        .unwrap_or_else(|| panic!("a frame for the SP: {signed_out}"));
    let told = sp.check_redirect("logout-request", &frame).expect("pysaml2 verifies the LogoutRequest");
    assert_eq!(told["name_id"], name_id.as_str());
    assert_eq!(told["session_indexes"], serde_json::json!([index]));

    // SP-initiated: the session ends everywhere and the SP gets a signed LogoutResponse
    let (name_id, index) = signed_in(&s, &sp, &b).await;
    let (_, _, page) = b.get(&s, &crate::common::auth_url(&s.issuer, &oidc, "")).await.page();
    assert!(b.consent(&s, &page, true).await.callback().contains_key("code"));
    let location = sp.logout(&name_id, &index);
    let back = b.get(&s, &location).await.left();
    assert!(back.as_str().starts_with("http://127.0.0.1:9/slo?SAMLResponse="), "{back}");
    let answer =
        sp.check_redirect("logout-response", back.as_str()).expect("pysaml2 verifies the LogoutResponse");
    assert_eq!(answer["status"], "urn:oasis:names:tc:SAML:2.0:status:Success");
    assert_eq!(answer["relay_state"], "/after-logout");
    let cb = b.get(&s, &crate::common::auth_url(&s.issuer, &oidc, "&prompt=none")).await.callback();
    assert_eq!(cb.get("error").map(String::as_str), Some("login_required"), "signed out of OIDC too");
    // the same request again, and one without its signature: a page
    let again = b.get(&s, &location).await;
    assert!(matches!(again, Step::Page { status: 400, .. }), "{again:?}");
    let unsigned = location.split("&SigAlg=").next().unwrap().to_string();
    assert!(matches!(b.get(&s, &unsigned).await, Step::Page { status: 400, .. }));

    // someone else's logout link opened in this browser ends that person's session only
    s.add_account("wu").await;
    let other = Browser::new();
    let (wu_name, wu_index) = signed_in_as(&s, &sp, &other, "wu").await;
    let _ = signed_in(&s, &sp, &b).await;
    let back = b.get(&s, &sp.logout(&wu_name, &wu_index)).await.left();
    assert!(back.as_str().starts_with("http://127.0.0.1:9/slo?SAMLResponse="), "{back}");
    let mine = b.get(&s, &crate::common::auth_url(&s.issuer, &oidc, "&prompt=none")).await.callback();
    assert!(mine.contains_key("code"), "this browser's own session lives on: {mine:?}");
    let (_, location) = sp.login(&["--passive"]);
    let (response, _) = posted(other.get(&s, &location).await, &sp.acs);
    assert!(sp.acs(None, &response).unwrap_err().contains("NoPassive"), "wu's session ended");
}

crate::both_backends!(saml_single_logout_both_ways, single_logout);

/// Back-channel single logout (SOAP binding): a service provider that registered a SOAP logout
/// service receives a signed `LogoutRequest` (xmlsec1 verifies it) when an administrator ends
/// the person's sessions, and the delivery is recorded as delivered once it answers Success.
async fn soap_logout(backend: Backend) {
    use std::sync::{Arc, Mutex};
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    async fn take(
        axum::extract::State(got): axum::extract::State<Arc<Mutex<Vec<String>>>>,
        body: String,
    ) -> String {
        got.lock().unwrap().push(body);
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body>\
         <samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_x\" Version=\"2.0\" \
         IssueInstant=\"2026-01-01T00:00:00Z\"><samlp:Status><samlp:StatusCode \
         Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>\
         </SOAP-ENV:Body></SOAP-ENV:Envelope>"
            .into()
    }
    let app = axum::Router::new().route("/soap", axum::routing::post(take)).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let soap = format!("http://{}/soap", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let sp = Sp::new(&s, true).await;
    let metadata = sp.metadata();
    let at = metadata.find(":SPSSODescriptor").unwrap();
    let prefix_start = metadata[..at].rfind('<').unwrap() + 1;
    let prefix = &metadata[prefix_start..at];
    let open_end = at + metadata[at..].find('>').unwrap() + 1;
    let with_soap = format!(
        "{}<{prefix}:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\" Location=\"{soap}\"/>{}",
        &metadata[..open_end],
        &metadata[open_end..]
    );
    let req = ClientRequest {
        name: Some("社保".into()),
        client_type: Some("saml".into()),
        saml_metadata: Some(with_soap),
        scope: Some("openid".into()),
        ..ClientRequest::default()
    };
    let id = s.ops.register_client_by("main", &req, None, "test").await.unwrap().0.client_id;
    let b = Browser::new();
    let (name_id, index) = signed_in(&s, &sp, &b).await;
    // an administrator ends the person's sessions: no browser present, the SOAP message goes
    s.ops.end_sessions_by("main", &s.ops.account("main", "lin").await.unwrap().id, "test").await.unwrap();
    let mut body = String::new();
    for _ in 0..50 {
        if let Some(b) = got.lock().unwrap().first() {
            body = b.clone();
        }
        if !body.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        body.contains(&format!(">{name_id}</saml:NameID>"))
            && body.contains(&format!(">{index}</samlp:SessionIndex>")),
        "{body}"
    );
    let path = sp.dir.path().join("soap.xml");
    std::fs::write(&path, &body).unwrap();
    sp.xmlsec_file_verifies(&path, "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest");
    let mut delivered = false;
    for _ in 0..50 {
        let ds = s.ops.store.logout_deliveries(&s.tenant_id().await, Some(&id), 10).await.unwrap();
        if ds.iter().any(|d| d.status == "delivered") {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "recorded as delivered");
}

crate::both_backends!(saml_back_channel_logout_by_soap, soap_logout);

/// An encrypted assertion (AES-256-GCM, the key wrapped with RSA-OAEP for the service
/// provider's certificate from its metadata): pysaml2 decrypts it and checks the signature
/// inside; nothing of the person is readable in the Response itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_encrypted_assertion_is_read_by_pysaml2_alone() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("lin").await;
    let sp = Sp::new(&s, true).await;
    register(
        &s,
        &sp,
        "openid profile",
        ClientRequest { encrypt_assertions: Some(true), ..ClientRequest::default() },
    )
    .await;
    let b = Browser::new();
    let (request, location) = sp.login(&[]);
    let (response, _) = posted(b.authorize(&s, &location, "lin").await, &sp.acs);
    let xml = String::from_utf8(STANDARD.decode(&response).unwrap()).unwrap();
    assert!(xml.contains("<saml:EncryptedAssertion") && !xml.contains("preferred_username"), "{xml}");
    let got = sp.acs(Some(&request), &response).expect("pysaml2 decrypts and accepts it");
    assert_eq!(got["attributes"]["preferred_username"], serde_json::json!(["lin"]));
}

/// Requests that get a page and no redirect: an unknown issuer, an unregistered consumer
/// service, a missing or forged signature where the registration demands one, a replay, a
/// stale request, a DTD; and administration refusals.
async fn refusals(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    let sp = Sp::new(&s, true).await;
    register(&s, &sp, "openid", ClientRequest::default()).await;
    let b = Browser::new();
    let page_400 = |step: Step| match step {
        Step::Page { status, body, .. } => assert_eq!(status, 400, "{body}"),
        Step::Left(u) => panic!("redirected to {u}"),
    };
    // the same entity ID twice, and metadata that is not SAML metadata
    let dup = ClientRequest {
        name: Some("x".into()),
        client_type: Some("saml".into()),
        saml_metadata: Some(sp.metadata()),
        ..Default::default()
    };
    assert!(
        s.ops
            .register_client_by("main", &dup, None, "test")
            .await
            .unwrap_err()
            .to_string()
            .contains("registered")
    );
    let bad = ClientRequest { saml_metadata: Some("<x/>".into()), ..dup.clone() };
    assert!(s.ops.register_client_by("main", &bad, None, "test").await.is_err());

    let (_, location) = sp.login(&[]);
    // replayed: the first use works, the second is refused
    let first = b.authorize(&s, &location, "lin").await;
    assert!(matches!(first, Step::Page { status: 200, .. }));
    page_400(b.get(&s, &location).await);
    // a forged signature
    let (_, location) = sp.login(&[]);
    let forged = location.replace("&Signature=", "&Signature=AAAA");
    page_400(b.get(&s, &forged).await);
    // the signature left out, where the registration demands it
    let unsigned = location.split("&SigAlg=").next().unwrap().to_string();
    page_400(b.get(&s, &unsigned).await);
    // an unknown issuer
    let other = Sp { entity: "http://127.0.0.1:9/unknown".into(), ..Sp::new(&s, true).await };
    let (_, location) = other.login(&[]);
    page_400(b.get(&s, &location).await);
    // garbage, a DTD, a stale request
    page_400(b.get(&s, &format!("{}/saml/sso?SAMLRequest=%%%", s.issuer)).await);
    let dtd = "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>";
    let deflated = STANDARD.encode(miniz_oxide_deflate(dtd));
    page_400(
        b.get(&s, &format!("{}/saml/sso?SAMLRequest={}", s.issuer, crate::oidc_flow::urlencode(&deflated)))
            .await,
    );
    // IdP-initiated sign-ins only for service providers registered to take them
    let init = format!("{}/saml/init?sp={}", s.issuer, crate::oidc_flow::urlencode(&sp.entity));
    page_400(b.get(&s, &init).await);
    let (_, location) = sp.login(&[]);
    s.env.advance(3600);
    page_400(b.get(&s, &location).await);
}

pub(crate) fn miniz_oxide_deflate(xml: &str) -> Vec<u8> {
    // the test's own raw DEFLATE, through python (no compression crate in the tests)
    let out = Command::new("python3")
        .args(["-c", "import sys,zlib; c=zlib.compressobj(9, zlib.DEFLATED, -15); sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read())+c.flush())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(xml.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    out.stdout
}

crate::both_backends!(a_saml_request_that_cannot_be_trusted_gets_a_page, refusals);
