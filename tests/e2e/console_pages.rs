//! The console's settings and detail pages beside a real provider: the system administrator
//! brands the tenant (name, colour, logo upload; kept when the form sends no new logo, removed
//! on request) and it shows on the idp's pages; the security administrator sets the offered
//! factors, lockout and password rules; a client is edited (redirect URIs, purposes, consent,
//! minimum acr, token lifetime) in one form; an organisation's members are added and removed;
//! an account's detail shows its factors and sessions; a page opened without a session comes
//! back to that page after the sign-in. The idp decides every right: each administrator is
//! refused what belongs to the other.

use crate::browser::Browser;
use crate::common::{Backend, TestServer};
use crate::console::{add_admin, follow, post, sign_in, start_console};

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#0b3d91"/></svg>"##;

async fn get(b: &Browser, url: String) -> String {
    follow(b, b.http.get(url).send().await.unwrap()).await.1
}

/// The branding form as a browser sends it (multipart, for the file).
async fn branding(
    b: &Browser,
    base: &str,
    page: &str,
    fields: &[(&str, &str)],
    logo: Option<&str>,
) -> String {
    let csrf = crate::browser::extract(page, "csrf").expect("csrf");
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let file = reqwest::multipart::Part::bytes(logo.unwrap_or_default().as_bytes().to_vec())
        .file_name(if logo.is_some() { "logo.svg" } else { "" })
        .mime_str(if logo.is_some() { "image/svg+xml" } else { "application/octet-stream" })
        .unwrap();
    form = form.part("logo", file);
    let res = b.http.post(format!("{base}/settings/branding")).multipart(form).send().await.unwrap();
    follow(b, res).await.1
}

