//! The `Response` the provider sends to an assertion consumer service (Core §3.3.3, §2.3.3;
//! Profiles §4.1.4.2 for Web Browser SSO): one bearer assertion with the subject, its
//! confirmation for the consumer URL, the audience, the authentication statement (with a
//! session index, for single logout) and the released attributes; or a status alone.

use super::xml::{El, SignError, el, text};
use super::{ASSERTION_LIFE, status};
use crate::identifiers::CalendarDate;

/// What an assertion states.
#[derive(Debug, Clone)]
pub struct Assertion<'a> {
    /// The provider's entity ID.
    pub issuer: &'a str,
    /// The service provider's entity ID (the audience).
    pub audience: &'a str,
    /// The assertion consumer service URL (Destination and Recipient).
    pub acs: &'a str,
    pub in_response_to: Option<&'a str>,
    pub name_id_format: &'a str,
    pub name_id: &'a str,
    pub session_index: &'a str,
    pub auth_instant: i64,
    pub class_ref: &'a str,
    /// Until when the service provider may keep its session (the provider's session's end).
    pub session_not_on_or_after: i64,
    pub attributes: &'a [(String, Vec<String>)],
    pub now: i64,
    /// Fresh IDs (`_` and hex: NCNames) for the response and the assertion.
    pub ids: (&'a str, &'a str),
}

/// The signer: the key and its certificate (DER).
pub type Signer<'a> = (&'a dyn crate::module::ModuleKey, &'a [u8]);

fn instant(t: i64) -> String {
    CalendarDate::rfc3339_utc(t)
}

fn issuer(entity: &str) -> El {
    text("saml:Issuer", vec![], entity)
}

fn status_el(top: &str, second: Option<&str>) -> El {
    let inner: Vec<El> =
        second.map(|s| el("samlp:StatusCode", vec![("Value", s.into())], vec![])).into_iter().collect();
    el("samlp:Status", vec![], vec![el("samlp:StatusCode", vec![("Value", top.into())], inner)])
}

fn response_root(id: &str, destination: &str, in_response_to: Option<&str>, now: i64, kids: Vec<El>) -> El {
    let mut attrs = vec![
        ("Destination", destination.to_string()),
        ("ID", id.to_string()),
        ("IssueInstant", instant(now)),
        ("Version", "2.0".to_string()),
    ];
    if let Some(r) = in_response_to {
        attrs.push(("InResponseTo", r.to_string()));
    }
    el("samlp:Response", attrs, kids)
}

/// The assertion, signed first, encrypted for a service provider's certificate (XML Encryption
/// 1.1, https://www.w3.org/TR/xmlenc-core1/): AES-256-GCM content (IV, ciphertext and tag in
/// one `CipherValue`), the key wrapped with RSA-OAEP (MGF1 with SHA-1, `rsa-oaep-mgf1p`, what
/// service providers support). Never RSA PKCS#1 v1.5 key transport, never CBC.
pub fn encrypt(assertion: &El, certificate: &[u8]) -> Result<El, SignError> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let (_, cert) = x509_parser::parse_x509_certificate(certificate).map_err(|_| SignError)?;
    let public =
        PublicEncryptingKey::from_der(cert.tbs_certificate.subject_pki.raw).map_err(|_| SignError)?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(|_| SignError)?;
    let mut key = [0u8; 32];
    let mut iv = [0u8; 12];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| SignError)?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| SignError)?;
    let sealing = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).map_err(|_| SignError)?);
    let mut content = assertion.to_xml().into_bytes();
    sealing
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut content)
        .map_err(|_| SignError)?;
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let wrapped =
        oaep.encrypt(&OAEP_SHA1_MGF1SHA1, &key, &mut wrapped, None).map_err(|_| SignError)?.to_vec();
    let alg = |u: &str| vec![("Algorithm", u.to_string())];
    let cipher = |bytes: &[u8]| {
        el("xenc:CipherData", vec![], vec![text("xenc:CipherValue", vec![], &STANDARD.encode(bytes))])
    };
    Ok(el(
        "saml:EncryptedAssertion",
        vec![],
        vec![el(
            "xenc:EncryptedData",
            vec![("Type", "http://www.w3.org/2001/04/xmlenc#Element".into())],
            vec![
                el("xenc:EncryptionMethod", alg("http://www.w3.org/2009/xmlenc11#aes256-gcm"), vec![]),
                el(
                    "ds:KeyInfo",
                    vec![],
                    vec![el(
                        "xenc:EncryptedKey",
                        vec![],
                        vec![
                            el(
                                "xenc:EncryptionMethod",
                                alg("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
                                vec![el(
                                    "ds:DigestMethod",
                                    alg("http://www.w3.org/2000/09/xmldsig#sha1"),
                                    vec![],
                                )],
                            ),
                            cipher(&wrapped),
                        ],
                    )],
                ),
                cipher(&[iv.as_slice(), &content].concat()),
            ],
        )],
    ))
}

