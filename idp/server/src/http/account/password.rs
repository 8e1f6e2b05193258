//! The person's password on the account page: change it (the current one, then the new one
//! twice), or set one where the account has none (an account that signs in by SMS code). The
//! new password meets the tenant's rules (`idp_core::password`, with the person's own details
//! counted against it), shown beside the form before anyone types. A session that may not
//! change the account's factors (`may_change_factors`: one step where a second factor exists)
//! may not change the password either. Tries of the current password are limited like
//! sign-ins. Once changed, every other session of the account ends: whoever knew the old
//! password is signed out.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::Session;
use idp_core::password::{self, PasswordProblem};

use crate::http::account::{Posted, may_change_factors, posted, show_account, show_account_done};
use crate::http::pages::{Texts, error_page};
use crate::http::{State, param};
use crate::state::AppState;

/// A rule problem in the page's language.
pub fn problem_text(p: &PasswordProblem, t: &Texts) -> String {
    match p {
        PasswordProblem::TooShort(n) => t.pw_too_short.replace("{n}", &n.to_string()),
        PasswordProblem::TooFewClasses(n) => t.pw_few_classes.replace("{n}", &n.to_string()),
        PasswordProblem::Common => t.pw_common.to_string(),
        PasswordProblem::Guessable => t.pw_guessable.to_string(),
        PasswordProblem::TooLong => t.pw_too_long.to_string(),
    }
}

/// The tenant's rules as the page lists them: (text, what the page's script checks as the
/// person types: `length:n`, `classes:n`, or nothing for what only the server can judge).
pub fn rules_text(rules: password::Rules, t: &Texts) -> Vec<(String, String)> {
    let min_length = rules.min_length.max(password::Rules::default().min_length);
    let min_classes = rules.min_classes.clamp(password::Rules::default().min_classes, 4);
    vec![
        (t.pw_rule_length.replace("{n}", &min_length.to_string()), format!("length:{min_length}")),
        (t.pw_rule_classes.replace("{n}", &min_classes.to_string()), format!("classes:{min_classes}")),
        (t.pw_rule_guess.to_string(), String::new()),
    ]
}

/// Hashes a new password off the async threads, under the Argon2 permits.
pub(crate) async fn hash_new(state: &AppState, new: &str) -> Option<String> {
    let hasher = state.hasher.clone();
    let new = new.to_string();
    let permit = state.argon2_permits.acquire().await;
    let hash = tokio::task::spawn_blocking(move || hasher.hash(&idp_core::SystemEnv, &new).ok()).await;
    drop(permit);
    hash.ok().flatten()
}

/// `POST /account/password`: `current` (when the account has a password), `new`, `again`.
pub async fn change(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let refuse = |why: String| {
        let (state, t, headers, session, account) = (&state, &t, &headers, &session, &account);
        async move {
            show_account(
                state,
                t,
                lang,
                headers,
                session,
                account,
                crate::http::account::Section::Security,
                Some(&why),
            )
            .await
        }
    };
    match may_change_factors(&state, &t, &session).await {
        Ok(true) => {}
        Ok(false) => return refuse(texts.need_aal2.into()).await,
        Err(e) => return error_page(lang, &e),
    }
    let key = format!("{}:password:{}", t.tenant.id, account.id);
    if let Err(wait) = state.limits.signin_account.check_shared(state.store(), state.env().now(), &key).await
    {
        return crate::http::limited(refuse(texts.too_many.into()).await, wait);
    }
    let new = param(&params, "new").unwrap_or_default().to_string();
    if new != param(&params, "again").unwrap_or_default() {
        return refuse(texts.pw_mismatch.into()).await;
    }
    let rules = t.tenant.settings.policy.password_rules();
    let details = [Some(account.username.as_str()), account.name.as_deref(), account.email.as_deref()];
    let personal = password::personal_words(&details.into_iter().flatten().collect::<Vec<_>>());
    if let Err(p) = password::check_rules_for(&new, rules, &personal) {
        return refuse(problem_text(&p, texts)).await;
    }
    let current = param(&params, "current").unwrap_or_default().to_string();
    let stored = account.password_hash.clone();
    let hasher = state.hasher.clone();
    let permit = state.argon2_permits.acquire().await;
    let worked = tokio::task::spawn_blocking(move || {
        let ok = stored.as_deref().is_none_or(|h| hasher.verify(&current, h));
        let reused = stored.as_deref().is_some_and(|h| hasher.verify(&new, h));
        (ok, reused, ok.then(|| hasher.hash(&idp_core::SystemEnv, &new).ok()).flatten())
    })
    .await;
    drop(permit);
    let (ok, reused, hash) = worked.unwrap_or((false, false, None));
    if !ok {
        return refuse(texts.pw_wrong_current.into()).await;
    }
    if reused {
        return refuse(texts.pw_same.into()).await;
    }
    let Some(hash) = hash else {
        return error_page(lang, &idp_core::OAuthError::server_error("could not hash the password"));
    };
    let now = state.env().now();
    if let Err(e) = state.store().set_password_hash(&t.tenant.id, &account.id, &hash, now).await {
        return error_page(lang, &e.into());
    }
    // whoever knew the old password is signed out everywhere else
    let others: Vec<Session> = match state.store().account_sessions(&t.tenant.id, &account.id, now).await {
        Ok(all) => all.into_iter().filter(|s| s.sid != session.sid).collect(),
        Err(e) => return error_page(lang, &e.into()),
    };
    if let Err(e) = crate::http::signed_out::end_sessions(&state, &t, &others, Some(&session.sid)).await {
        return error_page(lang, &e);
    }
    let kind = if account.password_hash.is_some() { "password_changed" } else { "password_set" };
    let detail = serde_json::json!({"sid": session.sid, "sessions_ended": others.len()});
    crate::http::session::audit(&state, &t.tenant.id, kind, Some(&account.id), None, None, detail).await;
    let account = idp_core::model::Account { password_hash: Some(hash), ..account };
    show_account_done(
        &state,
        &t,
        lang,
        &headers,
        &session,
        &account,
        crate::http::account::Section::Security,
        texts.pw_changed,
    )
    .await
}
