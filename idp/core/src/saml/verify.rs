//! Checking the XML signatures an upstream SAML identity provider makes (XML-DSig 1.1,
//! https://www.w3.org/TR/xmldsig-core1/), in the one shape SAML uses (SAML Core §5.4): an
//! enveloped signature, a direct child of the element it signs, with one `Reference` to that
//! element's `ID`, the transforms enveloped-signature and Exclusive XML Canonicalization 1.0
//! (https://www.w3.org/TR/xml-exc-c14n/), without comments.
//!
//! - **No wrapping.** The caller hands over the element it will read (found by its place in
//!   the message, never by the `Reference`), the signature must be that element's own child and
//!   reference that element's `ID`, and an `ID` that occurs twice in the document is refused.
//!   So what was verified is what is read.
//! - **The keys are the operator's**: the certificates from the upstream's metadata, never the
//!   signature's own `KeyInfo`.
//! - **Algorithms**: RSA-SHA256, RSA-SHA512 and ECDSA-SHA256; digests SHA-256 and SHA-512.
//!   SHA-1 is refused.
//! - **Canonicalization** is written here over roxmltree's nodes, because the pure-Rust XML
//!   security crates are pre-releases that pull a second crypto stack (ring); it is checked
//!   against what Debian's `xmlsec1` signs (pysaml2 in `tests/e2e/upstream_saml.rs`) and
//!   against this crate's own writer (`super::xml`). Messages reach it parsed by
//!   `super::read::parse_at_most`: no DTD, no comments, no processing instructions.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Node, NodeId};

use super::read::Refused;
use super::xml::{ENVELOPED, EXC_C14N, RSA_SHA256, SHA256_DIGEST, escape_attr, escape_text};

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const SHA512_DIGEST: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// Deeper than any SAML message needs; bounds the recursion.
const MAX_DEPTH: usize = 48;
/// The most prefixes an `InclusiveNamespaces` list may name.
const MAX_PREFIXES: usize = 16;

/// The prefix an element or attribute was written with (roxmltree keeps only namespaces).
fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

