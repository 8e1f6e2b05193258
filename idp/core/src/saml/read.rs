//! Reading what service providers send (SAML 2.0 Bindings §3.4 HTTP-Redirect, §3.5 HTTP-POST;
//! Core §3.4.1 AuthnRequest), defensively:
//!
//! - a Redirect message is raw DEFLATE, inflated to at most [`MAX_MESSAGE`] bytes (a compressed
//!   bomb is refused, not expanded);
//! - XML is parsed by roxmltree, which refuses any DTD (so no entity expansion, internal or
//!   external) and is limited in nodes; a message with a comment or processing instruction
//!   anywhere is refused (comments inside signed values are the classic truncation attack);
//! - values are read from the parsed root itself (never by searching the document), text as
//!   the concatenation of all its pieces;
//! - the Redirect binding's signature covers the URL-encoded query values exactly as received
//!   (§3.4.4.1), so it is checked on the raw query, in the fixed order, RSA-SHA256 only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::identifiers::CalendarDate;

/// The largest message accepted, inflated or decoded.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// The largest `RelayState` kept (the binding says 80 bytes; mod_auth_mellon sends whole URLs).
pub const MAX_RELAY_STATE: usize = 2048;

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Why a message was refused (shown to the person; never echoes the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub &'static str);

/// A Redirect-binding signature to check: the octet string signed, the algorithm, the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySignature {
    pub signed: String,
    pub sig_alg: String,
    pub signature: Vec<u8>,
}

/// A message as received through a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub xml: String,
    pub relay_state: Option<String>,
    /// The Redirect binding's signature, when the query carried one.
    pub query_signature: Option<QuerySignature>,
}

fn percent_decode(v: &str) -> Result<String, Refused> {
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("x={v}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| Refused("the message is not UTF-8"))
}

fn base64(v: &str) -> Result<Vec<u8>, Refused> {
    // a literal `+` decoded from a form is a space; line breaks are allowed in base64 bodies
    let clean: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    let clean = if clean.len() < v.trim().len() { v.replace(' ', "+") } else { clean };
    let clean: String = clean.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(clean).map_err(|_| Refused("the message is not base64"))
}

fn relay_state(v: Option<String>) -> Result<Option<String>, Refused> {
    match v {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(Refused("RelayState is too long")),
        other => Ok(other.filter(|r| !r.is_empty())),
    }
}

/// An HTTP-Redirect message (`param` is `SAMLRequest` or `SAMLResponse`) from the raw query.
pub fn from_redirect(raw_query: &str, param: &str) -> Result<Received, Refused> {
    let mut found: Vec<(&str, &str)> = vec![];
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if [param, "RelayState", "SigAlg", "Signature"].contains(&k) {
            if found.iter().any(|(seen, _)| *seen == k) {
                return Err(Refused("a SAML parameter was given twice"));
            }
            found.push((k, v));
        }
    }
    let raw = |k: &str| found.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let message = raw(param).ok_or(Refused("the SAML message is missing"))?;
    let deflated = base64(&percent_decode(message)?)?;
    let xml = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_MESSAGE)
        .map_err(|_| Refused("the message could not be inflated (or is too large)"))?;
    let xml = String::from_utf8(xml).map_err(|_| Refused("the message is not UTF-8"))?;
    let query_signature = match (raw("SigAlg"), raw("Signature")) {
        (Some(alg), Some(sig)) => {
            // §3.4.4.1: the values exactly as received, in this order
            let mut signed = format!("{param}={message}");
            if let Some(rs) = raw("RelayState") {
                signed.push_str(&format!("&RelayState={rs}"));
            }
            signed.push_str(&format!("&SigAlg={alg}"));
            Some(QuerySignature {
                signed,
                sig_alg: percent_decode(alg)?,
                signature: base64(&percent_decode(sig)?)?,
            })
        }
        (None, None) => None,
        _ => return Err(Refused("SigAlg and Signature come together")),
    };
    let relay_state = relay_state(raw("RelayState").map(percent_decode).transpose()?)?;
    Ok(Received { xml, relay_state, query_signature })
}

/// An HTTP-POST message from the form's parameters (already decoded).
pub fn from_post(params: &[(String, String)], param: &str) -> Result<Received, Refused> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let message = get(param).ok_or(Refused("the SAML message is missing"))?;
    if message.len() > MAX_MESSAGE * 4 / 3 + 4 {
        return Err(Refused("the message is too large"));
    }
    let xml = String::from_utf8(base64(&message)?).map_err(|_| Refused("the message is not UTF-8"))?;
    Ok(Received { xml, relay_state: relay_state(get("RelayState"))?, query_signature: None })
}

