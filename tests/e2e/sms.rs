//! Sign-in with a phone number and an SMS code through the file sender: the code signs in once
//! (amr sms, acr aal1); an unregistered number gets the same answer and no message; a code
//! dies after five wrong tries and after five minutes; one code a minute per number.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewAccount;

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};

const PHONE: &str = "+8613800001111";

/// The code of the `n`th message (1-based) in the outbox, once it is there (messages go out
/// after the answer).
pub(crate) async fn code_of_message(outbox: &std::path::Path, n: usize, phone: &str) -> String {
    for _ in 0..200 {
        if messages(outbox) >= n {
            let text = std::fs::read_to_string(outbox).unwrap();
            let line = text.lines().nth(n - 1).unwrap();
            assert!(line.starts_with(&format!("{phone}\t")), "{line}");
            // the message's only run of six digits is the code
            let code =
                line.split('\t').nth(1).unwrap().split(|c: char| !c.is_ascii_digit()).find(|r| r.len() == 6);
            return code.expect("a six-digit code").to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("message {n} never came");
}

pub(crate) fn messages(outbox: &std::path::Path) -> usize {
    std::fs::read_to_string(outbox).unwrap_or_default().lines().count()
}

pub(crate) async fn post(
    b: &Browser,
    s: &TestServer,
    page: &str,
    action_end: &str,
    form: &[(&str, &str)],
) -> Step {
    let csrf = extract(page, "csrf").expect("csrf");
    // the page has two forms: pick the one whose action ends as asked
    let action = page
        .match_indices("action=\"")
        .map(|(i, _)| {
            let rest = &page[i + 8..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .find(|a| a.ends_with(action_end))
        // (a code may be entered on a fresh page too: its send form names the interaction)
        .unwrap_or_else(|| form_action(page).replace("/sms/send", action_end));
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    b.post_form(s, &action, &full).await
}

async fn sms_page(b: &Browser, s: &TestServer, web: &str) -> String {
    let (_, _, login) = b.get(s, &auth_url(&s.issuer, web, "")).await.page();
    let link = login
        .match_indices("href=\"")
        .map(|(i, _)| {
            let rest = &login[i + 6..];
            &rest[..rest.find('"').unwrap()]
        })
        .find(|h| h.ends_with("/sms"))
        .unwrap_or_else(|| panic!("the sign-in page links to SMS sign-in: {login}"));
    let (_, _, page) = b.get(s, &format!("{}{link}", s.base)).await.page();
    page
}

async fn sms_sign_in(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.txt");
    let path = outbox.clone();
    let Some(s) = TestServer::start_with(backend, move |c| c.sms.file = Some(path)).await else { return };
    s.ops
        .add_account(
            "main",
            NewAccount {
                username: "lin".into(),
                password: Some(PASSWORD.into()),
                name: None,
                // written as a person would; stored in E.164
                phone: Some("138 0000 1111".into()),
                email: None,
                roles: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(s.ops.account("main", "lin").await.unwrap().phone.as_deref(), Some(PHONE));
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    // the password sign-in takes the number in any usual form
    for typed in ["13800001111", "+86 138-0000-1111"] {
        let b = Browser::new();
        let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
        let step = b.sign_in(&s, &login, typed, PASSWORD).await;
        let (_, _, consent) = step.page();
        assert!(consent.contains("value=\"allow\""), "{typed}: {consent}");
    }

    // an unregistered number: the same answer, no message
    let b = Browser::new();
    let page = sms_page(&b, &s, &web).await;
    let (_, _, unknown) = post(&b, &s, &page, "/sms/send", &[("phone", "+8613999999999")]).await.page();
    assert!(unknown.contains("如果该号码已注册") && unknown.contains("name=\"code\""), "{unknown}");
    assert_eq!(messages(&outbox), 0);
    // …and a wrong code for it answers as for a registered number: tries left
    let (_, _, wrong_unknown) =
        post(&b, &s, &unknown, "/sms/verify", &[("phone", "+8613999999999"), ("code", "000000")])
            .await
            .page();
    assert!(
        wrong_unknown.contains("剩余尝试次数： 4") || wrong_unknown.contains("剩余尝试次数：4"),
        "{wrong_unknown}"
    );

    // the registered number (typed with spaces) gets a code; a second one within the minute waits
    let (_, _, sent) = post(&b, &s, &page, "/sms/send", &[("phone", "+86 138 0000 1111")]).await.page();
    assert!(sent.contains("如果该号码已注册"), "{sent}");
    let code = code_of_message(&outbox, 1, PHONE).await;
    let (_, status, _) = post(&b, &s, &sent, "/sms/send", &[("phone", PHONE)]).await.page();
    assert_eq!(status, 429, "one code a minute per number");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(messages(&outbox), 1);

    // a wrong code costs a try; the right one signs in, once
    let (_, _, wrong) =
        post(&b, &s, &sent, "/sms/verify", &[("phone", PHONE), ("code", "000000")]).await.page();
    assert!(wrong.contains("剩余尝试次数： 4") || wrong.contains("剩余尝试次数：4"), "{wrong}");
    let step = post(&b, &s, &wrong, "/sms/verify", &[("phone", PHONE), ("code", &code)]).await;
    let (_, _, consent) = step.page();
    let cb = b.consent(&s, &consent, true).await.callback();
    assert!(cb.contains_key("code"));
    // (the ID token's amr is sms and acr aal1: checked through the audit trail here)
    let events = s.ops.store.audit_events(&s.ops.tenant("main").await.unwrap().id, 5).await.unwrap();
    let login = events.iter().find(|e| e.kind == "login_success").expect("login audited");
    assert_eq!(login.detail["amr"], serde_json::json!(["sms"]));
    assert_eq!(login.detail["acr"], "aal1");
    let b2 = Browser::new();
    let page2 = sms_page(&b2, &s, &web).await;
    let (_, _, again) =
        post(&b2, &s, &page2, "/sms/verify", &[("phone", PHONE), ("code", &code)]).await.page();
    assert!(again.contains("验证码已失效"), "a code signs in once: {again}");

    // five wrong tries kill a code; so do five minutes
    s.env.advance(61);
    let (_, _, sent) = post(&b2, &s, &page2, "/sms/send", &[("phone", PHONE)]).await.page();
    let code = code_of_message(&outbox, 2, PHONE).await;
    let mut page = sent;
    for _ in 0..5 {
        let (_, _, next) =
            post(&b2, &s, &page, "/sms/verify", &[("phone", PHONE), ("code", "999999")]).await.page();
        page = next;
    }
    let (_, _, dead) = post(&b2, &s, &page, "/sms/verify", &[("phone", PHONE), ("code", &code)]).await.page();
    assert!(dead.contains("验证码已失效"), "dead after five wrong tries: {dead}");
    s.env.advance(61);
    let (_, _, sent) = post(&b2, &s, &page2, "/sms/send", &[("phone", PHONE)]).await.page();
    let code = code_of_message(&outbox, 3, PHONE).await;
    s.env.advance(301);
    let (_, _, late) = post(&b2, &s, &sent, "/sms/verify", &[("phone", PHONE), ("code", &code)]).await.page();
    assert!(late.contains("验证码已失效"), "dead after five minutes: {late}");
}
crate::both_backends!(sms_codes_sign_in, sms_sign_in);
