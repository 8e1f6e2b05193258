//! Identity brokering: what counts from an upstream OpenID provider's answer, and to which
//! account a first sign-in through it goes.
//!
//! - **Assurance.** The operator's rules ([`LevelRule`]) map the ID token's `acr` and the
//!   OpenID Connect for Identity Assurance `verified_claims` (their `trust_framework` and
//!   `assurance_level`) onto real-name levels; nothing an upstream says reaches a level no rule
//!   gives ([`level_for`], [`read_identity`]). The session's own level comes from `acr_map`
//!   and is never above `aal2` ([`session_acr`]).
//! - **Linking** ([`decide_link`]) looks at the upstream's subject, the keyed hash of a verified
//!   ID number and an account the person proved in this sign-in — never at an email address
//!   or a phone number, which anyone can assert upstream: [`LinkFacts`] has no field for them.

use serde_json::Value;

use crate::model::{LevelRule, RealName, UpstreamLink, UpstreamSettings};

/// The identity an upstream verified, as its answer and the operator's mapping give it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub name: String,
    /// `resident_id` and the others of `crate::identifiers::PersonIdKind`.
    pub id_type: String,
    /// Normalised (`crate::identifiers::parse_person_id`).
    pub id_number: String,
    /// 1-4, from the operator's rules.
    pub level: i64,
    /// When the upstream verified it (no later than now).
    pub time: i64,
    /// The upstream's reference of its check.
    pub txn: Option<String>,
}

impl std::fmt::Debug for VerifiedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdentity").field("level", &self.level).finish_non_exhaustive()
    }
}

/// The elements of a `verified_claims` claim: one object, or an array of them (OIDC4IDA §5).
fn elements(verified: Option<&Value>) -> Vec<&Value> {
    match verified {
        Some(Value::Array(items)) => items.iter().filter(|v| v.is_object()).collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    }
}

/// Whether `rule` holds for `acr` and one `verified_claims` element (`None`: none asserted).
fn holds(rule: &LevelRule, acr: Option<&str>, element: Option<&Value>) -> bool {
    let verification = element.map(|e| &e["verification"]);
    let field = |name: &str| verification.and_then(|v| v[name].as_str());
    rule.acr.as_deref().is_none_or(|want| acr == Some(want))
        && rule.trust_framework.as_deref().is_none_or(|want| field("trust_framework") == Some(want))
        && rule.assurance_level.as_deref().is_none_or(|want| field("assurance_level") == Some(want))
}

/// The level of the highest rule that holds for `acr` and `element` (0: none).
fn level_of(rules: &[LevelRule], acr: Option<&str>, element: Option<&Value>) -> i64 {
    let most = crate::realname::REAL_PERSON;
    rules.iter().filter(|r| holds(r, acr, element)).map(|r| r.level.clamp(0, most)).max().unwrap_or(0)
}

/// The level at which a `verified_claims` element's identity counts: that of the highest rule
/// naming a trust framework that holds for it. A rule on `acr` alone rates how the person
/// signed in upstream, never whose identity an element asserts.
fn identity_level(rules: &[LevelRule], acr: Option<&str>, element: &Value) -> i64 {
    let framework_rules: Vec<LevelRule> =
        rules.iter().filter(|r| r.trust_framework.is_some()).cloned().collect();
    level_of(&framework_rules, acr, Some(element))
}

/// The highest real-name level the rules give an answer with this `acr` and `verified_claims`
/// (0: none).
pub fn level_for(rules: &[LevelRule], acr: Option<&str>, verified: Option<&Value>) -> i64 {
    let mut best = level_of(rules, acr, None);
    for e in elements(verified) {
        best = best.max(level_of(rules, acr, Some(e)));
    }
    best
}

