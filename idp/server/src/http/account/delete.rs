//! Deleting one's own account (docs/domain.md "Account deletion removes personal data
//! and anonymises the audit trail that must be kept"). The person types their username to
//! confirm, from a session that used their second factor if they have one; administrators
//! cannot delete themselves (another administrator must take their roles first). Every session
//! ends everywhere (back- and front-channel logout), then `Store::delete_account` removes in
//! one transaction what describes the person — username, name, phone, email, password hash,
//! factors, real name and ID number, memberships, grants — and revokes all their tokens.
//!
//! The audit trail is append-only and hash-chained, so it is not edited: its records name the
//! account only by its random id, which after deletion resolves to nobody, and their details
//! carry identifiers of records, never a name, number, phone or address book entry; sign-in
//! records keep the network address, which the security baseline requires for the retention
//! period.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::http::State;
use crate::http::account::{Posted, may_change_factors, posted, show_account};
use crate::http::pages::error_page;
use crate::http::param;

/// `POST /account/delete` with `confirm` = the username.
pub async fn delete(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let refuse = |message| {
        show_account(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            crate::http::account::Section::Delete,
            Some(message),
        )
    };
    if param(&params, "confirm").map(str::trim) != Some(account.username.as_str()) {
        return refuse(texts.delete_wrong_confirm).await;
    }
    if account.roles.iter().any(|r| idp_core::admin::ADMIN_ROLES.contains(&r.as_str())) {
        return refuse(texts.delete_admin).await;
    }
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => return refuse(texts.need_aal2).await,
        Err(e) => return error_page(lang, &e),
    }
    let live = match state.store().account_sessions(&t.tenant.id, &account.id, state.env().now()).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, &e.into()),
    };
    let frames = match crate::http::signed_out::end_sessions(&state, &t, &live, Some(&session.sid)).await {
        Ok(f) => f,
        Err(e) => return error_page(lang, &e),
    };
    match state.store().delete_account(&t.tenant.id, &account.id).await {
        Ok(_) => {}
        Err(e) => return error_page(lang, &e.into()),
    }
    crate::http::session::audit(
        &state,
        &t.tenant.id,
        "account_deleted",
        Some(&account.id),
        None,
        None,
        serde_json::json!({}),
    )
    .await;
    crate::http::signed_out::here(&state, &t, lang, &frames, None, (texts.deleted_title, texts.deleted_text))
}
