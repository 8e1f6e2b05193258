//! Real-name binding through the pages with the simulator provider: precise refusals (bad
//! number, wrong document type, mismatch, not found, provider down — nothing changes), a match
//! at level 2 shown masked, one number per tenant (a conflict says what to do), the `realname`
//! scope's claims, a client that needs level 2 offering the upgrade inside the sign-in (and
//! `interaction_required` / `access_denied` when it cannot), and a counter clerk raising a
//! person to level 4 with both identities audited. The full number never appears in claims,
//! pages after submission, or audit events.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewAccount;
use serde_json::Value;

use crate::browser::{Browser, Step, extract};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::rp;

/// A synthetic resident ID: 17 digits and their ISO 7064 MOD 11-2 check character.
pub fn resident(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

async fn post(b: &Browser, s: &TestServer, page: &str, action: &str, form: &[(&str, &str)]) -> Step {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    b.post_form(s, action, &full).await
}

async fn bind(b: &Browser, s: &TestServer, page: &str, name: &str, kind: &str, number: &str) -> String {
    let form = [("name", name), ("id_type", kind), ("id_number", number)];
    post(b, s, page, "/t/main/account/realname", &form).await.page().2
}

async fn userinfo(s: &TestServer, b: &Browser, client: &str, secret: &str) -> Value {
    let url = auth_url(&s.issuer, client, "").replace("scope=openid", "scope=openid%20realname");
    let cb = b.authorize(s, &url, "").await.callback();
    userinfo_of(s, client, secret, &cb["code"]).await
}

async fn userinfo_of(s: &TestServer, client: &str, secret: &str, code: &str) -> Value {
    rp::userinfo_of(s, &rp::redeem(s, client, secret, code).await).await
}

async fn realname(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.realname.provider = "simulator".into();
        c.limits.signin_per_account_per_minute = 100;
    })
    .await
    else {
        return;
    };
    for who in ["ada", "bo", "cy"] {
        s.add_account(who).await;
    }
    let scope = ClientSettings { scope: "openid profile realname".into(), ..ClientSettings::default() };
    let (web, secret) = s.add_client(ClientType::Web, scope.clone()).await;
    let home = format!("{}/t/main/account/identity", s.base);
    let tenant = s.ops.tenant("main").await.unwrap().id;

    let b = Browser::new();
    let (_, _, login) = b.get(&s, &home).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "ada", PASSWORD).await.page();
    assert!(page.contains("id=\"realname\" data-level=\"0\""), "{page}");

    // refusals say precisely what is wrong and change nothing
    let p = bind(&b, &s, &page, "艾达", "resident_id", "220102199003070014").await;
    assert!(
        p.contains("证件号码有误") && p.contains("校验码应为 3") && p.contains("data-level=\"0\""),
        "check: {p}"
    );
    let p = bind(&b, &s, &page, "艾达", "resident_id", "220102199002300013").await;
    assert!(p.contains("证件号码有误") && p.contains("data-level=\"0\""), "30 Feb: {p}");
    let p = bind(&b, &s, &page, "艾达", "hk_macau_permit", "220102199003070013").await;
    assert!(p.contains("证件类型不符"), "{p}");
    for (seq, says) in [("096", "不一致"), ("097", "未查到"), ("098", "暂时不可用"), ("099", "暂时不可用")]
    {
        let n = resident(&format!("22010219900307{seq}"));
        let p = bind(&b, &s, &page, "艾达", "resident_id", &n).await;
        assert!(p.contains(says) && p.contains("data-level=\"0\""), "{seq}: {p}");
        assert!(!p.contains(&n), "the number is not shown back");
    }
    // a match: level 2, shown masked
    let ada_number = "220102199003070013";
    let p = bind(&b, &s, &page, "艾达", "resident_id", ada_number).await;
    assert!(p.contains("data-level=\"2\"") && p.contains("2201**********0013"), "{p}");
    assert!(!p.contains(ada_number));

    // the full number: only for a client registered with it, and only with its own tick
    let refused = auth_url(&s.issuer, &web, "").replace("scope=openid", "scope=openid%20id_number");
    assert_eq!(b.get(&s, &refused).await.callback()["error"], "invalid_scope", "web was not allowed it");
    let allowed = ClientSettings { scope: "openid realname id_number".into(), ..ClientSettings::default() };
    let (tax, tax_secret) = s.add_client(ClientType::Web, allowed).await;
    let tax_secret = tax_secret.unwrap();
    let ask = auth_url(&s.issuer, &tax, "").replace("scope=openid", "scope=openid%20realname%20id_number");
    let (_, _, consent) = b.get(&s, &ask).await.page();
    assert!(
        consent.contains("name=\"sensitive\" value=\"id_number\"") && consent.contains("敏感个人信息"),
        "{consent}"
    );
    // allowed without the tick: no number
    let cb = b.consent(&s, &consent, true).await.callback();
    let info = userinfo_of(&s, &tax, &tax_secret, &cb["code"]).await;
    assert!(info.get("id_number").is_none() && info["realname_level"] == 2, "{info}");
    // with the tick (the request asks again: the grant does not cover it)
    let (_, _, consent) = b.get(&s, &ask).await.page();
    let csrf = extract(&consent, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("sensitive", "id_number"), ("decision", "allow")];
    let cb = b.post_form(&s, &crate::browser::form_action(&consent), &form).await.callback();
    let info = userinfo_of(&s, &tax, &tax_secret, &cb["code"]).await;
    assert_eq!(info["id_number"], ada_number, "{info}");
    // a client under a statutory duty informs (every item listed, no question, no tick)
    let duty = ClientSettings {
        scope: "openid realname id_number".into(),
        statutory: true,
        ..ClientSettings::default()
    };
    let (police, police_secret) = s.add_client(ClientType::Web, duty).await;
    let ask = auth_url(&s.issuer, &police, "").replace("scope=openid", "scope=openid%20realname%20id_number");
    let (_, _, inform) = b.get(&s, &ask).await.page();
    assert!(inform.contains("id=\"statutory\"") && inform.contains("data-scope=\"id_number\""), "{inform}");
    assert!(!inform.contains("value=\"deny\"") && !inform.contains("type=\"checkbox\""), "{inform}");
    let cb = b.consent(&s, &inform, true).await.callback();
    let info = userinfo_of(&s, &police, police_secret.as_deref().unwrap(), &cb["code"]).await;
    assert_eq!(info["id_number"], ada_number, "{info}");

    // one number, one account: bo is told what to do
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &home).await.page();
    let (_, _, page2) = b2.sign_in(&s, &login, "bo", PASSWORD).await.page();
    let p = bind(&b2, &s, &page2, "博", "resident_id", ada_number).await;
    assert!(p.contains("已绑定到其他账号") && p.contains("窗口") && p.contains("data-level=\"0\""), "{p}");

    // the realname scope
    let info = userinfo(&s, &b, &web, secret.as_deref().unwrap()).await;
    assert_eq!(info["realname_level"], 2, "{info}");
    assert_eq!(
        (info["verified_name"].as_str(), info["id_type"].as_str()),
        (Some("艾达"), Some("resident_id"))
    );
    assert_eq!(info["id_number_masked"], "2201**********0013");
    assert!(!info.to_string().contains(ada_number), "never the full number: {info}");
    // the release is recorded and shown to ada: which claims, to whom, when (not their values)
    let (_, _, page) = b.get(&s, &format!("{}/t/main/account/privacy", s.base)).await.page();
    assert!(page.contains("id=\"releases\" data-count=\"4\"") && page.contains("Department App"), "{page}");
    assert!(page.contains("verified_name") && page.contains("id_number_masked"), "{page}");
    assert!(
        page.contains("id_number,") || page.contains(", id_number"),
        "the number's release is listed: {page}"
    );
    assert!(!page.contains(ada_number), "the account page never shows the full number");

    // a client that needs level 2: cy is offered the upgrade inside the sign-in
    let strict = ClientSettings { min_realname_level: Some(2), ..scope.clone() };
    let (dept, dept_secret) = s.add_client(ClientType::Web, strict).await;
    let b3 = Browser::new();
    let (_, _, login) = b3.get(&s, &auth_url(&s.issuer, &dept, "")).await.page();
    let (url, _, upgrade) = b3.sign_in(&s, &login, "cy", PASSWORD).await.page();
    assert!(upgrade.contains("id=\"needed\" data-level=\"2\""), "{upgrade}");
    let cb = b3.get(&s, &auth_url(&s.issuer, &dept, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "consent_required", "prompt=none shows no page");
    let cy_number = resident("11010519491231002");
    let form = [
        ("decision", "verify"),
        ("name", "晨阳"),
        ("id_type", "resident_id"),
        ("id_number", cy_number.as_str()),
    ];
    let step = post(&b3, &s, &upgrade, &format!("{url}/realname"), &form).await;
    let (_, _, consent) = step.page();
    let cb = b3.consent(&s, &consent, true).await.callback();
    assert!(cb.contains_key("code"), "back to the client: {cb:?}");
    let info = userinfo(&s, &b3, &dept, dept_secret.as_deref().unwrap()).await;
    assert_eq!(info["realname_level"], 2);
    // bo declines: the client hears access_denied
    let (_, _, upgrade) = b2.get(&s, &auth_url(&s.issuer, &dept, "")).await.page();
    let cb = post(
        &b2,
        &s,
        &upgrade,
        &format!("{}/realname", interaction_of(&upgrade)),
        &[("decision", "decline")],
    )
    .await
    .callback();
    assert_eq!(cb["error"], "access_denied");

    // a level only the counter gives: ada (level 2) hears where to go; once she has consented,
    // prompt=none tells the client that interaction is required
    let counter_only = ClientSettings { min_realname_level: Some(4), ..scope.clone() };
    let (hall, _) = s.add_client(ClientType::Web, counter_only).await;
    let (_, _, upgrade) = b.get(&s, &auth_url(&s.issuer, &hall, "")).await.page();
    assert!(
        upgrade.contains("data-level=\"4\"")
            && upgrade.contains("窗口核验")
            && !upgrade.contains("id_number"),
        "{upgrade}"
    );
    let ada = s.ops.account("main", "ada").await.unwrap().id;
    let grant = idp_core::model::Grant {
        tenant_id: tenant.clone(),
        account_id: ada.clone(),
        client_id: hall.clone(),
        scopes: vec!["openid".into()],
        created_at: 1,
        updated_at: 1,
    };
    s.ops.store.upsert_grant(&grant).await.unwrap();
    let cb = b.get(&s, &auth_url(&s.issuer, &hall, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "interaction_required");

    // the counter: a clerk (two factors) raises ada to level 4; a non-clerk may not
    let clerk = NewAccount {
        username: "kim".into(),
        password: Some(PASSWORD.into()),
        name: Some("Kim 金".into()),
        phone: None,
        email: None,
        roles: vec!["clerk".into()],
    };
    s.ops.add_account("main", clerk).await.unwrap();
    let totp = s.ops.enrol_totp("main", "kim").await.unwrap();
    let now = idp_core::Env::now(&s.env);
    s.ops.confirm_totp("main", "kim", &totp.code_at_step(now / 30)).await.unwrap();
    s.env.advance(30);
    let bk = Browser::new();
    let (_, _, login) = bk.get(&s, &format!("{}/t/main/counter", s.base)).await.page();
    let (_, _, code_page) = bk.sign_in(&s, &login, "kim", PASSWORD).await.page();
    let code = totp.code_at_step(idp_core::Env::now(&s.env) / 30);
    post(&bk, &s, &code_page, &crate::browser::form_action(&code_page), &[("code", &code)]).await.page();
    let (_, status, counter) = bk.get(&s, &format!("{}/t/main/counter", s.base)).await.page();
    assert_eq!(status, 200, "{counter}");
    let form = [
        ("person", "ada"),
        ("name", "艾达"),
        ("id_type", "resident_id"),
        ("id_number", ada_number),
        ("checked", "yes"),
    ];
    let (_, _, done) = post(&bk, &s, &counter, "/t/main/counter", &form).await.page();
    assert!(done.contains("实名等级 4"), "{done}");
    let (_, _, page) = b.get(&s, &home).await.page();
    assert!(page.contains("data-level=\"4\"") && !page.contains("/account/realname\""), "{page}");
    // and ada cannot replace it online (the form is gone, and a forged post is refused)
    let other = resident("22010219900307005");
    let p = bind(&b, &s, &page, "艾达", "resident_id", &other).await;
    assert!(p.contains("窗口核验") && p.contains("data-level=\"4\""), "{p}");
    let (_, status, _) = b2.get(&s, &format!("{}/t/main/counter", s.base)).await.page();
    assert_eq!(status, 403, "bo is no clerk");

    let events = s.ops.store.audit_events(&tenant, 200).await.unwrap();
    let kim = s.ops.account("main", "kim").await.unwrap().id;
    assert!(
        events.iter().any(|e| e.kind == "realname_bound"
            && e.account_id.as_deref() == Some(ada.as_str())
            && e.detail["clerk"] == kim.as_str()
            && e.detail["level"] == 4),
        "both identities audited: {events:?}"
    );
    let all = format!("{events:?}");
    assert!(!all.contains(ada_number) && !all.contains(&cy_number), "no ID number in the audit trail");
    assert!(!all.contains("艾达"), "nor the released values");
}
crate::both_backends!(realname_binding_upgrade_and_counter, realname);

fn interaction_of(page: &str) -> String {
    let i = page.find("/interaction/").unwrap();
    let end = page[i + 13..].find(['/', '"', '?']).unwrap() + i + 13;
    format!("/t/main{}", &page[i..end])
}

/// Without a provider a binding is self-asserted (level 1), and only with a verified phone.
#[tokio::test]
async fn without_a_provider_a_binding_is_self_asserted() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let id = s.add_account("eve").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "eve", PASSWORD).await.page();
    let p = bind(&b, &s, &page, "伊芙", "resident_id", "22020219720101123X").await;
    assert!(p.contains("请先验证手机号") && p.contains("data-level=\"0\""), "{p}");
    let tenant = s.ops.tenant("main").await.unwrap().id;
    s.ops.store.set_account_phone(&tenant, &id, "+8613900005555", 1).await.unwrap();
    let p = bind(&b, &s, &page, "伊芙", "resident_id", "22020219720101123x").await;
    assert!(p.contains("data-level=\"1\"") && p.contains("2202**********123X"), "{p}");
}
