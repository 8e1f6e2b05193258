//! The national network identity service's simulator (`[netid] provider = "simulator"`,
//! `crate::outbound::netid::Simulator`): the page that stands in for the app, where the
//! tester says who holds the network certificate, how they were checked and whether they
//! agree to release their name and ID number. It answers as the service would: back to this
//! provider's callback with a one-time code for the result, or `error=access_denied`. The
//! pseudonym is a keyed hash of the ID number for the tenant (`idp_core::netid::pseudonym`),
//! so the same person comes back as the same number. Served only when the simulator is the
//! configured connector.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::netid::{MODES, NetidResult};

use crate::http::pages::{Lang, NetidSimulatorPage, error_page, render};
use crate::http::{State, body_text, param, parse_params, require_form, see_other};

const FIELDS: &[&str] = &["upstream", "state", "mode", "plaintext", "party", "statutory"];

fn not_found(lang: Lang) -> Response {
    error_page(lang, &OAuthError::invalid_request("Not found.").with_status(404))
}

fn page(lang: Lang, slug: &str, params: &[(String, String)], error: Option<&str>) -> Response {
    let t = lang.texts();
    let get = |k: &str| param(params, k).unwrap_or_default();
    let mode = get("mode");
    let words = [t.netid_sim_netcert, t.netid_sim_netcert_pin, t.netid_sim_netcert_face];
    let modes = MODES.iter().zip(words).map(|(m, w)| (m.to_string(), w.to_string(), *m == mode)).collect();
    let carry = FIELDS.iter().map(|k| (k.to_string(), get(k).to_string())).collect();
    let p = NetidSimulatorPage {
        t,
        lang_switch: None,
        action: format!("/t/{slug}/netid-simulator"),
        carry,
        modes,
        plaintext: get("plaintext") == "1",
        statutory: get("statutory") == "1",
        party: get("party").to_string(),
        error: error.map(str::to_string),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(status, &p)
}

/// The parameters a sign-in carries, bounded.
fn valid(params: &[(String, String)]) -> bool {
    FIELDS.iter().all(|k| param(params, k).is_some_and(|v| v.len() <= 256))
        && param(params, "upstream").is_some_and(crate::ops::valid_slug)
}

/// `GET /t/{tenant}/netid-simulator`.
pub async fn show(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let lang = Lang::pick(None, &headers);
    if state.netid().is_none_or(|c| c.name() != "simulator") {
        return not_found(lang);
    }
    let params = parse_params(q.as_deref().unwrap_or_default()).unwrap_or_default();
    if !valid(&params) {
        return error_page(lang, &OAuthError::invalid_request("The request is incomplete."));
    }
    // only for a netid upstream of a tenant that exists
    let Ok(Some(t)) = state.tenant(&slug).await else { return not_found(lang) };
    let upstream = param(&params, "upstream").unwrap_or_default();
    if !t.upstreams.iter().any(|u| u.id == upstream && u.settings.netid.is_some()) {
        return not_found(lang);
    }
    page(lang, &slug, &params, None)
}

/// `POST /t/{tenant}/netid-simulator`: the person confirmed in the app, or cancelled.
pub async fn answer(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::pick(None, &headers);
    if state.netid().is_none_or(|c| c.name() != "simulator") {
        return not_found(lang);
    }
    let params = match require_form(&headers).and_then(|_| parse_params(body_text(&body)?)) {
        Ok(p) if valid(&p) => p,
        _ => return error_page(lang, &OAuthError::invalid_request("The request is incomplete.")),
    };
    let Ok(Some(t)) = state.tenant(&slug).await else { return not_found(lang) };
    let get = |k: &str| param(&params, k).unwrap_or_default();
    if !t.upstreams.iter().any(|u| u.id == get("upstream") && u.settings.netid.is_some()) {
        return not_found(lang);
    }
    let back = format!("/t/{slug}/upstream/{}/netid/callback", get("upstream"));
    let st = get("state");
    if get("decision") != "confirm" {
        let q = serde_urlencoded::to_string([("error", "access_denied"), ("state", st)]).unwrap_or_default();
        return see_other(&format!("{back}?{q}"));
    }
    let now = state.env().now();
    let name = get("name").trim();
    let number = idp_core::identifiers::parse_person_id(get("id_number").trim(), now);
    let bad_name = name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control);
    let (Ok(number), false, true) = (number, bad_name, MODES.contains(&get("checked"))) else {
        return page(lang, &slug, &params, Some(lang.texts().netid_sim_bad));
    };
    let released = get("plaintext") == "1" && (get("statutory") == "1" || param(&params, "share").is_some());
    let env = state.env();
    let result = NetidResult {
        pseudonym: idp_core::netid::pseudonym(
            &state.ops.kek.derive("netid-simulator"),
            &t.tenant.id,
            &number.number,
        ),
        mode: get("checked").to_string(),
        verified_at: now,
        txn: format!("netid-sim-{}", idp_core::crypto::random_token(env, 12)),
        identity: released.then(|| (name.to_string(), number.number.clone())),
        bound_to: idp_core::crypto::sha256_hex(st.as_bytes()),
    };
    let code = match crate::outbound::connector::keep_result(&state, &t, "netid", &result).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &e.into()),
    };
    let q = serde_urlencoded::to_string([("code", code.as_str()), ("state", st)]).unwrap_or_default();
    see_other(&format!("{back}?{q}"))
}
