//! SAML 2.0 Metadata: the provider's own `EntityDescriptor` (its signing certificates, SSO and
//! SLO endpoints, NameID formats), and reading a service provider's (its entity ID, assertion
//! consumer and logout services, certificates, NameID formats, whether it signs its requests).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::read::{Refused, child, parse_at_most, text_of};
use super::xml::{El, el, text};
use super::{
    BINDING_POST, BINDING_REDIRECT, Endpoint, NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED, SamlSettings,
};

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The provider's metadata for one tenant.
pub fn identity_provider(entity_id: &str, sso: &str, slo: Option<&str>, certificates: &[Vec<u8>]) -> String {
    let mut kids: Vec<El> = certificates
        .iter()
        .map(|der| {
            el(
                "md:KeyDescriptor",
                vec![("use", "signing".into())],
                vec![el(
                    "ds:KeyInfo",
                    vec![],
                    vec![el(
                        "ds:X509Data",
                        vec![],
                        vec![text("ds:X509Certificate", vec![], &STANDARD.encode(der))],
                    )],
                )],
            )
        })
        .collect();
    // single logout by HTTP-Redirect only: a service provider's request must be query-signed
    if let Some(slo) = slo {
        kids.push(el(
            "md:SingleLogoutService",
            vec![("Binding", BINDING_REDIRECT.into()), ("Location", slo.into())],
            vec![],
        ));
    }
    for f in [NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_EMAIL, NAMEID_UNSPECIFIED] {
        kids.push(text("md:NameIDFormat", vec![], f));
    }
    for binding in [BINDING_REDIRECT, BINDING_POST] {
        kids.push(el(
            "md:SingleSignOnService",
            vec![("Binding", binding.into()), ("Location", sso.into())],
            vec![],
        ));
    }
    el(
        "md:EntityDescriptor",
        vec![("entityID", entity_id.into())],
        vec![el(
            "md:IDPSSODescriptor",
            vec![
                ("WantAuthnRequestsSigned", "false".into()),
                ("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol".into()),
            ],
            kids,
        )],
    )
    .to_xml()
}

/// This provider's metadata as the service provider of an upstream identity provider: its
/// consumer service (HTTP-POST), logout service (HTTP-Redirect), the tenant's signing
/// certificates and the certificate assertions are encrypted for.
pub struct SpMetadata<'a> {
    pub entity_id: &'a str,
    pub acs: &'a str,
    pub slo: &'a str,
    pub signing: &'a [Vec<u8>],
    pub encryption: &'a [u8],
    pub name_id_format: &'a str,
    pub sign_requests: bool,
}

fn key_descriptor(usage: &str, der: &[u8], methods: &[&str]) -> El {
    let mut kids = vec![el(
        "ds:KeyInfo",
        vec![],
        vec![el("ds:X509Data", vec![], vec![text("ds:X509Certificate", vec![], &STANDARD.encode(der))])],
    )];
    kids.extend(
        methods.iter().map(|m| el("md:EncryptionMethod", vec![("Algorithm", m.to_string())], vec![])),
    );
    el("md:KeyDescriptor", vec![("use", usage.into())], kids)
}

pub fn service_provider_of_upstream(m: &SpMetadata<'_>) -> String {
    use super::decrypt::{AES128_GCM, AES256_GCM, RSA_OAEP_MGF1P};
    let mut kids: Vec<El> = m.signing.iter().map(|der| key_descriptor("signing", der, &[])).collect();
    kids.push(key_descriptor("encryption", m.encryption, &[AES256_GCM, AES128_GCM, RSA_OAEP_MGF1P]));
    kids.push(el(
        "md:SingleLogoutService",
        vec![("Binding", BINDING_REDIRECT.into()), ("Location", m.slo.into())],
        vec![],
    ));
    kids.push(text("md:NameIDFormat", vec![], m.name_id_format));
    kids.push(el(
        "md:AssertionConsumerService",
        vec![
            ("Binding", BINDING_POST.into()),
            ("Location", m.acs.into()),
            ("index", "0".into()),
            ("isDefault", "true".into()),
        ],
        vec![],
    ));
    el(
        "md:EntityDescriptor",
        vec![("entityID", m.entity_id.into())],
        vec![el(
            "md:SPSSODescriptor",
            vec![
                ("AuthnRequestsSigned", m.sign_requests.to_string()),
                ("WantAssertionsSigned", "true".into()),
                ("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol".into()),
            ],
            kids,
        )],
    )
    .to_xml()
}

