//! The email address on the account pages (contact verification), through the file sender:
//! a malformed address is refused, a code goes to the address typed (its domain lower-cased), a
//! wrong code changes nothing, the right one sets it verified; UserInfo then says
//! `email_verified: true`. Changing it again makes the new one verified in turn.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::Browser;
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::sms::{code_of_message, messages, post};

async fn email_verification(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("mail.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| c.email.file = Some(path)).await else { return };
    s.add_account("qing").await; // with qing@example.test, unverified
    let home = format!("{}/t/main/account/profile", s.base);
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &home).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "qing", PASSWORD).await.page();
    assert!(page.contains("id=\"email\" data-verified=\"false\">qing@example.test · 未验证"), "{page}");

    let (_, _, bad) = post(&b, &s, &page, "/email/send", &[("email", "not an address")]).await.page();
    assert!(bad.contains("请输入有效的电子邮箱地址"), "{bad}");
    assert_eq!(messages(&outbox), 0);
    let (_, _, sent) =
        post(&b, &s, &page, "/email/send", &[("email", " Qing@Mail.Example.CN ")]).await.page();
    assert!(
        sent.contains("验证码已发送到该邮箱") && sent.contains("value=\"Qing@mail.example.cn\""),
        "{sent}"
    );
    let code = code_of_message(&outbox, 1, "Qing@mail.example.cn").await;
    let (_, _, wrong) =
        post(&b, &s, &sent, "/email/verify", &[("email", "Qing@mail.example.cn"), ("code", "000000")])
            .await
            .page();
    assert!(wrong.contains("剩余尝试次数") && wrong.contains("qing@example.test · 未验证"), "{wrong}");
    let (url, _, done) =
        post(&b, &s, &wrong, "/email/verify", &[("email", "Qing@mail.example.cn"), ("code", &code)])
            .await
            .page();
    assert!(url.ends_with("/account/profile"), "{url}");
    assert!(done.contains("data-verified=\"true\">Qing@mail.example.cn · 已验证"), "{done}");
    // the code is used up
    let csrf = crate::browser::extract(&done, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("email", "Qing@mail.example.cn"), ("code", code.as_str())];
    let (_, _, again) = b.post_form(&s, "/t/main/account/email/verify", &form).await.page();
    assert!(again.contains("验证码已失效"), "{again}");

    // what a client now receives
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let url = auth_url(&s.issuer, &web, "").replace("scope=openid", "scope=openid%20email");
    let cb = b.authorize(&s, &url, "qing").await.callback();
    let tokens = crate::rp::redeem(&s, &web, secret.as_deref().unwrap(), &cb["code"]).await;
    let info = crate::rp::userinfo_of(&s, &tokens).await;
    assert_eq!(
        (info["email"].as_str(), info["email_verified"].as_bool()),
        (Some("Qing@mail.example.cn"), Some(true))
    );
    let tenant = s.tenant_id().await;
    let events = s.ops.store.audit_events(&tenant, 50).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "email_verified").count(), 1);
}
crate::both_backends!(an_email_address_is_proven_by_a_code, email_verification);
