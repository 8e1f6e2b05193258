//! The CAS ticket validation endpoints (§2.4–§2.7): `/cas/validate` (CAS 1.0's two lines),
//! `/cas/serviceValidate` and `/cas/proxyValidate` with their `/cas/p3/` forms (XML, or JSON
//! with `format=JSON`), and `/cas/proxy`.
//!
//! Every form answers with the attributes the person consented to: CAS 3.0 made attribute
//! release standard and current clients (Apereo's Java client, phpCAS, mod_auth_cas) read them
//! from `/serviceValidate` as well. No service may proxy (yet): a `pgtUrl` is ignored, as
//! §2.5.4 has it for a callback that cannot be used, `/cas/proxy` refuses, and proxy tickets
//! are never recognised.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::cas::validate::{Outcome, Validation, validate};
use idp_core::cas::{self, Format, code};

use crate::http::{State, param, parse_params};

/// Which validation endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/validate`: `yes\nuser\n` or `no\n\n`.
    V1,
    /// `/serviceValidate`, `/proxyValidate` and the `/p3/` forms.
    V3,
}

pub async fn v1(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(&state, &slug, q.as_deref(), Kind::V1).await
}

pub async fn service_validate(state: State, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(&state, &slug, q.as_deref(), Kind::V3).await
}

/// `/cas/proxy` (§2.7): no registered service may proxy, so every request is refused.
pub async fn proxy(RawQuery(q): RawQuery) -> Response {
    let params = parse_params(q.as_deref().unwrap_or_default()).unwrap_or_default();
    let format = format_of(&params);
    let (c, why) = match (param(&params, "pgt"), param(&params, "targetService")) {
        (Some(_), Some(_)) => ("INVALID_TICKET", "proxy-granting tickets are not issued by this server"),
        _ => (code::INVALID_REQUEST, "pgt and targetService are both required"),
    };
    let body = match format {
        Format::Xml => format!(
            "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n  <cas:proxyFailure code=\"{c}\">{}</cas:proxyFailure>\n</cas:serviceResponse>\n",
            cas::escape(why)
        ),
        Format::Json => {
            serde_json::json!({"serviceResponse": {"proxyFailure": {"code": c, "description": why}}})
                .to_string()
        }
    };
    respond(format, body)
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
    };
    match validate(&state.read_ctx(&t), v).await {
        Ok(Outcome::Valid(s)) => match kind {
            Kind::V1 => text(format!("yes\n{}\n", s.user)),
            Kind::V3 => respond(format, cas::success(format, &s)),
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
        Kind::V3 => respond(format, cas::failure(format, c, why)),
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
