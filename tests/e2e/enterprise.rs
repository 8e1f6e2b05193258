//! Enterprise roles through the account pages, with the simulator as verification provider:
//! the registered legal representative binds (an impostor with another verified identity is
//! refused), appoints an administrator, who mandates an agent; the mandate counts only once the
//! agent confirms it; the agent signs in to an enterprise-context client and the tokens carry
//! the entity; ending the mandate stops the tokens at once; a new legal representative ends
//! every earlier role.

use idp_core::Env;
use idp_core::identifiers::CalendarDate;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;

use crate::browser::{Browser, Step, extract};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::realname::resident;
use crate::rp::{redeem, refresh, userinfo, userinfo_of};

const USCC: &str = "91220101MA0Y3K5Q3C";

async fn post(b: &Browser, s: &TestServer, page: &str, action: &str, form: &[(&str, &str)]) -> String {
    let csrf = extract(page, "csrf").expect("csrf");
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    match b.post_form(s, action, &full).await {
        Step::Page { body, .. } => body,
        Step::Left(u) => panic!("left for {u}"),
    }
}

/// A browser signed in to the account pages of `who`.
async fn account(s: &TestServer, who: &str) -> (Browser, String) {
    let b = Browser::new();
    let (_, _, login) = b.get(s, &format!("{}/t/main/account/identity", s.base)).await.page();
    let (_, _, page) = b.sign_in(s, &login, who, PASSWORD).await.page();
    (b, page)
}

fn attr_after(page: &str, marker: &str, name: &str) -> String {
    let i = page.find(marker).unwrap_or_else(|| panic!("{marker} not in {page}"));
    let key = format!("{name}=\"");
    let j = page[i..].find(&key).unwrap() + i + key.len();
    page[j..j + page[j..].find('"').unwrap()].to_string()
}

