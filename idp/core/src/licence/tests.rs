use super::*;

const NOW: i64 = 1_800_000_000;

fn result(role: &str) -> LicenceResult {
    LicenceResult {
        uscc: " 91220101ma0y3k5q3c ".into(),
        enterprise_name: "长春市示例科技有限公司".into(),
        name: "李四".into(),
        id_number: "220102199003070013".into(),
        role: role.into(),
        authorisation: "auth-1".into(),
        matters: if role == "agent" { vec!["税务申报".into()] } else { vec![] },
        starts_at: None,
        expires_at: (role != "legal_representative").then_some(NOW + 86400),
        verified_at: NOW,
        txn: "lic-1".into(),
        bound_to: String::new(),
    }
}

#[test]
fn an_answer_is_checked_and_normalised() {
    let mut r = result("agent");
    assert_eq!(r.check(NOW), Ok(()));
    assert_eq!(r.uscc, "91220101MA0Y3K5Q3C");
    assert_eq!(r.id_number, "220102199003070013");
    let v = r.verified_claims();
    assert_eq!(v["verification"]["trust_framework"], FRAMEWORK);
    assert_eq!(v["claims"]["id_number"], "220102199003070013");
    let g = r.grant("lic", "h");
    assert_eq!((g.kind.as_str(), g.source.as_str()), ("agent", "licence:lic:auth-1"));

    let bad = |role: &str, f: &dyn Fn(&mut LicenceResult)| {
        let mut b = result(role);
        f(&mut b);
        b.check(NOW).is_err()
    };
    assert!(bad("agent", &|b| b.uscc = "91220101MA0Y3K5Q3".into()));
    assert!(bad("agent", &|b| b.id_number = "123".into()));
    assert!(bad("agent", &|b| b.name = "a\u{7}b".into()));
    assert!(bad("agent", &|b| b.enterprise_name = String::new()));
    assert!(bad("chairman", &|_| {}), "a role the licence does not have");
    assert!(bad("agent", &|b| b.matters = vec![]), "an agent without matters");
    assert!(bad("agent", &|b| b.matters = vec![WHOLE.into(), "税务申报".into()]), "whole and itemised");
    assert!(bad("agent", &|b| b.matters = vec!["x".repeat(65)]));
    assert!(bad("agent", &|b| b.matters = (0..=MAX_MATTERS).map(|i| i.to_string()).collect()));
    assert!(bad("agent", &|b| b.name = "李\u{202e}四".into()), "no bidirectional controls");
    let mut twice = result("agent");
    twice.matters = vec!["年报".into(), " 年报".into()];
    twice.expires_at = Some(NOW + 5 * MAX_PERIOD);
    assert_eq!(twice.check(NOW), Ok(()));
    assert_eq!((twice.matters.len(), twice.expires_at), (1, Some(NOW + MAX_PERIOD)), "deduplicated, capped");
    assert!(bad("agent", &|b| b.expires_at = None), "an agent's authorisation ends");
    assert!(bad("agent", &|b| b.expires_at = Some(NOW)), "expired");
    assert!(bad("agent", &|b| b.starts_at = Some(NOW + 86400)), "ends before it starts");
    assert!(bad("licence_manager", &|b| b.matters = vec![WHOLE.into()]), "matters are an agent's");
    assert!(bad("legal_representative", &|b| b.expires_at = Some(NOW + 1)), "no period");
    assert!(bad("agent", &|b| b.verified_at = NOW + 3600));
    assert!(bad("agent", &|b| b.authorisation = "a b".into()));
    assert!(bad("agent", &|b| b.txn = String::new()));
    let mut whole = result("agent");
    whole.matters = vec![WHOLE.into()];
    assert_eq!(whole.check(NOW), Ok(()));
    assert_eq!(result("legal_representative").check(NOW), Ok(()));
    assert_eq!(result("licence_manager").check(NOW), Ok(()));
}

#[test]
fn subjects_are_keyed_and_per_tenant() {
    let key = crate::crypto::Kek::from_bytes([7; 32]);
    let a = subject(&key, "t1", "220102199003070013");
    assert_eq!(a, subject(&key, "t1", "220102199003070013"));
    assert_ne!(a, subject(&key, "t2", "220102199003070013"));
    assert!(!a.contains("2201"), "the number is not in the subject");
}

fn org(hash: Option<&str>) -> Organisation {
    Organisation {
        id: "e1".into(),
        tenant_id: "t".into(),
        kind: "enterprise".into(),
        name: "E".into(),
        parent_id: None,
        level: None,
        region_code: None,
        uscc: Some("91220101MA0Y3K5Q3C".into()),
        uscc_flagged: false,
        path: "/e1/".into(),
        created_at: 0,
        representative_name: None,
        representative_hash: hash.map(str::to_string),
    }
}

