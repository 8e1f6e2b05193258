//! Issuing and validating service tickets (CAS 3.0 §2.4–§2.6, §3.1).
//!
//! A ticket is `ST-` followed by whether it came from a new sign-in (`1-` or `0-`, for
//! `renew=true` validations) and 43 random characters; the whole string's SHA-256 is the key of
//! an authorization code of the service's client whose redirect URI is the service URL. The
//! marker cannot be changed without changing the key, so it is as trustworthy as the ticket.
//! Validation reads the code ahead (to know the service and the person), prepares the release,
//! and then consumes the code in the store's one atomic redemption, which writes the release
//! record with it: a ticket is valid once, for its own service, within its life.

use serde_json::json;

use super::{CasLogin, SERVICE_TICKET_PREFIX, Success, code};
use crate::crypto::{random_token, sha256_hex};
use crate::error::OAuthError;
use crate::model::{AuditEvent, AuthCode, Authorization, CasTicketUse, Client, ClientType};
use crate::ports::{Issue, Redeem};
use crate::signin::SignedIn;
use crate::token::TokenResponse;
use crate::tokens_read::{ReadContext, release_record};
use crate::{Env, cas};

/// A new service ticket for a finished sign-in, and the code record to store for it.
pub fn issue(
    env: &dyn Env,
    login: &CasLogin,
    client: &Client,
    done: &SignedIn,
    tenant_id: &str,
) -> (String, AuthCode) {
    let marker = if done.new_login { "1-" } else { "0-" };
    let ticket = format!("{SERVICE_TICKET_PREFIX}{marker}{}", random_token(env, 32));
    let record = AuthCode {
        code_hash: sha256_hex(ticket.as_bytes()),
        family_id: random_token(env, 16),
        authz: Authorization {
            tenant_id: tenant_id.to_string(),
            client_id: login.client_id.clone(),
            account_id: Some(done.account_id.clone()),
            scope: done.release.clone(),
            sid: Some(done.sid.clone()),
            auth_time: Some(done.auth_time),
            acr: Some(done.acr.clone()),
            amr: done.amr.clone(),
            nonce: None,
            act_as: done.act_as.clone(),
            context: done.context.clone(),
            claims: None,
            resource: None,
            consented_at: Some(done.consented_at),
        },
        redirect_uri: login.service.clone(),
        code_challenge: None,
        expires_at: env.now() + client.settings.cas.ticket_ttl(),
        consumed: false,
    };
    (ticket, record)
}

/// Whether the ticket came from the presentation of the person's credentials (§2.5.1 `renew`).
fn from_new_login(ticket: &str) -> bool {
    ticket.strip_prefix(SERVICE_TICKET_PREFIX).is_some_and(|t| t.starts_with("1-"))
}

/// What a validation asks.
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    pub service: &'a str,
    pub ticket: &'a str,
    pub renew: bool,
}

/// A validation's outcome: the person, or the failure code and description to answer.
#[derive(Debug)]
pub enum Outcome {
    Valid(Success),
    Invalid(&'static str, String),
}

fn invalid(code: &'static str, why: impl Into<String>) -> Outcome {
    Outcome::Invalid(code, why.into())
}

/// Validates a service ticket for `service` (`/validate`, `/serviceValidate`,
/// `/proxyValidate` and their `/p3/` forms). `Err` is the store failing (`INTERNAL_ERROR`).
pub async fn validate(ctx: &ReadContext<'_>, v: Validation<'_>) -> Result<Outcome, OAuthError> {
    if v.service.is_empty() || v.ticket.is_empty() {
        return Ok(invalid(code::INVALID_REQUEST, "service and ticket are both required"));
    }
    if v.ticket.len() > cas::MAX_TICKET_LEN || !v.ticket.starts_with(SERVICE_TICKET_PREFIX) {
        return Ok(invalid(code::INVALID_TICKET_SPEC, "the ticket is not a service ticket"));
    }
    let not_recognised = || invalid(code::INVALID_TICKET, format!("ticket {} not recognised", v.ticket));
    let hash = sha256_hex(v.ticket.as_bytes());
    let Some(ahead) = ctx.store.code(&hash).await? else { return Ok(not_recognised()) };
    if ahead.authz.tenant_id != ctx.tenant.id {
        return Ok(not_recognised());
    }
    let client = ctx.store.client(&ctx.tenant.id, &ahead.authz.client_id).await?;
    let Some(client) = client.filter(|c| c.client_type == ClientType::Cas) else {
        return Ok(not_recognised());
    };
    // the release is prepared from the code as read ahead and recorded only if this caller
    // consumes the code (the same code: its key is the ticket)
    let released = if ahead.consumed { None } else { ctx.released(&ahead.authz).await? };
    let now = ctx.env.now();
    let prepared = released.as_ref();
    let check = |c: &AuthCode| -> Result<(Issue, TokenResponse), OAuthError> {
        let refuse = |code: &'static str, why: &str| Err(OAuthError::new(code, why.to_string()));
        if client.disabled {
            return refuse(code::INVALID_TICKET, "the service is disabled");
        }
        if c.expires_at <= now {
            return refuse(code::INVALID_TICKET, "the ticket has expired");
        }
        // the ticket's own service, still one the registration allows (§2.5.1: a ticket
        // presented for another service is invalidated)
        if c.redirect_uri != v.service
            || !client.settings.cas.services.iter().any(|p| cas::matches(p, v.service))
        {
            return refuse(code::INVALID_SERVICE, "the ticket was not issued for this service");
        }
        if v.renew && !from_new_login(v.ticket) {
            return refuse(code::INVALID_TICKET, "the ticket did not come from a new sign-in (renew)");
        }
        let Some((_, claims)) = prepared else {
            return refuse(code::INVALID_TICKET, "the person can no longer sign in to this service");
        };
        let mut audit = vec![AuditEvent {
            tenant_id: Some(c.authz.tenant_id.clone()),
            kind: "cas_ticket_validated".into(),
            account_id: c.authz.account_id.clone(),
            client_id: Some(c.authz.client_id.clone()),
            ip: None,
            detail: json!({"service": v.service, "scope": c.authz.scope}),
            at: now,
        }];
        audit.extend(release_record(claims, &c.authz, "cas", now));
        Ok((Issue { audit, ..Issue::default() }, TokenResponse::default()))
    };
    let code = match ctx.store.redeem_code(&hash, &ctx.tenant.id, &client.client_id, &check).await? {
        Redeem::Issued(code, _) => code,
        Redeem::Refused(e) => {
            let code = [code::INVALID_SERVICE, code::INVALID_TICKET]
                .into_iter()
                .find(|c| *c == e.code)
                .unwrap_or(code::INVALID_TICKET);
            return Ok(invalid(code, e.description));
        }
        Redeem::Replayed => {
            return Ok(invalid(code::INVALID_TICKET, format!("ticket {} already used", v.ticket)));
        }
        Redeem::NotFound => return Ok(not_recognised()),
    };
    let Some((user, claims)) = released else { return Ok(not_recognised()) };
    if let Some(sid) = &code.authz.sid {
        let used = CasTicketUse {
            sid: sid.clone(),
            ticket: v.ticket.to_string(),
            tenant_id: ctx.tenant.id.clone(),
            client_id: client.client_id.clone(),
            service: v.service.to_string(),
            created_at: now,
        };
        ctx.store.record_cas_ticket(&used).await?;
    }
    let attributes = cas::attributes(&claims, &code.authz, from_new_login(v.ticket));
    Ok(Outcome::Valid(Success { user, attributes }))
}
