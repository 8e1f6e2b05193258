//! The people's pages in a real browser (`tests/browser/pages.mjs`: Debian's Chromium driven by
//! npm playwright-core, audited by npm axe-core): the sign-in page before and after a wrong
//! password, SMS sign-in, self-registration and the forgotten password (both steps), setting
//! up an authenticator, the recovery codes, the second-factor page, consent, the sign-out
//! question, an expired sign-in, the account overview and its seven sections, the signed-out page and a
//! missing page, in Chinese and in English, with no serious or critical WCAG 2.1 AA violation,
//! each under 50 KB transferred; a keyboard-only sign-in to a client; a sign-in and the account
//! pages with JavaScript off. Its screenshots are the README's (`docs/screenshots/`), so they
//! show the pages as they are. Passkeys are on (a domain name in the public URL): the heaviest
//! sign-in page.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::browser_script;
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer, auth_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_accessible_light_and_work_by_keyboard_and_without_script() {
    let outbox = tempfile::tempdir().unwrap();
    let sms = outbox.path().join("sms.txt");
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.public_url = Some("http://localhost:0".into());
        c.sms.file = Some(sms);
    })
    .await
    .unwrap();
    // every self-service page too
    let all = ["totp", "passkeys", "security_keys", "sms_signin", "registration", "password_reset"];
    s.ops.tenant_factors("main", Some(&all.map(String::from))).await.unwrap();
    s.add_account("lena").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let authorize = auth_url(&s.issuer, &web, "&nonce=n-1");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let args = [&s.base, "lena", PASSWORD, &authorize, REDIRECT, &shots.display().to_string()];
    let (ok, stdout) = browser_script("pages.mjs", args.map(|a| a.to_string()).to_vec(), vec![]).await;
    assert!(ok, "{stdout}");
    for step in ["keyboard_only", "no_script", "done"] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
    let shown = [
        "signin.png",
        "register.png",
        "consent.png",
        "account.png",
        "account-security.png",
        "account-phone.png",
        "factor.png",
    ];
    for shot in shown {
        assert!(shots.join(shot).exists(), "{shot}");
    }
}

/// A newcomer registers, allows a department application, adds a passkey, sees the
/// application, signs out and signs in with the passkey — in Chromium, by what the pages say
/// only (`tests/browser/newcomer.mjs` clicks links and buttons by their visible Chinese text and
/// types no address but the application's sign-in link and the provider's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_registers_adds_a_passkey_and_signs_in_with_it_by_what_the_pages_say() {
    let outbox = tempfile::tempdir().unwrap();
    let sms = outbox.path().join("sms.txt");
    let sms_arg = sms.display().to_string();
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.public_url = Some("http://localhost:0".into());
        c.sms.file = Some(sms);
        c.realname.provider = "simulator".into();
    })
    .await
    .unwrap();
    let all = ["totp", "passkeys", "security_keys", "sms_signin", "registration", "password_reset"];
    s.ops.tenant_factors("main", Some(&all.map(String::from))).await.unwrap();
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let authorize = auth_url(&s.issuer, &web, "&nonce=n-1");
    let args = [&s.base, &authorize, REDIRECT, &sms_arg].map(|a| a.to_string()).to_vec();
    let (ok, stdout) = browser_script("newcomer.mjs", args, vec![("NEWCOMER_STRICT", "1".into())]).await;
    assert!(ok, "{stdout}");
    for step in [
        "signin_page",
        "code_sent",
        "registered",
        "consented",
        "account_overview",
        "passkey_added",
        "applications",
        "passkey_sign_in",
        "done",
    ] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
    assert!(stdout.contains("\"password_typed\":false"), "signed in by the passkey: {stdout}");
}
