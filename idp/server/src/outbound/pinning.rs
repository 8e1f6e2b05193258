//! Gateways reached by a pinned key rather than a certificate authority: `pin_sha256` on a
//! gateway (`[realname]`, `[sms]`, `[email]`) lists the SHA-256 digests of the public keys it
//! may present, as `sha256/BASE64` of the certificate's SubjectPublicKeyInfo (curl's
//! `--pinnedpubkey sha256//…` and HPKP's `pin-sha256` digest; `openssl x509 -pubkey -noout |
//! openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64` prints it).
//!
//! A pinned gateway's certificate needs no chain to a known CA: the pin is the trust, checked
//! with the certificate's validity dates. That is what lets the provider call a gateway with an
//! SM2 certificate (GM/T 0015), which no WebPKI verifier reads. Over TLS 1.3 such a gateway
//! proves its key with the `sm2sig_sm3` signature scheme (0x0708, RFC 8998 §3.2.1): SM2 with SM3
//! under the distinguishing identifier `TLSv1.3+GM+Cipher+Suite`, verified here; every other
//! scheme goes to rustls' own verification with the pinned certificate's key. The record
//! protection stays TLS 1.3's AES-GCM/ChaCha20 suites: this is not TLCP (GB/T 38636), which
//! rustls does not speak (docs/cryptography.md, "Transport").

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// `sm2sig_sm3` (RFC 8998 §3.2.1, IANA TLS SignatureScheme 0x0708).
pub const SM2_SM3: SignatureScheme = SignatureScheme::Unknown(0x0708);
/// The SM2 distinguishing identifier of TLS 1.3 CertificateVerify signatures (RFC 8998 §3.2.1).
pub const TLS13_SM2_ID: &str = "TLSv1.3+GM+Cipher+Suite";

/// The pinned key digests of one gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins(Vec<[u8; 32]>);

impl Pins {
    /// Reads `sha256/BASE64` (or curl's `sha256//BASE64`) entries; `name` is the setting's, for
    /// the error.
    pub fn parse(entries: &[String], name: &str) -> anyhow::Result<Self> {
        entries
            .iter()
            .map(|e| {
                let b64 = e.trim().strip_prefix("sha256/").map(|r| r.trim_start_matches('/'));
                b64.and_then(|b| STANDARD.decode(b).ok())
                    .and_then(|d| <[u8; 32]>::try_from(d).ok())
                    .ok_or_else(|| {
                        anyhow::anyhow!("{name}: {e:?} is not sha256/ and a base64 SHA-256 digest")
                    })
            })
            .collect::<anyhow::Result<_>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pin of a certificate's key (DER), as the configuration writes it.
    pub fn of_certificate(der: &[u8]) -> Option<String> {
        let (spki, ..) = idp_core::x509::key_and_validity(der)?;
        Some(format!("sha256/{}", STANDARD.encode(idp_core::crypto::sha256(&spki))))
    }

    /// A TLS client configuration trusting exactly these keys, presenting `identity` (mutual
    /// TLS) when given.
    pub fn client_config(
        &self,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> anyhow::Result<rustls::ClientConfig> {
        let provider = https_serve::provider();
        let verifier = Arc::new(PinnedVerifier { pins: self.0.clone(), provider: provider.clone() });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        Ok(match identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|_| anyhow::anyhow!("the client certificate and its key do not go together"))?,
            None => builder.with_no_client_auth(),
        })
    }
}

