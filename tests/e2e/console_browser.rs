//! The console walked in Debian's Chromium from a fresh start (`tests/browser/console_walk.mjs`):
//! the bootstrap administrator led through a second factor to the dashboard, an application's
//! secret shown once and gone after Back, confirmations that can be cancelled, a reload after
//! an action, the console's own client and every self-lockout refused, the session ending
//! mid-edit with the typed value kept, the pages on a phone; axe-core on each page. Screenshots
//! are kept under `target/artefacts/console-walk/`.

use idp_core::Env;
use idp_server::ops::NewAccount;

use crate::browser::browser_script;
use crate::common::{Backend, PASSWORD, TestServer};
use crate::step_up::enrol;

/// The console session's length in this walk: the console client's shortest token lifetime, so
/// the walk can wait for one to end.
const SESSION: i64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_walked_in_chromium_from_a_fresh_start() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (user, password) = s.bootstrap_admin.clone().unwrap();
    let sec = NewAccount {
        username: "sec".into(),
        password: Some(PASSWORD.into()),
        name: Some("安全管理员甲".into()),
        phone: None,
        email: None,
        roles: vec!["security_admin".into()],
    };
    s.ops.add_account("main", sec).await.unwrap();
    let (sec_totp, _) = enrol(&s, "sec").await;
    // the console's tokens (and so its sessions) last SESSION seconds here
    let shorter = idp_proto::ClientRequest { access_token_ttl: Some(SESSION), ..Default::default() };
    s.ops.update_client_by("main", "console", &shorter, "test").await.unwrap();

    let artefacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artefacts/console-walk");
    let args = vec![
        s.base.clone(),
        user,
        password,
        s.env.now().to_string(),
        "sec".into(),
        PASSWORD.into(),
        sec_totp.base32(),
        SESSION.to_string(),
        artefacts.display().to_string(),
    ];
    let (ok, printed) = browser_script("console_walk.mjs", args, vec![]).await;
    assert!(ok, "{printed}");
    let steps: Vec<serde_json::Value> =
        printed.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).collect();
    let step =
        |name: &str| steps.iter().find(|v| v["step"] == name).unwrap_or_else(|| panic!("{name}: {printed}"));
    let first = step("first_sign_in")["seconds"].as_f64().unwrap();
    assert!(first < 300.0, "from the root page to the dashboard with two factors: {first} s");
    assert_eq!(step("expiry_mid_edit")["kept"], "不动产登记系统（新版）");
    let client = step("done")["client"].as_str().unwrap().to_string();
    let stored = s.ops.client("main", &client).await.unwrap();
    assert!(stored.disabled && stored.name == "不动产登记系统（新版）", "{stored:?}");
    assert!(!s.ops.client("main", "console").await.unwrap().disabled);
    assert!(!s.ops.account("main", "sec").await.unwrap().disabled);
    for shot in [
        "03-set-up-offered",
        "07-dashboard",
        "09-secret-once",
        "11-confirm-rotation",
        "14-signed-in-again-form-kept",
        "23-phone-menu",
    ] {
        assert!(artefacts.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
}
