//! The response checks on responses this crate's own writer signs (`super::super::xml`): each
//! rule refuses for its own reason.

use super::*;
use crate::model::SigningAlg;
use crate::saml::NAMEID_PERSISTENT;
use crate::saml::xml::{El, el, text};

const IDP: &str = "https://idp.example/saml";
const SP: &str = "https://sp.example/upstream/gov/saml/metadata";
const ACS: &str = "https://sp.example/upstream/gov/saml/acs";
const NOW: i64 = 1_800_000_000;

fn key() -> crate::module::SoftwareKey {
    crate::module::SoftwareKey::Rsa(
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
        SigningAlg::RS256,
    )
}

fn t(at: i64) -> String {
    CalendarDate::rfc3339_utc(at)
}

/// An assertion as an identity provider answers request `_req`; `conditions` extra.
fn assertion(conditions: Vec<El>, name_format: &str) -> El {
    let mut cond = vec![el("saml:AudienceRestriction", vec![], vec![text("saml:Audience", vec![], SP)])];
    cond.extend(conditions);
    el(
        "saml:Assertion",
        vec![("ID", "_a1".into()), ("IssueInstant", t(NOW)), ("Version", "2.0".into())],
        vec![
            text("saml:Issuer", vec![], IDP),
            el(
                "saml:Subject",
                vec![],
                vec![
                    text("saml:NameID", vec![("Format", name_format.into())], "citizen-1"),
                    el(
                        "saml:SubjectConfirmation",
                        vec![("Method", BEARER.into())],
                        vec![el(
                            "saml:SubjectConfirmationData",
                            vec![
                                ("InResponseTo", "_req".into()),
                                ("NotOnOrAfter", t(NOW + 300)),
                                ("Recipient", ACS.into()),
                            ],
                            vec![],
                        )],
                    ),
                ],
            ),
            el("saml:Conditions", vec![("NotBefore", t(NOW - 10)), ("NotOnOrAfter", t(NOW + 3600))], cond),
            el(
                "saml:AuthnStatement",
                vec![("AuthnInstant", t(NOW - 5)), ("SessionIndex", "_s1".into())],
                vec![el(
                    "saml:AuthnContext",
                    vec![],
                    vec![text(
                        "saml:AuthnContextClassRef",
                        vec![],
                        "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
                    )],
                )],
            ),
        ],
    )
}

fn response(kids: Vec<El>) -> El {
    let mut all = vec![
        text("saml:Issuer", vec![], IDP),
        el(
            "samlp:Status",
            vec![],
            vec![el("samlp:StatusCode", vec![("Value", status::SUCCESS.into())], vec![])],
        ),
    ];
    all.extend(kids);
    el(
        "samlp:Response",
        vec![
            ("Destination", ACS.into()),
            ("ID", "_r1".into()),
            ("InResponseTo", "_req".into()),
            ("IssueInstant", t(NOW)),
            ("Version", "2.0".into()),
        ],
        all,
    )
}

fn expect<'a>(certs: &'a [Vec<u8>], key: Option<&'a [u8]>) -> Expect<'a> {
    Expect {
        idp: IDP,
        sp: SP,
        acs: ACS,
        request_id: "_req",
        name_id_format: NAMEID_PERSISTENT,
        certificates: certs,
        decrypt_key: key,
        require_encryption: false,
        allow_cbc: false,
        now: NOW,
    }
}

#[test]
fn a_signed_assertion_is_read_and_each_rule_refuses_for_its_reason() {
    let k = key();
    let cert = crate::keys::saml_certificate(&k, "idp", 0).unwrap();
    let certs = [cert.clone()];
    let signed = |a: El| {
        let mut a = a;
        a.sign(&k, &cert).unwrap();
        response(vec![a]).to_xml()
    };
    let ok = response(vec![]).to_xml();
    assert_eq!(response_check(&ok, &certs), Err(Refused("the response carries no assertion")));

    let xml = signed(assertion(vec![], NAMEID_PERSISTENT));
    let a = super::response(&xml, &expect(&certs, None)).unwrap();
    assert_eq!((a.name_id.as_str(), a.session_index.as_deref()), ("citizen-1", Some("_s1")));
    assert_eq!(a.class.as_deref(), Some("urn:oasis:names:tc:SAML:2.0:ac:classes:X509"));
    // remembered as long as it could be accepted: the confirmation's end, not the conditions'
    assert_eq!(a.use_by, NOW + 300 + CLOCK_SKEW);

    let proxy = el("saml:ProxyRestriction", vec![("Count", "0".into())], vec![]);
    assert_eq!(
        response_check(&signed(assertion(vec![proxy], NAMEID_PERSISTENT)), &certs),
        Err(Refused("the assertion restricts proxying, which a broker cannot honour"))
    );
    let email = crate::saml::NAMEID_EMAIL;
    assert_eq!(
        response_check(&signed(assertion(vec![], email)), &certs),
        Err(Refused("the NameID is not of the format asked for"))
    );
    let mut late = expect(&certs, None);
    late.now = NOW + 301 + CLOCK_SKEW;
    assert_eq!(
        super::response(&xml, &late),
        Err(Refused("no bearer confirmation of the subject is for this request, here and now"))
    );
    let mut other = expect(&certs, None);
    other.request_id = "_other";
    assert_eq!(
        super::response(&xml, &other),
        Err(Refused("the response does not answer this provider's request"))
    );
    let mut elsewhere = expect(&certs, None);
    elsewhere.sp = "https://sp.example/upstream/other/saml/metadata";
    assert_eq!(super::response(&xml, &elsewhere), Err(Refused("the assertion is for another audience")));
}

fn response_check(xml: &str, certs: &[Vec<u8>]) -> Result<Answer, Refused> {
    super::response(xml, &expect(certs, None))
}
