//! What every page carries, and where the provider's own addresses lead: the root page and a
//! tenant's bare address go to the account centre (a choice of the enabled tenants when there
//! are several); the icon is served; each page has a skip link to its content, the icon link and
//! a logo (the tenant's, or the provider's own).

use crate::browser::Browser;
use crate::common::{Backend, TestServer};

fn chrome(page: &str) {
    assert!(page.contains("class=\"skip\" href=\"#main\"") && page.contains("<main id=\"main\">"), "{page}");
    assert!(page.contains("rel=\"icon\" href=\"/static/favicon.svg\""), "{page}");
    assert!(page.contains("class=\"logo\""), "a logo by default: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_page_leads_to_the_account_centre() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let b = Browser::new();
    for start in ["/", "/t/main", "/t/main/"] {
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
    let (url, status, page) = b.get(&s, &format!("{}/", s.base)).await.page();
    assert_eq!((url.trim_end_matches('/'), status), (s.base.trim_end_matches('/'), 200));
    assert!(page.contains("href=\"/t/main/account\"") && page.contains("href=\"/t/city/account\""), "{page}");
    assert!(page.contains(&city.name) && !page.contains("/t/closed/"), "{page}");
    chrome(&page);

    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let icon = reqwest::get(format!("{}{path}", s.base)).await.unwrap();
        assert_eq!(icon.status(), 200);
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert!(icon.text().await.unwrap().starts_with("<svg"));
    }
}
