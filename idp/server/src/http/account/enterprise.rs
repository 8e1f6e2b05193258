//! Enterprise roles on the account pages (docs/domain.md "Who signs in"): a person whose verified
//! identity (real-name level 2 or more) is the enterprise's registered legal representative —
//! compared by the keyed hash of the ID number and the name, and confirmed once more by the
//! verification provider — binds as its legal representative; a new representative ends every
//! earlier enterprise role of that enterprise. The representative appoints administrators; the
//! representative or an administrator grants agents mandates (matters, start, expiry), which
//! count only once the agent has confirmed them; either may end them. All of it is audited.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::Account;
use idp_core::org::Membership;
use idp_core::realname::{self, Outcome};
use serde_json::json;

use crate::http::account::{Note, Posted, posted};
use crate::http::pages::{EntMember, EntRow, Texts};
use crate::http::session::audit;
use crate::http::signin::context::role_label;
use crate::http::{State, param};
use crate::state::{AppState, TenantCtx};

const MAX_MATTERS: usize = 10;
const MAX_DAYS: i64 = 366;

/// The account page's rows: every enterprise role of the person, with what they may manage.
pub(crate) async fn rows(state: &AppState, t: &TenantCtx, account: &Account, texts: &Texts) -> Vec<EntRow> {
    let now = state.env().now();
    let mine = state.store().memberships(&account.id).await.unwrap_or_default();
    let mut out = vec![];
    for m in mine.into_iter().filter(|m| m.kind != "staff" && m.revoked_at.is_none()) {
        let Ok(Some(o)) = state.store().organisation(&t.tenant.id, &m.organisation_id).await else {
            continue;
        };
        let manage = m.active(now) && m.kind != "agent";
        let mut members = vec![];
        if manage {
            for other in state.store().members_of(&t.tenant.id, &o.id).await.unwrap_or_default() {
                if other.revoked_at.is_some() || other.kind == "legal_representative" || other.id == m.id {
                    continue;
                }
                let who = match state.store().account(&t.tenant.id, &other.account_id).await {
                    Ok(Some(a)) => a.username,
                    _ => continue,
                };
                members.push(EntMember {
                    id: other.id.clone(),
                    who,
                    role: role_label(texts, &other.kind),
                    pending: other.kind == "agent" && other.confirmed_at.is_none(),
                    matters: other.matters.join(", "),
                    expiry: other.expires_at.map(|x| t.local(x, now)),
                    starts: future(t, other.starts_at, now),
                });
            }
        }
        out.push(EntRow {
            membership_id: m.id.clone(),
            organisation_id: o.id.clone(),
            name: o.name.clone(),
            uscc: o.uscc.clone().unwrap_or_default(),
            role: role_label(texts, &m.kind),
            pending: m.kind == "agent" && m.confirmed_at.is_none(),
            matters: m.matters.join(", "),
            expiry: m.expires_at.map(|x| t.local(x, now)),
            starts: future(t, m.starts_at, now),
            manage,
            appoint: manage && m.kind == "legal_representative",
            members,
        });
    }
    out
}

/// A start still ahead, for the page.
fn future(t: &TenantCtx, starts_at: Option<i64>, now: i64) -> Option<String> {
    starts_at.filter(|s| *s > now).map(|s| t.local(s, now))
}

/// The account page after an enterprise action: done (`ent_done`), or what stopped it.
async fn done(state: &AppState, p: &Posted, headers: &HeaderMap, message: &str) -> Response {
    let texts = p.lang.texts();
    let note = if message == texts.ent_done { Note::Done(message) } else { Note::Problem(message) };
    super::show_account_with(
        state,
        &p.t,
        p.lang,
        headers,
        &p.session,
        &p.account,
        crate::http::account::Section::Identity,
        Some(note),
        None,
    )
    .await
}

