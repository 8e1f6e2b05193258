//! The token endpoint (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.6; OIDC Core §3.1.3, §12) and
//! the tokens it mints: ID tokens (OIDC Core §2), JWT access tokens (RFC 9068) or opaque ones,
//! and opaque refresh tokens rotated on every use.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client_auth::AuthenticatedClient;
use crate::crypto::{b64, ct_eq, random_token, sha256, sha256_hex};
use crate::discovery::Endpoints;
use crate::error::OAuthError;
use crate::keys::KeySet;
use crate::model::{
    AuditEvent, AuthCode, Authorization, Client, ClientType, MAX_REFRESH_REUSE_SECONDS, RefreshToken,
    SigningAlg, Tenant,
};
use crate::ports::{Issue, Redeem, Rotate};
use crate::{Env, Store, scope};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// RFC 8628 §3.4.
    pub device_code: Option<String>,
    /// RFC 8707 §2.2: the resource the access token is for.
    pub resource: Option<String>,
}

/// RFC 8707 §2.2: a token request may name only the resource the grant was authorized for.
fn same_resource(req: &TokenRequest, authz: &Authorization) -> Result<(), OAuthError> {
    match &req.resource {
        Some(r) if Some(r) != authz.resource.as_ref() => {
            Err(OAuthError::new("invalid_target", "The resource was not part of this grant."))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// Everything the token endpoint needs about the tenant.
pub struct TokenContext<'a> {
    pub store: &'a dyn Store,
    pub env: &'a dyn Env,
    pub tenant: &'a Tenant,
    pub keys: &'a KeySet,
    pub endpoints: &'a Endpoints,
    /// The caller's address, for the audit trail.
    pub ip: Option<&'a str>,
    /// Opens sealed ID numbers (an ID token asked to carry `id_number` verified).
    pub kek: &'a crate::crypto::Kek,
}

/// Starts the codes whose ID token carries claims asked for with the `claims` parameter
/// (random tokens are base64url: no dot).
pub const CLAIMS_CODE_PREFIX: &str = "ic.";

/// The personal claims the `claims` parameter asked to see in the ID token of `authz`; read
/// only for such grants.
async fn id_token_claims(
    ctx: &TokenContext<'_>,
    authz: &Authorization,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let Some(asked) = authz.claims.as_ref().filter(|c| c.wants_id_token_claims()) else { return Ok(None) };
    let Some(account_id) = &authz.account_id else { return Ok(None) };
    let Some(account) = ctx.store.account(&ctx.tenant.id, account_id).await?.filter(|a| !a.disabled) else {
        return Ok(None);
    };
    let data = crate::tokens_read::ClaimData::load(ctx.store, ctx.kek, &ctx.tenant.id, authz).await?;
    let extra = crate::claims::Extra { now: ctx.env.now(), ..data.extra() };
    Ok(Some(crate::claims::id_token(&account, "", extra, &authz.scope, &authz.act_as, asked)))
}

pub async fn exchange(
    ctx: &TokenContext<'_>,
    client: &AuthenticatedClient,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    match req.grant_type.as_deref() {
        Some("authorization_code") => authorization_code(ctx, &client.client, req).await,
        Some("refresh_token") => refresh(ctx, &client.client, req).await,
        Some("client_credentials") => client_credentials(ctx, &client.client, req).await,
        Some(crate::device::GRANT_TYPE) => crate::device::token(ctx, &client.client, req).await,
        None => Err(OAuthError::invalid_request("grant_type is missing.")),
        Some(_) => Err(OAuthError::new("unsupported_grant_type", "The grant_type is not supported.")),
    }
}

/// Redeems the authorization code a person's approval stored under a device code's hash
/// (`device::decide`): once; a second poll after the tokens is `invalid_grant`.
pub(crate) async fn redeem_device_code(
    ctx: &TokenContext<'_>,
    client: &Client,
    hash: &str,
) -> Result<TokenResponse, OAuthError> {
    let now = ctx.env.now();
    let issue = |c: &AuthCode| -> Result<(Issue, TokenResponse), OAuthError> {
        if c.authz.client_id != client.client_id
            || c.authz.tenant_id != ctx.tenant.id
            || c.redirect_uri != crate::device::GRANT_TYPE
        {
            return Err(OAuthError::invalid_grant("The device code is invalid."));
        }
        if c.expires_at <= now {
            return Err(OAuthError::new("expired_token", "The device code has expired; start again."));
        }
        mint(ctx, client, &c.authz, None, crate::device::GRANT_TYPE, now, None)
    };
    match ctx.store.redeem_code(hash, &ctx.tenant.id, &client.client_id, &issue).await? {
        Redeem::Issued(_, response) => Ok(response),
        Redeem::Refused(e) => Err(e),
        Redeem::NotFound => Err(OAuthError::invalid_grant("The device code is invalid.")),
        Redeem::SessionEnded => Err(OAuthError::invalid_grant("The sign-in session has ended.")),
        Redeem::Replayed => Err(OAuthError::invalid_grant("The device code has already been used.")),
    }
}

fn pkce_ok(challenge: &Option<String>, verifier: &Option<String>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => {
            Err(OAuthError::invalid_grant("code_verifier given but no code_challenge was sent."))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is missing.")),
        (Some(c), Some(v)) => {
            let well_formed = (43..=128).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if well_formed && ct_eq(b64(&sha256(v.as_bytes())).as_bytes(), c.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("code_verifier does not match."))
            }
        }
    }
}

async fn authorization_code(
    ctx: &TokenContext<'_>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if !client.client_type.is_oidc_relying_party() {
        return Err(OAuthError::unauthorized_client("This client may not use authorization codes."));
    }
    let code = req.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 256);
    let code = code.ok_or_else(|| OAuthError::invalid_request("code is missing."))?;
    let now = ctx.env.now();
    let hash = sha256_hex(code.as_bytes());
    // a code whose ID token carries requested claims is read ahead, to read those claims
    let ahead = match code.starts_with(CLAIMS_CODE_PREFIX) {
        true => ctx.store.code(&hash).await?,
        false => None,
    };
    let personal = match &ahead {
        Some(c) if c.authz.client_id == client.client_id && c.authz.tenant_id == ctx.tenant.id => {
            id_token_claims(ctx, &c.authz).await?
        }
        _ => None,
    };
    let issue = |c: &AuthCode| -> Result<(Issue, TokenResponse), OAuthError> {
        if c.authz.client_id != client.client_id || c.authz.tenant_id != ctx.tenant.id {
            return Err(OAuthError::invalid_grant("The code was issued to another client."));
        }
        if c.expires_at <= now {
            return Err(OAuthError::invalid_grant("The code has expired."));
        }
        if c.redirect_uri == crate::device::GRANT_TYPE
            || req.redirect_uri.as_deref() != Some(c.redirect_uri.as_str())
        {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request."));
        }
        pkce_ok(&c.code_challenge, &req.code_verifier)?;
        same_resource(req, &c.authz)?;
        mint(ctx, client, &c.authz, Some(&c.family_id), "authorization_code", now, personal.as_ref())
    };
    let redeemed = match ahead {
        Some(c) => ctx.store.redeem_read_code(c, &ctx.tenant.id, &client.client_id, &issue).await?,
        None => ctx.store.redeem_code(&hash, &ctx.tenant.id, &client.client_id, &issue).await?,
    };
    match redeemed {
        Redeem::Issued(_, response) => Ok(response),
        Redeem::Refused(e) => Err(e),
        Redeem::NotFound => Err(OAuthError::invalid_grant("The code is invalid.")),
        Redeem::SessionEnded => Err(OAuthError::invalid_grant("The sign-in session has ended.")),
        Redeem::Replayed => {
            // a code used up by a withdrawal (or a disabled client) says so
            let family = ctx.store.code(&hash).await?.map(|c| c.family_id);
            let why = match &family {
                Some(f) => ctx.store.family_revocation(f).await?,
                None => None,
            };
            match why.as_deref() {
                Some(w @ ("withdrawn" | "client_disabled")) => {
                    Err(OAuthError::invalid_grant(revoked_because(Some(w))))
                }
                _ => Err(OAuthError::invalid_grant("The code has already been used.")
                    .with_detail("code replay: issued tokens revoked")),
            }
        }
    }
}