/// Checks a Redirect-binding signature against the service provider's signing certificates
/// (DER). Only RSA-SHA256.
pub fn verify_query(sig: &QuerySignature, certificates: &[Vec<u8>]) -> Result<(), Refused> {
    if sig.sig_alg != super::xml::RSA_SHA256 {
        return Err(Refused("only RSA-SHA256 signatures are accepted"));
    }
    for der in certificates {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { continue };
        let spki = cert.tbs_certificate.subject_pki.raw;
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            spki,
        );
        if key.verify(sig.signed.as_bytes(), &sig.signature).is_ok() {
            return Ok(());
        }
    }
    Err(Refused("the message's signature does not verify with the service provider's certificates"))
}

/// A parsed message: a roxmltree document with the checks above done.
pub fn parse(xml: &str) -> Result<roxmltree::Document<'_>, Refused> {
    parse_at_most(xml, MAX_MESSAGE)
}

/// [`parse`] for a document of at most `max` bytes (metadata is larger than messages).
pub fn parse_at_most(xml: &str, max: usize) -> Result<roxmltree::Document<'_>, Refused> {
    if xml.len() > max {
        return Err(Refused("the message is too large"));
    }
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 5000, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|_| Refused("the message is not well-formed XML"))?;
    if doc.descendants().any(|n| n.is_comment() || n.is_pi()) {
        return Err(Refused("comments and processing instructions are not accepted in SAML messages"));
    }
    Ok(doc)
}

/// All the text of an element (every piece, not only the first).
pub fn text_of(n: roxmltree::Node<'_, '_>) -> String {
    n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect::<String>().trim().to_string()
}

/// The element child `name` in `ns`, if exactly one exists (two are refused by the callers).
pub fn child<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Result<Option<roxmltree::Node<'a, 'i>>, Refused> {
    let mut found = n
        .children()
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(Refused("an element occurs twice"));
    }
    Ok(first)
}

/// `2026-11-20T10:00:00Z` (with optional fractional seconds) as Unix seconds.
pub fn instant(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || !s.ends_with('Z') {
        return None;
    }
    let date = CalendarDate::parse_iso(&s[..10])?;
    let num = |r: std::ops::Range<usize>| {
        s.get(r).filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?.parse::<i64>().ok()
    };
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..s.len() - 1];
    if !(rest.is_empty()
        || (rest.starts_with('.') && rest.len() > 1 && rest[1..].bytes().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(date.start_in_china() + 8 * 3600 + h * 3600 + m * 60 + sec)
}

/// How the requested authentication contexts compare (Core §3.3.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    Exact,
    Minimum,
    Maximum,
    Better,
}

/// An `AuthnRequest` (Core §3.4.1), as far as the provider acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    pub id: String,
    pub issue_instant: i64,
    pub issuer: String,
    pub destination: Option<String>,
    pub acs_url: Option<String>,
    pub acs_index: Option<u32>,
    pub protocol_binding: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub name_id_format: Option<String>,
    pub requested_context: Option<(Comparison, Vec<String>)>,
    /// The message carries an enveloped XML signature (the POST binding's).
    pub xml_signed: bool,
}

fn boolean(v: Option<&str>) -> Result<bool, Refused> {
    match v {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Refused("a boolean attribute is true or false")),
    }
}

