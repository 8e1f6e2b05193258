//! SAML 2.0 identity provider (OASIS SAML 2.0 Core, Bindings, Profiles, Metadata): the rules of
//! the SAML front-end that need no HTTP.
//!
//! - A service provider is a client of type `saml` in the client register ([`SamlSettings`],
//!   filled from its metadata, [`metadata::service_provider`]): consent, purposes, levels and
//!   acting contexts apply to it as to any party; its attributes are the claims of the scopes
//!   the person consented to.
//! - What it sends is read defensively ([`read`]); what we send is written canonical by
//!   construction and signed with the tenant's RS256 key ([`xml`]).
//! - `RequestedAuthnContext` maps onto the engine's levels ([`required_level`]); `ForceAuthn`
//!   and `IsPassive` onto a fresh sign-in and a sign-in without pages.
//! - NameIDs: `persistent` is pairwise per service provider (the pairwise `sub` of its sector,
//!   `saml:` + its entity ID unless it shares a sector), `transient` is random per assertion,
//!   `emailAddress` a verified address, and only where the registration allows the format.

use serde::{Deserialize, Serialize};

pub mod decrypt;
pub mod logout;
pub mod metadata;
pub mod read;
pub mod response;
pub mod sp;
pub mod verify;
pub mod xml;

pub use read::Comparison;

pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const BINDING_SOAP: &str = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP";

/// Status codes (Core §3.2.2.2).
pub mod status {
    pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
    pub const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
    pub const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    pub const NO_PASSIVE: &str = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
    pub const NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
    pub const REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
    pub const INVALID_NAMEID_POLICY: &str = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy";
    pub const AUTHN_FAILED: &str = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
}

/// How long an assertion may be used after it is issued, and how far clocks may disagree.
pub const ASSERTION_LIFE: i64 = 300;
pub const CLOCK_SKEW: i64 = 180;
/// How old an `AuthnRequest` may be.
pub const REQUEST_MAX_AGE: i64 = 300;

/// An endpoint of a service provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub binding: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default)]
    pub is_default: bool,
}

/// A service provider's registration, in its client's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamlSettings {
    pub entity_id: String,
    /// Assertion consumer services (only HTTP-POST ones are used).
    pub acs: Vec<Endpoint>,
    pub slo: Vec<Endpoint>,
    /// Certificates (base64 DER) its signed requests verify with.
    pub signing_certificates: Vec<String>,
    /// Certificates (base64 DER) assertions would be encrypted for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encryption_certificates: Vec<String>,
    /// The NameID format used when the request names none (or `unspecified`).
    pub name_id_format: String,
    /// The formats it may ask for.
    pub name_id_formats: Vec<String>,
    /// Its requests must be signed (metadata `AuthnRequestsSigned`, or the administrator).
    pub authn_requests_signed: bool,
    pub sign_response: bool,
    pub sign_assertion: bool,
    /// Encrypt its assertions for its encryption certificate.
    #[serde(default)]
    pub encrypt_assertions: bool,
    /// It takes unsolicited (IdP-initiated) responses at `/saml/init`.
    #[serde(default)]
    pub idp_initiated: bool,
    /// Where its metadata was fetched from, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
}

impl Default for SamlSettings {
    fn default() -> Self {
        Self {
            entity_id: String::new(),
            acs: vec![],
            slo: vec![],
            signing_certificates: vec![],
            encryption_certificates: vec![],
            name_id_format: NAMEID_PERSISTENT.into(),
            name_id_formats: vec![NAMEID_PERSISTENT.into(), NAMEID_TRANSIENT.into()],
            authn_requests_signed: false,
            sign_response: true,
            sign_assertion: true,
            encrypt_assertions: false,
            idp_initiated: false,
            metadata_url: None,
        }
    }
}

impl SamlSettings {
    pub fn is_empty(&self) -> bool {
        self.entity_id.is_empty()
    }

    /// The assertion consumer service a request names (by URL or index), or the default one;
    /// `None` when it names one not registered, or one that is not HTTP-POST.
    pub fn acs_for(&self, url: Option<&str>, index: Option<u32>) -> Option<&Endpoint> {
        let post = self.acs.iter().filter(|e| e.binding == BINDING_POST);
        match (url, index) {
            (Some(_), Some(_)) => None,
            (Some(u), None) => post.into_iter().find(|e| e.location == u),
            (None, Some(i)) => post.into_iter().find(|e| e.index == Some(i)),
            (None, None) => {
                let all: Vec<&Endpoint> = post.collect();
                all.iter()
                    .find(|e| e.is_default)
                    .or_else(|| all.iter().min_by_key(|e| e.index.unwrap_or(u32::MAX)))
                    .copied()
            }
        }
    }

    /// The certificate assertions are encrypted for, decoded.
    pub fn encryption_der(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        self.encryption_certificates
            .first()
            .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
    }

    /// The signing certificates, decoded.
    pub fn signing_ders(&self) -> Vec<Vec<u8>> {
        use base64::Engine;
        self.signing_certificates
            .iter()
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .collect()
    }
}

/// A sign-in for a service provider, kept with the interaction until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlLogin {
    pub client_id: String,
    pub entity_id: String,
    /// The `AuthnRequest`'s ID (`InResponseTo`); `None` for an IdP-initiated sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The assertion consumer service (HTTP-POST) the answer goes to.
    pub acs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_state: Option<String>,
    pub release: Vec<String>,
    pub force: bool,
    pub passive: bool,
    pub name_id_format: String,
    /// The level the requested authentication context needs (`aal1`, `aal2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// The requested classes, to name one of them in the assertion (`exact`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The authentication context classes this provider knows, and the level each stands for.
