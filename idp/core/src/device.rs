//! The device authorization grant (RFC 8628) for service-hall kiosks (docs/domain.md "Service halls
//! and kiosks"): the kiosk asks for a device code and a user code, shows the verification URI
//! as a QR code, and polls the token endpoint while the person approves on a phone already
//! signed in. The approval stores an authorization code under the device code's hash, so the
//! poll that finds it redeems it through the same once-only redemption as the code flow.
//!
//! Kiosks get short-lived tokens (the access token at most 15 minutes), never a refresh token
//! and no `sid`: the kiosk sign-in ends when its flow ends and never becomes a browser session.

use serde::Serialize;

use crate::crypto::{random_token, sha256_hex};
use crate::error::OAuthError;
use crate::model::{AuthCode, Authorization, Client, ClientType, DeviceGrant};
use crate::token::{TokenContext, TokenRequest, TokenResponse};
use crate::{Env, Store, scope};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §6.1: consonants only (no vowels, so no words; no look-alikes such as 0/O, 1/I).
pub const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// How long a kiosk's codes live.
pub const TTL: i64 = 600;
/// The least seconds between two polls, and what `slow_down` adds.
pub const INTERVAL: i64 = 5;
/// The longest a kiosk's access token lives.
pub const KIOSK_MAX_ACCESS_TTL: i64 = 900;

/// A new user code: 8 letters of `ALPHABET` (20^8 ≈ 2.6·10^10; guessing is rate limited).
pub fn new_user_code(env: &dyn Env) -> String {
    let mut bytes = [0u8; 8];
    env.fill_random(&mut bytes);
    // 256 is not a multiple of 20: draw again rather than bias the first letters
    let mut out = String::with_capacity(8);
    let mut pool = bytes.to_vec();
    while out.len() < 8 {
        if pool.is_empty() {
            let mut more = [0u8; 8];
            env.fill_random(&mut more);
            pool.extend_from_slice(&more);
        }
        let b = pool.remove(0);
        if b < 240 {
            out.push(ALPHABET[(b % 20) as usize] as char);
        }
    }
    out
}

