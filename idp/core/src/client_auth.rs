//! Client authentication at the token, introspection and revocation endpoints:
//! client_secret_basic and client_secret_post (RFC 6749 §2.3.1), private_key_jwt
//! (OIDC Core §9, RFC 7523 §3) and `none` for public clients.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;

use crate::crypto::{ct_eq, sha256_hex};
use crate::error::OAuthError;
use crate::keys::{CompactJws, sm2_verifier_of};
use crate::model::{AuthMethod, Client, SigningAlg, Tenant};
use crate::suite::Suite;
use crate::{Env, Store};

/// Seconds of clock skew allowed on an assertion's `exp`.
const LEEWAY: i64 = 30;

/// RFC 7523 §3's checks of an assertion's claims, as `jsonwebtoken::Validation` makes them for
/// the international algorithms: `iss` and `sub` the client, `aud` one of `audiences`, `exp`
/// not passed (with [`LEEWAY`]) and `nbf`, if present, reached.
fn valid_registered_claims(c: &serde_json::Value, client: &Client, audiences: &[String], now: i64) -> bool {
    let aud_ok = match &c["aud"] {
        serde_json::Value::String(a) => audiences.contains(a),
        serde_json::Value::Array(list) => {
            list.iter().any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a)))
        }
        _ => false,
    };
    aud_ok
        && c["iss"].as_str() == Some(client.client_id.as_str())
        && c["sub"].as_str() == Some(client.client_id.as_str())
        && c["exp"].as_i64().is_some_and(|exp| exp.saturating_add(LEEWAY) > now)
        && c.get("nbf").is_none_or(|nbf| nbf.as_i64().is_some_and(|nbf| nbf <= now.saturating_add(LEEWAY)))
}

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request carried, as the HTTP layer parsed it.
#[derive(Default, Clone)]
pub struct PresentedCredentials {
    /// From the Authorization: Basic header, already form-urldecoded.
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("client_id", &self.client_id)
            .field("basic", &self.basic.as_ref().map(|(id, _)| id))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Client,
    pub method: AuthMethod,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    jti: String,
}

fn fail(detail: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client("Client authentication failed.").with_detail(detail)
}

/// Authenticates the client. `audiences` are the values accepted as `aud` of a client
/// assertion (the token endpoint URL and the issuer).
pub async fn authenticate(
    store: &dyn Store,
    env: &dyn Env,
    tenant: &Tenant,
    creds: &PresentedCredentials,
    audiences: &[String],
) -> Result<AuthenticatedClient, OAuthError> {
    let methods = [
        creds.basic.is_some(),
        creds.client_secret.is_some(),
        creds.client_assertion.is_some() || creds.client_assertion_type.is_some(),
    ];
    if methods.iter().filter(|m| **m).count() > 1 {
        return Err(OAuthError::invalid_request(
            "The request uses more than one client authentication method.",
        ));
    }
    let (method, client_id) = if let Some((id, _)) = &creds.basic {
        if creds.client_id.as_ref().is_some_and(|c| c != id) {
            return Err(OAuthError::invalid_request("client_id does not match the credentials."));
        }
        (AuthMethod::ClientSecretBasic, id.clone())
    } else if creds.client_secret.is_some() {
        let id = creds.client_id.clone().ok_or_else(|| fail("client_secret without client_id"))?;
        (AuthMethod::ClientSecretPost, id)
    } else if let Some(assertion) = &creds.client_assertion {
        if creds.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request("Unsupported client_assertion_type."));
        }
        let sub = unverified_sub(assertion).ok_or_else(|| fail("assertion without sub"))?;
        if creds.client_id.as_ref().is_some_and(|c| *c != sub) {
            return Err(OAuthError::invalid_request("client_id does not match the assertion."));
        }
        (AuthMethod::PrivateKeyJwt, sub)
    } else if creds.client_assertion_type.is_some() {
        return Err(OAuthError::invalid_request("client_assertion is missing."));
    } else {
        let id = creds.client_id.clone().ok_or_else(|| fail("no client authentication").with_status(401))?;
        (AuthMethod::None, id)
    };
    if client_id.is_empty() || client_id.len() > 200 || client_id.chars().any(char::is_control) {
        return Err(fail("client_id of bad length"));
    }
    let client = store
        .client(&tenant.id, &client_id)
        .await?
        .ok_or_else(|| fail(format!("unknown client {client_id}")))?;
    if client.disabled {
        return Err(fail("client disabled"));
    }
    // a CAS service or SAML service provider has no business at the OAuth endpoints
    if matches!(client.client_type, crate::model::ClientType::Cas | crate::model::ClientType::Saml) {
        return Err(fail("a CAS service or SAML service provider is not an OAuth client"));
    }
    if !client.allowed_auth_methods().contains(&method) {
        return Err(fail(format!("method {} not allowed", method.as_str())));
    }
    match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            let secret = match &creds.basic {
                Some((_, s)) => s.as_str(),
                None => creds.client_secret.as_deref().unwrap_or_default(),
            };
            let expected = client.secret_hash.as_deref().unwrap_or_default();
            let given = sha256_hex(secret.as_bytes());
            // after a rotation with overlap, the previous secret until its time is up
            let previous = client
                .settings
                .previous_secret
                .as_ref()
                .filter(|(_, until)| env.now() < *until)
                .is_some_and(|(hash, _)| ct_eq(given.as_bytes(), hash.as_bytes()));
            if !ct_eq(given.as_bytes(), expected.as_bytes()) && !previous {
                return Err(fail("wrong client secret"));
            }
        }
        AuthMethod::PrivateKeyJwt => {
            let assertion = creds.client_assertion.as_deref().unwrap_or_default();
            verify_assertion(store, env, tenant, &client, assertion, audiences).await?;
        }
        AuthMethod::None => {}
    }
    Ok(AuthenticatedClient { client, method })
}

