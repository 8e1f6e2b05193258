//! The relying-party side of identity brokering: this provider as a client of an upstream
//! OpenID provider (`idp_core::upstream` decides what its answers count for; the sign-in pages
//! are `crate::http::signin::upstream`).
//!
//! - **Discovery** (OpenID Connect Discovery 1.0 §4): the document at
//!   `{issuer}/.well-known/openid-configuration` must name the same issuer; its endpoints must
//!   be https (http only on the loopback host) and allowed by `[outbound]`, like the issuer.
//! - **The authorization request** (OpenID Connect Core §3.1.2.1): the code flow with `state`,
//!   `nonce` and PKCE `S256` (RFC 7636), `acr_values` and, where asked for, the OIDC4IDA
//!   `claims` parameter for `verified_claims`.
//! - **The token request** (RFC 6749 §4.1.3): `client_secret_basic` (the id and secret
//!   form-encoded before Basic, RFC 6749 §2.3.1) or `private_key_jwt` (RFC 7523 §2.2, signed
//!   with the tenant's own key; `aud` is the upstream's issuer, as
//!   draft-ietf-oauth-rfc7523bis requires against audience injection).
//! - **The ID token** (OpenID Connect Core §3.1.3.7) checked by the `openidconnect` crate: the
//!   signature with a key of the upstream's JWKS and only with the operator's asymmetric
//!   algorithms (never `none` or HMAC), `iss`, `aud` (and `azp` with several audiences),
//!   `exp`, `iat` within five minutes ahead and ten behind, and `nonce`, all against this
//!   provider's clock; and `azp`, which the crate leaves unchecked, checked here.
//!
//! Every request goes through the outbound policy's client (`super::Policy`): no redirects, a
//! timeout, bodies cut off at [`MAX_BODY`].

use std::time::Duration;

use idp_core::crypto::{b64, random_token};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{AdditionalClaims, ClientId, IdToken, IdTokenVerifier, IssuerUrl, Nonce};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Policy;

/// How long one request to an upstream may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest discovery document, key set or token response read.
pub const MAX_BODY: usize = 256 * 1024;

/// What this provider needs of an upstream's metadata.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Exactly as the discovery document names it (the ID token's `iss` must equal it).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub end_session_endpoint: Option<String>,
    /// RFC 9207: the upstream sends `iss` with its authorization responses (then one without
    /// it is refused).
    pub iss_parameter: bool,
    pub jwks: CoreJsonWebKeySet,
}

/// A URL an upstream names: https (http only on the loopback host) and allowed by the policy.
fn check_endpoint(policy: &Policy, url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|_| format!("{url:?} is not a URL"))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) || u.fragment().is_some() {
        return Err(format!("{url:?} is not an https URL"));
    }
    policy.check_url(url).map_err(|e| format!("{url}: {e}"))
}

/// A JSON document from an upstream (GET, or the token request's POST).
async fn json_of(req: reqwest::RequestBuilder, what: &str) -> Result<(u16, Value), String> {
    let res = req.send().await.map_err(|e| format!("{what}: {}", e.without_url()))?;
    let status = res.status().as_u16();
    let body = super::read_at_most(res, MAX_BODY).await.map_err(|e| format!("{what}: {e}"))?;
    let value = serde_json::from_slice(&body).map_err(|_| format!("{what}: not JSON (HTTP {status})"))?;
    Ok((status, value))
}

/// The upstream's metadata and keys (fetched at every sign-in: keys rotate).
pub async fn discover(http: &reqwest::Client, policy: &Policy, issuer: &str) -> Result<Provider, String> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    check_endpoint(policy, &url)?;
    let (status, doc) = json_of(http.get(&url), "discovery").await?;
    if status != 200 {
        return Err(format!("discovery: HTTP {status}"));
    }
    let named = doc["issuer"].as_str().unwrap_or_default();
    if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(format!("discovery names the issuer {named:?}, not {issuer:?}"));
    }
    let endpoint = |name: &str| -> Result<String, String> {
        let u = doc[name].as_str().ok_or_else(|| format!("discovery has no {name}"))?;
        check_endpoint(policy, u)?;
        Ok(u.to_string())
    };
    let jwks_uri = endpoint("jwks_uri")?;
    let (status, keys) = json_of(http.get(&jwks_uri), "jwks").await?;
    if status != 200 {
        return Err(format!("jwks: HTTP {status}"));
    }
    let jwks: CoreJsonWebKeySet =
        serde_json::from_value(keys).map_err(|e| format!("jwks: not a JWK set: {e}"))?;
    Ok(Provider {
        issuer: named.to_string(),
        authorization_endpoint: endpoint("authorization_endpoint")?,
        token_endpoint: endpoint("token_endpoint")?,
        end_session_endpoint: endpoint("end_session_endpoint").ok(),
        iss_parameter: doc["authorization_response_iss_parameter_supported"].as_bool() == Some(true),
        jwks,
    })
}

