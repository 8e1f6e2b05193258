//! Signing in with the electronic business licence (`idp_core::licence`) through the
//! configured connector (`crate::outbound::licence`), and what the licence grants here.
//!
//! - **The sign-in.** Out and back as `super::upstream_app` does it, to and from
//!   `GET /t/{tenant}/upstream/{id}/licence/callback`. The result is checked
//!   (`LicenceResult::check`), must have been issued to this sign-in, in a role the operator's
//!   settings accept, for an enterprise in the organisation tree (or one the licence may add,
//!   `create_enterprises`), and not as a legal representative where the register here names
//!   someone else. It becomes the same `Answer` as any upstream's: the person (a keyed hash of the ID
//!   number as the subject, name and number as `verified_claims` of trust framework
//!   `cn_business_licence`) and the enterprise role as `Answer::licence`.
//! - **The role** is written when the session starts ([`grant`], from
//!   `super::upstream_link`): only to an account whose real-name binding is this very person
//!   (the same keyed hash of the ID number) at level 2 or more — a licence role never lands
//!   on someone else's account, whatever the link. What the licence no longer says is ended,
//!   what it says is written with its source (`idp_core::licence::plan`), and the session acts
//!   for the enterprise in that role where the client accepts enterprise contexts.
//! - **Notifications** (`POST /t/{tenant}/upstream/{id}/licence/notify`, [`notify`]): a
//!   revoked authorisation or a cancelled licence, signed by the licence system, ends what it
//!   granted at once.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_core::licence::{Grant, LicenceResult, Notification};
use idp_core::model::{Account, Upstream};
use idp_core::org::{Membership, Organisation};
use idp_core::realname;
use serde_json::json;

use crate::http::State;
use crate::http::pages::Lang;
use crate::http::session::audit;
use crate::http::signin::interaction::{Loaded, login_page};
use crate::http::signin::upstream::settle;
use crate::http::signin::upstream_app::{came_back, send};
use crate::outbound::upstream::Answer;
use crate::state::{AppState, TenantCtx};

/// Sends the person to the licence system for this interaction.
pub(crate) async fn begin(state: &AppState, l: &Loaded, headers: &HeaderMap, u: &Upstream) -> Response {
    let texts = l.lang.texts();
    let Some(connector) = state.licence() else {
        return login_page(l, headers, Some(texts.up_unavailable.into()), "", StatusCode::BAD_GATEWAY);
    };
    let here = crate::http::look::shown(texts.brand, matches!(l.lang, Lang::En)).name;
    let party = format!("{here}（{}）", l.client_name);
    send(state, l, u, false, "", |st| {
        connector.authorize_url(
            &l.t,
            &crate::outbound::licence::Start { upstream: &u.id, state: st, party: &party },
        )
    })
    .await
}

/// `GET /t/{tenant}/upstream/{id}/licence/callback`: back from the licence system.
pub async fn callback(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let of_kind = |u: &Upstream| u.settings.licence.is_some();
    let back = match came_back(&state, (&slug, &id), peer, &headers, q.as_deref(), of_kind).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let result = match state.licence() {
        Some(c) => Some(c.result(&state, &back.l.t, &back.code).await),
        None => None,
    };
    let redeemed =
        back.redeemed(&state, &headers, result, LicenceResult::check, |r| (&r.bound_to, r.verified_at));
    let result = match redeemed.await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let (l, u) = (&back.l, &back.upstream);
    let settings = u.settings.licence.clone().unwrap_or_default();
    let tenant_id = &l.t.tenant.id;
    let person_hash = realname::id_hash(&state.ops.kek, tenant_id, &result.id_number);
    let grant = result.grant(&u.id, &person_hash);
    // refused before anything is written: a role the operator does not accept, an enterprise
    // that is not here (and may not be added), a representative the register names otherwise
    let org = match state.store().organisation_by_uscc(tenant_id, &grant.uscc).await {
        Ok(o) => o,
        Err(e) => return crate::http::pages::error_page(l.lang, &e.into()),
    };
    let refusal = if !settings.roles.contains(&result.role) {
        Some(format!("the licence role {} is not accepted here", result.role))
    } else {
        match &org {
            Some(o) if o.kind != "enterprise" => Some("the credit code is not an enterprise's here".into()),
            Some(o) if idp_core::licence::representative_mismatch(&grant, o) => {
                Some("the register here names another legal representative".into())
            }
            None if !settings.create_enterprises => Some("the enterprise is not registered here".into()),
            _ => None,
        }
    };
    if let Some(why) = refusal {
        let text = l.lang.texts().up_licence_refused;
        return crate::http::signin::upstream::failed_with(&state, l, &headers, u, why, &back.ip, text).await;
    }
    let subject = idp_core::licence::subject(&state.ops.kek.derive("licence"), tenant_id, &result.id_number);
    let answer = Answer {
        subject,
        auth_time: Some(result.verified_at),
        acr: None,
        verified_claims: Some(result.verified_claims()),
        sid: None,
        licence: Some(grant),
    };
    settle(&state, l, &headers, u, &answer, back.started.freshness(), &back.ip).await
}