fn element_qname<'a>(n: Node<'a, '_>) -> &'a str {
    let input = n.document().input_text();
    let rest = &input[n.range().start + 1..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(rest.len());
    &rest[..end]
}

/// The exclusive canonical form of `el` and its descendants, leaving out the subtree `skip`
/// (the enveloped signature); `inclusive` lists the prefixes of an `InclusiveNamespaces
/// PrefixList` (`#default` for the default namespace).
pub fn canonical(el: Node<'_, '_>, skip: Option<NodeId>, inclusive: &[&str]) -> Result<String, Refused> {
    let mut out = String::with_capacity(4096);
    write(el, skip, inclusive, &BTreeMap::new(), 0, &mut out)?;
    Ok(out)
}

fn write(
    n: Node<'_, '_>,
    skip: Option<NodeId>,
    inclusive: &[&str],
    rendered: &BTreeMap<String, String>,
    depth: usize,
    out: &mut String,
) -> Result<(), Refused> {
    if depth > MAX_DEPTH {
        return Err(Refused("the message is nested too deeply"));
    }
    let qname = element_qname(n);
    // the prefixes this element visibly uses, and those the signer named to include
    let mut used: Vec<&str> = vec![prefix_of(qname)];
    for a in n.attributes() {
        if a.namespace().is_some() {
            used.push(prefix_of(&n.document().input_text()[a.range_qname()]));
        }
    }
    for p in inclusive {
        let p = if *p == "#default" { "" } else { *p };
        if p.is_empty() || n.lookup_namespace_uri(Some(p)).is_some() {
            used.push(p);
        }
    }
    used.sort_unstable();
    used.dedup();
    let mut mine = rendered.clone();
    let mut decls = String::new();
    for p in used.into_iter().filter(|p| *p != "xml") {
        let uri = if p.is_empty() {
            n.default_namespace().unwrap_or("")
        } else {
            n.lookup_namespace_uri(Some(p)).ok_or(Refused("a prefix is not declared"))?
        };
        let before = rendered.get(p).map(String::as_str).unwrap_or("");
        if uri == before {
            continue;
        }
        if p.is_empty() {
            decls.push_str(" xmlns=\"");
        } else {
            decls.push_str(" xmlns:");
            decls.push_str(p);
            decls.push_str("=\"");
        }
        escape_attr(uri, &mut decls);
        decls.push('"');
        mine.insert(p.to_string(), uri.to_string());
    }
    out.push('<');
    out.push_str(qname);
    out.push_str(&decls);
    let mut attrs: Vec<(&str, &str, &str, &str)> = n
        .attributes()
        .map(|a| {
            let q = &n.document().input_text()[a.range_qname()];
            (a.namespace().unwrap_or(""), a.name(), q, a.value())
        })
        .collect();
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (ns, _, q, v) in attrs {
        if ns == XML_NS && !q.starts_with("xml:") {
            return Err(Refused("the xml namespace under another prefix"));
        }
        out.push(' ');
        out.push_str(q);
        out.push_str("=\"");
        escape_attr(v, out);
        out.push('"');
    }
    out.push('>');
    for c in n.children() {
        if Some(c.id()) == skip {
            continue;
        }
        if c.is_element() {
            write(c, skip, inclusive, &mine, depth + 1, out)?;
        } else if c.is_text() {
            escape_text(c.text().unwrap_or_default(), out);
        } else {
            return Err(Refused("comments and processing instructions are not accepted in SAML messages"));
        }
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
    Ok(())
}

fn is(n: Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
}

/// The element children of `n`, named `ns:name`, exactly one.
fn one<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Result<Node<'a, 'i>, Refused> {
    super::read::child(n, ns, name)?.ok_or(Refused("the signature lacks an element"))
}

fn algorithm<'a>(n: Node<'a, '_>) -> &'a str {
    n.attribute("Algorithm").unwrap_or_default()
}

/// The `PrefixList` of a canonicalization method's `InclusiveNamespaces`, if any: distinct
/// prefixes, at most [`MAX_PREFIXES`] (every element of the signed content looks each up).
fn prefix_list<'a>(method: Node<'a, '_>) -> Result<Vec<&'a str>, Refused> {
    let Some(list) = method
        .children()
        .find(|c| is(*c, EXC_C14N, "InclusiveNamespaces"))
        .and_then(|c| c.attribute("PrefixList"))
    else {
        return Ok(vec![]);
    };
    let mut prefixes: Vec<&str> = list.split_whitespace().collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    if prefixes.len() > MAX_PREFIXES || prefixes.iter().any(|p| p.len() > 64) {
        return Err(Refused("the signature names too many inclusive namespaces"));
    }
    Ok(prefixes)
}

fn digest(method: &str, data: &[u8]) -> Result<Vec<u8>, Refused> {
    match method {
        SHA256_DIGEST => Ok(crate::crypto::sha256(data)),
        SHA512_DIGEST => Ok(crate::crypto::sha512(data)),
        _ => Err(Refused("the signature's digest method is not accepted (SHA-256 or SHA-512)")),
    }
}

fn base64_of(n: Node<'_, '_>) -> Result<Vec<u8>, Refused> {
    let text: String = super::read::text_of(n).chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(text).map_err(|_| Refused("a signature value is not base64"))
}

/// Whether `signature` over `message` verifies with the public key of one of `certificates`.
fn verified_by(
    method: &str,
    message: &[u8],
    signature: &[u8],
    certificates: &[Vec<u8>],
) -> Result<bool, Refused> {
    use aws_lc_rs::signature as sig;
    let alg: &'static dyn sig::VerificationAlgorithm = match method {
        RSA_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        RSA_SHA512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        ECDSA_SHA256 => &sig::ECDSA_P256_SHA256_FIXED,
        _ => {
            return Err(Refused(
                "the signature method is not accepted (RSA-SHA256, RSA-SHA512, ECDSA-SHA256)",
            ));
        }
    };
    Ok(certificates.iter().any(|der| {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { return false };
        let key = if method == ECDSA_SHA256 {
            cert.tbs_certificate.subject_pki.subject_public_key.data.to_vec()
        } else {
            cert.tbs_certificate.subject_pki.raw.to_vec()
        };
        sig::UnparsedPublicKey::new(alg, key).verify(message, signature).is_ok()
    }))
}

/// Checks the enveloped signature of `el` with `certificates` (DER): `Ok(false)` when `el`
/// carries none, `Ok(true)` when it verifies, refused when it is there and does not (or is
/// not of the accepted shape).
pub fn enveloped(el: Node<'_, '_>, certificates: &[Vec<u8>]) -> Result<bool, Refused> {
    let mut sigs = el.children().filter(|c| is(*c, DSIG_NS, "Signature"));
    let Some(sig) = sigs.next() else { return Ok(false) };
    if sigs.next().is_some() {
        return Err(Refused("an element carries two signatures"));
    }
    let id = el.attribute("ID").filter(|v| !v.is_empty()).ok_or(Refused("a signed element has no ID"))?;
    let same_id = el
        .document()
        .descendants()
        .filter(|d| {
            d.is_element() && d.attributes().any(|a| a.name().eq_ignore_ascii_case("id") && a.value() == id)
        })
        .count();
    if same_id != 1 {
        return Err(Refused("an ID occurs twice in the message"));
    }
    // the shape first, and the signature over SignedInfo before any digest: nothing costly
    // is done for a signature that is not the identity provider's (W3C XML Signature Best
    // Practices §2.1)
    let info = one(sig, DSIG_NS, "SignedInfo")?;
    if info.descendants().count() > 40 {
        return Err(Refused("the signature's SignedInfo is not of the accepted shape"));
    }
    let parts: Vec<Node<'_, '_>> = info.children().filter(|c| c.is_element()).collect();
    let [c14n, method, reference] = parts[..] else {
        return Err(Refused("the signature's SignedInfo is not of the accepted shape"));
    };
    if !is(c14n, DSIG_NS, "CanonicalizationMethod")
        || !is(method, DSIG_NS, "SignatureMethod")
        || !is(reference, DSIG_NS, "Reference")
    {
        return Err(Refused("the signature's SignedInfo is not of the accepted shape"));
    }
    if algorithm(c14n) != EXC_C14N {
        return Err(Refused("the signature's canonicalization is not exclusive c14n without comments"));
    }
    let method = algorithm(method);
    if ![RSA_SHA256, RSA_SHA512, ECDSA_SHA256].contains(&method) {
        return Err(Refused("the signature method is not accepted (RSA-SHA256, RSA-SHA512, ECDSA-SHA256)"));
    }
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(Refused("the signature does not reference the element it is in"));
    }
    let transforms = super::read::child(reference, DSIG_NS, "Transforms")?
        .ok_or(Refused("the signature names no transforms"))?;
    let steps: Vec<Node<'_, '_>> = transforms.children().filter(|c| c.is_element()).collect();
    let [first, second] = steps[..] else {
        return Err(Refused("the signature's transforms are not enveloped-signature then exclusive c14n"));
    };
    if !is(first, DSIG_NS, "Transform")
        || algorithm(first) != ENVELOPED
        || !is(second, DSIG_NS, "Transform")
        || algorithm(second) != EXC_C14N
    {
        return Err(Refused("the signature's transforms are not enveloped-signature then exclusive c14n"));
    }
    let digest_method = algorithm(one(reference, DSIG_NS, "DigestMethod")?);
    if ![SHA256_DIGEST, SHA512_DIGEST].contains(&digest_method) {
        return Err(Refused("the signature's digest method is not accepted (SHA-256 or SHA-512)"));
    }
    let signed_info = canonical(info, None, &prefix_list(c14n)?)?;
    let value = base64_of(one(sig, DSIG_NS, "SignatureValue")?)?;
    if !verified_by(method, signed_info.as_bytes(), &value, certificates)? {
        return Err(Refused("the signature does not verify with the identity provider's certificates"));
    }
    let expected = base64_of(one(reference, DSIG_NS, "DigestValue")?)?;
    let content = canonical(el, Some(sig.id()), &prefix_list(second)?)?;
    if !crate::crypto::ct_eq(&digest(digest_method, content.as_bytes())?, &expected) {
        return Err(Refused("the signed element was changed after it was signed"));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SigningAlg;
    use crate::saml::xml::{el, text};

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        crate::saml::read::parse(xml).unwrap()
    }

    #[test]
    fn canonical_form_of_a_subtree_declares_what_it_uses_sorted() {
        let xml = "<r:Root xmlns:r=\"urn:r\" xmlns:a=\"urn:a\" xmlns=\"urn:d\" xmlns:u=\"urn:unused\">\n  \
                   <a:Item z=\"1\" a:y=\"2&#10;\" b=\"x&quot;&lt;\"><Plain/>t&amp;&gt;<![CDATA[<c>]]></a:Item></r:Root>";
        let doc = parse(xml);
        let item = doc.root_element().first_element_child().unwrap();
        assert_eq!(
            canonical(item, None, &[]).unwrap(),
            "<a:Item xmlns:a=\"urn:a\" b=\"x&quot;&lt;\" z=\"1\" a:y=\"2&#xA;\"><Plain xmlns=\"urn:d\"></Plain>t&amp;&gt;&lt;c&gt;</a:Item>"
        );
        // a prefix named to include is declared though unused
        assert!(
            canonical(item, None, &["u"])
                .unwrap()
                .starts_with("<a:Item xmlns:a=\"urn:a\" xmlns:u=\"urn:unused\" ")
        );
        // the whole document: the root declares only r; a declared once, below
        let whole = canonical(doc.root_element(), None, &[]).unwrap();
        assert!(whole.starts_with("<r:Root xmlns:r=\"urn:r\">\n  <a:Item xmlns:a=\"urn:a\""), "{whole}");
    }

    #[test]
    fn what_this_crate_signs_verifies_and_any_change_is_refused() {
        let key = crate::module::SoftwareKey::Rsa(
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            SigningAlg::RS256,
        );
        let cert = crate::keys::saml_certificate(&key, "test", 0).unwrap();
        let mut a = el(
            "saml:Assertion",
            vec![("ID", "_a1".into())],
            vec![text("saml:Issuer", vec![], "https://idp"), text("saml:NameID", vec![], "alice")],
        );
        a.sign(&key, &cert).unwrap();
        let xml = a.to_xml();
        let doc = parse(&xml);
        assert_eq!(enveloped(doc.root_element(), std::slice::from_ref(&cert)), Ok(true));
        // another certificate
        let other = crate::module::SoftwareKey::Rsa(
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            SigningAlg::RS256,
        );
        let other_cert = crate::keys::saml_certificate(&other, "test", 0).unwrap();
        assert!(enveloped(doc.root_element(), &[other_cert]).is_err());
        // a changed NameID
        let changed = xml.replace(">alice<", ">mallory<");
        let doc = parse(&changed);
        assert_eq!(
            enveloped(doc.root_element(), std::slice::from_ref(&cert)),
            Err(Refused("the signed element was changed after it was signed"))
        );
        // a second element with the same ID (the wrapping attack's copy)
        let wrapped = xml.replacen("<saml:NameID", "<saml:Extra ID=\"_a1\"></saml:Extra><saml:NameID", 1);
        let doc = parse(&wrapped);
        assert_eq!(
            enveloped(doc.root_element(), std::slice::from_ref(&cert)),
            Err(Refused("an ID occurs twice in the message"))
        );
        // a signature that is not the identity provider's costs no canonicalization of the
        // content: a thousand namespaces and a long inclusive list are never looked at
        let decls: String = (0..1000).map(|i| format!(" xmlns:p{i}=\"urn:p{i}\"")).collect();
        let list: String = (0..3000).map(|_| "p999 ").collect();
        let kids: String = (0..3000).map(|_| "<a/>").collect();
        let heavy = format!(
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"{decls} ID=\"h\">{kids}\
             <ds:Signature xmlns:ds=\"{DSIG_NS}\"><ds:SignedInfo>\
             <ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/><ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"/>\
             <ds:Reference URI=\"#h\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/>\
             <ds:Transform Algorithm=\"{EXC_C14N}\"><ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"{list}\"/>\
             </ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256_DIGEST}\"/><ds:DigestValue>AA==</ds:DigestValue>\
             </ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></saml:Assertion>"
        );
        let doc = roxmltree::Document::parse_with_options(
            &heavy,
            roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 10_000, ..Default::default() },
        )
        .unwrap();
        assert_eq!(
            enveloped(doc.root_element(), std::slice::from_ref(&cert)),
            Err(Refused("the signature does not verify with the identity provider's certificates"))
        );
        // an unsigned element is told apart
        let doc = parse("<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"x\"/>");
        assert_eq!(enveloped(doc.root_element(), &[cert]), Ok(false));
    }
}
