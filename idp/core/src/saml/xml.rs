//! The XML the SAML front-end writes, canonical by construction: an element tree whose
//! serialisation *is* its Exclusive XML Canonicalization 1.0 form (https://www.w3.org/TR/xml-exc-c14n/),
//! so signing needs no general canonicaliser:
//!
//! - no declaration, comments, processing instructions or whitespace between elements;
//! - a namespace is declared on the first element (in output order) whose own name or
//!   attributes use its prefix, not on the root for the whole document;
//! - declarations sorted by prefix, then attributes sorted by name (SAML's are unqualified);
//! - no self-closing tags; text escapes `& < >` and CR, attribute values `& < "` TAB LF CR.
//!
//! A signature is enveloped (XML-DSig, https://www.w3.org/TR/xmldsig-core1/): the SHA-256 digest
//! of the element as written alone, the exclusive-canonical `SignedInfo` signed with
//! RSA-SHA256, inserted right after the element's `Issuer` as SAML's schema orders it.
//! `xmlsec1 --verify` accepts what this writes (the tests check it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::model::SigningAlg;
use crate::module::ModuleKey;

/// The prefixes the writer knows and their namespaces.
const NAMESPACES: &[(&str, &str)] = &[
    ("ds", "http://www.w3.org/2000/09/xmldsig#"),
    ("md", "urn:oasis:names:tc:SAML:2.0:metadata"),
    ("saml", "urn:oasis:names:tc:SAML:2.0:assertion"),
    ("samlp", "urn:oasis:names:tc:SAML:2.0:protocol"),
    ("SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/"),
    ("xenc", "http://www.w3.org/2001/04/xmlenc#"),
];

fn namespace(prefix: &str) -> &'static str {
    NAMESPACES.iter().find(|(p, _)| *p == prefix).map(|(_, n)| *n).unwrap_or("")
}

/// An element: a prefixed name, unqualified attributes, text or children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct El {
    pub name: &'static str,
    pub attrs: Vec<(&'static str, String)>,
    pub text: Option<String>,
    pub kids: Vec<El>,
}

/// An element with attributes and children.
pub fn el(name: &'static str, attrs: Vec<(&'static str, String)>, kids: Vec<El>) -> El {
    El { name, attrs, text: None, kids }
}

/// An element with attributes and text.
pub fn text(name: &'static str, attrs: Vec<(&'static str, String)>, t: &str) -> El {
    El { name, attrs, text: Some(t.to_string()), kids: vec![] }
}

