//! The pages' WebAuthn script in a real browser: Debian's Chromium, headless, with a virtual
//! authenticator, driven by npm `playwright-core` (`tests/browser/passkey.mjs`): sign in with the
//! password, register a passkey on the account page (recovery codes shown), sign in to an OIDC
//! client with the passkey alone from the username's autofill (conditional mediation; the test
//! then redeems the code: `acr=aal2`), and, in a second
//! browser holding the same key, use it as the second step after the password; then register a
//! security key there (a USB CTAP 2.1 key without user verification: the options must be ones
//! Chromium accepts, which it checks before asking any key) and sign in with the password and
//! that key. `scripts/test.sh` installs Chromium and the npm package.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::rp_http;
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer, auth_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_and_signs_in_with_a_passkey() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists() && dir.join("node_modules/playwright-core").exists(),
        "this test needs Debian's chromium ({chromium}; `apt-get install chromium`) and playwright-core \
         (`npm ci` in {}); scripts/test.sh installs both",
        dir.display()
    );
    let s = TestServer::start_with(Backend::Sqlite, |c| c.public_url = Some("http://localhost:0".into()))
        .await
        .unwrap();
    let account = s.add_account("lena").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let authorize = auth_url(&s.issuer, &web, "&nonce=n-1");
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(dir.join("passkey.mjs"))
            .args([&base, "lena", PASSWORD, &authorize, REDIRECT])
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"step\":\"done\""), "{stdout}");
    assert!(stdout.contains("\"step\":\"security_key_second_factor\""), "{stdout}");

    // the client's side of the passwordless sign-in: the code gives an ID token at aal2
    let callback = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["callback"].as_str().map(str::to_string))
        .expect("the callback URL");
    let code =
        url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(&web, secret.as_deref())
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let jwt = body["id_token"].as_str().unwrap_or_else(|| panic!("{body}"));
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!((claims["acr"].as_str(), claims["nonce"].as_str()), (Some("aal2"), Some("n-1")), "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));

    // what the browser did, as the server saw it
    let keys = s.ops.store.webauthn_credentials(&account).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let by = |k: &str| keys.iter().find(|c| c.kind == k).unwrap_or_else(|| panic!("{k}: {keys:?}"));
    let passkey = by("passkey");
    assert_eq!(passkey.name, "laptop");
    assert!(passkey.last_used_at.is_some() && passkey.flagged_at.is_none(), "{passkey:?}");
    // a security key registered in the real browser, and used as the second step
    let sk = by("security_key");
    assert!(sk.name == "usb key" && sk.last_used_at.is_some() && sk.flagged_at.is_none(), "{sk:?}");
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 20).await.unwrap();
    let acrs: Vec<_> =
        events.iter().filter(|e| e.kind == "login_success").map(|e| e.detail["amr"].clone()).collect();
    // newest first: password + security key (no user verification), password + key, passkey
    // alone, password alone (Chromium's virtual
    // authenticator is not backup eligible: a hardware-bound key, `hwk`)
    assert_eq!(
        acrs,
        vec![
            serde_json::json!(["pwd", "hwk", "mfa"]),
            serde_json::json!(["pwd", "hwk", "user", "mfa"]),
            serde_json::json!(["hwk", "user", "mfa"]),
            serde_json::json!(["pwd"])
        ],
        "{events:?}"
    );
}
