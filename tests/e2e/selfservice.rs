//! Self-registration and the forgotten password on the sign-in page (SMS file sender).
//!
//! Registration is off until the tenant offers it; then a number proven by its code and a
//! password against the rules make an account, signed in at once (and bound to a real name
//! when the optional fields are filled in). A number that already has an account gets the
//! same answer on the page and a notice, never a code, in its inbox; a wrong code keeps the
//! form; a password that breaks the rules keeps the code.
//!
//! The forgotten password: a code to the account's verified phone, then a new password; every
//! session of the account ends, and the person signs in with it — a second factor the account
//! has is still asked. An unknown or unverified number gets the same answer and nothing.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};

use crate::browser::{Browser, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::sms::{code_of_message, messages};

const NEW: &str = "Quiet-Harbour-Lantern-77";

/// Posts the page's first form with its CSRF value and `form`.
async fn submit(b: &Browser, s: &TestServer, page: &str, form: &[(&str, &str)]) -> (String, u16, String) {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(form);
    b.post_form(s, &form_action(page), &all).await.page()
}

/// Sets the tenant's offer, and waits until a fresh sign-in page at `start` shows `marker` or
/// not (the nodes pick the change up within a second).
async fn offer(s: &TestServer, names: &[&str], start: &str, marker: &str, shown: bool) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    s.ops.tenant_factors("main", Some(&names)).await.unwrap();
    for _ in 0..100 {
        let (_, _, login) = Browser::new().get(s, start).await.page();
        if login.contains(marker) == shown {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{marker} shown: {shown}, not seen");
}

async fn registration(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.sms.file = Some(path);
        c.realname.provider = "simulator".into();
    })
    .await
    else {
        return;
    };
    let home = format!("{}/t/main/account", s.base);

    // off by default: no link, and the page leads back to the sign-in
    let b = Browser::new();
    let (url, _, login) = b.get(&s, &home).await.page();
    assert!(!login.contains("id=\"register-link\"") && !login.contains("id=\"reset-link\""), "{login}");
    let (_, _, back) = b.get(&s, &format!("{url}/register")).await.page();
    assert!(back.contains("name=\"password\""), "{back}");

    let all = ["totp", "passkeys", "security_keys", "sms_signin", "registration", "password_reset"];
    offer(&s, &all, &home, "id=\"register-link\"", true).await;
    let taken = s.add_account("lin").await;
    let tenant = s.tenant_id().await;
    s.ops.store.set_account_phone(&tenant, &taken, "+8613900007777", 1).await.unwrap();

    let b = Browser::new();
    let (url, _, login) = b.get(&s, &home).await.page();
    assert!(login.contains("id=\"register-link\""), "{login}");
    let (_, _, start) = b.get(&s, &format!("{url}/register")).await.page();
    assert!(start.contains("id=\"selfservice-send\"") && !start.contains("role=\"alert\""), "{start}");
    // only mainland mobile numbers: no foreign or premium-rate ranges to pump
    for bad in ["12", "+12025550123", "+8610123456789"] {
        let (_, _, bad) = submit(&b, &s, &start, &[("phone", bad)]).await;
        assert!(bad.contains("role=\"alert\">请输入正确的手机号"), "{bad}");
    }
    assert_eq!(messages(&outbox), 0);

    // a number with an account: the same answer; its holder gets a notice, not a code
    let (_, _, answer_taken) = submit(&b, &s, &start, &[("phone", "139 0000 7777")]).await;
    assert!(answer_taken.contains("id=\"selfservice-finish\""), "{answer_taken}");
    for _ in 0..200 {
        if messages(&outbox) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let inbox = std::fs::read_to_string(&outbox).unwrap();
    assert!(inbox.starts_with("+8613900007777\t") && inbox.contains("已有账号"), "{inbox}");
    let text = inbox.split('\t').nth(1).unwrap();
    assert!(!text.split(|c: char| !c.is_ascii_digit()).any(|run| run.len() == 6), "no code: {text}");

    // a new number: a code; the same page as for the taken number
    let (_, _, sent) = submit(&b, &s, &start, &[("phone", "13900008888")]).await;
    let strip = |p: &str| p.replace("13900008888", "N").replace("13900007777", "N");
    assert_eq!(strip(&sent), strip(&answer_taken), "the answer does not tell who has an account");
    assert!(sent.contains("id=\"rn-number\""), "the optional real-name fields: {sent}");
    let code = code_of_message(&outbox, 2, "+8613900008888").await;
    let finish = |code: &str, new: &str, again: &str| {
        let (b, s, sent) = (&b, &s, &sent);
        let form = [
            ("phone", "+8613900008888"),
            ("code", code),
            ("new", new),
            ("again", again),
            ("name", "米娅"),
            ("id_type", "resident_id"),
            ("id_number", "220102199003070013"),
        ]
        .map(|(k, v)| (k, v.to_string()));
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            submit(b, s, sent, &form).await
        }
    };
    let (_, _, weak) = finish(&code, "Ab1!", "Ab1!").await;
    assert!(weak.contains("role=\"alert\">密码至少需要 8 个字符"), "{weak}");
    let (_, _, wrong) = finish("000000", NEW, NEW).await;
    assert!(
        wrong.contains("验证码不正确，剩余尝试次数"),
        "the code was kept through the weak password: {wrong}"
    );
    let (url, status, page) = finish(&code, NEW, NEW).await;
    assert!(url.ends_with("/t/main/account") && status == 200, "signed in at once: {url}: {page}");
    assert!(page.contains("id=\"cards\""), "{page}");
    let mia = s.ops.account("main", "+8613900008888").await.unwrap();
    assert!(mia.phone_verified_at.is_some() && mia.username.starts_with('u'), "{mia:?}");
    let bound = s.ops.store.real_name(&mia.id).await.unwrap();
    assert!(bound.is_some_and(|r| r.level == 2), "bound at once, by the provider");
    let events = s.ops.store.account_events(&tenant, &mia.id, "account_registered", 5).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(!events[0].detail.to_string().contains("13900008888"), "no number in the trail");
    // the sign-in it was part of is over: the form cannot be sent again
    let (_, _, again) = finish(&code, NEW, NEW).await;
    assert!(again.contains("本次登录已过期或无效"), "{again}");
    // and the new account signs in with its number and password
    let c = Browser::new();
    let (_, _, login) = c.get(&s, &home).await.page();
    let (url, _, _) = c.sign_in(&s, &login, "13900008888", NEW).await.page();
    assert!(url.ends_with("/t/main/account"), "{url}");

    // refusals: no CSRF value, a forged one
    let d = Browser::new();
    let (url, _, _) = d.get(&s, &home).await.page();
    let action = format!("{url}/register/send");
    let (_, status, _) = d.post_form(&s, &action, &[("phone", "13900009999")]).await.page();
    assert_eq!(status, 403);
    let forged = [("csrf", "forged"), ("phone", "13900009999")];
    let (_, status, _) = d.post_form(&s, &action, &forged).await.page();
    assert_eq!(status, 403);
    assert_eq!(messages(&outbox), 2, "nothing sent");
}
crate::both_backends!(self_registration_by_phone, registration);

