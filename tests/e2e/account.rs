//! The account pages: sign-in through the usual pages (no consent, no code), setting up an
//! authenticator with the QR page and a code computed by Debian's `oathtool` from the key the
//! page shows (activated only by a correct code), recovery codes shown once, the code page at
//! the next sign-in, and turning it off only from a session that used it.

use idp_core::Env;
use idp_core::totp::Secret;

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer};

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body.find(start).unwrap_or_else(|| panic!("{start:?} not in {body}")) + start.len();
    let j = body[i..].find(end).unwrap() + i;
    &body[i..j]
}

async fn post(b: &Browser, s: &TestServer, page: &str, extra: &[(&str, &str)]) -> Step {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(extra);
    b.post_form(s, &form_action(page), &form).await
}

fn oathtool(key: &str, at: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", key, "--now", &format!("@{at}")])
        .output()
        .expect("oathtool is installed (Debian package oathtool; scripts/test.sh installs it)");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn account_pages(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("hana").await;
    let home = format!("{}/t/main/account/security", s.base);

    // not signed in: the sign-in page, then back to the account page
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &home).await.page();
    assert!(login.contains("name=\"password\""), "{login}");
    let (url, status, page) = b.sign_in(&s, &login, "hana", PASSWORD).await.page();
    assert!(url.ends_with("/t/main/account/security") && status == 200, "{url}: {page}");
    assert!(page.contains("data-on=\"false\"") && page.contains("hana"), "{page}");

    // set up: QR code and key; a wrong code does not activate it
    let (_, _, enrol) = post(&b, &s, &page, &[]).await.page();
    assert!(enrol.contains("<svg"), "a QR code: {enrol}");
    let key = between(&enrol, "<code id=\"totp-key\">", "</code>").to_string();
    let (_, _, again) = post(&b, &s, &enrol, &[("code", "000000")]).await.page();
    assert!(again.contains("验证码不正确"), "{again}");
    let (_, _, still_off) = b.get(&s, &home).await.page();
    assert!(still_off.contains("data-on=\"false\""), "pending until a correct code");
    // starting again replaces the pending secret
    let (_, _, enrol) = post(&b, &s, &still_off, &[]).await.page();
    let key = {
        let fresh = between(&enrol, "<code id=\"totp-key\">", "</code>").to_string();
        assert_ne!(fresh, key, "starting again draws a new secret");
        fresh
    };
    let code = oathtool(&key, s.env.now());
    let (_, _, codes) = post(&b, &s, &enrol, &[("code", &code)]).await.page();
    assert_eq!(codes.matches("<li><code>").count(), 10, "ten recovery codes, shown once: {codes}");
    let (_, _, on) = b.get(&s, &home).await.page();
    assert!(on.contains("data-on=\"true\"") && on.contains("10"), "{on}");

    // this session signed in with the password only: it cannot turn the factor off
    let (_, _, refused) = post(&b, &s, &on, &[]).await.page();
    assert!(
        refused.contains("data-on=\"true\"") && refused.contains("请先退出，再用本平台的账号重新登录"),
        "{refused}"
    );

    // the next sign-in asks for a code; that session may turn it off
    s.env.advance(30);
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &home).await.page();
    let (_, _, code_page) = b2.sign_in(&s, &login, "hana", PASSWORD).await.page();
    assert!(code_page.contains("name=\"code\""), "{code_page}");
    let secret = Secret::from_base32(&key).unwrap();
    let code = secret.code_at_step(s.env.now() / 30);
    let (url, _, on) = post(&b2, &s, &code_page, &[("code", &code)]).await.page();
    assert!(url.ends_with("/account/security") && on.contains("data-on=\"true\""), "{url}: {on}");

    // new recovery codes: only from this session, shown once, the old ones replaced
    let renew = "/t/main/account/recovery/renew";
    assert!(on.contains("id=\"recovery-renew\"") && !refused.contains("id=\"recovery-renew\""), "{on}");
    let csrf1 = crate::browser::extract(&refused, "csrf").unwrap();
    let (_, _, no) = b.post_form(&s, renew, &[("csrf", &csrf1)]).await.page();
    assert!(no.contains("请先退出，再用本平台的账号重新登录"), "a password-only session: {no}");
    let (_, _, forged) = b2.post_form(&s, renew, &[("csrf", "forged")]).await.page();
    assert!(!forged.contains("<li><code>"), "{forged}");
    let csrf2 = crate::browser::extract(&on, "csrf").unwrap();
    let (_, _, fresh) = b2.post_form(&s, renew, &[("csrf", &csrf2)]).await.page();
    assert_eq!(fresh.matches("<li><code>").count(), 10, "{fresh}");
    let first = between(&codes, "<li><code>", "</code>").to_string();
    assert!(!fresh.contains(&first), "new codes");
    let (_, _, off) = post(&b2, &s, &on, &[]).await.page();
    assert!(off.contains("data-on=\"false\""), "{off}");

    // and without it, the password is enough again
    let b3 = Browser::new();
    let (_, _, login) = b3.get(&s, &home).await.page();
    let (url, _, _) = b3.sign_in(&s, &login, "hana", PASSWORD).await.page();
    assert!(url.ends_with("/account/security"), "{url}");
}
crate::both_backends!(account_pages_set_up_and_remove_totp, account_pages);
