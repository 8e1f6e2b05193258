use super::*;

const BASE: &str = "dc=example,dc=gov,dc=cn";

fn mapping() -> Mapping {
    Mapping {
        base_dn: BASE.into(),
        parent: "gov".into(),
        roles: BTreeMap::from([(format!("cn=approvers,ou=groups,{BASE}"), vec!["approver".to_string()])]),
        ..Mapping::default()
    }
}

fn entry(dn: &str, uuid: &str, attrs: &[(&str, &str)]) -> Entry {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in attrs {
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    Entry { dn: format!("{dn},{BASE}"), uuid: uuid.into(), modified: "20261206000000Z".into(), attrs: map }
}

fn snapshot() -> Snapshot {
    Snapshot {
        units: vec![
            entry("ou=财政厅", "u1", &[("ou", "财政厅")]),
            entry("ou=预算处,ou=财政厅", "u2", &[("ou", "预算处")]),
        ],
        users: vec![
            entry(
                "uid=zhang,ou=预算处,ou=财政厅",
                "p1",
                &[("uid", "zhang"), ("cn", "张三"), ("mail", "z@example.gov.cn")],
            ),
            entry("uid=li,ou=财政厅", "p2", &[("uid", "li"), ("cn", "李四")]),
        ],
        groups: vec![entry(
            "cn=approvers,ou=groups",
            "g1",
            &[("cn", "approvers"), ("member", &format!("uid=zhang,ou=预算处,ou=财政厅,{BASE}"))],
        )],
        disabled: BTreeSet::new(),
    }
}

#[test]
fn a_first_sync_adds_the_tree_the_people_and_their_roles() {
    let p = plan("gov-ldap", &mapping(), &snapshot(), &Known::default());
    assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
    let adds: Vec<&Change> = p.changes.iter().filter(|c| matches!(c, Change::AddUnit { .. })).collect();
    assert!(
        matches!(adds[0], Change::AddUnit { name, parent: Org::Existing(g), .. } if name == "财政厅" && g == "gov")
    );
    assert!(
        matches!(adds[1], Change::AddUnit { parent: Org::New(u), .. } if u == "u1"),
        "nested under the new unit"
    );
    assert!(p.changes.contains(&Change::Join {
        person: Person::New("p1".into()),
        org: Org::New("u2".into()),
        roles: vec!["approver".into()]
    }));
    assert!(p.changes.contains(&Change::Join {
        person: Person::New("p2".into()),
        org: Org::New("u1".into()),
        roles: vec![]
    }));
}

fn known_after_first() -> Known {
    let record = |uuid: &str, kind: &str, dn: &str, target: &str| Record {
        uuid: uuid.into(),
        kind: kind.into(),
        dn: format!("{dn},{BASE}"),
        target: target.into(),
        modified: "20261206000000Z".into(),
    };
    let member = |id: &str, account: &str, org: &str, roles: &[&str]| Membership {
        id: id.into(),
        tenant_id: "t".into(),
        account_id: account.into(),
        organisation_id: org.into(),
        kind: "staff".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        created_at: 0,
        revoked_at: None,
        matters: vec![],
        starts_at: None,
        expires_at: None,
        confirmed_at: None,
        granted_by: None,
        source: Some(source("gov-ldap")),
    };
    Known {
        records: vec![
            record("u1", "unit", "ou=财政厅", "org1"),
            record("u2", "unit", "ou=预算处,ou=财政厅", "org2"),
            record("p1", "user", "uid=zhang,ou=预算处,ou=财政厅", "acc1"),
            record("p2", "user", "uid=li,ou=财政厅", "acc2"),
        ],
        usernames: BTreeMap::from([("zhang".into(), "acc1".into()), ("li".into(), "acc2".into())]),
        memberships: vec![member("m1", "acc1", "org2", &["approver"]), member("m2", "acc2", "org1", &[])],
    }
}

#[test]
fn an_unchanged_directory_changes_nothing_and_changes_are_incremental() {
    let mut s = snapshot();
    // entries whose timestamp did not move are listed without their attributes
    for e in s.units.iter_mut().chain(s.users.iter_mut()) {
        e.attrs.clear();
    }
    let p = plan("gov-ldap", &mapping(), &s, &known_after_first());
    assert_eq!(p, Plan::default());
    // li joins the approvers (a group change: li's own entry did not move)
    s.groups[0].attrs.get_mut("member").unwrap().push(format!("uid=li,ou=财政厅,{BASE}"));
    let p = plan("gov-ldap", &mapping(), &s, &known_after_first());
    assert_eq!(
        p.changes,
        vec![
            Change::End { membership: "m2".into(), why: "moved or roles changed in the directory" },
            Change::Join {
                person: Person::Existing("acc2".into()),
                org: Org::Existing("org1".into()),
                roles: vec!["approver".into()]
            },
        ]
    );
}

#[test]
fn deletions_end_memberships_and_nothing_else() {
    let mut s = snapshot();
    s.users.retain(|u| u.uuid != "p1");
    let p = plan("gov-ldap", &mapping(), &s, &known_after_first());
    assert!(p.changes.contains(&Change::End { membership: "m1".into(), why: "deleted from the directory" }));
    assert!(p.changes.contains(&Change::Forget { uuid: "p1".into() }));
    assert!(!p.changes.iter().any(|c| matches!(c, Change::AddUser { .. } | Change::AddUnit { .. })));
    // a membership an administrator granted (no source) is never touched
    let mut k = known_after_first();
    k.memberships[0].source = None;
    let p = plan("gov-ldap", &mapping(), &s, &k);
    assert!(!p.changes.iter().any(|c| matches!(c, Change::End { .. })), "{:?}", p.changes);
}

#[test]
fn conflicts_are_reported_and_nothing_is_planned() {
    // two users with one username
    let mut s = snapshot();
    s.users.push(entry("uid=zhang2,ou=财政厅", "p3", &[("uid", "ZHANG")]));
    let p = plan("gov-ldap", &mapping(), &s, &Known::default());
    assert!(p.conflicts.iter().any(|c| c.contains("username zhang")), "{:?}", p.conflicts);
    assert!(p.changes.is_empty(), "nothing half-written");
    // a username an account here holds (not from this directory)
    let known = Known { usernames: BTreeMap::from([("li".into(), "local".into())]), ..Known::default() };
    let p = plan("gov-ldap", &mapping(), &snapshot(), &known);
    assert!(p.conflicts.iter().any(|c| c.contains("the username li is an account")), "{:?}", p.conflicts);
    // a unit whose parent is not a unit of the directory
    let mut s = snapshot();
    s.units.retain(|u| u.uuid != "u1");
    let p = plan("gov-ldap", &mapping(), &s, &Known::default());
    assert!(p.conflicts.iter().any(|c| c.contains("its parent is not a unit")), "{:?}", p.conflicts);
    // groups in a loop
    let mut s = snapshot();
    let a = format!("cn=a,ou=groups,{BASE}");
    let b = format!("cn=b,ou=groups,{BASE}");
    s.groups.push(entry("cn=a,ou=groups", "g2", &[("cn", "a"), ("member", &b)]));
    s.groups.push(entry("cn=b,ou=groups", "g3", &[("cn", "b"), ("member", &a)]));
    let p = plan("gov-ldap", &mapping(), &s, &Known::default());
    assert!(p.conflicts.is_empty(), "a loop among groups that give no role is not read: {:?}", p.conflicts);
    s.groups[0].attrs.get_mut("member").unwrap().push(a.clone());
    let p = plan("gov-ldap", &mapping(), &s, &Known::default());
    assert!(p.conflicts.iter().any(|c| c.starts_with("groups in a loop")), "{:?}", p.conflicts);
    // one entryUUID twice
    let mut s = snapshot();
    s.users[1].uuid = "p1".into();
    assert!(!plan("gov-ldap", &mapping(), &s, &Known::default()).conflicts.is_empty());
}

#[test]
fn nested_groups_give_their_roles_to_their_members() {
    let mut s = snapshot();
    let inner = format!("cn=inner,ou=groups,{BASE}");
    s.groups[0].attrs.get_mut("member").unwrap().push(inner);
    s.groups.push(entry(
        "cn=inner,ou=groups",
        "g2",
        &[("cn", "inner"), ("member", &format!("uid=li,ou=财政厅,{BASE}"))],
    ));
    let p = plan("gov-ldap", &mapping(), &s, &Known::default());
    assert!(p.changes.contains(&Change::Join {
        person: Person::New("p2".into()),
        org: Org::New("u1".into()),
        roles: vec!["approver".into()]
    }));
}

#[test]
fn dns_and_mappings() {
    assert_eq!(parent_dn("uid=a\\,b,ou=X , dc=cn").as_deref(), Some("ou=x,dc=cn"));
    assert_eq!(rdn_value("ou=预算处,dc=cn"), "预算处");
    assert!(mapping().check().is_ok());
    assert!(Mapping { parent: String::new(), ..mapping() }.check().is_err());
    assert!(Mapping { user_filter: "uid=*".into(), ..mapping() }.check().is_err());
    let bad_role =
        Mapping { roles: BTreeMap::from([("g".to_string(), vec!["two words".to_string()])]), ..mapping() };
    assert!(bad_role.check().is_err());
    let by_cn = Mapping {
        roles: BTreeMap::from([("approvers".to_string(), vec!["approver".to_string()])]),
        ..mapping()
    };
    assert!(by_cn.check().is_err(), "a group by its cn alone could be anyone's");
    let admin = Mapping {
        roles: BTreeMap::from([(format!("cn=a,{BASE}"), vec!["org_admin".to_string()])]),
        ..mapping()
    };
    assert!(admin.check().is_err(), "administration is not a directory's to grant");
}

#[test]
fn offboarding_goes_ahead_despite_conflicts_and_disabled_users_end_too() {
    let mut s = snapshot();
    s.users.retain(|u| u.uuid != "p1");
    // a new user whose username an account here holds: a conflict
    s.users.push(entry("uid=wang,ou=财政厅", "p3", &[("uid", "wang")]));
    let mut k = known_after_first();
    k.usernames.insert("wang".into(), "local".into());
    let p = plan("gov-ldap", &mapping(), &s, &k);
    assert!(!p.conflicts.is_empty());
    assert_eq!(
        p.changes,
        vec![
            Change::End { membership: "m1".into(), why: "deleted from the directory" },
            Change::Forget { uuid: "p1".into() }
        ]
    );
    // disabled in the directory: the membership ends, the record stays
    let mut s = snapshot();
    s.disabled.insert("p2".into());
    let p = plan("gov-ldap", &mapping(), &s, &known_after_first());
    assert_eq!(p.changes, vec![Change::End { membership: "m2".into(), why: "disabled in the directory" }]);
    // an empty listing ends nothing
    let mut s = snapshot();
    s.users.clear();
    let p = plan("gov-ldap", &mapping(), &s, &known_after_first());
    assert!(p.changes.is_empty() && !p.conflicts.is_empty());
    // a user directly under base_dn, not in a unit
    let mut s = snapshot();
    s.users.push(entry("uid=top", "p4", &[("uid", "top")]));
    assert!(
        plan("gov-ldap", &mapping(), &s, &Known::default())
            .conflicts
            .iter()
            .any(|c| c.contains("not in a unit"))
    );
    // a unit moved in the directory: noticed, not followed
    let mut k = known_after_first();
    k.records[1].dn = format!("ou=预算处,ou=旧厅,{BASE}");
    let p = plan("gov-ldap", &mapping(), &snapshot(), &k);
    assert!(p.notices.iter().any(|n| n.contains("by hand")), "{:?}", p.notices);
}
