//! The phone number on the account pages, proven by an SMS code (file sender): typed in any
//! usual form, stored in E.164 and marked verified only after the right code; a number of
//! another account is refused after its code (so only its holder learns it); a successful SMS
//! sign-in verifies the number too. And a tenant's offered factors: switching SMS sign-in off
//! removes it from the sign-in page on the next tenant refresh.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewAccount;

use crate::browser::Browser;
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::sms::{code_of_message, messages, post};

async fn phone_verification(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| c.sms.file = Some(path)).await else { return };
    s.add_account("mia").await;
    let other = NewAccount {
        username: "noa".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: Some("+8613900003333".into()),
        email: None,
        roles: vec![],
    };
    s.ops.add_account("main", other).await.unwrap();
    let home = format!("{}/t/main/account/profile", s.base);
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &home).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "mia", PASSWORD).await.page();
    assert!(page.contains("id=\"phone\" data-verified=\"false\">未设置"), "{page}");

    // a code to the number typed; a wrong code keeps the old state; the right one verifies it
    let (_, _, sent) = post(&b, &s, &page, "/phone/send", &[("phone", "139 0000 2222")]).await.page();
    assert!(sent.contains("验证码已发送") && sent.contains("value=\"+8613900002222\""), "{sent}");
    let code = code_of_message(&outbox, 1, "+8613900002222").await;
    let (_, _, wrong) =
        post(&b, &s, &sent, "/phone/verify", &[("phone", "+8613900002222"), ("code", "000000")]).await.page();
    assert!(wrong.contains("剩余尝试次数") && wrong.contains("未设置"), "{wrong}");
    let (url, _, done) =
        post(&b, &s, &wrong, "/phone/verify", &[("phone", "+8613900002222"), ("code", &code)]).await.page();
    assert!(url.ends_with("/account/profile"), "{url}");
    assert!(done.contains("data-verified=\"true\">+8613900002222 · 已验证"), "{done}");
    let mia = s.ops.account("main", "13900002222").await.unwrap();
    assert!(mia.phone_verified_at.is_some() && mia.username == "mia");

    // another account's number: refused after the code, nothing changes
    let (_, _, sent) = post(&b, &s, &done, "/phone/send", &[("phone", "13900003333")]).await.page();
    let code = code_of_message(&outbox, 2, "+8613900003333").await;
    let (_, _, taken) =
        post(&b, &s, &sent, "/phone/verify", &[("phone", "+8613900003333"), ("code", &code)]).await.page();
    assert!(taken.contains("已被其他账号使用") && taken.contains("+8613900002222 · 已验证"), "{taken}");
    assert_eq!(messages(&outbox), 2);
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 20).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "phone_verified").count(), 1, "{events:?}");

    // SMS sign-in proves noa's number
    assert!(s.ops.account("main", "noa").await.unwrap().phone_verified_at.is_none());
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    assert!(login.contains("/sms\""), "SMS sign-in offered: {login}");
    let (_, _, sms_page) = b2.get(&s, &format!("{}{}", s.base, sms_link(&login))).await.page();
    let (_, _, sent) = post(&b2, &s, &sms_page, "/sms/send", &[("phone", "+8613900003333")]).await.page();
    let code = code_of_message(&outbox, 3, "+8613900003333").await;
    let (_, _, consent) =
        post(&b2, &s, &sent, "/sms/verify", &[("phone", "+8613900003333"), ("code", &code)]).await.page();
    assert!(consent.contains("value=\"allow\""), "{consent}");
    assert!(s.ops.account("main", "noa").await.unwrap().phone_verified_at.is_some());

    // the tenant stops offering SMS sign-in: gone from the sign-in page within the refresh
    let only: Vec<String> = ["totp", "passkeys", "security_keys"].iter().map(|s| s.to_string()).collect();
    let t = s.ops.tenant_factors("main", Some(&only)).await.unwrap();
    assert!(!t.settings.factors.sms_signin && t.settings.factors.totp);
    let mut offered = true;
    for _ in 0..40 {
        let (_, _, login) = Browser::new().get(&s, &auth_url(&s.issuer, &web, "")).await.page();
        offered = login.contains("/sms\"");
        if !offered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!offered, "SMS sign-in is no longer offered");
    let b3 = Browser::new();
    let (url, _, _) = b3.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, page) = b3.get(&s, &format!("{url}/sms")).await.page();
    assert!(page.contains("name=\"password\""), "the SMS page leads back to the sign-in page: {page}");
}
crate::both_backends!(phone_verification_and_offered_factors, phone_verification);

fn sms_link(login: &str) -> String {
    let i = login.find("/sms\"").expect("an SMS link");
    let start = login[..i].rfind('"').unwrap() + 1;
    login[start..i + 4].to_string()
}

/// A lost authenticator, where the tenant offers SMS recovery: a code to the verified phone
/// completes a sign-in to the account pages (only there; other clients' code pages link
/// there), and that session may remove the lost factor. Wrong codes count as failures.
async fn sms_recovery(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| c.sms.file = Some(path)).await else { return };
    let all: Vec<String> = ["totp", "passkeys", "security_keys", "sms_signin", "sms_recovery"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    s.ops.tenant_factors("main", Some(&all)).await.unwrap();
    let id = s.add_account("rui").await;
    let tenant = s.ops.tenant("main").await.unwrap().id;
    s.ops.store.set_account_phone(&tenant, &id, "+8613900004444", 1).await.unwrap();
    let secret = s.ops.enrol_totp("main", "rui").await.unwrap();
    let now = idp_core::Env::now(&s.env);
    s.ops.confirm_totp("main", "rui", &secret.code_at_step(now / 30)).await.unwrap();
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;

    // at a client's code page: a link to the account pages, where recovery happens
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "rui", PASSWORD).await.page();
    assert!(code_page.contains("name=\"code\"") && code_page.contains("用手机找回"), "{code_page}");
    assert!(!code_page.contains("/recovery/send") && code_page.contains("/t/main/account\""), "{code_page}");

    // on the account pages' sign-in: a code to the verified phone (masked on the page)
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    let (_, _, code_page) = b2.sign_in(&s, &login, "rui", PASSWORD).await.page();
    assert!(code_page.contains("+86139****4444") && !code_page.contains("+8613900004444"), "{code_page}");
    let (_, _, sent) = post(&b2, &s, &code_page, "/recovery/send", &[]).await.page();
    assert!(sent.contains("name=\"sms_code\""), "{sent}");
    let code = code_of_message(&outbox, 1, "+8613900004444").await;
    let (_, _, wrong) = post(&b2, &s, &sent, "/recovery/verify", &[("sms_code", "000000")]).await.page();
    assert!(wrong.contains("剩余尝试次数"), "{wrong}");
    let (url, _, account) = post(&b2, &s, &wrong, "/recovery/verify", &[("sms_code", &code)]).await.page();
    assert!(
        url.ends_with("/t/main/account/security") && account.contains("data-on=\"true\""),
        "{url}: {account}"
    );
    // this session may turn the lost authenticator off
    let (_, _, off) = post(&b2, &s, &account, "/totp/remove", &[]).await.page();
    assert!(off.contains("data-on=\"false\""), "{off}");
    let events = s.ops.store.audit_events(&tenant, 30).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "factor_recovery"), "{events:?}");
    assert!(
        events.iter().any(|e| e.kind == "login_failure" && e.detail["reason"] == "sms_recovery"),
        "a wrong recovery code is a failed credential"
    );
}
crate::both_backends!(sms_recovery_of_a_lost_factor, sms_recovery);