/// The verified identity in an answer: from the `verified_claims` element the rules rate
/// highest that carries a valid name and ID number of the expected type; `None` when no rule
/// gives it a level or no element carries one.
pub fn read_identity(
    s: &UpstreamSettings,
    acr: Option<&str>,
    verified: Option<&Value>,
    now: i64,
) -> Option<VerifiedIdentity> {
    let p = &s.identity;
    elements(verified)
        .into_iter()
        .filter_map(|e| {
            let level = identity_level(&s.levels, acr, e);
            if level < 1 {
                return None;
            }
            let name = e.pointer(&p.name)?.as_str()?.trim();
            if name.is_empty() || name.chars().count() > 64 {
                return None;
            }
            let id_type = match &p.id_type {
                Some(ptr) => e.pointer(ptr)?.as_str()?.to_string(),
                None => p.default_id_type.clone(),
            };
            let id =
                crate::identifiers::parse_person_id(e.pointer(&p.id_number)?.as_str()?.trim(), now).ok()?;
            if id.kind.as_str() != id_type {
                return None;
            }
            let time = e
                .pointer(&p.time)
                .and_then(Value::as_str)
                .and_then(crate::saml::read::instant)
                .map_or(now, |t| t.min(now));
            let txn = e
                .pointer(&p.txn)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty() && t.len() <= 128)
                .map(str::to_string);
            Some(VerifiedIdentity { name: name.to_string(), id_type, id_number: id.number, level, time, txn })
        })
        .max_by_key(|v| v.level)
}

/// The session's level for a sign-in through the upstream: what `acr_map` says for its `acr`,
/// `aal1` when it says nothing (`crate::policy::OFFERED`).
pub fn session_acr(s: &UpstreamSettings, acr: Option<&str>) -> &'static str {
    match acr.and_then(|a| s.acr_map.get(a)).map(String::as_str) {
        Some("aal2") => "aal2",
        _ => "aal1",
    }
}

/// The trust framework under which a SAML upstream's assertion is read as `verified_claims`.
pub const SAML_FRAMEWORK: &str = "saml";

/// The attribute mapping's keys (`SamlUpstream::attributes`).
pub const SAML_ATTRIBUTE_KEYS: &[&str] = &["name", "id_number", "id_type", "assurance_level", "txn"];

/// A SAML upstream's assertion as one `verified_claims` element, so the same rules and
/// pointers read it as an OpenID provider's: `trust_framework` [`SAML_FRAMEWORK`], the
/// `assurance_level` and evidence `txn` from the mapped attributes (the assertion's ID when no
/// `txn` is mapped), `time` the assertion's issue instant, and the mapped attributes' first
/// values under `claims`. `None` when no identity attribute is mapped.
pub fn saml_verified_claims(
    mapping: &std::collections::BTreeMap<String, String>,
    attributes: &std::collections::BTreeMap<String, Vec<String>>,
    assertion_id: &str,
    issued_at: i64,
) -> Option<Value> {
    let value = |key: &str| {
        let name = mapping.get(key)?;
        attributes.get(name)?.first().map(|v| v.trim().to_string())
    };
    mapping.get("name").or(mapping.get("id_number"))?;
    let mut claims = serde_json::Map::new();
    for key in ["name", "id_number", "id_type"] {
        if let Some(v) = value(key) {
            claims.insert(key.into(), Value::String(v));
        }
    }
    let mut verification = serde_json::json!({
        "trust_framework": SAML_FRAMEWORK,
        "time": crate::identifiers::CalendarDate::rfc3339_utc(issued_at),
        "evidence": [{"check_details": [{"txn": value("txn").unwrap_or_else(|| assertion_id.to_string())}]}],
    });
    if let Some(level) = value("assurance_level") {
        verification["assurance_level"] = Value::String(level);
    }
    Some(serde_json::json!({"verification": verification, "claims": claims}))
}

/// Checks a SAML upstream's own settings.
fn check_saml(saml: &crate::model::SamlUpstream) -> Result<(), String> {
    crate::saml::metadata::check_url(&saml.sso_url).map_err(|e| format!("saml.sso_url: {e}"))?;
    if let Some(slo) = &saml.slo_url {
        crate::saml::metadata::check_url(slo).map_err(|e| format!("saml.slo_url: {e}"))?;
    }
    if saml.signing_certificates.is_empty() {
        return Err("saml.signing_certificates: at least one (base64 DER), from its metadata".into());
    }
    for c in &saml.signing_certificates {
        let der = crate::crypto::b64_std_decode(c).ok_or("saml.signing_certificates: base64 DER")?;
        x509_parser::parse_x509_certificate(&der)
            .map_err(|_| "saml.signing_certificates: X.509 certificates")?;
    }
    if ![crate::saml::NAMEID_PERSISTENT, crate::saml::NAMEID_UNSPECIFIED]
        .contains(&saml.name_id_format.as_str())
    {
        return Err(
            "saml.name_id_format: persistent or unspecified (a transient NameID names nobody twice)".into()
        );
    }
    if let Some(k) = saml.attributes.keys().find(|k| !SAML_ATTRIBUTE_KEYS.contains(&k.as_str())) {
        return Err(format!("saml.attributes: {k:?} is not one of {}", SAML_ATTRIBUTE_KEYS.join(", ")));
    }
    if saml.attributes.values().any(|v| v.is_empty() || v.len() > 255) {
        return Err("saml.attributes: attribute names of 1-255 characters".into());
    }
    Ok(())
}