/// A successful `Response`, its assertion and/or itself signed as the registration asks, the
/// assertion encrypted when `encrypt_for` names the service provider's certificate.
pub fn success(
    a: &Assertion<'_>,
    signer: Signer<'_>,
    sign_assertion: bool,
    sign_response: bool,
    encrypt_for: Option<&[u8]>,
) -> Result<String, SignError> {
    let (response_id, assertion_id) = a.ids;
    let mut confirmation =
        vec![("NotOnOrAfter", instant(a.now + ASSERTION_LIFE)), ("Recipient", a.acs.to_string())];
    if let Some(r) = a.in_response_to {
        confirmation.push(("InResponseTo", r.to_string()));
    }
    let subject = el(
        "saml:Subject",
        vec![],
        vec![
            text(
                "saml:NameID",
                vec![
                    ("Format", a.name_id_format.into()),
                    ("NameQualifier", a.issuer.into()),
                    ("SPNameQualifier", a.audience.into()),
                ],
                a.name_id,
            ),
            el(
                "saml:SubjectConfirmation",
                vec![("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer".into())],
                vec![el("saml:SubjectConfirmationData", confirmation, vec![])],
            ),
        ],
    );
    let conditions = el(
        "saml:Conditions",
        vec![("NotBefore", instant(a.now - 60)), ("NotOnOrAfter", instant(a.now + ASSERTION_LIFE))],
        vec![el("saml:AudienceRestriction", vec![], vec![text("saml:Audience", vec![], a.audience)])],
    );
    let authn = el(
        "saml:AuthnStatement",
        vec![
            ("AuthnInstant", instant(a.auth_instant)),
            ("SessionIndex", a.session_index.into()),
            ("SessionNotOnOrAfter", instant(a.session_not_on_or_after)),
        ],
        vec![el("saml:AuthnContext", vec![], vec![text("saml:AuthnContextClassRef", vec![], a.class_ref)])],
    );
    let mut kids = vec![issuer(a.issuer), subject, conditions, authn];
    if !a.attributes.is_empty() {
        let attributes = a
            .attributes
            .iter()
            .map(|(name, values)| {
                el(
                    "saml:Attribute",
                    vec![
                        ("Name", name.clone()),
                        ("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into()),
                    ],
                    values.iter().map(|v| text("saml:AttributeValue", vec![], v)).collect(),
                )
            })
            .collect();
        kids.push(el("saml:AttributeStatement", vec![], attributes));
    }
    let mut assertion = el(
        "saml:Assertion",
        vec![("ID", assertion_id.into()), ("IssueInstant", instant(a.now)), ("Version", "2.0".into())],
        kids,
    );
    if sign_assertion {
        assertion.sign(signer.0, signer.1)?;
    }
    if let Some(cert) = encrypt_for {
        assertion = encrypt(&assertion, cert)?;
    }
    let mut response = response_root(
        response_id,
        a.acs,
        a.in_response_to,
        a.now,
        vec![issuer(a.issuer), status_el(status::SUCCESS, None), assertion],
    );
    if sign_response {
        response.sign(signer.0, signer.1)?;
    }
    Ok(response.to_xml())
}

/// A `Response` with a status and no assertion (signed: an unsigned error could be forged to
/// make a service provider show a misleading message).
pub fn failure(
    issuer_id: &str,
    acs: &str,
    in_response_to: Option<&str>,
    (top, second): (&str, Option<&str>),
    id: &str,
    now: i64,
    signer: Signer<'_>,
) -> Result<String, SignError> {
    let mut response =
        response_root(id, acs, in_response_to, now, vec![issuer(issuer_id), status_el(top, second)]);
    response.sign(signer.0, signer.1)?;
    Ok(response.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_has_the_profile_s_parts_in_the_schema_s_order() {
        let key = crate::module::SoftwareKey::Rsa(
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            crate::model::SigningAlg::RS256,
        );
        let attributes = vec![("mail".to_string(), vec!["a@b".to_string()])];
        let a = Assertion {
            issuer: "https://idp/t/x/saml",
            audience: "https://sp/meta",
            acs: "https://sp/acs",
            in_response_to: Some("_req"),
            name_id_format: super::super::NAMEID_PERSISTENT,
            name_id: "p123",
            session_index: "_s1",
            auth_instant: 0,
            class_ref: "c",
            session_not_on_or_after: 3600,
            attributes: &attributes,
            now: 100,
            ids: ("_r1", "_a1"),
        };
        let xml = success(&a, (&key, b"cert"), true, true, None).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        let names: Vec<&str> = root.children().map(|c| c.tag_name().name()).collect();
        assert_eq!(names, ["Issuer", "Signature", "Status", "Assertion"]);
        let assertion = root.children().find(|c| c.tag_name().name() == "Assertion").unwrap();
        let names: Vec<&str> = assertion.children().map(|c| c.tag_name().name()).collect();
        assert_eq!(
            names,
            ["Issuer", "Signature", "Subject", "Conditions", "AuthnStatement", "AttributeStatement"]
        );
        assert_eq!(root.attribute("InResponseTo"), Some("_req"));
        assert!(
            xml.contains("Recipient=\"https://sp/acs\"")
                && xml.contains("<saml:Audience>https://sp/meta</saml:Audience>")
        );
        let f = failure(
            "i",
            "https://sp/acs",
            None,
            (status::RESPONDER, Some(status::NO_PASSIVE)),
            "_f",
            0,
            (&key, b"c"),
        )
        .unwrap();
        assert!(f.contains(status::NO_PASSIVE) && !f.contains("InResponseTo"));
    }
}
