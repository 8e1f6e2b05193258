//! This provider as a SAML 2.0 service provider of an upstream identity provider (identity
//! brokering; Profiles §4.1 Web Browser SSO): the `AuthnRequest` it sends by HTTP-Redirect and
//! the checks the `Response` posted back must pass before anything in it counts.
//!
//! What a response must be (Profiles §4.1.4.2-3, Core §2.5, §2.7.2), refused otherwise:
//! - an answer to the request this provider sent (`InResponseTo`), to its consumer service
//!   (`Destination`, the bearer confirmation's `Recipient`), from the identity provider
//!   (`Issuer` of the response and of the assertion), with status Success;
//! - exactly one assertion, plain or encrypted for this provider (`super::decrypt`), signed by
//!   the identity provider itself or inside a signed response (`super::verify`: what is
//!   verified is what is read);
//! - for this provider (`AudienceRestriction`), within its times (`NotBefore`,
//!   `NotOnOrAfter`, with [`CLOCK_SKEW`]); no condition this provider does not understand;
//! - naming the person by a `NameID` that is not `transient` (a link needs a subject that names
//!   the same person next time), with one `AuthnStatement`.
//!
//! Replays are the caller's to refuse: [`Answer::assertion_id`] is remembered until
//! [`Answer::use_by`], and the request's record is taken once.

use std::collections::BTreeMap;

use roxmltree::Node;

use super::read::{ASSERTION_NS, PROTOCOL_NS, Refused, child, instant, parse_at_most, text_of};
use super::xml::{El, el, text};
use super::{BINDING_POST, CLOCK_SKEW, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED, status};
use crate::identifiers::CalendarDate;

/// The largest response accepted, decoded (a signed, encrypted assertion with its certificate
/// is some 20 KiB): what the POST binding's reader takes.
pub const MAX_RESPONSE: usize = super::read::MAX_MESSAGE;
/// How old an assertion may be when it arrives.
const MAX_AGE: i64 = 10 * 60;
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// An `AuthnRequest` to an upstream identity provider.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub id: &'a str,
    /// This provider's entity ID as the upstream's service provider.
    pub issuer: &'a str,
    pub destination: &'a str,
    pub acs: &'a str,
    pub name_id_format: &'a str,
    /// A fresh sign-in is needed (`prompt=login`, or a `max_age` to meet).
    pub force: bool,
    /// The authentication context classes to ask for (`exact`), if any.
    pub classes: &'a [String],
    pub now: i64,
}

pub fn authn_request(r: &Request<'_>) -> El {
    let mut attrs =
        vec![("AssertionConsumerServiceURL", r.acs.to_string()), ("Destination", r.destination.to_string())];
    if r.force {
        attrs.push(("ForceAuthn", "true".into()));
    }
    attrs.extend([
        ("ID", r.id.to_string()),
        ("IssueInstant", CalendarDate::rfc3339_utc(r.now)),
        ("ProtocolBinding", BINDING_POST.to_string()),
        ("Version", "2.0".to_string()),
    ]);
    let mut kids = vec![
        text("saml:Issuer", vec![], r.issuer),
        el(
            "samlp:NameIDPolicy",
            vec![("AllowCreate", "true".into()), ("Format", r.name_id_format.into())],
            vec![],
        ),
    ];
    if !r.classes.is_empty() {
        kids.push(el(
            "samlp:RequestedAuthnContext",
            vec![("Comparison", "exact".into())],
            r.classes.iter().map(|c| text("saml:AuthnContextClassRef", vec![], c)).collect(),
        ));
    }
    el("samlp:AuthnRequest", attrs, kids)
}

/// What the response must answer, and with which keys.
#[derive(Clone, Copy)]
pub struct Expect<'a> {
    /// The identity provider's entity ID.
    pub idp: &'a str,
    /// This provider's entity ID (the audience).
    pub sp: &'a str,
    /// This provider's consumer service (destination and recipient).
    pub acs: &'a str,
    pub request_id: &'a str,
    /// The NameID format asked for; the NameID must be of it (a missing `Format` is
    /// `unspecified`).
    pub name_id_format: &'a str,
    /// The identity provider's signing certificates (DER).
    pub certificates: &'a [Vec<u8>],
    /// This provider's decryption key (PKCS#8) for the upstream, if it holds one.
    pub decrypt_key: Option<&'a [u8]>,
    pub require_encryption: bool,
    pub allow_cbc: bool,
    pub now: i64,
}

/// What a checked assertion says.
#[derive(Clone, PartialEq, Eq)]
pub struct Answer {
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub authn_instant: i64,
    /// The `AuthnContextClassRef`.
    pub class: Option<String>,
    /// Each attribute's values, by `Name`.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub assertion_id: String,
    pub issued_at: i64,
    /// Until when the assertion could be accepted (remember its ID that long).
    pub use_by: i64,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer").field("class", &self.class).finish_non_exhaustive()
    }
}

fn is(n: Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
}

