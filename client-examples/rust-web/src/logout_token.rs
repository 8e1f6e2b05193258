//! Validating a logout token as OpenID Connect Back-Channel Logout 1.0 §2.6 requires: signed by
//! one of the provider's keys (fetched from its JWKS again when an unknown `kid` appears), with
//! the key's own algorithm, `iss` the provider, `aud` this client, `iat` present, the
//! back-channel logout event, `sid` or `sub`, and no `nonce`.

use std::sync::Mutex;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How often an unknown `kid` may make us fetch the provider's keys again: anyone can POST a
/// token naming one.
const REFETCH_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Keys {
    jwks_uri: String,
    /// The keys and when they were fetched.
    cached: Mutex<Option<(JwkSet, std::time::Instant)>>,
}

impl Keys {
    pub fn new(jwks_uri: String) -> Self {
        Keys { jwks_uri, cached: Mutex::new(None) }
    }

    async fn find(&self, http: &reqwest::Client, kid: &str) -> Result<jsonwebtoken::jwk::Jwk, String> {
        let (known, fresh) = match self.cached.lock().ok().as_deref() {
            Some(Some((set, at))) => (set.find(kid).cloned(), at.elapsed() < REFETCH_AFTER),
            _ => (None, false),
        };
        if let Some(k) = known {
            return Ok(k);
        }
        if fresh {
            return Err("signed by an unknown key".into());
        }
        let set: JwkSet = http
            .get(&self.jwks_uri)
            .send()
            .await
            .map_err(|e| format!("cannot fetch the provider's keys: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the provider's JWKS is not valid: {e}"))?;
        let found = set.find(kid).cloned();
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((set, std::time::Instant::now()));
        }
        found.ok_or_else(|| "signed by an unknown key".to_string())
    }

    /// The token's claims when it is a valid logout token for this client.
    pub async fn verify(
        &self,
        http: &reqwest::Client,
        token: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("not a JWT: {e}"))?;
        if header.typ.as_deref().is_some_and(|t| t != "logout+jwt" && t != "JWT") {
            return Err("not a logout token".into());
        }
        let kid = header.kid.ok_or("no kid")?;
        let jwk = self.find(http, &kid).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key: {e}"))?;
        // the key's own algorithm, never the token's say-so
        let alg = jwk
            .common
            .key_algorithm
            .and_then(|a| jsonwebtoken::Algorithm::try_from(a).ok())
            .ok_or("the provider's key names no algorithm")?;
        let mut v = Validation::new(alg);
        v.set_issuer(&[issuer]);
        v.set_audience(&[client_id]);
        v.set_required_spec_claims(&["iss", "aud", "iat"]);
        v.validate_exp = false; // exp is optional in a logout token; checked below when present
        let claims =
            jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| format!("invalid: {e}"))?.claims;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if claims["exp"].as_i64().is_some_and(|exp| exp + 60 < now) {
            return Err("expired".into());
        }
        if !claims["events"][EVENT].is_object() {
            return Err("no back-channel logout event".into());
        }
        if claims.get("nonce").is_some() {
            return Err("a logout token must not have a nonce".into());
        }
        if !claims["sid"].is_string() && !claims["sub"].is_string() {
            return Err("neither sid nor sub".into());
        }
        if !claims["jti"].is_string() {
            return Err("no jti".into());
        }
        Ok(claims)
    }
}

/// The payload of a JWT already verified elsewhere.
pub fn payload(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}
