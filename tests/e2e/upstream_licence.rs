//! The electronic business licence through its simulator (`[licence] provider = "simulator"`):
//! an agent signs in with the licence for an enterprise in the tree, lands in an account bound
//! to them (the operator's rule on `cn_business_licence`), and the department app sees the
//! enterprise and the mandate's matters; the next sign-in replaces what the licence changed; a
//! signed notification of the revoked authorisation ends the mandate and its tokens at once
//! (replayed, altered or misaddressed notifications refused). A legal representative signs in
//! and the earlier roles end. Refused: a role the operator does not accept, an enterprise not
//! in the tree, a representative the register does not name, and a role for an account not
//! bound to the person.

use idp_core::Env;
use idp_core::model::{
    ClientSettings, ClientType, LevelRule, LicenceUpstream, UpstreamAuth, UpstreamSettings,
};
use idp_core::org::NewOrganisation;
use idp_server::ops::upstreams::NewUpstream;
use serde_json::json;

use crate::browser::{Browser, Step, extract};
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{redeem, userinfo, userinfo_of};
use crate::upstream_signin::{consent_if_asked, settle, upstream_link};

const USCC: &str = "91220101MA0Y3K5Q3C";
const AGENT: &str = "220102199003070013";
const REP: &str = "11010519491231002X";
const NEW_REP: &str = "220104198506150021";

async fn add(s: &TestServer, id: &str, levels: bool, licence: LicenceUpstream) {
    let rules = vec![LevelRule {
        trust_framework: Some("cn_business_licence".into()),
        level: 3,
        ..Default::default()
    }];
    let n = NewUpstream {
        id: id.into(),
        issuer: String::new(),
        client_id: String::new(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: None,
        settings: UpstreamSettings {
            name_zh: if id == "licence" {
                "电子营业执照".into()
            } else {
                format!("电子营业执照（{id}）")
            },
            levels: if levels { rules } else { vec![] },
            create_accounts: true,
            link_by_id_number: true,
            licence: Some(licence),
            ..Default::default()
        },
    };
    let u = s.ops.add_upstream_by("main", n, "test").await.unwrap();
    let info = s.ops.upstream_info("main", &u);
    assert_eq!(info.protocol, "licence");
    assert!(info.callback.ends_with(&format!("/upstream/{id}/licence/callback")), "{info:?}");
    assert!(info.notification_uri.unwrap().ends_with(&format!("/upstream/{id}/licence/notify")));
}

/// Through the app's sign-in page to the simulator's page, for upstream `id`.
async fn to_app(b: &Browser, s: &TestServer, url: &str, id: &str) -> String {
    let (_, _, login) = b.get(s, url).await.page();
    let href = upstream_link(&login, id).unwrap_or_else(|| panic!("no link: {login}"));
    let (at, status, page) = b.get(s, &format!("{}{href}", s.base)).await.page();
    assert!(status == 200 && at.contains("/licence-simulator?"), "{at}: {page}");
    page
}

/// The simulated app's form, as `role` with `fields` (uscc, name, id_number, …; a later one
/// replaces an earlier one of the same name).
fn form_of(page: &str, role: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = ["upstream", "state", "party"]
        .iter()
        .map(|k| (k.to_string(), extract(page, k).unwrap_or_default()))
        .collect();
    let defaults = [("uscc", USCC), ("enterprise", "示例科技有限公司"), ("decision", "confirm")];
    for (k, v) in defaults.iter().chain(fields) {
        form.retain(|(f, _)| f != k);
        form.push((k.to_string(), v.to_string()));
    }
    form.push(("role".into(), role.into()));
    form
}

/// Confirms in the simulated app as `role` with `fields`.
async fn confirm(b: &Browser, s: &TestServer, page: &str, role: &str, fields: &[(&str, &str)]) -> Step {
    let form = form_of(page, role, fields);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(s, "/t/main/licence-simulator", &pairs).await
}

/// The enterprise in the organisation tree.
async fn enterprise(s: &TestServer) -> idp_core::org::Organisation {
    let new = NewOrganisation {
        kind: "enterprise".into(),
        name: "示例科技有限公司".into(),
        uscc: Some(USCC.into()),
        ..Default::default()
    };
    s.ops.add_organisation("main", None, new).await.unwrap()
}

/// The department app: accepts people acting for themselves and for enterprises.
fn department() -> ClientSettings {
    ClientSettings {
        contexts: vec!["self".into(), "enterprise".into()],
        scope: "openid profile enterprise".into(),
        ..Default::default()
    }
}

fn app_url(s: &TestServer, client: &str) -> String {
    auth_url(&s.issuer, client, "").replace("scope=openid", "scope=openid%20enterprise")
}

async fn reason_of(s: &TestServer, kind: &str) -> String {
    let tenant = s.tenant_id().await;
    let events = s.ops.store.audit_events(&tenant, 30).await.unwrap();
    let e = events.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("no {kind}"));
    e.detail["reason"].as_str().unwrap_or_default().to_string()
}

