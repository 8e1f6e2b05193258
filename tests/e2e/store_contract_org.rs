//! The `Store` contract for the organisation tree and memberships (part of `store_contract`):
//! one USCC per tenant, subtrees by path prefix (ids holding LIKE wildcards do not widen it),
//! tenant isolation, memberships ended once.

use idp_core::org::{Membership, Organisation};
use idp_core::{Store, StoreError};

fn org(id: &str, path: &str, uscc: Option<&str>) -> Organisation {
    Organisation {
        id: id.into(),
        tenant_id: "tenant-a".into(),
        kind: "government".into(),
        name: format!("org {id}"),
        parent_id: None,
        level: Some("province".into()),
        region_code: Some("220000".into()),
        uscc: uscc.map(str::to_string),
        uscc_flagged: false,
        path: path.into(),
        created_at: 5,
        representative_name: None,
        representative_hash: None,
    }
}

pub async fn organisations(s: &dyn Store) {
    let root = org("p_", "/p_/", Some("11220000013544357Y"));
    let city = Organisation { parent_id: Some("p_".into()), ..org("c1", "/p_/c1/", None) };
    let dept = Organisation { kind: "department".into(), ..org("d1", "/p_/c1/d1/", None) };
    // "/pX/" would match "/p_/%" under LIKE
    let other = org("pX", "/pX/", None);
    for o in [&root, &city, &dept, &other] {
        s.insert_organisation(o).await.unwrap();
    }
    let dup = s.insert_organisation(&org("p2", "/p2/", Some("11220000013544357Y"))).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(s.organisation("tenant-a", "c1").await.unwrap(), Some(city.clone()));
    assert_eq!(s.organisation("tenant-b", "c1").await.unwrap(), None, "tenant isolation");
    let ids = |v: Vec<Organisation>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(ids(s.organisations_under("tenant-a", "/p_/").await.unwrap()), vec!["p_", "c1", "d1"]);
    assert_eq!(ids(s.organisations_under("tenant-a", "/p_/c1/").await.unwrap()), vec!["c1", "d1"]);
    assert_eq!(s.organisations_under("tenant-a", "/").await.unwrap().len(), 4);
    assert!(s.organisations_under("tenant-b", "/").await.unwrap().is_empty());

    let m = Membership {
        id: "m1".into(),
        tenant_id: "tenant-a".into(),
        account_id: "acc-1".into(),
        organisation_id: "d1".into(),
        kind: "staff".into(),
        roles: vec!["clerk".into(), "approver".into()],
        created_at: 7,
        revoked_at: None,
        matters: vec![],
        starts_at: None,
        expires_at: None,
        confirmed_at: None,
        granted_by: None,
        source: None,
    };
    s.insert_membership(&m).await.unwrap();
    assert_eq!(s.memberships("acc-1").await.unwrap(), vec![m.clone()]);
    assert_eq!(s.revoke_membership("tenant-b", "m1", 9).await.unwrap(), None, "another tenant's");
    let ended = s.revoke_membership("tenant-a", "m1", 9).await.unwrap().unwrap();
    assert_eq!(ended.revoked_at, Some(9));
    assert_eq!(s.revoke_membership("tenant-a", "m1", 10).await.unwrap(), None, "once");
    assert_eq!(s.memberships("acc-1").await.unwrap()[0].revoked_at, Some(9));

    // an enterprise with its registered representative; an agent's mandate, confirmed once by
    // its agent only; a new representative ends every enterprise role at once
    let ent = Organisation {
        kind: "enterprise".into(),
        representative_name: Some("法人".into()),
        representative_hash: Some("rep-hash".into()),
        ..org("e1", "/e1/", Some("91220101MA0Y3K5Q3C"))
    };
    s.insert_organisation(&ent).await.unwrap();
    assert_eq!(s.organisation_by_uscc("tenant-a", "91220101MA0Y3K5Q3C").await.unwrap(), Some(ent.clone()));
    assert_eq!(s.organisation_by_uscc("tenant-b", "91220101MA0Y3K5Q3C").await.unwrap(), None);
    let rep = Membership {
        id: "r1".into(),
        organisation_id: "e1".into(),
        kind: "legal_representative".into(),
        ..m.clone()
    };
    let agent = Membership {
        id: "a1".into(),
        account_id: "acc-3".into(),
        organisation_id: "e1".into(),
        kind: "agent".into(),
        roles: vec![],
        matters: vec!["tax".into(), "social_security".into()],
        starts_at: Some(10),
        expires_at: Some(100),
        granted_by: Some("r1".into()),
        ..m.clone()
    };
    s.insert_membership(&rep).await.unwrap();
    s.insert_membership(&agent).await.unwrap();
    assert_eq!(s.membership("tenant-a", "a1").await.unwrap(), Some(agent.clone()));
    assert!(!agent.active(50), "not confirmed yet");
    assert!(!s.confirm_membership("tenant-a", "a1", "acc-1", 20).await.unwrap(), "only by its agent");
    assert!(s.confirm_membership("tenant-a", "a1", "acc-3", 20).await.unwrap());
    assert!(!s.confirm_membership("tenant-a", "a1", "acc-3", 21).await.unwrap(), "once");
    let confirmed = s.membership("tenant-a", "a1").await.unwrap().unwrap();
    assert!(confirmed.active(50) && !confirmed.active(5) && !confirmed.active(100), "inside its window");
    assert_eq!(s.members_of("tenant-a", "e1").await.unwrap().len(), 2);
    assert_eq!(s.end_enterprise_roles("tenant-a", "e1", 60).await.unwrap(), 2);
    assert!(s.members_of("tenant-a", "e1").await.unwrap().iter().all(|m| m.revoked_at == Some(60)));
}
