//! The acting context (docs/domain.md "Who signs in"): after authentication, a person with more
//! than one context the client accepts chooses — myself, staff of a department, or an
//! enterprise they represent, administer or hold an active mandate for — on a
//! chooser page; with one, it is taken without asking; with none, the client hears
//! `access_denied`. `prompt=select_account` asks again. On the account pages the person can
//! switch context for the rest of the session without signing in again (`switch`): later
//! authorizations take that context when the client accepts it, so a client picks the switch
//! up at its next authorization request, silently with `prompt=none`. Tokens already issued
//! keep the context they were issued in (refresh included). The choice goes into the grant
//! (`act_as`, and the membership it acts through, which must stay live for the tokens).
//!
//! A client that accepts only `self` (the default) costs nothing: no membership is read.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::OAuthError;
use idp_core::model::{Interaction, Session};
use idp_core::signin::SignInRequest;

use crate::http::pages::{ContextPage, Texts, error_page, render, with_form_action};
use crate::http::signin::engine;
use crate::http::signin::interaction::{Loaded, lang_switch, posted, session_of};
use crate::http::{State, param};
use crate::state::{AppState, TenantCtx};

/// One context a person may act in.
pub(crate) struct Choice {
    /// `self` or a membership id (the form value).
    pub value: String,
    pub act_as: &'static str,
    pub label: String,
}

pub(crate) enum Chosen {
    /// (act_as, membership id)
    Ready(&'static str, Option<String>),
    /// More than one applies and none is chosen yet: the chooser.
    Ask,
    /// The client accepts none of the person's contexts.
    Nothing,
}

/// The contexts `session`'s person has that the client of `req` accepts.
pub(crate) async fn choices(
    state: &AppState,
    t: &TenantCtx,
    ask: &SignInRequest,
    session: &Session,
    texts: &Texts,
) -> Result<Vec<Choice>, OAuthError> {
    let accepted = match state.store().client(&t.tenant.id, &ask.party).await? {
        Some(c) => c.settings.contexts,
        None => vec!["self".into()],
    };
    contexts_of(state, t, &session.account_id, &accepted, texts).await
}

/// Every context the person can act in now, of the kinds in `accepted`
/// (`self`, `staff`, `enterprise`).
pub(crate) async fn contexts_of(
    state: &AppState,
    t: &TenantCtx,
    account_id: &str,
    accepted: &[String],
    texts: &Texts,
) -> Result<Vec<Choice>, OAuthError> {
    let mut out = vec![];
    if accepted.iter().any(|c| c == "self") {
        out.push(Choice { value: "self".into(), act_as: "self", label: texts.ctx_self.into() });
    }
    let staff = accepted.iter().any(|c| c == "staff");
    let enterprise = accepted.iter().any(|c| c == "enterprise");
    if !staff && !enterprise {
        return Ok(out);
    }
    let now = state.env().now();
    for m in state.store().memberships(account_id).await? {
        let is_staff = m.kind == "staff";
        if !m.active(now) || (is_staff && !staff) || (!is_staff && !enterprise) {
            continue;
        }
        let Some(o) = state.store().organisation(&t.tenant.id, &m.organisation_id).await? else { continue };
        let (act_as, label) = if is_staff {
            let roles = if m.roles.is_empty() { String::new() } else { format!(" ({})", m.roles.join(", ")) };
            ("staff", format!("{}{}{roles}", texts.ctx_staff, o.name))
        } else {
            ("enterprise", format!("{} · {}", o.name, role_label(texts, &m.kind)))
        };
        out.push(Choice { value: m.id, act_as, label });
    }
    Ok(out)
}

/// The context of this authorization: chosen in `interaction`, the only one, or to be asked.
pub(crate) async fn choose(
    state: &AppState,
    t: &TenantCtx,
    ask: &SignInRequest,
    session: &Session,
    interaction: Option<&Interaction>,
    texts: &Texts,
) -> Result<Chosen, OAuthError> {
    let client = state.store().client(&t.tenant.id, &ask.party).await?;
    if client.as_ref().is_none_or(|c| c.settings.contexts.iter().all(|x| x == "self")) {
        return Ok(Chosen::Ready("self", None));
    }
    let options = choices(state, t, ask, session, texts).await?;
    let select = ask.select_account;
    // chosen in this interaction, or (unless the client asks again) switched to on the
    // account pages for this session
    let picked = interaction.and_then(|i| i.act_context.as_deref());
    let picked = picked.or(session.act_context.as_deref().filter(|_| !select));
    if let Some(c) = picked.and_then(|p| options.iter().find(|c| c.value == p)) {
        return Ok(ready(c));
    }
    Ok(match options.as_slice() {
        [] => Chosen::Nothing,
        [only] if !select => ready(only),
        _ => Chosen::Ask,
    })
}

/// An enterprise role in the page's language.
pub(crate) fn role_label(t: &Texts, kind: &str) -> &'static str {
    match kind {
        "legal_representative" => t.role_legal_representative,
        "enterprise_admin" => t.role_enterprise_admin,
        _ => t.role_agent,
    }
}

fn ready(c: &Choice) -> Chosen {
    Chosen::Ready(c.act_as, (c.act_as != "self").then(|| c.value.clone()))
}

