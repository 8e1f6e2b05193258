//! Issuing and validating service and proxy tickets (CAS 3.0 §2.4–§2.7, §3.1–§3.4).
//!
//! Tickets hold only `A-Z a-z 0-9 -` (§3.7; mod_auth_cas ignores any other): 32 random bytes
//! in hex ([`random_part`]). A service ticket is `ST-` followed by whether it came from a new
//! sign-in (`1-` or `0-`, for `renew=true` validations) and the random part; the whole string's SHA-256 is the key of
//! an authorization code of the service's client whose redirect URI is the service URL. The
//! marker cannot be changed without changing the key, so it is as trustworthy as the ticket.
//! A proxy ticket is `PT-` followed by the public id of the proxy-granting ticket that granted
//! it (hex), a dash and the random part: an authorization code of the target service's client, whose
//! validation answers the proxy chain read from that proxy-granting ticket.
//! Validation reads the code ahead (to know the service and the person), prepares the release,
//! and then consumes that code in the store's one atomic redemption, which writes the release
//! record and the session's record of the ticket (for single logout) with it only if the
//! session is still live as it commits: a ticket is valid once, for its own service, within its
//! life and its session's.

use serde_json::json;

use super::{
    CasLogin, PGT_IOU_PREFIX, PGT_PREFIX, PROXY_TICKET_PREFIX, SERVICE_TICKET_PREFIX, Success, code,
};
use crate::crypto::{random_token, sha256_hex};
use crate::error::OAuthError;
use crate::model::{AuditEvent, AuthCode, Authorization, CasPgt, CasTicketUse, Client, ClientType};
use crate::ports::{Issue, LiveSession, Redeem};
use crate::signin::SignedIn;
use crate::token::TokenResponse;
use crate::tokens_read::{ReadContext, release_record};
use crate::{Env, cas};