async fn forgotten(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| c.sms.file = Some(path)).await else { return };
    let id = s.add_account("rui").await;
    let tenant = s.tenant_id().await;
    s.ops.store.set_account_phone(&tenant, &id, "+8613900004444", 1).await.unwrap();
    let zoe = idp_server::ops::NewAccount {
        username: "zoe".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: Some("+8613900005555".into()),
        email: None,
        roles: vec![],
    };
    assert!(s.ops.add_account("main", zoe).await.unwrap().phone_verified_at.is_none());
    let (totp, _) = crate::step_up::enrol(&s, "rui").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let signin_url = auth_url(&s.issuer, &web, "");
    let on = ["totp", "passkeys", "security_keys", "sms_signin", "sms_recovery", "password_reset"];
    offer(&s, &on, &signin_url, "id=\"reset-link\"", true).await;

    // a signed-in browser elsewhere, to be signed out by the reset
    let elsewhere = Browser::new();
    let home = format!("{}/t/main/account", s.base);
    let (_, _, login) = elsewhere.get(&s, &home).await.page();
    let (_, _, code_page) = elsewhere.sign_in(&s, &login, "rui", PASSWORD).await.page();
    crate::step_up::submit_code(&elsewhere, &s, &code_page, &totp.code_at_step(s.env.now() / 30)).await;
    s.env.advance(30);

    let b = Browser::new();
    let (url, _, login) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    assert!(login.contains("id=\"reset-link\""), "{login}");
    let (_, _, start) = b.get(&s, &format!("{url}/reset")).await.page();
    // unknown and unverified numbers: the same answer, nothing sent
    let (_, _, unknown) = submit(&b, &s, &start, &[("phone", "13900006666")]).await;
    let (_, _, unverified_answer) = submit(&b, &s, &start, &[("phone", "13900005555")]).await;
    let (_, _, sent) = submit(&b, &s, &start, &[("phone", "13900004444")]).await;
    let strip =
        |p: &str| p.replace("13900006666", "N").replace("13900005555", "N").replace("13900004444", "N");
    assert_eq!(strip(&unknown), strip(&sent));
    assert_eq!(strip(&unverified_answer), strip(&sent));
    let code = code_of_message(&outbox, 1, "+8613900004444").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(messages(&outbox), 1, "only the verified number got a message");
    // a wrong code counts towards the lockout, as at the SMS sign-in
    let wrong = [("phone", "+8613900004444"), ("code", "000000"), ("new", NEW), ("again", NEW)];
    let (_, _, again) = submit(&b, &s, &sent, &wrong).await;
    assert!(again.contains("验证码不正确"), "{again}");
    assert_eq!(s.ops.store.account(&tenant, &id).await.unwrap().unwrap().failed_logins, 1);

    let (_, _, done) =
        submit(&b, &s, &sent, &[("phone", "+8613900004444"), ("code", &code), ("new", NEW), ("again", NEW)])
            .await;
    assert!(
        done.contains("role=\"status\">密码已重设") && done.contains("value=\"+8613900004444\""),
        "{done}"
    );
    // the other browser is signed out
    let (_, _, there) = elsewhere.get(&s, &home).await.page();
    assert!(there.contains("name=\"password\""), "signed out there: {there}");
    // the old password no longer works; the new one does, and the second factor is still asked
    let (_, _, old) = b.sign_in(&s, &done, "rui", PASSWORD).await.page();
    assert!(old.contains("name=\"password\"") && !old.contains("name=\"code\""), "{old}");
    let (_, _, factor) = b.sign_in(&s, &old, "rui", NEW).await.page();
    assert!(factor.contains("name=\"code\""), "the second factor is still asked: {factor}");
    // and the phone that set the password cannot stand in for the second factor as well:
    // no SMS recovery for a while, on the account pages' sign-in either
    assert!(!factor.contains("用手机找回") && !factor.contains("/recovery/send"), "{factor}");
    let c = Browser::new();
    let (_, _, login) = c.get(&s, &home).await.page();
    let (_, _, code_page) = c.sign_in(&s, &login, "rui", NEW).await.page();
    assert!(code_page.contains("name=\"code\"") && !code_page.contains("/recovery/send"), "{code_page}");
    let events = s.ops.store.account_events(&tenant, &id, "password_reset", 5).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(!events[0].detail.to_string().contains(NEW));

    // switched off: the link and the pages are gone
    let off = ["totp", "passkeys", "security_keys", "sms_signin"];
    offer(&s, &off, &signin_url, "id=\"reset-link\"", false).await;
}
crate::both_backends!(forgotten_password_by_phone, forgotten);

