//! Browser sessions and RP-initiated logout: confirmation unless the hint proves the caller,
//! exact post_logout_redirect_uri matching (never an open redirect), idle and absolute
//! timeouts with the stepped clock, Argon2 rehash at sign-in, and private_key_jwt assertion
//! replay and audience checks.

use idp_core::model::{AuthMethod, ClientSettings, ClientType};
use serde_json::Value;

use crate::browser::{Browser, extract, form_action, rp_http};
use crate::common::{Backend, POST_LOGOUT, REDIRECT, TestServer, auth_url};
use crate::oidc_flow::{client_assertion, urlencode};

/// The ID token and the (JWT) access token of a sign-in.
async fn id_token_for(s: &TestServer, browser: &Browser, id: &str, secret: &str) -> (String, String) {
    let cb = browser.authorize(s, &auth_url(&s.issuer, id, ""), "gina").await.callback();
    let body: Value = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", &cb["code"]), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (body["id_token"].as_str().unwrap().to_string(), body["access_token"].as_str().unwrap().to_string())
}

async fn logout(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("gina").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let browser = Browser::new();
    let (id_token, access_token) = id_token_for(&s, &browser, &web, &secret).await;

    // an unregistered post_logout_redirect_uri: error page, no redirect, still signed in
    for bad in ["http://127.0.0.1:1/bye/", "http://evil.example/", "http://127.0.0.1:1/bye?next=x"] {
        let url = format!(
            "{}/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}",
            s.issuer,
            urlencode(bad)
        );
        let res = browser.http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.headers().get("location").is_none());
    }
    // post_logout_redirect_uri without any way to know the client
    let url = format!("{}/end_session?post_logout_redirect_uri={}", s.issuer, urlencode(POST_LOGOUT));
    assert_eq!(browser.http.get(url).send().await.unwrap().status(), 400);
    // a forged hint; an access token (signed with the same keys, `typ` at+jwt) is no ID token
    let url = format!("{}/end_session?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", s.issuer);
    assert_eq!(browser.http.get(url).send().await.unwrap().status(), 400);
    let url = format!("{}/end_session?id_token_hint={access_token}", s.issuer);
    let res = browser.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 400, "an access token as id_token_hint");
    assert!(res.text().await.unwrap().contains("not an ID token"));
    assert!(
        browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback().contains_key("code"),
        "still signed in"
    );

    // without a hint the person is asked; "stay" keeps the session
    let url = format!(
        "{}/end_session?client_id={web}&post_logout_redirect_uri={}&state=s9",
        s.issuer,
        urlencode(POST_LOGOUT)
    );
    let (_, status, page) = browser.get(&s, &url).await.page();
    assert_eq!(status, 200);
    assert!(page.contains("value=\"yes\""), "{page}");
    let csrf = extract(&page, "csrf").unwrap();
    let action = form_action(&page);
    let forged = browser
        .http
        .post(format!("{}{action}", s.base))
        .form(&[("csrf", "x"), ("decision", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let carry = |decision: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("client_id", web.clone()),
            ("post_logout_redirect_uri", POST_LOGOUT.to_string()),
            ("state", "s9".to_string()),
            ("decision", decision.to_string()),
        ]
    };
    let res = browser.http.post(format!("{}{action}", s.base)).form(&carry("no")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback().contains_key("code")
    );
    let res = browser.http.post(format!("{}{action}", s.base)).form(&carry("yes")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("{POST_LOGOUT}?state=s9").as_str());
    let cb = browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback();
    assert_eq!(cb["error"], "login_required");

    // with no session and no redirect: the signed-out page
    let (_, status, page) = browser.get(&s, &format!("{}/end_session", s.issuer)).await.page();
    assert_eq!(status, 200);
    assert!(page.contains("已退出登录"), "{page}");
}
crate::both_backends!(rp_initiated_logout, logout);