/// Writes what the licence vouched for in a sign-in through `u` that completed for `account`:
/// the membership to act in, if one was kept or written.
pub(crate) async fn grant(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    u: &Upstream,
    g: &Grant,
    ip: &str,
) -> Option<String> {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    let refused = |reason: &'static str| {
        let detail = json!({"upstream": u.id, "uscc": g.uscc, "kind": g.kind, "reason": reason});
        audit(state, tenant_id, "licence_role_refused", Some(&account.id), None, Some(ip), detail)
    };
    // the operator may have changed the upstream since the answer came
    let accepted =
        u.settings.licence.as_ref().is_some_and(|s| {
            s.roles.iter().any(|r| idp_core::licence::role_here(r) == Some(g.kind.as_str()))
        });
    if u.disabled || !accepted {
        refused("the upstream no longer accepts the role").await;
        return None;
    }
    let now = state.env().now();
    if g.expires_at.is_some_and(|e| e <= now) {
        refused("the authorisation has expired").await;
        return None;
    }
    // a revocation notified while the sign-in went on (a second factor, a link to confirm)
    let keys = [g.source.clone(), idp_core::licence::cancelled_key(&u.id, &g.uscc)];
    if store.revoked(tenant_id, &keys).await.unwrap_or(true) {
        refused("the authorisation was revoked at the licence").await;
        return None;
    }
    // only to the very person the licence named, bound here at level 2 or more
    let bound = store.real_name(&account.id).await.ok().flatten();
    if !bound.is_some_and(|b| b.id_hash == g.person_hash && b.level >= realname::PROVIDER_MATCH) {
        refused("the account is not bound to the person the licence named").await;
        return None;
    }
    let org = match enterprise(state, t, u, g, ip).await {
        Ok(o) => o,
        Err(reason) => {
            refused(reason).await;
            return None;
        }
    };
    let members = store.members_of(tenant_id, &org.id).await.ok()?;
    let Ok(plan) = idp_core::licence::plan(g, &org, &members, &account.id) else {
        refused("the register here names another legal representative").await;
        return None;
    };
    if plan.end_all {
        match store.end_enterprise_roles(tenant_id, &org.id, now).await {
            Ok(0) => {}
            Ok(n) => {
                let detail = json!({"organisation": org.id, "ended": n, "reason": "new legal representative", "upstream": u.id});
                audit(state, tenant_id, "enterprise_roles_ended", Some(&account.id), None, Some(ip), detail)
                    .await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not end an enterprise's earlier roles");
                return None;
            }
        }
    }
    for id in &plan.revoke {
        if let Err(e) = end(state, tenant_id, id, now, "the licence no longer grants it", &u.id).await {
            tracing::warn!(error = %e, "could not end an enterprise role");
        }
    }
    if !plan.insert {
        return plan.keep;
    }
    let m = Membership {
        id: idp_core::crypto::random_token(state.env(), 9).replace(['-', '_'], "x"),
        tenant_id: tenant_id.clone(),
        account_id: account.id.clone(),
        organisation_id: org.id.clone(),
        kind: g.kind.clone(),
        roles: vec![],
        created_at: now,
        revoked_at: None,
        matters: g.matters.clone(),
        starts_at: g.starts_at,
        expires_at: g.expires_at,
        // the person accepted it in the licence app
        confirmed_at: Some(now),
        granted_by: None,
        source: Some(g.source.clone()),
    };
    if let Err(e) = store.insert_membership(&m).await {
        tracing::warn!(error = %e, "could not write an enterprise role from the licence");
        return None;
    }
    // a register that names nobody yet learns the licence's representative (never replacing
    // one an administrator wrote in the meantime)
    if g.kind == "legal_representative"
        && org.representative_hash.is_none()
        && let Err(e) =
            store.set_representative(tenant_id, &org.id, &g.person_name, &g.person_hash, true).await
    {
        tracing::warn!(error = %e, "could not note an enterprise's legal representative");
    }
    let detail = json!({
        "organisation": org.id, "membership": m.id, "kind": m.kind, "matters": m.matters,
        "starts_at": m.starts_at, "expires_at": m.expires_at, "source": m.source, "upstream": u.id,
    });
    audit(state, tenant_id, "licence_role_granted", Some(&account.id), None, Some(ip), detail).await;
    Some(m.id)
}

