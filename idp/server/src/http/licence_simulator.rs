//! The electronic business licence system's simulator (`[licence] provider = "simulator"`,
//! `crate::outbound::licence::Simulator`): the page that stands in for the licence app, where
//! the tester says which enterprise, who they are and in which role they act (for an agent,
//! the authorised matters and period). It answers as the licence system would: back to this
//! provider's callback with a one-time code for the result, or `error=access_denied`. Served
//! only when the simulator is the configured connector, for a tenant with a licence upstream.
//!
//! `POST /t/{tenant}/licence-simulator/notification` makes the notification the licence
//! system would send when an authorisation is revoked or a licence cancelled, signed with the
//! simulator's SM2 key, and answers it (`application/jwt`): the tester delivers it to the
//! upstream's notification address as the licence system would.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::licence::{LicenceResult, ROLES, WHOLE};

use crate::http::pages::{Lang, LicenceSimulatorPage, error_page, render};
use crate::http::{State, body_text, param, parse_params, require_form, see_other};
use crate::state::{AppState, TenantCtx};

const FIELDS: &[&str] = &["upstream", "state", "party"];
const TYPED: &[&str] = &["uscc", "enterprise", "name", "id_number", "matters", "days", "authorisation"];

fn not_found(lang: Lang) -> Response {
    error_page(lang, &OAuthError::invalid_request("Not found.").with_status(404))
}

fn page(lang: Lang, slug: &str, params: &[(String, String)], error: Option<&str>) -> Response {
    let t = lang.texts();
    let get = |k: &str| param(params, k).unwrap_or_default();
    let role = get("role");
    let words = [t.lic_sim_rep, t.lic_sim_manager, t.lic_sim_agent];
    let roles =
        ROLES.iter().zip(words).map(|((r, _), w)| (r.to_string(), w.to_string(), *r == role)).collect();
    let p = LicenceSimulatorPage {
        t,
        lang_switch: None,
        action: format!("/t/{slug}/licence-simulator"),
        carry: FIELDS.iter().map(|k| (k.to_string(), get(k).to_string())).collect(),
        roles,
        party: get("party").to_string(),
        typed: TYPED.iter().map(|k| (k.to_string(), get(k).to_string())).collect(),
        error: error.map(str::to_string),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(status, &p)
}

/// The tenant, when the simulator is configured and `upstream` is one of its licence upstreams.
async fn opened(state: &AppState, slug: &str, upstream: &str) -> Option<std::sync::Arc<TenantCtx>> {
    if state.licence().is_none_or(|c| c.name() != "simulator") || !crate::ops::valid_slug(upstream) {
        return None;
    }
    let t = state.tenant(slug).await.ok()??;
    t.upstreams.iter().any(|u| u.id == upstream && u.settings.licence.is_some()).then_some(t)
}

/// The parameters a sign-in carries, bounded.
fn valid(params: &[(String, String)]) -> bool {
    FIELDS.iter().all(|k| param(params, k).is_some_and(|v| v.len() <= 256))
        && TYPED.iter().all(|k| param(params, k).is_none_or(|v| v.len() <= 1024))
}

/// `GET /t/{tenant}/licence-simulator`.
pub async fn show(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = parse_params(q.as_deref().unwrap_or_default()).unwrap_or_default();
    if opened(&state, &slug, param(&params, "upstream").unwrap_or_default()).await.is_none() {
        return not_found(lang);
    }
    if !valid(&params) {
        return error_page(lang, &OAuthError::invalid_request("The request is incomplete."));
    }
    page(lang, &slug, &params, None)
}

/// The matters typed: `*` alone for a whole authorisation, or the itemised ones.
fn matters(typed: &str) -> Vec<String> {
    let items: Vec<String> =
        typed.split([',', '，', '、']).map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    if items.iter().any(|m| m == WHOLE) { vec![WHOLE.to_string()] } else { items }
}

/// `POST /t/{tenant}/licence-simulator`: the person confirmed in the app, or cancelled.
pub async fn answer(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match require_form(&headers).and_then(|_| parse_params(body_text(&body)?)) {
        Ok(p) if valid(&p) => p,
        _ => return error_page(lang, &OAuthError::invalid_request("The request is incomplete.")),
    };
    let get = |k: &str| param(&params, k).unwrap_or_default();
    let Some(t) = opened(&state, &slug, get("upstream")).await else { return not_found(lang) };
    let back = format!("/t/{slug}/upstream/{}/licence/callback", get("upstream"));
    let st = get("state");
    if get("decision") != "confirm" {
        let q = serde_urlencoded::to_string([("error", "access_denied"), ("state", st)]).unwrap_or_default();
        return see_other(&format!("{back}?{q}"));
    }
    let now = state.env().now();
    let env = state.env();
    let role = get("role");
    let days = get("days").trim().parse::<i64>().ok().filter(|d| (1..=999).contains(d));
    let agent = role == "agent";
    let authorisation = match get("authorisation").trim() {
        "" if role == "legal_representative" => format!("rep-{}", get("uscc").trim().to_uppercase()),
        "" => format!("auth-{}", idp_core::crypto::random_token(env, 9)),
        a => a.to_string(),
    };
    let mut result = LicenceResult {
        uscc: get("uscc").to_string(),
        enterprise_name: get("enterprise").to_string(),
        name: get("name").to_string(),
        id_number: get("id_number").to_string(),
        role: role.to_string(),
        authorisation,
        matters: if agent { matters(get("matters")) } else { vec![] },
        starts_at: None,
        expires_at: if role == "legal_representative" { None } else { days.map(|d| now + d * 86400) },
        verified_at: now,
        txn: format!("lic-sim-{}", idp_core::crypto::random_token(env, 12)),
        bound_to: idp_core::crypto::sha256_hex(st.as_bytes()),
    };
    if result.check(now).is_err() {
        return page(lang, &slug, &params, Some(lang.texts().lic_sim_bad));
    }
    let code = match crate::outbound::connector::keep_result(&state, &t, "licence", &result).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &e.into()),
    };
    let q = serde_urlencoded::to_string([("code", code.as_str()), ("state", st)]).unwrap_or_default();
    see_other(&format!("{back}?{q}"))
}

