//! The second factor's rules, each as a review found it broken: failures of any factor count
//! towards the lockout until the whole sign-in succeeds (a correct password no longer clears
//! the count, so a password holder gets no fresh code guesses); a kiosk's approval needs the
//! person's own level (an administrator without a second factor approves nothing); a counter
//! clerk never binds their own account, and where a verification provider is configured a
//! counter binding needs its match too.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::{NewAccount, NewClient};

use crate::browser::{Browser, Step, extract, form_action, rp_http};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::realname::resident;
use crate::step_up::{enrol, submit_code};

/// The password step of a fresh sign-in at `client`; the page after it.
async fn password(s: &TestServer, client: &str, login: &str) -> (Browser, String) {
    let b = Browser::new();
    let (_, _, page) = b.get(s, &auth_url(&s.issuer, client, "")).await.page();
    let (_, _, next) = b.sign_in(s, &page, login, PASSWORD).await.page();
    (b, next)
}

async fn lockout_spans_the_sign_in(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    s.add_account("ann").await;
    let (totp, _) = enrol(&s, "ann").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let tenant = s.tenant_id().await;
    let failures = || async {
        let a = s.ops.account("main", "ann").await.unwrap();
        (a.failed_logins, a.locked_until.is_some())
    };
    // two wrong codes, the password again (correct), two more, the password again, one more:
    // five failures in a row lock the account although the password was right each time
    for wrong in [2, 2, 1] {
        let (b, mut page) = password(&s, &web, "ann").await;
        for _ in 0..wrong {
            assert!(page.contains("name=\"code\""), "the code page: {page}");
            page = submit_code(&b, &s, &page, "000000").await.page().2;
        }
    }
    assert!(failures().await.1, "locked after five second-factor failures");
    let (_, page) = password(&s, &web, "ann").await;
    let (_, unknown) = password(&s, &web, "nobody-at-all").await;
    let msg =
        |p: &str| p[p.find("class=\"error\"").expect("an error")..].split("</p>").next().unwrap().to_string();
    assert!(!page.contains("name=\"code\""), "the password alone does not unlock: {page}");
    assert_eq!(msg(&page), msg(&unknown), "and the answer is an unknown name's");

    // once the lockout is over, a complete sign-in (password and code) clears the count
    s.env.advance(31 * 60);
    let (b, page) = password(&s, &web, "ann").await;
    let page = submit_code(&b, &s, &page, "000000").await.page().2;
    assert_eq!(failures().await.0, 1, "the password did not clear the failure");
    let step = submit_code(&b, &s, &page, &totp.code_at_step(s.env.now() / 30)).await;
    let done = match step {
        Step::Page { body, .. } => b.consent(&s, &body, true).await.callback(),
        left => left.callback(),
    };
    assert!(done.contains_key("code"), "{done:?}");
    assert_eq!(failures().await, (0, false), "the whole sign-in cleared it");
    let events = s.ops.store.audit_events(&tenant, 200).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "account_locked"), "the lockout is audited");
}

