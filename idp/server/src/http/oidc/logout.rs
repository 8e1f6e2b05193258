//! RP-Initiated Logout 1.0: `id_token_hint`, `client_id`, `post_logout_redirect_uri` (exact
//! match against the client's registered list, never an open redirect), `state`,
//! `ui_locales`. The person confirms unless the hint proves the request comes from the
//! session's own relying party.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idp_core::OAuthError;
use serde::Deserialize;
use serde_json::json;

use crate::http::fronts::tenant;
use crate::http::pages::{Lang, LogoutConfirmPage, MessagePage, error_page, render};
use crate::http::session::{audit, browser_binding, browser_cookie, csrf_ok};
use crate::http::{State, body_text, param, parse_params, require_form};
use crate::state::{AppState, TenantCtx};

#[derive(Deserialize)]
struct HintClaims {
    aud: serde_json::Value,
    sub: String,
    sid: Option<String>,
}

/// Where to go after logout, once validated.
struct Plan {
    redirect: Option<String>,
    hint_matches_session: bool,
    client_id: Option<String>,
}

async fn plan(
    state: &AppState,
    t: &TenantCtx,
    params: &[(String, String)],
    session: Option<&idp_core::model::Session>,
) -> Result<Plan, OAuthError> {
    let mut client_id = param(params, "client_id").filter(|c| !c.is_empty()).map(str::to_string);
    let mut hint_matches_session = false;
    if let Some(hint) = param(params, "id_token_hint").filter(|h| !h.is_empty()) {
        // an ID token, not an access or logout token signed with the same keys
        if idp_core::keys::KeySet::typ_of(hint).as_deref() != Some("JWT") {
            return Err(OAuthError::invalid_request("The id_token_hint is not an ID token."));
        }
        let claims: HintClaims =
            t.keys.verify(hint, &t.endpoints.issuer, true, state.env().now()).map_err(|e| {
                OAuthError::invalid_request("The id_token_hint is not valid.").with_detail(e.to_string())
            })?;
        let aud = match &claims.aud {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        if client_id.as_ref().is_some_and(|c| *c != aud) {
            return Err(OAuthError::invalid_request("client_id does not match the id_token_hint."));
        }
        // the hint's sub is the one its client sees (pairwise in a sector)
        let sector = match state.store().client(&t.tenant.id, &aud).await? {
            Some(c) => c.settings.sector,
            None => None,
        };
        client_id = Some(aud);
        hint_matches_session = session.is_some_and(|s| {
            idp_core::keys::subject(&t.keys, sector.as_deref(), &s.account_id) == claims.sub
                && claims.sid.as_ref().is_none_or(|sid| *sid == s.sid)
        });
    }
    let redirect = match param(params, "post_logout_redirect_uri").filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let id = client_id.as_deref().ok_or_else(|| {
                OAuthError::invalid_request("post_logout_redirect_uri needs client_id or id_token_hint.")
            })?;
            let client = state
                .store()
                .client(&t.tenant.id, id)
                .await?
                .filter(|c| !c.disabled)
                .ok_or_else(|| OAuthError::invalid_request("The client is unknown."))?;
            if !client.settings.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(OAuthError::invalid_request(
                    "The post_logout_redirect_uri is not registered for this client.",
                ));
            }
            let mut url = uri.to_string();
            if let Some(s) = param(params, "state") {
                let q = serde_urlencoded::to_string([("state", s)]).unwrap_or_default();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&q);
            }
            Some(url)
        }
    };
    Ok(Plan { redirect, hint_matches_session, client_id })
}

pub async fn get(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    handle(&state, &slug, peer, &headers, q.as_deref().unwrap_or_default()).await
}

pub async fn post(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match require_form(&headers).and_then(|_| body_text(&body)) {
        Ok(raw) => handle(&state, &slug, peer, &headers, raw).await,
        Err(e) => error_page(Lang::pick(None, &headers), &e),
    }
}

