//! Claims released about an account, per granted scope (OIDC Core §5.1, §5.4; docs/domain.md).

use serde_json::{Map, Value, json};

use crate::claims_request::{ClaimsRequest, VerifiedRequest};
use crate::identifiers::CalendarDate;
use crate::model::{Account, RealName};
use crate::org::{Membership, Organisation};

/// What the claims may need beyond the account, read only for the scopes that release it.
#[derive(Default, Clone, Copy)]
pub struct Extra<'a> {
    /// The bound identity (`realname`).
    pub real_name: Option<&'a RealName>,
    /// The organisation and membership of the context the token acts in (`org` for staff,
    /// `enterprise` for an enterprise role).
    pub context: Option<(&'a Organisation, &'a Membership)>,
    /// The full ID number, opened from its sealed form (`id_number`).
    pub id_number: Option<&'a str>,
    /// `verified_claims` asked for through the `claims` parameter (OIDC4IA).
    pub verified: &'a [VerifiedRequest],
    /// The time, for `max_age` constraints on verified claims.
    pub now: i64,
    /// What the person told about themselves (`profile`, `address`).
    pub profile: Option<&'a crate::model::Profile>,
}
use crate::scope;

/// The UserInfo claims for `scopes`: exactly the claims of the granted scopes, nothing else.
/// `real_name` is the account's bound identity (read only when `realname` is granted); without
/// one, `realname_level` is 0 and the other real-name claims are absent.
/// `sub` is what this client sees (`keys::subject`).
pub fn userinfo(
    account: &Account,
    sub: &str,
    extra: Extra<'_>,
    scopes: &[String],
    act_as: &str,
) -> Map<String, Value> {
    let real_name = extra.real_name;
    let staff = extra.context.filter(|(_, m)| act_as == "staff" && m.kind == "staff");
    let enterprise = extra.context.filter(|(_, m)| act_as == "enterprise" && m.kind != "staff");
    let mut out = Map::new();
    out.insert("sub".into(), json!(sub));
    // `act_as` is a claim of the acting-context scopes; the tokens carry it anyway
    if scopes.iter().any(|s| s == "org" || s == "enterprise") {
        out.insert("act_as".into(), json!(act_as));
    }
    let p = extra.profile;
    let text =
        |f: fn(&crate::model::Profile) -> &Option<String>| p.and_then(|p| f(p).as_ref()).map(|v| json!(v));
    for s in scopes {
        let Some(info) = scope::info(s) else { continue };
        for claim in info.claims {
            let value = match *claim {
                "name" => account.name.as_ref().map(|v| json!(v)),
                "preferred_username" => Some(json!(account.username)),
                "locale" => account.locale.as_ref().map(|v| json!(v)),
                "given_name" => text(|p| &p.given_name),
                "family_name" => text(|p| &p.family_name),
                "middle_name" => text(|p| &p.middle_name),
                "nickname" => text(|p| &p.nickname),
                "picture" => text(|p| &p.picture),
                "website" => text(|p| &p.website),
                "gender" => text(|p| &p.gender),
                "birthdate" => text(|p| &p.birthdate),
                "zoneinfo" => text(|p| &p.zoneinfo),
                "address" => p.and_then(|p| p.address.as_ref()).map(|a| json!(a)),
                "updated_at" => Some(json!(account.updated_at)),
                "email" => account.email.as_ref().map(|v| json!(v)),
                // Contact details are not verified yet (verification comes with SMS codes).
                "email_verified" => account.email.as_ref().map(|_| json!(account.email_verified_at.is_some())),
                "phone_number" => account.phone.as_ref().map(|v| json!(v)),
                "phone_number_verified" => {
                    account.phone.as_ref().map(|_| json!(account.phone_verified_at.is_some()))
                }
                "realname_level" => Some(json!(real_name.map_or(0, |r| r.level))),
                "verified_name" => real_name.map(|r| json!(r.name)),
                "id_type" => real_name.map(|r| json!(r.id_type)),
                "id_number_masked" => real_name.map(|r| json!(r.id_masked)),
                "id_number" => extra.id_number.map(|n| json!(n)),
                "org" => staff.map(|(o, _)| {
                    json!({"id": o.id, "name": o.name, "path": o.path, "region_code": o.region_code})
                }),
                "roles" => staff.map(|(_, m)| json!(m.roles)),
                "entity" => enterprise.map(|(o, m)| {
                    json!({
                        "uscc": o.uscc, "name": o.name, "role": m.kind,
                        "mandate_id": (m.kind == "agent").then_some(&m.id),
                        "matters": (m.kind == "agent").then_some(&m.matters),
                        "expiry": m.expires_at,
                    })
                }),
                _ => None,
            };
            if let Some(v) = value {
                out.insert((*claim).to_string(), v);
            }
        }
    }
    if let Some(v) = verified(extra, scopes) {
        out.insert("verified_claims".into(), v);
    }
    out
}

