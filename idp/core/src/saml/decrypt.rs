//! Opening an `EncryptedAssertion` an upstream SAML identity provider encrypted for this
//! provider (XML Encryption 1.1, https://www.w3.org/TR/xmlenc-core1/; SAML Core §2.3.4).
//!
//! - The content key is wrapped with RSA-OAEP: `rsa-oaep-mgf1p` (SHA-1 for both, what
//!   `xmlsec1` and most identity providers send) or `xmlenc11#rsa-oaep` with SHA-256 and MGF1
//!   with SHA-256. RSA PKCS#1 v1.5 key transport is refused (Bleichenbacher's attack).
//! - The content is AES-GCM (128 or 256); AES-CBC only where the operator allows it for an
//!   identity provider that can do nothing else (`SamlUpstream::allow_cbc`): CBC without a
//!   MAC is the padding-oracle attack on XML Encryption (Jager and Somorovsky, 2011), so every
//!   failure here reads the same and the decrypted assertion must be signed.
//! - The `EncryptedKey` is looked for inside the data's `KeyInfo` and, as some identity
//!   providers place it, beside the `EncryptedData`.

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::Node;

use super::read::{Refused, child, text_of};
use super::verify::DSIG_NS;

pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// One failure for every reason: the message must not tell an attacker which step failed.
const FAILED: Refused = Refused("the encrypted assertion could not be opened");

fn algorithm<'a>(n: Node<'a, '_>) -> &'a str {
    n.attribute("Algorithm").unwrap_or_default()
}

fn cipher_value(n: Node<'_, '_>) -> Result<Vec<u8>, Refused> {
    let data = child(n, XENC_NS, "CipherData")?.ok_or(FAILED)?;
    let value = child(data, XENC_NS, "CipherValue")?.ok_or(FAILED)?;
    let text: String = text_of(value).chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(text).map_err(|_| FAILED)
}

/// The wrapped key: in the data's `KeyInfo`, else beside the data (exactly one either way).
fn encrypted_key<'a, 'i>(encrypted: Node<'a, 'i>, data: Node<'a, 'i>) -> Result<Node<'a, 'i>, Refused> {
    if let Some(info) = child(data, DSIG_NS, "KeyInfo")?
        && let Some(k) = child(info, XENC_NS, "EncryptedKey")?
    {
        return Ok(k);
    }
    child(encrypted, XENC_NS, "EncryptedKey")?.ok_or(FAILED)
}

/// The content key, unwrapped with `private_key` (PKCS#8).
fn unwrap_key(k: Node<'_, '_>, private_key: &[u8]) -> Result<Vec<u8>, Refused> {
    let method = child(k, XENC_NS, "EncryptionMethod")?.ok_or(FAILED)?;
    let digest = child(method, DSIG_NS, "DigestMethod")?.map(algorithm);
    let mgf = method.children().find(|c| c.tag_name().name() == "MGF").map(algorithm);
    let oaep = match (algorithm(method), digest, mgf) {
        (RSA_OAEP_MGF1P, None | Some(SHA1), None) => &OAEP_SHA1_MGF1SHA1,
        (RSA_OAEP, Some(SHA256), Some(MGF1_SHA256)) => &OAEP_SHA256_MGF1SHA256,
        _ => {
            return Err(Refused(
                "the assertion's key is wrapped by a method that is not accepted (RSA-OAEP)",
            ));
        }
    };
    let key = PrivateDecryptingKey::from_pkcs8(private_key).map_err(|_| FAILED)?;
    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| FAILED)?;
    let wrapped = cipher_value(k)?;
    let mut out = vec![0u8; key.min_output_size()];
    let plain = key.decrypt(oaep, &wrapped, &mut out, None).map_err(|_| FAILED)?;
    Ok(plain.to_vec())
}

/// A new RSA-2048 key (PKCS#8) for an identity provider to encrypt assertions for.
pub fn generate_key() -> Option<Vec<u8>> {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).ok()?;
    Some(pair.as_der().ok()?.as_ref().to_vec())
}

