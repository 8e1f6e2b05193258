//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207): an ordered
//! table of small checks that turns raw parameters into a validated [`AuthRequest`], then a
//! decision given the browser's session and the person's grant.
//!
//! "If the redirect_uri is not an exact match, the authorization server MUST NOT redirect":
//! until client_id and redirect_uri are both verified every error goes to the person, never
//! to the client.

use crate::crypto::{random_token, sha256_hex};
use crate::error::OAuthError;
use crate::model::{AuthCode, AuthRequest, Authorization, Client, Grant, ResponseMode, Session};
use crate::signin::{FrontRequest, SignedIn, Step};
use crate::{Env, scope};

/// Where and how a response goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl AuthResponse {
    fn error(req: &Target, err: &OAuthError, issuer: &str) -> Self {
        let mut params = vec![
            ("error".to_string(), err.code.to_string()),
            ("error_description".to_string(), err.description.clone()),
        ];
        if let Some(s) = &req.state {
            params.push(("state".into(), s.clone()));
        }
        params.push(("iss".into(), issuer.to_string()));
        Self { redirect_uri: req.redirect_uri.clone(), mode: req.mode, params }
    }
}

/// The verified return address of a request: enough to send an error back.
#[derive(Debug, Clone)]
struct Target {
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // returned once per request and consumed at once
pub enum Validated {
    /// The request is well formed; decide with the session next.
    Ok(AuthRequest),
    /// Show an error page; never redirect.
    ErrorToUser(OAuthError),
    /// Send the error back to the verified redirect_uri.
    ErrorToClient(AuthResponse, OAuthError),
}

const KNOWN: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "display",
    "id_token_hint",
    "request",
    "request_uri",
    "registration",
    "claims",
    "resource",
    "idp_hint",
    "kc_idp_hint",
];

