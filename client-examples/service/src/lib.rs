//! A department's back-end service talking to another department's API: it gets an access
//! token with the client credentials grant (RFC 6749 §4.4, `client_secret_basic`), and the API
//! accepts only JWT access tokens (RFC 9068) that the provider signed: `typ` `at+jwt`, a key
//! of the provider's JWKS with that key's algorithm, `iss`, not expired, the scope it requires
//! and, when configured, its audience. Works against any provider that issues JWT access
//! tokens; the provider's endpoints come from its discovery document.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

async fn discovery(http: &reqwest::Client, issuer: &str) -> anyhow::Result<Value> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: Value = http.get(url).send().await?.error_for_status()?.json().await?;
    anyhow::ensure!(doc["issuer"] == issuer, "the discovery document is for another issuer");
    Ok(doc)
}

/// An access token for `scope` by the client credentials grant.
pub async fn fetch_token(issuer: &str, client_id: &str, secret: &str, scope: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let doc = discovery(&http, issuer).await?;
    let endpoint = doc["token_endpoint"].as_str().ok_or_else(|| anyhow::anyhow!("no token_endpoint"))?;
    let res = http
        .post(endpoint)
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    match body["access_token"].as_str() {
        Some(t) if status.is_success() => Ok(t.to_string()),
        _ => {
            anyhow::bail!("token request refused ({status}): {} {}", body["error"], body["error_description"])
        }
    }
}

/// What the API checks.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub issuer: String,
    /// The scope every call needs, e.g. `api`.
    pub scope: String,
    /// The `aud` the token must name, if any.
    pub audience: Option<String>,
}

struct Api {
    config: ApiConfig,
    http: reqwest::Client,
    jwks_uri: String,
    keys: Mutex<Option<JwkSet>>,
}

/// The protected API: `GET /hello` answers who called, with which scope.
pub async fn api(config: ApiConfig) -> anyhow::Result<Router> {
    let http = reqwest::Client::new();
    let doc = discovery(&http, &config.issuer).await?;
    let jwks_uri = doc["jwks_uri"].as_str().ok_or_else(|| anyhow::anyhow!("no jwks_uri"))?.to_string();
    let api = Arc::new(Api { config, http, jwks_uri, keys: Mutex::new(None) });
    Ok(Router::new().route("/hello", get(hello)).with_state(api))
}

/// RFC 6750 §3: the challenge says what was wrong.
fn refuse(error: &str, description: &str) -> Response {
    let status = if error == "insufficient_scope" { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
    // RFC 6750 §3: error_description is printable ASCII without `"` and `\`
    let description: String = description
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '?' })
        .collect();
    let challenge = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    (
        status,
        [(header::WWW_AUTHENTICATE, challenge)],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn hello(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
    };
    let claims = match api.verify(token).await {
        Ok(c) => c,
        Err(why) => return refuse("invalid_token", &why),
    };
    let scopes: Vec<&str> = claims["scope"].as_str().unwrap_or_default().split(' ').collect();
    if !scopes.contains(&api.config.scope.as_str()) {
        return refuse("insufficient_scope", &format!("this API needs the {} scope", api.config.scope));
    }
    Json(json!({"hello": claims["client_id"], "sub": claims["sub"], "scope": claims["scope"]}))
        .into_response()
}

impl Api {
    async fn key(&self, kid: &str) -> Result<jsonwebtoken::jwk::Jwk, String> {
        let known = self.keys.lock().ok().and_then(|k| k.as_ref().and_then(|s| s.find(kid).cloned()));
        if let Some(k) = known {
            return Ok(k);
        }
        // a key we have not seen: the provider may have rotated, so fetch its keys again
        let set: JwkSet = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .map_err(|_| "the provider's keys are unavailable".to_string())?
            .json()
            .await
            .map_err(|_| "the provider's JWKS is not valid".to_string())?;
        let found = set.find(kid).cloned();
        if let Ok(mut k) = self.keys.lock() {
            *k = Some(set);
        }
        found.ok_or_else(|| "signed by an unknown key".into())
    }

    async fn verify(&self, token: &str) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT".to_string())?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err("not a JWT access token (typ at+jwt)".into());
        }
        let jwk = self.key(header.kid.as_deref().ok_or("no kid")?).await?;
        let alg = jwk
            .common
            .key_algorithm
            .and_then(|a| jsonwebtoken::Algorithm::try_from(a).ok())
            .ok_or("the key names no algorithm")?;
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|_| "unusable key".to_string())?;
        let mut v = jsonwebtoken::Validation::new(alg);
        v.set_issuer(&[&self.config.issuer]);
        match &self.config.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&["iss", "exp", "sub"]);
        jsonwebtoken::decode::<Value>(token, &key, &v).map(|d| d.claims).map_err(|e| e.to_string())
    }
}
