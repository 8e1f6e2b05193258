//! The whole OpenID Connect journey with the `openidconnect` crate as relying party: discovery,
//! authorize, sign-in page, consent page, code, token, ID token verified against the JWKS,
//! userinfo, refresh rotation, introspection, revocation and logout; for confidential clients
//! (client_secret_basic, client_secret_post, private_key_jwt) and a public PKCE client; on
//! SQLite and PostgreSQL.

use idp_core::model::{AccessTokenFormat, AuthMethod, ClientSettings, ClientType, SigningAlg};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use serde_json::Value;

use crate::browser::{Browser, rp_call, rp_http};
use crate::common::{Backend, POST_LOGOUT, REDIRECT, TestServer};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Auth {
    Basic,
    Post,
    PrivateKeyJwt,
    Public,
}

struct Rp {
    client: openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    http: reqwest::Client,
    client_id: String,
    secret: Option<String>,
}

async fn discover(s: &TestServer) -> CoreProviderMetadata {
    let http = rp_http();
    let f = |r| rp_call(&http, r);
    CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer.clone()).unwrap(), &f)
        .await
        .expect("discovery")
}

async fn rp(s: &TestServer, client_id: &str, secret: Option<&str>, auth: Auth) -> Rp {
    let meta = discover(s).await;
    let mut client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    if matches!(auth, Auth::Post | Auth::Public) {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    Rp { client, http: rp_http(), client_id: client_id.into(), secret: secret.map(str::to_string) }
}

/// A client key pair for private_key_jwt: (JWKS to register, signing key).
fn client_key() -> (Value, jsonwebtoken::EncodingKey) {
    use aws_lc_rs_shim::*;
    let pkcs8 = generate_p256_pkcs8();
    let enc = jsonwebtoken::EncodingKey::from_ec_der(&pkcs8);
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, jsonwebtoken::Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("rp-key-1".into());
    (serde_json::json!({"keys": [jwk]}), enc)
}

mod aws_lc_rs_shim {
    /// A fresh P-256 key in PKCS#8, made through the provider's own key generator.
    pub fn generate_p256_pkcs8() -> Vec<u8> {
        let kek = idp_core::crypto::Kek::generate(&idp_core::SystemEnv);
        let rec = idp_core::keys::generate(
            &idp_core::SystemEnv,
            &idp_core::module::SoftwareModule::new(kek.clone()),
            "rp",
            idp_core::model::SigningAlg::ES256,
            &Default::default(),
        )
        .unwrap();
        kek.open(&rec.sealed_private_key, &format!("signing-key:{}", rec.kid)).unwrap()
    }
}

pub fn client_assertion(key: &jsonwebtoken::EncodingKey, client_id: &str, aud: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("rp-key-1".into());
    let claims = serde_json::json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60});
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

