//! Linked sign-in providers on the account pages (security section): which upstream identity
//! providers the account is linked to, since when and last used, and unlinking one — only
//! while another way into the account remains (a password, a phone number for SMS codes, a
//! passkey, or another linked provider), and, like the other factors, with a session that used
//! a second factor once the account has one (`may_change_factors`).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::Account;
use serde_json::json;

use super::{Posted, Section, posted, show_account};
use crate::http::pages::error_page;
use crate::http::see_other;
use crate::http::session::audit;
use crate::http::texts::Texts;
use crate::state::{AppState, TenantCtx};

/// A linked provider as the page lists it.
pub struct LinkRow {
    pub upstream: String,
    pub name: String,
    pub since: String,
    pub last_used: Option<String>,
}

pub(crate) async fn rows(state: &AppState, t: &TenantCtx, texts: &Texts, account: &Account) -> Vec<LinkRow> {
    let now = state.env().now();
    let links = state.store().upstream_links(&account.id).await.unwrap_or_default();
    links
        .into_iter()
        .map(|l| LinkRow {
            name: crate::http::upstreams::name_of(t, texts, &l.upstream_id),
            since: t.local(l.created_at, now),
            last_used: l.last_used_at.map(|u| t.local(u, now)),
            upstream: l.upstream_id,
        })
        .collect()
}

/// Whether the account keeps a way in without its link to `upstream`.
async fn another_way_in(state: &AppState, t: &TenantCtx, account: &Account, upstream: &str) -> bool {
    if account.password_hash.is_some() {
        return true;
    }
    let sms = state.sms.is_some() && t.tenant.settings.factors.sms_signin;
    if sms && account.phone.is_some() && account.phone_verified_at.is_some() {
        return true;
    }
    let keys = state.store().webauthn_credentials(&account.id).await.unwrap_or_default();
    if state.passkeys.is_some() && keys.iter().any(|k| k.kind == "passkey") {
        return true;
    }
    let links = state.store().upstream_links(&account.id).await.unwrap_or_default();
    links.iter().any(|l| {
        l.upstream_id != upstream && t.upstreams.iter().any(|u| u.id == l.upstream_id && !u.disabled)
    })
}

/// `POST /t/{tenant}/account/links/{upstream}/remove`.
pub async fn unlink(
    state: crate::http::State,
    Path((slug, upstream)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let problem = if !super::may_change_factors(&state, &t, &session).await.unwrap_or(false) {
        Some(texts.need_aal2)
    } else if !another_way_in(&state, &t, &account, &upstream).await {
        Some(texts.link_last_way)
    } else {
        None
    };
    if problem.is_some() {
        return show_account(&state, &t, lang, &headers, &session, &account, Section::Security, problem)
            .await;
    }
    let links = state.store().upstream_links(&account.id).await.unwrap_or_default();
    let subject = links.into_iter().find(|l| l.upstream_id == upstream).map(|l| l.subject);
    match state.store().delete_upstream_link(&account.id, &upstream).await {
        Ok(true) => {
            let detail = json!({"upstream": upstream, "sid": session.sid});
            audit(&state, &t.tenant.id, "upstream_unlinked", Some(&account.id), None, None, detail).await;
            // the sessions it began end with it (this one too, if it did)
            if let Some(subject) = subject {
                let from = Some(account.id.as_str());
                crate::http::upstreams::end_sessions_from(&state, &t, &upstream, Some(&subject), None, from)
                    .await;
            }
            see_other(&Section::Security.url(&t))
        }
        Ok(false) => see_other(&Section::Security.url(&t)),
        Err(e) => error_page(lang, &e.into()),
    }
}