/// The client's refresh-token reuse interval: its own or the tenant's, at most 60 s; never
/// for a public client (its tokens are not bound to a secret: a thief could fork the family).
fn reuse_seconds(ctx: &TokenContext<'_>, client: &Client) -> i64 {
    if !client.client_type.is_confidential() {
        return 0;
    }
    client
        .settings
        .refresh_reuse_seconds
        .or(ctx.tenant.settings.policy.refresh_reuse_seconds)
        .unwrap_or(0)
        .clamp(0, MAX_REFRESH_REUSE_SECONDS)
}

/// Answers a reuse within the interval: another successor in the family, audited; `None` when
/// the store finds, under the family's lock, that it is no longer one (`issue_in_family`).
async fn reuse(
    ctx: &TokenContext<'_>,
    client: &Client,
    rt: &RefreshToken,
    issue: crate::ports::IssueFn<'_, RefreshToken, TokenResponse>,
    now: i64,
) -> Result<Option<TokenResponse>, OAuthError> {
    let (mut records, response) = issue(rt)?;
    records.audit.push(AuditEvent {
        tenant_id: Some(ctx.tenant.id.clone()),
        kind: "refresh_token_reused".into(),
        account_id: rt.authz.account_id.clone(),
        client_id: Some(client.client_id.clone()),
        ip: ctx.ip.map(str::to_string),
        detail: json!({"family": rt.family_id}),
        at: now,
    });
    Ok(ctx.store.issue_in_family(rt, &records).await?.then_some(response))
}

