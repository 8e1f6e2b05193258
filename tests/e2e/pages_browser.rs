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

/// The citizen pages the sign-in reaches for particular clients, in both languages, with the
/// same audit (`tests/browser/more_pages.mjs`): the real-name upgrade inside a sign-in (the name
/// and ID form, the bank-card form, the counter-only level), the acting-context chooser of an
/// enterprise's representative, the consent page for the full ID number and under a statutory
/// duty, and a kiosk sign-in approved and denied on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_met_for_particular_clients_are_accessible_and_light() {
    use idp_core::org::NewOrganisation;
    use idp_server::ops::NewClient;
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.public_url = Some("http://localhost:0".into());
        c.realname.provider = "simulator".into();
    })
    .await
    .unwrap();
    let tenant = s.tenant_id().await;
    let mut people = serde_json::Map::new();
    let persons = [
        ("zh-CN", "rn-zh", "李华", "22010219800101001", "91220101MA0Y3K5Q3C", "+8613900007701"),
        ("en-US", "rn-en", "王芳", "22010219850505003", "91220101MA0Y3K5Q4F", "+8613900007702"),
    ];
    for (locale, user, name, first17, uscc, phone) in persons {
        let number = crate::realname::resident(first17);
        let id = s.add_account(user).await;
        s.ops.store.set_account_phone(&tenant, &id, phone, 1).await.unwrap();
        let ent = NewOrganisation {
            kind: "enterprise".into(),
            name: format!("{name}的企业"),
            uscc: Some(uscc.into()),
            representative_name: Some(name.into()),
            representative_id: Some(number.clone()),
            ..NewOrganisation::default()
        };
        s.ops.add_organisation("main", None, ent).await.unwrap();
        people.insert(
            locale.into(),
            serde_json::json!({"username": user, "name": name, "id_number": number, "uscc": uscc}),
        );
    }
    let client = async |name: &str, scope: &str, settings: ClientSettings| {
        let new = NewClient {
            name: name.into(),
            client_type: ClientType::Web,
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            scope: None,
            settings: Some(ClientSettings { scope: scope.into(), ..settings }),
        };
        let (c, _) = s.ops.add_client("main", new).await.unwrap();
        auth_url(&s.issuer, &c.client_id, "&nonce=n-1")
            .replace("scope=openid", &format!("scope={}", scope.replace(' ', "+")))
    };
    let org = |o: &str| Some(o.to_string());
    let realname = client(
        "社保待遇资格认证",
        "openid profile realname",
        ClientSettings {
            min_realname_level: Some(3),
            organisation: org("省人力资源和社会保障厅"),
            ..Default::default()
        },
    )
    .await;
    let counter = client(
        "不动产登记",
        "openid profile realname",
        ClientSettings {
            min_realname_level: Some(4),
            organisation: org("市自然资源局"),
            ..Default::default()
        },
    )
    .await;
    let contexts = vec!["self".to_string(), "enterprise".to_string()];
    let context = client(
        "电子税务局",
        "openid profile enterprise",
        ClientSettings { contexts, organisation: org("省税务局"), ..Default::default() },
    )
    .await;
    let purposes = [("id_number".to_string(), "与公积金账户核对".to_string())].into_iter().collect();
    let sensitive = client(
        "公积金查询",
        "openid profile phone realname id_number",
        ClientSettings {
            purposes, organisation: org("市住房公积金管理中心"), ..Default::default()
        },
    )
    .await;
    let statutory = client(
        "出入境证件办理",
        "openid profile realname id_number",
        ClientSettings {
            statutory: true, organisation: org("市公安局出入境管理支队"), ..Default::default()
        },
    )
    .await;
    let kiosk = NewClient {
        name: "政务服务自助终端".into(),
        client_type: ClientType::Kiosk,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(ClientSettings {
            location: Some("政务服务中心一楼 A 区 3 号机".into()),
            organisation: org("市政务服务和数字化建设管理局"),
            ..Default::default()
        }),
    };
    let (kiosk, kiosk_secret) = s.ops.add_client("main", kiosk).await.unwrap();
    let setup = serde_json::json!({
        "password": PASSWORD,
        "redirect_uri": REDIRECT,
        "people": people,
        "realname_authorize": realname,
        "counter_authorize": counter,
        "context_authorize": context,
        "sensitive_authorize": sensitive,
        "statutory_authorize": statutory,
        "kiosk": {"client_id": kiosk.client_id, "client_secret": kiosk_secret, "scope": "openid profile"},
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("setup.json");
    std::fs::write(&file, setup.to_string()).unwrap();
    let args = vec![s.base.clone(), "-".into(), file.display().to_string()];
    let (ok, stdout) = browser_script("more_pages.mjs", args, vec![]).await;
    assert!(ok, "{stdout}");
    let steps =
        ["realname_done.zh-CN", "realname_done.en-US", "device_tokens.zh-CN", "device_tokens.en-US", "done"];
    for step in steps {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
}