async fn enterprises(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.realname.provider = "simulator".into();
        c.limits.signin_per_account_per_minute = 100;
    })
    .await
    else {
        return;
    };
    let rep_number = resident("22010219800101001");
    let new_rep_number = resident("22010219850505003");
    let ent = NewOrganisation {
        kind: "enterprise".into(),
        name: "示例科技有限公司".into(),
        uscc: Some(USCC.into()),
        representative_name: Some("法人甲".into()),
        representative_id: Some(rep_number.clone()),
        ..NewOrganisation::default()
    };
    let org = s.ops.add_organisation("main", None, ent).await.unwrap();
    for who in ["fa", "he", "gu", "yi", "ding"] {
        s.add_account(who).await;
    }
    let tax = ClientSettings {
        contexts: vec!["enterprise".into()],
        scope: "openid enterprise".into(),
        always_issue_refresh_token: true,
        ..ClientSettings::default()
    };
    let (client, secret) = s.add_client(ClientType::Web, tax).await;
    let secret = secret.unwrap();
    let url = auth_url(&s.issuer, &client, "").replace("scope=openid", "scope=openid%20enterprise");

    // the representative verifies their identity, then binds; an impostor cannot
    let (fa, page) = account(&s, "fa").await;
    let page = post(
        &fa,
        &s,
        &page,
        "/t/main/account/realname",
        &[("name", "法人甲"), ("id_type", "resident_id"), ("id_number", &rep_number)],
    )
    .await;
    assert!(page.contains("data-level=\"2\""), "{page}");
    let (yi, page_yi) = account(&s, "yi").await;
    let page_yi = post(
        &yi,
        &s,
        &page_yi,
        "/t/main/account/realname",
        &[("name", "乙某"), ("id_type", "resident_id"), ("id_number", &new_rep_number)],
    )
    .await;
    let refused = post(&yi, &s, &page_yi, "/t/main/account/enterprise/bind", &[("uscc", USCC)]).await;
    assert!(
        refused.contains("不一致") && refused.contains("id=\"enterprises\" data-count=\"0\""),
        "{refused}"
    );
    let bound =
        post(&fa, &s, &page, "/t/main/account/enterprise/bind", &[("uscc", &USCC.to_lowercase())]).await;
    assert!(bound.contains("已绑定为该企业的法定代表人") && bound.contains("法定代表人"), "{bound}");

    // the representative appoints an administrator, who mandates an agent
    let page =
        post(&fa, &s, &bound, &format!("/t/main/account/enterprise/{}/appoint", org.id), &[("person", "he")])
            .await;
    assert!(page.contains("he · 企业管理员"), "{page}");
    let (he, page_he) = account(&s, "he").await;
    assert!(page_he.contains("企业管理员") && page_he.contains("/mandate\""), "{page_he}");
    let form = [("person", "gu"), ("matters", "税务申报，社保登记"), ("days", "30")];
    let page_he =
        post(&he, &s, &page_he, &format!("/t/main/account/enterprise/{}/mandate", org.id), &form).await;
    assert!(page_he.contains("gu · 经办人 (待确认) · 税务申报, 社保登记"), "{page_he}");

    // not confirmed yet: no enterprise context for gu
    let (gu, page_gu) = account(&s, "gu").await;
    let cb = gu.get(&s, &url).await.callback();
    assert_eq!(cb["error"], "access_denied", "an unconfirmed mandate is no context");
    let mandate = attr_after(&page_gu, "data-pending=\"true\"", "action");
    assert!(mandate.ends_with("/confirm"), "{mandate}");
    post(&gu, &s, &page_gu, &mandate, &[]).await;

    // confirmed: the agent signs in for the enterprise; the tokens carry the entity
    let step = gu.get(&s, &url).await;
    let cb = match step {
        Step::Page { body, .. } => gu.consent(&s, &body, true).await.callback(),
        other => other.callback(),
    };
    let t = redeem(&s, &client, &secret, &cb["code"]).await;
    let at = t["access_token"].as_str().unwrap().to_string();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let info = userinfo_of(&s, &t).await;
    assert_eq!(info["act_as"], "enterprise", "{info}");
    let e = &info["entity"];
    assert_eq!(
        (e["uscc"].as_str(), e["name"].as_str(), e["role"].as_str()),
        (Some(USCC), Some("示例科技有限公司"), Some("agent")),
        "{info}"
    );
    assert_eq!(e["matters"], serde_json::json!(["税务申报", "社保登记"]));
    assert!(e["mandate_id"].is_string() && e["expiry"].is_i64(), "{info}");

    // a mandate may start on a later date (00:00 China Standard Time): confirmed, it is no
    // context before that day and the agent's context from it; a date in the past is refused
    let t0 = s.env.now();
    let day = |d: i64| CalendarDate::from_unix_in_china(t0 + d * 86400);
    let mandate_url = format!("/t/main/account/enterprise/{}/mandate", org.id);
    let past = [("person", "ding"), ("matters", "年报"), ("days", "10"), ("start", &day(-1).to_string())];
    let refused = post(&he, &s, &page_he, &mandate_url, &past).await;
    assert!(refused.contains("起始日期须为") && !refused.contains("ding ·"), "{refused}");
    let later = [("person", "ding"), ("matters", "年报"), ("days", "10"), ("start", &day(2).to_string())];
    let page_he = post(&he, &s, &refused, &mandate_url, &later).await;
    assert!(page_he.contains("ding · 经办人 (待确认) · 年报 · 生效于 "), "{page_he}");
    let (ding, page_ding) = account(&s, "ding").await;
    assert!(page_ding.contains("生效于"), "{page_ding}");
    post(&ding, &s, &page_ding, &attr_after(&page_ding, "data-pending=\"true\"", "action"), &[]).await;
    assert_eq!(ding.get(&s, &url).await.callback()["error"], "access_denied", "not started yet");
    s.env.set(day(2).start_in_china());
    let cb = ding.authorize(&s, &url, "ding").await.callback();
    let ding_tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let info = userinfo_of(&s, &ding_tokens).await;
    assert_eq!(
        (info["act_as"].as_str(), info["entity"]["matters"][0].as_str()),
        (Some("enterprise"), Some("年报"))
    );
    // on its last day the mandate still refreshes; ten days on it has expired and the refresh
    // token is refused (the family ends)
    s.env.set(day(2).start_in_china() + 10 * 86400 - 60);
    let ding_rt = ding_tokens["refresh_token"].as_str().unwrap();
    let renewed = refresh(&s, &client, &secret, ding_rt).await;
    let ding_rt = renewed["refresh_token"].as_str().unwrap_or_else(|| panic!("{renewed}"));
    s.env.set(day(2).start_in_china() + 10 * 86400);
    let expired = refresh(&s, &client, &secret, ding_rt).await;
    assert_eq!(expired["error"], "invalid_grant", "an expired mandate");
    s.env.set(t0);

    // the administrator ends the mandate: the agent's tokens stop at once
    let page_he = he.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page().2;
    let revoke = attr_after(&page_he, ">gu · ", "action");
    post(&he, &s, &page_he, &revoke, &[]).await;
    assert_eq!(userinfo(&s, &at).await.0, 401);
    let refreshed = refresh(&s, &client, &secret, &rt).await;
    assert_eq!(refreshed["error"], "invalid_grant");

    // the registry names a new legal representative: when they bind, every earlier role ends
    s.ops.set_representative("main", &org.id, "乙某", &new_rep_number).await.unwrap();
    let page_yi = yi.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page().2;
    let bound = post(&yi, &s, &page_yi, "/t/main/account/enterprise/bind", &[("uscc", USCC)]).await;
    assert!(bound.contains("原有的管理员和委托均已终止"), "{bound}");
    let page = fa.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page().2;
    assert!(
        page.contains("id=\"enterprises\" data-count=\"0\""),
        "the old representative's role ended: {page}"
    );
    let page_he = he.get(&s, &format!("{}/t/main/account/identity", s.base)).await.page().2;
    assert!(page_he.contains("id=\"enterprises\" data-count=\"0\""), "and the administrator's: {page_he}");
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 200).await.unwrap();
    for kind in [
        "legal_representative_bound",
        "legal_representative_refused",
        "enterprise_admin_appointed",
        "mandate_granted",
        "mandate_confirmed",
        "enterprise_role_ended",
        "enterprise_roles_ended",
    ] {
        assert!(events.iter().any(|e| e.kind == kind), "{kind} audited");
    }
}
crate::both_backends!(enterprise_roles_and_mandates, enterprises);
