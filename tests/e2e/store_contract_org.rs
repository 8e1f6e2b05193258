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
    };
    s.insert_membership(&m).await.unwrap();
    assert_eq!(s.memberships("acc-1").await.unwrap(), vec![m.clone()]);
    assert_eq!(s.revoke_membership("tenant-b", "m1", 9).await.unwrap(), None, "another tenant's");
    let ended = s.revoke_membership("tenant-a", "m1", 9).await.unwrap().unwrap();
    assert_eq!(ended.revoked_at, Some(9));
    assert_eq!(s.revoke_membership("tenant-a", "m1", 10).await.unwrap(), None, "once");
    assert_eq!(s.memberships("acc-1").await.unwrap()[0].revoked_at, Some(9));
}