/// Whether `rt` (used) is presented again within its client's reuse interval, once: exactly
/// one token of its family was issued since, unused, live and younger than the interval.
async fn within_reuse(
    ctx: &TokenContext<'_>,
    client: &Client,
    rt: &RefreshToken,
    now: i64,
) -> Result<bool, OAuthError> {
    let seconds = reuse_seconds(ctx, client);
    if seconds == 0 {
        return Ok(false);
    }
    let later: Vec<RefreshToken> = ctx
        .store
        .family_refresh_after(&rt.family_id, rt.created_at)
        .await?
        .into_iter()
        .filter(|t| t.token_hash != rt.token_hash)
        .collect();
    Ok(later.len() == 1 && later.iter().all(|t| !t.used && !t.revoked && now - t.created_at <= seconds))
}

/// The `error_description` for a token of a revoked family, by the reason recorded
/// (migration 0024).
pub fn revoked_because(reason: Option<&str>) -> &'static str {
    match reason {
        Some("code_replay") => {
            "This grant was revoked because its authorization code was presented twice; sign the person in again."
        }
        Some("refresh_replay") => {
            "This grant was revoked because one of its refresh tokens was presented twice; sign the person in again."
        }
        Some("withdrawn") => "The person withdrew consent for this application; sign the person in again.",
        Some("client_disabled") => "This application was disabled and its grants revoked.",
        Some("account") => "The account is no longer active.",
        Some("context") => "The acting context of this grant has ended.",
        _ => "The refresh token was revoked.",
    }
}

/// The authorization less the scopes its consent no longer covers: a scope that came to release
/// more after the consent was given (`scope::WIDENED`) is left out of every refresh, which
/// RFC 6749 §6 allows (the new scope may be narrower; the response's `scope` says which).
fn consented(authz: &Authorization) -> Authorization {
    let at = authz.consented_at.unwrap_or(0);
    let scope = authz.scope.iter().filter(|s| scope::consent_current(s, at)).cloned().collect();
    Authorization { scope, ..authz.clone() }
}

