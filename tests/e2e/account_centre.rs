//! The account centre's layout: an overview (the real-name level, what needs attention, a card
//! per section) and a page per section, each with the navigation (the current page marked),
//! the language switch and a sign-out button; a section asked for before signing in is where
//! the sign-in returns; an unknown section is a 404 page. Signing out needs the page's CSRF
//! value, ends the session and offers to sign in again.

use crate::browser::{Browser, extract};
use crate::common::{Backend, PASSWORD, TestServer};

const SECTIONS: [&str; 7] = ["security", "identity", "profile", "privacy", "devices", "activity", "delete"];

fn nav_current(page: &str) -> String {
    let nav = &page[page.find("class=\"acct-nav\"").expect("the navigation")..];
    let i = nav.find("aria-current=\"page\"").expect("the current page marked");
    let start = nav[..i].rfind("href=\"").unwrap() + 6;
    nav[start..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_centre_has_an_overview_and_a_page_per_section() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("lin").await;
    let b = Browser::new();

    // a section asked for before signing in: the sign-in returns there
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account/privacy", s.base)).await.page();
    let (url, status, page) = b.sign_in(&s, &login, "lin", PASSWORD).await.page();
    assert!(url.ends_with("/t/main/account/privacy") && status == 200, "{url}");
    assert!(page.contains("id=\"grants\"") && !page.contains("id=\"change-password\""), "{page}");
    assert_eq!(nav_current(&page), "/t/main/account/privacy");

    // the overview: the level, what needs attention (no second factor, no real name), the cards
    let (_, status, overview) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    assert_eq!(status, 200);
    assert_eq!(nav_current(&overview), "/t/main/account");
    assert!(overview.contains("id=\"realname\" data-level=\"0\""), "{overview}");
    let attention = &overview[overview.find("id=\"attention\"").expect("attention")..];
    assert!(attention.starts_with("id=\"attention\" data-count=\"3\""), "{attention}");
    assert!(attention.contains("还没有开启两步验证") && attention.contains("尚未实名认证"), "{attention}");
    assert!(
        attention.contains("还没有绑定手机号") && attention.contains("/t/main/account/profile"),
        "{attention}"
    );
    let cards = &overview[overview.find("id=\"cards\"").expect("cards")..];
    for section in SECTIONS {
        assert!(cards.contains(&format!("href=\"/t/main/account/{section}\"")), "{section}: {cards}");
    }
    assert!(
        cards.contains("两步验证未开启 · 通行密钥 0 个") && cards.contains("已授权的应用 0 个"),
        "{cards}"
    );
    assert!(!overview.contains("aal1") && !overview.contains("UTC"), "{overview}");

    // every section: its own page, the navigation, the language switch, the sign-out button
    for section in SECTIONS {
        let (url, status, page) = b.get(&s, &format!("{}/t/main/account/{section}", s.base)).await.page();
        assert_eq!(status, 200, "{url}");
        assert_eq!(nav_current(&page), format!("/t/main/account/{section}"));
        assert!(page.contains("class=\"acct-menu\""), "the phones' menu: {page}");
        assert!(page.contains("<form class=\"signout\" method=\"post\""), "{section}: {page}");
        assert!(
            page.contains(&format!("href=\"/t/main/lang/en?back=%2Ft%2Fmain%2Faccount%2F{section}\"")),
            "{section}: {page}"
        );
    }
    let (_, status, _) = b.get(&s, &format!("{}/t/main/account/nothing", s.base)).await.page();
    assert_eq!(status, 404);

    // with an authenticator, the overview no longer asks for one
    let (_totp, _) = crate::step_up::enrol(&s, "lin").await;
    let (_, _, overview) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    assert!(overview.contains("id=\"attention\" data-count=\"2\""), "{overview}");
    assert!(overview.contains("两步验证已开启"), "{overview}");

    // signing out: never without the page's CSRF value
    let sign_out = "/t/main/end_session/confirm";
    let (_, status, _) = b.post_form(&s, sign_out, &[("csrf", "forged"), ("decision", "yes")]).await.page();
    assert_eq!(status, 403);
    let (_, _, still) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    assert!(still.contains("id=\"cards\""), "still signed in");
    let csrf = extract(&still, "csrf").unwrap();
    let (_, status, out) = b.post_form(&s, sign_out, &[("csrf", &csrf), ("decision", "yes")]).await.page();
    assert_eq!(status, 200);
    assert!(out.contains("id=\"sign-in-again\" href=\"") && out.contains("/t/main/account\""), "{out}");
    let (_, _, again) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(again.contains("name=\"password\""), "signed out: {again}");
}

/// Each session shows the browser and system it signed in from, as a label; the sign-in's
/// audit event keeps the label, never the `User-Agent` header itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_name_their_devices() {
    const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let id = s.add_account("lin").await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(UA)
        .build()
        .unwrap();
    let chrome = Browser { http, jar };
    let devices = format!("{}/t/main/account/devices", s.base);
    let (_, _, login) = chrome.get(&s, &devices).await.page();
    chrome.sign_in(&s, &login, "lin", PASSWORD).await.page();
    let other = Browser::new(); // says nothing of itself
    let (_, _, login) = other.get(&s, &devices).await.page();
    let (_, _, page) = other.sign_in(&s, &login, "lin", PASSWORD).await.page();
    let list = &page[page.find("id=\"sessions\" data-count=\"2\"").expect("two sessions")..];
    assert!(list.contains("<strong class=\"device\">Chrome · Windows</strong>"), "{list}");
    assert!(list.contains("<strong class=\"device\">未知设备</strong>"), "{list}");
    let events = s.ops.store.account_events(&s.tenant_id().await, &id, "login_success", 5).await.unwrap();
    assert!(events.iter().any(|e| e.detail["device"] == "Chrome · Windows"), "{events:?}");
    assert!(!events.iter().any(|e| e.detail.to_string().contains("AppleWebKit")), "never the header");
}
