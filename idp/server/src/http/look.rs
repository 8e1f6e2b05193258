//! The tenant's look (name, logo, colours; `idp_core::branding`) on every page of that tenant.
//!
//! The look is request-scoped context, like the language: a layer on the tenant's page routes
//! sets it for the request's task, and the shared layout reads it, so every page — error pages
//! included, of which there are a hundred call sites — carries it without each handler passing
//! it on. It is set once per request and never changed, so it is not global mutable state
//! (docs/design.md); outside a tenant's pages the default look applies.

use std::sync::Arc;

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::State;
pub use crate::state::look::Look;

tokio::task_local! {
    static CURRENT: Arc<Look>;
    /// Where the page being rendered switches language (`Here`): set with the look.
    static HERE: Here;
}

/// The page a language switch returns to: an interaction's own page (it takes `?lang=`), or
/// another page of the tenant, through `/t/{tenant}/lang/{code}?back=…` (which remembers the
/// choice). A page answering a POST returns to the GET page it came from.
#[derive(Clone)]
enum Here {
    Interaction(String),
    Page(String),
}

impl Here {
    /// From the request: `/t/{slug}/interaction/{id}[/…]` is that interaction's page; any other
    /// GET is itself; any other POST the tenant's account centre.
    fn of(slug: &str, req: &Request) -> Here {
        let path = req.uri().path();
        let tenant = format!("/t/{slug}");
        if let Some(rest) = path.strip_prefix(&format!("{tenant}/interaction/")) {
            let id = rest.split('/').next().unwrap_or_default();
            return Here::Interaction(format!("{tenant}/interaction/{id}"));
        }
        if req.method() == axum::http::Method::GET {
            let query: Vec<(String, String)> = req
                .uri()
                .query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .filter(|(k, _)| k != "lang")
                        .collect()
                })
                .unwrap_or_default();
            let mut back = path.to_string();
            if !query.is_empty() {
                back.push('?');
                back.push_str(
                    &url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish(),
                );
            }
            return Here::Page(back);
        }
        Here::Page(format!("{tenant}/account"))
    }

    fn link(&self, slug: &str, to: super::pages::Lang) -> String {
        match self {
            Here::Interaction(page) => format!("{page}?lang={}", to.code()),
            Here::Page(back) => {
                let back: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
                format!("/t/{slug}/lang/{}?back={back}", to.code())
            }
        }
    }
}

/// Whether `back` is a page of tenant `slug` to return to after a language switch: a path of
/// the tenant in plain characters (letters, digits, `-`, `_`, `.`, `/`), with no `.` or `..`
/// segment and no `%` (nothing a browser would resolve or decode into another tenant's or
/// another site's address), then any query without control characters.
pub fn back_within(slug: &str, back: &str) -> bool {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    let segments_ok = path.split('/').skip(1).all(|s| !matches!(s, "." | ".."));
    path.starts_with(&format!("/t/{slug}/"))
        && plain
        && segments_ok
        && !path.contains("//")
        && !query.chars().any(|c| c.is_control() || c == '\\')
        && back.len() <= 2048
}

/// `GET /t/{tenant}/lang/{code}?back=PATH`: remembers the language (`idp_lang`, a year) and
/// returns to the tenant's page `back` (its account centre when `back` is not one of its pages).
pub async fn switch(
    state: State,
    Path((slug, code)): Path<(String, String)>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let lang = if code.starts_with("en") { super::pages::Lang::En } else { super::pages::Lang::Zh };
    let back = q
        .as_deref()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "back").map(|(_, v)| v.into_owned())
        })
        .filter(|b| back_within(&slug, b));
    let slug: String = slug.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let to = back.unwrap_or_else(|| format!("/t/{slug}/account"));
    let mut res = super::see_other(&to);
    let c = super::set_cookie(&state, "idp_lang", lang.code(), "/", Some(365 * 86400));
    res.headers_mut().append(header::SET_COOKIE, c);
    res
}

/// What the layout shows.
pub struct Shown {
    pub name: String,
    pub css: Option<String>,
    pub logo: Option<String>,
    /// The tenant's footer, when it set any part of one.
    pub footer: Option<ShownFooter>,
    /// The link to this page in the other language (on the tenant's pages).
    pub lang_link: Option<String>,
    /// The other language's code (the link's `lang`/`hreflang`).
    pub other_lang: &'static str,
}

/// The footer as a page shows it, in the page's language.
pub struct ShownFooter {
    pub operator: Option<String>,
    /// (as written, as dialled for a `tel:` link).
    pub help: Option<(String, String)>,
    pub privacy_url: Option<String>,
    pub icp: Option<String>,
    /// (as written, its digits for the register's link).
    pub psb: Option<(String, String)>,
}

