//! A development PKI (`idp dev-certs`, `certs/make-dev-certs.sh`, and the TLS tests): a CA, a
//! server certificate for `localhost`, `127.0.0.1` and `::1`, and client certificates for
//! mutual TLS, all ECDSA P-256 and generated fresh — no private key is ever committed.

use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, PEM.
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pair {
    /// Certificate then key in one PEM text (what `reqwest::Identity::from_pem` reads).
    pub fn identity_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

/// The development CA.
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "idp development");
    dn.push(DnType::CommonName, cn);
    dn
}

impl DevCa {
    pub fn new() -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = named("idp development CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Self { issuer })
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose) -> anyhow::Result<Pair> {
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = named(cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Pair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// A server certificate for `localhost`, `127.0.0.1` and `::1` (plus `extra` names).
    pub fn server(&self, extra: &[String]) -> anyhow::Result<Pair> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        names.extend(extra.iter().cloned());
        self.leaf(names, "localhost", ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (mutual TLS) with common name `cn`.
    pub fn client(&self, cn: &str) -> anyhow::Result<Pair> {
        self.leaf(vec![], cn, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Writes a fresh CA (certificate only; its key is discarded), a localhost server certificate
/// and key, and a client identity into `dir`, keys readable by the owner only.
pub fn write_dev_pki(dir: &Path, extra_names: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = DevCa::new()?;
    let server = ca.server(extra_names)?;
    let client = ca.client("idp development client")?;
    write(dir, "ca.pem", &ca.cert_pem(), false)?;
    write(dir, "server.pem", &server.cert_pem, false)?;
    write(dir, "server-key.pem", &server.key_pem, true)?;
    write(dir, "client-identity.pem", &client.identity_pem(), true)?;
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str, secret: bool) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}
