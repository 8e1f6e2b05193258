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
    let home = format!("{}/t/main/account", s.base);
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
    assert!(url.ends_with("/account"), "{url}");
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
