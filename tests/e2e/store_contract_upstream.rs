//! The `Store` contract for upstream identity providers and linked accounts (part of
//! `store_contract`): upstreams per tenant, replaced by id; a subject linked to one account and
//! an account to one subject per upstream; links gone with their upstream or their account.

use idp_core::Store;
use idp_core::model::{LevelRule, Upstream, UpstreamAuth, UpstreamLink, UpstreamSettings};

use crate::store_contract::{T1, T2, account};

fn upstream(tenant_id: &str, id: &str) -> Upstream {
    Upstream {
        tenant_id: tenant_id.into(),
        id: id.into(),
        issuer: format!("https://{id}.example.gov.cn"),
        client_id: "provincial-idp".into(),
        auth: UpstreamAuth::ClientSecretBasic,
        secret_sealed: Some(vec![1, 2, 3]),
        settings: UpstreamSettings {
            name_zh: "国家政务服务平台".into(),
            levels: vec![LevelRule {
                trust_framework: Some("cn_gov".into()),
                level: 2,
                ..Default::default()
            }],
            ..Default::default()
        },
        disabled: false,
        created_at: 10,
        updated_at: 10,
    }
}

fn link(upstream_id: &str, subject: &str, account_id: &str) -> UpstreamLink {
    UpstreamLink {
        tenant_id: T1.into(),
        upstream_id: upstream_id.into(),
        subject: subject.into(),
        account_id: account_id.into(),
        via: "verified_id".into(),
        created_at: 20,
        last_used_at: None,
        last_acr: None,
    }
}