async fn handle(
    state: &Arc<AppState>,
    slug: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    raw: &str,
) -> Response {
    let params = match parse_params(raw) {
        Ok(p) => p,
        Err(e) => return error_page(Lang::pick(None, headers), &e),
    };
    let lang = Lang::pick(param(&params, "ui_locales"), headers);
    let t = match tenant(state, slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let session = match crate::http::session::current(state, &t, headers).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &e),
    };
    let plan = match plan(state, &t, &params, session.as_ref()).await {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    if session.is_none() || plan.hint_matches_session {
        let ip = crate::http::client_ip(state, headers, peer);
        return finish(state, &t, session.as_ref(), &plan, lang, &ip).await;
    }
    // Ask the person: a logout request without proof could come from anywhere.
    let (binding, is_new) = browser_binding(headers);
    let carry: Vec<(String, String)> =
        ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"]
            .iter()
            .filter_map(|k| param(&params, k).map(|v| (k.to_string(), v.to_string())))
            .collect();
    let res = render(
        StatusCode::OK,
        &LogoutConfirmPage {
            t: lang.texts(),
            lang_switch: None,
            action: format!("/t/{}/end_session/confirm", t.tenant.slug),
            csrf: &binding,
            carry,
        },
    );
    let mut res = crate::http::pages::with_form_action(res, plan.redirect.as_deref());
    if is_new {
        res.headers_mut().append(header::SET_COOKIE, browser_cookie(state, &t, &binding));
    }
    res
}

pub async fn confirm(
    state: State,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang0 = Lang::pick(None, &headers);
    let params = match require_form(&headers).and_then(|_| body_text(&body)).and_then(parse_params) {
        Ok(p) => p,
        Err(e) => return error_page(lang0, &e),
    };
    let lang = Lang::pick(param(&params, "ui_locales"), &headers);
    if !csrf_ok(&headers, param(&params, "csrf"), None) {
        return error_page(lang, &OAuthError::invalid_request(lang.texts().bad_csrf).with_status(403));
    }
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let session = match crate::http::session::current(&state, &t, &headers).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &e),
    };
    let plan = match plan(&state, &t, &params, session.as_ref()).await {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    if param(&params, "decision") != Some("yes") {
        let tx = lang.texts();
        let account = format!("/t/{}/account", t.tenant.slug);
        let page = MessagePage {
            t: tx,
            lang_switch: None,
            title: tx.stay_signed_in,
            message: tx.still_signed_in,
            home: Some(&account),
        };
        return render(StatusCode::OK, &page);
    }
    let ip = crate::http::client_ip(&state, &headers, peer);
    finish(&state, &t, session.as_ref(), &plan, lang, &ip).await
}

async fn finish(
    state: &AppState,
    t: &TenantCtx,
    session: Option<&idp_core::model::Session>,
    plan: &Plan,
    lang: Lang,
    ip: &str,
) -> Response {
    let mut frames = vec![];
    // a session that began through an upstream: its logout goes on there, then to `redirect`
    let mut onward = None;
    if let Some(s) = session {
        onward = crate::http::upstreams::onward(state, t, &s.sid, plan.redirect.as_deref()).await;
        // every client of the session is told: back-channel in the background, front-channel
        // on the page below
        frames = match crate::http::signed_out::end_sessions(state, t, std::slice::from_ref(s), Some(&s.sid))
            .await
        {
            Ok(f) => f,
            Err(e) => return error_page(lang, &e),
        };
        audit(
            state,
            &t.tenant.id,
            "logout",
            Some(&s.account_id),
            plan.client_id.as_deref(),
            Some(ip),
            json!({"sid": s.sid}),
        )
        .await;
    }
    let tx = lang.texts();
    crate::http::signed_out::here(
        state,
        t,
        lang,
        &frames,
        onward.as_deref().or(plan.redirect.as_deref()),
        (tx.signed_out, tx.signed_out_text),
    )
}
