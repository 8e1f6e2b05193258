//! A small OpenID provider for the refusal tests of identity brokering: discovery, JWKS, an
//! authorization endpoint that answers at once (no pages), a token endpoint that checks the
//! client (secret or `private_key_jwt` against the provider's JWKS), the code's single use, the
//! redirect URI and PKCE, and ID tokens the test can spoil in each way an attacker or a broken
//! provider would ([`Tamper`]). The real provider of the interop test is node `oidc-provider`
//! (`upstream_node.rs`); this one exists to misbehave on purpose.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "provincial-idp";
pub const SECRET: &str = "upstream secret/with:odd&chars";

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tamper {
    #[default]
    Nothing,
    /// Signed by a key not in the JWKS, under a published kid.
    OtherKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the client secret as key.
    Hs256,
    WrongAud,
    /// Another audience beside ours, without `azp`.
    ExtraAud,
    WrongIss,
    WrongNonce,
    Expired,
    /// Issued an hour ago.
    Stale,
    /// No `sub`.
    NoSub,
    /// `azp` another client's.
    OtherAzp,
}

/// What `iss` the authorization response carries (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Iss {
    #[default]
    Own,
    Missing,
    Other(String),
}

#[derive(Default)]
pub struct OpState {
    pub issuer: String,
    pub subject: String,
    /// Merged into the ID token (acr, verified_claims, …).
    pub claims: Value,
    pub tamper: Tamper,
    pub iss: Iss,
    /// Discovery says `authorization_response_iss_parameter_supported`.
    pub advertise_iss: bool,
    /// The authorization endpoint answers with this error instead of a code.
    pub error: Option<String>,
    /// `private_key_jwt`: the JWKS the client assertion is checked with.
    pub client_jwks: Option<String>,
    /// code → (nonce, challenge, redirect_uri)
    codes: HashMap<String, (String, String, String)>,
    /// The last authorization request's parameters.
    pub last_authorize: HashMap<String, String>,
    /// The last logout request's parameters (RP-Initiated Logout).
    pub last_logout: HashMap<String, String>,
    /// Token requests refused, and why.
    pub refused: Vec<String>,
    pub assertions: Vec<Value>,
}

pub struct FakeOp {
    pub issuer: String,
    pub state: Arc<Mutex<OpState>>,
    keys: Arc<Keys>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct Keys {
    good: jsonwebtoken::EncodingKey,
    other: jsonwebtoken::EncodingKey,
    jwks: Value,
}

fn p256() -> jsonwebtoken::EncodingKey {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref())
}

type Shared = (Arc<Mutex<OpState>>, Arc<Keys>);

impl FakeOp {
    pub async fn start() -> FakeOp {
        let good = p256();
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&good, jsonwebtoken::Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("op-1".into());
        let keys = Arc::new(Keys { good, other: p256(), jwks: json!({"keys": [jwk]}) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://127.0.0.1:{}/op", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(OpState {
            issuer: issuer.clone(),
            subject: "gov-subject-1".into(),
            claims: json!({}),
            ..Default::default()
        }));
        let app = axum::Router::new()
            .route("/op/.well-known/openid-configuration", get(discovery))
            .route("/op/jwks", get(jwks))
            .route("/op/authorize", get(authorize))
            .route("/op/token", post(token))
            .route("/op/logout", get(logout))
            .with_state((state.clone(), keys.clone()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        FakeOp { issuer, state, keys: keys.clone(), _stop: tx }
    }

    pub fn set(&self, f: impl FnOnce(&mut OpState)) {
        f(&mut self.state.lock().unwrap());
    }

    /// A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4) for the provider, signed
    /// with the published key (or another), with `claims` merged over the usual ones.
    pub fn logout_token(&self, claims: Value, other_key: bool) -> String {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let mut c = json!({
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
            "jti": format!("jti-{now}-{}", rand_suffix()),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        for (k, v) in claims.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some("op-1".into());
        h.typ = Some("logout+jwt".into());
        jsonwebtoken::encode(&h, &c, if other_key { &self.keys.other } else { &self.keys.good }).unwrap()
    }

    /// The last token request's refusals.
    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }
}

async fn discovery(State((s, _)): State<Shared>) -> Response {
    let s = s.lock().unwrap();
    let i = &s.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": s.advertise_iss,
    }))
    .into_response()
}

async fn jwks(State((_, k)): State<Shared>) -> Response {
    axum::Json(k.jwks.clone()).into_response()
}

async fn authorize(State((s, _)): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = s.lock().unwrap();
    s.last_authorize = q.clone();
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let mut u = url::Url::parse(&redirect).unwrap();
    {
        let mut pairs = u.query_pairs_mut();
        if let Some(e) = &s.error {
            pairs.append_pair("error", e);
        } else {
            let code = format!("code-{}", s.codes.len() + 1);
            let nonce = q.get("nonce").cloned().unwrap_or_default();
            let challenge = q.get("code_challenge").cloned().unwrap_or_default();
            s.codes.insert(code.clone(), (nonce, challenge, redirect.clone()));
            pairs.append_pair("code", &code);
        }
        pairs.append_pair("state", q.get("state").map(String::as_str).unwrap_or_default());
        match &s.iss {
            Iss::Own => {
                pairs.append_pair("iss", &s.issuer);
            }
            Iss::Other(i) => {
                pairs.append_pair("iss", i);
            }
            Iss::Missing => {}
        }
    }
    Redirect::to(u.as_str()).into_response()
}