/// `POST /t/{tenant}/licence-simulator/notification`: the signed notification of a revoked
/// authorisation (`event=authorisation_revoked`, `uscc`, `authorisation`) or a cancelled
/// licence (`event=licence_cancelled`, `uscc`) for `upstream`.
pub async fn notification(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::pick(None, &headers);
    let params = match require_form(&headers).and_then(|_| parse_params(body_text(&body)?)) {
        Ok(p) => p,
        Err(e) => return error_page(lang, &e),
    };
    let get = |k: &str| param(&params, k).unwrap_or_default();
    let Some(t) = opened(&state, &slug, get("upstream")).await else { return not_found(lang) };
    let event = get("event");
    let short = |v: &str| !v.is_empty() && v.len() <= 128 && v.bytes().all(|c| c.is_ascii_graphic());
    let valid = short(get("uscc"))
        && match event {
            "authorisation_revoked" => short(get("authorisation")),
            "licence_cancelled" => true,
            _ => false,
        };
    if !valid {
        return error_page(
            lang,
            &OAuthError::invalid_request("event, uscc and (for a revocation) authorisation"),
        );
    }
    let mut claims = serde_json::json!({
        "iss": "licence-simulator",
        "aud": format!("{}/upstream/{}/licence/notify", t.endpoints.issuer, get("upstream")),
        "iat": state.env().now(),
        "jti": idp_core::crypto::random_token(state.env(), 16),
        "event": event,
        "uscc": get("uscc"),
    });
    if event == "authorisation_revoked" {
        claims["authorisation"] = get("authorisation").into();
    }
    match crate::outbound::licence::Simulator::sign(&state, &claims) {
        Some(jws) => ([(header::CONTENT_TYPE, "application/jwt"), (header::CACHE_CONTROL, "no-store")], jws)
            .into_response(),
        None => error_page(lang, &OAuthError::server_error("the simulator could not sign")),
    }
}
