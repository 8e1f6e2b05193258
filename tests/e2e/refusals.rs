//! Refusals, each with the error the specs name and never a 500: redirect_uri, PKCE,
//! replayed and expired codes, client authentication, prompt/max_age, response_type, scope,
//! garbage and oversized input, cross-tenant use, lockout, CSRF, rate limits and headers.

use idp_core::model::{ClientSettings, ClientType};
use serde_json::Value;

use crate::browser::{Browser, extract, form_action, rp_http};
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer, auth_url};
use crate::oidc_flow::urlencode;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn token(
    s: &TestServer,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

async fn authorization_refusals(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("carol").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let (spa, _) = s.add_client(ClientType::Spa, ClientSettings::default()).await;
    let browser = Browser::new();

    // an unregistered redirect_uri: an error page, never a redirect
    for bad in [
        "http://127.0.0.1:1/cb/",
        "http://127.0.0.1:2/cb",
        "http://evil.example/cb",
        "http://127.0.0.1:1/cb?x=1",
    ] {
        let url = auth_url(&s.issuer, &web, "").replace(&urlencode(REDIRECT), &urlencode(bad));
        let res = browser.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.headers().get("location").is_none());
        let body = res.text().await.unwrap();
        assert!(body.contains("invalid_request"), "{body}");
    }
    // unknown client: page
    let res = browser.http.get(auth_url(&s.issuer, "nope", "")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("invalid_client"));

    let error_of = |step: crate::browser::Step| step.callback().get("error").cloned().unwrap_or_default();
    // public client without PKCE, or with plain
    assert_eq!(error_of(browser.get(&s, &auth_url(&s.issuer, &spa, "")).await), "invalid_request");
    let plain = format!("&code_challenge={CHALLENGE}&code_challenge_method=plain");
    assert_eq!(error_of(browser.get(&s, &auth_url(&s.issuer, &spa, &plain)).await), "invalid_request");
    // unsupported response_type, unknown scope
    let token_rt = auth_url(&s.issuer, &web, "").replace("response_type=code", "response_type=token");
    assert_eq!(error_of(browser.get(&s, &token_rt).await), "unsupported_response_type");
    let admin = auth_url(&s.issuer, &web, "").replace("scope=openid", "scope=openid%20admin");
    assert_eq!(error_of(browser.get(&s, &admin).await), "invalid_scope");
    // prompt=none without a session
    assert_eq!(error_of(browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await), "login_required");
    // errors carry state and iss
    let cb = browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=none")).await.callback();
    assert_eq!(cb["state"], "st");
    assert_eq!(cb["iss"], s.issuer);

    // sign in, then: max_age forces a new sign-in once the session is older
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let cb = browser.authorize(&s, &auth_url(&s.issuer, &web, &pkce), "carol").await.callback();
    let code = cb["code"].clone();
    s.env.advance(20);
    let (_, _, body) = browser.get(&s, &auth_url(&s.issuer, &web, "&max_age=10")).await.page();
    assert!(body.contains("name=\"password\""), "max_age=10 after 20 s asks for the password again");
    assert!(
        browser.get(&s, &auth_url(&s.issuer, &web, "&max_age=3600")).await.callback().contains_key("code")
    );

    // the code: expired after 60 s (20 s already passed), replay refused
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    s.env.advance(41);
    let (st, body, _) = token(&s, &web, &secret, &form).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")), "expired code");
    let cb = browser.get(&s, &auth_url(&s.issuer, &web, &pkce)).await.callback();
    let code = cb["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (st, first, _) = token(&s, &web, &secret, &form).await;
    assert_eq!(st, 200, "{first}");
    let (st, body, _) = token(&s, &web, &secret, &form).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")), "replayed code");
    let intro: Value = rp_http()
        .post(format!("{}/introspect", s.issuer))
        .basic_auth(&web, Some(&secret))
        .form(&[("token", first["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], false, "a replayed code revokes what it issued");
    // PKCE downgrade: a code issued with a challenge needs the verifier
    let code = browser.get(&s, &auth_url(&s.issuer, &web, &pkce)).await.callback()["code"].clone();
    let (st, body, _) = token(
        &s,
        &web,
        &secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    // a code of one client redeemed by another
    let (other, other_secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let code = browser.get(&s, &auth_url(&s.issuer, &web, &pkce)).await.callback()["code"].clone();
    let (st, body, _) = token(
        &s,
        &other,
        &other_secret.unwrap(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));

    // wrong client secret: 401 with WWW-Authenticate
    let (st, body, headers) = token(&s, &web, "wrong", &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));
    // unsupported grant type, missing grant type
    let (st, body, _) = token(&s, &web, &secret, &[("grant_type", "password")]).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (st, body, _) = token(&s, &web, &secret, &[]).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
}
crate::both_backends!(authorization_and_token_refusals, authorization_refusals);

async fn hostile_input(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let http = rp_http();
    let big = "A".repeat(70 * 1024);
    let garbage =
        ["%", "a=%zz", "client_id=a&client_id=b", "\u{0}=\u{0}", &format!("state={}", "x".repeat(20_000))];
    for path in ["authorize", "token", "userinfo", "introspect", "revoke", "end_session"] {
        for g in garbage {
            let res = http
                .post(format!("{}/{path}", s.issuer))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(g.to_string())
                .basic_auth(&web, Some(&secret))
                .send()
                .await
                .unwrap();
            // end_session has no required parameter: unknown ones are ignored (200 is right).
            let ok = res.status().is_client_error() || (path == "end_session" && res.status() == 200);
            assert!(ok, "{path} {g:?}: {}", res.status());
            let res = http.get(format!("{}/{path}?{g}", s.issuer)).send().await.unwrap();
            assert!(res.status().as_u16() < 500, "{path} GET {g:?}: {}", res.status());
        }
        let res = http
            .post(format!("{}/{path}", s.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path} oversized");
        let res = http
            .post(format!("{}/{path}", s.issuer))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path} json: {}", res.status());
    }
    // userinfo with garbage tokens
    for t in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", &"z".repeat(9000)] {
        let res = http.get(format!("{}/userinfo", s.issuer)).bearer_auth(t).send().await.unwrap();
        assert_eq!(res.status(), 401, "{t}");
        assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    }
    let res = http.get(format!("{}/userinfo", s.issuer)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // unknown tenant, unknown path
    assert_eq!(
        http.get(format!("{}/t/nope/.well-known/openid-configuration", s.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(http.get(format!("{}/t/NOPE%00/jwks", s.base)).send().await.unwrap().status(), 404);
    assert_eq!(http.get(format!("{}/nothing", s.base)).send().await.unwrap().status(), 404);
    // interaction ids that do not exist
    let res = http.get(format!("{}/interaction/{}", s.issuer, "x".repeat(500))).send().await.unwrap();
    assert_eq!(res.status(), 400);
}
crate::both_backends!(hostile_input_is_refused_cleanly, hostile_input);

async fn cross_tenant(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.ops.add_tenant("other", None).await.unwrap();
    s.add_account("dave").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let (svc, svc_secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let other_issuer = format!("{}/t/other", s.base);
    let http = rp_http();
    // a main client at the other tenant's authorization endpoint: unknown there
    let url = auth_url(&s.issuer, &web, "").replace(&s.issuer, &other_issuer);
    let res = http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    // a main client at the other tenant's token endpoint: invalid_client
    let res = http
        .post(format!("{other_issuer}/token"))
        .basic_auth(&svc, svc_secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // a main token is inactive at the other tenant, and refused by its userinfo
    let tok: Value = http
        .post(format!("{}/token", s.issuer))
        .basic_auth(&svc, svc_secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = tok["access_token"].as_str().unwrap();
    let (osvc, osecret) = s.add_client_in("other", ClientType::Service, ClientSettings::default()).await;
    let intro: Value = http
        .post(format!("{other_issuer}/introspect"))
        .basic_auth(&osvc, osecret.as_deref())
        .form(&[("token", at)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro, serde_json::json!({"active": false}));
    let browser = Browser::new();
    let cb = browser.authorize(&s, &auth_url(&s.issuer, &web, ""), "dave").await.callback();
    let body: Value = http
        .post(format!("{}/token", s.issuer))
        .basic_auth(&web, Some(&secret))
        .form(&[("grant_type", "authorization_code"), ("code", &cb["code"]), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .get(format!("{other_issuer}/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // the session of main does not sign the person in at other (dave does not exist there)
    let (oweb, _) = s.add_client_in("other", ClientType::Web, ClientSettings::default()).await;
    let url = auth_url(&s.issuer, &oweb, "").replace(&s.issuer, &other_issuer);
    let (_, _, page) = browser.get(&s, &url).await.page();
    assert!(page.contains("name=\"password\""));
    // the other tenant publishes other keys
    let k1: Value = http.get(format!("{}/jwks", s.issuer)).send().await.unwrap().json().await.unwrap();
    let k2: Value = http.get(format!("{other_issuer}/jwks")).send().await.unwrap().json().await.unwrap();
    assert_ne!(k1, k2);
}
crate::both_backends!(cross_tenant_use_is_refused, cross_tenant);

async fn sign_in_defences(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("erin").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    let (_, _, page) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    // CSRF: a forged form is refused
    let action = form_action(&page);
    let res = browser
        .http
        .post(format!("{}{action}", s.base))
        .form(&[("csrf", "forged"), ("login", "erin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // another browser cannot use this interaction
    let other = Browser::new();
    let csrf = extract(&page, "csrf").unwrap();
    let res = other
        .http
        .post(format!("{}{action}", s.base))
        .form(&[("csrf", csrf.as_str()), ("login", "erin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // same answer for an unknown user and a wrong password
    let (_, _, unknown) = browser.sign_in(&s, &page, "nobody", "Wrong-Pass-1").await.page();
    let (_, _, wrong) = browser.sign_in(&s, &unknown, "erin", "Wrong-Pass-1").await.page();
    let msg = |p: &str| p[p.find("class=\"error\"").unwrap()..].split("</p>").next().unwrap().to_string();
    assert_eq!(msg(&unknown), msg(&wrong));
    // five consecutive wrong passwords lock the account; the right one is then refused too
    let mut page = wrong;
    for _ in 0..4 {
        page = browser.sign_in(&s, &page, "erin", "Wrong-Pass-1").await.page().2;
    }
    let erin = s.ops.account("main", "erin").await.unwrap();
    assert!(erin.locked_until.is_some(), "locked after 5 failures");
    // …and the answers tell nothing: the locking failure, the right password while locked and
    // a wrong one all read as an unknown name's (no name is confirmed, no guess either)
    assert_eq!(msg(&page), msg(&unknown), "the locking failure");
    let (_, _, right) = browser.sign_in(&s, &page, "erin", PASSWORD).await.page();
    assert_eq!(msg(&right), msg(&unknown), "the right password while locked");
    assert!(!right.contains("value=\"allow\""), "and no way in");
    let (_, _, other) = browser.sign_in(&s, &right, "nobody", "Wrong-Pass-1").await.page();
    assert_eq!(msg(&other), msg(&right));
    // 30 minutes later the right password works (in a new interaction: the old one expired)
    s.env.advance(30 * 60 + 1);
    let (_, _, page) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, consent) = browser.sign_in(&s, &page, "erin", PASSWORD).await.page();
    assert!(consent.contains("value=\"allow\""));
    // security headers on pages, HttpOnly SameSite session cookies
    let res = browser.http.get(auth_url(&s.issuer, &web, "&prompt=login")).send().await.unwrap();
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let res = browser.http.get(format!("{}{loc}", s.base)).send().await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    // the sign-in form may post to the idp and be redirected to the client, nowhere else
    assert!(csp.contains("form-action 'self' http://127.0.0.1:1"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    // the session cookie: HttpOnly, SameSite=Lax, this tenant's path, not Secure over plain
    // HTTP (tls.rs asserts Secure under TLS)
    let fresh = Browser::new();
    let (_, _, login2) = fresh.get(&s, &auth_url(&s.issuer, &web, "&prompt=login")).await.page();
    let csrf = extract(&login2, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("login", "erin"), ("password", PASSWORD)];
    let res =
        fresh.http.post(format!("{}{}", s.base, form_action(&login2))).form(&form).send().await.unwrap();
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session =
        cookies.iter().find(|c| c.starts_with("idp_session=")).unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        session.contains("; HttpOnly")
            && session.contains("; SameSite=Lax")
            && session.contains("; Path=/t/main/")
            && !session.contains("Secure"),
        "{session}"
    );
    // English on request
    let (_, _, en) = browser.get(&s, &auth_url(&s.issuer, &web, "&prompt=login&ui_locales=en")).await.page();
    assert!(en.contains("Sign in"), "{en}");
    let audit = s.ops.store.audit_events(&s.ops.tenant("main").await.unwrap().id, 100).await.unwrap();
    let kinds: Vec<_> = audit.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"login_failure")
            && kinds.contains(&"account_locked")
            && kinds.contains(&"login_success"),
        "{kinds:?}"
    );
}
crate::both_backends!(sign_in_defences_hold, sign_in_defences);

async fn rate_limits(b: Backend) {
    let Some(s) = TestServer::start_with(b, |c| {
        c.limits.signin_per_ip_per_minute = 3;
        c.limits.token_per_client_per_minute = 2;
    })
    .await
    else {
        return;
    };
    s.add_account("fred").await;
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    let (_, _, mut page) = browser.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    for _ in 0..3 {
        page = browser.sign_in(&s, &page, "fred", "Wrong-Pass-1").await.page().2;
    }
    let csrf = extract(&page, "csrf").unwrap();
    let res = browser
        .http
        .post(format!("{}{}", s.base, form_action(&page)))
        .form(&[("csrf", csrf.as_str()), ("login", "fred"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let (svc, secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let mut statuses = vec![];
    for _ in 0..3 {
        let res = rp_http()
            .post(format!("{}/token", s.issuer))
            .basic_auth(&svc, secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push((res.status().as_u16(), res.headers().get("retry-after").is_some()));
    }
    assert_eq!(statuses, vec![(200, false), (200, false), (429, true)]);
}
crate::both_backends!(rate_limits_answer_429, rate_limits);
