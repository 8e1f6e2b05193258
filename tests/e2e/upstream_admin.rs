//! Upstream identity providers as the operator configures them (`idp upstream`,
//! `Ops::add_upstream_by`): everything checked before anything is written, the client secret
//! sealed under the tenant's profile and never in the audit trail, disabling and removal
//! audited, a removal taking the accounts' links with it.

use idp_core::crypto::{Kek, SealAlg};
use idp_core::model::{CryptoProfile, LevelRule, UpstreamAuth, UpstreamLink, UpstreamSettings};
use idp_server::ops::upstreams::NewUpstream;

use serde_json::json;

use crate::admin_tenants::{admins, call};
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

/// A SAML identity provider's metadata, as this crate's own identity-provider writer makes it.
pub(crate) fn idp_metadata() -> String {
    let key = idp_core::module::SoftwareKey::from_document(
        idp_core::model::SigningAlg::RS256,
        &idp_core::saml::decrypt::generate_key().unwrap(),
        "",
    )
    .unwrap();
    let cert = idp_core::keys::saml_certificate(key.as_ref(), "idp", 0).unwrap();
    idp_core::saml::metadata::identity_provider(
        "https://idp.example.gov.cn/saml",
        "https://idp.example.gov.cn/saml/sso",
        Some("https://idp.example.gov.cn/saml/slo"),
        &[cert],
    )
}

fn saml_gov() -> NewUpstream {
    let mut n = NewUpstream {
        id: "gov-saml".into(),
        issuer: String::new(),
        client_id: String::new(),
        client_secret: None,
        ..gov()
    };
    idp_server::ops::upstreams::apply_saml_metadata(&mut n, &idp_metadata()).unwrap();
    n
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
    refused(NewUpstream { issuer: "https://u:p@op.example.gov.cn".into(), ..gov() }, "user name").await;
    refused(NewUpstream { issuer: "https://op.example.gov.cn/\nx".into(), ..gov() }, "without spaces").await;
    refused(NewUpstream { client_id: "a\u{7}b".into(), ..gov() }, "client_id").await;
    // a private address the operator's outbound rules do not list
    refused(NewUpstream { issuer: "https://10.20.30.40/op".into(), ..gov() }, "allowed destination").await;
    refused(NewUpstream { client_secret: None, ..gov() }, "client secret").await;
    refused(NewUpstream { auth: UpstreamAuth::PrivateKeyJwt, ..gov() }, "no client secret").await;
    let hs256 = UpstreamSettings { id_token_algs: vec!["HS256".into()], ..gov().settings };
    refused(NewUpstream { settings: hs256, ..gov() }, "id_token_algs").await;
    let level9 =
        UpstreamSettings { levels: vec![LevelRule { level: 9, ..Default::default() }], ..gov().settings };
    refused(NewUpstream { settings: level9, ..gov() }, "levels").await;
    // SAML identity providers: their own checks
    let saml = |f: &dyn Fn(&mut idp_core::model::SamlUpstream)| {
        let mut n = saml_gov();
        f(n.settings.saml.as_mut().unwrap());
        n
    };
    refused(saml(&|x| x.sso_url = "http://idp.example/sso".into()), "https").await;
    refused(saml(&|x| x.signing_certificates = vec![]), "signing_certificates").await;
    refused(saml(&|x| x.signing_certificates = vec!["bm90IGEgY2VydA==".into()]), "X.509").await;
    refused(saml(&|x| x.name_id_format = idp_core::saml::NAMEID_TRANSIENT.into()), "transient").await;
    refused(saml(&|x| x.attributes = [("email".to_string(), "mail".to_string())].into()), "attributes").await;
    refused(NewUpstream { client_secret: Some(SECRET.into()), ..saml_gov() }, "no client secret").await;
    refused(NewUpstream { issuer: "has space".into(), ..saml_gov() }, "entity ID").await;
    let mut bad = saml_gov();
    let e = idp_server::ops::upstreams::apply_saml_metadata(&mut bad, "<md:EntityDescriptor/>").unwrap_err();
    assert!(e.to_string().contains("saml metadata"), "{e}");
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

/// The admin API: security administrators only; the secret goes in and never comes out; an
/// unknown setting named; the routes in the OpenAPI document.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_api_manages_upstreams_for_security_administrators_only() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.limits.signin_per_account_per_minute = 100)
        .await
        .unwrap();
    let (sys, sec) = admins(&s).await;
    let body = json!({
        "id": "gov", "issuer": "http://127.0.0.1:9/op", "client_id": "provincial-idp", "client_secret": SECRET,
        "settings": {"name_zh": "国家政务服务平台", "levels": [{"trust_framework": "cn_gov", "level": 2}]}
    });
    let path = "tenants/main/upstreams";
    assert_eq!(call(&s, "POST", path, &sys, Some(body.clone())).await.0, 403, "not a system administrator's");
    assert_eq!(call(&s, "GET", path, &sys, None).await.0, 403);
    let mut typo = body.clone();
    typo["settings"]["create_acounts"] = json!(true);
    let (status, problem) = call(&s, "POST", path, &sec, Some(typo)).await;
    assert!(status == 400 && problem.to_string().contains("create_acounts"), "{problem}");
    let mut auth = body.clone();
    auth["auth"] = json!("client_secret_post");
    assert_eq!(call(&s, "POST", path, &sec, Some(auth)).await.0, 400);
    assert!(s.ops.upstreams("main").await.unwrap().is_empty(), "nothing written");

    let (status, info) = call(&s, "POST", path, &sec, Some(body.clone())).await;
    assert_eq!(status, 201, "{info}");
    assert_eq!((&info["has_secret"], &info["auth"]), (&json!(true), &json!("client_secret_basic")));
    assert!(info["callback"].as_str().unwrap().ends_with("/t/main/upstream/gov/callback"), "{info}");
    let (_, list) = call(&s, "GET", path, &sec, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!info.to_string().contains(SECRET) && !list.to_string().contains(SECRET), "never shown again");
    let (status, problem) = call(&s, "POST", path, &sec, Some(body)).await;
    assert!(status == 400 && problem.to_string().contains("already"), "{problem}");

    let (status, info) = call(&s, "POST", "tenants/main/upstreams/gov/disable", &sec, None).await;
    assert_eq!((status, &info["disabled"]), (200, &json!(true)));
    assert_eq!(call(&s, "POST", "tenants/main/upstreams/gov/delete", &sec, None).await.0, 404);
    assert_eq!(call(&s, "POST", "tenants/main/upstreams/nope/enable", &sec, None).await.0, 404);
    assert_eq!(call(&s, "DELETE", "tenants/main/upstreams/gov", &sys, None).await.0, 403);
    let (status, left) = call(&s, "DELETE", "tenants/main/upstreams/gov", &sec, None).await;
    assert_eq!((status, left), (200, json!([])));
    assert_eq!(call(&s, "DELETE", "tenants/main/upstreams/gov", &sec, None).await.0, 404);

    let doc: serde_json::Value =
        reqwest::get(format!("{}/admin/v1/openapi.json", s.base)).await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/tenants/{tenant}/upstreams"]["post"].is_object(), "documented");
}