/// Binds the person as the legal representative of the enterprise with the credit code typed.
pub async fn bind(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = p.lang.texts();
    // what stopped the binding; `ent_done` and `ent_bound` say it is done
    let show = |msg: &str| {
        let msg = msg.to_string();
        let (state, p, headers) = (&state, &p, &headers);
        async move {
            let texts = p.lang.texts();
            let note = if msg == texts.ent_done || msg == texts.ent_bound {
                Note::Done(&msg)
            } else {
                Note::Problem(&msg)
            };
            super::show_account_with(
                state,
                &p.t,
                p.lang,
                headers,
                &p.session,
                &p.account,
                crate::http::account::Section::Identity,
                Some(note),
                None,
            )
            .await
        }
    };
    let tenant_id = p.t.tenant.id.clone();
    let code = idp_core::identifiers::parse_uscc(param(&p.params, "uscc").unwrap_or_default().trim());
    let org = match code {
        Ok(c) => state.store().organisation_by_uscc(&tenant_id, c.code()).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(org) = org.filter(|o| o.kind == "enterprise") else {
        return show(texts.ent_no_enterprise).await;
    };
    let rn = match state.store().real_name(&p.account.id).await {
        Ok(Some(r)) if r.level >= realname::PROVIDER_MATCH => r,
        _ => return show(texts.ent_need_realname).await,
    };
    let registered = org.representative_hash.as_deref() == Some(rn.id_hash.as_str())
        && org.representative_name.as_deref() == Some(rn.name.as_str());
    let confirmed = registered
        && match (&state.verifier_for(&p.t), realname::open_id(&state.ops.kek, &tenant_id, &rn.id_sealed)) {
            (Some(v), Some(number)) => match v.verify(&rn.name, &rn.id_type, &number).await {
                Outcome::Match { .. } => true,
                Outcome::Unavailable(_) => return show(texts.rn_unavailable).await,
                _ => false,
            },
            // without a provider the level itself (2+) came from a provider or the counter
            (None, Some(_)) => true,
            (_, None) => false,
        };
    if !confirmed {
        let detail = json!({"organisation": org.id, "reason": "not the registered representative"});
        audit(&state, &tenant_id, "legal_representative_refused", Some(&p.account.id), None, None, detail)
            .await;
        return show(texts.ent_not_rep).await;
    }
    let members = state.store().members_of(&tenant_id, &org.id).await.unwrap_or_default();
    let now = state.env().now();
    if members
        .iter()
        .any(|m| m.kind == "legal_representative" && m.revoked_at.is_none() && m.account_id == p.account.id)
    {
        return show(texts.ent_done).await;
    }
    match state.store().end_enterprise_roles(&tenant_id, &org.id, now).await {
        Ok(0) => {}
        Ok(n) => {
            let detail = json!({"organisation": org.id, "ended": n, "reason": "new legal representative"});
            audit(&state, &tenant_id, "enterprise_roles_ended", Some(&p.account.id), None, None, detail)
                .await;
        }
        Err(e) => return crate::http::pages::error_page(p.lang, &e.into()),
    }
    let m = membership(&state, &p.account, &org.id, "legal_representative", vec![], None, None, Some(now));
    if let Err(e) = state.store().insert_membership(&m).await {
        return crate::http::pages::error_page(p.lang, &e.into());
    }
    let detail = json!({"organisation": org.id, "membership": m.id});
    audit(&state, &tenant_id, "legal_representative_bound", Some(&p.account.id), None, None, detail).await;
    show(texts.ent_bound).await
}

#[allow(clippy::too_many_arguments)]
fn membership(
    state: &AppState,
    account: &Account,
    organisation_id: &str,
    kind: &str,
    matters: Vec<String>,
    window: Option<(i64, i64)>,
    granted_by: Option<String>,
    confirmed_at: Option<i64>,
) -> Membership {
    Membership {
        id: idp_core::crypto::random_token(state.env(), 9).replace(['-', '_'], "x"),
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        organisation_id: organisation_id.to_string(),
        kind: kind.into(),
        roles: vec![],
        created_at: state.env().now(),
        revoked_at: None,
        matters,
        starts_at: window.map(|w| w.0),
        expires_at: window.map(|w| w.1),
        confirmed_at,
        granted_by,
        source: None,
    }
}

/// When a mandate starts: now, or at the beginning (China Standard Time) of a later date
/// within a year; `None` for a date that does not parse, lies in the past or too far ahead.
fn mandate_start(date: Option<&str>, now: i64) -> Option<i64> {
    let date = date.map(str::trim).filter(|d| !d.is_empty());
    let Some(date) = date else { return Some(now) };
    let start = idp_core::identifiers::CalendarDate::parse_iso(date)?.start_in_china();
    let today = idp_core::identifiers::CalendarDate::from_unix_in_china(now).start_in_china();
    match start {
        s if s == today => Some(now),
        s if s > now && s <= now + MAX_DAYS * 86400 => Some(s),
        _ => None,
    }
}

/// The caller's active managing role (legal representative or administrator) in `org`.
async fn manager(state: &AppState, account: &Account, org: &str) -> Option<Membership> {
    let now = state.env().now();
    state.store().memberships(&account.id).await.ok()?.into_iter().find(|m| {
        m.organisation_id == org
            && m.active(now)
            && matches!(m.kind.as_str(), "legal_representative" | "enterprise_admin")
    })
}

/// Appoints an administrator (the legal representative only) or grants an agent a mandate.
pub async fn grant(
    state: State,
    Path((slug, org, what)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = p.lang.texts();
    let by = manager(&state, &p.account, &org).await;
    let allowed = match (what.as_str(), &by) {
        ("appoint", Some(m)) => m.kind == "legal_representative",
        ("mandate", Some(_)) => true,
        _ => false,
    };
    let Some(by) = by.filter(|_| allowed) else {
        return done(&state, &p, &headers, texts.ent_not_allowed).await;
    };
    let login = param(&p.params, "person").unwrap_or_default().trim().to_lowercase();
    let person = match state.store().account_by_typed_login(&p.t.tenant.id, &login).await {
        Ok(Some(a)) if !a.disabled => a,
        _ => return done(&state, &p, &headers, texts.counter_no_account).await,
    };
    let now = state.env().now();
    let m = if what == "appoint" {
        membership(&state, &person, &org, "enterprise_admin", vec![], None, Some(by.id.clone()), Some(now))
    } else {
        let matters: Vec<String> = param(&p.params, "matters")
            .unwrap_or_default()
            .split([',', '，', '、'])
            .map(|m| m.trim().chars().take(64).collect::<String>())
            .filter(|m| !m.is_empty())
            .take(MAX_MATTERS)
            .collect();
        let days = param(&p.params, "days").and_then(|d| d.trim().parse::<i64>().ok()).unwrap_or(0);
        let Some(start) = mandate_start(param(&p.params, "start"), now) else {
            return done(&state, &p, &headers, texts.ent_bad_start).await;
        };
        if matters.is_empty() || !(1..=MAX_DAYS).contains(&days) {
            return done(&state, &p, &headers, texts.ent_matters).await;
        }
        membership(
            &state,
            &person,
            &org,
            "agent",
            matters,
            Some((start, start + days * 86400)),
            Some(by.id.clone()),
            None,
        )
    };
    if let Err(e) = state.store().insert_membership(&m).await {
        return crate::http::pages::error_page(p.lang, &e.into());
    }
    let kind = if what == "appoint" { "enterprise_admin_appointed" } else { "mandate_granted" };
    let detail = json!({"organisation": org, "membership": m.id, "by": p.account.id, "matters": m.matters, "starts_at": m.starts_at, "expires_at": m.expires_at});
    audit(&state, &p.t.tenant.id, kind, Some(&person.id), None, None, detail).await;
    done(&state, &p, &headers, texts.ent_done).await
}

/// The agent confirms a mandate, or a manager of its enterprise ends a role in it.
pub async fn decide(
    state: State,
    Path((slug, id, what)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = p.lang.texts();
    let tenant_id = p.t.tenant.id.clone();
    let now = state.env().now();
    let Ok(Some(target)) = state.store().membership(&tenant_id, &id).await else {
        return done(&state, &p, &headers, texts.ent_not_allowed).await;
    };
    match what.as_str() {
        "confirm" => match state.store().confirm_membership(&tenant_id, &id, &p.account.id, now).await {
            Ok(true) => {
                let detail = json!({"organisation": target.organisation_id, "membership": id});
                audit(&state, &tenant_id, "mandate_confirmed", Some(&p.account.id), None, None, detail).await;
                done(&state, &p, &headers, texts.ent_done).await
            }
            _ => done(&state, &p, &headers, texts.ent_not_allowed).await,
        },
        "revoke" => {
            let may = target.kind != "legal_representative"
                && target.kind != "staff"
                && manager(&state, &p.account, &target.organisation_id).await.is_some();
            if !may {
                return done(&state, &p, &headers, texts.ent_not_allowed).await;
            }
            match state.store().revoke_membership(&tenant_id, &id, now).await {
                Ok(Some(m)) => {
                    let detail = json!({"organisation": m.organisation_id, "membership": id, "kind": m.kind, "by": p.account.id});
                    audit(
                        &state,
                        &tenant_id,
                        "enterprise_role_ended",
                        Some(&m.account_id),
                        None,
                        None,
                        detail,
                    )
                    .await;
                    done(&state, &p, &headers, texts.ent_done).await
                }
                // already ended: nothing left to do
                Ok(None) => done(&state, &p, &headers, texts.ent_done).await,
                Err(e) => crate::http::pages::error_page(p.lang, &e.into()),
            }
        }
        _ => done(&state, &p, &headers, texts.ent_not_allowed).await,
    }
}
