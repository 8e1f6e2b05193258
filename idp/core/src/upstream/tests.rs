use serde_json::json;

use super::*;
use crate::model::IdentityClaims;

const NOW: i64 = 1_800_000_000;
const LIN: &str = "11010519491231002X";

fn rules() -> Vec<LevelRule> {
    vec![
        // the national platform's strong sign-in alone says nothing of who the person is
        LevelRule { acr: Some("urn:gov:loa:high".into()), level: 1, ..Default::default() },
        LevelRule { trust_framework: Some("cn_gov".into()), level: 2, ..Default::default() },
        LevelRule {
            trust_framework: Some("cn_gov".into()),
            assurance_level: Some("face".into()),
            level: 3,
            ..Default::default()
        },
    ]
}

fn settings() -> UpstreamSettings {
    UpstreamSettings { name_zh: "国家政务服务平台".into(), levels: rules(), ..Default::default() }
}

fn verified(framework: &str, assurance: &str, number: &str) -> Value {
    json!({
        "verification": {
            "trust_framework": framework, "assurance_level": assurance, "time": "2026-12-01T08:00:00Z",
            "evidence": [{"type": "electronic_record", "check_details": [{"check_method": "data", "txn": "T-1"}]}]
        },
        "claims": {"name": "林晓", "id_number": number}
    })
}

#[test]
fn levels_take_the_highest_rule_that_holds_and_nothing_else() {
    let r = rules();
    assert_eq!(level_for(&r, None, None), 0, "no rule, no level");
    assert_eq!(level_for(&r, Some("urn:gov:loa:high"), None), 1);
    assert_eq!(level_for(&r, None, Some(&verified("cn_gov", "basic", LIN))), 2);
    assert_eq!(level_for(&r, None, Some(&verified("cn_gov", "face", LIN))), 3);
    // another framework counts for nothing; of several elements the best
    assert_eq!(level_for(&r, None, Some(&verified("eidas", "face", LIN))), 0);
    let both = json!([verified("eidas", "face", LIN), verified("cn_gov", "face", LIN)]);
    assert_eq!(level_for(&r, None, Some(&both)), 3);
    // a rule past the scale (which check refuses) counts no higher than 3: level 4 is a check
    // in person at this provider's counter, which no upstream makes
    let wild = vec![LevelRule { acr: Some("x".into()), level: 9, ..Default::default() }];
    assert_eq!(level_for(&wild, Some("x"), None), 3);
    let counter = UpstreamSettings {
        levels: vec![LevelRule { acr: Some("x".into()), level: 4, ..Default::default() }],
        ..settings()
    };
    assert!(check(&counter).unwrap_err().contains("1-3"));
}

#[test]
fn an_identity_needs_a_rated_element_a_name_and_a_valid_number_of_its_type() {
    let s = settings();
    let v = read_identity(&s, None, Some(&verified("cn_gov", "face", LIN)), NOW).unwrap();
    assert_eq!(
        (v.name.as_str(), v.id_type.as_str(), v.id_number.as_str(), v.level),
        ("林晓", "resident_id", LIN, 3)
    );
    assert_eq!(v.time, crate::saml::read::instant("2026-12-01T08:00:00Z").unwrap());
    assert_eq!(v.txn.as_deref(), Some("T-1"));
    assert!(!format!("{v:?}").contains(LIN) && !format!("{v:?}").contains("林晓"), "Debug shows neither");
    // lower-case check digit normalised
    let lower = read_identity(&s, None, Some(&verified("cn_gov", "face", &LIN.to_lowercase())), NOW).unwrap();
    assert_eq!(lower.id_number, LIN);
    // unrated framework, bad check digit, no name, acr alone: nothing
    assert!(read_identity(&s, None, Some(&verified("eidas", "face", LIN)), NOW).is_none());
    assert!(read_identity(&s, None, Some(&verified("cn_gov", "face", "110105194912310021")), NOW).is_none());
    let mut nameless = verified("cn_gov", "face", LIN);
    nameless["claims"]["name"] = json!("  ");
    assert!(read_identity(&s, None, Some(&nameless), NOW).is_none());
    assert!(read_identity(&s, Some("urn:gov:loa:high"), None, NOW).is_none());
    // a strong sign-in upstream does not make the claims of an unrated element verified, nor
    // of one with no verification at all
    let acr_rated = UpstreamSettings {
        levels: vec![LevelRule { acr: Some("urn:gov:loa:high".into()), level: 3, ..Default::default() }],
        ..settings()
    };
    assert_eq!(level_for(&acr_rated.levels, Some("urn:gov:loa:high"), None), 3, "the sign-in is rated");
    let unverified = json!({"claims": {"name": "林晓", "id_number": LIN}});
    for element in [verified("eidas", "face", LIN), unverified] {
        assert!(
            read_identity(&acr_rated, Some("urn:gov:loa:high"), Some(&element), NOW).is_none(),
            "{element}"
        );
    }
    // a number of another type than the one expected
    let permits = UpstreamSettings {
        identity: IdentityClaims { default_id_type: "taiwan_permit".into(), ..Default::default() },
        ..settings()
    };
    assert!(read_identity(&permits, None, Some(&verified("cn_gov", "face", LIN)), NOW).is_none());
    // a verification time in the future is now
    let mut future = verified("cn_gov", "face", LIN);
    future["verification"]["time"] = json!("2099-01-01T00:00:00Z");
    assert_eq!(read_identity(&s, None, Some(&future), NOW).unwrap().time, NOW);
}