pub async fn upstreams(s: &dyn Store) {
    let gov = upstream(T1, "gov");
    assert!(s.insert_upstream(&gov).await.unwrap());
    assert!(s.insert_upstream(&upstream(T1, "netid")).await.unwrap());
    assert!(s.insert_upstream(&upstream(T2, "gov")).await.unwrap());
    assert!(!s.insert_upstream(&upstream(T1, "gov")).await.unwrap(), "one id per tenant");
    let ids = |v: Vec<Upstream>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(s.upstreams(T1).await.unwrap()), ["gov", "netid"]);
    assert_eq!(s.upstreams(T1).await.unwrap()[0], gov, "every field back");
    // updated by id: settings, secret and state
    let changed = Upstream {
        auth: UpstreamAuth::PrivateKeyJwt,
        secret_sealed: None,
        disabled: true,
        updated_at: 30,
        settings: UpstreamSettings { create_accounts: true, ..gov.settings.clone() },
        ..gov.clone()
    };
    assert!(s.update_upstream(&changed).await.unwrap());
    assert_eq!(s.upstreams(T1).await.unwrap()[0], changed);
    assert!(!s.update_upstream(&upstream(T1, "nobody")).await.unwrap(), "no upstream of that id");
    assert_eq!(s.upstreams(T2).await.unwrap()[0].auth, UpstreamAuth::ClientSecretBasic, "tenant isolation");

    for (id, name) in [("up-1", "up1"), ("up-2", "up2")] {
        s.insert_account(&account(T1, id, name, None)).await.unwrap();
    }
    assert!(s.insert_upstream_link(&link("gov", "sub-1", "up-1")).await.unwrap());
    assert!(
        !s.insert_upstream_link(&link("gov", "sub-1", "up-2")).await.unwrap(),
        "a subject has one account"
    );
    assert!(!s.insert_upstream_link(&link("gov", "sub-2", "up-1")).await.unwrap(), "an account one subject");
    assert!(s.insert_upstream_link(&link("netid", "sub-1", "up-1")).await.unwrap(), "per upstream");
    assert_eq!(s.upstream_link(T1, "gov", "sub-1").await.unwrap(), Some(link("gov", "sub-1", "up-1")));
    assert_eq!(s.upstream_link(T2, "gov", "sub-1").await.unwrap(), None, "tenant isolation");
    s.touch_upstream_link(T1, "gov", "sub-1", 40, Some("urn:gov:loa:high")).await.unwrap();
    let touched = s.upstream_link(T1, "gov", "sub-1").await.unwrap().unwrap();
    assert_eq!((touched.last_used_at, touched.last_acr.as_deref()), (Some(40), Some("urn:gov:loa:high")));
    assert_eq!(s.upstream_links("up-1").await.unwrap().len(), 2);

    // the sessions an upstream began: by subject, by its own session, never all at once
    let began = |sid: &str, subject: &str, upstream_sid: Option<&str>| idp_core::model::UpstreamSession {
        sid: sid.into(),
        tenant_id: T1.into(),
        upstream_id: "gov".into(),
        subject: subject.into(),
        account_id: "up-1".into(),
        upstream_sid: upstream_sid.map(str::to_string),
        created_at: 50,
    };
    s.put_upstream_session(&began("sid-1", "sub-1", Some("op-a"))).await.unwrap();
    s.put_upstream_session(&began("sid-2", "sub-1", Some("op-b"))).await.unwrap();
    s.put_upstream_session(&began("sid-3", "sub-9", None)).await.unwrap();
    assert_eq!(s.upstream_session("sid-1").await.unwrap(), Some(began("sid-1", "sub-1", Some("op-a"))));
    let sids = |v: Vec<idp_core::model::UpstreamSession>| v.into_iter().map(|r| r.sid).collect::<Vec<_>>();
    assert_eq!(
        sids(s.upstream_sessions_of(T1, "gov", Some("sub-1"), None).await.unwrap()),
        ["sid-1", "sid-2"]
    );
    assert_eq!(sids(s.upstream_sessions_of(T1, "gov", None, Some("op-b")).await.unwrap()), ["sid-2"]);
    assert_eq!(
        sids(s.upstream_sessions_of(T1, "gov", Some("sub-1"), Some("op-a")).await.unwrap()),
        ["sid-1"]
    );
    assert!(s.upstream_sessions_of(T1, "gov", None, None).await.unwrap().is_empty(), "never all");
    assert!(
        s.upstream_sessions_of(T2, "gov", Some("sub-1"), None).await.unwrap().is_empty(),
        "tenant isolation"
    );
    // replaced in place, and forgotten
    s.put_upstream_session(&began("sid-1", "sub-1", Some("op-c"))).await.unwrap();
    assert_eq!(s.upstream_session("sid-1").await.unwrap().unwrap().upstream_sid.as_deref(), Some("op-c"));
    s.delete_upstream_session("sid-2").await.unwrap();
    assert_eq!(s.upstream_session("sid-2").await.unwrap(), None);
    // rows whose session is gone go with the expired rows
    s.purge_expired(100).await.unwrap();
    assert_eq!(s.upstream_session("sid-1").await.unwrap(), None, "no such session: purged");

    // unlinked once
    assert!(s.delete_upstream_link("up-1", "netid").await.unwrap());
    assert!(!s.delete_upstream_link("up-1", "netid").await.unwrap());
    // an upstream goes with its links
    assert!(s.insert_upstream_link(&link("gov", "sub-2", "up-2")).await.unwrap());
    assert!(s.delete_upstream(T1, "gov").await.unwrap());
    assert!(!s.delete_upstream(T1, "gov").await.unwrap());
    assert!(
        s.upstream_links("up-1").await.unwrap().is_empty()
            && s.upstream_links("up-2").await.unwrap().is_empty()
    );
    assert_eq!(s.upstreams(T2).await.unwrap().len(), 1, "the other tenant's stays");
    // and links go with their account
    assert!(s.insert_upstream_link(&link("netid", "sub-3", "up-2")).await.unwrap());
    assert!(s.delete_account(T1, "up-2").await.unwrap());
    assert_eq!(s.upstream_link(T1, "netid", "sub-3").await.unwrap(), None);
}
