//! A tenant's look and password rules through the admin API: its system administrators set
//! its name, logo and colours, which then appear on every page of that tenant (error pages
//! too) and nowhere else; the logo is served sandboxed; its security administrators make the
//! password rules stricter than the baseline, never weaker. The administrators' tenant's
//! administrators configure other tenants too, each within their role.

use base64::Engine;
use idp_server::ops::NewAccount;
use serde_json::json;

use crate::admin_tenants::{admins, call, wait_for};
use crate::browser::Browser;
use crate::common::{Backend, TestServer};

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#0b3d91"/></svg>"##;

/// What follows `start` up to `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn branding(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (sys, sec) = admins(&s).await;
    s.ops.add_tenant("other", None).await.unwrap();
    let look = json!({
        "name_zh": "吉林省政务服务", "name_en": "Jilin Government Services",
        "accent": "#0B3D91", "background": "#F7F3E8",
        "logo": {"content_type": "image/svg+xml", "data": b64(LOGO)},
        "operator_zh": "吉林省政务服务和数字化建设管理局", "operator_en": "Jilin Government Services Bureau",
        "icp_filing": "吉ICP备12345678号-1", "psb_filing": "吉公网安备 22010202000123号",
        "help_phone": "0431-12345", "privacy_url": "https://zwfw.jl.gov.cn/privacy",
    });
    assert_eq!(call(&s, "PUT", "tenants/main/branding", &sec, Some(look.clone())).await.0, 403);
    let (status, t) = call(&s, "PUT", "tenants/main/branding", &sys, Some(look)).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["branding"]["accent"], "#0b3d91");
    assert_eq!(t["branding"]["logo"], json!({"content_type": "image/svg+xml", "bytes": LOGO.len()}));
    for bad in [
        json!({"accent": "red"}),
        json!({"background": "#202020"}),
        json!({"name_zh": ""}),
        json!({"logo": {"content_type": "image/svg+xml", "data": b64("<svg onload=\"alert(1)\"/>")}}),
        json!({"logo": {"content_type": "image/png", "data": b64(LOGO)}}),
        json!({"colour": "#000000"}),
        json!({"privacy_url": "javascript:alert(1)"}),
        json!({"privacy_url": "http://plain.example/privacy"}),
        json!({"help_phone": "<a>12345</a>"}),
        json!({"icp_filing": "x".repeat(41)}),
    ] {
        let (status, p) = call(&s, "PUT", "tenants/main/branding", &sys, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {p}");
    }

    // every page of the tenant carries it: the sign-in page, an error page
    let s = &s;
    let page = async |url: String| Browser::new().get(s, &url).await.page().2;
    let signin = format!("{}/t/main/account", s.base);
    wait_for(async || page(signin.clone()).await.contains("吉林省政务服务")).await;
    let login = page(signin).await;
    assert!(login.contains(" · 吉林省政务服务</title>"), "{login}");
    // the footer: operator, help line, privacy policy, both filing numbers linked to their registers
    let footer = between(&login, "<footer class=\"site\"", "</footer>").expect("the tenant's footer");
    assert!(footer.contains("主办单位：吉林省政务服务和数字化建设管理局"), "{footer}");
    assert!(footer.contains("<a href=\"tel:043112345\">0431-12345</a>"), "{footer}");
    assert!(footer.contains("<a href=\"https://zwfw.jl.gov.cn/privacy\">隐私政策</a>"), "{footer}");
    assert!(
        footer.contains("href=\"https://beian.miit.gov.cn/\" rel=\"noopener\">吉ICP备12345678号-1</a>"),
        "{footer}"
    );
    assert!(footer.contains("webSearch?code=22010202000123\""), "{footer}");
    let english = reqwest::Client::new()
        .get(format!("{}/t/main/account", s.base))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Operated by Jilin Government Services Bureau"), "{english}");
    let css_url = between(&login, "<link rel=\"stylesheet\" href=\"/t/main/look.css", "\"")
        .map(|v| format!("/t/main/look.css{v}"))
        .expect("the tenant's stylesheet");
    let logo_url = between(&login, "<img class=\"logo\" src=\"", "\"").expect("the logo");
    let error = page(format!("{}/t/main/interaction/no-such-thing", s.base)).await;
    assert!(error.contains("吉林省政务服务") && error.contains(&css_url), "{error}");
    // ... and no other tenant's
    let other = page(format!("{}/t/other/account", s.base)).await;
    assert!(
        other.contains("统一身份认证") && !other.contains("吉林") && !other.contains("look.css"),
        "{other}"
    );
    assert!(!other.contains("<footer"), "no footer without one set: {other}");

    let css = reqwest::get(format!("{}{css_url}", s.base)).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().starts_with("public"));
    assert_eq!(css.text().await.unwrap(), ":root{--accent:#0b3d91;--accent-ink:#fff;--page:#f7f3e8;}");
    let logo = reqwest::get(format!("{}{logo_url}", s.base)).await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    assert!(logo.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(logo.text().await.unwrap(), LOGO);
    let none = reqwest::get(format!("{}/t/other/logo", s.base)).await.unwrap();
    assert_eq!(none.status(), 404);

    // platform administrators (of the administrators' tenant) configure every tenant, each
    // within their role
    let other_look = json!({"name_zh": "其他租户"});
    assert_eq!(call(s, "PUT", "tenants/other/branding", &sec, Some(other_look.clone())).await.0, 403);
    let (status, t) = call(s, "PUT", "tenants/other/branding", &sys, Some(other_look)).await;
    assert_eq!((status, &t["slug"]), (200, &json!("other")), "{t}");
    let rules = json!({"policy": {"lockout_threshold": 4}});
    assert_eq!(call(s, "PUT", "tenants/other/settings", &sys, Some(rules.clone())).await.0, 403);
    assert_eq!(call(s, "PUT", "tenants/other/settings", &sec, Some(rules)).await.0, 200);
    assert_eq!(s.ops.tenant("other").await.unwrap().settings.policy.lockout_threshold, Some(4));
    assert_eq!(call(s, "GET", "tenants/nowhere/settings", &sec, None).await.0, 404);

    // password rules: stricter only, by the security administrators, applied to new passwords
    let strict = json!({"policy": {"password_min_length": 12, "password_min_classes": 4}});
    assert_eq!(call(s, "PUT", "tenants/main/settings", &sys, Some(strict.clone())).await.0, 403);
    let (status, t) = call(s, "PUT", "tenants/main/settings", &sec, Some(strict)).await;
    assert_eq!((status, &t["policy"]["password_min_length"]), (200, &json!(12)), "{t}");
    for weaker in [json!({"password_min_length": 6}), json!({"password_min_classes": 2})] {
        let body = json!({"policy": weaker});
        assert_eq!(call(s, "PUT", "tenants/main/settings", &sec, Some(body)).await.0, 400);
    }
    let person = |user: &str, pw: &str| NewAccount {
        username: user.into(),
        password: Some(pw.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec![],
    };
    let refused = s.ops.add_account("main", person("p1", "tiger-lily-42x")).await.unwrap_err();
    assert!(refused.to_string().contains("at least 4 of"), "{refused}");
    let refused = s.ops.add_account("main", person("p2", "Tiger-Lily4")).await.unwrap_err();
    assert!(refused.to_string().contains("at least 12 characters"), "{refused}");
    s.ops.add_account("main", person("p3", "Tiger-Lily-42")).await.expect("4 classes, 13 characters");
    // the other tenant keeps the baseline
    s.ops.add_account("other", person("p1", "tiger-lily-42x")).await.expect("the baseline elsewhere");
}
crate::both_backends!(branding_and_password_rules, branding);
