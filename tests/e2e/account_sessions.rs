//! The person's sessions and sign-in history on the account pages: two browsers signed in are
//! both listed (this one marked); ending the other's signs that browser out; a failed attempt
//! and the sign-ins show in the history; ending all the others keeps this browser signed in;
//! another person's session cannot be ended from here. Times are the tenant's local time.

use crate::browser::{Browser, extract};
use crate::common::{Backend, PASSWORD, TestServer};

async fn signed_in(s: &TestServer, login: &str) -> (Browser, String) {
    let b = Browser::new();
    let (_, _, page) = b.get(s, &format!("{}/t/main/account/devices", s.base)).await.page();
    let (_, _, page) = b.sign_in(s, &page, login, PASSWORD).await.page();
    assert!(page.contains("id=\"sessions\""), "{page}");
    (b, page)
}

fn sids(page: &str) -> Vec<String> {
    page.match_indices("data-sid=\"")
        .map(|(i, m)| page[i + m.len()..].split('"').next().unwrap().to_string())
        .collect()
}

fn current(page: &str) -> String {
    let i = page.find("data-this=\"true\"").expect("this browser's session");
    let start = page[..i].rfind("data-sid=\"").unwrap() + 10;
    page[start..].split('"').next().unwrap().to_string()
}

async fn sessions(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("mei").await;
    s.add_account("other").await;
    let home = format!("{}/t/main/account/devices", s.base);
    // a failed attempt first, then two browsers
    let failing = Browser::new();
    let (_, _, login) = failing.get(&s, &home).await.page();
    failing.sign_in(&s, &login, "mei", "Wrong-Password-1").await;
    let (a, _) = signed_in(&s, "mei").await;
    let (b, _) = signed_in(&s, "mei").await;
    let (_, _, page_a) = a.get(&s, &home).await.page();
    assert_eq!(sids(&page_a).len(), 2, "{page_a}");
    let this = current(&page_a);
    let theirs = sids(&page_a).into_iter().find(|x| *x != this).unwrap();
    assert!(page_a.contains("id=\"end-others\""));
    let activity = format!("{}/t/main/account/activity", s.base);
    let (_, _, act_a) = a.get(&s, &activity).await.page();
    let history = &act_a[act_a.find("id=\"history\"").expect("history")..];
    assert!(history.contains("登录成功") && history.contains("登录失败"), "{history}");
    // times in the tenant's time zone (Asia/Shanghai by default), today's without a date,
    // never UTC; a week-old one with its date
    let now = idp_core::Env::now(&s.env);
    let local = (now + 8 * 3600).rem_euclid(86_400);
    let hhmm = format!("{:02}:{:02}", local / 3600, (local % 3600) / 60);
    assert!(history.contains(&format!("<li>{hhmm} ·")), "{hhmm} in {history}");
    assert!(!page_a.contains("UTC") && !act_a.contains("UTC"), "no UTC for citizens");
    // how each signed in, in plain words: never the protocol's codes
    let list = &page_a[page_a.find("id=\"sessions\"").unwrap()..];
    assert!(list.contains("一步验证 · 密码"), "{list}");
    assert!(!list.contains(">aal1") && !list.contains("pwd") && !list.contains("(pwd"), "{list}");

    // another person's session is not reachable from here
    let (other, other_page) = signed_in(&s, "other").await;
    let stranger = current(&other_page);
    let csrf = extract(&page_a, "csrf").unwrap();
    a.post_form(&s, &format!("/t/main/account/sessions/{stranger}/end"), &[("csrf", &csrf)]).await;
    let (_, _, still) = other.get(&s, &home).await.page();
    assert!(still.contains("id=\"sessions\""), "still signed in: {still}");

    // end the other browser's: it is signed out, this one stays
    let (_, _, page) =
        a.post_form(&s, &format!("/t/main/account/sessions/{theirs}/end"), &[("csrf", &csrf)]).await.page();
    assert!(page.contains("已结束所选会话") && sids(&page) == vec![this.clone()], "{page}");
    // said as done, not as an alarm
    assert!(
        page.contains("<p class=\"notice\" role=\"status\">已结束所选会话")
            && !page.contains("role=\"alert\">"),
        "{page}"
    );
    let (_, _, b_page) = b.get(&s, &home).await.page();
    assert!(b_page.contains("name=\"password\""), "signed out there: {b_page}");

    // end all others: this browser stays signed in
    let (c, _) = signed_in(&s, "mei").await;
    let (_, _, page) = a.get(&s, &home).await.page();
    assert_eq!(sids(&page).len(), 2);
    let (_, _, page) =
        a.post_form(&s, "/t/main/account/sessions/others/end", &[("csrf", &csrf)]).await.page();
    assert_eq!(sids(&page), vec![this.clone()], "{page}");
    let (_, _, c_page) = c.get(&s, &home).await.page();
    assert!(c_page.contains("name=\"password\""));

    // and its own: signed out here
    let (_, _, page) =
        a.post_form(&s, &format!("/t/main/account/sessions/{this}/end"), &[("csrf", &csrf)]).await.page();
    assert!(page.contains("name=\"password\""), "{page}");

    // a week later, the old sign-ins show with their date
    s.env.advance(7 * 86_400 - 600);
    let (later_b, _) = signed_in(&s, "mei").await;
    let (_, _, later) = later_b.get(&s, &activity).await.page();
    let history = &later[later.find("id=\"history\"").expect("history")..];
    let day = idp_core::identifiers::CalendarDate::from_unix_utc(now + 8 * 3600);
    assert!(history.contains(&format!("<li>{day} {hhmm} ·")), "{day} {hhmm} in {history}");
}
crate::both_backends!(sessions_listed_and_ended_by_the_person, sessions);