/// What an identity provider's metadata says: its entity ID, its HTTP-Redirect single sign-on
/// and logout services, its signing certificates (base64 DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso: String,
    pub slo: Option<String>,
    pub signing_certificates: Vec<String>,
}

/// The one entity a metadata document describes.
fn entity<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Result<(roxmltree::Node<'a, 'i>, String), Refused> {
    let mut root = doc.root_element();
    if root.tag_name().namespace() != Some(MD_NS) {
        return Err(Refused("this is not SAML 2.0 metadata"));
    }
    if root.tag_name().name() == "EntitiesDescriptor" {
        let mut entities =
            root.children().filter(|c| c.is_element() && c.tag_name().name() == "EntityDescriptor");
        root = entities.next().ok_or(Refused("the metadata describes no entity"))?;
        if entities.next().is_some() {
            return Err(Refused("the metadata describes several entities: register each by its own"));
        }
    }
    if root.tag_name().name() != "EntityDescriptor" {
        return Err(Refused("this is not SAML 2.0 metadata"));
    }
    let entity_id = root
        .attribute("entityID")
        .filter(|e| !e.is_empty() && e.len() <= 1024)
        .ok_or(Refused("the metadata has no entityID"))?;
    Ok((root, entity_id.to_string()))
}

/// The certificates of a role's `KeyDescriptor`s for `usage` (or for any use, when unsaid).
fn certificates(role: roxmltree::Node<'_, '_>, usage: &str) -> Result<Vec<String>, Refused> {
    let mut out = vec![];
    for kd in role.children().filter(|c| c.is_element() && c.tag_name().name() == "KeyDescriptor") {
        let cert = kd
            .descendants()
            .find(|n| {
                n.is_element()
                    && n.tag_name().namespace() == Some(DS_NS)
                    && n.tag_name().name() == "X509Certificate"
            })
            .map(text_of)
            .ok_or(Refused("a KeyDescriptor has no X509Certificate"))?;
        let clean: String = cert.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD.decode(&clean).map_err(|_| Refused("a certificate is not base64"))?;
        x509_parser::parse_x509_certificate(&der).map_err(|_| Refused("a certificate is not X.509"))?;
        if kd.attribute("use").is_none_or(|u| u == usage) {
            out.push(clean);
        }
    }
    Ok(out)
}

pub fn identity_provider_of(xml: &str) -> Result<IdpMetadata, Refused> {
    let doc = parse_at_most(xml, 256 * 1024)?;
    let (root, entity_id) = entity(&doc)?;
    let idp = child(root, MD_NS, "IDPSSODescriptor")?
        .ok_or(Refused("the metadata describes no identity provider"))?;
    let redirect = |name: &str| -> Result<Option<String>, Refused> {
        let found = idp.children().find(|c| {
            c.is_element()
                && c.tag_name().namespace() == Some(MD_NS)
                && c.tag_name().name() == name
                && c.attribute("Binding") == Some(BINDING_REDIRECT)
        });
        let Some(location) = found.and_then(|c| c.attribute("Location")) else { return Ok(None) };
        check_url(location)?;
        Ok(Some(location.to_string()))
    };
    let sso = redirect("SingleSignOnService")?
        .ok_or(Refused("the identity provider has no HTTP-Redirect single sign-on service"))?;
    let signing_certificates = certificates(idp, "signing")?;
    if signing_certificates.is_empty() {
        return Err(Refused("the identity provider's metadata has no signing certificate"));
    }
    Ok(IdpMetadata { entity_id, sso, slo: redirect("SingleLogoutService")?, signing_certificates })
}

