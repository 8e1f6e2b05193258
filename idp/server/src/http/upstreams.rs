//! What the rooms of `http/` share about upstream identity providers (identity brokering): an
//! upstream's name in the page's language, ending the sessions an upstream began (its
//! back-channel logout, an unlink on the account pages), and passing a logout here on to the
//! upstream (a client's logout request, "sign out" on the account pages). The sign-in pages
//! and the upstream's own endpoints are `signin/upstream*.rs`.

use crate::http::texts::Texts;
use crate::state::{AppState, TenantCtx};

/// The provider's name in the page's language (the other language's, or its id, when it has
/// none).
pub(crate) fn name_of(t: &TenantCtx, texts: &Texts, id: &str) -> String {
    let Some(u) = t.upstreams.iter().find(|u| u.id == id) else { return id.to_string() };
    let s = &u.settings;
    let (first, second) =
        if texts.html_lang == "en" { (&s.name_en, &s.name_zh) } else { (&s.name_zh, &s.name_en) };
    [first, second].into_iter().find(|n| !n.is_empty()).cloned().unwrap_or_else(|| u.id.clone())
}

/// Ends the sessions here that began through upstream `upstream_id` for its `subject` or its
/// session `upstream_sid` (of `account`, or of the accounts linked to them); how many.
pub(crate) async fn end_sessions_from(
    state: &AppState,
    t: &TenantCtx,
    upstream_id: &str,
    subject: Option<&str>,
    upstream_sid: Option<&str>,
    account: Option<&str>,
) -> usize {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    let rows = match store.upstream_sessions_of(tenant_id, upstream_id, subject, upstream_sid).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "could not find the sessions an upstream began");
            return 0;
        }
    };
    let rows: Vec<_> = rows.into_iter().filter(|r| account.is_none_or(|a| a == r.account_id)).collect();
    let sids: Vec<&String> = rows.iter().map(|r| &r.sid).collect();
    let accounts: std::collections::BTreeSet<&String> = rows.iter().map(|r| &r.account_id).collect();
    let now = state.env().now();
    let mut sessions = vec![];
    for account in accounts {
        let live = store.account_sessions(tenant_id, account, now).await.unwrap_or_default();
        sessions.extend(live.into_iter().filter(|s| sids.contains(&&s.sid)));
    }
    if sessions.is_empty() {
        return 0;
    }
    if let Err(e) = crate::http::signed_out::end_sessions(state, t, &sessions, None).await {
        tracing::warn!(error = %e.description, "could not end the sessions an upstream logged out");
    }
    sessions.len()
}

pub(crate) fn onward_key(state: &str) -> String {
    format!("upstream-signed-out:{}", idp_core::crypto::sha256_hex(state.as_bytes()))
}

/// Where a logout here of session `sid` goes on to: the upstream's end-session endpoint (an
/// OpenID provider) or single logout service (a SAML identity provider, a signed
/// `LogoutRequest` for the NameID and `SessionIndex` it asserted) when the session began
/// through an upstream that has one (and `logout_at_upstream`), coming back to `next` (`None`:
/// this provider's signed-out page). Read before the session ends.
pub(crate) async fn onward(state: &AppState, t: &TenantCtx, sid: &str, next: Option<&str>) -> Option<String> {
    if t.upstreams.is_empty() {
        return None;
    }
    let r = state.store().upstream_session(sid).await.ok()??;
    let u =
        t.upstreams.iter().find(|u| u.id == r.upstream_id && !u.disabled && u.settings.logout_at_upstream)?;
    // the national network identity service and the licence system have no logout of their own
    if u.settings.through_connector() {
        return None;
    }
    if let Some(saml) = &u.settings.saml {
        let slo = saml.slo_url.as_deref()?;
        let (key, _) = t.keys.saml_signer()?;
        let st = way_back(state, t, next).await?;
        let env = state.env();
        let entity = crate::http::signin::upstream_saml::entity_id(&t.endpoints.issuer, &u.id);
        let id = format!("_{}", idp_core::crypto::random_token(env, 24));
        let request = idp_core::saml::logout::request(&idp_core::saml::logout::Request {
            issuer: &entity,
            name_qualifier: &u.issuer,
            destination: slo,
            sp: &entity,
            name_id: &r.subject,
            name_id_format: &saml.name_id_format,
            session_index: r.upstream_sid.as_deref().unwrap_or_default(),
            id: &id,
            now: env.now(),
        });
        return idp_core::saml::logout::redirect_url(slo, "SAMLRequest", &request, Some(&st), key).ok();
    }
    let (policy, http) = state.upstream_http()?;
    let provider = match state.upstream_provider(http, policy, &u.issuer).await {
        Ok(p) => p,
        Err(why) => {
            tracing::warn!(upstream = %u.id, reason = %why, "the upstream could not be reached for logout");
            return None;
        }
    };
    let end = provider.end_session_endpoint?;
    let st = way_back(state, t, next).await?;
    let mut url = url::Url::parse(&end).ok()?;
    url.query_pairs_mut()
        .append_pair("client_id", &u.client_id)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/upstream/{}/signed-out", t.endpoints.issuer, u.id),
        )
        .append_pair("state", &st);
    Some(url.into())
}

/// Keeps `next` for ten minutes under a fresh `state` (the upstream brings it back).
async fn way_back(state: &AppState, t: &TenantCtx, next: Option<&str>) -> Option<String> {
    let env = state.env();
    let st = idp_core::crypto::random_token(env, 32);
    let record = idp_core::model::Ceremony {
        key: onward_key(&st),
        tenant_id: t.tenant.id.clone(),
        account_id: None,
        state: next.unwrap_or_default().to_string(),
        expires_at: env.now() + 600,
    };
    if let Err(e) = state.store().put_ceremony(&record).await {
        tracing::warn!(error = %e, "could not keep the way back from an upstream's logout");
        return None;
    }
    Some(st)
}

/// Where the way back kept under `st` leads (taken once): `None` for a state nobody issued or
/// one that is spent, and for the signed-out page.
pub(crate) async fn taken_way_back(state: &AppState, t: &TenantCtx, st: Option<&str>) -> Option<String> {
    let st = st.filter(|s| s.len() <= 256)?;
    match state.store().take_ceremony(&onward_key(st), state.env().now()).await {
        Ok(Some(c)) if c.tenant_id == t.tenant.id && !c.state.is_empty() => Some(c.state),
        _ => None,
    }
}
