//! Logout everywhere: ending a session tells every client that took part in it.
//! [`Ops::end_sessions`] queues a back-channel logout for each client with a back-channel URI
//! (OpenID Connect Back-Channel Logout 1.0) and returns the front-channel frames for the
//! signed-out page (Front-Channel Logout 1.0); the delivery task ([`spawn_deliveries`]) signs
//! and POSTs each logout token, retrying with a growing pause (`idp_core::logout`) until it is
//! delivered or given up. Deliveries are claimed under a lease in the database, so with many
//! nodes each is sent by one of them at a time; administrators see their status through the
//! admin API.

use std::sync::Arc;
use std::time::Duration;

use idp_core::logout::{self, LogoutClaims};
use idp_core::model::{LogoutDelivery, Session};

use crate::ops::Ops;
use crate::state::AppState;

/// A client page the signed-out page loads in an iframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontChannel {
    pub client_id: String,
    pub uri: String,
    pub sid: String,
    /// The frame loads `uri` as it is (a SAML service provider's signed logout request);
    /// otherwise `iss` and `sid` are added (Front-Channel Logout 1.0 §2).
    pub exact: bool,
}

/// Who has been told of a session's end: client ids, CAS tickets, SAML (client, SessionIndex).
#[derive(Default)]
struct Parties {
    clients: std::collections::HashSet<String>,
    tickets: std::collections::HashSet<String>,
    assertions: std::collections::HashSet<(String, String)>,
}

impl Ops {
    /// Ends the sessions and tells their clients: back-channel deliveries are queued before
    /// the session is deleted (a crash in between sends one logout too many, never one too
    /// few), and the session's parties are read again once it is deleted: a CAS ticket
    /// validated while the logout ran (its batch checked the session before the delete) is
    /// told too. Returns the front-channel frames for the browser that is present, if any.
    pub async fn end_sessions(
        &self,
        tenant_id: &str,
        sessions: &[Session],
    ) -> anyhow::Result<Vec<FrontChannel>> {
        let mut frames = vec![];
        for s in sessions {
            let (told, clients) = self.tell_parties(tenant_id, s, &Parties::default()).await?;
            frames.extend(clients.iter().filter(|c| !c.disabled).filter_map(|c| {
                Some(FrontChannel {
                    client_id: c.client_id.clone(),
                    uri: c.settings.frontchannel_logout_uri.clone()?,
                    sid: s.sid.clone(),
                    exact: false,
                })
            }));
            self.store.delete_session(tenant_id, &s.sid).await?;
            // no party can join the session from here on: the stragglers, if any
            self.tell_parties(tenant_id, s, &told).await?;
        }
        Ok(frames)
    }

    /// Queues the logout deliveries for the parties of session `s` not in `told`; what it told
    /// (with `told`) and the session's clients.
    async fn tell_parties(
        &self,
        tenant_id: &str,
        s: &Session,
        told: &Parties,
    ) -> anyhow::Result<(Parties, Vec<idp_core::model::Client>)> {
        let now = self.now();
        let mut clients = vec![];
        for id in self.store.session_clients(tenant_id, &s.sid).await? {
            if let Some(c) = self.store.client(tenant_id, &id).await? {
                clients.push(c);
            }
        }
        let mut tickets = self.store.cas_session_tickets(tenant_id, &s.sid).await?;
        let mut issued = self.store.saml_participations(tenant_id, &s.sid).await?;
        let all = Parties {
            clients: clients.iter().map(|c| c.client_id.clone()).collect(),
            tickets: tickets.iter().map(|t| t.ticket.clone()).collect(),
            assertions: issued.iter().map(|p| (p.client_id.clone(), p.session_index.clone())).collect(),
        };
        let fresh: Vec<_> =
            clients.iter().filter(|c| !told.clients.contains(&c.client_id)).cloned().collect();
        tickets.retain(|t| !told.tickets.contains(&t.ticket));
        issued.retain(|p| !told.assertions.contains(&(p.client_id.clone(), p.session_index.clone())));
        let new_id = || idp_core::crypto::random_token(self.env.as_ref(), 16);
        let mut deliveries = logout::deliveries(&fresh, &s.account_id, &s.sid, now, new_id);
        deliveries.extend(logout::cas_deliveries(&clients, &tickets, &s.account_id, now, new_id));
        deliveries.extend(logout::saml_deliveries(&clients, &issued, now, new_id));
        if !deliveries.is_empty() {
            self.store.insert_logout_deliveries(&deliveries).await?;
        }
        Ok((all, clients))
    }