/// The console's page: for security administrators, the form's fields merged into the advanced
/// settings, what the idp refuses said on the page, the secret never shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_adds_disables_and_removes_upstreams() {
    use crate::browser::Browser;
    use crate::console::{add_admin, post, sign_in, start_console};
    use crate::console_safety::said;
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let sec_totp = add_admin(&s, "sec", "security_admin").await;
    let base = start_console(&s).await;
    let form = |issuer: &'static str, settings: &'static str| {
        vec![
            ("id", "gov"),
            ("name_zh", "国家政务服务平台"),
            ("issuer", issuer),
            ("client_id", "provincial-idp"),
            ("auth", "client_secret_basic"),
            ("client_secret", SECRET),
            ("link_by_id_number", "on"),
            ("settings", settings),
        ]
    };
    let levels = r#"{"levels": [{"trust_framework": "cn_gov", "level": 2}]}"#;

    // a system administrator: no such page offered, and the idp refuses
    let ops = Browser::new();
    let (_, page) = sign_in(&s, &ops, &base, "/clients", "ops", &ops_totp).await;
    assert!(!page.contains("href=\"/console/upstreams\""), "{page}");
    let (_, page) = post(&ops, &base, &page, "/upstreams", &form("http://127.0.0.1:9/op", levels)).await;
    assert!(said(&page, "alert").contains("管理权限"), "{page}");

    let sec = Browser::new();
    let (_, page) = sign_in(&s, &sec, &base, "/upstreams", "sec", &sec_totp).await;
    assert!(page.contains("<h1>上游身份源</h1>"), "{page}");
    let (_, page) = post(&sec, &base, &page, "/upstreams", &form("http://127.0.0.1:9/op", "[1]")).await;
    assert!(said(&page, "alert").contains("JSON"), "{page}");
    let (_, page) = post(&sec, &base, &page, "/upstreams", &form("http://op.example.gov.cn", levels)).await;
    assert!(said(&page, "alert").contains("https"), "the idp's refusal, said: {page}");
    assert!(!page.contains(SECRET), "a refused form comes back without its secret");
    assert!(s.ops.upstreams("main").await.unwrap().is_empty());

    let (url, page) = post(&sec, &base, &page, "/upstreams", &form("http://127.0.0.1:9/op", levels)).await;
    assert_eq!(url, format!("{base}/upstreams"));
    assert!(said(&page, "status").contains("已添加身份源"), "{page}");
    assert!(page.contains("/t/main/upstream/gov/callback") && !page.contains(SECRET), "{page}");
    let u = s.ops.upstreams("main").await.unwrap().remove(0);
    assert_eq!((u.settings.name_zh.as_str(), u.settings.levels[0].level), ("国家政务服务平台", 2));
    assert!(u.settings.link_by_id_number && !u.settings.create_accounts, "the checkboxes");

    let (_, page) = post(&sec, &base, &page, "/upstreams/gov/disable", &[]).await;
    assert!(s.ops.upstreams("main").await.unwrap()[0].disabled, "{page}");
    let (_, page) = post(&sec, &base, &page, "/upstreams/gov/remove", &[]).await;
    assert!(s.ops.upstreams("main").await.unwrap().is_empty(), "{page}");

    // a SAML identity provider by its metadata: no issuer, client or secret
    let metadata = idp_metadata();
    let saml = [("id", "gov-saml"), ("name_zh", "国家政务服务平台"), ("saml_metadata", metadata.as_str())];
    let (_, page) = post(&sec, &base, &page, "/upstreams", &saml).await;
    assert!(said(&page, "status").contains("已添加身份源"), "{page}");
    assert!(page.contains("/t/main/upstream/gov-saml/saml/metadata"), "its metadata named: {page}");
    let u = s.ops.upstreams("main").await.unwrap().remove(0);
    assert_eq!(u.issuer, "https://idp.example.gov.cn/saml");
    assert_eq!(u.settings.saml.unwrap().sso_url, "https://idp.example.gov.cn/saml/sso");
}
