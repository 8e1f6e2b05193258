//! The person's password on the account page: the tenant's rules are shown before anyone
//! types; a change needs the form's CSRF token and the current password, refuses two new
//! passwords that differ, a password the rules refuse (said in the page's language) and the
//! current one again; once changed, the old password no longer signs in, the new one does,
//! every other session of the account has ended, and the change is audited.

use crate::browser::{Browser, extract};
use crate::common::{Backend, PASSWORD, TestServer};

const NEW: &str = "Quiet-Harbour-Lantern-77";

async fn signed_in(s: &TestServer, login: &str, password: &str) -> (Browser, String) {
    let b = Browser::new();
    let (_, _, page) = b.get(s, &format!("{}/t/main/account/security", s.base)).await.page();
    let (_, _, page) = b.sign_in(s, &page, login, password).await.page();
    (b, page)
}

async fn password(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let id = s.add_account("lin").await;
    let (a, page) = signed_in(&s, "lin", PASSWORD).await;
    let (other, _) = signed_in(&s, "lin", PASSWORD).await;
    assert!(page.contains("id=\"change-password\" data-set=\"true\""), "{page}");
    assert!(
        page.contains("<li data-rule=\"length:8\">至少 8 个字符</li>")
            && page.contains("aria-describedby=\"pw-rules\""),
        "{page}"
    );
    let csrf = extract(&page, "csrf").unwrap();
    let change = async |current: &str, new: &str, again: &str| {
        let form = [("csrf", csrf.as_str()), ("current", current), ("new", new), ("again", again)];
        a.post_form(&s, "/t/main/account/password", &form).await.page()
    };

    // refusals: each says why, as an alert, and changes nothing
    let (_, status, _) = a
        .post_form(&s, "/t/main/account/password", &[("current", PASSWORD), ("new", NEW), ("again", NEW)])
        .await
        .page();
    assert_eq!(status, 403, "no CSRF token");
    for (current, new, again, why) in [
        ("Wrong-Password-1", NEW, NEW, "当前密码不正确"),
        (PASSWORD, NEW, "Quiet-Harbour-Lantern-78", "两次输入的新密码不一致"),
        (PASSWORD, "Ab1!", "Ab1!", "密码至少需要 8 个字符"),
        (PASSWORD, "P@ssw0rd", "P@ssw0rd", "这个密码太常见"),
        (PASSWORD, PASSWORD, PASSWORD, "新密码不能与当前密码相同"),
    ] {
        let (_, _, page) = change(current, new, again).await;
        assert!(page.contains(&format!("role=\"alert\">{why}")), "{why}: {page}");
    }
    let (_, _, still) = other.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(still.contains("id=\"change-password\""), "nothing changed: still signed in there");

    // the change: said as done; the other browser is signed out
    let (_, _, page) = change(PASSWORD, NEW, NEW).await;
    assert!(page.contains("role=\"status\">密码已修改，其他设备已退出登录。"), "{page}");
    let (_, _, there) = other.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(there.contains("name=\"password\"") && !there.contains("id=\"change-password\""), "{there}");
    let (_, old) = signed_in(&s, "lin", PASSWORD).await;
    assert!(
        old.contains("name=\"password\"") && !old.contains("id=\"change-password\""),
        "the old one fails"
    );
    let (_, new) = signed_in(&s, "lin", NEW).await;
    assert!(new.contains("id=\"change-password\""), "the new one signs in: {new}");
    let events = s.ops.store.account_events(&s.tenant_id().await, &id, "password_changed", 5).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(!events[0].detail.to_string().contains(NEW), "never the password");
}
crate::both_backends!(a_person_changes_their_password, password);