#[test]
fn the_session_level_is_the_map_s_and_never_above_aal2() {
    let mut s = settings();
    s.acr_map.insert("urn:gov:loa:high".into(), "aal2".into());
    s.acr_map.insert("urn:gov:loa:low".into(), "aal3".into());
    assert_eq!(session_acr(&s, Some("urn:gov:loa:high")), "aal2");
    assert_eq!(session_acr(&s, Some("urn:gov:loa:low")), "aal1");
    assert_eq!(session_acr(&s, Some("unmapped")), "aal1");
    assert_eq!(session_acr(&s, None), "aal1");
}

#[test]
fn settings_are_checked_by_name() {
    assert!(check(&settings()).is_ok());
    let bad = |f: &dyn Fn(&mut UpstreamSettings), what: &str| {
        let mut s = settings();
        f(&mut s);
        let e = check(&s).unwrap_err();
        assert!(e.starts_with(what), "{e}");
    };
    bad(&|s| s.name_zh.clear(), "name_zh");
    bad(&|s| s.scopes = vec!["profile".into()], "scopes");
    bad(&|s| s.levels.push(LevelRule { acr: Some("a".into()), level: 5, ..Default::default() }), "levels");
    bad(&|s| s.levels.push(LevelRule { level: 2, ..Default::default() }), "levels: every rule");
    bad(
        &|s| {
            s.levels.push(LevelRule { assurance_level: Some("face".into()), level: 3, ..Default::default() })
        },
        "levels",
    );
    bad(&|s| s.name_en = "x".repeat(41), "name_zh");
    bad(&|s| drop(s.acr_map.insert("x".into(), "aal3".into())), "acr_map");
    bad(&|s| s.id_token_algs = vec!["HS256".into()], "id_token_algs");
    bad(&|s| s.id_token_algs = vec!["none".into()], "id_token_algs");
    bad(&|s| s.id_token_algs.clear(), "id_token_algs");
    bad(&|s| s.identity.name = "claims.name".into(), "identity");
    bad(&|s| s.identity.default_id_type = "passport".into(), "identity.default_id_type");
}

fn binding(account: &str, hash: &str, level: i64) -> RealName {
    RealName {
        account_id: account.into(),
        tenant_id: "t".into(),
        level,
        name: "林晓".into(),
        id_type: "resident_id".into(),
        id_sealed: vec![],
        id_hash: hash.into(),
        id_masked: String::new(),
        method: "provider".into(),
        verifier: "sim".into(),
        verified_at: 0,
        evidence: None,
    }
}

fn link(account: &str) -> UpstreamLink {
    UpstreamLink {
        tenant_id: "t".into(),
        upstream_id: "gov".into(),
        subject: "s1".into(),
        account_id: account.into(),
        via: "verified_id".into(),
        created_at: 0,
        last_used_at: None,
        last_acr: None,
    }
}

fn sign_in(account: &str, new_link: Option<&'static str>) -> LinkDecision {
    LinkDecision::SignIn { account_id: account.into(), new_link }
}

