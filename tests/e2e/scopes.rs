//! Scopes as OpenID Connect asks (Core §3.1.2.1, §5.1, §5.4): values the provider does not
//! understand are ignored at the authorization, token and device authorization endpoints;
//! `profile` releases the standard claims the person filled in on the account pages and
//! `address` the postal address; UserInfo releases only the claims of granted scopes (no
//! `act_as` without a scope that defines it); a client's scopes must be ones the tenant
//! defines.

use idp_core::model::{ClientSettings, ClientType};
use serde_json::Value;

use crate::admin_api::urlencoding;
use crate::browser::{Browser, extract, rp_http};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{redeem, refresh, userinfo};

async fn scopes(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("mei").await;
    let settings = ClientSettings {
        scope: "openid profile address email offline_access".into(),
        ..ClientSettings::default()
    };
    let (web, secret) = s.add_client(ClientType::Web, settings).await;
    let secret = secret.unwrap();
    let b = Browser::new();

    // the person fills in the profile on the account pages
    let home = format!("{}/t/main/account/profile", s.base);
    let (_, _, login) = b.get(&s, &home).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "mei", crate::common::PASSWORD).await.page();
    assert!(page.contains("id=\"profile\""), "{page}");
    let csrf = extract(&page, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("family_name", "李"),
        ("given_name", "梅"),
        ("nickname", "小梅"),
        ("gender", "female"),
        ("birthdate", "1990-03-07"),
        ("picture", "https://cdn.example.gov.cn/p/mei.png"),
        ("zoneinfo", "Asia/Shanghai"),
        ("street_address", "人民大街 100 号"),
        ("locality", "长春市"),
        ("region", "吉林省"),
        ("postal_code", "130000"),
        ("country", "中国"),
    ];
    let (_, _, saved) = b.post_form(&s, "/t/main/account/profile", &form).await.page();
    assert!(saved.contains("个人资料已保存") && saved.contains("value=\"小梅\""), "{saved}");
    // a bad value changes nothing
    let bad = [("csrf", csrf.as_str()), ("picture", "javascript:alert(1)"), ("nickname", "x")];
    let (_, _, refused) = b.post_form(&s, "/t/main/account/profile", &bad).await.page();
    assert!(refused.contains("资料未保存") && refused.contains("value=\"小梅\""), "{refused}");
    // without the page's CSRF value nothing happens
    b.post_form(&s, "/t/main/account/profile", &[("csrf", "forged"), ("nickname", "hacked")]).await;

    // an unknown scope value is ignored, not refused
    let scope = urlencoding("openid profile address unknown:thing https://elsewhere/x");
    let url = auth_url(&s.issuer, &web, "").replace("scope=openid", &format!("scope={scope}"));
    let cb = b.authorize(&s, &url, "mei").await.callback();
    let t = redeem(&s, &web, &secret, cb.get("code").unwrap_or_else(|| panic!("{cb:?}"))).await;
    assert_eq!(t["scope"], "openid profile address", "{t}");
    let (_, info) = userinfo(&s, t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (info["given_name"].as_str(), info["family_name"].as_str(), info["nickname"].as_str()),
        (Some("梅"), Some("李"), Some("小梅")),
        "{info}"
    );
    assert_eq!((info["gender"].as_str(), info["birthdate"].as_str()), (Some("female"), Some("1990-03-07")));
    assert_eq!(info["zoneinfo"], "Asia/Shanghai");
    assert_eq!(info["address"]["locality"], "长春市");
    assert_eq!(info["address"]["formatted"], "中国吉林省长春市人民大街 100 号 130000");
    assert!(
        info.get("act_as").is_none() && info.get("email").is_none(),
        "only granted scopes' claims: {info}"
    );

    // profile without address: no address
    let url =
        auth_url(&s.issuer, &web, "").replace("scope=openid", "scope=openid%20profile%20offline_access");
    let cb = b.authorize(&s, &url, "mei").await.callback();
    let t = redeem(&s, &web, &secret, &cb["code"]).await;
    let (_, info) = userinfo(&s, t["access_token"].as_str().unwrap()).await;
    assert!(info["nickname"] == "小梅" && info.get("address").is_none(), "{info}");
    // narrowing a refresh with an unknown value: ignored
    let rt = t["refresh_token"].as_str().unwrap();
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(&web, Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "openid unknown")])
        .send()
        .await
        .unwrap();
    let narrowed: Value = res.json().await.unwrap();
    assert_eq!(narrowed["scope"], "openid", "{narrowed}");
    let _ = refresh;

    // the device authorization endpoint ignores unknown values too
    let kiosk = idp_server::ops::NewClient {
        name: "自助终端".into(),
        client_type: ClientType::Kiosk,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: None,
    };
    let (kiosk, kiosk_secret) = s.ops.add_client("main", kiosk).await.unwrap();
    let kiosk = kiosk.client_id;
    let res = rp_http()
        .post(format!("{}/device_authorization", s.issuer))
        .basic_auth(&kiosk, kiosk_secret.as_deref())
        .form(&[("scope", "openid profile nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // a client's scopes are ones the tenant defines
    let odd = ClientSettings { scope: "openid records:read".into(), ..ClientSettings::default() };
    let new = idp_server::ops::NewClient {
        name: "x".into(),
        client_type: ClientType::Service,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: Some("api records:read".into()),
        settings: Some(odd),
    };
    let e = s.ops.add_client("main", new.clone()).await.unwrap_err();
    assert!(e.to_string().contains("not defined in this tenant"), "{e}");
    let policy =
        idp_core::model::TenantPolicy { api_scopes: vec!["records:read".into()], ..Default::default() };
    s.ops.set_tenant_rules_by("main", None, Some(policy), "test").await.unwrap();
    assert!(s.ops.add_client("main", new).await.is_ok(), "defined by the tenant now");
}

crate::both_backends!(scopes_as_openid_connect_asks, scopes);