/// The claims the `claims` parameter asked to see in the ID token, out of what UserInfo would
/// release (so only claims of granted scopes), with `verified_claims` where asked for there.
pub fn id_token(
    account: &Account,
    sub: &str,
    extra: Extra<'_>,
    scopes: &[String],
    act_as: &str,
    asked: &ClaimsRequest,
) -> Map<String, Value> {
    let extra = Extra { verified: &asked.id_token_verified, ..extra };
    let mut all = userinfo(account, sub, extra, scopes, act_as);
    all.remove("sub");
    all.remove("act_as");
    all.retain(|k, _| k == "verified_claims" || asked.id_token.iter().any(|n| n == k));
    all
}

/// The trust framework our verified claims are made under: the real-name rules of docs/domain.md
/// (levels 1–4). No registered OIDC4IA value covers them.
pub const TRUST_FRAMEWORK: &str = "cn_realname";

/// The claims that can be verified claims, each with the scope that releases it.
pub const VERIFIED: [(&str, &str); 4] = [
    ("name", "realname"),
    ("id_type", "realname"),
    ("id_number_masked", "realname"),
    ("id_number", "id_number"),
];

/// The evidence types, document types and check methods `verified` can name (for discovery).
pub const EVIDENCE: [&str; 2] = ["document", "electronic_record"];
pub const DOCUMENTS: [&str; 2] = ["idcard", "residence_permit"];

/// `verified_claims` for the requests in `extra.verified` (OIDC4IA §5): the bound identity at
/// level 2 or more, under the `realname` scope, for each request whose constraints it meets
/// and that asks for at least one claim the granted scopes cover. One object, or an array for
/// several; nothing when none applies.
fn verified(extra: Extra<'_>, scopes: &[String]) -> Option<Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let r = extra.real_name.filter(|r| r.level >= 2 && has("realname"))?;
    let level = r.level.to_string();
    let mut out: Vec<Value> = vec![];
    for req in extra.verified {
        let allows = |c: &Option<Vec<String>>, v: &str| c.as_ref().is_none_or(|c| c.iter().any(|x| x == v));
        if !allows(&req.trust_framework, TRUST_FRAMEWORK)
            || !allows(&req.assurance_level, &level)
            || req.max_age.is_some_and(|m| extra.now - r.verified_at > m)
        {
            continue;
        }
        let mut claims = Map::new();
        for name in &req.claims {
            let Some((_, scope)) = VERIFIED.iter().find(|(n, _)| n == name) else { continue };
            let value = match name.as_str() {
                "name" => Some(r.name.as_str()),
                "id_type" => Some(r.id_type.as_str()),
                "id_number_masked" => Some(r.id_masked.as_str()),
                _ => extra.id_number,
            };
            if let Some(v) = value.filter(|_| has(scope)) {
                claims.insert(name.clone(), json!(v));
            }
        }
        if claims.is_empty() {
            continue;
        }
        let mut verification = Map::new();
        verification.insert("trust_framework".into(), json!(TRUST_FRAMEWORK));
        let time = CalendarDate::rfc3339_utc(r.verified_at);
        for element in &req.verification {
            let v = match element.as_str() {
                "assurance_level" => json!(level),
                "time" => json!(time),
                "verification_process" => match &r.evidence {
                    Some(e) => json!(e),
                    None => continue,
                },
                _ => json!([evidence(r, &time)]),
            };
            verification.insert(element.clone(), v);
        }
        out.push(json!({"verification": verification, "claims": claims}));
    }
    match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(Value::Array(out)),
    }
}

