//! The person's sessions and sign-in history on the account pages: every live
//! session of the account with when it began, when it was last used and how the person signed
//! in, this browser's marked; end one, or all the others. And the latest sign-ins and failed
//! attempts with their addresses, from the audit trail.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::{Account, Session};

use crate::http::State;
use crate::http::account::{Posted, posted, show_account_done};
use crate::http::pages::{Texts, error_page};
use crate::state::{AppState, TenantCtx};

/// A live session on the account page.
pub struct SessionRow {
    pub sid: String,
    pub created: String,
    pub last_seen: String,
    /// The assurance level (for machines: a `data-` attribute).
    pub acr: String,
    /// How the person signed in, in plain words: "两步验证 · 密码 + 身份验证器".
    pub how: String,
    /// The session of this browser.
    pub current: bool,
    /// The browser and system it signed in from ("Chrome · Windows") as the browser said, when
    /// known, and the address it signed in from: a label alone could be copied.
    pub device: String,
    pub ip: String,
}

/// The account's live sessions, newest first.
pub(crate) async fn rows(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    current: &Session,
    texts: &Texts,
) -> Vec<SessionRow> {
    let now = state.env().now();
    let mut list = state.store().account_sessions(&t.tenant.id, &account.id, now).await.unwrap_or_default();
    list.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    // each session's device, from the label its sign-in recorded (`words::device`)
    let signins = state
        .store()
        .account_events(&t.tenant.id, &account.id, "login_success", 100)
        .await
        .unwrap_or_default();
    let signin = |sid: &str| signins.iter().find(|e| e.detail["sid"].as_str() == Some(sid));
    let device =
        |sid: &str| signin(sid).and_then(|e| e.detail["device"].as_str()).unwrap_or_default().to_string();
    let ip = |sid: &str| signin(sid).and_then(|e| e.ip.clone()).unwrap_or_default();
    list.into_iter()
        .map(|s| SessionRow {
            device: device(&s.sid),
            ip: ip(&s.sid),
            current: s.sid == current.sid,
            created: t.local(s.created_at, now),
            last_seen: t.local(s.last_seen, now),
            how: format!(
                "{} · {}",
                crate::http::words::strength(&s.acr, texts),
                crate::http::words::methods(&s.amr, texts)
            ),
            acr: s.acr,
            sid: s.sid,
        })
        .collect()
}

/// The latest sign-ins (with how, in plain words) and failed attempts: (when, what, address).
pub(crate) async fn history(
    state: &AppState,
    t: &TenantCtx,
    account: &Account,
    texts: &Texts,
) -> Vec<(String, String, String)> {
    let mut events = vec![];
    for (kind, label) in [("login_success", texts.history_ok), ("login_failure", texts.history_failed)] {
        let found =
            state.store().account_events(&t.tenant.id, &account.id, kind, 10).await.unwrap_or_default();
        events.extend(found.into_iter().map(|e| {
            let amr: Vec<String> = e.detail["amr"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let what = match amr.is_empty() {
                true => label.to_string(),
                false => format!("{label} · {}", crate::http::words::methods(&amr, texts)),
            };
            (e.at, what, e.ip.unwrap_or_default())
        }));
    }
    events.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    events.truncate(10);
    let now = state.env().now();
    events.into_iter().map(|(at, label, ip)| (t.local(at, now), label, ip)).collect()
}

/// `POST /account/sessions/{sid}/end` (`others`: every session but this one).
pub async fn end(
    state: State,
    Path((slug, which)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = state.env().now();
    let live = match state.store().account_sessions(&t.tenant.id, &account.id, now).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, &e.into()),
    };
    // only the account's own sessions; `others` keeps this browser's
    let ending: Vec<Session> = live
        .into_iter()
        .filter(|s| if which == "others" { s.sid != session.sid } else { s.sid == which })
        .collect();
    // this browser's own session, if it began through an upstream, is signed out there too
    let home = format!("/t/{}/account", t.tenant.slug);
    let onward = match ending.iter().any(|s| s.sid == session.sid) {
        true => crate::http::upstreams::onward(&state, &t, &session.sid, Some(&home)).await,
        false => None,
    };
    // their clients are told (back-channel); this browser's own also loads the front-channel
    // pages below
    let frames = match crate::http::signed_out::end_sessions(&state, &t, &ending, Some(&session.sid)).await {
        Ok(f) => f,
        Err(e) => return error_page(lang, &e),
    };
    let detail = serde_json::json!({"sessions": ending.iter().map(|s| &s.sid).collect::<Vec<_>>()});
    crate::http::session::audit(
        &state,
        &t.tenant.id,
        "sessions_ended_by_person",
        Some(&account.id),
        None,
        None,
        detail,
    )
    .await;
    if ending.iter().any(|s| s.sid == session.sid) {
        // this browser's own: signed out here too
        let tx = lang.texts();
        return crate::http::signed_out::here(
            &state,
            &t,
            lang,
            &frames,
            Some(onward.as_deref().unwrap_or(&home)),
            (tx.signed_out, tx.signed_out_text),
        );
    }
    let texts = lang.texts();
    show_account_done(
        &state,
        &t,
        lang,
        &headers,
        &session,
        &account,
        crate::http::account::Section::Devices,
        texts.sessions_ended,
    )
    .await
}