/// The ID token algorithms an upstream may be trusted with: asymmetric only (a symmetric
/// signature would be made with the secret this provider holds too).
pub const ID_TOKEN_ALGS: &[&str] =
    &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/// Checks an upstream's settings before they are stored; the error names the setting.
pub fn check(s: &UpstreamSettings) -> Result<(), String> {
    let blank = |n: &str| n.trim().is_empty();
    let too_long = |n: &str| n.chars().count() > 40 || n.chars().any(char::is_control);
    if (blank(&s.name_zh) && blank(&s.name_en)) || too_long(&s.name_zh) || too_long(&s.name_en) {
        return Err("name_zh or name_en: the button's words, 1-40 characters".into());
    }
    if [s.saml.is_some(), s.netid.is_some(), s.licence.is_some()].iter().filter(|k| **k).count() > 1 {
        return Err("saml, netid and licence: one kind of upstream".into());
    }
    if let Some(licence) = &s.licence {
        let known = |r: &String| crate::licence::role_here(r).is_some();
        if licence.roles.is_empty() || !licence.roles.iter().all(known) {
            let all: Vec<&str> = crate::licence::ROLES.iter().map(|(r, _)| *r).collect();
            return Err(format!("licence.roles: one or more of {}", all.join(", ")));
        }
    } else if let Some(netid) = &s.netid {
        if !crate::netid::MODES.contains(&netid.mode.as_str()) {
            return Err(format!("netid.mode: one of {}", crate::netid::MODES.join(", ")));
        }
    } else if let Some(saml) = &s.saml {
        check_saml(saml)?;
    } else if !s.scopes.iter().any(|x| x == "openid")
        || s.scopes.iter().any(|x| x.is_empty() || x.contains(' '))
    {
        return Err("scopes: openid and scope names without spaces".into());
    }
    // level 4 is a check in person at this provider's own counter (docs/domain.md): no upstream
    // answer reaches it
    if let Some(r) = s.levels.iter().find(|r| !(1..=crate::realname::REAL_PERSON).contains(&r.level)) {
        return Err(format!("levels: a rule's level is 1-3 (4 is this provider's counter), not {}", r.level));
    }
    if s.levels.iter().any(|r| r.acr.is_none() && r.trust_framework.is_none() && r.assurance_level.is_none())
    {
        return Err("levels: every rule names an acr, a trust_framework or an assurance_level".into());
    }
    if s.levels.iter().any(|r| r.assurance_level.is_some() && r.trust_framework.is_none()) {
        return Err("levels: an assurance_level is read within a trust_framework: name both".into());
    }
    if let Some((acr, to)) = s.acr_map.iter().find(|(_, to)| !crate::policy::OFFERED.contains(&to.as_str())) {
        return Err(format!("acr_map: {acr:?} maps to aal1 or aal2, not {to:?}"));
    }
    if s.id_token_algs.is_empty() {
        return Err("id_token_algs: at least one".into());
    }
    if let Some(a) = s.id_token_algs.iter().find(|a| !ID_TOKEN_ALGS.contains(&a.as_str())) {
        return Err(format!("id_token_algs: {a:?} is not one of {}", ID_TOKEN_ALGS.join(", ")));
    }
    let p = &s.identity;
    let pointers = [Some(&p.name), Some(&p.id_number), p.id_type.as_ref(), Some(&p.txn), Some(&p.time)];
    if pointers.into_iter().flatten().any(|ptr| !ptr.starts_with('/')) {
        return Err("identity: JSON pointers, each starting with /".into());
    }
    if !crate::identifiers::PersonIdKind::is_id_type(&p.default_id_type) {
        return Err(format!("identity.default_id_type: {:?} is not an ID type", p.default_id_type));
    }
    Ok(())
}