/// How the identity was verified, as OIDC4IA evidence: the physical card checked in person at
/// a counter (`document`, `vpip`), the name and number checked against the population register
/// by the verification provider (`electronic_record`, `data`), or, at level 3, against a bank's
/// account record with the card and phone (`electronic_record` `bank_account`, `data`).
fn evidence(r: &RealName, time: &str) -> Value {
    // verified by an upstream identity provider (identity brokering): it vouches, by its
    // reference, and the operator's rules set the level (`crate::upstream`)
    if r.method == "upstream" {
        let mut attestation = json!({"type": "digital_attestation", "voucher": {"organization": r.verifier}});
        if let Some(txn) = &r.evidence {
            attestation["reference_number"] = json!(txn);
        }
        return json!({"type": "vouch", "attestation": attestation, "time": time});
    }
    let (mut check, mut out) = if r.method == "counter" {
        let kind = if r.id_type == "resident_id" { "idcard" } else { "residence_permit" };
        (json!({"check_method": "vpip"}), json!({"type": "document", "document_details": {"type": kind}}))
    } else {
        // level 3 by the bank-card four-factor check: the bank's account record
        let record = if r.method == "bank_card" { "bank_account" } else { "population_register" };
        (
            json!({"check_method": "data", "organization": r.verifier}),
            json!({"type": "electronic_record", "record": {"type": record}}),
        )
    };
    if let Some(txn) = &r.evidence {
        check["txn"] = json!(txn);
    }
    out["check_details"] = json!([check]);
    out["time"] = json!(time);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            id: "a1".into(),
            tenant_id: "t".into(),
            username: "ada".into(),
            name: Some("Ada".into()),
            phone: None,
            phone_verified_at: None,
            email_verified_at: None,
            email: None,
            password_hash: None,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            roles: vec![],
            locale: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn real(level: i64, method: &str, id_type: &str) -> RealName {
        RealName {
            account_id: "a1".into(),
            tenant_id: "t".into(),
            level,
            name: "艾达".into(),
            id_type: id_type.into(),
            id_sealed: vec![],
            id_hash: String::new(),
            id_masked: "2201**********0013".into(),
            method: method.into(),
            verifier: "clerk-account".into(),
            verified_at: 1_795_830_000,
            evidence: Some("counter-record-7".into()),
        }
    }

    fn ask(claims: &[&str], verification: &[&str]) -> VerifiedRequest {
        VerifiedRequest {
            claims: claims.iter().map(|c| c.to_string()).collect(),
            verification: verification.iter().map(|c| c.to_string()).collect(),
            ..VerifiedRequest::default()
        }
    }

    #[test]
    fn a_counter_check_is_document_evidence_checked_in_person() {
        let r = real(4, "counter", "hk_macau_permit");
        let asks = [ask(&["name", "id_type"], &["evidence", "verification_process", "time"])];
        let scopes = vec!["openid".to_string(), "realname".to_string()];
        let extra = Extra { real_name: Some(&r), verified: &asks, now: 1_795_830_100, ..Extra::default() };
        let out = userinfo(&account(), "sub", extra, &scopes, "self");
        let v = &out["verified_claims"];
        assert_eq!(v["claims"], json!({"name": "艾达", "id_type": "hk_macau_permit"}));
        assert_eq!(v["verification"]["time"], "2026-11-28T01:40:00Z");
        assert_eq!(v["verification"]["verification_process"], "counter-record-7");
        let e = &v["verification"]["evidence"][0];
        assert_eq!(e["type"], "document");
        assert_eq!(e["document_details"]["type"], "residence_permit");
        assert_eq!(e["check_details"], json!([{"check_method": "vpip", "txn": "counter-record-7"}]));
        assert!(!v.to_string().contains("clerk-account"), "the clerk's account is not released");
    }

    #[test]
    fn several_requests_answer_an_array_and_unmet_ones_nothing() {
        let r = real(2, "provider", "resident_id");
        let scopes = vec!["realname".to_string()];
        let four = VerifiedRequest { assurance_level: Some(vec!["4".into()]), ..ask(&["name"], &[]) };
        let asks = [ask(&["name"], &[]), ask(&["id_number_masked"], &["assurance_level"]), four];
        let extra = Extra { real_name: Some(&r), verified: &asks, now: 0, ..Extra::default() };
        let v = userinfo(&account(), "s", extra, &scopes, "self")["verified_claims"].clone();
        assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
        assert_eq!(v[1]["verification"], json!({"trust_framework": "cn_realname", "assurance_level": "2"}));
        // level 1 is self-asserted: never verified claims
        let weak = real(1, "self_asserted", "resident_id");
        let extra = Extra { real_name: Some(&weak), verified: &asks, now: 0, ..Extra::default() };
        assert!(userinfo(&account(), "s", extra, &scopes, "self").get("verified_claims").is_none());
        // id_number needs its scope and the opened number
        let asks = [ask(&["id_number"], &[])];
        let extra = Extra {
            real_name: Some(&r),
            verified: &asks,
            id_number: Some("220102199003070013"),
            now: 0,
            ..Extra::default()
        };
        assert!(userinfo(&account(), "s", extra, &scopes, "self").get("verified_claims").is_none());
        let both = vec!["realname".to_string(), "id_number".to_string()];
        let out = userinfo(&account(), "s", extra, &both, "self");
        assert_eq!(out["verified_claims"]["claims"]["id_number"], "220102199003070013");
    }
}
