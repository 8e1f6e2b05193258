//! The console's lists as administrators expect them: applications filtered by text, type and
//! state, sorted by a column (the header says which way), paged, and exported as exactly the
//! filtered set; the audit trail filtered by event, person, application, client IP and a date
//! range in the tenant's time, paged by its older records, and exported as the same set.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};

use crate::browser::Browser;
use crate::common::{Backend, TestServer};
use crate::console::{add_admin, follow, sign_in, start_console};

async fn get(b: &Browser, url: String) -> String {
    follow(b, b.http.get(url).send().await.unwrap()).await.1
}

/// The `data-client` ids of a list page, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<tr data-client=\"").skip(1).map(|r| r[..r.find('"').unwrap()].to_string()).collect()
}

async fn lists(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let aud_totp = add_admin(&s, "aud", "audit_admin").await;
    // 60 web applications and 2 services; one of them disabled
    let mut webs = vec![];
    for _ in 0..60 {
        let (id, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
        webs.push(id);
    }
    let (svc, _) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    s.add_client(ClientType::Service, ClientSettings::default()).await;
    s.ops.set_client_disabled("main", &svc, true).await.unwrap();

    let base = start_console(&s).await;
    let ops = Browser::new();
    let (_, first) = sign_in(&s, &ops, &base, "/clients", "ops", &ops_totp).await;
    // 63 with the console's own: two pages of 50
    assert!(first.contains("63 ·") && first.contains("1 / 2"), "{first}");
    assert_eq!(listed(&first).len(), 50);
    let second = get(&ops, format!("{base}/clients?page=2")).await;
    assert_eq!(listed(&second).len(), 13);
    // filtered by type and state
    let services = get(&ops, format!("{base}/clients?kind=service")).await;
    assert_eq!(listed(&services).len(), 2, "{services}");
    let off = get(&ops, format!("{base}/clients?state=disabled")).await;
    assert_eq!(listed(&off), std::slice::from_ref(&svc));
    // by text: the client id
    let one = get(&ops, format!("{base}/clients?q={}", webs[7])).await;
    assert_eq!(listed(&one), [webs[7].clone()]);
    // sorted by type, descending: the web applications first, the header saying so
    let sorted = get(&ops, format!("{base}/clients?sort=type&dir=desc")).await;
    assert!(sorted.contains("aria-sort=\"descending\""), "{sorted}");
    let top = &listed(&sorted)[0];
    assert!(webs.contains(top) || top == "console", "a web application first: {top}");
    let asc = get(&ops, format!("{base}/clients?sort=type")).await;
    assert!(!webs.contains(&listed(&asc)[0]), "cas/kiosk/service before web");
    // the export is the filtered set, every page of it
    let csv = ops.http.get(format!("{base}/clients/export?kind=web")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 61, "header and the 61 web clients: {csv}");
    assert!(csv.starts_with("client_id,name,type,scope,disabled\r\n"));

    // the audit trail: events of two kinds, for two people, from two addresses
    let tenant = s.tenant_id().await;
    let aud_id = s.ops.account("main", "aud").await.unwrap().id;
    for i in 0..60 {
        let event = idp_core::model::AuditEvent {
            tenant_id: Some(tenant.clone()),
            kind: if i % 2 == 0 { "login_failure".into() } else { "login_success".into() },
            account_id: Some(if i % 3 == 0 { aud_id.clone() } else { "someone".into() }),
            client_id: Some(webs[0].clone()),
            ip: Some(if i < 10 { "198.51.100.7".into() } else { "203.0.113.9".into() }),
            detail: serde_json::json!({"n": i}),
            at: s.env.now(),
        };
        s.ops.store.append_audit(&event).await.unwrap();
    }
    let aud = Browser::new();
    let (_, page) = sign_in(&s, &aud, &base, "/audit?ip=198.51.100.7", "aud", &aud_totp).await;
    assert_eq!(page.matches("<tr><td>").count(), 10, "by address: {page}");
    let page = get(&aud, format!("{base}/audit?kind=login_failure&account={aud_id}")).await;
    assert_eq!(page.matches("<tr><td>").count(), 10, "by event and person (i even and a multiple of 3)");
    // a page of 50 at a time, then the older ones
    let page = get(&aud, format!("{base}/audit?client={}", webs[0])).await;
    assert_eq!(page.matches("<tr><td>").count(), 50);
    let older = crate::console::attr(&page, "id=\"older\" href=\"").replace("&amp;", "&");
    let rest = get(&aud, format!("{}{older}", s.base)).await;
    assert_eq!(rest.matches("<tr><td>").count(), 10);
    // a date range in the tenant's time: today has them all, yesterday none
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today =
        chrono::DateTime::from_timestamp(s.env.now(), 0).unwrap().with_timezone(&beijing).date_naive();
    let yesterday = today.pred_opt().unwrap();
    let page = get(&aud, format!("{base}/audit?client={}&from={today}&to={today}", webs[0])).await;
    assert_eq!(page.matches("<tr><td>").count(), 50);
    let page = get(&aud, format!("{base}/audit?client={}&from={yesterday}&to={yesterday}", webs[0])).await;
    assert_eq!(page.matches("<tr><td>").count(), 0);
    // a filter that is not one is said, never dropped (the unfiltered trail is not shown)
    for bad in ["ip=not-an-address", "from=2026-02-30", "from=2026-12-05&to=2026-12-01"] {
        let page = get(&aud, format!("{base}/audit?{bad}")).await;
        assert!(page.contains("role=\"alert\"") && page.matches("<tr><td>").count() == 0, "{bad}: {page}");
    }
    // exported: the same filtered set
    let csv = aud.http.get(format!("{base}/audit/export?ip=198.51.100.7&format=csv")).send().await.unwrap();
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains("198.51.100.7")).count(), 10, "{csv}");

    // accounts: a search's matches paged and sorted, with headers
    for i in 0..55 {
        s.add_account(&format!("staff{i:02}")).await;
    }
    let sec_totp = add_admin(&s, "sec", "security_admin").await;
    let sec = Browser::new();
    let (_, page) = sign_in(&s, &sec, &base, "/accounts?q=staff", "sec", &sec_totp).await;
    let accounts = |p: &str| p.matches("<tr data-account=").count();
    assert!(page.contains("<thead>") && page.contains("aria-sort"), "{page}");
    assert_eq!(accounts(&page), 50, "a page of 50");
    assert!(page.contains(">staff00<"), "by username: {page}");
    let rest = get(&sec, format!("{base}/accounts?q=staff&page=2")).await;
    assert_eq!(accounts(&rest), 5);
    let desc = get(&sec, format!("{base}/accounts?q=staff&sort=username&dir=desc")).await;
    let first = desc.find(">staff54<").unwrap_or(usize::MAX);
    let later = desc.find(">staff53<").unwrap_or(0);
    assert!(first < later, "descending: {desc}");
}
crate::both_backends!(the_consoles_lists_filter_sort_page_and_export, lists);