/// RP-Initiated Logout: recorded, and straight back with the state.
async fn logout(State((s, _)): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.lock().unwrap().last_logout = q.clone();
    let mut u =
        url::Url::parse(q.get("post_logout_redirect_uri").map(String::as_str).unwrap_or_default()).unwrap();
    u.query_pairs_mut().append_pair("state", q.get("state").map(String::as_str).unwrap_or_default());
    Redirect::to(u.as_str()).into_response()
}

fn refuse(s: &mut OpState, why: &str) -> Response {
    s.refused.push(why.to_string());
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response()
}

async fn token(
    State((s, k)): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut s = s.lock().unwrap();
    // the client: Basic with the form-encoded id and secret, or a client assertion
    let basic =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    match (basic, f.get("client_assertion")) {
        (Some(b), None) => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default();
            let text = String::from_utf8(decoded).unwrap_or_default();
            let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            if text != format!("{}:{}", enc(CLIENT_ID), enc(SECRET)) {
                return refuse(&mut s, "client secret");
            }
        }
        (None, Some(jwt)) => {
            let Some(jwks) = s.client_jwks.clone() else { return refuse(&mut s, "no client jwks") };
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks).unwrap();
            let kid = jsonwebtoken::decode_header(jwt).ok().and_then(|h| h.kid).unwrap_or_default();
            let Some(jwk) = set.find(&kid) else { return refuse(&mut s, "unknown assertion kid") };
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            let alg = jsonwebtoken::decode_header(jwt).unwrap().alg;
            let mut v = jsonwebtoken::Validation::new(alg);
            v.set_audience(&[s.issuer.clone()]);
            v.set_issuer(&[CLIENT_ID]);
            match jsonwebtoken::decode::<Value>(jwt, &key, &v) {
                Ok(d)
                    if d.claims["sub"] == CLIENT_ID
                        && f.get("client_id").map(String::as_str) == Some(CLIENT_ID) =>
                {
                    s.assertions.push(d.claims)
                }
                Ok(_) => return refuse(&mut s, "assertion subject"),
                Err(e) => return refuse(&mut s, &format!("assertion: {e}")),
            }
        }
        _ => return refuse(&mut s, "no client authentication"),
    }
    let code = f.get("code").cloned().unwrap_or_default();
    let Some((nonce, challenge, redirect)) = s.codes.remove(&code) else { return refuse(&mut s, "code") };
    if f.get("redirect_uri") != Some(&redirect) {
        return refuse(&mut s, "redirect_uri");
    }
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if B64.encode(idp_core::crypto::sha256(verifier.as_bytes())) != challenge {
        return refuse(&mut s, "pkce");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut claims = json!({
        "iss": s.issuer, "sub": s.subject, "aud": CLIENT_ID, "nonce": nonce,
        "iat": now, "exp": now + 300,
    });
    if let (Some(c), Some(extra)) = (claims.as_object_mut(), s.claims.as_object()) {
        for (name, value) in extra {
            c.insert(name.clone(), value.clone());
        }
    }
    let mut key = &k.good;
    let mut alg = jsonwebtoken::Algorithm::ES256;
    let secret_key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    match s.tamper {
        Tamper::Nothing => {}
        Tamper::OtherKey => key = &k.other,
        Tamper::Hs256 => {
            key = &secret_key;
            alg = jsonwebtoken::Algorithm::HS256;
        }
        Tamper::AlgNone => {}
        Tamper::WrongAud => claims["aud"] = json!("someone-else"),
        Tamper::ExtraAud => claims["aud"] = json!([CLIENT_ID, "someone-else"]),
        Tamper::WrongIss => claims["iss"] = json!("http://127.0.0.1:9/impostor"),
        Tamper::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
        Tamper::Expired => claims["exp"] = json!(now - 60),
        Tamper::Stale => claims["iat"] = json!(now - 3600),
        Tamper::NoSub => {
            claims.as_object_mut().unwrap().remove("sub");
        }
        Tamper::OtherAzp => claims["azp"] = json!("someone-else"),
    }
    let id_token = if s.tamper == Tamper::AlgNone {
        format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), B64.encode(claims.to_string()))
    } else {
        let mut h = jsonwebtoken::Header::new(alg);
        h.kid = Some("op-1".into());
        jsonwebtoken::encode(&h, &claims, key).unwrap()
    };
    axum::Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}))
        .into_response()
}

fn rand_suffix() -> String {
    idp_core::crypto::random_token(&idp_core::SystemEnv, 6)
}
