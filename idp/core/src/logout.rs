//! Logout everywhere: what OpenID Connect Back-Channel Logout 1.0 and Front-Channel Logout 1.0
//! need from the provider. When a session ends, every client that received a code in it and
//! registered a back-channel URI gets a signed logout token (§2.4), queued as a
//! [`LogoutDelivery`] and retried on the schedule of [`retry_after`] until it is delivered or
//! [`GIVE_UP_AFTER`] has passed; clients with a front-channel URI are loaded in iframes of the
//! signed-out page, with `iss` and `sid` (§2, §3).

use serde::Serialize;

use crate::model::{Client, LogoutDelivery};

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The explicit JWT type of logout tokens (Back-Channel Logout 1.0 §2.4, RFC 8725 §3.11).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// How long a logout token is valid after it is signed: each attempt signs a fresh one.
pub const TOKEN_TTL: i64 = 120;
/// A delivery that has not succeeded within this long is given up (`expired`).
pub const GIVE_UP_AFTER: i64 = 24 * 3600;
/// How long one node holds a claimed delivery before another may take it over.
pub const LEASE: i64 = 60;

/// The claims of a logout token. "A Logout Token MUST NOT contain a nonce Claim" (§2.4):
/// there is none to set.
#[derive(Debug, Serialize)]
pub struct LogoutClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub jti: &'a str,
    pub sid: &'a str,
    pub events: serde_json::Value,
}

impl<'a> LogoutClaims<'a> {
    pub fn new(iss: &'a str, sub: &'a str, aud: &'a str, sid: &'a str, jti: &'a str, now: i64) -> Self {
        LogoutClaims {
            iss,
            sub,
            aud,
            iat: now,
            exp: now + TOKEN_TTL,
            jti,
            sid,
            events: serde_json::json!({ BACKCHANNEL_EVENT: {} }),
        }
    }
}

/// The pause before the next attempt after `attempts` failed ones: 5 s, doubling, at most an
/// hour.
pub fn retry_after(attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 10) as u32;
    (5i64 << doublings).min(3600)
}

/// A back-channel delivery for each client of the ended session that registered a URI.
pub fn deliveries(
    clients: &[Client],
    account_id: &str,
    sid: &str,
    now: i64,
    mut new_id: impl FnMut() -> String,
) -> Vec<LogoutDelivery> {
    clients
        .iter()
        .filter(|c| !c.disabled)
        .filter_map(|c| {
            let uri = c.settings.backchannel_logout_uri.as_ref()?;
            Some(LogoutDelivery {
                id: new_id(),
                tenant_id: c.tenant_id.clone(),
                client_id: c.client_id.clone(),
                account_id: account_id.to_string(),
                sid: sid.to_string(),
                uri: uri.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
                delivered_at: None,
                expires_at: now + GIVE_UP_AFTER,
                session_index: None,
                name_id: None,
            })
        })
        .collect()
}

/// A CAS single-logout delivery for each ticket validated in the ended session whose service
/// is still registered, enabled and wants single logout (the `logoutRequest` goes to the
/// service URL the ticket was validated for), at most [`MAX_CAS_LOGOUTS`] per service: the
/// URLs under a prefix are the validating party's choice, and a session's logout must not
/// become a flood of POSTs from the provider's network.
pub fn cas_deliveries(
    clients: &[Client],
    tickets: &[crate::model::CasTicketUse],
    account_id: &str,
    now: i64,
    mut new_id: impl FnMut() -> String,
) -> Vec<LogoutDelivery> {
    let mut per_service: std::collections::HashMap<&str, usize> = Default::default();
    tickets
        .iter()
        .filter(|t| {
            let n = per_service.entry(t.client_id.as_str()).or_default();
            *n += 1;
            *n <= MAX_CAS_LOGOUTS
        })
        .filter_map(|t| {
            let c = clients.iter().find(|c| c.client_id == t.client_id && !c.disabled)?;
            let registered = c.settings.cas.services.iter().any(|p| crate::cas::matches(p, &t.service));
            (c.settings.cas.single_logout && registered).then(|| LogoutDelivery {
                id: new_id(),
                tenant_id: t.tenant_id.clone(),
                client_id: t.client_id.clone(),
                account_id: account_id.to_string(),
                sid: t.sid.clone(),
                uri: t.service.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
                delivered_at: None,
                expires_at: now + GIVE_UP_AFTER,
                session_index: Some(t.ticket.clone()),
                name_id: None,
            })
        })
        .collect()
}