/// 32 random bytes in lower-case hex: the random part of every ticket.
pub fn random_part(env: &dyn Env) -> String {
    let mut buf = [0u8; 32];
    env.fill_random(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new service ticket for a finished sign-in, and the code record to store for it.
pub fn issue(
    env: &dyn Env,
    login: &CasLogin,
    client: &Client,
    done: &SignedIn,
    tenant_id: &str,
) -> (String, AuthCode) {
    let marker = if done.new_login { "1-" } else { "0-" };
    let ticket = format!("{SERVICE_TICKET_PREFIX}{marker}{}", random_part(env));
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
    /// The endpoint also validates proxy tickets (`/proxyValidate`).
    pub proxy: bool,
}

/// A validation's outcome: the person (with the service and the sign-in, for a
/// proxy-granting ticket), or the failure code and description to answer.
#[derive(Debug)]
pub enum Outcome {
    Valid(Success, Box<(Client, Authorization)>),
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
    let proxied = v.ticket.starts_with(PROXY_TICKET_PREFIX);
    if v.ticket.len() > cas::MAX_TICKET_LEN || !(v.ticket.starts_with(SERVICE_TICKET_PREFIX) || proxied) {
        return Ok(invalid(code::INVALID_TICKET_SPEC, "the ticket is not a service or proxy ticket"));
    }
    // §2.5: /serviceValidate MUST NOT validate proxy tickets
    if proxied && !v.proxy {
        return Ok(invalid(code::INVALID_TICKET_SPEC, "a proxy ticket is validated at /proxyValidate"));
    }
    // (descriptions never echo the ticket: they reach logs)
    let not_recognised = || invalid(code::INVALID_TICKET, "the ticket is not recognised");
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
    // consumes the code (the same code: its key is the ticket), and only while the session
    // it was issued in lives: the store checks that as it commits (`Issue::live_session`)
    let Some(sid) = ahead.authz.sid.clone() else { return Ok(not_recognised()) };
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
        // a proxy ticket never comes from the presentation of credentials (§2.6.1)
        if v.renew && (proxied || !from_new_login(v.ticket)) {
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
        // the service is told when the session ends (a proxy ticket's target is not: the
        // proxying service holds the person's session there)
        let cas_ticket = (!proxied).then(|| CasTicketUse {
            sid: sid.clone(),
            ticket: v.ticket.to_string(),
            tenant_id: c.authz.tenant_id.clone(),
            client_id: c.authz.client_id.clone(),
            service: v.service.to_string(),
            created_at: now,
        });
        let live_session = LiveSession { tenant_id: c.authz.tenant_id.clone(), sid: sid.clone(), at: now };
        let issue = Issue { audit, cas_ticket, live_session: Some(live_session), ..Issue::default() };
        Ok((issue, TokenResponse::default()))
    };
    let code = ctx.store.redeem_read_code(ahead, &ctx.tenant.id, &client.client_id, &check).await?;
    let code = match code {
        Redeem::Issued(code, _) => code,
        Redeem::SessionEnded => {
            return Ok(invalid(code::INVALID_TICKET, "the sign-in session the ticket came from has ended"));
        }
        Redeem::Refused(e) => {
            let code = [code::INVALID_SERVICE, code::INVALID_TICKET]
                .into_iter()
                .find(|c| *c == e.code)
                .unwrap_or(code::INVALID_TICKET);
            return Ok(invalid(code, e.description));
        }
        Redeem::Replayed => {
            return Ok(invalid(code::INVALID_TICKET, "the ticket has already been used"));
        }
        Redeem::NotFound => return Ok(not_recognised()),
    };
    let Some((user, claims)) = released else { return Ok(not_recognised()) };
    // a proxy ticket answers the chain of proxies behind it
    let mut proxies = vec![];
    if proxied {
        let id = v.ticket[PROXY_TICKET_PREFIX.len()..].split('-').next().unwrap_or_default();
        let Some(pgt) = ctx.store.cas_pgt(None, Some(id)).await? else { return Ok(not_recognised()) };
        proxies.push(pgt.pgt_url);
        proxies.extend(pgt.proxies);
    }
    let attributes = cas::attributes(&claims, &code.authz, !proxied && from_new_login(v.ticket));
    let success = Success { user, attributes, pgt_iou: None, proxies };
    Ok(Outcome::Valid(success, Box::new((client, code.authz))))
}

/// Whether the browser session behind `authz` is still live.
async fn session_live(ctx: &ReadContext<'_>, authz: &Authorization) -> Result<bool, OAuthError> {
    let Some(sid) = authz.sid.as_deref() else { return Ok(false) };
    Ok(ctx.store.session_live(&ctx.tenant.id, sid, ctx.env.now()).await?)
}

/// Whether the person still allows `client` what `authz` was granted for (a statutory service
/// needs no consent): a withdrawal ends what a proxy-granting ticket can do.
async fn allowed(
    ctx: &ReadContext<'_>,
    client: &Client,
    account: &str,
) -> Result<Option<crate::model::Grant>, OAuthError> {
    Ok(ctx.store.grant(&ctx.tenant.id, account, &client.client_id).await?)
}

/// A proxy-granting ticket for a validated ticket's service (§2.5.4): the ticket, its IOU and
/// the record to store once the callback at `pgt_url` has received both. `proxies` is the chain
/// the validated ticket came through (empty for a service ticket).
pub fn new_pgt(
    env: &dyn Env,
    authz: &Authorization,
    pgt_url: &str,
    proxies: Vec<String>,
) -> (String, String, CasPgt) {
    let pgt = format!("{PGT_PREFIX}{}", random_part(env));
    let iou = format!("{PGT_IOU_PREFIX}{}", random_part(env));
    // hex, so a proxy ticket's id ends at its first dash
    let id = random_part(env)[..32].to_string();
    let record = CasPgt {
        id,
        pgt_hash: sha256_hex(pgt.as_bytes()),
        authz: authz.clone(),
        pgt_url: pgt_url.to_string(),
        proxies,
        created_at: env.now(),
        expires_at: env.now() + cas::PGT_TTL,
    };
    (pgt, iou, record)
}

/// A `/proxy` request's outcome: a proxy ticket for the target service, or the failure.
#[derive(Debug)]
pub enum ProxyOutcome {
    Ticket(String),
    Refused(&'static str, String),
}

/// Grants a proxy ticket for `target` (§2.7): the proxy-granting ticket must be live, its
/// session too, its service still allowed to proxy through that callback, and the target a
/// registered service of the tenant (`clients`). The target receives the person's identifier
/// as it sees it and only the attributes the person consented to for the target itself.
pub async fn proxy(
    ctx: &ReadContext<'_>,
    clients: &[Client],
    pgt: &str,
    target: &str,
) -> Result<ProxyOutcome, OAuthError> {
    let refused = |c: &'static str, why: &str| Ok(ProxyOutcome::Refused(c, why.to_string()));
    if pgt.is_empty() || target.is_empty() {
        return refused(code::INVALID_REQUEST, "pgt and targetService are both required");
    }
    if pgt.len() > cas::MAX_TICKET_LEN || !pgt.starts_with(PGT_PREFIX) {
        return refused(code::INVALID_REQUEST, "pgt is not a proxy-granting ticket");
    }
    let now = ctx.env.now();
    let record = ctx.store.cas_pgt(Some(&sha256_hex(pgt.as_bytes())), None).await?;
    let Some(record) = record.filter(|r| r.expires_at > now && r.authz.tenant_id == ctx.tenant.id) else {
        return refused(code::INVALID_TICKET, "the proxy-granting ticket is not recognised or has expired");
    };
    let Some(account) = record.authz.account_id.as_deref() else {
        return refused(code::INVALID_TICKET, "the proxy-granting ticket is not recognised");
    };
    if !session_live(ctx, &record.authz).await? {
        return refused(code::INVALID_TICKET, "the session behind the proxy-granting ticket has ended");
    }
    let Some(proxying) = clients.iter().find(|c| {
        c.client_id == record.authz.client_id
            && !c.disabled
            && c.settings.cas.proxy_callbacks.iter().any(|p| cas::matches(p, &record.pgt_url))
    }) else {
        return refused(code::UNAUTHORIZED_SERVICE_PROXY, "the service may no longer proxy");
    };
    if !proxying.settings.statutory && allowed(ctx, proxying, account).await?.is_none() {
        return refused(code::UNAUTHORIZED_SERVICE_PROXY, "the person no longer allows the proxying service");
    }
    if record.proxies.len() + 1 >= cas::MAX_PROXY_CHAIN {
        return refused(code::UNAUTHORIZED_SERVICE_PROXY, "the proxy chain is too long");
    }
    let Some(target_client) = cas::service_of(clients, target) else {
        return refused(code::UNAUTHORIZED_SERVICE, "the target service is not registered");
    };
    // the target's own rules, as for a sign-in to it: the level, the acting contexts, the
    // real-name level, and the person's consent (unless it informs under a statutory duty)
    let ts = &target_client.settings;
    if !crate::policy::satisfies(record.authz.acr.as_deref().unwrap_or_default(), ts.min_acr.as_deref()) {
        return refused(code::UNAUTHORIZED_SERVICE, "the target service needs a stronger sign-in");
    }
    if !ts.contexts.contains(&record.authz.act_as) {
        return refused(code::UNAUTHORIZED_SERVICE, "the target service does not accept this acting context");
    }
    if let Some(min) = ts.min_realname_level {
        let level = ctx.store.real_name(account).await?.map_or(0, |r| r.level);
        if level < min {
            return refused(code::UNAUTHORIZED_SERVICE, "the target service needs a higher real-name level");
        }
    }
    let grant = allowed(ctx, target_client, account).await?;
    if grant.is_none() && !ts.statutory {
        return refused(code::UNAUTHORIZED_SERVICE, "the person has not allowed the target service");
    }
    let mut scope = vec!["openid".to_string()];
    scope.extend(
        ts.scope
            .split(' ')
            .filter(|s| *s != "openid" && (ts.statutory || grant.as_ref().is_some_and(|g| g.covers(s))))
            .map(String::from),
    );
    let ticket = format!("{PROXY_TICKET_PREFIX}{}-{}", record.id, random_part(ctx.env));
    let code = AuthCode {
        code_hash: sha256_hex(ticket.as_bytes()),
        family_id: random_token(ctx.env, 16),
        authz: Authorization { client_id: target_client.client_id.clone(), scope, ..record.authz.clone() },
        redirect_uri: target.to_string(),
        code_challenge: None,
        expires_at: now + target_client.settings.cas.ticket_ttl(),
        consumed: false,
    };
    ctx.store.insert_code(&code).await?;
    Ok(ProxyOutcome::Ticket(ticket))
}
