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

/// What a service provider's metadata says, as a registration (the defaults of
/// [`SamlSettings`] for the rest). One `EntityDescriptor` with one `SPSSODescriptor`; a
/// certificate that does not parse as X.509 is refused.
pub fn service_provider(xml: &str) -> Result<SamlSettings, Refused> {
    let doc = parse_at_most(xml, 256 * 1024)?;
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
    let mut signing = vec![];
    let mut encryption = vec![];
    for kd in sp.children().filter(|c| c.is_element() && c.tag_name().name() == "KeyDescriptor") {
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
        match kd.attribute("use") {
            Some("signing") => signing.push(clean),
            Some("encryption") => encryption.push(clean),
            _ => {
                signing.push(clean.clone());
                encryption.push(clean);
            }
        }
    }
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
        entity_id: entity_id.to_string(),
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
fn check_url(u: &str) -> Result<(), Refused> {
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