async fn refresh(
    ctx: &TokenContext<'_>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let token = req.refresh_token.as_deref().filter(|c| !c.is_empty() && c.len() <= 256);
    let token = token.ok_or_else(|| OAuthError::invalid_request("refresh_token is missing."))?;
    let hash = sha256_hex(token.as_bytes());
    // values not understood are ignored (OIDC Core §3.1.2.1); narrowing keeps what is known
    // (nothing understood left: the scope unchanged)
    let requested = match &req.scope {
        Some(s) => Some(scope::understood(scope::parse(s).map_err(OAuthError::invalid_scope)?, &[]))
            .filter(|v| !v.is_empty()),
        None => None,
    };
    let Some(rt) = ctx.store.refresh_token(&hash).await? else {
        return Err(OAuthError::invalid_grant("The refresh token is invalid."));
    };
    // Before anything can revoke its family: another client (of this tenant or another) that
    // presents a token learns nothing and harms no one.
    if rt.authz.client_id != client.client_id || rt.authz.tenant_id != ctx.tenant.id {
        return Err(OAuthError::invalid_grant("The refresh token is invalid."));
    }
    // Administrators' tokens are never refreshed: each needs a live sign-in (the 15-minute
    // idle rule, a factor reset, an ended session must stop them). And a resource the client
    // may no longer ask for is not prolonged.
    if let Some(r) = &rt.authz.resource {
        if *r == crate::admin::resource(&ctx.endpoints.issuer) {
            return Err(OAuthError::invalid_grant(
                "Tokens for the admin API are not refreshed; sign in again.",
            ));
        }
        if !client.settings.resources.contains(r) {
            return Err(OAuthError::invalid_grant("This client may no longer ask for that resource."));
        }
    }
    // a token whose family was revoked (not this token's own replay): say why
    if rt.revoked && !rt.used {
        let why = ctx.store.family_revocation(&rt.family_id).await?;
        return Err(OAuthError::invalid_grant(revoked_because(why.as_deref())));
    }
    // The account must still be allowed to sign in.
    if let Some(account_id) = &rt.authz.account_id {
        let account = ctx.store.account(&ctx.tenant.id, account_id).await?;
        if account.is_none_or(|a| a.disabled) {
            ctx.store.revoke_family(&rt.family_id, "account").await?;
            return Err(OAuthError::invalid_grant("The account is no longer active."));
        }
    }
    // …and the membership it acts through still live.
    if !crate::tokens_read::context_live(ctx.store, &ctx.tenant.id, &rt.authz, ctx.env.now()).await? {
        ctx.store.revoke_family(&rt.family_id, "context").await?;
        return Err(OAuthError::invalid_grant("The acting context of this grant has ended."));
    }
    let now = ctx.env.now();
    let narrowed = Authorization {
        scope: requested.clone().unwrap_or_else(|| consented(&rt.authz).scope),
        ..rt.authz.clone()
    };
    let personal = id_token_claims(ctx, &narrowed).await?;
    let issue = |rt: &RefreshToken| -> Result<(Issue, TokenResponse), OAuthError> {
        if rt.authz.client_id != client.client_id || rt.authz.tenant_id != ctx.tenant.id {
            return Err(OAuthError::invalid_grant("The refresh token was issued to another client."));
        }
        if rt.expires_at <= now {
            return Err(OAuthError::invalid_grant("The refresh token has expired."));
        }
        same_resource(req, &rt.authz)?;
        let granted = consented(&rt.authz);
        let mut authz = granted.clone();
        if let Some(scopes) = &requested {
            if let Some(bad) = scopes.iter().find(|s| !granted.scope.contains(s)) {
                return Err(OAuthError::invalid_scope(format!("The scope {bad} was not granted.")));
            }
            authz.scope = scopes.clone();
        }
        authz.nonce = None;
        let (mut issue, mut response) =
            mint(ctx, client, &authz, Some(&rt.family_id), "refresh_token", now, personal.as_ref())?;
        // Rotation: the successor keeps the grant's scope (less what its consent no longer
        // covers) and the family's expiry.
        let (record, value) = new_refresh(ctx.env, &granted, &rt.family_id, now, rt.expires_at);
        issue.refresh_token = Some(record);
        response.refresh_token = Some(value);
        Ok((issue, response))
    };
    // A relying party refreshing from several workers at once presents the token just rotated
    // again. Within the reuse interval (the client's, or the tenant's default; at most 60 s,
    // off unless set) that is answered like a rotation — another successor in the same family
    // — and audited; outside it, or for a token two rotations old, reuse revokes the family.
    let grace = reuse_seconds(ctx, client) > 0;
    if rt.used
        && !rt.revoked
        && within_reuse(ctx, client, &rt, now).await?
        && let Some(response) = reuse(ctx, client, &rt, &issue, now).await?
    {
        return Ok(response);
    }
    // with a reuse interval, a rotation that loses a race with another request for the same
    // token (truly simultaneous workers) leaves the family alive and is answered as a reuse
    let spare = |r: &RefreshToken| {
        issue(r).map(|(mut records, response)| {
            records.spare_on_loss = grace;
            (records, response)
        })
    };
    match ctx.store.rotate_refresh_token(&rt, &spare).await? {
        Rotate::Replayed if grace && !rt.used => {
            let now_read = ctx.store.refresh_token(&rt.token_hash).await?;
            if let Some(read) = now_read.filter(|r| r.used && !r.revoked)
                && let Some(response) = reuse(ctx, client, &read, &issue, now).await?
            {
                return Ok(response);
            }
            ctx.store.revoke_family(&rt.family_id, "refresh_replay").await?;
            Err(OAuthError::invalid_grant("The refresh token has already been used."))
        }
        Rotate::Rotated(_, response) => Ok(response),
        Rotate::Refused(e) => Err(e),
        Rotate::Replayed => Err(OAuthError::invalid_grant("The refresh token has already been used.")
            .with_detail("refresh token replay: family revoked")),
    }
}

