//! Self-signed X.509 certificates (RFC 5280) for SM2 keys, written by hand because `rcgen`
//! knows no SM2: the SAML metadata of an `sm` tenant publishes its SM2 signing key in one, and
//! the outbound pinning tests serve one. The profile is GM/T 0015-2012's: the subject key is
//! `id-ecPublicKey` on the curve `sm2p256v1` (OID 1.2.156.10197.1.301), the signature
//! `SM2-with-SM3` (1.2.156.10197.1.501) DER-encoded as `SEQUENCE { r, s }`.
//!
//! The certificate is signed by the module key itself ([`ModuleKey::sign_certificate`]): under
//! the default user ID `1234567812345678` (GM/T 0009), whatever ID the key signs tokens under,
//! so any SM2 verifier checks the self-signature with its default.

use crate::identifiers::CalendarDate;
use crate::module::{ModuleKey, PublicKey};

pub const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const OID_SM2_CURVE: &str = "1.2.156.10197.1.301";
pub const OID_SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
const OID_COMMON_NAME: &str = "2.5.4.3";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A non-negative INTEGER from big-endian bytes.
fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap_or(0)).collect();
    let mut content = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(chunk);
    }
    tlv(0x06, &content)
}

/// UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
fn time(unix: i64) -> Vec<u8> {
    let digits: String = CalendarDate::rfc3339_utc(unix).chars().filter(char::is_ascii_digit).collect();
    let year: i64 = digits[..4].parse().unwrap_or(0);
    if year < 2050 {
        tlv(0x17, format!("{}Z", &digits[2..]).as_bytes())
    } else {
        tlv(0x18, format!("{digits}Z").as_bytes())
    }
}

fn name(common_name: &str) -> Vec<u8> {
    seq(&[tlv(0x31, &seq(&[oid(OID_COMMON_NAME), tlv(0x0c, common_name.as_bytes())]))])
}

/// An SM2 signature `r || s` as X.509 carries it: `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn sm2_signature_der(raw: &[u8]) -> Option<Vec<u8>> {
    (raw.len() == 64).then(|| seq(&[uint(&raw[..32]), uint(&raw[32..])]))
}

/// The SubjectPublicKeyInfo of an SM2 public key.
pub fn sm2_spki(x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    let point = [&[0u8, 4][..], x, y].concat();
    seq(&[seq(&[oid(OID_EC_PUBLIC_KEY), oid(OID_SM2_CURVE)]), tlv(0x03, &point)])
}

/// What a certificate says.
pub struct CertificateParams<'a> {
    pub common_name: &'a str,
    /// DNS names for the subjectAltName extension (none: no extension).
    pub dns_names: &'a [&'a str],
    /// A positive serial number, big-endian.
    pub serial: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
}

/// A self-signed certificate (DER) for the SM2 `key`; `None` if it is not an SM2 key or the
/// module does not sign.
pub fn sm2_self_signed(key: &dyn ModuleKey, p: &CertificateParams<'_>) -> Option<Vec<u8>> {
    let PublicKey::Sm2 { x, y, .. } = key.public_key() else { return None };
    let algorithm = seq(&[oid(OID_SM2_WITH_SM3)]);
    let mut tbs = vec![
        tlv(0xa0, &uint(&[2])), // version v3
        uint(p.serial),
        algorithm.clone(),
        name(p.common_name),
        seq(&[time(p.not_before), time(p.not_after)]),
        name(p.common_name),
        sm2_spki(&x, &y),
    ];
    if !p.dns_names.is_empty() {
        let names: Vec<u8> = p.dns_names.iter().flat_map(|n| tlv(0x82, n.as_bytes())).collect();
        let san = seq(&[oid(OID_SUBJECT_ALT_NAME), tlv(0x04, &tlv(0x30, &names))]);
        tbs.push(tlv(0xa3, &seq(&[san])));
    }
    let tbs = seq(&tbs);
    let signature = sm2_signature_der(&key.sign_certificate(&tbs).ok()?)?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    Some(seq(&[tbs, algorithm, tlv(0x03, &bits)]))
}

/// A certificate's SubjectPublicKeyInfo (DER) and validity (`notBefore`, `notAfter`, Unix
/// seconds): what a pinned key is compared with and when it may be used.
pub fn key_and_validity(der: &[u8]) -> Option<(Vec<u8>, i64, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let v = cert.validity();
    Some((cert.tbs_certificate.subject_pki.raw.to_vec(), v.not_before.timestamp(), v.not_after.timestamp()))
}

/// The SM2 public key `(x, y)` of a certificate, or `None` if its key is not on the SM2 curve.
pub fn sm2_public_key(der: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let spki = &cert.tbs_certificate.subject_pki;
    let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
    if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY || curve.to_id_string() != OID_SM2_CURVE {
        return None;
    }
    let point = &spki.subject_public_key.data;
    if point.len() != 65 || point[0] != 4 {
        return None;
    }
    Some((point[1..33].try_into().ok()?, point[33..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SigningAlg;
    use crate::module::SoftwareKey;

    #[test]
    fn an_sm2_certificate_parses_and_its_self_signature_verifies_under_the_default_id() {
        // a key whose tokens are signed under a tenant's own ID
        let d = crate::sm::sm2_generate(&crate::SystemEnv);
        let key = SoftwareKey::from_document(SigningAlg::SM2, &d, "another-id").unwrap();
        let p = CertificateParams {
            common_name: "SAML signing key k1",
            dns_names: &["localhost"],
            serial: &[0x80, 1, 2],
            not_before: 1_700_000_000,
            not_after: 2_600_000_000, // after 2050: GeneralizedTime
        };
        let der = sm2_self_signed(key.as_ref(), &p).unwrap();
        assert_eq!(sm2_self_signed(key.as_ref(), &p).unwrap(), der, "the same bytes on every node");
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(cert.signature_algorithm.algorithm.to_id_string(), OID_SM2_WITH_SM3);
        assert_eq!(cert.subject().to_string(), "CN=SAML signing key k1");
        assert_eq!(cert.validity().not_before.timestamp(), 1_700_000_000);
        assert_eq!(cert.validity().not_after.timestamp(), 2_600_000_000);
        assert_eq!(cert.raw_serial(), &[0, 0x80, 1, 2]);
        let PublicKey::Sm2 { x, y, .. } = key.public_key() else { panic!() };
        assert_eq!(sm2_public_key(&der), Some((x, y)));
        assert_eq!(key_and_validity(&der), Some((sm2_spki(&x, &y), 1_700_000_000, 2_600_000_000)));
        let verifier = crate::sm::Sm2Verifier::from_xy(&x, &y, crate::sm::DEFAULT_USER_ID).unwrap();
        assert!(verifier.verify_der(cert.tbs_certificate.as_ref(), &cert.signature_value.data));
        let tenant_ids = crate::sm::Sm2Verifier::from_xy(&x, &y, "another-id").unwrap();
        assert!(!tenant_ids.verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data));
        // a certificate of another key type is not an SM2 key's
        assert_eq!(sm2_public_key(b"\x30\x00"), None);
    }
}
