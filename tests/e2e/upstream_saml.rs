//! Identity brokering through a SAML 2.0 identity provider nobody here wrote: PyPI `pysaml2`
//! with Debian's `xmlsec1` (`tests/upstream/saml_idp.py`) as the national platform's SAML
//! door. The provider registers it by its metadata; the identity provider reads the
//! provider's metadata for it and checks the signature of each `AuthnRequest`; its signed (and
//! encrypted) assertions are checked here, the person's verified name and ID number raise the
//! real-name level by the operator's rule on the `AuthnContextClassRef`, and a department app
//! sees `verified_claims` naming that evidence. Then the refusals: an unsigned, altered,
//! wrapped, transient, misaddressed, CBC-encrypted, replayed or carried-off response.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::{ClientType, LevelRule, SamlUpstream, UpstreamAuth, UpstreamSettings};
use idp_server::ops::upstreams::{NewUpstream, apply_saml_metadata};
use serde_json::{Value, json};

use crate::browser::{Browser, Step, rp_http};
use crate::common::{Backend, TestServer};
use crate::rp::{id_token, redeem};
use crate::upstream_signin::{app, asking_verified_claims, consent_if_asked, settle, upstream_link};

const NUMBER: &str = "220102199003070013";
const X509: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509";
const PPT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
const SSO: &str = "https://idp.gov.example/saml/sso";

/// pysaml2 as the identity provider, with its own key.
struct Idp {
    dir: tempfile::TempDir,
}

impl Idp {
    fn new() -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=idp"])
            .arg("-keyout")
            .arg(dir.path().join("idp.key"))
            .arg("-out")
            .arg(dir.path().join("idp.crt"))
            .output()
            .expect("openssl runs")
            .status
            .success();
        assert!(ok, "an identity provider key");
        Idp { dir }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Result<String, String> {
        use std::io::Write;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("upstream/saml_idp.py");
        let sp = self.dir.path().join("sp.xml");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .env("IDP_ENTITY", "https://idp.gov.example/saml")
            .env("IDP_SSO", SSO)
            .env("IDP_SLO", "https://idp.gov.example/saml/slo")
            .env("IDP_KEY", self.dir.path().join("idp.key"))
            .env("IDP_CERT", self.dir.path().join("idp.crt"))
            .env("SP_METADATA", if sp.exists() { sp.as_os_str() } else { "".as_ref() })
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/test.sh installs PyPI pysaml2 and Debian xmlsec1)");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.chars().rev().take(600).collect::<Vec<_>>().into_iter().rev().collect();
        if out.status.success() { Ok(text) } else { Err(tail) }
    }

    fn metadata(&self) -> String {
        self.run(&["metadata"], "").expect("its metadata")
    }

    /// pysaml2's answer to the request the browser was sent with: the POST form's fields.
    fn sso(&self, url: &url::Url, args: &[&str]) -> Value {
        let mut all = vec!["sso"];
        all.extend(args);
        let out = self.run(&all, url.query().unwrap_or_default()).unwrap_or_else(|e| panic!("pysaml2: {e}"));
        serde_json::from_str(&out).unwrap()
    }
}