/// The forgotten password by a verified email address: the same answer for an unknown
/// address, an unverified one and one that several accounts proved (whose holders get a
/// notice saying to use the phone instead, never a code); the reset itself as by phone, the
/// sign-in form then filled in with the username (an address does not sign in).
async fn forgotten_by_email(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (sms, mail) = (dir.path().join("sms.txt"), dir.path().join("mail.txt"));
    let paths = (sms.clone(), mail.clone());
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.sms.file = Some(paths.0);
        c.email.file = Some(paths.1);
    })
    .await
    else {
        return;
    };
    let tenant = s.tenant_id().await;
    let rui = s.add_account("rui").await; // rui@example.test, stored but not verified
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let on = ["totp", "passkeys", "security_keys", "sms_signin", "password_reset"];
    offer(&s, &on, &auth_url(&s.issuer, &web, ""), "id=\"reset-link\"", true).await;
    let b = Browser::new();
    let (url, _, _) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, start) = b.get(&s, &format!("{url}/reset")).await.page();
    assert!(start.contains("手机号或电子邮箱"), "{start}");
    let (_, _, unverified) = submit(&b, &s, &start, &[("phone", "rui@example.test")]).await;
    s.ops.store.set_account_email(&tenant, &rui, "rui@example.test", 1).await.unwrap();
    for twin in ["ann", "ben"] {
        let id = s.add_account(twin).await;
        s.ops.store.set_account_email(&tenant, &id, "twins@example.test", 1).await.unwrap();
    }
    let (_, _, unknown) = submit(&b, &s, &start, &[("phone", "nobody@example.test")]).await;
    let (_, _, twins) = submit(&b, &s, &start, &[("phone", "twins@example.test")]).await;
    s.env.advance(61); // (one code a minute to an address: rui's was asked for above)
    let (_, _, sent) = submit(&b, &s, &start, &[("phone", " rui@EXAMPLE.test ")]).await;
    let strip = |p: &str| {
        ["rui@example.test", "nobody@example.test", "twins@example.test"]
            .iter()
            .fold(p.to_string(), |p, a| p.replace(a, "A"))
    };
    assert!(sent.contains("value=\"rui@example.test\""), "normalised: {sent}");
    for other in [&unverified, &unknown, &twins] {
        let (a, b) = (strip(other), strip(&sent));
        let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        let part = |p: &str| p.chars().skip(at.saturating_sub(80)).take(240).collect::<String>();
        assert_eq!(a, b, "the answer does not tell who has an account: {} | {}", part(&a), part(&b));
    }
    let code = code_of_message(&mail, 2, "rui@example.test").await;
    let inbox = std::fs::read_to_string(&mail).unwrap();
    let notice = inbox.lines().next().unwrap();
    assert!(notice.starts_with("twins@example.test\t") && notice.contains("多个账号"), "{inbox}");
    assert_eq!(messages(&mail), 2, "nothing for the unknown and the unverified address");
    assert_eq!(messages(&sms), 0);

    let form = [("phone", "rui@example.test"), ("code", code.as_str()), ("new", NEW), ("again", NEW)];
    let (_, _, done) = submit(&b, &s, &sent, &form).await;
    assert!(done.contains("role=\"status\">密码已重设") && done.contains("value=\"rui\""), "{done}");
    let (url, _, _) = b.sign_in(&s, &done, "rui", NEW).await.page();
    assert!(url.contains("/interaction/") || url.contains("consent"), "{url}");
    let events = s.ops.store.account_events(&tenant, &rui, "password_reset", 5).await.unwrap();
    assert_eq!(events[0].detail["via"], "email");
    assert!(!events[0].detail.to_string().contains("example.test"), "no address in the trail");
}
crate::both_backends!(forgotten_password_by_email, forgotten_by_email);
