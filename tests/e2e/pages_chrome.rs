//! What every page carries, and where the provider's own addresses lead: the root page and a
//! tenant's bare address go to the account centre (a choice of the enabled tenants, sandboxes
//! left out, when there are several); the icon is served; each page has a skip link to its content, the icon link and
//! a logo (the tenant's, or the provider's own). Every page of a tenant switches language —
//! a sign-in page after a failed attempt too (its link goes to the interaction's own page, not
//! to the POST address) — and the switch returns only to a page of the same tenant.

use crate::browser::Browser;
use crate::common::{Backend, PASSWORD, TestServer};

/// The page's language link.
fn lang_link(page: &str) -> String {
    let i = page.find("class=\"lang\" href=\"").expect("a language link") + 19;
    page[i..].split('"').next().unwrap().replace("&amp;", "&")
}

fn chrome(page: &str) {
    assert!(page.contains("class=\"skip\" href=\"#main\"") && page.contains("<main id=\"main\">"), "{page}");
    assert!(page.contains("rel=\"icon\" href=\"/static/favicon.svg\""), "{page}");
    assert!(page.contains("class=\"logo\""), "a logo by default: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_page_leads_to_the_account_centre() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let b = Browser::new();
    // the root page: the account centre as its one primary action, the console below it
    let (_, status, home) = b.get(&s, &format!("{}/", s.base)).await.page();
    assert_eq!(status, 200);
    assert!(
        home.contains("id=\"account-centre\" href=\"/t/main/account\"")
            && home.contains("href=\"/console/\""),
        "{home}"
    );
    chrome(&home);
    for start in ["/t/main/account", "/t/main", "/t/main/"] {
        let (url, status, page) = b.get(&s, &format!("{}{start}", s.base)).await.page();
        assert_eq!(status, 200, "{start}");
        assert!(url.contains("/t/main/interaction/"), "{start} leads to the sign-in: {url}");
        assert!(page.contains("name=\"password\""), "{page}");
        chrome(&page);
    }
    let (_, status, page) = b.get(&s, &format!("{}/no-such-page", s.base)).await.page();
    assert_eq!(status, 404);
    chrome(&page);

    // several tenants: a choice of the enabled ones
    let city = s.ops.add_tenant("city", Some("City Hall")).await.unwrap();
    let closed = s.ops.add_tenant("closed", Some("Closed")).await.unwrap();
    s.ops.store.set_tenant_disabled(&closed.id, true).await.unwrap();
    let sandbox = s.ops.add_tenant("try", Some("Sandbox")).await.unwrap();
    let settings = idp_core::model::TenantSettings { sandbox: true, ..sandbox.settings.clone() };
    s.ops.store.set_tenant_settings(&sandbox.id, &settings).await.unwrap();
    let (url, status, page) = b.get(&s, &format!("{}/", s.base)).await.page();
    assert_eq!((url.trim_end_matches('/'), status), (s.base.trim_end_matches('/'), 200));
    assert!(page.contains("href=\"/t/main/account\"") && page.contains("href=\"/t/city/account\""), "{page}");
    assert!(page.contains(&city.name) && !page.contains("/t/closed/") && !page.contains("/t/try/"), "{page}");
    chrome(&page);

    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let icon = reqwest::get(format!("{}{path}", s.base)).await.unwrap();
        assert_eq!(icon.status(), 200);
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert!(icon.text().await.unwrap().starts_with("<svg"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_switches_language_and_returns_to_itself() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("lin").await;
    let b = Browser::new();
    let (url, _, page) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    let interaction = url.split('?').next().unwrap().trim_start_matches(&s.base).to_string();
    assert_eq!(lang_link(&page), format!("{interaction}?lang=en"));
    assert!(page.contains("lang=\"en\" hreflang=\"en\">English</a>"), "{page}");
    // after a failed attempt the page answers a POST; its link still leads to a page
    let (_, status, failed) = b.sign_in(&s, &page, "lin", "Wrong-Password-1").await.page();
    assert_eq!(status, 200);
    let link = lang_link(&failed);
    assert_eq!(link, format!("{interaction}?lang=en"));
    let (_, status, english) = b.get(&s, &format!("{}{link}", s.base)).await.page();
    assert_eq!(status, 200);
    assert!(english.contains("<html lang=\"en\">") && english.contains("name=\"password\""), "{english}");
    // signed in: the account page's link goes through the switch and back to the account page
    let (_, _, account) = b.sign_in(&s, &english, "lin", PASSWORD).await.page();
    assert!(account.contains("<html lang=\"en\">"), "the choice is remembered: {account}");
    let link = lang_link(&account);
    assert_eq!(link, "/t/main/lang/zh-CN?back=%2Ft%2Fmain%2Faccount");
    let (url, _, chinese) = b.get(&s, &format!("{}{link}", s.base)).await.page();
    assert!(url.ends_with("/t/main/account") && chinese.contains("<html lang=\"zh-CN\">"), "{url}");

    // the switch returns only to a page of the same tenant
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (back, to) in [
        ("/t/main/account?x=1", "/t/main/account?x=1"),
        ("//evil.example/t/main/", "/t/main/account"),
        ("https://evil.example/t/main/", "/t/main/account"),
        ("/t/other/account", "/t/main/account"),
        ("/t/main/\\evil", "/t/main/account"),
        ("/t/main/\r\nSet-Cookie:x=1", "/t/main/account"),
        ("/t/main/../../t/evil/account", "/t/main/account"),
        ("/t/main/..%2F..%2Ft%2Fevil%2Faccount", "/t/main/account"),
        ("/t/main/./account", "/t/main/account"),
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        let res = http.get(format!("{}/t/main/lang/en?back={encoded}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{back}");
        assert_eq!(res.headers()["location"], to, "{back}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("idp_lang=en;"), "{cookie}");
    }
}
