//! The person's grants on the account pages (docs/domain.md "Consent"): what each
//! department was granted and when, under which purposes; withdrawing a grant revokes every
//! token of that client for the person at once (`Store::withdraw_grant`), and the client's next
//! sign-in asks again.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::Account;

use crate::http::State;
use crate::http::account::{Posted, posted, show_account};
use crate::http::pages::{Lang, error_page};
use crate::state::{AppState, TenantCtx};

/// A grant on the account page.
pub struct GrantRow {
    pub client_id: String,
    pub client: String,
    /// The receiving department, when the client names one.
    pub organisation: Option<String>,
    /// Each granted scope in plain words, with the client's purpose when it gave one.
    pub items: Vec<String>,
    pub since: String,
}

/// The account's grants, most recently changed first.
pub(crate) async fn rows(state: &AppState, t: &TenantCtx, account: &Account, lang: Lang) -> Vec<GrantRow> {
    let grants = state.store().account_grants(&t.tenant.id, &account.id).await.unwrap_or_default();
    let mut out = vec![];
    for g in grants {
        let client = state.store().client(&t.tenant.id, &g.client_id).await.ok().flatten();
        let items = g
            .scopes
            .iter()
            .filter(|s| *s != "openid")
            .map(|s| {
                let words = idp_core::scope::SCOPES
                    .iter()
                    .find(|i| i.name == s)
                    .map(|i| if lang == Lang::Zh { i.zh } else { i.en })
                    .unwrap_or(s.as_str());
                match client.as_ref().and_then(|c| c.settings.purposes.get(s)) {
                    Some(purpose) => format!("{words} ({purpose})"),
                    None => words.to_string(),
                }
            })
            .collect();
        out.push(GrantRow {
            client: client.as_ref().map(|c| c.name.clone()).unwrap_or_else(|| g.client_id.clone()),
            organisation: client.and_then(|c| c.settings.organisation),
            client_id: g.client_id,
            items,
            since: t.local(g.updated_at, state.env().now()),
        });
    }
    out
}

/// `POST /account/grants/{client}/withdraw`.
pub async fn withdraw(
    state: State,
    Path((slug, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted { t, lang, session, account, .. } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    match state.store().withdraw_grant(&t.tenant.id, &account.id, &client_id).await {
        Ok(true) => {
            let detail = serde_json::json!({});
            crate::http::session::audit(
                &state,
                &t.tenant.id,
                "grant_withdrawn",
                Some(&account.id),
                Some(&client_id),
                None,
                detail,
            )
            .await;
            super::show_account_done(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Privacy,
                texts.grants_withdrawn,
            )
            .await
        }
        Ok(false) => {
            show_account(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Privacy,
                Some(texts.grants_none),
            )
            .await
        }
        Err(e) => error_page(lang, &e.into()),
    }
}