async fn token_with_assertion(
    s: &TestServer,
    key: &jsonwebtoken::EncodingKey,
    client_id: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let jti = idp_core::crypto::random_token(&idp_core::SystemEnv, 12);
    let assertion = client_assertion(key, client_id, &format!("{}/token", s.issuer), &jti);
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
    body.push(("client_assertion", &assertion));
    let res = rp_http().post(format!("{}/token", s.issuer)).form(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn journey(backend: Backend, auth: Auth, alg: SigningAlg, format: AccessTokenFormat) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    s.add_account("alice").await;
    let (jwks, key) = client_key();
    let settings = ClientSettings {
        id_token_alg: alg,
        access_token_format: format,
        jwks: (auth == Auth::PrivateKeyJwt).then(|| jwks.clone()),
        auth_methods: if auth == Auth::PrivateKeyJwt { vec![AuthMethod::PrivateKeyJwt] } else { vec![] },
        ..Default::default()
    };
    let kind = if auth == Auth::Public { ClientType::Spa } else { ClientType::Web };
    let (client_id, secret) = s.add_client(kind, settings).await;
    let secret = if auth == Auth::PrivateKeyJwt { None } else { secret };
    let rp = rp(&s, &client_id, secret.as_deref(), auth).await;
    let f = |r| rp_call(&rp.http, r);

    // authorize → sign-in page → consent page → code
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let (_, status, login_page) = browser.get(&s, url.as_str()).await.page();
    assert_eq!(status, 200);
    assert!(login_page.contains("登录"), "zh-CN by default");
    let (_, _, consent_page) =
        browser.sign_in(&s, &login_page, "alice", crate::common::PASSWORD).await.page();
    assert!(
        consent_page.contains("Department App") && consent_page.contains("电子邮箱地址"),
        "{consent_page}"
    );
    let cb = browser.consent(&s, &consent_page, true).await.callback();
    assert_eq!(cb.get("state"), Some(state.secret()));
    assert_eq!(cb.get("iss"), Some(&s.issuer), "RFC 9207 iss");
    let code = cb["code"].clone();

    // code → tokens
    let token: CoreTokenResponse = if auth == Auth::PrivateKeyJwt {
        let (st, body) = token_with_assertion(
            &s,
            &key,
            &client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.secret()),
            ],
        )
        .await;
        assert_eq!(st, 200, "{body}");
        serde_json::from_value(body).unwrap()
    } else {
        rp.client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&f)
            .await
            .expect("code exchange")
    };
    let id_token = token.id_token().expect("id_token");
    let id_verifier = rp.client.id_token_verifier();
    let claims: &CoreIdTokenClaims =
        id_token.claims(&id_verifier, &nonce).expect("ID token verifies against the JWKS");
    assert_eq!(claims.issuer().as_str(), s.issuer);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("aal1"));
    assert_eq!(
        claims.auth_method_refs().map(|v| v.iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>()),
        Some(vec!["pwd".to_string()])
    );
    let expected_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    let raw_claims = decode_payload(&id_token.to_string());
    assert!(raw_claims["sid"].is_string() && raw_claims["act_as"] == "self");
    let header = decode_header(&id_token.to_string());
    assert_eq!(header["alg"], alg.as_str());

    // userinfo, GET with the header
    let info: openidconnect::core::CoreUserInfoClaims = rp
        .client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&f)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.test"));
    assert_eq!(info.preferred_username().map(|e| e.as_str()), Some("alice"));
    // userinfo, POST with the token in the body
    let res = rp_http()
        .post(format!("{}/userinfo", s.issuer))
        .form(&[("access_token", token.access_token().secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // refresh rotation: a new refresh token each time; the old one, presented again, revokes all.
    let rt1 = token.refresh_token().expect("refresh token for offline_access").clone();
    let refreshed = refresh(&s, &rp, auth, &key, &rt1).await.expect("first refresh");
    let rt2 = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(rt1.secret(), rt2.secret());
    assert_eq!(introspect(&s, &rp, auth, &key, refreshed.access_token().secret()).await["active"], true);
    let replay = refresh(&s, &rp, auth, &key, &rt1).await;
    assert!(replay.unwrap_err().contains("invalid_grant"));
    assert!(refresh(&s, &rp, auth, &key, &rt2).await.is_err(), "the family is revoked after a replay");
    assert_eq!(introspect(&s, &rp, auth, &key, refreshed.access_token().secret()).await["active"], false);

    // a fresh sign-in for the rest (SSO: no password this time, consent remembered)
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let cb = browser.get(&s, url.as_str()).await.callback();
    let code = cb["code"].clone();
    let token: CoreTokenResponse = if auth == Auth::PrivateKeyJwt {
        let (_, body) = token_with_assertion(
            &s,
            &key,
            &client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.secret()),
            ],
        )
        .await;
        serde_json::from_value(body).unwrap()
    } else {
        rp.client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&f)
            .await
            .unwrap()
    };
    assert!(token.refresh_token().is_none(), "no offline_access, no refresh token");
    let id_token = token.id_token().unwrap();
    id_token.claims(&rp.client.id_token_verifier(), &nonce).unwrap();

    // introspection and revocation (public clients may revoke but not introspect)
    if auth != Auth::Public {
        let intro = introspect(&s, &rp, auth, &key, token.access_token().secret()).await;
        assert_eq!(intro["active"], true, "{intro}");
        assert_eq!(intro["client_id"], client_id);
        assert_eq!(intro["username"], "alice");
    }
    revoke(&s, &rp, auth, &key, token.access_token().secret()).await;
    let gone: Result<openidconnect::core::CoreUserInfoClaims, _> =
        rp.client.user_info(token.access_token().clone(), None).unwrap().request_async(&f).await;
    assert!(gone.is_err(), "a revoked access token is refused by userinfo");

    // logout with id_token_hint and an exact post_logout_redirect_uri
    let logout = format!(
        "{}/end_session?id_token_hint={}&post_logout_redirect_uri={}&state=bye1",
        s.issuer,
        id_token,
        urlencode(POST_LOGOUT)
    );
    let back = browser.get(&s, &logout).await.left();
    assert_eq!(back.as_str(), format!("{POST_LOGOUT}?state=bye1"));
    // the session is gone: prompt=none now answers login_required to the client
    let (url, _, _) = rp
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    let cb = browser.get(&s, url.as_str()).await.callback();
    assert_eq!(cb.get("error").map(String::as_str), Some("login_required"));
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap().trim_start_matches("v=").to_string()
}

