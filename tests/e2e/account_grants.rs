//! Grants on the account pages (docs/domain.md "Consent"): every department the person allowed is
//! listed with what it received (and why) and when; withdrawing one revokes that client's
//! refresh and access tokens at once — and a code it has not redeemed yet — and is audited;
//! the client's next sign-in asks again; another client's grant and tokens are untouched.

use idp_core::model::{ClientSettings, ClientType};

use crate::browser::{Browser, extract};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{introspect, redeem, refresh, userinfo};

async fn grants(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let wen = s.add_account("wen").await;
    let settings = |org: &str| ClientSettings {
        always_issue_refresh_token: true,
        organisation: Some(org.into()),
        purposes: [("profile".to_string(), "办理社保业务".to_string())].into(),
        ..ClientSettings::default()
    };
    let (social, social_secret) = s.add_client(ClientType::Web, settings("省人社厅")).await;
    let (tax, tax_secret) = s.add_client(ClientType::Web, settings("省税务局")).await;
    let (social_secret, tax_secret) = (social_secret.unwrap(), tax_secret.unwrap());
    let b = Browser::new();
    let url =
        |client: &str| auth_url(&s.issuer, client, "").replace("scope=openid", "scope=openid%20profile");
    let cb = b.authorize(&s, &url(&social), "wen").await.callback();
    let social_tokens = redeem(&s, &social, &social_secret, &cb["code"]).await;
    let cb = b.authorize(&s, &url(&tax), "wen").await.callback();
    let tax_tokens = redeem(&s, &tax, &tax_secret, &cb["code"]).await;
    // a code the social client has not redeemed yet
    let pending = b.get(&s, &url(&social)).await.callback()["code"].clone();

    let home = format!("{}/t/main/account/privacy", s.base);
    let (_, _, page) = b.get(&s, &home).await.page();
    let list = &page[page.find("id=\"grants\"").expect("grants listed")..];
    assert!(list.starts_with("id=\"grants\" data-count=\"2\""), "{list}");
    assert!(
        list.contains("省人社厅") && list.contains("省税务局") && list.contains("办理社保业务"),
        "{list}"
    );
    assert!(list.contains("基本资料"), "the scope in plain words: {list}");

    let csrf = extract(&page, "csrf").unwrap();
    let action = format!("/t/main/account/grants/{social}/withdraw");
    // without the page's CSRF value nothing happens
    b.post_form(&s, &action, &[("csrf", "forged")]).await;
    let at = social_tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&s, at).await.0, 200);

    let (_, _, page) = b.post_form(&s, &action, &[("csrf", &csrf)]).await.page();
    assert!(page.contains("已撤回授权"), "{page}");
    assert!(page.contains("id=\"grants\" data-count=\"1\""), "{page}");
    // every token of the social client is dead at once, and its pending code too
    assert_eq!(userinfo(&s, at).await.0, 401);
    assert_eq!(introspect(&s, &social, &social_secret, at).await["active"], false);
    let rt = social_tokens["refresh_token"].as_str().unwrap();
    // …and says why (not "already used")
    let e = refresh(&s, &social, &social_secret, rt).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("withdrew consent"), "{e}");
    let e = redeem(&s, &social, &social_secret, &pending).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("withdrew consent"), "{e}");
    // the tax office's are untouched
    assert_eq!(userinfo(&s, tax_tokens["access_token"].as_str().unwrap()).await.0, 200);
    let rt = tax_tokens["refresh_token"].as_str().unwrap();
    assert!(refresh(&s, &tax, &tax_secret, rt).await["access_token"].is_string());
    // audited, and the next sign-in asks again
    let events = s.ops.store.audit_events(&s.tenant_id().await, 50).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "grant_withdrawn"
        && e.account_id.as_deref() == Some(wen.as_str())
        && e.client_id.as_deref() == Some(social.as_str())));
    let (_, _, page) = b.get(&s, &url(&social)).await.page();
    assert!(page.contains("value=\"allow\""), "consent asked again: {page}");
    // withdrawing what is not granted changes nothing
    let (_, _, page) = b.post_form(&s, &action, &[("csrf", &csrf)]).await.page();
    assert!(page.contains("id=\"grants\" data-count=\"1\""), "{page}");
}
crate::both_backends!(withdrawing_a_grant_revokes_the_clients_tokens, grants);