fn time_of(n: Node<'_, '_>, attr: &str) -> Result<Option<i64>, Refused> {
    match n.attribute(attr) {
        None => Ok(None),
        Some(v) => instant(v).map(Some).ok_or(Refused("a time is not an xs:dateTime in UTC")),
    }
}

/// An `Issuer` that must be the identity provider (`required`: it must be there).
fn check_issuer(n: Node<'_, '_>, idp: &str, required: bool) -> Result<(), Refused> {
    match child(n, ASSERTION_NS, "Issuer")? {
        None if required => Err(Refused("the assertion names no issuer")),
        None => Ok(()),
        Some(i) => {
            if i.attribute("Format").is_some_and(|f| f != ENTITY) || text_of(i) != idp {
                return Err(Refused("the message is from another identity provider"));
            }
            Ok(())
        }
    }
}

/// Checks a `Response` (its XML, decoded from the POST binding) against `e`.
pub fn response(xml: &str, e: &Expect<'_>) -> Result<Answer, Refused> {
    let doc = parse_at_most(xml, MAX_RESPONSE)?;
    let root = doc.root_element();
    if !is(root, PROTOCOL_NS, "Response") || root.attribute("Version") != Some("2.0") {
        return Err(Refused("this is not a SAML 2.0 Response"));
    }
    let signed = super::verify::enveloped(root, e.certificates)?;
    match root.attribute("Destination") {
        Some(d) if d != e.acs => return Err(Refused("the response is for another consumer service")),
        None if signed => return Err(Refused("a signed response names no destination")),
        _ => {}
    }
    if root.attribute("InResponseTo") != Some(e.request_id) {
        return Err(Refused("the response does not answer this provider's request"));
    }
    let mut assertions = root
        .children()
        .filter(|c| is(*c, ASSERTION_NS, "Assertion") || is(*c, ASSERTION_NS, "EncryptedAssertion"));
    let a = assertions.next().ok_or(Refused("the response carries no assertion"))?;
    if assertions.next().is_some() {
        return Err(Refused("the response carries more than one assertion"));
    }
    let encrypted = a.tag_name().name() == "EncryptedAssertion";
    // Profiles §4.1.4.2: a signed or encrypting response names its issuer
    check_issuer(root, e.idp, signed || encrypted)?;
    let code = child(root, PROTOCOL_NS, "Status")?
        .and_then(|s| child(s, PROTOCOL_NS, "StatusCode").ok().flatten())
        .and_then(|c| c.attribute("Value"));
    if code != Some(status::SUCCESS) {
        return Err(Refused("the identity provider did not sign the person in"));
    }
    if !encrypted {
        if e.require_encryption {
            return Err(Refused("the assertion was not encrypted"));
        }
        return assertion(a, e, signed);
    }
    let key = e.decrypt_key.ok_or(Refused("the assertion is encrypted and no key is held for it"))?;
    // CBC has no integrity of its own: opened only when the response's signature covers the
    // ciphertext, so a changed ciphertext is refused before it is decrypted (no padding oracle)
    let plain = super::decrypt::assertion(a, key, e.allow_cbc && signed)?;
    let inner = parse_at_most(&plain, MAX_RESPONSE)?;
    let a = inner.root_element();
    if !is(a, ASSERTION_NS, "Assertion") {
        return Err(Refused("the encrypted element is not an assertion"));
    }
    assertion(a, e, signed)
}