    /// Ends every session of the account, telling their clients; how many were live.
    pub async fn end_account_sessions(&self, tenant_id: &str, account_id: &str) -> anyhow::Result<u64> {
        let live = self.store.account_sessions(tenant_id, account_id, self.now()).await?;
        self.end_sessions(tenant_id, &live).await?;
        // and the expired ones nobody can use any more
        self.store.end_account_sessions(tenant_id, account_id).await?;
        Ok(live.len() as u64)
    }
}

/// How many deliveries one node sends at once.
const BATCH: i64 = 16;
/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the task that sends due logout tokens: every second, and at once when woken
/// (`AppState::logout_wake`) after a session ended on this node.
pub fn spawn_deliveries(state: &Arc<AppState>) {
    let weak = Arc::downgrade(state);
    // back-channel URIs are registered by administrators: the operator's outbound rules decide
    // where they may lead (`crate::outbound`), checked again at every connection
    let policy = match crate::outbound::Policy::new(&state.config().outbound) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout is off: the outbound rules are invalid");
            return;
        }
    };
    let http = match policy.client(POST_TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout is off: no HTTP client");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            let Some(state) = weak.upgrade() else { break };
            let wake = state.logout_wake.clone();
            while send_due(&state, &http, &policy).await == BATCH as usize {}
            drop(state);
            let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
        }
    });
}

/// Claims and sends one batch of due deliveries; how many it claimed.
async fn send_due(state: &Arc<AppState>, http: &reqwest::Client, policy: &crate::outbound::Policy) -> usize {
    let now = state.env().now();
    let due = match state.store().claim_logout_deliveries(now, now + logout::LEASE, BATCH).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim back-channel logout deliveries");
            return 0;
        }
    };
    let n = due.len();
    let mut sending = tokio::task::JoinSet::new();
    for d in due {
        let (state, http, policy) = (state.clone(), http.clone(), policy.clone());
        sending.spawn(async move {
            let outcome = attempt(&state, &http, &policy, &d).await;
            // the next attempt counts from the claim, not from the end of this one: how long
            // an attempt took (a timeout against a refusal) shows nowhere
            let after = logout::after_attempt(&d, outcome, now);
            match after.status.as_str() {
                "delivered" => {
                    tracing::info!(client = %d.client_id, attempts = after.attempts, "logout delivered")
                }
                status => tracing::warn!(
                    client = %d.client_id,
                    attempts = after.attempts,
                    status,
                    error = after.last_error.as_deref().unwrap_or_default(),
                    "logout not delivered"
                ),
            }
            if let Err(e) = state.store().finish_logout_delivery(&after).await {
                tracing::warn!(error = %e, "could not record a back-channel logout attempt");
            }
        });
    }
    while sending.join_next().await.is_some() {}
    n
}

/// One POST of a freshly signed logout token (Back-Channel Logout 1.0 §2.5); `Err` says why
/// it failed, without the token.
async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    policy: &crate::outbound::Policy,
    d: &LogoutDelivery,
) -> Result<(), String> {
    let t =
        state.tenant_by_id(&d.tenant_id).await.map_err(|e| e.description)?.ok_or("the tenant is disabled")?;
    let client = state
        .store()
        .client(&d.tenant_id, &d.client_id)
        .await
        .map_err(|e| e.to_string())?
        .filter(|c| !c.disabled)
        .ok_or("the client is disabled")?;
    if let (Some(index), Some((name_id, format))) = (&d.session_index, &d.name_id) {
        return saml_attempt(state, http, policy, &t, &client, index, (name_id, format)).await;
    }
    if let Some(ticket) = &d.session_index {
        return cas_attempt(state, http, policy, &client, d, ticket).await;
    }
    // the URI as registered now: an administrator may have corrected or removed it
    let uri = client
        .settings
        .backchannel_logout_uri
        .as_deref()
        .ok_or("the client no longer has a back-channel URI")?;
    let sub = idp_core::keys::subject(&t.keys, client.settings.sector.as_deref(), &d.account_id);
    let jti = idp_core::crypto::random_token(state.env(), 16);
    let claims =
        LogoutClaims::new(&t.endpoints.issuer, &sub, &client.client_id, &d.sid, &jti, state.env().now());
    let token = t
        .keys
        .sign(client.settings.id_token_alg, logout::LOGOUT_TOKEN_TYP, &claims)
        .map_err(|e| format!("signing failed: {e}"))?;
    post(http, policy, &client.client_id, uri, &[("logout_token", token)], false).await
}

/// What administrators see of a failure is one generic reason (no refusal by the outbound
/// rules against timeouts against status codes: that would map the network behind a URI);
/// the log has the reason.
const NOT_DELIVERED: &str = "not delivered (the server log has the reason)";