async fn client_credentials(
    ctx: &TokenContext<'_>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.client_type != ClientType::Service {
        return Err(OAuthError::unauthorized_client("This client may not use client_credentials."));
    }
    let allowed = scope::parse(&client.settings.scope).unwrap_or_default();
    // values the tenant does not define are ignored; a defined one the client may not have is
    // refused below
    let defined = &ctx.tenant.settings.policy.api_scopes;
    let scopes: Vec<String> = match &req.scope {
        Some(s) => scope::parse(s)
            .map_err(OAuthError::invalid_scope)?
            .into_iter()
            .filter(|v| scope::defined(v, defined) || allowed.contains(v))
            .collect(),
        None => {
            allowed.iter().filter(|s| !matches!(s.as_str(), "openid" | "offline_access")).cloned().collect()
        }
    };
    if let Some(bad) =
        scopes.iter().find(|s| !allowed.contains(s) || matches!(s.as_str(), "openid" | "offline_access"))
    {
        return Err(OAuthError::invalid_scope(format!("The scope {bad} is not available.")));
    }
    if scopes.is_empty() && req.scope.is_some() {
        return Err(OAuthError::invalid_scope("None of the scopes asked for is available."));
    }
    // a service may ask for the resources it is registered for (never the admin API, which
    // only people's tokens from an administrators' client reach)
    let resource = match req.resource.as_deref() {
        None => None,
        Some(r) if client.settings.resources.iter().any(|x| x == r) => Some(r.to_string()),
        Some(_) => {
            return Err(OAuthError::new("invalid_target", "This client may not ask for that resource."));
        }
    };
    let authz = Authorization {
        tenant_id: ctx.tenant.id.clone(),
        client_id: client.client_id.clone(),
        account_id: None,
        scope: scopes,
        claims: None,
        sid: None,
        auth_time: None,
        acr: None,
        amr: vec![],
        nonce: None,
        act_as: "self".into(),
        context: None,
        resource,
        consented_at: None,
    };
    // Nothing is written: the token is self-contained, and it releases no one's personal data
    // (docs/domain.md audits claim releases, not service-to-service tokens).
    let (_, response) = mint(ctx, client, &authz, None, "client_credentials", ctx.env.now(), None)?;
    Ok(response)
}

fn new_refresh(
    env: &dyn Env,
    authz: &Authorization,
    family: &str,
    now: i64,
    expires_at: i64,
) -> (RefreshToken, String) {
    let value = random_token(env, 32);
    let record = RefreshToken {
        token_hash: sha256_hex(value.as_bytes()),
        family_id: family.to_string(),
        authz: authz.clone(),
        created_at: now,
        expires_at,
        used: false,
        revoked: false,
    };
    (record, value)
}

