//! The phone's side of a kiosk sign-in (RFC 8628 §3.3): the verification page a person reaches
//! by scanning the kiosk's QR code (`verification_uri_complete`) or by typing the user code. It
//! needs a signed-in session (a sign-in comes back here), shows the kiosk's name, its hall
//! location, its operator and what it will receive, and asks to approve or deny. The kiosk's
//! tokens come from its own poll (`idp_core::device`); nothing here touches the kiosk's side,
//! and the phone's session is never shared with it.
//!
//! `/device/qr.svg?user_code=` draws the verification URI with the code as an SVG QR code for
//! kiosks that do not draw their own.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::device::{display, normalise_user_code};
use idp_core::model::{Account, Authorization, Client, DeviceGrant, Session};
use idp_core::{OAuthError, scope};

use crate::http::account::{Posted, posted, signed_in_to};
use crate::http::pages::{Lang, Texts, error_page, message_page, render, with_form_action};
use crate::http::{State, param};
use crate::state::{AppState, TenantCtx};

/// The kiosk asking, as the page shows it.
pub struct Kiosk {
    pub client_name: String,
    pub organisation: Option<String>,
    pub location: Option<String>,
    pub user_code: String,
    pub scopes: Vec<(&'static str, Option<String>)>,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub t: &'a Texts,
    pub lang_switch: Option<String>,
    pub error: Option<&'a str>,
    pub kiosk: Option<Kiosk>,
    pub username: &'a str,
    pub action: String,
    pub csrf: &'a str,
}

fn user_code_of(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default()).ok()?;
    pairs.into_iter().find(|(k, _)| k == "user_code").map(|(_, v)| v)
}

/// The live grant of a typed user code, and its kiosk.
async fn pending(
    state: &AppState,
    t: &TenantCtx,
    typed: &str,
) -> Result<Option<(DeviceGrant, Client)>, OAuthError> {
    let Some(code) = normalise_user_code(typed) else { return Ok(None) };
    let now = state.env().now();
    let grant = state.store().device_grant_by_user_code(&t.tenant.id, &code).await?;
    let Some(g) = grant.filter(|g| g.status == "pending" && g.expires_at > now) else { return Ok(None) };
    let client = state.store().client(&t.tenant.id, &g.client_id).await?;
    Ok(client.filter(|c| !c.disabled).map(|c| (g, c)))
}

fn page(
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
    account: &Account,
    kiosk: Option<Kiosk>,
    error: Option<&str>,
) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let shown = crate::http::words::shown_name(account);
    let page = DevicePage {
        t: lang.texts(),
        lang_switch: None,
        error,
        kiosk,
        username: &shown,
        action: format!("/t/{}/device", t.tenant.slug),
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), None)
}

/// The per-person limit on trying user codes (the signed-in session's account): the sign-in
/// limit per account, so that guessing codes is as slow as guessing passwords.
async fn limited(state: &AppState, t: &TenantCtx, account: &Account, lang: Lang) -> Option<Response> {
    let key = format!("device:{}:{}", t.tenant.id, account.id);
    // counted in the database on PostgreSQL: the limit holds across every node
    let now = state.env().now();
    state.limits.signin_account.check_shared(state.store(), now, &key).await.err().map(|_| {
        let e = OAuthError::new("slow_down", lang.texts().device_unknown).with_status(429);
        error_page(lang, &e)
    })
}

/// `GET /device[?user_code=]`: the code form, or the kiosk's question.
pub async fn show(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let typed = user_code_of(q.as_deref());
    let back = match &typed {
        Some(c) => format!("device?{}", serde_urlencoded::to_string([("user_code", c)]).unwrap_or_default()),
        None => "device".into(),
    };
    let (t, lang, session, account) = match signed_in_to(&state, &slug, &headers, &back, None).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(typed) = typed else { return page(&t, lang, &headers, &account, None, None) };
    if let Some(r) = limited(&state, &t, &account, lang).await {
        return r;
    }
    let (grant, client) = match pending(&state, &t, &typed).await {
        Ok(Some(v)) => v,
        Ok(None) => return page(&t, lang, &headers, &account, None, Some(lang.texts().device_unknown)),
        Err(e) => return error_page(lang, &e),
    };
    // the kiosk's requirements and the person's own: a stronger sign-in first (and back
    // here), real-name level
    if let Some(acr) = approval_level(&client, &session)
        && !idp_core::policy::satisfies(&session.acr, Some(acr))
    {
        // without a second factor there is nothing to step up with: say what to do
        match crate::http::signin::factor::factors_of(&state, &t, &account.id).await {
            Ok(f) if !f.any() => {
                let texts = lang.texts();
                return message_page(
                    lang,
                    StatusCode::FORBIDDEN,
                    texts.device_title,
                    texts.device_needs_factor,
                );
            }
            Ok(_) => {}
            Err(e) => return error_page(lang, &e),
        }
        return match signed_in_to(&state, &slug, &headers, &back, Some(acr)).await {
            Ok(_) => error_page(lang, &OAuthError::server_error("step-up")),
            Err(r) => r,
        };
    }
    if let Some(r) = realname_short(&state, &client, &account, lang).await {
        return r;
    }
    let kiosk = kiosk(lang, &grant, &client);
    page(&t, lang, &headers, &account, Some(kiosk), None)
}