/// The assertion inside `encrypted` (a `saml:EncryptedAssertion`), as XML text.
pub fn assertion(encrypted: Node<'_, '_>, private_key: &[u8], allow_cbc: bool) -> Result<String, Refused> {
    let data = child(encrypted, XENC_NS, "EncryptedData")?.ok_or(FAILED)?;
    let method = algorithm(child(data, XENC_NS, "EncryptionMethod")?.ok_or(FAILED)?);
    let key_len = match method {
        AES128_GCM | AES128_CBC => 16,
        AES256_GCM | AES256_CBC => 32,
        _ => return Err(Refused("the assertion is encrypted by a method that is not accepted (AES-GCM)")),
    };
    let cbc = matches!(method, AES128_CBC | AES256_CBC);
    if cbc && !allow_cbc {
        return Err(Refused(
            "the assertion is encrypted with AES-CBC: accepted only where the upstream may use it, in a signed response",
        ));
    }
    let key = unwrap_key(encrypted_key(encrypted, data)?, private_key)?;
    if key.len() != key_len {
        return Err(FAILED);
    }
    let content = cipher_value(data)?;
    if content.len() > super::read::MAX_MESSAGE {
        return Err(Refused("the message is too large"));
    }
    let plain = if cbc { open_cbc(&key, content)? } else { open_gcm(&key, content)? };
    String::from_utf8(plain).map_err(|_| FAILED)
}

/// AES-GCM: the 96-bit IV, the ciphertext and the 128-bit tag in one value (XML Encryption
/// 1.1 §5.2.4).
fn open_gcm(key: &[u8], mut content: Vec<u8>) -> Result<Vec<u8>, Refused> {
    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    if content.len() < 12 + 16 {
        return Err(FAILED);
    }
    let alg = if key.len() == 16 { &AES_128_GCM } else { &AES_256_GCM };
    let opening = LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| FAILED)?);
    let mut body = content.split_off(12);
    let nonce = Nonce::try_assume_unique_for_key(&content).map_err(|_| FAILED)?;
    let plain = opening.open_in_place(nonce, Aad::empty(), &mut body).map_err(|_| FAILED)?;
    Ok(plain.to_vec())
}

/// AES-CBC: the 128-bit IV then the ciphertext; the padding's last byte counts its bytes
/// (XML Encryption §5.2, the others are arbitrary).
fn open_cbc(key: &[u8], mut content: Vec<u8>) -> Result<Vec<u8>, Refused> {
    use aws_lc_rs::cipher::{AES_128, AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
    if content.len() < 32 || !content.len().is_multiple_of(16) {
        return Err(FAILED);
    }
    let alg = if key.len() == 16 { &AES_128 } else { &AES_256 };
    let opening =
        DecryptingKey::cbc(UnboundCipherKey::new(alg, key).map_err(|_| FAILED)?).map_err(|_| FAILED)?;
    let mut body = content.split_off(16);
    let iv: [u8; 16] = content.try_into().map_err(|_| FAILED)?;
    let plain = opening
        .decrypt(&mut body, DecryptionContext::Iv128(aws_lc_rs::iv::FixedLength::from(&iv)))
        .map_err(|_| FAILED)?;
    let pad = usize::from(*plain.last().ok_or(FAILED)?);
    if pad == 0 || pad > 16 || pad > plain.len() {
        return Err(FAILED);
    }
    let len = plain.len() - pad;
    Ok(plain[..len].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::{el, text};

    /// What `crate::saml::response::encrypt` writes (AES-256-GCM, RSA-OAEP-MGF1P) opens again.
    #[test]
    fn an_assertion_encrypted_for_a_key_opens_with_it_only() {
        use aws_lc_rs::encoding::AsDer;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap().as_ref().to_vec();
        let key =
            crate::module::SoftwareKey::from_document(crate::model::SigningAlg::RS256, &pkcs8, "").unwrap();
        let cert = crate::keys::saml_certificate(key.as_ref(), "enc", 0).unwrap();
        let a = el("saml:Assertion", vec![("ID", "_x".into())], vec![text("saml:Issuer", vec![], "i")]);
        let xml = crate::saml::response::encrypt(&a, &cert).unwrap().to_xml();
        let doc = crate::saml::read::parse(&xml).unwrap();
        assert_eq!(assertion(doc.root_element(), &pkcs8, false).unwrap(), a.to_xml());
        let other = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        assert_eq!(assertion(doc.root_element(), other.as_der().unwrap().as_ref(), false), Err(FAILED));
        // a flipped bit of the content fails the tag
        let cv = "<xenc:CipherValue>";
        let last = xml.rfind(cv).unwrap() + cv.len();
        let mut spoiled = xml.clone();
        let c = if &xml[last + 20..last + 21] == "A" { "B" } else { "A" };
        spoiled.replace_range(last + 20..last + 21, c);
        let doc = crate::saml::read::parse(&spoiled).unwrap();
        assert_eq!(assertion(doc.root_element(), &pkcs8, false), Err(FAILED));
    }
}
