//! A software authenticator that does what a platform passkey does and webauthn-authenticator-rs's
//! `SoftPasskey` does not: discoverable credentials that return their user handle (needed for a
//! sign-in without a username), user verification, backup flags, and a sign counter the test can
//! copy (a cloned authenticator). ES256 keys from aws-lc-rs, "none" attestation, CBOR written by
//! hand (WebAuthn §6.1, §6.5.1; COSE RFC 9053). It acts as both the browser and the
//! authenticator: it writes the client data and answers with the JSON a browser's
//! `PublicKeyCredential` serialises to.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use serde_json::{Value, json};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}
fn sha256(b: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b).as_ref().to_vec()
}

/// Minimal CBOR: what attestation objects and COSE keys need.
enum Cbor {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
    Map(Vec<(Cbor, Cbor)>),
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

impl Cbor {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Int(v) if *v >= 0 => head(out, 0, *v as u64),
            Cbor::Int(v) => head(out, 1, (-1 - *v) as u64),
            Cbor::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend(b);
            }
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend(t.as_bytes());
            }
            Cbor::Map(kv) => {
                head(out, 5, kv.len() as u64);
                for (k, v) in kv {
                    k.write(out);
                    v.write(out);
                }
            }
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![];
        self.write(&mut out);
        out
    }
}

#[derive(Clone)]
struct Cred {
    id: Vec<u8>,
    pkcs8: Vec<u8>,
    user: Vec<u8>,
    counter: u32,
}

/// One authenticator (holding any number of credentials) used from one web origin.
#[derive(Clone)]
pub struct SoftKey {
    origin: String,
    rp_id: String,
    creds: Vec<Cred>,
    /// Whether it verifies its user (PIN or biometric).
    pub uv: bool,
    /// Whether its credentials may be synchronised (a platform passkey): `swk` rather than `hwk`.
    pub backup_eligible: bool,
}

impl SoftKey {
    pub fn new(origin: &str) -> Self {
        let rp_id = url::Url::parse(origin).unwrap().host_str().unwrap().to_string();
        Self {
            origin: origin.trim_end_matches('/').into(),
            rp_id,
            creds: vec![],
            uv: true,
            backup_eligible: true,
        }
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut f = 0x01; // user present
        if self.uv {
            f |= 0x04;
        }
        if self.backup_eligible {
            f |= 0x08 | 0x10; // eligible, and backed up
        }
        if attested {
            f |= 0x40;
        }
        f
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create` with the server's options JSON; the browser's answer.
    pub fn create(&mut self, options: &str) -> String {
        let o: Value = serde_json::from_str(options).expect("options JSON");
        let pk = &o["publicKey"];
        assert_eq!(pk["rp"]["id"].as_str(), Some(self.rp_id.as_str()), "RP id");
        let excluded: Vec<Vec<u8>> = pk["excludeCredentials"]
            .as_array()
            .map(|a| a.iter().map(|c| unb64(c["id"].as_str().unwrap())).collect())
            .unwrap_or_default();
        assert!(
            !self.creds.iter().any(|c| excluded.contains(&c.id)),
            "InvalidStateError: already registered"
        );
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap().as_ref().to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).unwrap();
        let point = pair.public_key().as_ref(); // 0x04 || x || y
        let mut id = vec![0u8; 16];
        rng.fill(&mut id).unwrap();
        let cose = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),  // kty: EC2
            (Cbor::Int(3), Cbor::Int(-7)), // alg: ES256
            (Cbor::Int(-1), Cbor::Int(1)), // crv: P-256
            (Cbor::Int(-2), Cbor::Bytes(point[1..33].to_vec())),
            (Cbor::Int(-3), Cbor::Bytes(point[33..65].to_vec())),
        ]);
        let mut auth_data = sha256(self.rp_id.as_bytes());
        auth_data.push(self.flags(true));
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // aaguid
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(cose.bytes());
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt"), Cbor::Text("none")),
            (Cbor::Text("attStmt"), Cbor::Map(vec![])),
            (Cbor::Text("authData"), Cbor::Bytes(auth_data)),
        ]);
        let client_data = self.client_data("webauthn.create", pk["challenge"].as_str().unwrap());
        let user = unb64(pk["user"]["id"].as_str().unwrap());
        self.creds.push(Cred { id: id.clone(), pkcs8, user, counter: 0 });
        json!({
            "id": b64(&id), "rawId": b64(&id), "type": "public-key", "extensions": {},
            "response": {"attestationObject": b64(&attestation.bytes()), "clientDataJSON": b64(&client_data)}
        })
        .to_string()
    }

    /// `navigator.credentials.get`: with an allow list, a credential on it; without one (a
    /// discoverable request), the first credential, whose user handle goes with the answer.
    pub fn get(&mut self, options: &str) -> String {
        let o: Value = serde_json::from_str(options).expect("options JSON");
        let pk = &o["publicKey"];
        assert_eq!(pk["rpId"].as_str(), Some(self.rp_id.as_str()), "RP id");
        let allowed: Vec<Vec<u8>> = pk["allowCredentials"]
            .as_array()
            .map(|a| a.iter().map(|c| unb64(c["id"].as_str().unwrap())).collect())
            .unwrap_or_default();
        let flags = self.flags(false);
        let client_data = self.client_data("webauthn.get", pk["challenge"].as_str().unwrap());
        let cred = self
            .creds
            .iter_mut()
            .find(|c| allowed.is_empty() || allowed.contains(&c.id))
            .expect("NotAllowedError: no credential for this request");
        cred.counter += 1;
        let mut auth_data = sha256(self.rp_id.as_bytes());
        auth_data.push(flags);
        auth_data.extend(cred.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &cred.pkcs8).unwrap();
        let signature = pair.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&cred.id), "rawId": b64(&cred.id), "type": "public-key", "extensions": {},
            "response": {
                "authenticatorData": b64(&auth_data), "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()), "userHandle": b64(&cred.user)
            }
        })
        .to_string()
    }

    /// The credential ids it holds (base64url).
    pub fn ids(&self) -> Vec<String> {
        self.creds.iter().map(|c| b64(&c.id)).collect()
    }
}
