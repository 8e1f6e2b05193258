//! Tenants through the admin API: the system administrators of the administrators' tenant
//! create (a sandbox too), list, disable and enable tenants — a disabled tenant's issuer stops
//! answering; a tenant's security administrators set its own rules (offered factors, lockout),
//! which the sign-in then follows; a sandbox tenant uses the simulated verification provider
//! and makes synthetic people who can sign in at once, bound at real-name level 2.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::ops::NewAccount;
use serde_json::{Value, json};

use crate::admin_api::token;
use crate::browser::{Browser, rp_http};
use crate::common::{Backend, PASSWORD, TestServer};
use crate::step_up::enrol;

pub(crate) async fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/admin/v1/{path}", s.base);
    let mut req = match method {
        "GET" => rp_http().get(url),
        "PUT" => rp_http().put(url),
        "DELETE" => rp_http().delete(url),
        _ => rp_http().post(url),
    };
    req = req.bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

pub(crate) async fn wait_for(what: impl AsyncFn() -> bool) {
    let started = std::time::Instant::now();
    while !what().await && started.elapsed().as_secs() < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A system and a security administrator of `main`, and their admin tokens (aal2).
pub(crate) async fn admins(s: &TestServer) -> (String, String) {
    for (who, role) in [("sys", "system_admin"), ("sec", "security_admin")] {
        let a = NewAccount {
            username: who.into(),
            password: Some(PASSWORD.into()),
            name: None,
            phone: None,
            email: None,
            roles: vec![role.into()],
        };
        s.ops.add_account("main", a).await.unwrap();
    }
    let settings =
        ClientSettings { scope: "openid admin".into(), admin_client: true, ..ClientSettings::default() };
    let (console, secret) = s.add_client(ClientType::Web, settings).await;
    let secret = secret.unwrap();
    let (sys_totp, _) = enrol(s, "sys").await;
    let sys = token(s, &console, &secret, "openid%20admin", "sys", Some(&sys_totp)).await;
    let (sec_totp, _) = enrol(s, "sec").await;
    let sec = token(s, &console, &secret, "openid%20admin", "sec", Some(&sec_totp)).await;
    (sys, sec)
}

async fn tenants(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    let (sys, sec) = admins(&s).await;

    // create and list: the administrators' tenant's system administrators only
    assert_eq!(call(&s, "GET", "tenants", &sec, None).await.0, 403);
    let (status, t) = call(
        &s,
        "POST",
        "tenants",
        &sys,
        Some(json!({"slug": "sandbox", "name": "联调环境", "sandbox": true})),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(
        (t["issuer"].as_str(), t["sandbox"].as_bool()),
        (Some(format!("{}/t/sandbox", s.base).as_str()), Some(true))
    );
    assert_eq!(call(&s, "POST", "tenants", &sys, Some(json!({"slug": "sandbox"}))).await.0, 400, "taken");
    assert_eq!(call(&s, "POST", "tenants", &sys, Some(json!({"slug": "Bad Slug"}))).await.0, 400);
    let (_, list) = call(&s, "GET", "tenants", &sys, None).await;
    let slugs: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["main", "sandbox"]);
    let discovery = || async {
        reqwest::get(format!("{}/t/sandbox/.well-known/openid-configuration", s.base))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(discovery().await, 200, "its own issuer at once");
    // disable: its issuer stops answering; enable: back; the administrators' own cannot go
    assert_eq!(call(&s, "POST", "tenants/sandbox/disable", &sec, None).await.0, 403);
    assert_eq!(call(&s, "POST", "tenants/sandbox/disable", &sys, None).await.0, 200);
    wait_for(async || discovery().await == 404).await;
    assert_eq!(discovery().await, 404);
    assert_eq!(call(&s, "POST", "tenants/sandbox/enable", &sys, None).await.0, 200);
    wait_for(async || discovery().await == 200).await;
    assert_eq!(discovery().await, 200);
    assert_eq!(call(&s, "POST", "tenants/main/disable", &sys, None).await.0, 400);

    // a tenant's own rules: its security administrators; the sign-in follows them
    let rules = json!({"factors": ["totp"], "policy": {"lockout_threshold": 3, "lockout_seconds": 600}});
    assert_eq!(call(&s, "PUT", "tenants/main/settings", &sys, Some(rules.clone())).await.0, 403);
    let (status, t) = call(&s, "PUT", "tenants/main/settings", &sec, Some(rules)).await;
    assert!(status == 200 && t["factors"] == json!(["totp"]) && t["policy"]["lockout_threshold"] == 3, "{t}");
    let bad = json!({"policy": {"lockout_threshold": 1}});
    assert_eq!(call(&s, "PUT", "tenants/main/settings", &sec, Some(bad)).await.0, 400);
    s.add_account("lu").await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await; // the change counter's poll
    let b = Browser::new();
    let (_, _, mut page) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    for _ in 0..3 {
        page = b.sign_in(&s, &page, "lu", "Wrong-Password-1").await.page().2;
    }
    let (_, _, locked) = b.sign_in(&s, &page, "lu", PASSWORD).await.page();
    assert!(!locked.contains("value=\"allow\"") && locked.contains("class=\"error\""), "{locked}");
    let lu = s.ops.account("main", "lu").await.unwrap();
    assert!(lu.locked_until.is_some(), "locked after the tenant's 3, not the default 5");

    // a sandbox makes synthetic people, bound at level 2, who sign in at once
    let (status, p) =
        call(&s, "POST", "tenants/main/synthetic-people", &sys, Some(json!({"count": 2}))).await;
    assert_eq!(status, 400, "not a sandbox: {p}");
    let people = s.ops.synthetic_people_by("sandbox", 3, "test").await.unwrap();
    assert_eq!(people.len(), 3);
    for p in &people {
        assert!(
            idp_core::identifiers::parse_person_id(&p.id_number, 2_000_000_000).is_ok(),
            "{}",
            p.id_number
        );
    }
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/sandbox/account", s.base)).await.page();
    let (_, _, page) = b.sign_in(&s, &login, &people[0].username, &people[0].password).await.page();
    assert!(page.contains("data-level=\"2\""), "{page}");
    // ... and verifies with the simulator, whatever the deployment has (here: none)
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let mismatch = crate::realname::resident("22010219800101096");
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "某"),
        ("id_type", "resident_id"),
        ("id_number", mismatch.as_str()),
    ];
    let answer = b.post_form(&s, "/t/sandbox/account/realname", &form).await.page().2;
    assert!(answer.contains("不一致"), "the simulator's mismatch: {answer}");
}
crate::both_backends!(tenants_rules_and_sandboxes, tenants);