/// The `at_hash` of OIDC Core §3.1.3.6: the left half of the hash of the token's ASCII bytes,
/// with the hash of the ID token's algorithm (`crate::suite::token_digest`: SHA-512 for Ed25519,
/// SM3 for SM2).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest = crate::suite::token_digest(alg, access_token.as_bytes());
    b64(&digest[..digest.len() / 2])
}

/// Mints the access token (and ID token, refresh token where due) for an authorization.
fn mint(
    ctx: &TokenContext<'_>,
    client: &Client,
    authz: &Authorization,
    family: Option<&str>,
    grant_type: &str,
    now: i64,
    personal: Option<&Map<String, Value>>,
) -> Result<(Issue, TokenResponse), OAuthError> {
    let with_first_refresh = grant_type == "authorization_code";
    let s = &client.settings;
    let issuer = &ctx.endpoints.issuer;
    let subject = match &authz.account_id {
        Some(id) => crate::keys::subject(ctx.keys, s.sector.as_deref(), id),
        None => client.client_id.clone(),
    };
    let (access_token, access) =
        crate::access_token::issue(ctx.keys, ctx.env, issuer, client, authz, family, now)?;
    let id_token = if authz.account_id.is_some() && authz.scope.iter().any(|s| s == "openid") {
        let mut claims = json!({
            "iss": issuer, "sub": subject, "aud": client.client_id, "azp": client.client_id,
            "iat": now, "exp": now + s.id_token_ttl,
            "at_hash": at_hash(ctx.keys.alg_for(s.id_token_alg), &access_token), "act_as": authz.act_as,
        });
        let obj: &mut serde_json::Map<String, Value> =
            claims.as_object_mut().ok_or_else(|| OAuthError::server_error("claims"))?;
        if let Some(t) = authz.auth_time {
            obj.insert("auth_time".into(), json!(t));
        }
        if let Some(n) = &authz.nonce {
            obj.insert("nonce".into(), json!(n));
        }
        if let Some(acr) = &authz.acr {
            obj.insert("acr".into(), json!(acr));
        }
        if !authz.amr.is_empty() {
            obj.insert("amr".into(), json!(authz.amr));
        }
        if let Some(sid) = &authz.sid {
            obj.insert("sid".into(), json!(sid));
        }
        for (k, v) in personal.into_iter().flatten() {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Some(
            ctx.keys
                .sign(s.id_token_alg, "JWT", &claims)
                .map_err(|e| OAuthError::server_error(e.to_string()))?,
        )
    } else {
        None
    };
    // a kiosk never gets a refresh token (docs/domain.md), whatever its settings say
    let wants_refresh = authz.account_id.is_some()
        && client.client_type != ClientType::Kiosk
        && (authz.scope.iter().any(|s| s == "offline_access") || s.always_issue_refresh_token);
    let (refresh_record, refresh_value) = if with_first_refresh && wants_refresh {
        let family = family.map(str::to_string).unwrap_or_else(|| random_token(ctx.env, 16));
        let (r, v) = new_refresh(ctx.env, authz, &family, now, now + s.refresh_token_ttl);
        (Some(r), Some(v))
    } else {
        (None, None)
    };
    let response = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: s.access_token_ttl,
        refresh_token: refresh_value,
        id_token,
        scope: scope::join(&authz.scope),
    };
    let family = family.map(|f| {
        let latest =
            refresh_record.as_ref().map_or(access.expires_at, |r| r.expires_at.max(access.expires_at));
        (f.to_string(), latest)
    });
    // A person's tokens release their data: audited with the tokens, in the same transaction.
    let audit = authz.account_id.iter().map(|_| AuditEvent {
        tenant_id: Some(ctx.tenant.id.clone()),
        kind: "token_issued".into(),
        account_id: authz.account_id.clone(),
        client_id: Some(client.client_id.clone()),
        ip: ctx.ip.map(str::to_string),
        detail: json!({"grant_type": grant_type, "scope": response.scope, "jti": access.jti}),
        at: now,
    });
    let mut audit: Vec<AuditEvent> = audit.collect();
    let released = personal.filter(|_| response.id_token.is_some());
    audit.extend(released.and_then(|p| crate::tokens_read::release_record(p, authz, "id_token", now)));
    Ok((Issue { family, refresh_token: refresh_record, audit, ..Issue::default() }, response))
}