fn unverified_sub(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = crate::crypto::b64_decode(payload)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("sub")?.as_str().map(str::to_string)
}

async fn verify_assertion(
    store: &dyn Store,
    env: &dyn Env,
    tenant: &Tenant,
    client: &Client,
    assertion: &str,
    audiences: &[String],
) -> Result<(), OAuthError> {
    if assertion.len() > 16 * 1024 {
        return Err(fail("assertion too large"));
    }
    let jws = CompactJws::parse(assertion).ok_or_else(|| fail("assertion is not a compact JWS"))?;
    let named = jws.header["alg"].as_str().unwrap_or_default();
    // the tenant's suite says which algorithms; SM2 under any of its spellings
    let suite = Suite::of(&tenant.settings.crypto);
    let allowed = suite.assertion_alg_names();
    let sm2 = jws.alg() == Some(SigningAlg::SM2);
    if !(allowed.contains(&named) || sm2 && allowed.contains(&SigningAlg::SM2.as_str())) {
        return Err(fail("assertion algorithm not allowed"));
    }
    if ["jku", "jwk", "x5u", "x5c"].iter().any(|h| jws.header.get(h).is_some()) {
        return Err(fail("assertion header names its own key"));
    }
    let keys: Vec<serde_json::Value> = client
        .settings
        .jwks
        .as_ref()
        .and_then(|v| v["keys"].as_array().cloned())
        .ok_or_else(|| fail("client has no usable JWKS"))?;
    let kid = match jws.header.get("kid") {
        None => None,
        Some(serde_json::Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(fail("assertion kid is not a string")),
    };
    let candidates = keys.iter().filter(|k| kid.is_none() || k["kid"].as_str() == kid);
    let claims = if sm2 {
        // SM2 (GB/T 32918.2) under the tenant's user identifier; `jsonwebtoken` knows no SM2
        candidates
            .filter_map(|k| sm2_verifier_of(k, &suite.sm2_user_id))
            .any(|key| key.verify(jws.signing_input.as_bytes(), &jws.signature))
            .then(|| serde_json::from_slice::<serde_json::Value>(&jws.payload).ok())
            .flatten()
            .filter(|c| valid_registered_claims(c, client, audiences, env.now()))
            .and_then(|c| serde_json::from_value::<AssertionClaims>(c).ok())
    } else {
        // (an allowed name: one of jsonwebtoken's algorithms)
        let alg: jsonwebtoken::Algorithm =
            serde_json::from_value(jws.header["alg"].clone()).map_err(|e| fail(e.to_string()))?;
        candidates
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter_map(|jwk| DecodingKey::from_jwk(&jwk).ok())
            .find_map(|key| {
                let mut v = Validation::new(alg);
                v.set_audience(audiences);
                v.set_issuer(&[&client.client_id]);
                v.sub = Some(client.client_id.clone());
                v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
                v.leeway = LEEWAY.unsigned_abs();
                jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v).ok().map(|d| d.claims)
            })
    };
    let claims = claims.ok_or_else(|| fail("assertion signature, issuer or audience invalid"))?;
    let now = env.now();
    if claims.iss != client.client_id || claims.sub != client.client_id {
        return Err(fail("assertion iss/sub mismatch"));
    }
    if claims.exp > now + 600 {
        return Err(fail("assertion lives too long"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(fail("assertion jti missing"));
    }
    if !store.remember_assertion_jti(&tenant.id, &client.client_id, &claims.jti, claims.exp + 60).await? {
        return Err(fail("assertion jti replayed"));
    }
    Ok(())
}