/// An account the person proved in this sign-in (by signing in to it), to link.
#[derive(Debug, Clone, Copy)]
pub struct Proving<'a> {
    pub account_id: &'a str,
    /// Its binding, if it has one.
    pub binding: Option<&'a RealName>,
    /// `proved_local` (at the sign-in) or `account_page` (from the account pages).
    pub via: &'static str,
}

/// What [`decide_link`] looks at. No email address or phone number: they decide nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkFacts<'a> {
    /// The link of the upstream's subject, if there is one.
    pub link: Option<&'a UpstreamLink>,
    /// The linked account's binding.
    pub linked_binding: Option<&'a RealName>,
    /// The verified identity's level and the keyed hash of its ID number
    /// (`crate::realname::id_hash`), if the answer carries one.
    pub identity: Option<(i64, &'a str)>,
    /// The binding of that ID number in this tenant, if there is one.
    pub bound: Option<&'a RealName>,
    /// The account of that binding holds roles (administrators, clerks): it is never linked
    /// by a number an upstream asserts, only by the person proving it here.
    pub bound_privileged: bool,
    pub proving: Option<Proving<'a>>,
    pub link_by_id_number: bool,
    pub create_accounts: bool,
}

/// Where a sign-in through an upstream goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    /// To this account; with `new_link`, the subject is linked to it first (how: `via`).
    SignIn { account_id: String, new_link: Option<&'static str> },
    /// To a new account, linked (just in time).
    Create,
    /// The person signs in to their account here first, to prove it is theirs.
    AskToProve,
    /// Refused: `identity_mismatch` (the upstream's verified ID number is not the account's),
    /// `identity_taken` (it is another account's) or `linked_elsewhere` (the subject is linked
    /// to another account than the one proved).
    Refuse(&'static str),
}

/// The rules, in order: an existing link (unless another account was proved); an account
/// proved in this sign-in; an account without roles bound to the same verified ID number (both
/// verified, level 2 or more); a new account if the upstream may create them and the number is
/// nobody's; else the person proves an account.
pub fn decide_link(f: &LinkFacts<'_>) -> LinkDecision {
    let hash = f.identity.map(|(_, h)| h);
    let other_number = |binding: Option<&RealName>| {
        binding.zip(hash).is_some_and(|(b, h)| !crate::crypto::ct_eq(b.id_hash.as_bytes(), h.as_bytes()))
    };
    if let Some(link) = f.link {
        if other_number(f.linked_binding) {
            return LinkDecision::Refuse("identity_mismatch");
        }
        // proving one account while the subject is another's: never a switch of accounts
        if f.proving.is_some_and(|p| p.account_id != link.account_id) {
            return LinkDecision::Refuse("linked_elsewhere");
        }
        return LinkDecision::SignIn { account_id: link.account_id.clone(), new_link: None };
    }
    if let Some(p) = f.proving {
        if other_number(p.binding) {
            return LinkDecision::Refuse("identity_mismatch");
        }
        if hash.is_some() && f.bound.is_some_and(|b| b.account_id != p.account_id) {
            return LinkDecision::Refuse("identity_taken");
        }
        return LinkDecision::SignIn { account_id: p.account_id.to_string(), new_link: Some(p.via) };
    }
    let verified = f.identity.is_some_and(|(level, _)| level >= crate::realname::PROVIDER_MATCH);
    if let Some(b) = f.bound
        && verified
        && f.link_by_id_number
        && !f.bound_privileged
        && b.level >= crate::realname::PROVIDER_MATCH
    {
        return LinkDecision::SignIn { account_id: b.account_id.clone(), new_link: Some("verified_id") };
    }
    // a number someone already bound, even only self-asserted, is theirs to link by proving it
    if f.create_accounts && (hash.is_none() || f.bound.is_none()) {
        return LinkDecision::Create;
    }
    LinkDecision::AskToProve
}

#[cfg(test)]
mod tests;
