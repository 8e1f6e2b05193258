//! Deleting one's own account: a wrong confirmation deletes nothing; an administrator cannot
//! delete itself; the real deletion signs the person out everywhere (the client's back-channel
//! receiver is told), kills every token, removes the account, its factors and its real name,
//! frees the username — and the audit trail still verifies, records the deletion, and holds no
//! name, username, phone, email or ID number of the person.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType, RealName};
use idp_server::ops::NewAccount;

use crate::browser::{Browser, extract};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::logout_everywhere::{Receiver, valid_logout_token};
use crate::rp::{redeem, refresh, userinfo};
use crate::step_up::{enrol, submit_code};

/// Signs `login` in to the account pages with the password and a TOTP code; the page.
async fn account_page(s: &TestServer, b: &Browser, login: &str, totp: &idp_core::totp::Secret) -> String {
    let (_, _, page) = b.get(s, &format!("{}/t/main/account/delete", s.base)).await.page();
    let (_, _, page) = b.sign_in(s, &page, login, PASSWORD).await.page();
    let (_, _, page) = submit_code(b, s, &page, &totp.code_at_step(s.env.now() / 30)).await.page();
    s.env.advance(30);
    assert!(page.contains("id=\"delete-account\""), "{page}");
    page
}

async fn deletion(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let person = NewAccount {
        username: "zhaolei".into(),
        password: Some(PASSWORD.into()),
        name: Some("赵磊".into()),
        phone: Some("+8613912345678".into()),
        email: Some("zhaolei@example.test".into()),
        roles: vec![],
    };
    let id = s.ops.add_account("main", person).await.unwrap().id;
    let tenant = s.tenant_id().await;
    s.ops
        .store
        .put_real_name(&RealName {
            account_id: id.clone(),
            tenant_id: tenant.clone(),
            level: 2,
            name: "赵磊".into(),
            id_type: "resident_id".into(),
            id_sealed: vec![1, 2, 3],
            id_hash: "hash-of-220102199003070013".into(),
            id_masked: "2201**********0013".into(),
            method: "provider".into(),
            verifier: "simulator".into(),
            verified_at: s.env.now(),
            evidence: None,
        })
        .await
        .unwrap();
    let (totp, _) = enrol(&s, "zhaolei").await;
    let (receiver, bc) = Receiver::start(0).await;
    let settings = ClientSettings {
        backchannel_logout_uri: Some(bc),
        always_issue_refresh_token: true,
        ..ClientSettings::default()
    };
    let (client, secret) = s.add_client(ClientType::Web, settings).await;
    let secret = secret.unwrap();

    // signed in to the account pages and, by SSO, to the client
    let b = Browser::new();
    let page = account_page(&s, &b, "zhaolei", &totp).await;
    let cb = b.authorize(&s, &auth_url(&s.issuer, &client, ""), "zhaolei").await.callback();
    let tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&s, at).await.0, 200);

    // a wrong confirmation deletes nothing
    let csrf = extract(&page, "csrf").unwrap();
    let (_, _, page) =
        b.post_form(&s, "/t/main/account/delete", &[("csrf", &csrf), ("confirm", "zhao")]).await.page();
    assert!(page.contains("用户名不一致"), "{page}");
    assert!(s.ops.store.account(&tenant, &id).await.unwrap().is_some());

    // deleted: signed out everywhere, every token dead, the person's data gone
    let (_, _, page) =
        b.post_form(&s, "/t/main/account/delete", &[("csrf", &csrf), ("confirm", "zhaolei")]).await.page();
    assert!(page.contains("账号已注销"), "{page}");
    let got = receiver.wait_for(1).await;
    assert_eq!(valid_logout_token(&s, &got[0], &client).await["sub"], id.as_str());
    assert_eq!(userinfo(&s, at).await.0, 401);
    assert_eq!(
        refresh(&s, &client, &secret, tokens["refresh_token"].as_str().unwrap()).await["error"],
        "invalid_grant"
    );
    assert!(s.ops.store.account(&tenant, &id).await.unwrap().is_none());
    assert!(s.ops.store.real_name(&id).await.unwrap().is_none());
    assert!(s.ops.store.totp(&id).await.unwrap().is_none());
    assert_eq!(s.ops.store.recovery_codes_left(&id).await.unwrap(), 0);
    assert!(s.ops.store.real_name_by_hash(&tenant, "hash-of-220102199003070013").await.unwrap().is_none());
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    let (_, _, again) = b.sign_in(&s, &login, "zhaolei", PASSWORD).await.page();
    assert!(again.contains("name=\"password\""), "no such account any more: {again}");
    s.add_account("zhaolei").await; // the username is free again, for a new account

    // the audit trail: intact, the deletion recorded, nothing that names the person
    let report = s.ops.verify_audit().await.unwrap();
    assert!(report.intact(), "{:?}", report.chains.iter().map(|c| &c.problems).collect::<Vec<_>>());
    let events = s.ops.store.audit_events(&tenant, 1000).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "account_deleted" && e.account_id.as_deref() == Some(id.as_str()))
    );
    assert!(events.iter().filter(|e| e.account_id.as_deref() == Some(id.as_str())).count() > 3);
    for e in &events {
        let text = format!("{:?} {}", e.kind, e.detail);
        for personal in ["zhaolei", "赵磊", "13912345678", "example.test", "220102199003070013", "0013"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    // an administrator cannot delete itself
    let admin = NewAccount {
        username: "secadmin".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["security_admin".into()],
    };
    let admin_id = s.ops.add_account("main", admin).await.unwrap().id;
    let (totp, _) = enrol(&s, "secadmin").await;
    let b = Browser::new();
    let page = account_page(&s, &b, "secadmin", &totp).await;
    let csrf = extract(&page, "csrf").unwrap();
    let (_, _, page) =
        b.post_form(&s, "/t/main/account/delete", &[("csrf", &csrf), ("confirm", "secadmin")]).await.page();
    assert!(page.contains("管理员账号不能自行注销"), "{page}");
    assert!(s.ops.store.account(&tenant, &admin_id).await.unwrap().is_some());
}
crate::both_backends!(deleting_an_account_removes_the_person_and_keeps_an_anonymous_trail, deletion);