/// The level approving a kiosk's sign-in needs: the stronger of the kiosk's minimum and what
/// the person's own roles demand (carried by the session, docs/domain.md: staff and administrators
/// need `aal2`), so an administrator without a second factor approves nothing at `aal1`.
fn approval_level(client: &Client, session: &Session) -> Option<&'static str> {
    idp_core::policy::strongest(
        idp_core::policy::required(None, client.settings.min_acr.as_deref()),
        idp_core::policy::required(None, session.min_acr.as_deref()),
    )
}

fn kiosk(lang: Lang, grant: &DeviceGrant, client: &Client) -> Kiosk {
    let scopes = grant
        .scope
        .iter()
        .filter_map(|s| scope::info(s))
        .map(|i| (if lang == Lang::En { i.en } else { i.zh }, client.settings.purposes.get(i.name).cloned()))
        .collect();
    Kiosk {
        client_name: client.name.clone(),
        organisation: client.settings.organisation.clone(),
        location: client.settings.location.clone(),
        user_code: display(&grant.user_code),
        scopes,
    }
}

/// A page saying the person's real-name level is below the kiosk's, if it is.
async fn realname_short(
    state: &AppState,
    client: &Client,
    account: &Account,
    lang: Lang,
) -> Option<Response> {
    let need = client.settings.min_realname_level?;
    let level = match state.store().real_name(&account.id).await {
        Ok(r) => r.map_or(0, |r| r.level),
        Err(e) => return Some(error_page(lang, &e.into())),
    };
    let t = lang.texts();
    (level < need).then(|| message_page(lang, StatusCode::FORBIDDEN, t.device_title, t.device_realname))
}

/// `POST /device`: the person's decision.
pub async fn decide(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(r) = limited(&state, &t, &account, lang).await {
        return r;
    }
    let texts = lang.texts();
    let typed = param(&params, "user_code").unwrap_or_default();
    let (grant, client) = match pending(&state, &t, typed).await {
        Ok(Some(v)) => v,
        Ok(None) => return page(&t, lang, &headers, &account, None, Some(texts.device_unknown)),
        Err(e) => return error_page(lang, &e),
    };
    let allow = param(&params, "decision") == Some("allow");
    if allow {
        // the same requirements as the question page
        let acr_ok = idp_core::policy::satisfies(&session.acr, approval_level(&client, &session));
        if !acr_ok {
            return error_page(
                lang,
                &OAuthError::new("access_denied", texts.device_unknown).with_status(403),
            );
        }
        if let Some(r) = realname_short(&state, &client, &account, lang).await {
            return r;
        }
    }
    let authz = allow.then(|| approval(&t, &session, &grant, state.env().now()));
    match idp_core::device::decide(state.store(), state.env(), &grant, authz, &account.id).await {
        Ok(true) => {}
        Ok(false) => return page(&t, lang, &headers, &account, None, Some(texts.device_unknown)),
        Err(e) => return error_page(lang, &e),
    }
    let kind = if allow { "device_approved" } else { "device_denied" };
    let detail = serde_json::json!({"scope": grant.scope, "location": client.settings.location});
    crate::http::session::audit(
        &state,
        &t.tenant.id,
        kind,
        Some(&account.id),
        Some(&client.client_id),
        None,
        detail,
    )
    .await;
    let message = if allow { texts.device_approved } else { texts.device_denied };
    message_page(lang, StatusCode::OK, texts.device_title, message)
}

/// What the kiosk's tokens say: this person, as signed in on the phone, for the scopes the
/// kiosk asked, consented to now; no `sid` (the kiosk shares no session) and no nonce.
fn approval(t: &TenantCtx, session: &Session, grant: &DeviceGrant, now: i64) -> Authorization {
    Authorization {
        tenant_id: t.tenant.id.clone(),
        client_id: grant.client_id.clone(),
        account_id: Some(session.account_id.clone()),
        scope: grant.scope.clone(),
        sid: None,
        auth_time: Some(session.auth_time),
        acr: Some(session.acr.clone()),
        amr: session.amr.clone(),
        nonce: None,
        act_as: "self".into(),
        context: None,
        claims: None,
        resource: None,
        consented_at: Some(now),
    }
}

/// `GET /device/qr.svg?user_code=`: the verification URI with the code, as a QR code.
pub async fn qr(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Ok(Some(t)) = state.tenant(&slug).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(code) = user_code_of(q.as_deref()).as_deref().and_then(normalise_user_code) else {
        return (StatusCode::BAD_REQUEST, "user_code is XXXX-XXXX").into_response();
    };
    let uri = format!("{}/device?user_code={}", t.endpoints.issuer, display(&code));
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|c| c.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).build())
        .unwrap_or_default();
    let mut res = svg.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    res
}