/// CAS single logout (CAS 3.0 §2.3.3): the `logoutRequest` naming the ticket, POSTed as a form
/// to the service URL, while that URL is still one the service's registration allows and the
/// service wants single logout. The protocol is "fire and forget" (§2.3.3.1: the server SHALL
/// ignore all errors): any HTTP answer counts as delivered (mod_auth_cas answers 302); only a
/// service that could not be reached is tried again.
async fn cas_attempt(
    state: &AppState,
    http: &reqwest::Client,
    policy: &crate::outbound::Policy,
    client: &idp_core::model::Client,
    d: &LogoutDelivery,
    ticket: &str,
) -> Result<(), String> {
    let cas = &client.settings.cas;
    if !cas.single_logout || !cas.services.iter().any(|p| idp_core::cas::matches(p, &d.uri)) {
        return Err("the service no longer takes single logout at this URL".into());
    }
    let id = format!("LR-{}", idp_core::crypto::random_token(state.env(), 16));
    let message = idp_core::cas::logout_request(&id, state.env().now(), ticket);
    post(http, policy, &client.client_id, &d.uri, &[("logoutRequest", message)], true).await
}

/// SAML back-channel logout (Profiles §4.4.3.3, SOAP binding): a signed `LogoutRequest` naming
/// the assertion, POSTed in a SOAP envelope to the service provider's SOAP endpoint as it is
/// registered now; delivered when it answers a `LogoutResponse` with status Success.
#[allow(clippy::too_many_arguments)] // one delivery's whole description
async fn saml_attempt(
    state: &AppState,
    http: &reqwest::Client,
    policy: &crate::outbound::Policy,
    t: &crate::state::TenantCtx,
    client: &idp_core::model::Client,
    session_index: &str,
    (name_id, format): (&str, &str),
) -> Result<(), String> {
    use idp_core::saml;
    let uri = client
        .settings
        .saml
        .slo
        .iter()
        .find(|e| e.binding == saml::BINDING_SOAP)
        .map(|e| e.location.clone())
        .ok_or("the service provider no longer has a SOAP logout service")?;
    let (key, cert) = t.keys.saml_signer().ok_or("the tenant has no SAML signing key")?;
    let id = format!("_{}", idp_core::cas::validate::random_part(state.env()));
    let issuer = crate::http::saml::entity_id(t);
    let request = saml::logout::request(&saml::logout::Request {
        issuer: &issuer,
        name_qualifier: &issuer,
        destination: &uri,
        sp: &client.settings.saml.entity_id,
        name_id,
        name_id_format: format,
        session_index,
        id: &id,
        now: state.env().now(),
    });
    let envelope = saml::logout::soap(request, key, cert).map_err(|e| e.to_string())?;
    if policy.check_url(&uri).is_err() {
        tracing::warn!(client = %client.client_id, "SAML logout URI refused by the outbound rules");
        return Err(NOT_DELIVERED.into());
    }
    let res = http
        .post(&uri)
        .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .header("SOAPAction", "http://www.oasis-open.org/committees/security")
        .body(envelope)
        .send()
        .await
        .map_err(|_| NOT_DELIVERED.to_string())?;
    let ok = res.status().is_success();
    let body = crate::outbound::read_at_most(res, 64 * 1024).await.unwrap_or_default();
    if ok && saml::logout::soap_success(&String::from_utf8_lossy(&body)) {
        Ok(())
    } else {
        tracing::warn!(client = %client.client_id, "SAML logout not acknowledged with Success");
        Err(NOT_DELIVERED.into())
    }
}

/// One POST of a form to a party's logout URI; `Err` says why it failed, without the content.
/// `any_answer`: every HTTP status counts as delivered.
async fn post(
    http: &reqwest::Client,
    policy: &crate::outbound::Policy,
    client_id: &str,
    uri: &str,
    form: &[(&str, String)],
    any_answer: bool,
) -> Result<(), String> {
    if policy.check_url(uri).is_err() {
        tracing::warn!(client = %client_id, "logout URI refused by the outbound rules");
        return Err(NOT_DELIVERED.into());
    }
    let res =
        http.post(uri).header(reqwest::header::CACHE_CONTROL, "no-store").form(form).send().await.map_err(
            |e| {
                let why = if crate::outbound::is_refusal(&e) {
                    "refused by the outbound rules"
                } else if e.is_timeout() {
                    "timed out"
                } else {
                    "no connection"
                };
                tracing::warn!(client = %client_id, reason = why, "logout delivery attempt failed");
                NOT_DELIVERED.to_string()
            },
        )?;
    // "If the logout succeeded, the RP MUST respond with HTTP 200 OK" (§2.8); 204 is common
    match res.status().as_u16() {
        _ if any_answer => Ok(()),
        200..=299 => Ok(()),
        s => {
            tracing::warn!(client = %client_id, status = s, "logout delivery attempt refused");
            Err(NOT_DELIVERED.into())
        }
    }
}