const CLASSES: &[(&str, &str)] = &[
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified", "aal1"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:Password", "aal1"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", "aal1"),
    ("https://refeds.org/profile/sfa", "aal1"),
    ("https://refeds.org/profile/mfa", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:X509", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard", "aal2"),
    ("urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", "aal2"),
    ("aal1", "aal1"),
    ("aal2", "aal2"),
    ("aal3", "aal3"),
];

/// The level a class stands for (0 for classes this provider does not know).
fn class_level(class: &str) -> usize {
    CLASSES.iter().find(|(c, _)| *c == class).map_or(0, |(_, l)| crate::policy::level(l))
}

/// No sign-in here can meet the requested authentication context (`NoAuthnContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmet;

/// The level a `RequestedAuthnContext` needs (Core §3.3.2.2.1), `Ok(None)` for none.
pub fn required_level(requested: Option<&(Comparison, Vec<String>)>) -> Result<Option<&'static str>, Unmet> {
    let Some((comparison, classes)) = requested else { return Ok(None) };
    let known: Vec<usize> = classes.iter().map(|c| class_level(c)).filter(|l| *l > 0).collect();
    let offered = crate::policy::OFFERED.len();
    let need = match comparison {
        // any listed class will do: the weakest known one
        Comparison::Exact | Comparison::Minimum => known.iter().min().copied().ok_or(Unmet)?,
        // stronger than every listed one
        Comparison::Better => known.iter().max().copied().ok_or(Unmet)? + 1,
        // no stronger than the strongest listed: any sign-in is at least aal1
        Comparison::Maximum => {
            if known.is_empty() {
                return Err(Unmet);
            }
            1
        }
    };
    if need > offered {
        return Err(Unmet);
    }
    Ok((need > 1).then(|| crate::policy::LEVELS[need - 1]))
}

/// The class the assertion names for a session at `acr`: one of the requested classes the
/// session meets (the strongest such), else the provider's class for the level.
pub fn class_for(acr: &str, requested: &[String]) -> String {
    let have = crate::policy::level(acr);
    if let Some(c) =
        requested.iter().filter(|c| (1..=have).contains(&class_level(c))).max_by_key(|c| class_level(c))
    {
        return c.clone();
    }
    if have >= 2 { "https://refeds.org/profile/mfa".into() } else { CLASSES[2].0.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(c: Comparison, classes: &[&str]) -> Option<(Comparison, Vec<String>)> {
        Some((c, classes.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn requested_contexts_map_onto_levels() {
        let ppt = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
        let mfa = "https://refeds.org/profile/mfa";
        assert_eq!(required_level(None), Ok(None));
        assert_eq!(required_level(req(Comparison::Exact, &[ppt]).as_ref()), Ok(None));
        assert_eq!(required_level(req(Comparison::Exact, &[mfa]).as_ref()), Ok(Some("aal2")));
        assert_eq!(required_level(req(Comparison::Exact, &[mfa, ppt]).as_ref()), Ok(None));
        assert_eq!(required_level(req(Comparison::Minimum, &[mfa]).as_ref()), Ok(Some("aal2")));
        assert_eq!(required_level(req(Comparison::Better, &[ppt]).as_ref()), Ok(Some("aal2")));
        assert_eq!(required_level(req(Comparison::Better, &[mfa]).as_ref()), Err(Unmet));
        assert_eq!(required_level(req(Comparison::Exact, &["urn:example:retina"]).as_ref()), Err(Unmet));
        assert_eq!(required_level(req(Comparison::Exact, &["aal3"]).as_ref()), Err(Unmet));
        assert_eq!(required_level(req(Comparison::Maximum, &[mfa]).as_ref()), Ok(None));
        assert_eq!(class_for("aal2", &[ppt.into(), mfa.into()]), mfa);
        assert_eq!(class_for("aal1", &[ppt.into(), mfa.into()]), ppt);
        assert_eq!(class_for("aal2", &[]), mfa);
        assert_eq!(class_for("aal1", &[]), ppt);
    }

    #[test]
    fn the_acs_is_a_registered_post_endpoint() {
        let e = |loc: &str, index: u32, binding: &str, is_default: bool| Endpoint {
            binding: binding.into(),
            location: loc.into(),
            response_location: None,
            index: Some(index),
            is_default,
        };
        let s = SamlSettings {
            acs: vec![
                e("https://sp/artifact", 0, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact", false),
                e("https://sp/acs", 1, BINDING_POST, false),
                e("https://sp/acs2", 2, BINDING_POST, true),
            ],
            ..SamlSettings::default()
        };
        assert_eq!(s.acs_for(None, None).unwrap().location, "https://sp/acs2");
        assert_eq!(s.acs_for(Some("https://sp/acs"), None).unwrap().location, "https://sp/acs");
        assert!(s.acs_for(Some("https://evil/acs"), None).is_none());
        assert!(s.acs_for(Some("https://sp/artifact"), None).is_none());
        assert_eq!(s.acs_for(None, Some(1)).unwrap().location, "https://sp/acs");
        assert!(s.acs_for(Some("https://sp/acs"), Some(1)).is_none());
    }
}