impl ShownFooter {
    fn of(f: &idp_core::branding::Branding, english: bool) -> Option<ShownFooter> {
        let operator =
            if english { f.operator_en.as_ref().or(f.operator_zh.as_ref()) } else { f.operator_zh.as_ref() };
        let shown = ShownFooter {
            operator: operator.cloned(),
            help: f
                .help_phone
                .as_ref()
                .map(|h| (h.clone(), h.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect())),
            privacy_url: f.privacy_url.clone(),
            icp: f.icp_filing.clone(),
            psb: f.psb_filing.as_ref().map(|p| (p.clone(), p.chars().filter(char::is_ascii_digit).collect())),
        };
        let any = shown.operator.is_some()
            || shown.help.is_some()
            || shown.privacy_url.is_some()
            || shown.icp.is_some()
            || shown.psb.is_some();
        any.then_some(shown)
    }
}

/// The look of the page being rendered: the tenant's where it has one, in the page's language.
pub fn shown(default_name: &str, english: bool) -> Shown {
    let other = if english { super::pages::Lang::Zh } else { super::pages::Lang::En };
    let look = CURRENT.try_with(Arc::clone).ok();
    let Some(l) = look else {
        return Shown {
            name: default_name.to_string(),
            css: None,
            logo: None,
            footer: None,
            lang_link: None,
            other_lang: other.code(),
        };
    };
    let name = if english { l.name_en.as_ref().or(l.name_zh.as_ref()) } else { l.name_zh.as_ref() };
    Shown {
        name: name.cloned().unwrap_or_else(|| default_name.to_string()),
        css: l.css.as_ref().map(|(_, v)| format!("/t/{}/look.css?v={v}", l.slug)),
        logo: l.logo.as_ref().map(|(_, _, v)| format!("/t/{}/logo?v={v}", l.slug)),
        footer: ShownFooter::of(&l.footer, english),
        lang_link: HERE.try_with(|h| h.link(&l.slug, other)).ok(),
        other_lang: other.code(),
    }
}

/// The layer on the tenant's page routes: runs the request with the tenant's look.
pub async fn scope(
    state: State,
    Path(params): Path<Vec<(String, String)>>,
    req: Request,
    next: Next,
) -> Response {
    let slug = params.iter().find(|(k, _)| k == "tenant").map(|(_, v)| v.as_str());
    let look = match slug {
        Some(s) => state.tenant(s).await.ok().flatten().map(|t| t.look.clone()),
        None => None,
    };
    match (look, slug) {
        (Some(l), Some(slug)) => {
            let here = Here::of(slug, &req);
            CURRENT.scope(l, HERE.scope(here, next.run(req))).await
        }
        _ => next.run(req).await,
    }
}

fn cached(mut res: Response, content_type: &str) -> Response {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // the URL carries the version: a change is a new URL
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    res
}

/// `GET /t/{tenant}/look.css`.
pub async fn stylesheet(state: State, Path(slug): Path<String>) -> Response {
    match state.tenant(&slug).await.ok().flatten().and_then(|t| t.look.css.clone()) {
        Some((css, _)) => cached(css.into_response(), "text/css; charset=utf-8"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /t/{tenant}/logo`: an SVG logo is also sandboxed should anyone open it directly.
pub async fn logo(state: State, Path(slug): Path<String>) -> Response {
    let Some(t) = state.tenant(&slug).await.ok().flatten() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((content_type, bytes, _)) = &t.look.logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = cached(bytes.clone().into_response(), content_type);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tenants_name_in_the_pages_language() {
        assert_eq!(shown("统一身份认证", false).name, "统一身份认证", "outside a tenant: the default");
        let look = Look {
            slug: "jl".into(),
            name_zh: Some("吉林省政务服务".into()),
            name_en: None,
            css: Some((":root{}".into(), "abc".into())),
            logo: None,
            footer: Default::default(),
        };
        CURRENT
            .scope(Arc::new(look), async {
                let zh = shown("统一身份认证", false);
                assert_eq!(
                    (zh.name.as_str(), zh.css.as_deref()),
                    ("吉林省政务服务", Some("/t/jl/look.css?v=abc"))
                );
                assert_eq!(
                    shown("Unified Identity", true).name,
                    "吉林省政务服务",
                    "no English name: the Chinese one"
                );
                assert!(shown("x", true).logo.is_none());
            })
            .await;
    }
}