/// The grant's enterprise: in the tree, or added from the licence where the operator lets it.
async fn enterprise(
    state: &AppState,
    t: &TenantCtx,
    u: &Upstream,
    g: &Grant,
    ip: &str,
) -> Result<Organisation, &'static str> {
    let store = state.store();
    let tenant_id = &t.tenant.id;
    match store.organisation_by_uscc(tenant_id, &g.uscc).await {
        Ok(Some(o)) if o.kind == "enterprise" => return Ok(o),
        Ok(Some(_)) => return Err("the credit code is not an enterprise's here"),
        Ok(None) if u.settings.licence.as_ref().is_some_and(|l| l.create_enterprises) => {}
        Ok(None) => return Err("the enterprise is not registered here"),
        Err(_) => return Err("the organisation tree could not be read"),
    }
    let new = idp_core::org::NewOrganisation {
        kind: "enterprise".into(),
        name: g.enterprise_name.clone(),
        uscc: Some(g.uscc.clone()),
        ..Default::default()
    };
    let (_, _, _, uscc, flagged) =
        idp_core::org::check(&new, None).map_err(|_| "the enterprise is not valid")?;
    let id = idp_core::crypto::random_token(state.env(), 9).replace(['-', '_'], "x");
    let o = Organisation {
        path: idp_core::org::path_of(None, &id),
        id,
        tenant_id: tenant_id.clone(),
        kind: "enterprise".into(),
        name: new.name.trim().to_string(),
        parent_id: None,
        level: None,
        region_code: None,
        uscc,
        uscc_flagged: flagged,
        created_at: state.env().now(),
        representative_name: None,
        representative_hash: None,
    };
    match store.insert_organisation(&o).await {
        Ok(()) => {
            let detail = json!({"organisation": o.id, "uscc": o.uscc, "name": o.name, "kind": "enterprise", "upstream": u.id});
            audit(state, tenant_id, "organisation_added", None, None, Some(ip), detail).await;
            Ok(o)
        }
        // another sign-in added it in the meantime
        Err(idp_core::StoreError::Conflict(_)) => {
            match store.organisation_by_uscc(tenant_id, &g.uscc).await {
                Ok(Some(o)) if o.kind == "enterprise" => Ok(o),
                _ => Err("the enterprise could not be added"),
            }
        }
        Err(_) => Err("the enterprise could not be added"),
    }
}

/// Ends membership `id`, audited with `reason`; whether it was live.
async fn end(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    now: i64,
    reason: &str,
    upstream: &str,
) -> Result<bool, idp_core::StoreError> {
    let Some(m) = state.store().revoke_membership(tenant_id, id, now).await? else { return Ok(false) };
    let detail = json!({"organisation": m.organisation_id, "membership": m.id, "kind": m.kind, "reason": reason, "upstream": upstream});
    audit(state, tenant_id, "enterprise_role_ended", Some(&m.account_id), None, None, detail).await;
    Ok(true)
}

/// How far a notification's `iat` may be from now, either way.
const NOTIFICATION_WINDOW: i64 = 300;