const MAX_PARAM: usize = 2048;

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Runs the checks in order. `params` are the request's parameters as received (query or form).
pub fn validate(params: &[(String, String)], client: Option<&Client>, issuer: &str) -> Validated {
    let get = |name: &str| -> Option<&str> {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    };
    let user_err = |d: &str| Validated::ErrorToUser(OAuthError::invalid_request(d.to_string()));

    // 1. parameters are well formed: none repeated, none oversized, no control characters.
    for name in KNOWN {
        if params.iter().filter(|(k, _)| k == name).count() > 1 {
            return user_err(&format!("The parameter {name} is repeated."));
        }
    }
    if params.iter().any(|(_, v)| v.len() > MAX_PARAM) || params.len() > 64 {
        return user_err("The request is too large.");
    }
    if params.iter().any(|(_, v)| v.chars().any(|c| c.is_control())) {
        return user_err("The request contains control characters.");
    }
    // 2. client
    let Some(client_id) = get("client_id") else {
        return user_err("The client_id parameter is missing.");
    };
    let Some(client) = client.filter(|c| c.client_id == client_id) else {
        return Validated::ErrorToUser(OAuthError::invalid_client("The client is unknown.").with_status(400));
    };
    if client.disabled {
        return Validated::ErrorToUser(
            OAuthError::invalid_client("The client is disabled.").with_status(400),
        );
    }
    if !client.client_type.is_oidc_relying_party() {
        return Validated::ErrorToUser(OAuthError::unauthorized_client(
            "This client may not use the authorization endpoint.",
        ));
    }
    // 3. redirect_uri: exact string match against the registered list.
    let Some(redirect_uri) = get("redirect_uri") else {
        return user_err("The redirect_uri parameter is missing.");
    };
    if !client.settings.redirect_uris.iter().any(|r| r == redirect_uri) {
        return user_err("The redirect_uri is not registered for this client.");
    }
    // From here on errors are redirected to the verified redirect_uri.
    let mode = match get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(()),
    };
    let target = Target {
        redirect_uri: redirect_uri.to_string(),
        mode: mode.unwrap_or(ResponseMode::Query),
        state: get("state").map(str::to_string),
    };
    let to_client = |e: OAuthError| Validated::ErrorToClient(AuthResponse::error(&target, &e, issuer), e);
    if mode.is_err() {
        return to_client(OAuthError::invalid_request("Unsupported response_mode."));
    }
    // 4. response_type
    match get("response_type") {
        Some("code") => {}
        None => return to_client(OAuthError::invalid_request("response_type is missing.")),
        Some(_) => {
            return to_client(OAuthError::new(
                "unsupported_response_type",
                "Only response_type=code is supported.",
            ));
        }
    }
    // 5. request objects are not supported (OIDC Core §6).
    if get("request").is_some() {
        return to_client(OAuthError::new("request_not_supported", "Request objects are not supported."));
    }
    if get("request_uri").is_some() {
        return to_client(OAuthError::new("request_uri_not_supported", "request_uri is not supported."));
    }
    // 6. scope
    let scopes = match scope::parse(get("scope").unwrap_or_default()) {
        Ok(s) => s,
        Err(e) => return to_client(OAuthError::invalid_scope(e)),
    };
    // values this provider does not understand are ignored (OIDC Core §3.1.2.1); one it
    // understands that the client may not have is refused
    let scopes = scope::understood(scopes, &[]);
    if !scopes.iter().any(|s| s == "openid") {
        return to_client(OAuthError::invalid_scope("The openid scope is required."));
    }
    let allowed = scope::parse(&client.settings.scope).unwrap_or_default();
    if let Some(bad) = scopes.iter().find(|s| !allowed.contains(s)) {
        return to_client(OAuthError::invalid_scope(format!("The scope {bad} is not available.")));
    }
    // 6b. resource (RFC 8707 §2): one the client may ask for; the admin API only for an
    // administrators' client, and the `admin` scope only ever for the admin API.
    let admin_api = crate::admin::resource(issuer);
    let resource = match get("resource") {
        None => None,
        Some(r) if r == admin_api && client.settings.admin_client => Some(r.to_string()),
        Some(r) if r != admin_api && client.settings.resources.iter().any(|x| x == r) => Some(r.to_string()),
        Some(_) => {
            return to_client(OAuthError::new(
                "invalid_target",
                "This client may not ask for that resource.",
            ));
        }
    };
    let resource = if scopes.iter().any(|s| s == crate::admin::SCOPE) {
        if !client.settings.admin_client {
            return to_client(OAuthError::invalid_scope("The scope admin is not available."));
        }
        if resource.as_ref().is_some_and(|r| *r != admin_api) {
            return to_client(OAuthError::new(
                "invalid_target",
                "The admin scope is for the admin API only.",
            ));
        }
        Some(admin_api)
    } else {
        resource
    };
    // 7. PKCE (RFC 7636): S256 only; required for public clients.
    let challenge = get("code_challenge");
    match (get("code_challenge_method"), challenge) {
        (Some("S256"), Some(c)) | (None, Some(c)) if !is_pkce_value(c) => {
            return to_client(OAuthError::invalid_request("code_challenge is malformed."));
        }
        (Some("S256"), Some(_)) => {}
        (Some("S256"), None) => {
            return to_client(OAuthError::invalid_request("code_challenge is missing."));
        }
        (Some(_), _) => {
            return to_client(OAuthError::invalid_request(
                "Only the S256 code_challenge_method is supported.",
            ));
        }
        (None, Some(_)) => {
            // RFC 7636 defaults to `plain` when the method is absent; we do not accept plain.
            return to_client(OAuthError::invalid_request("code_challenge_method=S256 is required."));
        }
        (None, None) if !client.client_type.is_confidential() => {
            return to_client(OAuthError::invalid_request("PKCE is required for this client."));
        }
        (None, None) => {}
    }
    // 8. prompt
    let prompt: Vec<String> =
        get("prompt").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect();
    if prompt.iter().any(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")) {
        return to_client(OAuthError::invalid_request("Unsupported prompt value."));
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return to_client(OAuthError::invalid_request("prompt=none cannot be combined."));
    }
    // 9. max_age
    let max_age = match get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return to_client(OAuthError::invalid_request("max_age must be a non-negative integer."));
            }
        },
    };
    // 10. claims (OIDC Core §5.5, OIDC4IA; see `claims_request`)
    let claims = match get("claims").map(crate::claims_request::parse) {
        None => crate::claims_request::Parsed::default(),
        Some(Ok(p)) => p,
        Some(Err(e)) => return to_client(OAuthError::invalid_request(e)),
    };
    let short = |name: &str, max: usize| get(name).filter(|v| v.len() <= max).map(str::to_string);
    if get("nonce").is_some_and(|n| n.len() > 512) || get("state").is_some_and(|s| s.len() > 1024) {
        return to_client(OAuthError::invalid_request("nonce or state is too long."));
    }
    Validated::Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_mode: target.mode,
        scope: scopes,
        state: target.state.clone(),
        nonce: get("nonce").map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        prompt,
        max_age,
        login_hint: short("login_hint", 256),
        ui_locales: short("ui_locales", 128),
        claims_locales: short("claims_locales", 128),
        acr_values: short("acr_values", 256),
        claims_acr: claims.acr,
        claims: claims.request,
        resource,
        idp_hint: short("idp_hint", 40).or_else(|| short("kc_idp_hint", 40)),
    })
}

