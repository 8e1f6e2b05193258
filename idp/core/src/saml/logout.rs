//! Single Logout (SAML Core §3.7, Profiles §4.4): the `LogoutRequest` the provider sends each
//! service provider of an ended session (front-channel by HTTP-Redirect, back-channel by SOAP),
//! the `LogoutResponse` it answers a service provider's own request with, and reading both.
//! Outgoing Redirect messages are signed on the query (Bindings §3.4.4.1); SOAP ones carry an
//! enveloped signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::read::{self, ASSERTION_NS, PROTOCOL_NS, Refused, child, instant, parse, text_of};
use super::xml::{El, Methods, SignError, el, text};
use super::{ASSERTION_LIFE, status};
use crate::identifiers::CalendarDate;
use crate::module::ModuleKey;

/// A `LogoutRequest` for one assertion a service provider holds.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub issuer: &'a str,
    /// Who issued the NameID: this provider as an identity provider, the upstream when this
    /// provider is its service provider.
    pub name_qualifier: &'a str,
    pub destination: &'a str,
    pub sp: &'a str,
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub session_index: &'a str,
    pub id: &'a str,
    pub now: i64,
}

pub fn request(r: &Request<'_>) -> El {
    el(
        "samlp:LogoutRequest",
        vec![
            ("Destination", r.destination.into()),
            ("ID", r.id.into()),
            ("IssueInstant", CalendarDate::rfc3339_utc(r.now)),
            ("NotOnOrAfter", CalendarDate::rfc3339_utc(r.now + ASSERTION_LIFE)),
            ("Reason", "urn:oasis:names:tc:SAML:2.0:logout:user".into()),
            ("Version", "2.0".into()),
        ],
        vec![
            text("saml:Issuer", vec![], r.issuer),
            // the NameID exactly as the assertion had it (service providers compare all of it)
            text(
                "saml:NameID",
                vec![
                    ("Format", r.name_id_format.into()),
                    ("NameQualifier", r.name_qualifier.into()),
                    ("SPNameQualifier", r.sp.into()),
                ],
                r.name_id,
            ),
        ]
        .into_iter()
        // no empty SessionIndex when the assertion named none
        .chain((!r.session_index.is_empty()).then(|| text("samlp:SessionIndex", vec![], r.session_index)))
        .collect(),
    )
}

/// A `LogoutResponse` to a service provider's request.
pub fn response(issuer: &str, destination: &str, in_response_to: &str, ok: bool, id: &str, now: i64) -> El {
    let code = if ok { status::SUCCESS } else { status::RESPONDER };
    el(
        "samlp:LogoutResponse",
        vec![
            ("Destination", destination.into()),
            ("ID", id.into()),
            ("InResponseTo", in_response_to.into()),
            ("IssueInstant", CalendarDate::rfc3339_utc(now)),
            ("Version", "2.0".into()),
        ],
        vec![
            text("saml:Issuer", vec![], issuer),
            el("samlp:Status", vec![], vec![el("samlp:StatusCode", vec![("Value", code.into())], vec![])]),
        ],
    )
}

/// Percent-encodes everything but the unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The HTTP-Redirect URL carrying `message` (`param`: `SAMLRequest` or `SAMLResponse`) to
/// `endpoint`, signed on the query with `key`.
pub fn redirect_url(
    endpoint: &str,
    param: &str,
    message: &El,
    relay_state: Option<&str>,
    key: &dyn ModuleKey,
) -> Result<String, SignError> {
    redirect_url_signed_by(endpoint, param, message, relay_state, Some(key))
}

/// [`redirect_url`], unsigned when `key` is `None`.
pub fn redirect_url_signed_by(
    endpoint: &str,
    param: &str,
    message: &El,
    relay_state: Option<&str>,
    key: Option<&dyn ModuleKey>,
) -> Result<String, SignError> {
    let deflated = miniz_oxide::deflate::compress_to_vec(message.to_xml().as_bytes(), 6);
    let mut query = format!("{param}={}", encode(&STANDARD.encode(deflated)));
    if let Some(r) = relay_state {
        query.push_str(&format!("&RelayState={}", encode(r)));
    }
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    let Some(key) = key else { return Ok(format!("{endpoint}{sep}{query}")) };
    query.push_str(&format!("&SigAlg={}", encode(Methods::of(key.alg())?.signature)));
    let sig = key.sign(query.as_bytes()).map_err(|_| SignError)?;
    Ok(format!("{endpoint}{sep}{query}&Signature={}", encode(&STANDARD.encode(sig))))
}

/// A signed message in a SOAP 1.1 envelope (the SOAP binding, Bindings §3.2).
pub fn soap(mut message: El, key: &dyn ModuleKey, certificate: &[u8]) -> Result<String, SignError> {
    message.sign(key, certificate)?;
    Ok(el("SOAP-ENV:Envelope", vec![], vec![el("SOAP-ENV:Body", vec![], vec![message])]).to_xml())
}

