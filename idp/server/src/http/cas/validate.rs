//! The CAS ticket validation endpoints (§2.4–§2.7): `/cas/validate` (CAS 1.0's two lines),
//! `/cas/serviceValidate` and `/cas/proxyValidate` with their `/cas/p3/` forms (XML, or JSON
//! with `format=JSON`), and `/cas/proxy`.
//!
//! Every form answers with the attributes the person consented to: CAS 3.0 made attribute
//! release standard and current clients (Apereo's Java client, phpCAS, mod_auth_cas) read them
//! from `/serviceValidate` as well.
//!
//! Proxying (§2.5.4, §2.7): a service registered with proxy callbacks that validates with a
//! `pgtUrl` matching one of them gets a proxy-granting ticket: the ticket and its IOU are sent
//! to the callback (an https GET through the outbound rules, its certificate verified), and
//! only if it answers 200 is the ticket kept and the IOU put in the answer. Any other `pgtUrl`
//! is ignored, as §2.5.4 has it for a callback that cannot be used.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::cas::validate::{Outcome, ProxyOutcome, Validation, new_pgt, proxy as grant_proxy, validate};
use idp_core::cas::{self, Format, code};
use idp_core::model::{Authorization, Client, ClientType};

use crate::http::{State, param, parse_params};
use crate::state::AppState;

/// Which validation endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/validate`: `yes\nuser\n` or `no\n\n`.
    V1,
    /// `/serviceValidate` and `/p3/serviceValidate`.
    Service,
    /// `/proxyValidate` and `/p3/proxyValidate`: proxy tickets too.
    Proxy,
}

pub async fn v1(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(&state, &slug, q.as_deref(), Kind::V1).await
}

pub async fn service_validate(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(&state, &slug, q.as_deref(), Kind::Service).await
}

pub async fn proxy_validate(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(&state, &slug, q.as_deref(), Kind::Proxy).await
}

/// `/cas/proxy` (§2.7): a proxy ticket for `targetService`, granted by `pgt`.
pub async fn proxy(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    let params = match parse_params(q.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            return respond(
                Format::Xml,
                cas::proxy_answer(Format::Xml, Err((code::INVALID_REQUEST, &e.description))),
            );
        }
    };
    let format = format_of(&params);
    let fail = |c: &str, why: &str| respond(format, cas::proxy_answer(format, Err((c, why))));
    let t = match state.tenant(&slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return fail(code::INVALID_REQUEST, "there is no such tenant"),
        Err(e) => {
            crate::http::log_error(&e);
            return fail(code::INTERNAL_ERROR, "the server could not grant a proxy ticket");
        }
    };
    let pgt = param(&params, "pgt").unwrap_or_default();
    let target = param(&params, "targetService").unwrap_or_default();
    let outcome = match state.store().clients_of_type(&t.tenant.id, ClientType::Cas).await {
        Ok(clients) => grant_proxy(&state.read_ctx(&t), &clients, pgt, target).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(ProxyOutcome::Ticket(pt)) => respond(format, cas::proxy_answer(format, Ok(&pt))),
        Ok(ProxyOutcome::Refused(c, why)) => {
            tracing::info!(code = c, reason = %why, "CAS proxy ticket refused");
            fail(c, &why)
        }
        Err(e) => {
            crate::http::log_error(&e);
            fail(code::INTERNAL_ERROR, "the server could not grant a proxy ticket")
        }
    }
}

