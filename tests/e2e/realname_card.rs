//! Real-name level 3 by the bank-card four-factor check (simulator: cards of the synthetic
//! bank 629999 are someone else's): on the account pages from level 2 with a verified phone,
//! with precise refusals (no verified phone, a mistyped card, a card not in the person's name)
//! that change nothing; inside a sign-in for a client needing level 3, name and number first,
//! then the card, then on to the client, whose claims say level 3 with bank-account evidence.
//! The card number is kept nowhere and appears in no audit record.

use idp_core::model::{ClientSettings, ClientType};
use serde_json::json;

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::realname::resident;

/// `prefix` completed to 16 digits with the Luhn check digit.
fn card(prefix: &str) -> String {
    let mut body = prefix.to_string();
    while body.len() < 15 {
        body.push('3');
    }
    (0..10).map(|d| format!("{body}{d}")).find(|c| idp_core::realname::parse_bank_card(c).is_ok()).unwrap()
}

async fn post(b: &Browser, s: &TestServer, page: &str, action: &str, form: &[(&str, &str)]) -> Step {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    b.post_form(s, action, &full).await
}

async fn bank_card(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.realname.provider = "simulator".into();
        c.limits.signin_per_account_per_minute = 100;
    })
    .await
    else {
        return;
    };
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let cai = s.add_account("cai").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "cai", PASSWORD).await.page();
    assert!(!page.contains("id=\"card-form\""), "no card form below level 2");
    let number = resident("22010219800101003");
    let form = [("name", "蔡某"), ("id_type", "resident_id"), ("id_number", number.as_str())];
    let page = post(&b, &s, &page, "/t/main/account/realname", &form).await.page().2;
    assert!(page.contains("data-level=\"2\"") && page.contains("id=\"card-form\""), "{page}");

    let good = card("622202");
    let at_card = |c: String| {
        let page = page.clone();
        let b = &b;
        let s = &s;
        async move { post(b, s, &page, "/t/main/account/realname", &[("card_number", &c)]).await.page().2 }
    };
    let p = at_card(good.clone()).await;
    assert!(p.contains("请先验证手机号") && p.contains("data-level=\"2\""), "a verified phone first: {p}");
    s.ops.store.set_account_phone(&tenant, &cai, "+8613900007777", 1).await.unwrap();
    let p = at_card("6222 0212".into()).await;
    assert!(p.contains("银行卡号有误") && p.contains("实际为 8 位"), "{p}");
    let mut typo = good.clone().into_bytes();
    typo[3] = if typo[3] == b'9' { b'8' } else { typo[3] + 1 };
    let p = at_card(String::from_utf8(typo).unwrap()).await;
    assert!(p.contains("校验位不符") && p.contains("data-level=\"2\""), "{p}");
    let p = at_card(card("629999")).await;
    assert!(p.contains("银行核验未通过") && p.contains("data-level=\"2\""), "{p}");
    let p = at_card(good.clone()).await;
    assert!(p.contains("data-level=\"3\"") && !p.contains("id=\"card-form\""), "{p}");
    assert!(!p.contains(&good), "the card is not shown back");

    // inside a sign-in: a client needing level 3; dan has nothing yet
    let dan = s.add_account("dan").await;
    s.ops.store.set_account_phone(&tenant, &dan, "+8613900008888", 1).await.unwrap();
    let settings = ClientSettings {
        scope: "openid realname".into(),
        min_realname_level: Some(3),
        ..ClientSettings::default()
    };
    let (client, secret) = s.add_client(ClientType::Web, settings).await;
    let asked = json!({"userinfo": {"verified_claims": {
        "verification": {"trust_framework": null, "assurance_level": null, "evidence": null},
        "claims": {"name": null}
    }}});
    let claims = serde_urlencoded::to_string([("claims", asked.to_string())]).unwrap();
    let url = auth_url(&s.issuer, &client, &format!("&{claims}"))
        .replace("scope=openid", "scope=openid%20realname");
    let d = Browser::new();
    let (_, _, login) = d.get(&s, &url).await.page();
    let (_, _, upgrade) = d.sign_in(&s, &login, "dan", PASSWORD).await.page();
    assert!(upgrade.contains("data-level=\"3\"") && upgrade.contains("name=\"id_number\""), "{upgrade}");
    let dan_number = resident("22010219850505007");
    let form = [
        ("decision", "verify"),
        ("name", "丹某"),
        ("id_type", "resident_id"),
        ("id_number", dan_number.as_str()),
    ];
    let (_, _, upgrade) = post(&d, &s, &upgrade, &form_action(&upgrade), &form).await.page();
    assert!(
        upgrade.contains("name=\"card_number\"") && !upgrade.contains("name=\"id_number\""),
        "now the card: {upgrade}"
    );
    let step = post(
        &d,
        &s,
        &upgrade,
        &form_action(&upgrade),
        &[("decision", "card"), ("card_number", &card("622848"))],
    )
    .await;
    let cb = match step {
        Step::Page { body, .. } => d.consent(&s, &body, true).await.callback(),
        left => left.callback(),
    };
    let info = crate::rp::userinfo_of(
        &s,
        &crate::rp::redeem(&s, &client, secret.as_deref().unwrap(), &cb["code"]).await,
    )
    .await;
    assert_eq!(info["realname_level"], 3, "{info}");
    let v = &info["verified_claims"]["verification"];
    assert_eq!(v["assurance_level"], "3", "{info}");
    assert_eq!(v["evidence"][0]["record"]["type"], "bank_account", "{info}");

    let events = s.ops.store.audit_events(&tenant, 200).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "realname_bound"
            && e.detail["method"] == "bank_card"
            && e.detail["level"] == 3)
    );
    let all = format!("{events:?}");
    assert!(!all.contains(&good) && !all.contains(&good[..12]), "no card number in the audit trail");
}
crate::both_backends!(real_name_level_three_by_bank_card, bank_card);