/// What a service provider's metadata says, as a registration (the defaults of
/// [`SamlSettings`] for the rest). One `EntityDescriptor` with one `SPSSODescriptor`; a
/// certificate that does not parse as X.509 is refused.
pub fn service_provider(xml: &str) -> Result<SamlSettings, Refused> {
    let doc = parse_at_most(xml, 256 * 1024)?;
    let (root, entity_id) = entity(&doc)?;
    let sp = child(root, MD_NS, "SPSSODescriptor")?
        .ok_or(Refused("the metadata describes no service provider"))?;
    let endpoints = |name: &str| -> Result<Vec<Endpoint>, Refused> {
        sp.children()
            .filter(|c| {
                c.is_element() && c.tag_name().namespace() == Some(MD_NS) && c.tag_name().name() == name
            })
            .map(|c| {
                let location = c.attribute("Location").ok_or(Refused("an endpoint has no Location"))?;
                check_url(location)?;
                if let Some(r) = c.attribute("ResponseLocation") {
                    check_url(r)?;
                }
                Ok(Endpoint {
                    binding: c.attribute("Binding").ok_or(Refused("an endpoint has no Binding"))?.to_string(),
                    location: location.to_string(),
                    response_location: c.attribute("ResponseLocation").map(String::from),
                    index: c.attribute("index").and_then(|i| i.parse().ok()),
                    is_default: c.attribute("isDefault") == Some("true"),
                })
            })
            .collect()
    };
    let acs = endpoints("AssertionConsumerService")?;
    if !acs.iter().any(|e| e.binding == BINDING_POST) {
        return Err(Refused("the service provider has no HTTP-POST assertion consumer service"));
    }
    let signing = certificates(sp, "signing")?;
    let encryption = certificates(sp, "encryption")?;
    let formats: Vec<String> = sp
        .children()
        .filter(|c| {
            c.is_element() && c.tag_name().namespace() == Some(MD_NS) && c.tag_name().name() == "NameIDFormat"
        })
        .map(text_of)
        .filter(|f| {
            [NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_EMAIL, NAMEID_UNSPECIFIED].contains(&f.as_str())
        })
        .collect();
    let defaults = SamlSettings::default();
    let name_id_format = formats.first().cloned().unwrap_or(defaults.name_id_format);
    let mut name_id_formats = defaults.name_id_formats;
    for f in &formats {
        if !name_id_formats.contains(f) {
            name_id_formats.push(f.clone());
        }
    }
    Ok(SamlSettings {
        entity_id,
        acs,
        slo: endpoints("SingleLogoutService")?,
        signing_certificates: signing,
        encryption_certificates: encryption,
        name_id_format,
        name_id_formats,
        authn_requests_signed: sp.attribute("AuthnRequestsSigned") == Some("true"),
        ..SamlSettings::default()
    })
}

/// An endpoint URL: absolute https (http only on loopback), no user information or fragment.
pub fn check_url(u: &str) -> Result<(), Refused> {
    let url = url::Url::parse(u).map_err(|_| Refused("an endpoint Location is not a URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(Refused("an endpoint uses https (http only on localhost)"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(Refused("an endpoint has user information or a fragment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_metadata_and_theirs() {
        let ours = identity_provider("https://idp/t/x/saml", "https://idp/t/x/saml/sso", None, &[]);
        let doc = roxmltree::Document::parse(&ours).unwrap();
        assert_eq!(doc.root_element().attribute("entityID"), Some("https://idp/t/x/saml"));
        let sp = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp/meta">
            <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp/logout"/>
            <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
            <md:AssertionConsumerService index="0" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp/acs"/>
            </md:SPSSODescriptor></md:EntityDescriptor>"#;
        let s = service_provider(sp).unwrap();
        assert_eq!(s.entity_id, "https://sp/meta");
        assert!(s.authn_requests_signed);
        assert_eq!(s.name_id_format, NAMEID_TRANSIENT);
        assert_eq!(s.acs_for(None, None).unwrap().location, "https://sp/acs");
        assert_eq!(s.slo[0].location, "https://sp/logout");
        assert!(service_provider(&sp.replace("https://sp/acs", "http://sp/acs")).is_err());
        assert!(service_provider(&sp.replace("HTTP-POST", "HTTP-Artifact")).is_err());
        assert!(service_provider("<x/>").is_err());
    }
}