#[derive(Debug)]
struct PinnedVerifier {
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let (spki, not_before, not_after) = idp_core::x509::key_and_validity(end_entity)
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let digest = idp_core::crypto::sha256(&spki);
        if !self.pins.iter().any(|p| idp_core::crypto::ct_eq(p, &digest)) {
            tracing::warn!("a pinned gateway presented a key that is not pinned");
            return Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure));
        }
        let now = now.as_secs() as i64;
        if now < not_before {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > not_after {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if dss.scheme != SM2_SM3 {
            return verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            );
        }
        let (x, y) = idp_core::x509::sm2_public_key(cert)
            .ok_or(Error::InvalidCertificate(CertificateError::BadSignature))?;
        let verifier = idp_core::sm::Sm2Verifier::from_xy(&x, &y, TLS13_SM2_ID)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if verifier.verify_der(message, dss.signature()) {
            Ok(HandshakeSignatureValid::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::BadSignature))
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = vec![SM2_SM3];
        schemes.extend(self.provider.signature_verification_algorithms.supported_schemes());
        schemes
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use idp_core::model::SigningAlg;
    use idp_core::module::SoftwareKey;
    use idp_core::sm::{DEFAULT_USER_ID, Sm2Signer, sm2_generate};
    use idp_core::x509::{CertificateParams, sm2_self_signed, sm2_signature_der};
    use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
    use tokio_rustls::rustls::sign::{CertifiedKey, Signer, SigningKey};
    use tokio_rustls::rustls::{ServerConfig, SignatureAlgorithm};

    use super::*;
    use crate::outbound::webhook::{GatewayTls, PostError, SignedPost};

    /// A TLS 1.3 server key that proves itself with `sm2sig_sm3` only.
    #[derive(Debug)]
    struct Sm2TlsKey(Arc<Sm2Signer>);

    impl SigningKey for Sm2TlsKey {
        fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
            offered.contains(&SM2_SM3).then(|| Box::new(Sm2TlsSigner(self.0.clone())) as Box<dyn Signer>)
        }
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::ECDSA
        }
    }

    #[derive(Debug)]
    struct Sm2TlsSigner(Arc<Sm2Signer>);

    impl Signer for Sm2TlsSigner {
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            let raw = self.0.sign(message).map_err(|_| Error::General("sm2".into()))?;
            sm2_signature_der(&raw).ok_or_else(|| Error::General("sm2".into()))
        }
        fn scheme(&self) -> SignatureScheme {
            SM2_SM3
        }
    }

    #[derive(Debug)]
    struct One(Arc<CertifiedKey>);

    impl ResolvesServerCert for One {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    /// An SM2 certificate for `localhost` valid from `from` to `until`, and its private scalar.
    fn sm2_certificate(from: i64, until: i64) -> (Vec<u8>, [u8; 32]) {
        let d = sm2_generate(&idp_core::SystemEnv);
        let key = SoftwareKey::from_document(SigningAlg::SM2, &d, DEFAULT_USER_ID).unwrap();
        let params = CertificateParams {
            common_name: "gateway",
            dns_names: &["localhost"],
            serial: &[7],
            not_before: from,
            not_after: until,
        };
        (sm2_self_signed(key.as_ref(), &params).unwrap(), d)
    }

    /// A gateway over TLS 1.3 presenting `cert` and signing the handshake with the scalar `d`.
    async fn sm2_gateway(cert: Vec<u8>, d: [u8; 32]) -> String {
        let signer = Sm2Signer::new(&d, TLS13_SM2_ID).unwrap();
        let key = CertifiedKey::new(vec![CertificateDer::from(cert)], Arc::new(Sm2TlsKey(Arc::new(signer))));
        let config = ServerConfig::builder_with_provider(https_serve::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(One(Arc::new(key))));
        serve(config).await
    }

    async fn serve(config: ServerConfig) -> String {
        let app =
            axum::Router::new().route("/check", axum::routing::post(|| async { r#"{"result":"match"}"# }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(https_serve::serve(listener, app, Arc::new(config), std::future::pending()));
        format!("https://localhost:{port}/check")
    }

    async fn post(url: &str, pins: Pins) -> Result<Vec<u8>, PostError> {
        let outbound = crate::outbound::Policy::new(&crate::outbound::OutboundConfig {
            allow_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            ..Default::default()
        })
        .unwrap();
        let tls = GatewayTls { pins, ..Default::default() };
        let gateway =
            SignedPost::new(url.into(), None, None, tls, Duration::from_secs(3), 0, &outbound).unwrap();
        gateway.post("{}").await
    }

    fn now() -> i64 {
        idp_core::Env::now(&idp_core::SystemEnv)
    }

    #[tokio::test]
    async fn a_gateway_with_a_pinned_sm2_certificate_is_reached_and_nothing_else_passes_for_it() {
        let (cert, d) = sm2_certificate(now() - 60, now() + 86_400);
        let pin = Pins::of_certificate(&cert).unwrap();
        let url = sm2_gateway(cert.clone(), d).await;
        let pins = Pins::parse(std::slice::from_ref(&pin), "pin").unwrap();
        assert_eq!(post(&url, pins.clone()).await.unwrap(), br#"{"result":"match"}"#);
        // curl's spelling of the same pin
        let curl = pin.replace("sha256/", "sha256//");
        assert_eq!(Pins::parse(&[curl], "pin").unwrap(), pins);

        // without the pin, no certificate authority vouches for it
        assert!(matches!(post(&url, Pins::default()).await, Err(PostError::Failed(_))));
        // another key's pin
        let (other, _) = sm2_certificate(now() - 60, now() + 86_400);
        let other_pin = Pins::parse(&[Pins::of_certificate(&other).unwrap()], "pin").unwrap();
        assert!(matches!(post(&url, other_pin).await, Err(PostError::Failed(_))));
        // a server that shows the pinned certificate but does not hold its key
        let impostor = sm2_gateway(cert.clone(), sm2_generate(&idp_core::SystemEnv)).await;
        assert!(matches!(post(&impostor, pins.clone()).await, Err(PostError::Failed(_))));
        // the pinned key on an expired certificate
        let (expired, d) = sm2_certificate(now() - 86_400, now() - 60);
        let url = sm2_gateway(expired.clone(), d).await;
        let pins = Pins::parse(&[Pins::of_certificate(&expired).unwrap()], "pin").unwrap();
        assert!(matches!(post(&url, pins).await, Err(PostError::Failed(_))));
    }

    #[tokio::test]
    async fn a_pinned_ecdsa_gateway_is_verified_by_rustls_with_the_pinned_key() {
        let ca = crate::tls::devcerts::DevCa::new().unwrap();
        let server = ca.server(&[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.pem"), &server.cert_pem).unwrap();
        std::fs::write(dir.path().join("k.pem"), &server.key_pem).unwrap();
        let config =
            https_serve::server_config(&dir.path().join("s.pem"), &dir.path().join("k.pem")).unwrap();
        let url = serve(Arc::unwrap_or_clone(config)).await;
        let leaf = https_serve::certificates(&dir.path().join("s.pem")).unwrap().remove(0);
        let pins = Pins::parse(&[Pins::of_certificate(&leaf).unwrap()], "pin").unwrap();
        assert_eq!(post(&url, pins).await.unwrap(), br#"{"result":"match"}"#);
        // the development CA is not one the defaults trust
        assert!(matches!(post(&url, Pins::default()).await, Err(PostError::Failed(_))));
    }

    #[test]
    fn pins_that_are_not_sha256_digests_are_refused_by_name() {
        for bad in ["sha1/AAAA", "sha256/not base64", "sha256/AAAA", ""] {
            let e = Pins::parse(&[bad.to_string()], "realname.pin_sha256").unwrap_err().to_string();
            assert!(e.starts_with("realname.pin_sha256: "), "{e}");
        }
        let pins = Pins::parse(&[format!("sha256/{}", STANDARD.encode([1u8; 32]))], "p").unwrap();
        let both =
            GatewayTls { pins, ca_pem: Some(std::path::Path::new("/nonexistent")), ..Default::default() };
        let outbound = crate::outbound::Policy::default();
        let e = SignedPost::new(
            "https://gw.example/x".into(),
            None,
            None,
            both,
            Duration::from_secs(1),
            0,
            &outbound,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("not both"), "{e}");
        // pins on a plain http URL would protect nothing: refused, not ignored
        let pins = Pins::parse(&[format!("sha256/{}", STANDARD.encode([1u8; 32]))], "p").unwrap();
        let plain = GatewayTls { pins, ..Default::default() };
        let e = SignedPost::new(
            "http://gw.example/x".into(),
            None,
            None,
            plain,
            Duration::from_secs(1),
            0,
            &outbound,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("not an https URL"), "{e}");
    }
}