/// Reads an `AuthnRequest`.
pub fn authn_request(xml: &str) -> Result<AuthnRequest, Refused> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(PROTOCOL_NS) || root.tag_name().name() != "AuthnRequest" {
        return Err(Refused("the message is not an AuthnRequest"));
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
    let acs_index = match root.attribute("AssertionConsumerServiceIndex") {
        Some(i) => Some(i.parse().map_err(|_| Refused("AssertionConsumerServiceIndex is a number"))?),
        None => None,
    };
    let name_id_format =
        child(root, PROTOCOL_NS, "NameIDPolicy")?.and_then(|p| p.attribute("Format")).map(String::from);
    let requested_context = match child(root, PROTOCOL_NS, "RequestedAuthnContext")? {
        None => None,
        Some(r) => {
            let comparison = match r.attribute("Comparison") {
                None | Some("exact") => Comparison::Exact,
                Some("minimum") => Comparison::Minimum,
                Some("maximum") => Comparison::Maximum,
                Some("better") => Comparison::Better,
                Some(_) => return Err(Refused("Comparison is exact, minimum, maximum or better")),
            };
            let classes: Vec<String> = r
                .children()
                .filter(|c| c.is_element() && c.tag_name().namespace() == Some(ASSERTION_NS))
                .filter(|c| c.tag_name().name() == "AuthnContextClassRef")
                .map(text_of)
                .collect();
            Some((comparison, classes))
        }
    };
    let xml_signed = root.children().any(|c| {
        c.is_element() && c.tag_name().namespace() == Some(DSIG_NS) && c.tag_name().name() == "Signature"
    });
    Ok(AuthnRequest {
        id: id.to_string(),
        issue_instant,
        issuer,
        destination: root.attribute("Destination").map(String::from),
        acs_url: root.attribute("AssertionConsumerServiceURL").map(String::from),
        acs_index,
        protocol_binding: root.attribute("ProtocolBinding").map(String::from),
        force_authn: boolean(root.attribute("ForceAuthn"))?,
        is_passive: boolean(root.attribute("IsPassive"))?,
        name_id_format,
        requested_context,
        xml_signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(xml: &str) -> String {
        let d = miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6);
        url::form_urlencoded::byte_serialize(STANDARD.encode(d).as_bytes()).collect()
    }

    const REQ: &str = "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
        xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_1\" Version=\"2.0\" IssueInstant=\"2026-11-20T10:00:00.123Z\" \
        AssertionConsumerServiceURL=\"https://sp/acs\" ForceAuthn=\"true\"><saml:Issuer>https://sp/meta</saml:Issuer>\
        <samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\"/>\
        <samlp:RequestedAuthnContext Comparison=\"minimum\"><saml:AuthnContextClassRef>x</saml:AuthnContextClassRef>\
        </samlp:RequestedAuthnContext></samlp:AuthnRequest>";

    #[test]
    fn a_redirect_request_reads_and_its_signed_string_is_the_raw_query() {
        let q = format!("SigAlg=a%3Ab&SAMLRequest={}&RelayState=%2Fback&Signature=AAAA", deflate(REQ));
        let r = from_redirect(&q, "SAMLRequest").unwrap();
        assert_eq!(r.relay_state.as_deref(), Some("/back"));
        let s = r.query_signature.unwrap();
        assert_eq!(s.signed, format!("SAMLRequest={}&RelayState=%2Fback&SigAlg=a%3Ab", deflate(REQ)));
        assert_eq!(s.sig_alg, "a:b");
        let a = authn_request(&r.xml).unwrap();
        assert_eq!(
            (a.id.as_str(), a.issuer.as_str(), a.force_authn, a.is_passive),
            ("_1", "https://sp/meta", true, false)
        );
        assert_eq!(a.issue_instant, instant("2026-11-20T10:00:00Z").unwrap());
        assert_eq!(a.requested_context, Some((Comparison::Minimum, vec!["x".to_string()])));
        assert!(from_redirect(&format!("{q}&RelayState=x"), "SAMLRequest").is_err(), "twice");
        assert!(from_redirect(&format!("SAMLRequest={}&SigAlg=x", deflate(REQ)), "SAMLRequest").is_err());
    }

    #[test]
    fn hostile_messages_are_refused() {
        let dtd = "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&e;</samlp:AuthnRequest>";
        assert!(authn_request(dtd).is_err());
        let comment = REQ.replace("https://sp/meta", "https://sp/<!---->meta");
        assert_eq!(
            authn_request(&comment).unwrap_err(),
            Refused("comments and processing instructions are not accepted in SAML messages")
        );
        let twice = REQ.replace(
            "<saml:Issuer>https://sp/meta</saml:Issuer>",
            "<saml:Issuer>a</saml:Issuer><saml:Issuer>b</saml:Issuer>",
        );
        assert!(authn_request(&twice).is_err());
        assert!(authn_request(&REQ.replace("Version=\"2.0\"", "Version=\"1.1\"")).is_err());
        // a deflate bomb stops at the limit
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; 10 * MAX_MESSAGE], 9);
        let q = format!(
            "SAMLRequest={}",
            url::form_urlencoded::byte_serialize(STANDARD.encode(bomb).as_bytes()).collect::<String>()
        );
        assert!(from_redirect(&q, "SAMLRequest").is_err());
        assert!(instant("2026-11-20T10:00:00+08:00").is_none());
        assert!(instant("2026-13-20T10:00:00Z").is_none());
    }
}