/// A user code however typed (lower case, spaces, the dash) as stored, or `None` if it cannot
/// be one.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase();
    (code.len() == 8 && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// `BCDF-GHJK`, as shown to people.
pub fn display(code: &str) -> String {
    match code.len() {
        8 => format!("{}-{}", &code[..4], &code[4..]),
        _ => code.to_string(),
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// The scopes a kiosk asks for: those it may have, `openid` by default.
fn scopes(client: &Client, asked: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let allowed = scope::parse(&client.settings.scope).unwrap_or_default();
    let scopes = match asked {
        Some(s) => scope::understood(scope::parse(s).map_err(OAuthError::invalid_scope)?, &[]),
        None => allowed.clone(),
    };
    if let Some(bad) = scopes.iter().find(|s| !allowed.contains(s) || s.as_str() == "offline_access") {
        return Err(OAuthError::invalid_scope(format!("The scope {bad} is not available.")));
    }
    // sensitive items need their own tick on the full consent page, not a phone's yes
    if let Some(bad) = scopes.iter().find(|s| scope::SENSITIVE.contains(&s.as_str())) {
        return Err(OAuthError::invalid_scope(format!("The sensitive scope {bad} is not for kiosks.")));
    }
    Ok(scopes)
}

/// The device authorization endpoint (RFC 8628 §3.1–3.2) for an authenticated kiosk.
pub async fn authorize(
    ctx: &TokenContext<'_>,
    client: &Client,
    asked_scope: Option<&str>,
) -> Result<DeviceAuthorization, OAuthError> {
    if client.client_type != ClientType::Kiosk {
        return Err(OAuthError::unauthorized_client(
            "Only kiosk clients may use the device authorization grant.",
        ));
    }
    let scope = scopes(client, asked_scope)?;
    let now = ctx.env.now();
    let device_code = random_token(ctx.env, 32);
    // a user code already live in this tenant is drawn again
    for _ in 0..5 {
        let user_code = new_user_code(ctx.env);
        let grant = DeviceGrant {
            device_hash: sha256_hex(device_code.as_bytes()),
            tenant_id: ctx.tenant.id.clone(),
            client_id: client.client_id.clone(),
            user_code: user_code.clone(),
            scope: scope.clone(),
            status: "pending".into(),
            account_id: None,
            interval: INTERVAL,
            last_poll_at: 0,
            expires_at: now + TTL,
            created_at: now,
        };
        if ctx.store.insert_device_grant(&grant).await? {
            let verification_uri = format!("{}/device", ctx.endpoints.issuer);
            return Ok(DeviceAuthorization {
                verification_uri_complete: format!("{verification_uri}?user_code={}", display(&user_code)),
                verification_uri,
                device_code,
                user_code: display(&user_code),
                expires_in: TTL,
                interval: INTERVAL,
            });
        }
    }
    Err(OAuthError::server_error("no free user code"))
}

/// A person's decision on the phone: approve (an authorization code for the kiosk to redeem)
/// or deny. `false` when the grant is no longer pending (decided already, or expired).
pub async fn decide(
    store: &dyn Store,
    env: &dyn Env,
    grant: &DeviceGrant,
    approved: Option<Authorization>,
    account_id: &str,
) -> Result<bool, OAuthError> {
    let now = env.now();
    let status = if approved.is_some() { "approved" } else { "denied" };
    if grant.expires_at <= now
        || !store.decide_device_grant(&grant.device_hash, status, account_id, now).await?
    {
        return Ok(false);
    }
    if let Some(authz) = approved {
        let code = AuthCode {
            code_hash: grant.device_hash.clone(),
            family_id: random_token(env, 16),
            authz,
            redirect_uri: GRANT_TYPE.into(),
            code_challenge: None,
            expires_at: grant.expires_at,
            consumed: false,
        };
        store.insert_code(&code).await?;
    }
    Ok(true)
}

/// The token endpoint's device grant (RFC 8628 §3.4–3.5): `authorization_pending` until the
/// person decides, `slow_down` for a kiosk polling faster than its interval (which then grows
/// by 5 s), `access_denied`, `expired_token`; the tokens once, `invalid_grant` after.
pub async fn token(
    ctx: &TokenContext<'_>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.client_type != ClientType::Kiosk {
        return Err(OAuthError::unauthorized_client("Only kiosk clients may use the device code grant."));
    }
    let code = req.device_code.as_deref().filter(|c| !c.is_empty() && c.len() <= 256);
    let code = code.ok_or_else(|| OAuthError::invalid_request("device_code is missing."))?;
    let hash = sha256_hex(code.as_bytes());
    let now = ctx.env.now();
    let grant = ctx.store.device_grant(&hash).await?;
    let Some(g) = grant.filter(|g| g.client_id == client.client_id && g.tenant_id == ctx.tenant.id) else {
        return Err(OAuthError::invalid_grant("The device code is invalid."));
    };
    if g.expires_at <= now {
        return Err(OAuthError::new("expired_token", "The device code has expired; start again."));
    }
    if g.status == "pending" {
        let too_soon = now - g.last_poll_at < g.interval;
        let interval = if too_soon { g.interval + INTERVAL } else { g.interval };
        ctx.store.poll_device_grant(&hash, now, interval).await?;
        return Err(match too_soon {
            true => OAuthError::new("slow_down", format!("Poll at most every {interval} seconds.")),
            false => OAuthError::new("authorization_pending", "The person has not decided yet."),
        });
    }
    if g.status == "denied" {
        return Err(OAuthError::new("access_denied", "The person denied the sign-in."));
    }
    crate::token::redeem_device_code(ctx, client, &hash).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes() {
        let env = crate::SystemEnv;
        for _ in 0..200 {
            let c = new_user_code(&env);
            assert_eq!(normalise_user_code(&c).as_deref(), Some(c.as_str()));
            assert_eq!(normalise_user_code(&display(&c).to_lowercase()).as_deref(), Some(c.as_str()));
        }
        assert_eq!(normalise_user_code("bcdf ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
        for bad in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", "", "苹果苹果苹果苹果"] {
            assert_eq!(normalise_user_code(bad), None, "{bad}");
        }
    }
}
