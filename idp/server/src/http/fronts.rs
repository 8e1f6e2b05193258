//! The table of the sign-in engine's front-ends: how each protocol answers a finished sign-in
//! ([`SignedIn`]) or a refused one. The engine (`signin::engine`) reaches the front-ends only
//! through here, as the router reaches the handlers only through `http/mod.rs`; a new protocol
//! adds its `FrontRequest` variant and one arm to each function.

use axum::response::Response;
use idp_core::OAuthError;
use idp_core::authorize::error_response;
use idp_core::signin::{FrontRequest, SignedIn, account_request};

use crate::http::pages::Lang;
use crate::http::{account, cas, oidc, saml, see_other};
use crate::state::{AppState, TenantCtx};

/// The front-end's answer to a finished sign-in, or the page to show when it could not be made
/// (the interaction is then kept).
pub async fn finish(
    state: &AppState,
    t: &TenantCtx,
    front: &FrontRequest,
    done: &SignedIn,
    lang: Lang,
) -> Result<Response, Response> {
    match front {
        FrontRequest::Oidc(req) => oidc::authorize::finish(state, t, req, done, lang).await,
        FrontRequest::Cas(login) => cas::finish(state, t, login, done, lang).await,
        FrontRequest::Saml(login) => saml::finish(state, t, login, done, lang).await,
        // the account pages are first party: back to the page that asked (theirs, or a kiosk's
        // approval), no code
        FrontRequest::Account(a) => {
            Ok(see_other(&if ours(t, &a.return_to) { a.return_to.clone() } else { account::home_url(t) }))
        }
    }
}

/// The front-end's answer to a refused sign-in (`e.code` is one of the engine's refusals).
pub async fn refuse(state: &AppState, t: &TenantCtx, front: &FrontRequest, e: &OAuthError) -> Response {
    match front {
        FrontRequest::Oidc(req) => oidc::authorize::respond(&error_response(req, e, &t.endpoints.issuer)),
        // the account pages hear it as an OpenID Connect client of their own would, at their
        // own address
        FrontRequest::Cas(login) => {
            cas::refuse(state, t, login, e, Lang::pick(login.locale.as_deref(), &Default::default())).await
        }
        FrontRequest::Saml(login) => {
            saml::refuse(state, t, login, e, Lang::pick(login.locale.as_deref(), &Default::default())).await
        }
        FrontRequest::Account(a) => {
            let mut req = account_request(a.clone());
            if !ours(t, &a.return_to) {
                req.redirect_uri = account::home_url(t);
            }
            oidc::authorize::respond(&error_response(&req, e, &t.endpoints.issuer))
        }
    }
}

/// The tenant of a front-end's request, or the page to show instead.
pub async fn tenant(state: &AppState, slug: &str, lang: Lang) -> Result<std::sync::Arc<TenantCtx>, Response> {
    match state.tenant(slug).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(crate::http::pages::error_page(
            lang,
            &OAuthError::invalid_request(lang.texts().unknown_tenant).with_status(404),
        )),
        Err(e) => Err(crate::http::pages::error_page(lang, &e)),
    }
}

/// What a CAS service or SAML service provider receives (they name no scopes in their
/// requests): who the person is (`openid`) and its registered scopes, never tokens.
pub fn release(client: &idp_core::model::Client) -> Vec<String> {
    let mut r = vec!["openid".to_string()];
    r.extend(
        client
            .settings
            .scope
            .split(' ')
            .filter(|s| !s.is_empty() && *s != "openid" && *s != "offline_access")
            .map(String::from),
    );
    r
}

/// `url` is one of this tenant's own pages.
fn ours(t: &TenantCtx, url: &str) -> bool {
    url.strip_prefix(&t.endpoints.issuer).is_some_and(|p| p.starts_with('/'))
}