fn settings() -> UpstreamSettings {
    UpstreamSettings {
        name_zh: "国家政务服务平台".into(),
        levels: vec![
            LevelRule { trust_framework: Some("saml".into()), level: 2, ..Default::default() },
            LevelRule {
                trust_framework: Some("saml".into()),
                acr: Some(X509.into()),
                level: 3,
                ..Default::default()
            },
        ],
        acr_values: vec![X509.into()],
        create_accounts: true,
        saml: Some(SamlUpstream {
            // pysaml2 names cn by its OID, as SAML identity providers commonly do
            attributes: [
                ("name".to_string(), "urn:oid:2.5.4.3".to_string()),
                ("id_number".to_string(), "idNumber".to_string()),
            ]
            .into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The upstream `gov` from pysaml2's metadata; this provider's metadata handed to pysaml2.
async fn add(s: &TestServer, idp: &Idp, settings: UpstreamSettings) {
    let mut n = NewUpstream {
        id: "gov".into(),
        issuer: String::new(),
        client_id: String::new(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: None,
        settings,
    };
    apply_saml_metadata(&mut n, &idp.metadata()).unwrap();
    let u = s.ops.add_upstream_by("main", n, "test").await.unwrap();
    let info = s.ops.upstream_info("main", &u);
    assert_eq!(info.protocol, "saml");
    let url = info.sp_metadata.unwrap();
    let res = rp_http().get(&url).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/samlmetadata+xml");
    let xml = res.text().await.unwrap();
    assert!(xml.contains("use=\"encryption\"") && xml.contains("AuthnRequestsSigned=\"true\""), "{xml}");
    std::fs::write(idp.dir.path().join("sp.xml"), xml).unwrap();
    settle().await;
}

/// From the app's sign-in page to the identity provider: the URL the browser is sent to.
async fn to_idp(b: &Browser, s: &TestServer, url: &str) -> url::Url {
    let (_, _, login) = b.get(s, url).await.page();
    let href = upstream_link(&login, "gov").unwrap_or_else(|| panic!("no upstream link: {login}"));
    let to = b.get(s, &format!("{}{href}", s.base)).await.left();
    assert!(to.as_str().starts_with(SSO), "{to}");
    let q: Vec<(String, String)> = to.query_pairs().into_owned().collect();
    assert!(q.iter().any(|(k, _)| k == "Signature"), "the AuthnRequest is signed: {to}");
    to
}

/// Posts the identity provider's form (as its page's script would) to the consumer service.
async fn post(b: &Browser, s: &TestServer, form: &Value) -> Step {
    let f = |k: &str| form[k].as_str().unwrap_or_default().to_string();
    b.post_form(s, &f("action"), &[("SAMLResponse", &f("SAMLResponse")), ("RelayState", &f("RelayState"))])
        .await
}

fn person(class: &str) -> Vec<String> {
    ["--attr", "cn=艾达", "--attr", &format!("idNumber={NUMBER}"), "--class", class]
        .map(String::from)
        .to_vec()
}

/// The response's XML changed by `f`, encoded again.
fn spoil(form: &Value, f: impl Fn(String) -> String) -> Value {
    let xml = String::from_utf8(STANDARD.decode(form["SAMLResponse"].as_str().unwrap()).unwrap()).unwrap();
    let mut out = form.clone();
    out["SAMLResponse"] = Value::String(STANDARD.encode(f(xml)));
    out
}

async fn signs_in_through_pysaml2(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let idp = Idp::new();
    add(&s, &idp, settings()).await;
    let (client, secret) = s.add_client(ClientType::Web, app()).await;
    let secret = secret.unwrap();
    let url = asking_verified_claims(&s, &client);

    // encrypted (AES-256-GCM for this provider's key) and signed: level 3 by the X509 rule
    let b = Browser::new();
    let to = to_idp(&b, &s, &url).await;
    let args: Vec<String> = [person(X509), vec!["--encrypt".into(), "gcm".into()]].concat();
    let form = idp.sso(&to, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let xml = String::from_utf8(STANDARD.decode(form["SAMLResponse"].as_str().unwrap()).unwrap()).unwrap();
    assert!(xml.contains("EncryptedAssertion") && !xml.contains("艾达"), "encrypted: {xml}");
    let step = consent_if_asked(&b, &s, post(&b, &s, &form).await).await;
    let cb = step.callback();
    let id = id_token(&redeem(&s, &client, &secret, &cb["code"]).await);
    assert_eq!(id["amr"], json!(["fed"]), "{id}");
    assert_eq!(id["realname_level"], 3, "X509 with a verified identity → level 3: {id}");
    let v = &id["verified_claims"];
    assert_eq!(v["claims"]["name"], "艾达", "{id}");
    assert_eq!(v["verification"]["evidence"][0]["attestation"]["voucher"]["organization"], "gov", "{id}");
    let account = id["sub"].as_str().unwrap().to_string();
    let links = s.ops.store.upstream_links(&account).await.unwrap();
    assert_eq!((links[0].subject.as_str(), links[0].via.as_str()), ("citizen-1", "created"));

    // the same response again: its RelayState was taken
    let (_, status, page) = post(&b, &s, &form).await.page();
    assert_eq!(status, 400, "{page}");

    // signed only on the response, not encrypted: the same account, level stays 3 (raised,
    // never lowered) though this sign-in's class gives 2
    let b = Browser::new();
    let to = to_idp(&b, &s, &url).await;
    let args: Vec<String> =
        [person(PPT), vec!["--sign-response".into(), "--no-sign-assertion".into()]].concat();
    let form = idp.sso(&to, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let cb = consent_if_asked(&b, &s, post(&b, &s, &form).await).await.callback();
    let tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let id = id_token(&tokens);
    assert_eq!(id["sub"], account.as_str());
    assert_eq!(id["realname_level"], 3, "{id}");

    // her logout here goes on to the identity provider (a signed LogoutRequest for the NameID
    // and SessionIndex it asserted) and comes back to the app's post-logout page
    let bye = serde_urlencoded::to_string([
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
        ("post_logout_redirect_uri", crate::common::POST_LOGOUT),
        ("state", "bye-1"),
    ])
    .unwrap();
    let out = b.get(&s, &format!("{}/end_session?{bye}", s.issuer)).await.left();
    assert!(out.as_str().starts_with("https://idp.gov.example/saml/slo?SAMLRequest="), "{out}");
    let told: Value =
        serde_json::from_str(&idp.run(&["logout-request"], out.query().unwrap()).unwrap()).unwrap();
    assert_eq!(told["name_id"], "citizen-1");
    assert_eq!(told["name_qualifier"], "https://idp.gov.example/saml");
    assert_eq!(told["session_indexes"].as_array().unwrap().len(), 1, "{told}");
    let done = b.get(&s, told["location"].as_str().unwrap()).await.left();
    assert_eq!(done.as_str(), format!("{}?state=bye-1", crate::common::POST_LOGOUT));
    let silent = b.get(&s, &crate::common::auth_url(&s.issuer, &client, "&prompt=none")).await.callback();
    assert_eq!(silent["error"], "login_required", "signed out");

    // in again; then the identity provider's own logout ends the session here
    let tenant = s.tenant_id().await;
    let before = s.ops.store.upstream_sessions_of(&tenant, "gov", Some("citizen-1"), None).await.unwrap();
    let to = to_idp(&b, &s, &url).await;
    let form = idp.sso(&to, &person(PPT).iter().map(String::as_str).collect::<Vec<_>>());
    consent_if_asked(&b, &s, post(&b, &s, &form).await).await.callback();
    let rows = s.ops.store.upstream_sessions_of(&tenant, "gov", Some("citizen-1"), None).await.unwrap();
    // (rows of ended sessions stay until the sessions are purged)
    let newest = rows.iter().find(|r| !before.contains(r)).unwrap();
    let index = newest.upstream_sid.clone().expect("the SessionIndex kept");
    let other_index: Value =
        serde_json::from_str(&idp.run(&["logout", "citizen-1", "another-index"], "").unwrap()).unwrap();
    let (status, _) = get_status(other_index["location"].as_str().unwrap()).await;
    assert_eq!(status, 303, "answered");
    let silent = b.get(&s, &crate::common::auth_url(&s.issuer, &client, "&prompt=none")).await.callback();
    assert!(silent.contains_key("code"), "another SessionIndex ends nothing: {silent:?}");
    let logout: Value =
        serde_json::from_str(&idp.run(&["logout", "citizen-1", &index], "").unwrap()).unwrap();
    let location = logout["location"].as_str().unwrap();
    // unsigned, or signed by someone else: refused
    let unsigned = location.split("&SigAlg=").next().unwrap();
    assert_eq!(get_status(unsigned).await.0, 400);
    let (status, answer) = get_status(location).await;
    assert_eq!(status, 303);
    assert!(answer.starts_with("https://idp.gov.example/saml/slo?SAMLResponse="), "{answer}");
    let read: Value =
        serde_json::from_str(&idp.run(&["logout-response"], answer.split_once('?').unwrap().1).unwrap())
            .unwrap();
    assert_eq!(read["status"], "urn:oasis:names:tc:SAML:2.0:status:Success");
    assert_eq!((read["relay_state"].as_str(), read["signed"].as_bool()), (Some("idp-relay"), Some(true)));
    let silent = b.get(&s, &crate::common::auth_url(&s.issuer, &client, "&prompt=none")).await.callback();
    assert_eq!(silent["error"], "login_required", "the identity provider's logout ended the session");
    // the same request again is a replay
    assert_eq!(get_status(location).await.0, 400);
    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "upstream_logout" && e.detail["sessions"] == 1));
}

/// A GET without cookies: its status and Location.
async fn get_status(url: &str) -> (u16, String) {
    let res = rp_http().get(url).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), location)
}
crate::both_backends!(a_citizen_signs_in_through_a_saml_identity_provider, signs_in_through_pysaml2);

/// Each spoiled response back at the sign-in page, audited with its reason.
async fn refused(b: &Browser, s: &TestServer, form: &Value, reason: &str) {
    let (_, status, page) = post(b, s, form).await.page();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"password\""), "back at the sign-in page: {page}");
    let tenant = s.tenant_id().await;
    let events = s.ops.store.audit_events(&tenant, 50).await.unwrap();
    let last = events.iter().find(|e| e.kind == "upstream_failure").expect("an upstream_failure");
    assert!(last.detail["reason"].as_str().unwrap().contains(reason), "{reason}: {}", last.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spoiled_saml_responses_are_refused() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let idp = Idp::new();
    add(&s, &idp, settings()).await;
    let (client, _) = s.add_client(ClientType::Web, app()).await;
    let url = asking_verified_claims(&s, &client);
    let answer = |b: Browser, extra: &'static [&'static str]| {
        let (s, idp, url) = (&s, &idp, &url);
        async move {
            let to = to_idp(&b, s, url).await;
            let args: Vec<String> = [person(PPT), extra.iter().map(|a| a.to_string()).collect()].concat();
            (b, idp.sso(&to, &args.iter().map(String::as_str).collect::<Vec<_>>()))
        }
    };

    let (b, form) = answer(Browser::new(), &["--no-sign-assertion"]).await;
    refused(&b, &s, &form, "neither the response nor its assertion is signed").await;

    let (b, form) = answer(Browser::new(), &[]).await;
    let changed = spoil(&form, |x| x.replace(">citizen-1<", ">citizen-2<"));
    refused(&b, &s, &changed, "changed after it was signed").await;

    // signature wrapping: the signed assertion moved into the response's Extensions, a forged
    // one in its place
    let (b, form) = answer(Browser::new(), &[]).await;
    let wrapped = spoil(&form, |x| {
        // pysaml2 writes ns0 for the protocol, ns1 for assertions, ns2 for signatures
        let start = x.find("<ns1:Assertion").unwrap();
        let end = x.find("</ns1:Assertion>").unwrap() + "</ns1:Assertion>".len();
        let signed = x[start..end].to_string();
        let forged = signed.replace(">citizen-1<", ">citizen-2<");
        let forged = forged.replacen(" ID=\"", " ID=\"forged", 1);
        let without_sig = {
            let a = forged.find("<ns2:Signature").unwrap();
            let z = forged.find("</ns2:Signature>").unwrap() + "</ns2:Signature>".len();
            format!("{}{}", &forged[..a], &forged[z..])
        };
        let ext = format!("<ns0:Extensions>{signed}</ns0:Extensions>");
        let status = x.find("<ns0:Status").unwrap();
        let mut out = x.clone();
        out.replace_range(start..end, &without_sig);
        out.insert_str(status, &ext);
        out
    });
    refused(&b, &s, &wrapped, "neither the response nor its assertion is signed").await;

    let (b, form) = answer(Browser::new(), &[]).await;
    let commented = spoil(&form, |x| x.replacen(">citizen-1<", ">citizen<!---->-1<", 1));
    refused(&b, &s, &commented, "comments").await;

    let (b, form) = answer(Browser::new(), &[]).await;
    let dtd = spoil(&form, |x| format!("<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{x}"));
    refused(&b, &s, &dtd, "not well-formed").await;

    let (b, form) = answer(Browser::new(), &["--transient"]).await;
    refused(&b, &s, &form, "transient").await;

    let (b, form) = answer(Browser::new(), &["--audience", "https://other.example/sp"]).await;
    refused(&b, &s, &form, "another audience").await;

    let (b, form) = answer(Browser::new(), &["--encrypt", "cbc"]).await;
    refused(&b, &s, &form, "AES-CBC").await;

    // an answer to another sign-in's request (its RelayState with this one's response)
    let (b1, form1) = answer(Browser::new(), &[]).await;
    let (_b2, form2) = answer(Browser::new(), &[]).await;
    let mixed = json!({"action": form1["action"], "RelayState": form1["RelayState"], "SAMLResponse": form2["SAMLResponse"]});
    refused(&b1, &s, &mixed, "does not answer this provider's request").await;

    // a LogoutResponse that does not confirm the identity provider's logout: signed out here,
    // and told so in plain words
    let refusal = idp_core::saml::logout::response("https://idp.gov.example/saml", "x", "_r", false, "_x", 0);
    let slo = format!("{}/upstream/gov/saml/slo", s.issuer);
    let url =
        idp_core::saml::logout::redirect_url_signed_by(&slo, "SAMLResponse", &refusal, None, None).unwrap();
    let res = rp_http().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("身份提供方未确认"), "told");

    // the response carried to another browser: checked, but nobody is signed in there
    let (_b, form) = answer(Browser::new(), &[]).await;
    let thief = Browser::new();
    let (_, status, page) = post(&thief, &s, &form).await.page();
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("本次登录已过期或无效"), "{page}");
}
