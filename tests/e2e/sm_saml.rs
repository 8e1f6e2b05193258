//! SAML on a tenant of the `sm` profile (docs/cryptography.md, "SAML"): the metadata publishes
//! an SM2 certificate, and the Response and its assertion are signed SM2-SM3 over exclusive
//! canonicalisation with SM3 digests — checked by `client-examples/sm2-python/
//! verify_saml_response.py` on lxml, PyPI gmssl and OpenSSL, none of them written here (the
//! certificate read by OpenSSL, its self-signature checked with gmssl: OpenSSL 3.0's `verify`
//! fails on SM2 certificates, its own included).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::CryptoProfile;
use idp_proto::ClientRequest;

use crate::browser::{Browser, rp_http};
use crate::common::Backend;

use crate::oidc_flow::urlencode;
use crate::saml::{miniz_oxide_deflate, posted};
use crate::sm_crypto::example;

const ENTITY: &str = "https://sp.example.gov.cn/sm";
const ACS: &str = "http://127.0.0.1:9/acs-sm";

async fn sm_saml(backend: Backend) {
    let Some(s) = crate::sm_crypto::without_console(backend).await else { return };
    s.add_account("lin").await;
    s.ops.set_tenant_crypto_by("main", Some(CryptoProfile::Sm), None, "operator").await.unwrap();
    let sp_metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ENTITY}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS}" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    );
    let req = ClientRequest {
        name: Some("海关业务系统".into()),
        client_type: Some("saml".into()),
        saml_metadata: Some(sp_metadata),
        scope: Some("openid profile".into()),
        ..ClientRequest::default()
    };
    s.ops.register_client_by("main", &req, None, "test").await.expect("SP registered");
    // every node reloads within a second
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let dir = tempfile::tempdir().unwrap();
    let metadata =
        rp_http().get(format!("{}/saml/metadata", s.issuer)).send().await.unwrap().text().await.unwrap();
    let metadata_file = dir.path().join("idp.xml");
    std::fs::write(&metadata_file, &metadata).unwrap();
    assert_eq!(
        metadata.matches("<ds:X509Certificate>").count(),
        1,
        "the SM2 key's certificate alone: {metadata}"
    );

    let now = idp_core::identifiers::CalendarDate::rfc3339_utc(idp_core::Env::now(&s.env));
    let request = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_sm-request-1" Version="2.0" IssueInstant="{now}" Destination="{}/saml/sso" AssertionConsumerServiceURL="{ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{ENTITY}</saml:Issuer></samlp:AuthnRequest>"#,
        s.issuer
    );
    let location = format!(
        "{}/saml/sso?SAMLRequest={}",
        s.issuer,
        urlencode(&STANDARD.encode(miniz_oxide_deflate(&request)))
    );
    let b = Browser::new();
    let (response, _) = posted(b.authorize(&s, &location, "lin").await, ACS);
    let xml = String::from_utf8(STANDARD.decode(&response).unwrap()).unwrap();
    assert_eq!(xml.matches(idp_core::saml::xml::SM2_SM3).count(), 2, "response and assertion: {xml}");
    assert!(!xml.contains("rsa-sha256") && !xml.contains("xmlenc#sha256"), "nothing international: {xml}");
    assert!(xml.contains("InResponseTo=\"_sm-request-1\""));

    let response_file = dir.path().join("response.b64");
    std::fs::write(&response_file, &response).unwrap();
    let (m, r) = (metadata_file.to_str().unwrap(), response_file.to_str().unwrap());
    let (ok, verdict) = example("sm2-python/verify_saml_response.py", &[m, r]);
    assert!(ok, "lin's Response verifies: {verdict}");
    assert_eq!(verdict["signed"], serde_json::json!(["Response", "Assertion"]), "{verdict}");
    assert!(verdict["name_id"].as_str().is_some_and(|n| n.starts_with('p')), "{verdict}");

    // a changed subject breaks the digests (the response's, checked first, covers the
    // assertion); a changed signature value breaks the signature
    let name_id = verdict["name_id"].as_str().unwrap();
    let forged = xml.replace(&format!(">{name_id}<"), ">p-someone-else<");
    std::fs::write(&response_file, STANDARD.encode(&forged)).unwrap();
    let (ok, verdict) = example("sm2-python/verify_saml_response.py", &[m, r]);
    assert!(!ok && verdict["why"] == "digest of Response", "{verdict}");
    let value = xml.split("<ds:SignatureValue>").nth(1).unwrap().split('<').next().unwrap();
    let mut raw = STANDARD.decode(value).unwrap();
    raw[40] ^= 1;
    let forged = xml.replacen(value, &STANDARD.encode(&raw), 1);
    std::fs::write(&response_file, STANDARD.encode(&forged)).unwrap();
    let (ok, verdict) = example("sm2-python/verify_saml_response.py", &[m, r]);
    assert!(!ok && verdict["why"].as_str().unwrap().starts_with("signature of"), "{verdict}");
}

crate::both_backends!(an_sm_tenant_signs_saml_with_sm2_verified_by_gmssl_and_openssl, sm_saml);