async fn pages(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let sec_totp = add_admin(&s, "sec", "security_admin").await;
    let aud_totp = add_admin(&s, "aud", "audit_admin").await;
    let base = start_console(&s).await;
    let ops = Browser::new();
    let (url, settings) = sign_in(&s, &ops, &base, "/settings", "ops", &ops_totp).await;
    assert_eq!(url, format!("{base}/settings"), "back to the page asked for");
    assert!(settings.contains("id=\"branding\"") && settings.contains("id=\"rules\""), "{settings}");

    // branding: the system administrator; the idp's pages show it
    let look = [("name_zh", "测试省政务服务"), ("name_en", "Test Province Services"), ("accent", "#0B3D91")];
    let saved = branding(&ops, &base, &settings, &look, Some(LOGO)).await;
    assert!(saved.contains("role=\"status\"") && saved.contains("data:image/svg+xml;base64,"), "{saved}");
    let stored = s.ops.tenant("main").await.unwrap().settings.branding;
    assert_eq!((stored.accent.as_deref(), stored.logo.is_some()), (Some("#0b3d91"), true));
    let idp_page = || async { get(&Browser::new(), format!("{}/t/main/account", s.base)).await };
    crate::admin_tenants::wait_for(async || idp_page().await.contains("测试省政务服务")).await;
    assert!(idp_page().await.contains("<img class=\"logo\""));
    // saved again without a file: the logo stays; then removed on request
    let saved = branding(&ops, &base, &saved, &look, None).await;
    assert!(s.ops.tenant("main").await.unwrap().settings.branding.logo.is_some(), "{saved}");
    let mut removing = look.to_vec();
    removing.push(("remove_logo", "on"));
    let saved = branding(&ops, &base, &saved, &removing, None).await;
    assert!(s.ops.tenant("main").await.unwrap().settings.branding.logo.is_none(), "{saved}");
    let refused = branding(&ops, &base, &saved, &[("accent", "#222")], None).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");
    // another tenant's, from the tenants page (platform administrators)
    s.ops.add_tenant("pilot", Some("试点")).await.unwrap();
    let tenants = get(&ops, format!("{base}/tenants")).await;
    assert!(tenants.contains("href=\"/console/tenants/pilot/settings\""), "{tenants}");
    let pilot = get(&ops, format!("{base}/tenants/pilot/settings")).await;
    assert!(pilot.contains("action=\"/console/tenants/pilot/settings/branding\""), "{pilot}");
    let csrf = crate::browser::extract(&pilot, "csrf").unwrap();
    let form = reqwest::multipart::Form::new().text("csrf", csrf).text("name_zh", "试点服务");
    let res = ops
        .http
        .post(format!("{base}/tenants/pilot/settings/branding"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let saved = follow(&ops, res).await.1;
    assert!(saved.contains("role=\"status\""), "{saved}");
    assert_eq!(s.ops.tenant("pilot").await.unwrap().settings.branding.name_zh.as_deref(), Some("试点服务"));
    assert!(s.ops.tenant("main").await.unwrap().settings.branding.name_zh.is_some(), "main's untouched");

    // the rules are not the system administrator's
    let (_, refused) = post(&ops, &base, &saved, "/settings", &[("factor", "totp")]).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");

    // the rules: the security administrator
    let sec = Browser::new();
    let (_, settings) = sign_in(&s, &sec, &base, "/settings", "sec", &sec_totp).await;
    let rules = [
        ("factor", "totp"),
        ("factor", "passkeys"),
        ("lockout_threshold", "4"),
        ("password_min_length", "10"),
        ("session_idle_seconds", ""),
    ];
    let (_, saved) = post(&sec, &base, &settings, "/settings", &rules).await;
    assert!(saved.contains("role=\"status\""), "{saved}");
    let t = s.ops.tenant("main").await.unwrap().settings;
    assert!(t.factors.totp && t.factors.passkeys && !t.factors.sms_signin && !t.factors.security_keys);
    assert_eq!((t.policy.lockout_threshold, t.policy.password_min_length), (Some(4), Some(10)));
    assert_eq!(t.policy.session_idle_seconds, None, "empty: the deployment's");
    let (_, refused) = post(&sec, &base, &saved, "/settings", &[("lockout_threshold", "1")]).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");
    assert!(
        branding(&sec, &base, &saved, &look, None).await.contains("role=\"alert\""),
        "not the security admin's"
    );

    // a client edited in one form
    let clients = get(&ops, format!("{base}/clients")).await;
    let form = [("name", "社保查询"), ("type", "web"), ("redirect_uri", "https://sb.example.gov.cn/cb")];
    let (_, listed) = post(&ops, &base, &clients, "/clients", &form).await;
    let id = crate::console::attr(&listed, "id=\"secret\" data-client=\"");
    assert!(listed.contains(&format!("href=\"/console/clients/{id}\"")), "{listed}");
    let detail = get(&ops, format!("{base}/clients/{id}")).await;
    assert!(
        detail.contains("id=\"edit-client\"") && detail.contains("https://sb.example.gov.cn/cb"),
        "{detail}"
    );
    let edit = [
        ("type", "web"),
        ("name", "社保查询（新版）"),
        ("redirect_uris", "https://sb.example.gov.cn/cb\r\nhttps://sb.example.gov.cn/cb2"),
        ("logout_uris", "https://sb.example.gov.cn/"),
        ("scope", "openid profile phone"),
        ("purposes", "profile: 核对参保人姓名\r\nphone: 发送缴费提醒"),
        ("consent", "statutory"),
        ("min_acr", "aal2"),
        ("min_realname_level", "2"),
        ("access_token_format", "jwt"),
        ("access_ttl", "10"),
        ("refresh_ttl", "1440"),
        ("sector", ""),
        ("backchannel_logout_uri", "https://sb.example.gov.cn/backchannel-logout"),
        ("frontchannel_logout_uri", ""),
    ];
    let (_, saved) = post(&ops, &base, &detail, &format!("/clients/{id}"), &edit).await;
    assert!(saved.contains("role=\"status\""), "{saved}");
    let c = s.ops.client("main", &id).await.unwrap();
    assert_eq!(c.name, "社保查询（新版）");
    assert_eq!(c.settings.redirect_uris.len(), 2);
    assert_eq!(c.settings.purposes.get("phone").map(String::as_str), Some("发送缴费提醒"));
    assert!(c.settings.statutory && c.settings.min_acr.as_deref() == Some("aal2"));
    assert_eq!((c.settings.access_token_ttl, c.settings.min_realname_level), (600, Some(2)));
    assert_eq!(
        c.settings.backchannel_logout_uri.as_deref(),
        Some("https://sb.example.gov.cn/backchannel-logout")
    );
    assert_eq!(c.settings.frontchannel_logout_uri, None);
    assert!(saved.contains("id=\"deliveries\" data-count=\"0\""), "the logout notifications: {saved}");
    let mut bad = edit.to_vec();
    bad[13] = ("backchannel_logout_uri", "http://sb.example.gov.cn/plain-http");
    let (_, refused) = post(&ops, &base, &saved, &format!("/clients/{id}"), &bad).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");
    let mut bad = edit.to_vec();
    bad[5] = ("purposes", "no colon here");
    let (_, refused) = post(&ops, &base, &saved, &format!("/clients/{id}"), &bad).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");
    let mut bad = edit.to_vec();
    bad[2] = ("redirect_uris", "javascript:alert(1)");
    let (_, refused) = post(&ops, &base, &saved, &format!("/clients/{id}"), &bad).await;
    assert!(refused.contains("role=\"alert\""), "{refused}");
    assert_eq!(s.ops.client("main", &id).await.unwrap().settings.redirect_uris.len(), 2, "unchanged");

    // an organisation's members
    let orgs = get(&ops, format!("{base}/organisations")).await;
    let (_, orgs) = post(
        &ops,
        &base,
        &orgs,
        "/organisations",
        &[("kind", "government"), ("name", "测试市人民政府"), ("level", "city"), ("region_code", "220100")],
    )
    .await;
    let org = s
        .ops
        .organisations("main", None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "测试市人民政府")
        .unwrap_or_else(|| panic!("{orgs}"));
    assert!(orgs.contains(&format!("href=\"/console/organisations/{}\"", org.id)), "{orgs}");
    let page = get(&ops, format!("{base}/organisations/{}", org.id)).await;
    assert!(page.contains("id=\"add-member\""), "{page}");
    s.add_account("clerk").await;
    let (_, page) = post(
        &ops,
        &base,
        &page,
        &format!("/organisations/{}", org.id),
        &[("username", "clerk"), ("roles", "clerk reviewer")],
    )
    .await;
    let clerk = s.ops.account("main", "clerk").await.unwrap().id;
    assert!(page.contains(&clerk) && page.contains("clerk reviewer"), "{page}");
    // named, not by account id; the roles offered to pick from
    let who = s.ops.account("main", "clerk").await.unwrap();
    let shown = match &who.name {
        Some(n) => format!(">{n}（clerk）</a>"),
        None => ">clerk</a>".to_string(),
    };
    assert!(page.contains(&shown), "the member by name: {page}");
    assert!(page.contains("<datalist id=\"known-roles\">") && page.contains("value=\"reviewer\""), "{page}");
    // the parent picker names the organisations
    let orgs_page = get(&ops, format!("{base}/organisations")).await;
    assert!(
        orgs_page.contains(&format!("<option value=\"{}\">测试市人民政府</option>", org.id))
            || orgs_page.contains(&format!("<option value=\"{}\">　测试市人民政府</option>", org.id)),
        "{orgs_page}"
    );
    let filtered = get(&ops, format!("{base}/organisations?q=测试市")).await;
    assert!(filtered.contains(&format!("data-id=\"{}\"", org.id)), "{filtered}");
    let none = get(&ops, format!("{base}/organisations?q=没有这个机构")).await;
    assert!(!none.contains("<tr data-id="), "{none}");
    // exported: the filtered set, each with its parent named
    let csv = ops.http.get(format!("{base}/organisations/export?q=测试市")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,name,kind,level,region_code,uscc,parent\r\n"), "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains("测试市")) && csv.contains(&org.id), "{csv}");
    let membership = crate::console::attr(&page, "data-membership=\"");
    let (_, page) =
        post(&ops, &base, &page, &format!("/memberships/{membership}/remove"), &[("org", &org.id)]).await;
    assert!(page.contains("role=\"status\""), "{page}");
    let m = s.ops.memberships("main", "clerk").await.unwrap();
    assert!(m.iter().all(|m| m.revoked_at.is_some()), "ended");

    // an account's detail: factors and sessions (searching is the security administrator's)
    let ops_id = s.ops.account("main", "ops").await.unwrap().id;
    let found = get(&sec, format!("{base}/accounts?q=ops")).await;
    assert!(found.contains(&format!("href=\"/console/accounts/{ops_id}\"")), "{found}");
    let detail = get(&sec, format!("{base}/accounts/{ops_id}?lang=en")).await;
    assert!(detail.contains("ops-name") && detail.contains("Authenticator app: Yes"), "{detail}");
    assert!(detail.contains("<td>Two factors</td>"), "the console sign-in's session, in words: {detail}");
    assert!(detail.contains("Recovery codes left: 10"), "{detail}");

    // the audit trail: verified and exported by an audit administrator, in the browser
    let aud = Browser::new();
    let (_, verified) =
        sign_in(&s, &aud, &base, "/audit?verify=1&kind=tenant_branding_set", "aud", &aud_totp).await;
    assert!(verified.contains("role=\"status\"") && verified.contains('✓'), "{verified}");
    assert!(
        verified.contains("tenant_branding_set") && !verified.contains("client_updated"),
        "filtered: {verified}"
    );
    let res =
        aud.http.get(format!("{base}/audit/export?format=csv&kind=client_updated")).send().await.unwrap();
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"audit.csv\"");
    let csv = res.text().await.unwrap();
    assert!(
        csv.lines().count() >= 2 && csv.contains("client_updated") && !csv.contains("tenant_branding_set"),
        "{csv}"
    );
    let res = aud.http.get(format!("{base}/audit/export?format=json")).send().await.unwrap();
    let all: serde_json::Value = res.json().await.unwrap();
    assert!(all.as_array().unwrap().iter().any(|r| r["kind"] == "membership_revoked"), "{all}");
    // the branding's audit record names the logo by its digest, never carries the image
    assert!(!all.to_string().contains("PHN2Zy"), "no logo data in the audit trail");
    let refused = ops.http.get(format!("{base}/audit/export?format=csv")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403, "not the system administrator's");
}
crate::both_backends!(the_console_brands_configures_and_edits, pages);