/// `POST /t/{tenant}/upstream/{id}/licence/notify`: a notification from the licence system (a
/// compact JWS, `crate::outbound::licence`). Answers 200 when it was carried out (whether or not
/// anything here was granted by what it names), 400 when it is refused (audited once its
/// signature is the licence system's; before that only logged, so that anyone's posts cannot
/// fill the audit trail), 404 for no such upstream, 503 when the store failed (the licence
/// system sends it again). The revocation is recorded for good, so a sign-in confirmed before
/// it and completed after it grants nothing. Revocations apply to a disabled upstream too.
pub async fn notify(state: State, Path((slug, id)): Path<(String, String)>, body: Bytes) -> Response {
    let answer = |status: StatusCode| (status, [("cache-control", "no-store")]).into_response();
    let Ok(Some(t)) = state.tenant(&slug).await else { return answer(StatusCode::NOT_FOUND) };
    let Some(u) = t.upstreams.iter().find(|u| u.id == id && u.settings.licence.is_some()) else {
        return answer(StatusCode::NOT_FOUND);
    };
    let Some(connector) = state.licence() else { return answer(StatusCode::NOT_FOUND) };
    let jws = std::str::from_utf8(&body).unwrap_or_default().trim();
    let claims = match connector.notification(&state, jws).map_err(|e| e.to_string()) {
        Ok(c) if jws.len() <= 8192 => c,
        Ok(_) | Err(_) => {
            tracing::warn!(upstream = %u.id, "a licence notification without the licence system's signature was refused");
            return answer(StatusCode::BAD_REQUEST);
        }
    };
    let refused = |why: &str| {
        tracing::warn!(upstream = %u.id, reason = %why, "a licence notification was refused");
        let detail = json!({"upstream": u.id, "reason": why});
        let (state, tenant_id) = (&state, &t.tenant.id);
        async move {
            audit(state, tenant_id, "licence_notification_refused", None, None, None, detail).await;
            answer(StatusCode::BAD_REQUEST)
        }
    };
    let now = state.env().now();
    let address = format!("{}/upstream/{}/licence/notify", t.endpoints.issuer, u.id);
    if claims["aud"].as_str() != Some(address.as_str()) {
        return refused("the notification is for another address").await;
    }
    let Some(iat) = claims["iat"].as_i64().filter(|iat| (iat - now).abs() <= NOTIFICATION_WINDOW) else {
        return refused("the notification is not recent").await;
    };
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty() && j.len() <= 128) else {
        return refused("the notification has no jti").await;
    };
    let Ok(event) = serde_json::from_value::<Notification>(claims.clone()) else {
        return refused("the event is not one this provider knows").await;
    };
    let uscc = match &event {
        Notification::AuthorisationRevoked { uscc, .. } | Notification::LicenceCancelled { uscc } => uscc,
    };
    let Ok(code) = idp_core::identifiers::parse_uscc(uscc.trim()) else {
        return refused("the credit code is not one").await;
    };
    let code = code.code().to_string();
    let (key, named) = match &event {
        Notification::AuthorisationRevoked { authorisation, .. } => {
            let source = idp_core::licence::source(&u.id, authorisation);
            (source.clone(), Some(source))
        }
        Notification::LicenceCancelled { .. } => (idp_core::licence::cancelled_key(&u.id, &code), None),
    };
    let seen_as = format!("licence-notification:{}", u.id);
    let tenant_id = &t.tenant.id;
    match carry_out(&state, tenant_id, &u.id, &code, &key, named.as_deref(), now).await {
        Ok(ended) => {
            // a replay is refused from now on (carrying it out again would change nothing)
            match state
                .store()
                .remember_assertion_jti(tenant_id, &seen_as, jti, iat + 2 * NOTIFICATION_WINDOW)
                .await
            {
                Ok(true) => {}
                Ok(false) => return refused("a replayed notification").await,
                Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE),
            }
            let detail =
                json!({"upstream": u.id, "event": claims["event"], "uscc": code, "jti": jti, "ended": ended});
            audit(&state, tenant_id, "licence_notification", None, None, None, detail).await;
            answer(StatusCode::OK)
        }
        Err(e) => {
            tracing::warn!(upstream = %u.id, error = %e, "a licence notification could not be carried out");
            answer(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// Records the revocation `key` and ends what the licence granted through `upstream` in the
/// enterprise `uscc`: the memberships of source `named`, or (`None`) all of them. How many.
async fn carry_out(
    state: &AppState,
    tenant_id: &str,
    upstream: &str,
    uscc: &str,
    key: &str,
    named: Option<&str>,
    now: i64,
) -> Result<u64, idp_core::StoreError> {
    let store = state.store();
    store.record_revocation(tenant_id, key, now).await?;
    let Some(org) = store.organisation_by_uscc(tenant_id, uscc).await? else { return Ok(0) };
    let prefix = idp_core::licence::source_prefix(upstream);
    let mut ended = 0;
    for m in store.members_of(tenant_id, &org.id).await? {
        let source = m.source.as_deref().unwrap_or_default();
        let this = match named {
            Some(n) => source == n,
            None => source.starts_with(&prefix),
        };
        if m.revoked_at.is_none()
            && this
            && end(state, tenant_id, &m.id, now, "revoked at the licence", upstream).await?
        {
            ended += 1;
        }
    }
    Ok(ended)
}