/// A SAML back-channel (SOAP) logout for each assertion issued in the ended session to a
/// service provider with a SOAP single-logout service (the others are told through the
/// browser, on the signed-out page).
pub fn saml_deliveries(
    clients: &[Client],
    issued: &[crate::model::SamlParticipation],
    now: i64,
    mut new_id: impl FnMut() -> String,
) -> Vec<LogoutDelivery> {
    issued
        .iter()
        .filter_map(|p| {
            let c = clients.iter().find(|c| c.client_id == p.client_id && !c.disabled)?;
            let soap = c.settings.saml.slo.iter().find(|e| e.binding == crate::saml::BINDING_SOAP)?;
            Some(LogoutDelivery {
                id: new_id(),
                tenant_id: p.tenant_id.clone(),
                client_id: p.client_id.clone(),
                account_id: p.account_id.clone(),
                sid: p.sid.clone(),
                uri: soap.location.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
                delivered_at: None,
                expires_at: now + GIVE_UP_AFTER,
                session_index: Some(p.session_index.clone()),
                name_id: Some((p.name_id.clone(), p.name_id_format.clone())),
            })
        })
        .collect()
}

/// The most CAS single-logout messages one service receives for one ended session.
pub const MAX_CAS_LOGOUTS: usize = 20;

/// What an attempt came to: the delivery as it is to be stored afterwards.
pub fn after_attempt(d: &LogoutDelivery, outcome: Result<(), String>, now: i64) -> LogoutDelivery {
    let mut d = d.clone();
    d.attempts += 1;
    match outcome {
        Ok(()) => {
            d.status = "delivered".into();
            d.delivered_at = Some(now);
            d.last_error = None;
        }
        Err(why) => {
            d.last_error = Some(why.chars().take(200).collect());
            d.next_attempt_at = now + retry_after(d.attempts);
            if d.next_attempt_at >= d.expires_at {
                d.status = "expired".into();
            }
        }
    }
    d
}

/// The iframe address for a front-channel logout: the registered URI with `iss` and `sid`
/// added to its query (§2: "the OP MUST ... add iss and sid query parameters").
pub fn front_channel_url(uri: &str, issuer: &str, sid: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    url.query_pairs_mut().append_pair("iss", issuer).append_pair("sid", sid);
    Some(url.into())
}

/// Checks a logout URI an administrator registers: an absolute `https` URL (`http` only on a
/// loopback host, for development), without a fragment (§2.2 of both specs).
pub fn valid_uri(uri: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "a logout URI must be an absolute URL")?;
    if url.fragment().is_some() {
        return Err("a logout URI must not contain a fragment");
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("a logout URI must use https (http only on localhost)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_five_seconds_up_to_an_hour() {
        assert_eq!([1, 2, 3, 4].map(retry_after), [5, 10, 20, 40]);
        assert_eq!(retry_after(30), 3600);
        assert_eq!(retry_after(0), 5);
    }

    #[test]
    fn an_attempt_delivers_or_schedules_the_next_until_it_gives_up() {
        let mut c = Client {
            tenant_id: "t".into(),
            client_id: "c".into(),
            name: "C".into(),
            client_type: crate::model::ClientType::Web,
            secret_hash: None,
            settings: Default::default(),
            disabled: false,
            created_at: 0,
        };
        assert!(deliveries(std::slice::from_ref(&c), "a", "s", 100, || "x".into()).is_empty());
        c.settings.backchannel_logout_uri = Some("https://rp.example/bc".into());
        let d = deliveries(&[c], "a", "s", 100, || "x".into()).remove(0);
        assert_eq!(
            (d.status.as_str(), d.next_attempt_at, d.expires_at),
            ("pending", 100, 100 + GIVE_UP_AFTER)
        );
        let failed = after_attempt(&d, Err("HTTP 500".into()), 100);
        assert_eq!((failed.status.as_str(), failed.attempts, failed.next_attempt_at), ("pending", 1, 105));
        assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
        let done = after_attempt(&failed, Ok(()), 106);
        assert_eq!((done.status.as_str(), done.attempts, done.delivered_at), ("delivered", 2, Some(106)));
        let late = after_attempt(&failed, Err("timeout".into()), 100 + GIVE_UP_AFTER - 1);
        assert_eq!(late.status, "expired");
    }

    #[test]
    fn logout_tokens_carry_the_event_and_no_nonce() {
        let c = serde_json::to_value(LogoutClaims::new("https://op/t/main", "sub", "rp", "sid1", "j", 10))
            .unwrap();
        assert_eq!(c["events"][BACKCHANNEL_EVENT], serde_json::json!({}));
        assert_eq!((c["exp"].as_i64(), c["sid"].as_str()), (Some(10 + TOKEN_TTL), Some("sid1")));
        assert!(c.get("nonce").is_none());
    }

    #[test]
    fn front_channel_urls_keep_the_query_and_add_iss_and_sid() {
        let u = front_channel_url("https://rp.example/fc?x=1", "https://op/t/main", "s 1").unwrap();
        assert_eq!(u, "https://rp.example/fc?x=1&iss=https%3A%2F%2Fop%2Ft%2Fmain&sid=s+1");
        assert!(valid_uri("https://rp.example/bc").is_ok());
        assert!(valid_uri("http://127.0.0.1:9/bc").is_ok());
        assert!(valid_uri("http://rp.example/bc").is_err());
        assert!(valid_uri("https://rp.example/bc#x").is_err());
        assert!(valid_uri("/bc").is_err());
    }
}
