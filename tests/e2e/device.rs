//! Service-hall kiosks (RFC 8628): a kiosk client gets a device code and a user code; until a
//! person decides, its polls answer `authorization_pending`, and `slow_down` when it polls too
//! fast (its interval then grows by 5 s); the person scans the QR code (the verification URI
//! with the code), signs in on the phone, sees the kiosk's name and hall location and
//! approves; the kiosk's next poll gets short-lived tokens without a refresh token or `sid`,
//! once (a code used twice is `invalid_grant`); a denial is `access_denied`, an old code
//! `expired_token`. The `openidconnect` crate runs the kiosk's side of one sign-in and checks
//! the ID token's signature. Non-kiosk clients cannot use the grant; kiosks cannot use the
//! authorization endpoint.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewClient;
use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, DeviceAuthorizationUrl, IssuerUrl, OAuth2TokenResponse, TokenResponse,
};
use serde_json::Value;

use crate::browser::{Browser, extract, rp_call, rp_http};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};

const PLACE: &str = "长春市政务服务中心一楼 A 区 3 号机";

async fn form(s: &TestServer, path: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = rp_http()
        .post(format!("{}/{path}", s.issuer))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn start(s: &TestServer, id: &str, secret: &str) -> Value {
    let (status, body) = form(s, "device_authorization", id, secret, &[("scope", "openid profile")]).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(s: &TestServer, id: &str, secret: &str, device_code: &str) -> (u16, Value) {
    let grant = [("grant_type", idp_core::device::GRANT_TYPE), ("device_code", device_code)];
    form(s, "token", id, secret, &grant).await
}

/// The person's phone: open the verification URI (signing in there first), then decide.
async fn on_the_phone(s: &TestServer, phone: &Browser, uri: &str, decision: &str) -> String {
    let (_, _, page) = phone.get(s, uri).await.page();
    let page = if page.contains("name=\"password\"") {
        phone.sign_in(s, &page, "li", PASSWORD).await.page().2
    } else {
        page
    };
    assert!(page.contains("id=\"kiosk\"") && page.contains(PLACE), "the kiosk and its place: {page}");
    let csrf = extract(&page, "csrf").unwrap();
    let code = extract(&page, "user_code").unwrap();
    let form = [("csrf", csrf.as_str()), ("user_code", code.as_str()), ("decision", decision)];
    phone.post_form(s, "/t/main/device", &form).await.page().2
}

async fn kiosks(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("li").await;
    let settings = ClientSettings { location: Some(PLACE.into()), ..ClientSettings::default() };
    let new = NewClient {
        name: "政务服务自助终端".into(),
        client_type: ClientType::Kiosk,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(settings),
    };
    let (kiosk, secret) = s.ops.add_client("main", new).await.unwrap();
    let (id, secret) = (kiosk.client_id.as_str(), secret.expect("a kiosk has a secret"));
    assert_eq!(kiosk.settings.access_token_ttl, 300, "short-lived by default");

    // the codes
    let d = start(&s, id, &secret).await;
    let user_code = d["user_code"].as_str().unwrap();
    assert!(idp_core::device::normalise_user_code(user_code).is_some() && user_code.len() == 9, "{d}");
    assert_eq!(d["verification_uri"], format!("{}/device", s.issuer));
    assert_eq!(d["verification_uri_complete"], format!("{}/device?user_code={user_code}", s.issuer));
    assert_eq!((d["expires_in"].as_i64(), d["interval"].as_i64()), (Some(600), Some(5)));
    let device_code = d["device_code"].as_str().unwrap();

    // polling before the person decides; too fast
    let (status, e) = poll(&s, id, &secret, device_code).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("authorization_pending")), "{e}");
    let (status, e) = poll(&s, id, &secret, device_code).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("slow_down")), "RFC 8628 §3.5 / RFC 6749 §5.2: {e}");
    s.env.advance(6);
    let (_, e) = poll(&s, id, &secret, device_code).await;
    assert_eq!(e["error"], "slow_down", "the interval grew to 10 s, and now to 15: {e}");
    s.env.advance(16);
    let (_, e) = poll(&s, id, &secret, device_code).await;
    assert_eq!(e["error"], "authorization_pending", "{e}");

    // the QR code of the verification URI
    let qr = rp_http().get(format!("{}/device/qr.svg?user_code={user_code}", s.issuer)).send().await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
    let bad = rp_http().get(format!("{}/device/qr.svg?user_code=AEIOU", s.issuer)).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // the person approves on the phone (signing in first)
    let phone = Browser::new();
    let uri = d["verification_uri_complete"].as_str().unwrap();
    let done = on_the_phone(&s, &phone, uri, "allow").await;
    assert!(done.contains("已在自助终端登录"), "{done}");
    s.env.advance(16);
    let (status, tokens) = poll(&s, id, &secret, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "never a refresh token: {tokens}");
    assert!(tokens["expires_in"].as_i64().unwrap() <= 300);
    let claims = crate::rp::id_token(&tokens);
    assert!(claims.get("sid").is_none() && claims.get("nonce").is_none(), "no session of its own: {claims}");
    assert_eq!(claims["aud"], id);
    assert_eq!(crate::rp::userinfo_of(&s, &tokens).await["sub"], claims["sub"]);
    // used twice
    s.env.advance(16);
    let (_, e) = poll(&s, id, &secret, device_code).await;
    assert_eq!(e["error"], "invalid_grant", "{e}");
    // the same code on the phone again: gone
    let (_, _, again) = phone.get(&s, uri).await.page();
    assert!(again.contains("代码无效或已过期"), "{again}");

    // a denial
    let d = start(&s, id, &secret).await;
    let denied = on_the_phone(&s, &phone, d["verification_uri_complete"].as_str().unwrap(), "deny").await;
    assert!(denied.contains("已拒绝"), "{denied}");
    let (_, e) = poll(&s, id, &secret, d["device_code"].as_str().unwrap()).await;
    assert_eq!(e["error"], "access_denied", "{e}");

    // expiry; codes typed by hand, however written
    let d = start(&s, id, &secret).await;
    let typed = d["user_code"].as_str().unwrap().to_lowercase().replace('-', " ");
    let (_, _, page) =
        phone.get(&s, &format!("{}/device?user_code={}", s.issuer, typed.replace(' ', "+"))).await.page();
    assert!(page.contains("id=\"kiosk\""), "{page}");
    s.env.advance(601);
    let (_, e) = poll(&s, id, &secret, d["device_code"].as_str().unwrap()).await;
    assert_eq!(e["error"], "expired_token", "{e}");
    let (_, _, page) = phone.get(&s, d["verification_uri_complete"].as_str().unwrap()).await.page();
    assert!(page.contains("代码无效或已过期"), "{page}");
    let (_, e) = poll(&s, id, &secret, "no-such-code").await;
    assert_eq!(e["error"], "invalid_grant");

    // who may use what
    let (web, web_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let web_secret = web_secret.unwrap();
    let (status, e) = form(&s, "device_authorization", &web, &web_secret, &[]).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("unauthorized_client")), "{e}");
    let (_, e) = poll(&s, &web, &web_secret, "x").await;
    assert_eq!(e["error"], "unauthorized_client");
    let (status, e) =
        form(&s, "device_authorization", id, &secret, &[("scope", "openid offline_access")]).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_scope")), "{e}");
    let (status, e) = form(&s, "device_authorization", id, "wrong", &[]).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    let (_, _, refused) = Browser::new().get(&s, &auth_url(&s.issuer, id, "")).await.page();
    assert!(refused.contains("unauthorized_client"), "{refused}");

    // the openidconnect crate as the kiosk, the signature checked from JWKS
    let http = rp_http();
    let f = |r| rp_call(&http, r);
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer.clone()).unwrap(), &f).await.unwrap();
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(id.into()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_device_authorization_url(
        DeviceAuthorizationUrl::new(format!("{}/device_authorization", s.issuer)).unwrap(),
    );
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(openidconnect::Scope::new("profile".into()))
        .request_async(&f)
        .await
        .expect("device authorization");
    let uri = details.verification_uri_complete().unwrap().secret().to_string();
    on_the_phone(&s, &phone, &uri, "allow").await;
    let env = s.env.clone();
    let sleep = move |d: std::time::Duration| {
        env.advance(d.as_secs() as i64);
        std::future::ready(())
    };
    let tokens = client
        .exchange_device_access_token(&details)
        .unwrap()
        .request_async(&f, sleep, None)
        .await
        .expect("tokens");
    let verifier = client.id_token_verifier();
    let claims =
        tokens.id_token().unwrap().claims(&verifier, |_: Option<&openidconnect::Nonce>| Ok(())).unwrap();
    assert_eq!(claims.audiences()[0].as_str(), id);
    assert!(tokens.refresh_token().is_none());
}
crate::both_backends!(kiosk_sign_in_by_phone, kiosks);