/// The PKCE `S256` challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    b64(&idp_core::crypto::sha256(verifier.as_bytes()))
}

/// What goes into an authorization request besides the provider's endpoint.
pub struct AuthRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub verifier: &'a str,
    pub scopes: &'a [String],
    pub acr_values: &'a [String],
    /// Ask for `verified_claims` in the ID token (OIDC4IDA §6, the `claims` parameter).
    pub verified_claims: bool,
    /// `prompt=login`: the person authenticates at the upstream again.
    pub fresh: bool,
    /// The client's `max_age`, passed on.
    pub max_age: Option<i64>,
}

/// The authorization request's URL.
pub fn authorize_url(p: &Provider, r: &AuthRequest<'_>) -> Result<String, String> {
    let mut u = url::Url::parse(&p.authorization_endpoint).map_err(|e| e.to_string())?;
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", r.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("scope", &r.scopes.join(" "))
            .append_pair("state", r.state)
            .append_pair("nonce", r.nonce)
            .append_pair("code_challenge", &pkce_challenge(r.verifier))
            .append_pair("code_challenge_method", "S256");
        if !r.acr_values.is_empty() {
            q.append_pair("acr_values", &r.acr_values.join(" "));
        }
        if r.verified_claims {
            let claims = serde_json::json!({"id_token": {"verified_claims": {
                "verification": {"trust_framework": null, "assurance_level": null, "time": null,
                    "evidence": null},
                "claims": {"name": null, "id_number": null, "id_type": null}
            }}});
            q.append_pair("claims", &claims.to_string());
        }
        if r.fresh {
            q.append_pair("prompt", "login");
        }
        if let Some(m) = r.max_age {
            q.append_pair("max_age", &m.to_string());
        }
    }
    Ok(u.into())
}

/// How this provider authenticates at the upstream's token endpoint.
pub enum ClientAuth {
    /// `client_secret_basic` with the opened secret.
    Secret(String),
    /// `private_key_jwt`: the signed assertion.
    Assertion(String),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Secret(_) => "Secret(..)",
            Self::Assertion(_) => "Assertion(..)",
        })
    }
}

/// The claims of a `private_key_jwt` client assertion (RFC 7523 §3) for this upstream.
pub fn assertion_claims(env: &dyn idp_core::Env, client_id: &str, issuer: &str) -> Value {
    let now = env.now();
    serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": issuer,
        "jti": random_token(env, 16), "iat": now, "exp": now + 60,
    })
}

/// Exchanges the code for the token response and returns its ID token.
pub async fn exchange(
    http: &reqwest::Client,
    p: &Provider,
    client_id: &str,
    auth: &ClientAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, String> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut req = http.post(&p.token_endpoint).header(reqwest::header::ACCEPT, "application/json");
    match auth {
        ClientAuth::Secret(secret) => {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = format!("{}:{}", enc(client_id), enc(secret));
            use base64::Engine;
            let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(basic));
            req = req.header(reqwest::header::AUTHORIZATION, header);
        }
        ClientAuth::Assertion(jwt) => {
            form.push(("client_id", client_id));
            form.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
            form.push(("client_assertion", jwt));
        }
    }
    let (status, body) = json_of(req.form(&form), "token").await?;
    if status != 200 {
        let code = body["error"].as_str().unwrap_or("no error code");
        let code: String = code.chars().filter(char::is_ascii_graphic).take(64).collect();
        return Err(format!("token: HTTP {status}, {code}"));
    }
    if !body["token_type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err("token: the token type is not Bearer".into());
    }
    body["id_token"].as_str().map(str::to_string).ok_or_else(|| "token: no id_token".into())
}