/// How long the proxy callback may take.
const CALLBACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// §2.5.4: delivers a new proxy-granting ticket to `pgt_url` and keeps it once the callback
/// answered 200; its IOU, or `None` when the service may not proxy there or the callback
/// failed (the validation still succeeds, without it).
async fn proxy_granting(
    state: &AppState,
    client: &Client,
    authz: &Authorization,
    pgt_url: &str,
    proxies: &[String],
) -> Option<String> {
    if !client.settings.cas.proxy_callbacks.iter().any(|p| cas::matches(p, pgt_url)) {
        tracing::info!(client = %client.client_id, "pgtUrl is not one of the service's proxy callbacks");
        return None;
    }
    if proxies.len() + 1 >= cas::MAX_PROXY_CHAIN {
        return None;
    }
    let (pgt, iou, record) = new_pgt(state.env(), authz, pgt_url, proxies.to_vec());
    let policy = crate::outbound::Policy::new(&state.config().outbound).ok()?;
    if policy.check_url(pgt_url).is_err() {
        tracing::warn!(client = %client.client_id, "proxy callback refused by the outbound rules");
        return None;
    }
    let http = policy.client(CALLBACK_TIMEOUT).https_only(true).build().ok()?;
    let delivered =
        http.get(pgt_url).query(&[("pgtId", pgt.as_str()), ("pgtIou", iou.as_str())]).send().await;
    match delivered {
        Ok(r) if r.status().as_u16() == 200 => {}
        Ok(r) => {
            tracing::warn!(client = %client.client_id, status = r.status().as_u16(), "proxy callback refused the ticket");
            return None;
        }
        Err(e) => {
            tracing::warn!(client = %client.client_id, error = %e.without_url(), "proxy callback unreachable");
            return None;
        }
    }
    match state.store().insert_cas_pgt(&record).await {
        Ok(()) => Some(iou),
        Err(e) => {
            tracing::warn!(error = %e, "could not keep a proxy-granting ticket");
            None
        }
    }
}

fn format_of(params: &[(String, String)]) -> Format {
    match param(params, "format") {
        Some(f) if f.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Xml,
    }
}

async fn answer(state: &State, slug: &str, raw: Option<&str>, kind: Kind) -> Response {
    let params = match parse_params(raw.unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return failed(kind, Format::Xml, code::INVALID_REQUEST, &e.description),
    };
    let format = format_of(&params);
    let t = match state.tenant(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return failed(kind, format, code::INVALID_REQUEST, "there is no such tenant"),
        Err(e) => {
            crate::http::log_error(&e);
            return failed(kind, format, code::INTERNAL_ERROR, "the server could not validate the ticket");
        }
    };
    let v = Validation {
        service: param(&params, "service").unwrap_or_default(),
        ticket: param(&params, "ticket").unwrap_or_default(),
        renew: param(&params, "renew").is_some_and(|r| r == "true" || r == "1"),
        proxy: kind == Kind::Proxy,
    };
    match validate(&state.read_ctx(&t), v).await {
        Ok(Outcome::Valid(mut s, validated)) => match kind {
            Kind::V1 => text(format!("yes\n{}\n", s.user)),
            Kind::Service | Kind::Proxy => {
                if let Some(pgt_url) = param(&params, "pgtUrl").filter(|u| !u.is_empty()) {
                    let (client, authz) = &*validated;
                    s.pgt_iou = proxy_granting(state, client, authz, pgt_url, &s.proxies).await;
                }
                respond(format, cas::success(format, &s))
            }
        },
        Ok(Outcome::Invalid(c, why)) => {
            tracing::info!(code = c, reason = %why, "CAS ticket refused");
            failed(kind, format, c, &why)
        }
        Err(e) => {
            crate::http::log_error(&e);
            failed(kind, format, code::INTERNAL_ERROR, "the server could not validate the ticket")
        }
    }
}

fn failed(kind: Kind, format: Format, c: &str, why: &str) -> Response {
    match kind {
        Kind::V1 => text("no\n\n".into()),
        Kind::Service | Kind::Proxy => respond(format, cas::failure(format, c, why)),
    }
}

fn text(body: String) -> Response {
    with_type(body, "text/plain; charset=utf-8")
}

fn respond(format: Format, body: String) -> Response {
    match format {
        Format::Xml => with_type(body, "application/xml; charset=utf-8"),
        Format::Json => with_type(body, "application/json"),
    }
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
