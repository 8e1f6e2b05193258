"""A service provider's check of a SAML Response signed with SM2-SM3 by a tenant on the `sm`
profile, with code nobody on this project wrote: lxml's Exclusive XML Canonicalization, PyPI
gmssl (3.2.2) for SM3 and SM2, and OpenSSL reading the certificate in the provider's metadata.
The algorithm URIs are China e-port's (docs/cryptography.md, "SAML"); the SM2 user ID is the
default "1234567812345678", which gmssl hard-codes.

    python3 verify_saml_response.py METADATA_FILE RESPONSE_FILE

RESPONSE_FILE holds the base64 SAMLResponse as the browser posted it. Prints
{"valid": true, "signed": [...], "name_id": ...} and exits 0, or prints why not and exits 1.
"""

import base64
import json
import subprocess
import sys

from gmssl import func, sm2, sm3
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def fail(why: str) -> None:
    print(json.dumps({"valid": False, "why": why}))
    sys.exit(1)


def tlv(data: bytes, at: int):
    """One DER element at `at`: (tag, start of content, end)."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        n = length & 0x7F
        length, at = int.from_bytes(data[at : at + n], "big"), at + n
    return tag, at, at + length


def self_signature_verifies(der: bytes, key: str) -> bool:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature },
    the signature SEQUENCE { r, s }, made under the default user ID."""
    _, body, _ = tlv(der, 0)
    _, tbs_body, tbs_end = tlv(der, body)
    _, _, alg_end = tlv(der, tbs_end)
    _, bits, _ = tlv(der, alg_end)
    _, seq, _ = tlv(der, bits + 1)  # past the BIT STRING's unused-bits byte
    _, r_at, r_end = tlv(der, seq)
    _, s_at, s_end = tlv(der, r_end)
    r, s = int.from_bytes(der[r_at:r_end], "big"), int.from_bytes(der[s_at:s_end], "big")
    crypt = sm2.CryptSM2(private_key=None, public_key=key)
    crypt.public_key = key
    return crypt.verify_with_sm3("%064x%064x" % (r, s), der[body:tbs_end])


def public_key(metadata_file: str) -> str:
    """The SM2 point x || y (hex) of the signing certificate in the metadata, read by OpenSSL;
    the certificate's self-signature checked."""
    metadata = etree.parse(metadata_file)
    cert = metadata.find(f".//{{{DS}}}X509Certificate")
    if cert is None:
        fail("no certificate in the metadata")
    pem = "-----BEGIN CERTIFICATE-----\n" + cert.text.strip() + "\n-----END CERTIFICATE-----\n"
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text"], input=pem.encode(), capture_output=True, check=True
    ).stdout.decode()
    if "SM2" not in text:
        fail("the certificate is not an SM2 certificate")
    spki_pem = subprocess.run(
        ["openssl", "x509", "-noout", "-pubkey"], input=pem.encode(), capture_output=True, check=True
    ).stdout
    spki = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki_pem, capture_output=True, check=True
    ).stdout
    # SubjectPublicKeyInfo ends with the BIT STRING of the uncompressed point 04 || x || y
    if spki[-65] != 4:
        fail("not an uncompressed point")
    key = spki[-64:].hex()
    if not self_signature_verifies(base64.b64decode(cert.text), key):
        fail("the certificate's self-signature")
    return key


def c14n(element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def verify(signature, key: str) -> str:
    """Checks one enveloped signature; the name of the element it signs."""
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    if signed_info.find(f"{{{DS}}}CanonicalizationMethod").get("Algorithm") != EXC_C14N:
        fail("canonicalization")
    if signed_info.find(f"{{{DS}}}SignatureMethod").get("Algorithm") != SM2_SM3:
        fail("signature method")
    reference = signed_info.find(f"{{{DS}}}Reference")
    target = signature.getparent()
    if reference.get("URI") != "#" + target.get("ID"):
        fail("the reference is not the enclosing element")
    transforms = [t.get("Algorithm") for t in reference.find(f"{{{DS}}}Transforms")]
    if transforms != [ENVELOPED, EXC_C14N]:
        fail("transforms")
    if reference.find(f"{{{DS}}}DigestMethod").get("Algorithm") != SM3:
        fail("digest method")
    # the enveloped-signature transform: the element as it was without this signature
    at = target.index(signature)
    target.remove(signature)
    digest = sm3.sm3_hash(func.bytes_to_list(c14n(target)))
    target.insert(at, signature)
    if base64.b64decode(reference.find(f"{{{DS}}}DigestValue").text) != bytes.fromhex(digest):
        fail("digest of " + etree.QName(target).localname)
    crypt = sm2.CryptSM2(private_key=None, public_key=key)
    crypt.public_key = key  # the constructor's lstrip("04") can eat the start of x
    value = base64.b64decode(signature.find(f"{{{DS}}}SignatureValue").text).hex()
    if len(value) != 128 or not crypt.verify_with_sm3(value, c14n(signed_info)):
        fail("signature of " + etree.QName(target).localname)
    return etree.QName(target).localname


def main() -> None:
    metadata_file, response_file = sys.argv[1:3]
    key = public_key(metadata_file)
    with open(response_file, "rb") as f:
        xml = base64.b64decode(f.read())
    # no DTD, no entities, no network: a SAML message has none
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    response = etree.fromstring(xml, parser)
    if response.getroottree().docinfo.doctype:
        fail("a DOCTYPE")
    if etree.QName(response).localname != "Response":
        fail("not a Response")
    # exactly one assertion, a child of the response, and the identity read from it alone,
    # after both signatures (the response's and the assertion's, each enveloped in its own
    # element) verify: nothing unsigned elsewhere in the document is looked at
    assertions = response.findall(f".//{{{SAML}}}Assertion")
    if len(assertions) != 1 or assertions[0].getparent() is not response:
        fail("not exactly one assertion in the response")
    assertion = assertions[0]
    signatures = {
        "Response": response.findall(f"{{{DS}}}Signature"),
        "Assertion": assertion.findall(f"{{{DS}}}Signature"),
    }
    if len(response.findall(f".//{{{DS}}}Signature")) != sum(len(v) for v in signatures.values()):
        fail("a signature elsewhere than on the response or the assertion")
    signed = []
    for name, found in signatures.items():
        if len(found) > 1:
            fail("two signatures on the " + name)
        signed += [verify(s, key) for s in found]
    if "Assertion" not in signed:
        fail("the assertion is not signed")
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    if name_id is None:
        fail("no NameID in the assertion's subject")
    print(json.dumps({"valid": True, "signed": signed, "name_id": name_id.text}))


if __name__ == "__main__":
    main()
