//! The console from the first start, as a new administrator meets it: `idp serve` on an empty
//! database serves it under `/console` with its client registered, the root page leads there,
//! and the bootstrap administrator (no second factor yet) signs in with the printed password,
//! is led through setting up an authenticator inside that same sign-in, keeps the recovery
//! codes and lands on the dashboard, named in the header with their role.

use idp_core::Env;
use idp_core::totp::Secret;

use crate::browser::{Browser, form_action};
use crate::common::{Backend, TestServer};
use crate::console::{follow, post};

/// The text between `start` and the next `"` or `<`.
fn after<'a>(page: &'a str, start: &str) -> &'a str {
    let i = page.find(start).unwrap_or_else(|| panic!("{start} in {page}")) + start.len();
    let end = page[i..].find(['"', '<']).map_or(page.len(), |j| i + j);
    &page[i..end]
}

/// Signs the bootstrap administrator in to the console of `s` from nothing; the dashboard.
pub(crate) async fn first_sign_in(s: &TestServer, b: &Browser) -> (String, String, Secret) {
    let (user, password) = s.bootstrap_admin.clone().expect("a bootstrap administrator on an empty database");
    let (url, page) = follow(b, b.http.get(format!("{}/console/", s.base)).send().await.unwrap()).await;
    assert!(url.contains("/t/main/interaction/") && page.contains("name=\"password\""), "{url}");
    let (_, offer) =
        post(b, &s.base, &page, &form_action(&page), &[("login", &user), ("password", &password)]).await;
    assert!(
        offer.contains("id=\"enrol-start\"") && offer.contains("管理控制台"),
        "led to set up a factor: {offer}"
    );
    let (_, enrol) = post(b, &s.base, &offer, &form_action(&offer), &[]).await;
    let key = after(&enrol, "id=\"totp-key\">");
    let secret = Secret::from_base32(key).expect("the key shown is the secret");
    let code = secret.code_at_step(s.env.now() / 30);
    let (_, codes) = post(b, &s.base, &enrol, &form_action(&enrol), &[("code", &code)]).await;
    assert!(codes.contains("class=\"codes\""), "the recovery codes, once: {codes}");
    let next = after(&codes, "id=\"carry-on\" href=\"").to_string();
    let (url, page) = follow(b, b.http.get(format!("{}{next}", s.base)).send().await.unwrap()).await;
    let (url, page) = if page.contains("name=\"decision\"") {
        post(b, &s.base, &page, &form_action(&page), &[("decision", "allow")]).await
    } else {
        (url, page)
    };
    (url, page, secret)
}

async fn first_start(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let b = Browser::new();

    // the root page: the account centre first, the console below
    let (_, home) = follow(&b, b.http.get(format!("{}/", s.base)).send().await.unwrap()).await;
    assert!(home.contains("href=\"/t/main/account\"") && home.contains("href=\"/console/\""), "{home}");

    // the console's client is there, an administrators' client needing aal2
    let console = s.ops.client("main", "console").await.expect("registered at start");
    assert!(console.settings.admin_client && console.settings.min_acr.as_deref() == Some("aal2"));
    assert_eq!(console.settings.redirect_uris, [format!("{}/console/callback", s.base)]);

    let (url, dashboard, _) = first_sign_in(&s, &b).await;
    assert_eq!(url, format!("{}/console/", s.base), "on the dashboard");
    assert!(dashboard.contains("<svg id=\"signins\""), "{dashboard}");
    assert!(
        dashboard.contains("id=\"who-name\">Bootstrap administrator<") && dashboard.contains("系统管理员"),
        "named with their role in the header: {dashboard}"
    );
    // two factors now, and the set-up audited
    let admin = s.ops.account("main", "admin").await.unwrap();
    assert!(s.ops.store.totp(&admin.id).await.unwrap().is_some_and(|c| c.confirmed));
    let kinds: Vec<String> = s
        .ops
        .store
        .audit_events(&s.tenant_id().await, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert!(kinds.iter().any(|k| k == "factor_added") && kinds.iter().any(|k| k == "step_up"), "{kinds:?}");

    // a restart keeps the client as it is: same secret, no new registration
    let again = s.ops.client("main", "console").await.unwrap();
    assert_eq!(again.secret_hash, console.secret_hash);
}
crate::both_backends!(the_bootstrap_administrator_reaches_the_dashboard_with_two_factors, first_start);

/// Someone with only the password of an account that already has a second factor is asked for
/// it, never offered to set up another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_set_up_is_never_offered_to_an_account_with_a_factor() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let b = Browser::new();
    let (_, _, _) = first_sign_in(&s, &b).await;
    let (user, password) = s.bootstrap_admin.clone().unwrap();
    let other = Browser::new();
    let (_, page) =
        follow(&other, other.http.get(format!("{}/console/", s.base)).send().await.unwrap()).await;
    let (url, next) =
        post(&other, &s.base, &page, &form_action(&page), &[("login", &user), ("password", &password)]).await;
    assert!(next.contains("name=\"code\"") && !next.contains("enrol-start"), "the code is asked: {next}");
    // and the set-up address refuses: back to the sign-in, which asks for the code
    let enrol = format!("{}/enrol", url.trim_end_matches('/'));
    let id = url.rsplit('/').next().unwrap();
    assert!(enrol.contains(id));
    let csrf = crate::browser::extract(&next, "csrf").unwrap();
    let res = other.http.post(&enrol).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "no new authenticator for a password alone");
    let admin = s.ops.account("main", "admin").await.unwrap();
    assert!(s.ops.store.totp(&admin.id).await.unwrap().is_some_and(|c| c.confirmed), "the first one stays");
}

/// An account whose only factor is a passkey this node cannot use (WebAuthn is off on a plain
/// http address), flagged as copied even: a password alone is still not offered a new factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_the_node_cannot_use_still_counts_as_a_factor() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (user, password) = s.bootstrap_admin.clone().unwrap();
    let admin = s.ops.account("main", &user).await.unwrap();
    let key = idp_core::model::WebauthnCredential {
        id: "k1".into(),
        tenant_id: admin.tenant_id.clone(),
        account_id: admin.id.clone(),
        cred_id: "cred-1".into(),
        kind: "passkey".into(),
        name: "手机".into(),
        credential: "{\"counter\":0}".into(),
        backup_eligible: true,
        created_at: s.env.now(),
        last_used_at: None,
        flagged_at: Some(s.env.now()),
    };
    assert!(s.ops.store.add_webauthn_credential(&key).await.unwrap());
    let b = Browser::new();
    let (signin, page) = follow(&b, b.http.get(format!("{}/console/", s.base)).send().await.unwrap()).await;
    let (url, next) =
        post(&b, &s.base, &page, &form_action(&page), &[("login", &user), ("password", &password)]).await;
    assert!(!next.contains("enrol-start"), "no set-up offered: {next}");
    // the console is told the requirement is unmet (no factor this node can ask for)
    assert!(url.starts_with(&format!("{}/console/callback?", s.base)), "{url}");
    assert!(next.contains("尚未设置"), "{next}");
    // and the set-up's own address refuses that sign-in: no secret is shown
    let id = signin.split("/interaction/").nth(1).unwrap().split(['/', '?']).next().unwrap();
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let enrol = format!("{}/t/main/interaction/{id}/enrol", s.base);
    let res = b.http.post(&enrol).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_ne!(res.status().as_u16(), 200, "the set-up refuses");
    assert!(!res.text().await.unwrap().contains("totp-key"), "no secret shown");
    assert!(s.ops.store.totp(&admin.id).await.unwrap().is_none(), "no authenticator was added");
}