/// Whether a SOAP answer is a `LogoutResponse` with status Success.
pub fn soap_success(xml: &str) -> bool {
    let Ok(doc) = parse(xml) else { return false };
    doc.descendants()
        .find(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(PROTOCOL_NS)
                && n.tag_name().name() == "LogoutResponse"
        })
        .and_then(|r| r.descendants().find(|n| n.tag_name().name() == "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        == Some(status::SUCCESS)
}

/// A service provider's `LogoutRequest`, as far as the provider acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub id: String,
    pub issuer: String,
    pub issue_instant: i64,
    pub destination: Option<String>,
    pub not_on_or_after: Option<i64>,
    pub name_id: String,
    pub name_qualifier: Option<String>,
    pub sp_name_qualifier: Option<String>,
    pub session_indexes: Vec<String>,
}

/// Reads a `LogoutRequest` (the same defences as for an `AuthnRequest`, `read`).
pub fn incoming(xml: &str) -> Result<Incoming, Refused> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(PROTOCOL_NS) || root.tag_name().name() != "LogoutRequest" {
        return Err(Refused("the message is not a LogoutRequest"));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(Refused("only SAML 2.0 is spoken here"));
    }
    let id = root
        .attribute("ID")
        .filter(|i| !i.is_empty() && i.len() <= 256)
        .ok_or(Refused("the request has no ID"))?;
    let issue_instant = root
        .attribute("IssueInstant")
        .and_then(instant)
        .ok_or(Refused("the request has no valid IssueInstant"))?;
    let issuer = child(root, ASSERTION_NS, "Issuer")?
        .map(text_of)
        .filter(|i| !i.is_empty())
        .ok_or(Refused("the request names no Issuer"))?;
    let name = child(root, ASSERTION_NS, "NameID")?.ok_or(Refused("the request names no NameID"))?;
    let name_id =
        Some(text_of(name)).filter(|n| !n.is_empty()).ok_or(Refused("the request names no NameID"))?;
    let name_qualifier = name.attribute("NameQualifier").map(String::from);
    let sp_name_qualifier = name.attribute("SPNameQualifier").map(String::from);
    let not_on_or_after = match root.attribute("NotOnOrAfter") {
        Some(t) => Some(instant(t).ok_or(Refused("NotOnOrAfter is not a time"))?),
        None => None,
    };
    let session_indexes = root
        .children()
        .filter(|c| {
            c.is_element()
                && c.tag_name().namespace() == Some(PROTOCOL_NS)
                && c.tag_name().name() == "SessionIndex"
        })
        .map(read::text_of)
        .collect();
    Ok(Incoming {
        id: id.to_string(),
        issuer,
        issue_instant,
        destination: root.attribute("Destination").map(String::from),
        not_on_or_after,
        name_id,
        name_qualifier,
        sp_name_qualifier,
        session_indexes,
    })
}

/// A `LogoutResponse`: whom it answers, who sent it, whether it says Success.
pub fn incoming_response(xml: &str) -> Result<(String, String, bool), Refused> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(PROTOCOL_NS) || root.tag_name().name() != "LogoutResponse" {
        return Err(Refused("the message is not a LogoutResponse"));
    }
    let in_response_to = root.attribute("InResponseTo").unwrap_or_default().to_string();
    let issuer = child(root, ASSERTION_NS, "Issuer")?.map(text_of).unwrap_or_default();
    let ok = child(root, PROTOCOL_NS, "Status")?
        .and_then(|s| child(s, PROTOCOL_NS, "StatusCode").ok().flatten())
        .and_then(|c| c.attribute("Value"))
        == Some(status::SUCCESS);
    Ok((in_response_to, issuer, ok))
}

/// Whether `xml` is a `LogoutResponse` (a service provider answering our request).
pub fn is_response(xml: &str) -> bool {
    parse(xml).is_ok_and(|d| d.root_element().tag_name().name() == "LogoutResponse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_request_round_trips_and_its_redirect_url_verifies() {
        let key = crate::module::SoftwareKey::Rsa(
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            crate::model::SigningAlg::RS256,
        );
        let r = Request {
            issuer: "https://idp/saml",
            name_qualifier: "https://idp/saml",
            destination: "https://sp/slo",
            sp: "https://sp/meta",
            name_id: "p1",
            name_id_format: super::super::NAMEID_PERSISTENT,
            session_index: "_s",
            id: "_l1",
            now: 0,
        };
        let xml = request(&r).to_xml();
        let back = incoming(&xml).unwrap();
        assert_eq!((back.name_id.as_str(), back.session_indexes.as_slice()), ("p1", &["_s".to_string()][..]));
        assert_eq!(back.not_on_or_after, Some(ASSERTION_LIFE));
        let url = redirect_url("https://sp/slo?x=1", "SAMLRequest", &request(&r), Some("r s"), &key).unwrap();
        assert!(url.starts_with("https://sp/slo?x=1&SAMLRequest="));
        let query = url.split_once('?').unwrap().1;
        let received = read::from_redirect(query, "SAMLRequest").unwrap();
        assert_eq!(received.xml, xml);
        assert_eq!(received.relay_state.as_deref(), Some("r s"));
        // the provider's own query signature verifies with its public key
        let sig = received.query_signature.unwrap();
        let public = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            super::super::xml::tests::rsa_public(&key),
        );
        public.verify(sig.signed.as_bytes(), &sig.signature).unwrap();
        let ok = response("https://idp/saml", "https://sp/slo", "_l1", true, "_r", 0).to_xml();
        assert!(
            is_response(&ok) && soap_success(&format!("<e>{ok}</e>").replace("<e>", "").replace("</e>", ""))
        );
    }
}