#[test]
fn a_linked_subject_signs_in_unless_its_verified_number_is_another() {
    let l = link("a1");
    let mine = binding("a1", "h1", 2);
    let f = LinkFacts {
        link: Some(&l),
        linked_binding: Some(&mine),
        identity: Some((3, "h1")),
        ..Default::default()
    };
    assert_eq!(decide_link(&f), sign_in("a1", None));
    // no identity asserted this time: the link alone
    assert_eq!(decide_link(&LinkFacts { identity: None, ..f }), sign_in("a1", None));
    // proving another account while the subject is linked to this one: no switch
    let p = Proving { account_id: "a2", binding: None, via: "account_page" };
    assert_eq!(decide_link(&LinkFacts { proving: Some(p), ..f }), LinkDecision::Refuse("linked_elsewhere"));
    let p = Proving { account_id: "a1", binding: Some(&mine), via: "account_page" };
    assert_eq!(decide_link(&LinkFacts { proving: Some(p), ..f }), sign_in("a1", None));
    // the upstream now says another person: refused, not re-linked
    assert_eq!(
        decide_link(&LinkFacts { identity: Some((3, "h2")), ..f }),
        LinkDecision::Refuse("identity_mismatch")
    );
}

#[test]
fn a_verified_number_links_only_to_a_verified_binding_and_only_when_allowed() {
    let bound = binding("a1", "h1", 2);
    let f = LinkFacts {
        identity: Some((2, "h1")),
        bound: Some(&bound),
        link_by_id_number: true,
        ..Default::default()
    };
    assert_eq!(decide_link(&f), sign_in("a1", Some("verified_id")));
    // the upstream's level 1 (its acr alone) is no verification
    assert_eq!(decide_link(&LinkFacts { identity: Some((1, "h1")), ..f }), LinkDecision::AskToProve);
    // a self-asserted local binding proves nothing about the account's holder
    let claimed = binding("a1", "h1", 1);
    assert_eq!(decide_link(&LinkFacts { bound: Some(&claimed), ..f }), LinkDecision::AskToProve);
    // even with accounts made just in time: that number is someone's to link by proving it
    assert_eq!(
        decide_link(&LinkFacts { bound: Some(&claimed), create_accounts: true, ..f }),
        LinkDecision::AskToProve
    );
    // the operator turned linking by number off
    assert_eq!(decide_link(&LinkFacts { link_by_id_number: false, ..f }), LinkDecision::AskToProve);
    // an account with roles is never reached by a number an upstream asserts
    assert_eq!(decide_link(&LinkFacts { bound_privileged: true, ..f }), LinkDecision::AskToProve);
    // off unless the operator turns it on
    assert!(!UpstreamSettings::default().link_by_id_number);
}

#[test]
fn a_proved_account_is_linked_unless_the_numbers_disagree() {
    let p = Proving { account_id: "a1", binding: None, via: "proved_local" };
    let f = LinkFacts { proving: Some(p), identity: Some((2, "h1")), ..Default::default() };
    assert_eq!(decide_link(&f), sign_in("a1", Some("proved_local")));
    let mine = binding("a1", "h1", 2);
    assert_eq!(
        decide_link(&LinkFacts { proving: Some(Proving { binding: Some(&mine), ..p }), ..f }),
        sign_in("a1", Some("proved_local"))
    );
    let other_number = binding("a1", "h9", 2);
    assert_eq!(
        decide_link(&LinkFacts { proving: Some(Proving { binding: Some(&other_number), ..p }), ..f }),
        LinkDecision::Refuse("identity_mismatch")
    );
    let someone_else = binding("a2", "h1", 2);
    assert_eq!(
        decide_link(&LinkFacts { bound: Some(&someone_else), ..f }),
        LinkDecision::Refuse("identity_taken")
    );
    // nothing verified upstream: the proof alone links
    assert_eq!(
        decide_link(&LinkFacts { identity: None, bound: Some(&someone_else), ..f }),
        sign_in("a1", Some("proved_local"))
    );
}

#[test]
fn accounts_are_made_just_in_time_only_when_allowed_and_for_nobody_s_number() {
    let f = LinkFacts { identity: Some((2, "h1")), create_accounts: true, ..Default::default() };
    assert_eq!(decide_link(&f), LinkDecision::Create);
    assert_eq!(decide_link(&LinkFacts { identity: None, ..f }), LinkDecision::Create);
    assert_eq!(decide_link(&LinkFacts { create_accounts: false, ..f }), LinkDecision::AskToProve);
}