pub fn decode_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&idp_core::crypto::b64_decode(part).unwrap()).unwrap()
}

pub fn decode_header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&idp_core::crypto::b64_decode(part).unwrap()).unwrap()
}

async fn refresh(
    s: &TestServer,
    rp: &Rp,
    auth: Auth,
    key: &jsonwebtoken::EncodingKey,
    rt: &RefreshToken,
) -> Result<CoreTokenResponse, String> {
    if auth == Auth::PrivateKeyJwt {
        let (st, body) = token_with_assertion(
            s,
            key,
            &rp.client_id,
            &[("grant_type", "refresh_token"), ("refresh_token", rt.secret())],
        )
        .await;
        return if st == 200 { Ok(serde_json::from_value(body).unwrap()) } else { Err(body.to_string()) };
    }
    let f = |r| rp_call(&rp.http, r);
    match rp.client.exchange_refresh_token(rt).unwrap().request_async(&f).await {
        Ok(t) => Ok(t),
        Err(openidconnect::RequestTokenError::ServerResponse(e)) => Err(e.error().to_string()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Calls introspection or revocation authenticating as the RP does.
async fn authed_post(
    s: &TestServer,
    rp: &Rp,
    auth: Auth,
    key: &jsonwebtoken::EncodingKey,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let http = rp_http();
    let url = format!("{}/{path}", s.issuer);
    let mut body: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut req = http.post(&url);
    match auth {
        Auth::Basic => req = req.basic_auth(&rp.client_id, rp.secret.as_deref()),
        Auth::Post => {
            body.push(("client_id".into(), rp.client_id.clone()));
            body.push(("client_secret".into(), rp.secret.clone().unwrap()));
        }
        Auth::Public => body.push(("client_id".into(), rp.client_id.clone())),
        Auth::PrivateKeyJwt => {
            let jti = idp_core::crypto::random_token(&idp_core::SystemEnv, 12);
            body.push((
                "client_assertion_type".into(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            body.push((
                "client_assertion".into(),
                client_assertion(key, &rp.client_id, &format!("{}/token", s.issuer), &jti),
            ));
        }
    }
    req = req.form(&body);
    req.send().await.unwrap()
}

async fn introspect(
    s: &TestServer,
    rp: &Rp,
    auth: Auth,
    key: &jsonwebtoken::EncodingKey,
    token: &str,
) -> Value {
    if auth == Auth::Public {
        // Public clients cannot introspect, and another client is told nothing of a token not
        // issued to it or for its resource (`token_binding.rs`): UserInfo says whether it lives.
        let (id, secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
        let res = rp_http()
            .post(format!("{}/introspect", s.issuer))
            .basic_auth(id, secret)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<Value>().await.unwrap(), serde_json::json!({"active": false}));
        let live = crate::rp::userinfo(s, token).await.0 == 200;
        return serde_json::json!({"active": live});
    }
    let res = authed_post(s, rp, auth, key, "introspect", &[("token", token)]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn revoke(s: &TestServer, rp: &Rp, auth: Auth, key: &jsonwebtoken::EncodingKey, token: &str) {
    let res = authed_post(s, rp, auth, key, "revoke", &[("token", token)]).await;
    assert_eq!(res.status(), 200);
}

async fn basic_es256_jwt(b: Backend) {
    journey(b, Auth::Basic, SigningAlg::ES256, AccessTokenFormat::Jwt).await
}
async fn post_rs256_opaque(b: Backend) {
    journey(b, Auth::Post, SigningAlg::RS256, AccessTokenFormat::Opaque).await
}
async fn private_key_jwt_eddsa(b: Backend) {
    journey(b, Auth::PrivateKeyJwt, SigningAlg::EdDSA, AccessTokenFormat::Jwt).await
}
async fn public_pkce(b: Backend) {
    journey(b, Auth::Public, SigningAlg::ES256, AccessTokenFormat::Opaque).await
}

crate::both_backends!(journey_client_secret_basic, basic_es256_jwt);
crate::both_backends!(journey_client_secret_post, post_rs256_opaque);
crate::both_backends!(journey_private_key_jwt, private_key_jwt_eddsa);
crate::both_backends!(journey_public_pkce, public_pkce);

/// SSO: a second client in the same browser gets its code without signing in again.
async fn sso_second_client(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("bob").await;
    let (a, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let (c2, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    let url = |cid: &str| {
        format!(
            "{}/authorize?client_id={cid}&redirect_uri={}&response_type=code&scope=openid&state=x",
            s.issuer,
            urlencode(REDIRECT)
        )
    };
    let cb = browser.authorize(&s, &url(&a), "bob").await.callback();
    assert!(cb.contains_key("code"));
    // second client: consent is asked (new client) but no sign-in page
    let step = browser.get(&s, &url(&c2)).await;
    let (_, _, body) = step.page();
    assert!(!body.contains("name=\"password\""), "no second sign-in");
    let cb = browser.consent(&s, &body, true).await.callback();
    assert!(cb.contains_key("code"));
    // and with the consent remembered, straight back
    assert!(browser.get(&s, &url(&c2)).await.callback().contains_key("code"));
    // asking for more scope asks again
    let more = format!("{}&scope=openid%20email", url(&c2).replace("&scope=openid", ""));
    let (_, _, body) = browser.get(&s, &more).await.page();
    assert!(body.contains("value=\"allow\""));
    // form_post response mode
    let fp = format!("{}&response_mode=form_post", url(&c2));
    let res = browser.http.get(&fp).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("action=\"{REDIRECT}\"")) && body.contains("name=\"code\""), "{body}");
    assert!(csp.contains("form-action http://127.0.0.1:1") && csp.contains("script-src 'nonce-"), "{csp}");
}
crate::both_backends!(sso, sso_second_client);

/// Consent to a scope that has since come to release more no longer covers it: the person is
/// asked again, and a later consent to other scopes does not renew it silently.
async fn widened_scope_asks_again(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("bob").await;
    let (c, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let browser = Browser::new();
    let url = |scope: &str| {
        format!(
            "{}/authorize?client_id={c}&redirect_uri={}&response_type=code&scope={}&state=x",
            s.issuer,
            urlencode(REDIRECT),
            urlencode(scope)
        )
    };
    assert!(browser.authorize(&s, &url("openid profile"), "bob").await.callback().contains_key("code"));
    // the grant dates from before `profile` widened
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let account = s.ops.account("main", "bob").await.unwrap().id;
    let mut grant = s.ops.store.grant(&tenant, &account, &c).await.unwrap().expect("a grant");
    assert!(grant.scopes.contains(&"profile".to_string()));
    let widened_at = idp_core::scope::WIDENED.iter().find(|(n, _)| *n == "profile").unwrap().1;
    grant.updated_at = widened_at - 1;
    s.ops.store.upsert_grant(&grant).await.unwrap();
    assert!(browser.get(&s, &url("openid")).await.callback().contains_key("code"), "openid still covered");
    let (_, _, body) = browser.get(&s, &url("openid profile")).await.page();
    assert!(body.contains("value=\"allow\""), "profile asked again: {body}");
    // consenting to email now does not carry the stale profile consent forward
    let (_, _, body) = browser.get(&s, &url("openid email")).await.page();
    assert!(browser.consent(&s, &body, true).await.callback().contains_key("code"));
    let grant = s.ops.store.grant(&tenant, &account, &c).await.unwrap().unwrap();
    assert!(!grant.scopes.contains(&"profile".to_string()), "{:?}", grant.scopes);
    let (_, _, body) = browser.get(&s, &url("openid profile")).await.page();
    assert!(browser.consent(&s, &body, true).await.callback().contains_key("code"));
    assert!(browser.get(&s, &url("openid profile email")).await.callback().contains_key("code"));
}
crate::both_backends!(widened_scope, widened_scope_asks_again);

/// A refresh token whose consent predates a scope's widening keeps working without that scope:
/// the refresh leaves it out and says so in `scope`, and UserInfo releases none of its claims.
async fn widened_scope_left_out_at_refresh(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    s.add_account("bob").await;
    let (c, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.expect("a web client has a secret");
    let url = format!(
        "{}/authorize?client_id={c}&redirect_uri={}&response_type=code&scope={}&state=x",
        s.issuer,
        urlencode(REDIRECT),
        urlencode("openid profile offline_access")
    );
    let code = Browser::new().authorize(&s, &url, "bob").await.callback()["code"].clone();
    let tokens = crate::rp::redeem(&s, &c, &secret, &code).await;
    let rt = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("{tokens}"));
    // consent given now is current: the refresh keeps profile
    let fresh = crate::rp::refresh(&s, &c, &secret, rt).await;
    assert_eq!(fresh["scope"], "openid profile offline_access", "{fresh}");
    assert_eq!(crate::rp::userinfo_of(&s, &fresh).await["preferred_username"], "bob");
    // the family's consent dates from before profile widened
    let stored = format!("\"consented_at\":{}", idp_core::Env::now(&s.env));
    let sql = format!("UPDATE refresh_tokens SET authz = REPLACE(authz, '{stored}', '\"consented_at\":1')");
    crate::common::sql(&s, &sql).await.unwrap();
    let rt = fresh["refresh_token"].as_str().unwrap();
    let narrowed = crate::rp::refresh(&s, &c, &secret, rt).await;
    assert_eq!(narrowed["scope"], "openid offline_access", "{narrowed}");
    let info = crate::rp::userinfo_of(&s, &narrowed).await;
    assert!(info.get("preferred_username").is_none() && info.get("name").is_none(), "{info}");
    // asking for it back at refresh is refused (a new authorization is the way)
    let again = crate::rp::token_form(
        &s,
        &c,
        &secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed["refresh_token"].as_str().unwrap()),
            ("scope", "openid profile"),
        ],
    )
    .await;
    assert_eq!(again["error"], "invalid_scope", "{again}");
}
crate::both_backends!(widened_scope_at_refresh, widened_scope_left_out_at_refresh);

/// client_credentials, with JWT and opaque access tokens.
async fn client_credentials(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    for format in [AccessTokenFormat::Jwt, AccessTokenFormat::Opaque] {
        let (id, secret) = s
            .add_client(
                ClientType::Service,
                ClientSettings { access_token_format: format, ..Default::default() },
            )
            .await;
        let meta = discover(&s).await;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(id.clone()),
            secret.clone().map(ClientSecret::new),
        );
        let http = rp_http();
        let f = |r| rp_call(&http, r);
        let token = client
            .exchange_client_credentials()
            .unwrap()
            .add_scope(Scope::new("api".into()))
            .request_async(&f)
            .await
            .expect("client_credentials");
        assert!(token.refresh_token().is_none() && token.id_token().is_none());
        let intro: Value = http
            .post(format!("{}/introspect", s.issuer))
            .basic_auth(&id, secret.as_deref())
            .form(&[("token", token.access_token().secret())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(intro["active"], true);
        assert_eq!(intro["sub"], id);
        if format == AccessTokenFormat::Jwt {
            let h = decode_header(token.access_token().secret());
            assert_eq!(h["typ"], "at+jwt", "RFC 9068");
        }
        let denied = client
            .exchange_client_credentials()
            .unwrap()
            .add_scope(Scope::new("openid".into()))
            .request_async(&f)
            .await;
        assert!(denied.is_err());
    }
}
crate::both_backends!(client_credentials_grant, client_credentials);