/// The claims read beyond the standard ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Extra {
    /// OpenID Connect for Identity Assurance 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_claims: Option<Value>,
    /// The upstream's session (OpenID Connect Front-/Back-Channel Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for Extra {}

type UpstreamIdToken =
    IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// What a verified ID token says.
#[derive(Clone)]
pub struct Answer {
    pub subject: String,
    /// When the person authenticated at the upstream.
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub verified_claims: Option<Value>,
    pub sid: Option<String>,
    /// The enterprise role an electronic business licence vouched for (`idp_core::licence`).
    pub licence: Option<idp_core::licence::Grant>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer").field("acr", &self.acr).finish_non_exhaustive()
    }
}

/// Verifies an ID token from `p` for `client_id` with the `nonce` sent, accepting only `algs`.
pub fn verify_id_token(
    p: &Provider,
    client_id: &str,
    token: &str,
    nonce: &str,
    algs: &[String],
    now: i64,
) -> Result<Answer, String> {
    let algs: Vec<CoreJwsSigningAlgorithm> = algs
        .iter()
        .filter(|a| idp_core::upstream::ID_TOKEN_ALGS.contains(&a.as_str()))
        .filter_map(|a| serde_json::from_value(Value::String(a.clone())).ok())
        .collect();
    if algs.is_empty() {
        return Err("no ID token algorithm is accepted".into());
    }
    let token: UpstreamIdToken = token.parse().map_err(|_| "the ID token is not a signed JWT".to_string())?;
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| e.to_string())?;
    let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let verifier =
        IdTokenVerifier::new_public_client(ClientId::new(client_id.to_string()), issuer, p.jwks.clone())
            .set_allowed_algs(algs)
            .set_time_fn(move || at)
            .set_issue_time_verifier_fn(move |iat| {
                let iat = iat.timestamp();
                if iat > now + 300 || iat < now - 600 { Err(format!("issued at {iat}")) } else { Ok(()) }
            });
    let claims = token.claims(&verifier, &Nonce::new(nonce.to_string())).map_err(|e| e.to_string())?;
    // openidconnect 4.1 leaves `azp` unchecked (its check is commented out): an ID token
    // issued to another party is not ours, whatever its audience
    if claims.authorized_party().is_some_and(|azp| azp.as_str() != client_id) {
        return Err("the ID token's azp is another client".into());
    }
    let subject = claims.subject().as_str();
    if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
        return Err("the subject is empty, too long or not text".into());
    }
    Ok(Answer {
        subject: subject.to_string(),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
        acr: claims.auth_context_ref().map(|a| a.as_str().to_string()).filter(|a| a.len() <= 255),
        verified_claims: claims.additional_claims().verified_claims.clone(),
        sid: claims.additional_claims().sid.clone().filter(|s| s.len() <= 255),
        licence: None,
    })
}

/// Verifies a compact JWS from `p` (a logout token): signed by a signing key of its JWKS (the
/// header's `kid`, or any key without one) with one of `algs` (asymmetric only); its claims.
pub fn verify_jws(p: &Provider, token: &str, algs: &[String]) -> Result<Value, String> {
    use openidconnect::JsonWebKey;
    if token.len() > 16 * 1024 {
        return Err("the token is too long".into());
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, sig] = parts[..] else { return Err("not a compact JWS".into()) };
    let decode = |part: &str| idp_core::crypto::b64_decode(part).ok_or_else(|| "not base64url".to_string());
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| "the header is not JSON")?;
    let name = header["alg"].as_str().unwrap_or_default();
    if !algs.iter().any(|a| a == name) || !idp_core::upstream::ID_TOKEN_ALGS.contains(&name) {
        return Err(format!("the algorithm {name:?} is not accepted"));
    }
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(Value::String(name.to_string())).map_err(|_| "unknown algorithm")?;
    let kid = header["kid"].as_str();
    let signature = decode(sig)?;
    let message = format!("{h}.{c}");
    let signing = openidconnect::core::CoreJsonWebKeyUse::Signature;
    let verified = p
        .jwks
        .keys()
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
        .filter(|k| k.key_use().is_none_or(|u| *u == signing))
        .any(|k| k.verify_signature(&alg, message.as_bytes(), &signature).is_ok());
    if !verified {
        return Err("the signature is not the upstream's".into());
    }
    serde_json::from_slice(&decode(c)?).map_err(|_| "the claims are not JSON".into())
}