/// Checks the assertion `a` (`response_signed`: the response around it verified).
fn assertion(a: Node<'_, '_>, e: &Expect<'_>, response_signed: bool) -> Result<Answer, Refused> {
    let signed = super::verify::enveloped(a, e.certificates)?;
    if !signed && !response_signed {
        return Err(Refused("neither the response nor its assertion is signed"));
    }
    if a.attribute("Version") != Some("2.0") {
        return Err(Refused("this is not a SAML 2.0 assertion"));
    }
    let id = a
        .attribute("ID")
        .filter(|i| !i.is_empty() && i.len() <= 256)
        .ok_or(Refused("the assertion has no ID"))?;
    check_issuer(a, e.idp, true)?;
    let (now, skew) = (e.now, CLOCK_SKEW);
    let issued = time_of(a, "IssueInstant")?.ok_or(Refused("the assertion has no IssueInstant"))?;
    if issued > now + skew || issued < now - MAX_AGE - skew {
        return Err(Refused("the assertion was not issued just now"));
    }
    let subject = child(a, ASSERTION_NS, "Subject")?.ok_or(Refused("the assertion has no subject"))?;
    let name = child(subject, ASSERTION_NS, "NameID")?
        .ok_or(Refused("the subject is not named by a NameID (an EncryptedID is not accepted)"))?;
    let format = name.attribute("Format").map(str::to_string);
    if format.as_deref() == Some(NAMEID_TRANSIENT) {
        return Err(Refused("a transient NameID names nobody twice: ask for persistent"));
    }
    // the subject is the NameID of the format asked for, qualified (when it says) by this
    // identity provider for this provider: a value of another format (an email address, a
    // user name) could equal someone's persistent identifier
    if format.as_deref().unwrap_or(NAMEID_UNSPECIFIED) != e.name_id_format {
        return Err(Refused("the NameID is not of the format asked for"));
    }
    if name.attribute("NameQualifier").is_some_and(|q| q != e.idp)
        || name.attribute("SPNameQualifier").is_some_and(|q| q != e.sp)
    {
        return Err(Refused("the NameID is qualified for another party"));
    }
    let name_id = text_of(name);
    if name_id.is_empty() || name_id.len() > 255 || name_id.chars().any(char::is_control) {
        return Err(Refused("the NameID is empty, too long or not text"));
    }
    let confirmed_until = subject
        .children()
        .filter(|c| is(*c, ASSERTION_NS, "SubjectConfirmation") && c.attribute("Method") == Some(BEARER))
        .filter_map(|c| child(c, ASSERTION_NS, "SubjectConfirmationData").ok().flatten())
        .filter(|d| {
            d.attribute("Recipient") == Some(e.acs) && d.attribute("InResponseTo") == Some(e.request_id)
        })
        .filter(|d| d.attribute("NotBefore").is_none())
        .filter_map(|d| time_of(d, "NotOnOrAfter").ok().flatten())
        .filter(|until| *until > now - skew)
        .max()
        .ok_or(Refused("no bearer confirmation of the subject is for this request, here and now"))?;
    let conditions =
        child(a, ASSERTION_NS, "Conditions")?.ok_or(Refused("the assertion has no conditions"))?;
    if time_of(conditions, "NotBefore")?.is_some_and(|t| t > now + skew) {
        return Err(Refused("the assertion is not valid yet"));
    }
    let until = time_of(conditions, "NotOnOrAfter")?;
    if until.is_some_and(|t| t <= now - skew) {
        return Err(Refused("the assertion has expired"));
    }
    let mut audiences = 0;
    for c in conditions.children().filter(|c| c.is_element()) {
        match (c.tag_name().namespace() == Some(ASSERTION_NS), c.tag_name().name()) {
            (true, "AudienceRestriction") => {
                audiences += 1;
                if !c.children().any(|x| is(x, ASSERTION_NS, "Audience") && text_of(x) == e.sp) {
                    return Err(Refused("the assertion is for another audience"));
                }
            }
            (true, "OneTimeUse") => {}
            // this provider asserts onward what it is told: an identity provider that forbids
            // or limits that (Core §2.5.1.6) is not brokered
            (true, "ProxyRestriction") => {
                return Err(Refused("the assertion restricts proxying, which a broker cannot honour"));
            }
            _ => return Err(Refused("the assertion has a condition this provider does not understand")),
        }
    }
    if audiences == 0 {
        return Err(Refused("the assertion names no audience"));
    }
    let mut statements = a.children().filter(|c| is(*c, ASSERTION_NS, "AuthnStatement"));
    let authn = statements.next().ok_or(Refused("the assertion has no AuthnStatement"))?;
    if statements.next().is_some() {
        return Err(Refused("the assertion has more than one AuthnStatement"));
    }
    let authn_instant =
        time_of(authn, "AuthnInstant")?.ok_or(Refused("the AuthnStatement has no AuthnInstant"))?;
    if authn_instant > now + skew {
        return Err(Refused("the AuthnInstant is in the future"));
    }
    if time_of(authn, "SessionNotOnOrAfter")?.is_some_and(|t| t <= now) {
        return Err(Refused("the identity provider's session has ended"));
    }
    let session_index = authn.attribute("SessionIndex").filter(|s| s.len() <= 255).map(str::to_string);
    let class = child(authn, ASSERTION_NS, "AuthnContext")?
        .and_then(|c| child(c, ASSERTION_NS, "AuthnContextClassRef").ok().flatten())
        .map(text_of)
        .filter(|c| !c.is_empty() && c.len() <= 255);
    Ok(Answer {
        name_id,
        name_id_format: format,
        session_index,
        authn_instant,
        class,
        attributes: attributes(a)?,
        assertion_id: id.to_string(),
        issued_at: issued,
        // accepted no later than its confirmation allows and no older than MAX_AGE
        use_by: confirmed_until.min(issued + MAX_AGE) + skew,
    })
}

/// The attributes of the assertion's statements: values as text, bounded.
fn attributes(a: Node<'_, '_>) -> Result<BTreeMap<String, Vec<String>>, Refused> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let all = a
        .children()
        .filter(|c| is(*c, ASSERTION_NS, "AttributeStatement"))
        .flat_map(|s| s.children().filter(|c| is(*c, ASSERTION_NS, "Attribute")));
    for attr in all {
        let name = attr.attribute("Name").unwrap_or_default();
        if name.is_empty() || name.len() > 255 || out.len() >= 64 {
            return Err(Refused("an attribute has no name, too long a name, or there are too many"));
        }
        let values: Vec<String> = attr
            .children()
            .filter(|c| is(*c, ASSERTION_NS, "AttributeValue"))
            .map(text_of)
            .filter(|v| v.len() <= 1024 && !v.chars().any(|c| c.is_control() && c != '\n'))
            .take(16)
            .collect();
        out.entry(name.to_string()).or_default().extend(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
