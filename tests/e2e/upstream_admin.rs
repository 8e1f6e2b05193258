//! Upstream identity providers as the operator configures them (`idp upstream`,
//! `Ops::add_upstream_by`): everything checked before anything is written, the client secret
//! sealed under the tenant's profile and never in the audit trail, disabling and removal
//! audited, a removal taking the accounts' links with it.

use idp_core::crypto::{Kek, SealAlg};
use idp_core::model::{CryptoProfile, LevelRule, UpstreamAuth, UpstreamLink, UpstreamSettings};
use idp_server::ops::upstreams::NewUpstream;

use crate::common::{Backend, TestServer};

const SECRET: &str = "upstream-issued-secret-4711";

fn gov() -> NewUpstream {
    NewUpstream {
        id: "gov".into(),
        issuer: "http://127.0.0.1:9/op/".into(),
        client_id: "provincial-idp".into(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: Some(SECRET.into()),
        settings: UpstreamSettings {
            name_zh: "国家政务服务平台".into(),
            levels: vec![LevelRule {
                trust_framework: Some("cn_gov".into()),
                level: 2,
                ..Default::default()
            }],
            ..Default::default()
        },
    }
}

async fn configured(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let tenant = s.tenant_id().await;
    let refused = |n: NewUpstream, why: &'static str| {
        let s = &s;
        async move {
            let e = s.ops.add_upstream_by("main", n, "test").await.unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    };
    refused(NewUpstream { id: "Gov!".into(), ..gov() }, "upstream id").await;
    refused(NewUpstream { issuer: "http://op.example.gov.cn".into(), ..gov() }, "https").await;
    refused(NewUpstream { issuer: "https://op.example.gov.cn/?x=1".into(), ..gov() }, "query").await;
    // a private address the operator's outbound rules do not list
    refused(NewUpstream { issuer: "https://10.20.30.40/op".into(), ..gov() }, "allowed destination").await;
    refused(NewUpstream { client_secret: None, ..gov() }, "client secret").await;
    refused(NewUpstream { auth: UpstreamAuth::PrivateKeyJwt, ..gov() }, "no client secret").await;
    let hs256 = UpstreamSettings { id_token_algs: vec!["HS256".into()], ..gov().settings };
    refused(NewUpstream { settings: hs256, ..gov() }, "id_token_algs").await;
    let level9 =
        UpstreamSettings { levels: vec![LevelRule { level: 9, ..Default::default() }], ..gov().settings };
    refused(NewUpstream { settings: level9, ..gov() }, "levels").await;
    assert!(s.ops.upstreams("main").await.unwrap().is_empty(), "nothing written");

    let u = s.ops.add_upstream_by("main", gov(), "test").await.unwrap();
    assert_eq!(u.issuer, "http://127.0.0.1:9/op", "kept without the trailing slash");
    let sealed = u.secret_sealed.clone().unwrap();
    assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "sealed");
    assert_eq!(Kek::sealed_with(&sealed), SealAlg::Aes256Gcm);
    assert_eq!(s.ops.upstream_secret(&u).as_deref(), Some(SECRET));
    assert_eq!(s.ops.upstreams("main").await.unwrap(), vec![u.clone()]);
    assert!(!format!("{u:?}").contains(SECRET));
    refused(gov(), "already").await;

    // disabled and enabled, each once in the trail; removed with its links
    s.ops.set_upstream_disabled_by("main", "gov", true, "test").await.unwrap();
    s.ops.set_upstream_disabled_by("main", "gov", true, "test").await.unwrap();
    assert!(s.ops.upstreams("main").await.unwrap()[0].disabled);
    s.ops.set_upstream_disabled_by("main", "gov", false, "test").await.unwrap();
    let lin = s.add_account("lin").await;
    let link = UpstreamLink {
        tenant_id: tenant.clone(),
        upstream_id: "gov".into(),
        subject: "gov-sub-1".into(),
        account_id: lin.clone(),
        via: "verified_id".into(),
        created_at: 0,
        last_used_at: None,
        last_acr: None,
    };
    assert!(s.ops.store.insert_upstream_link(&link).await.unwrap());
    s.ops.remove_upstream_by("main", "gov", "test").await.unwrap();
    assert!(s.ops.store.upstream_links(&lin).await.unwrap().is_empty());
    assert!(s.ops.remove_upstream_by("main", "gov", "test").await.is_err());

    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    let kinds: Vec<&str> =
        events.iter().map(|e| e.kind.as_str()).filter(|k| k.starts_with("upstream_")).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(
        (
            count("upstream_added"),
            count("upstream_disabled"),
            count("upstream_enabled"),
            count("upstream_removed")
        ),
        (1, 1, 1, 1),
        "{kinds:?}"
    );
    assert!(events.iter().all(|e| !e.detail.to_string().contains(SECRET)), "no secret in the trail");

    // a move to SM4 at rest re-seals the secret with the rest; one added afterwards is SM4 at once
    s.ops.add_upstream_by("main", gov(), "test").await.unwrap();
    s.ops.set_tenant_crypto_by("main", Some(CryptoProfile::Dual), None, "test").await.unwrap();
    let t = s.ops.tenant("main").await.unwrap();
    s.ops.reseal(&t, None).await.unwrap();
    let u = s.ops.upstreams("main").await.unwrap().remove(0);
    assert_eq!(Kek::sealed_with(u.secret_sealed.as_ref().unwrap()), SealAlg::Sm4Gcm, "re-sealed");
    assert_eq!(s.ops.upstream_secret(&u).as_deref(), Some(SECRET));
    let u = s.ops.add_upstream_by("main", NewUpstream { id: "netid".into(), ..gov() }, "test").await.unwrap();
    assert_eq!(Kek::sealed_with(u.secret_sealed.as_ref().unwrap()), SealAlg::Sm4Gcm);
    assert_eq!(s.ops.upstream_secret(&u).as_deref(), Some(SECRET));
}

crate::both_backends!(upstreams_are_configured_checked_sealed_and_audited, configured);