async fn timeouts(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("gina").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    browser.authorize(&s, &auth_url(&s.issuer, &web, ""), "gina").await.callback();
    // idle: 29 minutes between requests is fine, 31 is not
    for _ in 0..3 {
        s.env.advance(29 * 60);
        assert!(
            browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback().contains_key("code")
        );
    }
    s.env.advance(31 * 60);
    assert_eq!(
        browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback()["error"],
        "login_required"
    );
    // absolute: 12 hours even when active — accepted up to the last minute, refused after
    browser.authorize(&s, &auth_url(&s.issuer, &web, ""), "gina").await.callback();
    let silent_url = auth_url(&s.issuer, &web, "&prompt=none");
    let silent = || browser.get(&s, &silent_url);
    for step in 0..24 {
        s.env.advance(29 * 60);
        assert!(silent().await.callback().contains_key("code"), "alive after {} min", (step + 1) * 29);
    }
    s.env.advance(12 * 3600 - 24 * 29 * 60 - 60); // 11:59
    assert!(silent().await.callback().contains_key("code"), "alive at 11:59");
    s.env.advance(61); // 12:00:01
    assert_eq!(silent().await.callback()["error"], "login_required", "ended at 12 hours");
    // prompt=none with a session but no consent for a new client
    browser.authorize(&s, &auth_url(&s.issuer, &web, ""), "gina").await.callback();
    let (other, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    assert_eq!(
        browser.get(&s, &auth_url(&s.issuer, &other, "&prompt=none")).await.callback()["error"],
        "consent_required"
    );
}
crate::both_backends!(session_timeouts, timeouts);

async fn rehash(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let id = s.add_account("gina").await;
    let tenant = s.ops.tenant("main").await.unwrap();
    // a hash made with other (older) parameters
    let old = idp_core::password::Argon2Params { memory_kib: 2048, iterations: 1, parallelism: 1 };
    let old_hash = old.hash(crate::common::PASSWORD).unwrap();
    s.ops.store.set_password_hash(&tenant.id, &id, &old_hash, 0).await.unwrap();
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    Browser::new().authorize(&s, &auth_url(&s.issuer, &web, ""), "gina").await.callback();
    let account = s.ops.store.account(&tenant.id, &id).await.unwrap().unwrap();
    let new_hash = account.password_hash.unwrap();
    assert_ne!(new_hash, old_hash);
    assert!(new_hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{new_hash}");
}
crate::both_backends!(argon2_rehash_on_sign_in, rehash);

async fn assertions(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let (jwks, key) = {
        let kek = idp_core::crypto::Kek::generate(&idp_core::SystemEnv);
        let rec = idp_core::keys::generate(
            &idp_core::SystemEnv,
            &idp_core::module::SoftwareModule::new(kek.clone()),
            "rp",
            idp_core::model::SigningAlg::ES256,
            &Default::default(),
        )
        .unwrap();
        let pkcs8 = kek.open(&rec.sealed_private_key, &format!("signing-key:{}", rec.kid)).unwrap();
        let enc = jsonwebtoken::EncodingKey::from_ec_der(&pkcs8);
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, jsonwebtoken::Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("rp-key-1".into());
        (serde_json::json!({"keys": [jwk]}), enc)
    };
    let settings = ClientSettings {
        jwks: Some(jwks),
        auth_methods: vec![AuthMethod::PrivateKeyJwt],
        ..Default::default()
    };
    let (id, secret) = s.add_client(ClientType::Service, settings).await;
    let post = |assertion: String| {
        let url = format!("{}/token", s.issuer);
        async move {
            rp_http()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let aud = format!("{}/token", s.issuer);
    let a = client_assertion(&key, &id, &aud, "jti-1");
    assert_eq!(post(a.clone()).await, 200);
    assert_eq!(post(a).await, 401, "a replayed jti is refused");
    assert_eq!(
        post(client_assertion(&key, &id, &s.issuer, "jti-2")).await,
        200,
        "the issuer is an accepted audience"
    );
    assert_eq!(
        post(client_assertion(&key, &id, "https://elsewhere.example/token", "jti-3")).await,
        401,
        "wrong audience"
    );
    assert_eq!(post(client_assertion(&key, "someone-else", &aud, "jti-4")).await, 401);
    // the secret methods are not allowed for a private_key_jwt-only client
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(&id, secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // an assertion signed by another key
    let other = idp_core::keys::generate(
        &idp_core::SystemEnv,
        &idp_core::module::SoftwareModule::new(idp_core::crypto::Kek::from_bytes([7; 32])),
        "x",
        idp_core::model::SigningAlg::ES256,
        &Default::default(),
    )
    .unwrap();
    let pk = idp_core::crypto::Kek::from_bytes([7; 32])
        .open(&other.sealed_private_key, &format!("signing-key:{}", other.kid))
        .unwrap();
    let forged = client_assertion(&jsonwebtoken::EncodingKey::from_ec_der(&pk), &id, &aud, "jti-5");
    assert_eq!(post(forged).await, 401);
    // every single-byte change of a valid assertion is refused with a 4xx, never a 500
    let valid = client_assertion(&key, &id, &aud, "jti-fuzz");
    // (not the last character: its unused low bits can change without changing the signature)
    for i in (0..valid.len() - 1).step_by(3) {
        let mut bytes = valid.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let status = post(String::from_utf8(bytes).unwrap()).await;
        assert!(status == 401 || status == 400, "byte {i}: {status}");
    }
    // Assertions that differ from an accepted one only in what the check names, with a
    // current `iat`/`exp` (one far in the future would be refused for that alone, and the test
    // would prove nothing).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = |jti: &str| serde_json::json!({"iss": id, "sub": id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("rp-key-1".into());
    assert_eq!(
        post(jsonwebtoken::encode(&header, &claims("jti-control"), &key).unwrap()).await,
        200,
        "control"
    );
    // a header that names its own key (jku, jwk, x5u) is refused even when signed correctly
    let mut jku = header.clone();
    jku.jku = Some("https://attacker.example/jwks".into());
    assert_eq!(post(jsonwebtoken::encode(&jku, &claims("jti-jku"), &key).unwrap()).await, 401, "jku");
    let mut x5u = header.clone();
    x5u.x5u = Some("https://attacker.example/cert.pem".into());
    assert_eq!(post(jsonwebtoken::encode(&x5u, &claims("jti-x5u"), &key).unwrap()).await, 401, "x5u");
    // HS256 (algorithm confusion): with the client's own secret, as client_secret_jwt would
    // sign (this client is private_key_jwt only), and with its public key as the secret
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some("rp-key-1".into());
    let own_secret = secret.clone().expect("a service has a secret");
    let with_secret = jsonwebtoken::EncodingKey::from_secret(own_secret.as_bytes());
    assert_eq!(post(jsonwebtoken::encode(&hs, &claims("jti-hs-secret"), &with_secret).unwrap()).await, 401);
    let public = serde_json::to_vec(
        &jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256).unwrap(),
    )
    .unwrap();
    let with_public = jsonwebtoken::EncodingKey::from_secret(&public);
    assert_eq!(post(jsonwebtoken::encode(&hs, &claims("jti-hs-public"), &with_public).unwrap()).await, 401);
    // the controls' jtis were fresh: only the checks named above refused the others
    assert_eq!(post(jsonwebtoken::encode(&header, &claims("jti-control-2"), &key).unwrap()).await, 200);
}
crate::both_backends!(private_key_jwt_assertions, assertions);

/// Browser applications may call the token, userinfo, revocation, JWKS and discovery
/// endpoints from any origin (no cookies there); the pages and introspection are not exposed.
async fn cors(b: Backend) {
    let Some(s) = TestServer::start(b).await else { return };
    let http = rp_http();
    for path in ["token", "userinfo", "revoke"] {
        let res = http
            .request(reqwest::Method::OPTIONS, format!("{}/{path}", s.issuer))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let res =
        http.get(format!("{}/jwks", s.issuer)).header("origin", "https://spa.example").send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = http
        .get(format!("{}/authorize", s.issuer))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = http
        .post(format!("{}/introspect", s.issuer))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
crate::both_backends!(cors_on_browser_endpoints_only, cors);

/// The language switch on the pages: `?lang=en` renders English and is remembered.
async fn language_switch(b: Backend) {
    let Some(s) = TestServer::start(b).await else { return };
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    let (url, _, zh) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let path = url.trim_start_matches(&s.base).to_string();
    assert!(zh.contains("登录") && zh.contains(&format!("href=\"{path}?lang=en\"")), "{zh}");
    let (_, _, en) = browser.get(&s, &format!("{url}?lang=en")).await.page();
    assert!(en.contains("Sign in") && en.contains("lang=\"en\""), "{en}");
    let (_, _, again) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    assert!(again.contains("Sign in"), "the choice is remembered");
}
crate::both_backends!(language_switch_is_remembered, language_switch);

/// Administrators' sessions go idle after 15 minutes; other people's after the tenant's 30.
async fn admin_idle(backend: crate::common::Backend) {
    let Some(s) = crate::common::TestServer::start(backend).await else { return };
    let admin = idp_server::ops::NewAccount {
        username: "root".into(),
        password: Some(crate::common::PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["security_admin".into()],
    };
    s.ops.add_account("main", admin).await.unwrap();
    s.add_account("cit").await;
    let (totp, _) = crate::step_up::enrol(&s, "root").await;
    let account = format!("{}/t/main/account/security", s.base);
    let sign_in = |who: &'static str| {
        let s = &s;
        let account = account.clone();
        let totp = &totp;
        async move {
            let b = crate::browser::Browser::new();
            let (_, _, login) = b.get(s, &account).await.page();
            let (_, _, mut page) = b.sign_in(s, &login, who, crate::common::PASSWORD).await.page();
            if page.contains("name=\"code\"") {
                let code = totp.code_at_step(idp_core::Env::now(&s.env) / 30);
                page = crate::step_up::submit_code(&b, s, &page, &code).await.page().2;
            }
            assert!(page.contains("id=\"totp-state\""), "{who} on the account page: {page}");
            b
        }
    };
    let root = sign_in("root").await;
    let cit = sign_in("cit").await;
    s.env.advance(16 * 60);
    let root_page = root.get(&s, &account).await.page().2;
    assert!(!root_page.contains("id=\"totp-state\""), "an administrator idle for 16 minutes signs in again");
    let cit_page = cit.get(&s, &account).await.page().2;
    assert!(cit_page.contains("id=\"totp-state\""), "a citizen idle for 16 minutes does not");
}
crate::both_backends!(administrators_go_idle_sooner, admin_idle);
