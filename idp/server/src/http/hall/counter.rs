//! The service-hall counter (docs/domain.md "Service halls and kiosks"): a clerk — staff with the
//! `clerk` role, signed in with two factors — checks a person and the original document and
//! raises the person's account to real-name level 4. The binding records the clerk as its
//! verifier and the audit event names both (the person's account, the clerk in its detail).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::model::{Account, Session};
use idp_core::policy;

use crate::http::account::{Posted, base, posted, signed_in};
use crate::http::pages::{CounterPage, Lang, Texts, id_types, render, with_form_action};
use crate::http::session::browser_binding;
use crate::http::signin::realname::{Via, bind};
use crate::http::{State, param};
use crate::state::TenantCtx;

fn is_clerk(session: &Session, account: &Account) -> bool {
    policy::satisfies(&session.acr, Some("aal2")) && account.roles.iter().any(|r| r == "clerk")
}

fn page(
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    clerk: &Account,
    allowed: bool,
    message: Option<&str>,
) -> Response {
    let texts: &Texts = lang.texts();
    let (csrf, _) = browser_binding(headers);
    let page = CounterPage {
        t: texts,
        lang_switch: None,
        clerk: &clerk.username,
        allowed,
        message,
        base: base(t),
        csrf: &csrf,
        id_types: id_types(texts),
    };
    let status = if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
    with_form_action(render(status, &page), None)
}

pub async fn show(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    match signed_in(&state, &slug, &headers).await {
        Ok((t, lang, session, account)) => {
            let allowed = is_clerk(&session, &account);
            let msg = (!allowed).then_some(lang.texts().counter_not_clerk);
            page(&t, lang, &headers, &account, allowed, msg)
        }
        Err(r) => r,
    }
}

pub async fn check(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account: clerk, params } =
        match posted(&state, &slug, &headers, &body).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    let texts = lang.texts();
    if !is_clerk(&session, &clerk) {
        return page(&t, lang, &headers, &clerk, false, Some(texts.counter_not_clerk));
    }
    let login = param(&params, "person").unwrap_or_default().trim().to_lowercase();
    let person = match state.store().account_by_typed_login(&t.tenant.id, &login).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => return page(&t, lang, &headers, &clerk, true, Some(texts.counter_no_account)),
        Err(e) => return crate::http::pages::error_page(lang, &e.into()),
    };
    if param(&params, "checked") != Some("yes") {
        return page(&t, lang, &headers, &clerk, true, Some(texts.counter_checked));
    }
    let name = param(&params, "name").unwrap_or_default();
    let id_type = param(&params, "id_type").unwrap_or_default();
    let number = param(&params, "id_number").unwrap_or_default();
    let message = match bind(&state, &t, &person, name, id_type, number, Via::Counter { clerk: &clerk }).await
    {
        Ok(_) => texts.counter_done.to_string(),
        Err(r) => r.message(texts),
    };
    page(&t, lang, &headers, &clerk, true, Some(&message))
}