/// Characters XML 1.0 cannot carry at all are dropped.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Text as exclusive c14n writes it (characters XML cannot carry dropped).
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars().filter(|c| allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// An attribute value as exclusive c14n writes it.
pub(crate) fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars().filter(|c| allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

impl El {
    fn write(&self, rendered: &[&'static str], out: &mut String) {
        let prefix = self.name.split_once(':').map_or("", |(p, _)| p);
        let mut used: Vec<&'static str> = vec![prefix];
        used.extend(self.attrs.iter().filter_map(|(a, _)| a.split_once(':').map(|(p, _)| p)));
        used.sort_unstable();
        used.dedup();
        let new: Vec<&'static str> =
            used.into_iter().filter(|p| !p.is_empty() && !rendered.contains(p)).collect();
        out.push('<');
        out.push_str(self.name);
        for p in &new {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
            out.push_str(namespace(p));
            out.push('"');
        }
        let mut attrs: Vec<&(&str, String)> = self.attrs.iter().collect();
        attrs.sort_by(|a, b| a.0.cmp(b.0));
        for (a, v) in attrs {
            out.push(' ');
            out.push_str(a);
            out.push_str("=\"");
            escape_attr(v, out);
            out.push('"');
        }
        out.push('>');
        if let Some(t) = &self.text {
            escape_text(t, out);
        }
        let inner: Vec<&'static str> = rendered.iter().copied().chain(new).collect();
        for k in &self.kids {
            k.write(&inner, out);
        }
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }

    /// The element as a document of its own: its exclusive canonical form.
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(4096);
        self.write(&[], &mut s);
        s
    }

    fn id(&self) -> Option<&str> {
        self.attrs.iter().find(|(a, _)| *a == "ID").map(|(_, v)| v.as_str())
    }

    /// Signs the element (enveloped, over exclusive c14n, by [`Methods::of`] the key's
    /// algorithm) with `key`, naming `certificate` (DER) in the signature's `KeyInfo`; the
    /// signature goes right after the first child (the `Issuer`).
    pub fn sign(&mut self, key: &dyn ModuleKey, certificate: &[u8]) -> Result<(), SignError> {
        let methods = Methods::of(key.alg())?;
        let id = self.id().ok_or(SignError)?.to_string();
        let alg = |u: &str| vec![("Algorithm", u.to_string())];
        let digest_value = STANDARD.encode((methods.digest)(self.to_xml().as_bytes()));
        let signed_info = el(
            "ds:SignedInfo",
            vec![],
            vec![
                el("ds:CanonicalizationMethod", alg(EXC_C14N), vec![]),
                el("ds:SignatureMethod", alg(methods.signature), vec![]),
                el(
                    "ds:Reference",
                    vec![("URI", format!("#{id}"))],
                    vec![
                        el(
                            "ds:Transforms",
                            vec![],
                            vec![
                                el("ds:Transform", alg(ENVELOPED), vec![]),
                                el("ds:Transform", alg(EXC_C14N), vec![]),
                            ],
                        ),
                        el("ds:DigestMethod", alg(methods.digest_method), vec![]),
                        text("ds:DigestValue", vec![], &digest_value),
                    ],
                ),
            ],
        );
        let sig = key.sign(signed_info.to_xml().as_bytes()).map_err(|_| SignError)?;
        let signature = el(
            "ds:Signature",
            vec![],
            vec![
                signed_info,
                text("ds:SignatureValue", vec![], &STANDARD.encode(&sig)),
                el(
                    "ds:KeyInfo",
                    vec![],
                    vec![el(
                        "ds:X509Data",
                        vec![],
                        vec![text("ds:X509Certificate", vec![], &STANDARD.encode(certificate))],
                    )],
                ),
            ],
        );
        let at = 1.min(self.kids.len());
        self.kids.insert(at, signature);
        Ok(())
    }
}

/// The signature could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the SAML message could not be signed")]
pub struct SignError;

pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256_DIGEST: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// SM2 with SM3 (GB/T 32918.2, the signature raw `r || s` under the key's user ID): XML-DSig
/// has no registered URI for it (RFC 9231 lists none); these are the ones China's e-port
/// (中国电子口岸) message signatures use, the one government XML-DSig profile with SM
/// algorithms in use (docs/cryptography.md).
pub const SM2_SM3: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3";
pub const SM3_DIGEST: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3";

/// The signature and digest methods a key's algorithm signs SAML with.
pub struct Methods {
    pub signature: &'static str,
    pub digest_method: &'static str,
    pub digest: fn(&[u8]) -> Vec<u8>,
}

impl Methods {
    pub fn of(alg: SigningAlg) -> Result<Self, SignError> {
        match alg {
            SigningAlg::RS256 => Ok(Self {
                signature: RSA_SHA256,
                digest_method: SHA256_DIGEST,
                digest: crate::crypto::sha256,
            }),
            SigningAlg::SM2 => Ok(Self {
                signature: SM2_SM3,
                digest_method: SM3_DIGEST,
                digest: |d| crate::sm::sm3(d).to_vec(),
            }),
            _ => Err(SignError),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The PKCS#1 public key of a test key.
    pub fn rsa_public(key: &dyn ModuleKey) -> Vec<u8> {
        match key.public_key() {
            crate::module::PublicKey::Rsa { pkcs1, .. } => pkcs1,
            _ => panic!("an RSA key"),
        }
    }

    #[test]
    fn namespaces_are_declared_where_first_used_and_everything_escapes_canonically() {
        let doc = el(
            "samlp:Response",
            vec![
                ("Version", "2.0".into()),
                ("ID", "_r".into()),
                ("Destination", "https://sp/a?x=1&y=\"2\"".into()),
            ],
            vec![
                text("saml:Issuer", vec![], "https://idp"),
                el(
                    "samlp:Status",
                    vec![],
                    vec![el("samlp:StatusCode", vec![("Value", "ok".into())], vec![])],
                ),
                text("saml:NameID", vec![], "a&b<c>\"d' é\r\u{1}"),
            ],
        );
        assert_eq!(
            doc.to_xml(),
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" Destination=\"https://sp/a?x=1&amp;y=&quot;2&quot;\" \
             ID=\"_r\" Version=\"2.0\"><saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">https://idp</saml:Issuer>\
             <samlp:Status><samlp:StatusCode Value=\"ok\"></samlp:StatusCode></samlp:Status>\
             <saml:NameID xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">a&amp;b&lt;c&gt;\"d' é&#xD;</saml:NameID></samlp:Response>"
        );
    }

    #[test]
    fn a_signature_goes_after_the_issuer_and_verifies() {
        let key = crate::module::SoftwareKey::Rsa(
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            SigningAlg::RS256,
        );
        let mut a = el(
            "saml:Assertion",
            vec![("ID", "_a".into())],
            vec![text("saml:Issuer", vec![], "i"), el("saml:Subject", vec![], vec![])],
        );
        let unsigned = a.to_xml();
        a.sign(&key, b"cert").unwrap();
        assert_eq!(a.kids[1].name, "ds:Signature");
        // the enveloped-signature transform gives back what was digested
        let mut without = a.clone();
        let sig = without.kids.remove(1);
        assert_eq!(without.to_xml(), unsigned);
        let signed_info = sig.kids[0].to_xml();
        assert!(signed_info.starts_with("<ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"));
        let value = STANDARD.decode(sig.kids[1].text.as_deref().unwrap()).unwrap();
        let public = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            rsa_public(&key),
        );
        public.verify(signed_info.as_bytes(), &value).unwrap();
    }
}