/// The chooser page.
pub(crate) fn chooser(l: &Loaded, headers: &HeaderMap, options: Vec<Choice>) -> Response {
    let csrf = crate::http::cookie(headers, crate::http::session::BROWSER_COOKIE).unwrap_or_default();
    let page = ContextPage {
        t: l.lang.texts(),
        lang_switch: lang_switch(l),
        client_name: &l.client_name,
        options: options.into_iter().map(|c| (c.value, c.label)).collect(),
        action: format!("/t/{}/interaction/{}/context", l.t.tenant.slug, l.interaction.id),
        csrf: &csrf,
    };
    with_form_action(render(StatusCode::OK, &page), Some(&l.ask.return_to))
}

/// What the interaction shows once the person is signed in: the chooser, the consent page
/// (`None`), or, when the client accepts none of the person's contexts, the refusal sent to
/// the client.
pub(crate) async fn before_consent(
    state: &AppState,
    l: &Loaded,
    headers: &HeaderMap,
    session: &Session,
) -> Option<Response> {
    let texts = l.lang.texts();
    let ask = &l.ask;
    match choose(state, &l.t, ask, session, Some(&l.interaction), texts).await {
        Ok(Chosen::Ask) => match choices(state, &l.t, ask, session, texts).await {
            Ok(options) => Some(chooser(l, headers, options)),
            Err(e) => Some(error_page(l.lang, &e)),
        },
        Ok(Chosen::Nothing) => {
            let e = OAuthError::new("access_denied", "The person has no acting context this client accepts.");
            Some(engine::refuse(state, &l.t, &l.interaction.front, Some(&l.interaction), &e).await)
        }
        Ok(Chosen::Ready(..)) => None,
        Err(e) => Some(error_page(l.lang, &e)),
    }
}

/// The chooser's form: records the choice and carries on with the request.
pub async fn pick(
    state: State,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, params) = match posted(&state, &slug, &id, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = l.lang.texts();
    let session = match session_of(&state, &l, &headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return error_page(l.lang, &OAuthError::invalid_request(t.expired_interaction)),
        Err(e) => return error_page(l.lang, &e),
    };
    let options = match choices(&state, &l.t, &l.ask, &session, t).await {
        Ok(o) => o,
        Err(e) => return error_page(l.lang, &e),
    };
    let Some(choice) = param(&params, "context").filter(|v| options.iter().any(|c| c.value == *v)) else {
        return chooser(&l, &headers, options);
    };
    if let Err(e) = state.store().set_interaction_context(&l.interaction.id, choice).await {
        return error_page(l.lang, &e.into());
    }
    let mut interaction = l.interaction.clone();
    interaction.act_context = Some(choice.to_string());
    engine::resume(&state, &l.t, &headers, &interaction, Some(&session), false, l.lang).await
}

/// The account page's context switch: every context the person can act in now, as
/// (value, label, current); empty when there is only one (nothing to switch).
pub(crate) async fn account_options(
    state: &AppState,
    t: &TenantCtx,
    session: &Session,
    texts: &Texts,
) -> Vec<(String, String, bool)> {
    let options = contexts_of(state, t, &session.account_id, &ALL_KINDS.map(String::from), texts)
        .await
        .unwrap_or_default();
    if options.len() < 2 {
        return vec![];
    }
    let current = session.act_context.as_deref();
    options
        .into_iter()
        .map(|c| {
            let on = current == Some(c.value.as_str());
            (c.value, c.label, on)
        })
        .collect()
}

const ALL_KINDS: [&str; 3] = ["self", "staff", "enterprise"];

/// The account page's switch: later authorizations of this session act in the chosen context.
pub async fn switch(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let p = match crate::http::account::posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = p.lang.texts();
    let options = contexts_of(&state, &p.t, &p.account.id, &ALL_KINDS.map(String::from), texts)
        .await
        .unwrap_or_default();
    let wanted = param(&p.params, "context");
    let Some(choice) = options.iter().find(|c| Some(c.value.as_str()) == wanted) else {
        let message = Some(texts.ctx_unknown);
        return crate::http::account::show_account(
            &state,
            &p.t,
            p.lang,
            &headers,
            &p.session,
            &p.account,
            crate::http::account::Section::Identity,
            message,
        )
        .await;
    };
    if let Err(e) =
        state.store().set_session_context(&p.t.tenant.id, &p.session.sid, Some(&choice.value)).await
    {
        return error_page(p.lang, &e.into());
    }
    let membership = (choice.act_as != "self").then_some(&choice.value);
    let detail = serde_json::json!({"act_as": choice.act_as, "membership": membership, "sid": p.session.sid});
    let account = Some(p.account.id.as_str());
    crate::http::session::audit(&state, &p.t.tenant.id, "context_switched", account, None, None, detail)
        .await;
    let session = Session { act_context: Some(choice.value.clone()), ..p.session };
    crate::http::account::show_account_done(
        &state,
        &p.t,
        p.lang,
        &headers,
        &session,
        &p.account,
        crate::http::account::Section::Identity,
        texts.ctx_switched,
    )
    .await
}
