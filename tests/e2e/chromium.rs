//! The pages' WebAuthn script in a real browser: Debian's Chromium, headless, with a virtual
//! authenticator, driven by npm `playwright-core` (`tests/browser/passkey.mjs`): sign in with the
//! password, register a passkey on the account page (recovery codes shown), sign in again with
//! the passkey alone from the username's autofill (conditional mediation), and, in a second
//! browser holding the same key, use it as the second step after the password. `.ci/run`
//! installs Chromium and the npm package.

use crate::common::{Backend, PASSWORD, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_and_signs_in_with_a_passkey() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists() && dir.join("node_modules/playwright-core").exists(),
        "this test needs Debian's chromium ({chromium}; `apt-get install chromium`) and playwright-core \
         (`npm ci` in {}); .ci/run installs both",
        dir.display()
    );
    let s = TestServer::start_with(Backend::Sqlite, |c| c.public_url = Some("http://localhost:0".into()))
        .await
        .unwrap();
    let account = s.add_account("lena").await;
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(dir.join("passkey.mjs"))
            .args([&base, "lena", PASSWORD])
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"step\":\"done\""), "{stdout}");

    // what the browser did, as the server saw it
    let keys = s.ops.store.webauthn_credentials(&account).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!((keys[0].name.as_str(), keys[0].kind.as_str()), ("laptop", "passkey"));
    assert!(keys[0].last_used_at.is_some() && keys[0].flagged_at.is_none(), "{:?}", keys[0]);
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 20).await.unwrap();
    let acrs: Vec<_> =
        events.iter().filter(|e| e.kind == "login_success").map(|e| e.detail["amr"].clone()).collect();
    // newest first: password + key, passkey alone, password alone (Chromium's virtual
    // authenticator is not backup eligible: a hardware-bound key, `hwk`)
    assert_eq!(
        acrs,
        vec![
            serde_json::json!(["pwd", "hwk", "user", "mfa"]),
            serde_json::json!(["hwk", "user", "mfa"]),
            serde_json::json!(["pwd"])
        ],
        "{events:?}"
    );
}