/// A notification from the simulated licence system, and its delivery.
async fn notification(s: &TestServer, upstream: &str, form: &[(&str, &str)]) -> String {
    let mut f = vec![("upstream", upstream)];
    f.extend_from_slice(form);
    let res = reqwest::Client::new()
        .post(format!("{}/t/main/licence-simulator/notification", s.base))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/jwt");
    res.text().await.unwrap()
}

async fn deliver(s: &TestServer, upstream: &str, jws: &str) -> u16 {
    let res = reqwest::Client::new()
        .post(format!("{}/t/main/upstream/{upstream}/licence/notify", s.base))
        .header("content-type", "application/jwt")
        .body(jws.to_string())
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn agent_and_representative(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.licence.provider = "simulator".into()).await else {
        return;
    };
    add(&s, "licence", true, LicenceUpstream::default()).await;
    add(&s, "other", true, LicenceUpstream::default()).await;
    settle().await;
    let org = enterprise(&s).await;
    let (client, secret) = s.add_client(ClientType::Web, department()).await;
    let secret = secret.unwrap();
    let tenant = s.tenant_id().await;

    // an agent with two itemised matters for 30 days: a new account bound at level 3, acting
    // for the enterprise under the mandate at once
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    assert!(page.contains("id=\"licence-share\""), "{page}");
    let agent = [
        ("name", "李四"),
        ("id_number", AGENT),
        ("matters", "税务申报，社保缴费"),
        ("days", "30"),
        ("authorisation", "auth-1"),
    ];
    let step = confirm(&b, &s, &page, "agent", &agent).await;
    let cb = consent_if_asked(&b, &s, step).await.callback();
    let tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let info = userinfo_of(&s, &tokens).await;
    assert_eq!(info["act_as"], "enterprise", "{info}");
    let e = &info["entity"];
    assert_eq!((e["uscc"].as_str(), e["role"].as_str()), (Some(USCC), Some("agent")), "{info}");
    assert_eq!(e["matters"], json!(["税务申报", "社保缴费"]), "{info}");
    assert!(e["expiry"].as_i64().unwrap() > s.env.now() + 29 * 86400, "{info}");
    let account = info["sub"].as_str().unwrap().to_string();
    assert_eq!(s.ops.store.real_name(&account).await.unwrap().unwrap().level, 3);
    let members = s.ops.store.members_of(&tenant, &org.id).await.unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0].source.as_deref(), Some("licence:licence:auth-1"));
    assert!(members[0].confirmed_at.is_some());

    // the same again: nothing new; the matters changed at the licence: the old mandate ends
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    consent_if_asked(&b, &s, confirm(&b, &s, &page, "agent", &agent).await).await.callback();
    assert_eq!(s.ops.store.members_of(&tenant, &org.id).await.unwrap().len(), 1, "kept");
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let changed: Vec<(&str, &str)> = agent.iter().cloned().chain([("matters", "年报")]).collect();
    let cb = consent_if_asked(&b, &s, confirm(&b, &s, &page, "agent", &changed).await).await.callback();
    let tokens2 = redeem(&s, &client, &secret, &cb["code"]).await;
    assert_eq!(userinfo_of(&s, &tokens2).await["entity"]["matters"], json!(["年报"]));
    let members = s.ops.store.members_of(&tenant, &org.id).await.unwrap();
    assert_eq!(members.iter().filter(|m| m.revoked_at.is_none()).count(), 1, "{members:?}");
    assert_eq!(members.len(), 2, "the first ended, not deleted");
    assert_eq!(userinfo(&s, tokens["access_token"].as_str().unwrap()).await.0, 401, "its tokens stop");

    // the licence system revokes the authorisation: the notification ends the mandate and its
    // tokens; the same notification again, altered, or for another upstream is refused
    let jws = notification(
        &s,
        "licence",
        &[("event", "authorisation_revoked"), ("uscc", USCC), ("authorisation", "auth-1")],
    )
    .await;
    let mut altered = jws.clone();
    altered.insert(jws.find('.').unwrap() + 3, 'A');
    assert_eq!(deliver(&s, "licence", &altered).await, 400);
    let events = s.ops.store.audit_events(&tenant, 30).await.unwrap();
    assert!(
        !events.iter().any(|e| e.kind.starts_with("licence_notification")),
        "unsigned posts leave no audit row"
    );
    assert_eq!(deliver(&s, "other", &jws).await, 400, "addressed to another upstream");
    assert!(reason_of(&s, "licence_notification_refused").await.contains("another address"));
    assert_eq!(deliver(&s, "nosuch", &jws).await, 404);
    assert_eq!(deliver(&s, "licence", &jws).await, 200);
    assert_eq!(userinfo(&s, tokens2["access_token"].as_str().unwrap()).await.0, 401, "revoked");
    let members = s.ops.store.members_of(&tenant, &org.id).await.unwrap();
    assert!(members.iter().all(|m| m.revoked_at.is_some()), "{members:?}");
    assert_eq!(deliver(&s, "licence", &jws).await, 400, "a replay");
    assert!(reason_of(&s, "licence_notification_refused").await.contains("replayed"));
    let events = s.ops.store.audit_events(&tenant, 30).await.unwrap();
    let done = events.iter().find(|e| e.kind == "licence_notification").unwrap();
    assert_eq!(done.detail["ended"], 1, "{}", done.detail);

    // a revocation that arrives while the sign-in it names goes on: nothing is granted
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let agent3: Vec<(&str, &str)> = agent.iter().cloned().chain([("authorisation", "auth-3")]).collect();
    let form = form_of(&page, "agent", &agent3);
    let res = b.http.post(format!("{}/t/main/licence-simulator", s.base)).form(&form).send().await.unwrap();
    let back = format!("{}{}", s.base, res.headers()["location"].to_str().unwrap());
    let jws3 = notification(
        &s,
        "licence",
        &[("event", "authorisation_revoked"), ("uscc", USCC), ("authorisation", "auth-3")],
    )
    .await;
    assert_eq!(deliver(&s, "licence", &jws3).await, 200);
    consent_if_asked(&b, &s, b.get(&s, &back).await).await.callback();
    assert!(reason_of(&s, "licence_role_refused").await.contains("revoked"));
    assert!(s.ops.store.members_of(&tenant, &org.id).await.unwrap().iter().all(|m| m.revoked_at.is_some()));

    // the agent signs in again with a new authorisation, then the legal representative: the
    // register had none, so the licence's is written; the agent's mandate stands
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let agent2: Vec<(&str, &str)> = agent.iter().cloned().chain([("authorisation", "auth-2")]).collect();
    consent_if_asked(&b, &s, confirm(&b, &s, &page, "agent", &agent2).await).await.callback();
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let rep = [("name", "王五"), ("id_number", REP)];
    let cb =
        consent_if_asked(&b, &s, confirm(&b, &s, &page, "legal_representative", &rep).await).await.callback();
    let tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let info = userinfo_of(&s, &tokens).await;
    assert_eq!(info["entity"]["role"], "legal_representative", "{info}");
    let live: Vec<_> = s
        .ops
        .store
        .members_of(&tenant, &org.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.revoked_at.is_none())
        .collect();
    assert_eq!(live.len(), 2, "the representative and the agent: {live:?}");
    let o = s.ops.store.organisation(&tenant, &org.id).await.unwrap().unwrap();
    assert_eq!(o.representative_name.as_deref(), Some("王五"));

    // the register changes hands: the new representative's sign-in ends every earlier role
    s.ops.set_representative("main", &org.id, "赵六", NEW_REP).await.unwrap();
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let new_rep = [("name", "赵六"), ("id_number", NEW_REP)];
    consent_if_asked(&b, &s, confirm(&b, &s, &page, "legal_representative", &new_rep).await).await.callback();
    let live: Vec<_> = s
        .ops
        .store
        .members_of(&tenant, &org.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.revoked_at.is_none())
        .collect();
    assert_eq!((live.len(), live[0].kind.as_str()), (1, "legal_representative"), "{live:?}");

    // someone else claiming to be the representative is refused, before anything is written
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let (_, _, body) = confirm(&b, &s, &page, "legal_representative", &agent[..2]).await.page();
    assert!(body.contains("不被接受") && body.contains("name=\"password\""), "{body}");
    assert!(reason_of(&s, "upstream_failure").await.contains("another legal representative"));
    // an enterprise that is not in the tree (the operator did not let the licence add it)
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let other = [("uscc", "91110000600037341L"), ("name", "李四"), ("id_number", AGENT), ("days", "5")];
    let (_, _, body) = confirm(&b, &s, &page, "licence_manager", &other).await.page();
    assert!(body.contains("不被接受"), "{body}");
    assert!(reason_of(&s, "upstream_failure").await.contains("not registered"));
}
crate::both_backends!(signing_in_with_the_business_licence, agent_and_representative);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_bindings_the_operator_did_not_allow_are_refused() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.licence.provider = "simulator".into()).await.unwrap();
    // only representatives and agents; enterprises may be added from the licence
    let limited = LicenceUpstream {
        roles: vec!["legal_representative".into(), "agent".into()],
        create_enterprises: true,
    };
    add(&s, "licence", true, limited).await;
    // no level rule: the person's identity counts for nothing here
    add(&s, "unrated", false, LicenceUpstream::default()).await;
    settle().await;
    let (client, secret) = s.add_client(ClientType::Web, department()).await;
    let secret = secret.unwrap();
    let tenant = s.tenant_id().await;

    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let manager = [("name", "李四"), ("id_number", AGENT), ("days", "5")];
    let (_, _, body) = confirm(&b, &s, &page, "licence_manager", &manager).await.page();
    assert!(body.contains("不被接受"), "{body}");
    assert!(reason_of(&s, "upstream_failure").await.contains("licence_manager is not accepted"));
    assert!(s.ops.store.organisation_by_uscc(&tenant, USCC).await.unwrap().is_none(), "nothing written");

    // an agent: the enterprise is added from the licence
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let agent = [("name", "李四"), ("id_number", AGENT), ("days", "5"), ("matters", "*")];
    let cb = consent_if_asked(&b, &s, confirm(&b, &s, &page, "agent", &agent).await).await.callback();
    let info = userinfo_of(&s, &redeem(&s, &client, &secret, &cb["code"]).await).await;
    assert_eq!(info["entity"]["matters"], json!(["*"]), "a whole authorisation: {info}");
    let org = s.ops.store.organisation_by_uscc(&tenant, USCC).await.unwrap().expect("added");
    assert_eq!(org.name, "示例科技有限公司");

    // through an upstream whose answers reach no level, the account is not bound to the
    // person: signed in as themselves, no role granted
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "unrated").await;
    let someone = [("name", "赵六"), ("id_number", REP), ("days", "5"), ("matters", "年报")];
    let cb = consent_if_asked(&b, &s, confirm(&b, &s, &page, "agent", &someone).await).await.callback();
    let info = userinfo_of(&s, &redeem(&s, &client, &secret, &cb["code"]).await).await;
    assert_eq!(info["act_as"], "self", "{info}");
    assert!(reason_of(&s, "licence_role_refused").await.contains("not bound"));
    let members = s.ops.store.members_of(&tenant, &org.id).await.unwrap();
    assert_eq!(members.len(), 1, "only the first agent's: {members:?}");

    // bad answers from the app: a malformed credit code, an agent without matters
    let b = Browser::new();
    let page = to_app(&b, &s, &app_url(&s, &client), "licence").await;
    let bad = [("uscc", "9122"), ("name", "李四"), ("id_number", AGENT), ("days", "5"), ("matters", "*")];
    let (_, status, body) = confirm(&b, &s, &page, "agent", &bad).await.page();
    assert_eq!(status, 400, "{body}");
    let bad = [("name", "李四"), ("id_number", AGENT), ("days", "5"), ("matters", "")];
    assert_eq!(confirm(&b, &s, &page, "agent", &bad).await.page().1, 400);

    // a cancelled confirmation: back at the sign-in page
    let (_, _, body) = confirm(&b, &s, &page, "agent", &[("decision", "cancel")]).await.page();
    assert!(body.contains("name=\"password\""), "{body}");
    assert!(reason_of(&s, "upstream_failure").await.contains("access_denied"));

    // the operator removes the upstream: what it granted ends with it
    s.ops.remove_upstream_by("main", "licence", "test").await.unwrap();
    let members = s.ops.store.members_of(&tenant, &org.id).await.unwrap();
    assert!(members.iter().all(|m| m.revoked_at.is_some()), "{members:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_is_there_only_when_configured() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    add(&s, "licence", true, LicenceUpstream::default()).await;
    settle().await;
    let b = Browser::new();
    let (_, status, _) = b
        .get(&s, &format!("{}/t/main/licence-simulator?upstream=licence&state=x&party=p", s.base))
        .await
        .page();
    assert_eq!(status, 404);
    let res = reqwest::Client::new()
        .post(format!("{}/t/main/licence-simulator/notification", s.base))
        .form(&[("upstream", "licence"), ("event", "licence_cancelled"), ("uscc", USCC)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // nor is a notification accepted without a connector
    assert_eq!(deliver(&s, "licence", "a.b.c").await, 404);
}

/// The simulator's page in Chromium (`tests/browser/connectors.mjs`): audited (axe WCAG 2.1 AA,
/// weight) and pictured in `docs/screenshots/licence-simulator.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_in_chromium() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.licence.provider = "simulator".into()).await.unwrap();
    add(&s, "licence", true, LicenceUpstream::default()).await;
    settle().await;
    enterprise(&s).await;
    let (client, _) = s.add_client(ClientType::Web, department()).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let url = app_url(&s, &client);
    let args = ["licence", &s.base, &url, crate::common::REDIRECT, &shots.display().to_string()];
    let (ok, stdout) =
        crate::browser::browser_script("connectors.mjs", args.map(|a| a.to_string()).to_vec(), vec![]).await;
    assert!(ok, "{stdout}");
    for step in ["licence_simulator", "signed_in", "done"] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "{step}: {stdout}");
    }
}