/// What to do with a validated request now: the engine's [`Step`] with the OpenID Connect
/// answer made.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // returned once per request and consumed at once
pub enum Decision {
    Login,
    Consent,
    /// Signed in, but below the level the request needs: add a factor to the session.
    StepUp,
    /// Issue a code: the caller stores `code` and redirects with `response`.
    Issue(AuthCode, AuthResponse),
    ErrorToClient(AuthResponse, OAuthError),
}

pub fn error_response(req: &AuthRequest, err: &OAuthError, issuer: &str) -> AuthResponse {
    let target =
        Target { redirect_uri: req.redirect_uri.clone(), mode: req.response_mode, state: req.state.clone() };
    AuthResponse::error(&target, err, issuer)
}

/// The sign-in engine's decision ([`crate::signin::decide`]) for an OpenID Connect request,
/// as the protocol answers it.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    env: &dyn Env,
    req: &AuthRequest,
    session: Option<&Session>,
    fresh_login: bool,
    required: Option<&str>,
    grant: Option<&Grant>,
    issuer: &str,
    tenant_id: &str,
) -> Decision {
    let ask = FrontRequest::Oidc(req.clone()).sign_in();
    match crate::signin::decide(env, &ask, session, fresh_login, required, grant) {
        Step::Login => Decision::Login,
        Step::Consent => Decision::Consent,
        Step::StepUp => Decision::StepUp,
        Step::Done(done) => {
            let (code, response) = issue(env, req, &done, issuer, tenant_id);
            Decision::Issue(code, response)
        }
        Step::Refuse(e) => Decision::ErrorToClient(error_response(req, &e, issuer), e),
    }
}

/// The code for a finished sign-in and the response that carries it (RFC 6749 §4.1.2,
/// RFC 9207 `iss`).
pub fn issue(
    env: &dyn Env,
    req: &AuthRequest,
    done: &SignedIn,
    issuer: &str,
    tenant_id: &str,
) -> (AuthCode, AuthResponse) {
    // a code whose ID token carries requested claims says so, for the token endpoint to read
    // them ahead (`token::CLAIMS_CODE_PREFIX`); other codes cost no extra read
    let code = match &req.claims {
        Some(c) if c.wants_id_token_claims() => {
            format!("{}{}", crate::token::CLAIMS_CODE_PREFIX, random_token(env, 32))
        }
        _ => random_token(env, 32),
    };
    let record = AuthCode {
        code_hash: sha256_hex(code.as_bytes()),
        family_id: random_token(env, 16),
        authz: Authorization {
            tenant_id: tenant_id.to_string(),
            client_id: req.client_id.clone(),
            account_id: Some(done.account_id.clone()),
            scope: done.release.clone(),
            sid: Some(done.sid.clone()),
            auth_time: Some(done.auth_time),
            acr: Some(done.acr.clone()),
            amr: done.amr.clone(),
            nonce: req.nonce.clone(),
            act_as: done.act_as.clone(),
            context: done.context.clone(),
            claims: req.claims.clone(),
            resource: req.resource.clone(),
            consented_at: Some(done.consented_at),
        },
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        expires_at: env.now() + CODE_TTL,
        consumed: false,
    };
    let mut params = vec![("code".to_string(), code)];
    if let Some(s) = &req.state {
        params.push(("state".into(), s.clone()));
    }
    params.push(("iss".into(), issuer.to_string()));
    (record, AuthResponse { redirect_uri: req.redirect_uri.clone(), mode: req.response_mode, params })
}

/// Authorization codes live 60 seconds.
pub const CODE_TTL: i64 = 60;

#[cfg(test)]
mod tests;