fn member(id: &str, account: &str, kind: &str, source: Option<&str>) -> Membership {
    Membership {
        id: id.into(),
        tenant_id: "t".into(),
        account_id: account.into(),
        organisation_id: "e1".into(),
        kind: kind.into(),
        roles: vec![],
        created_at: 0,
        revoked_at: None,
        matters: vec![],
        starts_at: None,
        expires_at: None,
        confirmed_at: Some(0),
        granted_by: None,
        source: source.map(str::to_string),
    }
}

#[test]
fn a_sign_in_replaces_what_the_licence_no_longer_says() {
    let mut r = result("agent");
    r.check(NOW).unwrap();
    let g = r.grant("lic", "h");
    // a first sign-in: the mandate is written
    let p = plan(&g, &org(None), &[], "acc").unwrap();
    assert_eq!(p, Plan { keep: None, end_all: false, revoke: vec![], insert: true });
    // the same again: kept; another of the person's authorisations stands
    let mut same = member("m1", "acc", "agent", Some("licence:lic:auth-1"));
    same.matters = g.matters.clone();
    same.expires_at = g.expires_at;
    let p = plan(&g, &org(None), std::slice::from_ref(&same), "acc").unwrap();
    assert_eq!(p, Plan { keep: Some("m1".into()), ..Plan::default() });
    // the licence changed the matters: the old mandate ends, a new one is written; a role
    // granted here and another upstream's stay; another person's is not touched
    let mut changed = same.clone();
    changed.matters = vec!["社保".into()];
    let members = [
        changed,
        member("here", "acc", "enterprise_admin", None),
        member("other-up", "acc", "agent", Some("licence:lic2:x")),
        member("other-auth", "acc", "enterprise_admin", Some("licence:lic:auth-2")),
        member("someone", "acc-2", "agent", Some("licence:lic:auth-9")),
    ];
    let p = plan(&g, &org(None), &members, "acc").unwrap();
    assert_eq!(p, Plan { keep: None, end_all: false, revoke: vec!["m1".into()], insert: true });
}

#[test]
fn a_new_legal_representative_ends_the_earlier_roles_unless_the_register_disagrees() {
    let mut r = result("legal_representative");
    r.check(NOW).unwrap();
    let g = r.grant("lic", "h");
    let p = plan(&g, &org(None), &[member("old", "acc-0", "legal_representative", None)], "acc");
    assert_eq!(p.unwrap(), Plan { keep: None, end_all: true, revoke: vec![], insert: true });
    // the register here names someone else: nothing is guessed
    assert_eq!(plan(&g, &org(Some("other")), &[], "acc"), Err(Refusal::RepresentativeMismatch));
    assert!(representative_mismatch(&g, &org(Some("other"))));
    assert!(plan(&g, &org(Some("h")), &[], "acc").is_ok());
    // already the representative (bound on the account pages): kept, nothing ended
    let rep = member("rep", "acc", "legal_representative", None);
    let p = plan(&g, &org(None), &[rep], "acc").unwrap();
    assert_eq!(p, Plan { keep: Some("rep".into()), ..Plan::default() });
    // an agent the licence made a representative: the agent's mandate ends with the rest
    let agent = member("ag", "acc", "agent", Some("licence:lic:auth-1"));
    let p = plan(&g, &org(None), std::slice::from_ref(&agent), "acc").unwrap();
    assert_eq!(p, Plan { keep: None, end_all: false, revoke: vec!["ag".into()], insert: true });
    // the register's representative without a membership here: nothing else ends
    let others = [
        member("x", "acc-2", "agent", Some("licence:lic:auth-7")),
        member("y", "acc-3", "enterprise_admin", None),
    ];
    let p = plan(&g, &org(Some("h")), &others, "acc").unwrap();
    assert_eq!(p, Plan { keep: None, end_all: false, revoke: vec![], insert: true });
}

#[test]
fn notifications_read_as_their_events() {
    let n: Notification =
        serde_json::from_str(r#"{"event":"authorisation_revoked","uscc":"U","authorisation":"a"}"#).unwrap();
    assert_eq!(n, Notification::AuthorisationRevoked { uscc: "U".into(), authorisation: "a".into() });
    assert!(serde_json::from_str::<Notification>(r#"{"event":"grant_everything","uscc":"U"}"#).is_err());
}
