//! The hostile-input catalogue beyond the protocol refusals: session fixation, Unicode tricks
//! (mixed scripts, bidirectional overrides, NUL), and values that must round-trip untouched.

use idp_core::model::{ClientSettings, ClientType};
use reqwest::cookie::CookieStore;

use crate::browser::Browser;
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::oidc_flow::urlencode;

fn session_cookie(b: &Browser, s: &TestServer) -> Option<String> {
    let url = url::Url::parse(&format!("{}/", s.issuer)).unwrap();
    let header = b.jar.cookies(&url)?;
    header.to_str().ok()?.split("; ").find_map(|kv| kv.strip_prefix("idp_session=").map(str::to_string))
}

async fn fixation(b: Backend) {
    let Some(s) = TestServer::start(b).await else { return };
    s.add_account("kim").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    // an attacker plants a session id of their choosing before the person signs in
    let planted = "attacker-chosen-session-value-0123456789abcdef";
    let url = url::Url::parse(&s.base).unwrap();
    browser.jar.add_cookie_str(&format!("idp_session={planted}; Path=/t/main/"), &url);
    let cb = browser.authorize(&s, &auth_url(&s.issuer, &web, ""), "kim").await.callback();
    assert!(cb.contains_key("code"));
    let after = session_cookie(&browser, &s).expect("a session cookie");
    assert_ne!(after, planted, "sign-in issues a new session id");
    // the planted value grants nothing
    let attacker = Browser::new();
    attacker.jar.add_cookie_str(&format!("idp_session={planted}; Path=/t/main/"), &url);
    let cb = attacker.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "login_required");
    // and a second sign-in (prompt=login) replaces the session id again
    let cb = browser.authorize(&s, &auth_url(&s.issuer, &web, "&prompt=login"), "kim").await.callback();
    assert!(cb.contains_key("code"));
    assert_ne!(session_cookie(&browser, &s).unwrap(), after);
}
crate::both_backends!(session_fixation_is_prevented, fixation);

async fn unicode(b: Backend) {
    let Some(s) = TestServer::start(b).await else { return };
    s.add_account("admin2").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    // a look-alike login (Cyrillic а) is just an unknown account
    let (_, _, page) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, status, page) = browser.sign_in(&s, &page, "\u{0430}dmin2", PASSWORD).await.page();
    assert_eq!(status, 200);
    assert!(page.contains("class=\"error\""));
    // bidirectional override and NUL in the client_id: an error page, no redirect
    for bad in ["\u{202e}c1", "c1\u{0}", "\u{feff}"] {
        let url = auth_url(&s.issuer, &urlencode(bad), "");
        let res = browser.http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad:?}");
        assert!(res.headers().get("location").is_none());
    }
    // NUL in path segments and in Basic credentials: clean 4xx answers
    let res = browser.http.get(format!("{}/interaction/%00abc", s.issuer)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = crate::browser::rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth("c1\u{0}", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // a state of any script comes back byte for byte
    let state = "状态-ü-😀-\u{202e}-&=?#";
    let cb = browser
        .authorize(
            &s,
            &auth_url(&s.issuer, &web, "").replace("&state=st", &format!("&state={}", urlencode(state))),
            "admin2",
        )
        .await
        .callback();
    assert_eq!(cb["state"], state);
    // markup in a parameter is escaped on the page, never interpreted
    let hint = "<script>alert(1)</script>\"'";
    let (_, _, page) = Browser::new()
        .get(&s, &auth_url(&s.issuer, &web, &format!("&login_hint={}", urlencode(hint))))
        .await
        .page();
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script"), "{page}");
}
crate::both_backends!(unicode_and_markup_are_harmless, unicode);