async fn kiosk_approval_needs_the_persons_level(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = NewAccount {
        username: "root2".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["system_admin".into()],
    };
    s.ops.add_account("main", admin).await.unwrap();
    let new = NewClient {
        name: "自助终端".into(),
        client_type: ClientType::Kiosk,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(ClientSettings { location: Some("一楼 A 区".into()), ..ClientSettings::default() }),
    };
    let (kiosk, secret) = s.ops.add_client("main", new).await.unwrap();
    let secret = secret.unwrap();
    let res = rp_http()
        .post(format!("{}/device_authorization", s.issuer))
        .basic_auth(&kiosk.client_id, Some(&secret))
        .form(&[("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    let d: serde_json::Value = res.json().await.unwrap();
    let uri = d["verification_uri_complete"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();

    // the administrator, signed in with the password alone (no second factor set up), on the
    // phone: no approval question, and a forged approval is refused
    let phone = Browser::new();
    let (_, _, login) = phone.get(&s, uri).await.page();
    let (_, status, page) = phone.sign_in(&s, &login, "root2", PASSWORD).await.page();
    assert!(status == 403 && !page.contains("id=\"kiosk\""), "no approval at aal1: {page}");
    assert!(page.contains("批准自助终端登录需要两步验证"), "{page}");
    let (_, _, account) = phone.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    let csrf = extract(&account, "csrf").expect("a signed-in page");
    let form = [("csrf", csrf.as_str()), ("user_code", user_code), ("decision", "allow")];
    let (_, status, _) = phone.post_form(&s, "/t/main/device", &form).await.page();
    assert_eq!(status, 403);
    let grant =
        [("grant_type", idp_core::device::GRANT_TYPE), ("device_code", d["device_code"].as_str().unwrap())];
    s.env.advance(10);
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(&kiosk.client_id, Some(&secret))
        .form(&grant)
        .send()
        .await
        .unwrap();
    let e: serde_json::Value = res.json().await.unwrap();
    assert_eq!(e["error"], "authorization_pending", "nothing was approved: {e}");

    // with a second factor, the same person approves after the code
    let (totp, _) = enrol(&s, "root2").await;
    let (_, _, page) = phone.get(&s, uri).await.page();
    assert!(page.contains("name=\"code\""), "the step-up first: {page}");
    let (_, _, page) = submit_code(&phone, &s, &page, &totp.code_at_step(s.env.now() / 30)).await.page();
    assert!(page.contains("id=\"kiosk\""), "{page}");
}

async fn counter_four_eyes(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.realname.provider = "simulator".into()).await else {
        return;
    };
    let clerk = NewAccount {
        username: "kim".into(),
        password: Some(PASSWORD.into()),
        name: Some("Kim 金".into()),
        phone: None,
        email: None,
        roles: vec!["clerk".into()],
    };
    s.ops.add_account("main", clerk).await.unwrap();
    s.add_account("ada").await;
    let (totp, _) = enrol(&s, "kim").await;
    let b = Browser::new();
    let counter_url = format!("{}/t/main/counter", s.base);
    let (_, _, login) = b.get(&s, &counter_url).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "kim", PASSWORD).await.page();
    submit_code(&b, &s, &code_page, &totp.code_at_step(s.env.now() / 30)).await;
    let (_, status, counter) = b.get(&s, &counter_url).await.page();
    assert_eq!(status, 200, "{counter}");
    let submit = |person: &'static str, number: String| {
        let (b, s, counter) = (&b, &s, counter.clone());
        async move {
            let csrf = extract(&counter, "csrf").unwrap();
            let form = [
                ("csrf", csrf.as_str()),
                ("person", person),
                ("name", "金敏"),
                ("id_type", "resident_id"),
                ("id_number", number.as_str()),
                ("checked", "yes"),
            ];
            b.post_form(s, &form_action(&counter), &form).await.page().2
        }
    };
    let level = |login: &'static str| {
        let s = &s;
        async move {
            let id = s.ops.account("main", login).await.unwrap().id;
            s.ops.store.real_name(&id).await.unwrap().map(|r| r.level)
        }
    };
    // the clerk's own account: refused, nothing bound
    let page = submit("kim", resident("22010219900307001")).await;
    assert!(page.contains("不能为自己的账号办理核验"), "{page}");
    assert_eq!(level("kim").await, None);
    // the provider answers "mismatch" for this synthetic number: the counter binds nothing
    let page = submit("ada", resident("22010219900307096")).await;
    assert_eq!(level("ada").await, None, "{page}");
    // a match: level 4, the provider's reference beside the counter record
    let page = submit("ada", resident("22010219900307002")).await;
    assert!(page.contains("实名等级 4"), "{page}");
    let id = s.ops.account("main", "ada").await.unwrap().id;
    let bound = s.ops.store.real_name(&id).await.unwrap().unwrap();
    let evidence = bound.evidence.clone().unwrap_or_default();
    assert!(
        bound.level == 4 && evidence.starts_with("counter:kim:") && evidence.contains(";simulator:sim-"),
        "{evidence}"
    );
}

crate::both_backends!(second_factor_failures_count_until_the_sign_in_succeeds, lockout_spans_the_sign_in);
crate::both_backends!(a_kiosk_approval_needs_the_persons_own_level, kiosk_approval_needs_the_persons_level);
crate::both_backends!(a_counter_clerk_never_binds_their_own_account, counter_four_eyes);
