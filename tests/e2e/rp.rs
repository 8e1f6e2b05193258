//! What a relying party does with the endpoints once it has a code, shared by the end-to-end
//! tests: redeem, refresh, call UserInfo, introspect, read a JWT's claims (signatures are
//! checked by the `oidc_flow` tests with the `openidconnect` crate).

use serde_json::Value;

use crate::browser::rp_http;
use crate::common::{REDIRECT, TestServer};

/// The token response for an authorization code (an error response too).
pub async fn redeem(s: &TestServer, client: &str, secret: &str, code: &str) -> Value {
    token_form(
        s,
        client,
        secret,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)],
    )
    .await
}

/// The token response for a refresh token.
pub async fn refresh(s: &TestServer, client: &str, secret: &str, refresh_token: &str) -> Value {
    token_form(s, client, secret, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
}

/// Any token request's response, with client_secret_basic.
pub async fn token_form(s: &TestServer, client: &str, secret: &str, form: &[(&str, &str)]) -> Value {
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(client, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

/// UserInfo's status and body (`null` when it is not JSON).
pub async fn userinfo(s: &TestServer, access_token: &str) -> (u16, Value) {
    let res = rp_http().get(format!("{}/userinfo", s.issuer)).bearer_auth(access_token).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

/// UserInfo's body for the access token of a token response, which must have one.
pub async fn userinfo_of(s: &TestServer, tokens: &Value) -> Value {
    let at = tokens["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {tokens}"));
    let (status, info) = userinfo(s, at).await;
    assert_eq!(status, 200, "{info}");
    info
}

/// The introspection response for `token`.
pub async fn introspect(s: &TestServer, client: &str, secret: &str, token: &str) -> Value {
    let res = rp_http()
        .post(format!("{}/introspect", s.issuer))
        .basic_auth(client, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

/// The claims of a JWT, unverified.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or_else(|| panic!("not a JWT: {jwt}"));
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The claims of the ID token of a token response, which must have one.
pub fn id_token(tokens: &Value) -> Value {
    claims(tokens["id_token"].as_str().unwrap_or_else(|| panic!("no id_token: {tokens}")))
}
