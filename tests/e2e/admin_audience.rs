//! The admin API is a resource of its own (RFC 8707; `idp_core::admin`): the attack a review
//! found, end to end. A delegated organisation administrator registers a department
//! application in its subtree with the `admin` scope and statutory consent, a system
//! administrator signs in to it, and its owner holds a platform administrator's token. Each
//! step is refused now: the scope on the registration (API and operator), the administrators'
//! client mark, the scope and the resource at the authorization endpoint, the department
//! application's token at the admin API, the administrators' client itself for delegated
//! administrators, the admin token at UserInfo, and a disabled administrators' client.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;
use idp_server::ops::{NewAccount, NewClient};
use serde_json::json;

use crate::admin_api::{Api, token, urlencoding};
use crate::browser::Browser;
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::rp::userinfo;
use crate::step_up::enrol;

async fn attack(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    let org = |parent: Option<&str>, name: &str, level: &str, region: &str| {
        let new = NewOrganisation {
            kind: "government".into(),
            name: name.into(),
            level: Some(level.into()),
            region_code: Some(region.into()),
            ..NewOrganisation::default()
        };
        let (ops, parent) = (&s.ops, parent.map(str::to_string));
        async move { ops.add_organisation("main", parent.as_deref(), new).await.unwrap() }
    };
    let prov = org(None, "省政府", "province", "220000").await;
    let city = org(Some(&prov.id), "长春市", "city", "220100").await;
    let sys = NewAccount {
        username: "sys".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["system_admin".into()],
    };
    s.ops.add_account("main", sys).await.unwrap();
    s.add_account("deleg").await;
    s.ops.add_membership("main", "deleg", &city.id, vec!["org_admin".into()]).await.unwrap();
    let (sys_totp, _) = enrol(&s, "sys").await;
    let (deleg_totp, _) = enrol(&s, "deleg").await;

    // the console, registered (by the operator) to an organisation inside the delegate's
    // subtree: its subtree rights must still not reach an administrators' client
    let settings = ClientSettings {
        admin_client: true,
        organisation_id: Some(city.id.clone()),
        ..ClientSettings::default()
    };
    let (console, console_secret) = s.add_client(ClientType::Web, settings).await;
    let console_secret = console_secret.unwrap();
    let sys_tk = token(&s, &console, &console_secret, "openid%20admin", "sys", Some(&sys_totp)).await;
    s.env.advance(30);
    let deleg_tk = token(&s, &console, &console_secret, "openid%20admin", "deleg", Some(&deleg_totp)).await;
    let api = Api { s: &s };
    assert_eq!(
        api.call("GET", "main/clients", Some(&sys_tk), None).await.0,
        200,
        "the console's token works"
    );

    // 1. the delegate's registration with the admin scope: refused as input, and the mark that
    // would allow it is the system administrators' alone
    let dept_app = |scope: &str, admin: Option<bool>| {
        json!({"name": "民政服务", "type": "web", "redirect_uris": [crate::common::REDIRECT],
               "scope": scope, "organisation_id": city.id, "consent": "statutory", "admin_client": admin})
    };
    let (status, p) =
        api.call("POST", "main/clients", Some(&deleg_tk), Some(dept_app("openid admin", None))).await;
    assert!(status == 400 && p["detail"].as_str().unwrap().contains("administrators' clients"), "{p}");
    let (status, _) =
        api.call("POST", "main/clients", Some(&deleg_tk), Some(dept_app("openid", Some(true)))).await;
    assert_eq!(status, 403, "only system administrators mark administrators' clients");
    // …nor by a change of an application it does manage
    let (status, app) =
        api.call("POST", "main/clients", Some(&deleg_tk), Some(dept_app("openid", None))).await;
    assert_eq!(status, 201, "{app}");
    let (app_id, app_secret) =
        (app["client_id"].as_str().unwrap().to_string(), app["client_secret"].as_str().unwrap().to_string());
    let path = format!("main/clients/{app_id}");
    let (status, _) = api.call("PATCH", &path, Some(&deleg_tk), Some(json!({"scope": "openid admin"}))).await;
    assert_eq!(status, 400);
    let (status, _) = api.call("PATCH", &path, Some(&deleg_tk), Some(json!({"admin_client": true}))).await;
    assert_eq!(status, 403);
    // a system administrator cannot put the scope on a department application either, nor
    // name the admin API as one of its resources
    let (status, _) = api.call("PATCH", &path, Some(&sys_tk), Some(json!({"scope": "openid admin"}))).await;
    assert_eq!(status, 400);
    let admin_api = format!("{}/admin/v1", s.base);
    let (status, _) = api.call("PATCH", &path, Some(&sys_tk), Some(json!({"resources": [admin_api]}))).await;
    assert_eq!(status, 400);
    // the operator's CLI (ops) refuses the scope without the mark, and the mark on a service
    let plain = |kind: ClientType, settings: ClientSettings| NewClient {
        name: "x".into(),
        client_type: kind,
        redirect_uris: if kind == ClientType::Web { vec![crate::common::REDIRECT.into()] } else { vec![] },
        post_logout_redirect_uris: vec![],
        scope: Some("openid admin".into()),
        settings: Some(settings),
    };
    let e = s.ops.add_client("main", plain(ClientType::Web, ClientSettings::default())).await.unwrap_err();
    assert!(e.to_string().contains("administrators' clients"), "{e}");
    let marked = ClientSettings { admin_client: true, ..ClientSettings::default() };
    assert!(s.ops.add_client("main", plain(ClientType::Service, marked)).await.is_err());

    // …nor let its application ask for another department's API: a resource is a registered
    // service, and only one inside the delegate's subtree may be named
    let hr =
        ClientSettings { resource_uri: Some("https://hr.example.gov.cn/api".into()), ..Default::default() };
    s.add_client(ClientType::Service, hr).await;
    let asks_hr = json!({"name": "x", "type": "web", "redirect_uris": [crate::common::REDIRECT],
                         "organisation_id": city.id, "resources": ["https://hr.example.gov.cn/api"]});
    assert_eq!(api.call("POST", "main/clients", Some(&deleg_tk), Some(asks_hr)).await.0, 403);
    let (status, _) = api
        .call("PATCH", &path, Some(&deleg_tk), Some(json!({"resources": ["https://hr.example.gov.cn/api"]})))
        .await;
    assert_eq!(status, 403);
    let (status, _) = api
        .call(
            "PATCH",
            &path,
            Some(&deleg_tk),
            Some(json!({"resources": ["https://nowhere.example.gov.cn/"]})),
        )
        .await;
    assert_eq!(status, 400, "not a registered resource");
    // and may not make one of its services answer to an API's address (first come)
    let claim = json!({"name": "y", "type": "service", "organisation_id": city.id,
                       "resource_uri": "https://payroll.example.gov.cn/api"});
    assert_eq!(api.call("POST", "main/clients", Some(&deleg_tk), Some(claim)).await.0, 403);

    // 2. the delegate cannot see, change or take over the administrators' client
    let (_, list) = api.call("GET", "main/clients", Some(&deleg_tk), None).await;
    assert!(list.as_array().unwrap().iter().all(|c| c["client_id"] != console.as_str()), "{list}");
    let console_path = format!("main/clients/{console}");
    assert_eq!(api.call("GET", &console_path, Some(&deleg_tk), None).await.0, 403);
    let evil = json!({"redirect_uris": ["https://evil.example/cb"]});
    assert_eq!(api.call("PATCH", &console_path, Some(&deleg_tk), Some(evil)).await.0, 403);
    let rotate = format!("{console_path}/rotate-secret");
    assert_eq!(api.call("POST", &rotate, Some(&deleg_tk), None).await.0, 403);

    // 3. a system administrator signing in to the department application gets no admin token
    let b = Browser::new();
    let error_of = |step: crate::browser::Step| step.callback().get("error").cloned().unwrap_or_default();
    let asks_admin = auth_url(&s.issuer, &app_id, "").replace("scope=openid", "scope=openid%20admin");
    assert_eq!(error_of(b.get(&s, &asks_admin).await), "invalid_scope");
    let asks_api = auth_url(&s.issuer, &app_id, &format!("&resource={}", urlencoding(&admin_api)));
    assert_eq!(error_of(b.get(&s, &asks_api).await), "invalid_target");
    // its ordinary token, from a two-factor sign-in of a system administrator, is not for the API
    s.env.advance(30);
    let app_tk = token(&s, &app_id, &app_secret, "openid", "sys", Some(&sys_totp)).await;
    let (status, p) = api.call("GET", "main/clients", Some(&app_tk), None).await;
    assert!(status == 401 && p["detail"].as_str().unwrap().contains("not for the admin API"), "{p}");
    let (status, _) = userinfo(&s, &app_tk).await;
    assert_eq!(status, 200, "the application's own token still works where it should");

    // 4. the admin token carries the API as its audience, and is not for UserInfo
    let claims = crate::rp::claims(&sys_tk);
    assert_eq!(
        (claims["aud"].as_str(), claims["client_id"].as_str()),
        (Some(admin_api.as_str()), Some(console.as_str()))
    );
    assert_eq!(userinfo(&s, &sys_tk).await.0, 401);

    // …and only for the admin API exactly (a trailing slash is another resource)
    let slash =
        auth_url(&s.issuer, &console, &format!("&resource={}", urlencoding(&format!("{admin_api}/"))));
    assert_eq!(error_of(Browser::new().get(&s, &slash).await), "invalid_target");
    // the console's token without the admin scope is not for the API either, and the
    // console gets no refresh tokens (its access lasts as long as a sign-in)
    s.env.advance(30);
    let plain_console = token(&s, &console, &console_secret, "openid", "sys", Some(&sys_totp)).await;
    assert_eq!(api.call("GET", "main/clients", Some(&plain_console), None).await.0, 401);
    let (_, info) = api.call("GET", &format!("main/clients/{console}"), Some(&sys_tk), None).await;
    assert!(!info["scope"].as_str().unwrap().contains("offline_access"), "{info}");
    let refresh =
        ClientSettings { admin_client: true, always_issue_refresh_token: true, ..ClientSettings::default() };
    assert!(s.ops.add_client("main", plain(ClientType::Web, refresh)).await.is_err());

    // 5. a client no longer marked as an administrators' client: its tokens stop at once
    let (status, _) = api.call("POST", "main/clients", Some(&sys_tk), Some(json!({
        "name": "第二控制台", "type": "web", "redirect_uris": [crate::common::REDIRECT], "admin_client": true})))
    .await;
    assert_eq!(status, 201);
    let (_, list) = api.call("GET", "main/clients", Some(&sys_tk), None).await;
    let second = list.as_array().unwrap().iter().find(|c| c["name"] == "第二控制台").unwrap().clone();
    let second_id = second["client_id"].as_str().unwrap().to_string();
    let (_, rotated) =
        api.call("POST", &format!("main/clients/{second_id}/rotate-secret"), Some(&sys_tk), None).await;
    let second_secret = rotated["client_secret"].as_str().unwrap().to_string();
    s.env.advance(30);
    let second_tk = token(&s, &second_id, &second_secret, "openid%20admin", "sys", Some(&sys_totp)).await;
    assert_eq!(api.call("GET", "main/clients", Some(&second_tk), None).await.0, 200);
    let unmark = json!({"admin_client": false});
    assert_eq!(
        api.call("PATCH", &format!("main/clients/{second_id}"), Some(&sys_tk), Some(unmark)).await.0,
        200
    );
    assert_eq!(api.call("GET", "main/clients", Some(&second_tk), None).await.0, 401, "unmarked: refused");

    // 6. the administrators' client in use is not disabled through itself (that would lock
    // every administrator out); disabled by the operator, its tokens stop at once
    let (status, answer) = api.call("POST", &format!("{console_path}/disable"), Some(&sys_tk), None).await;
    assert_eq!(status, 409, "{answer}");
    let console_id = console_path.rsplit('/').next().unwrap();
    s.ops.set_client_disabled("main", console_id, true).await.unwrap();
    assert_eq!(api.call("GET", "main/clients", Some(&sys_tk), None).await.0, 401);
}

crate::both_backends!(a_delegated_administrator_cannot_mint_platform_tokens, attack);

/// An audit administrator verifies their own tenant's chain; the administrators' tenant's
/// auditors (the platform's) every chain.
async fn audit_chains_per_tenant(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.limits.signin_per_account_per_minute = 100).await
    else {
        return;
    };
    s.ops.add_tenant("north", None).await.unwrap();
    let mut tokens = vec![];
    for slug in ["main", "north"] {
        let auditor = NewAccount {
            username: "aud".into(),
            password: Some(PASSWORD.into()),
            name: None,
            phone: None,
            email: None,
            roles: vec!["audit_admin".into()],
        };
        s.ops.add_account(slug, auditor).await.unwrap();
        let totp = s.ops.enrol_totp(slug, "aud").await.unwrap();
        s.ops.confirm_totp(slug, "aud", &totp.code_at_step(s.env.now() / 30)).await.unwrap();
        s.env.advance(30);
        let settings = ClientSettings { admin_client: true, ..ClientSettings::default() };
        let (console, secret) = s.add_client_in(slug, ClientType::Web, settings).await;
        let secret = secret.unwrap();
        let admin = "openid%20admin";
        tokens.push(crate::admin_api::token_in(&s, slug, &console, &secret, admin, "aud", Some(&totp)).await);
        s.env.advance(30);
    }
    let api = Api { s: &s };
    let chains = |v: &serde_json::Value| -> Vec<String> {
        v["chains"].as_array().unwrap().iter().map(|c| c["chain"].as_str().unwrap().to_string()).collect()
    };
    let (main_id, north_id) = (s.tenant_id().await, s.ops.tenant("north").await.unwrap().id);
    let (status, all) = api.call("GET", "main/audit/verify", Some(&tokens[0]), None).await;
    assert_eq!(status, 200, "{all}");
    assert!(chains(&all).contains(&main_id) && chains(&all).contains(&north_id), "{all}");
    let (status, own) = api.call("GET", "north/audit/verify", Some(&tokens[1]), None).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(chains(&own), vec![north_id.clone()], "only its own tenant's chain: {own}");
    // nor another tenant's through its own token
    assert_eq!(api.call("GET", "main/audit/verify", Some(&tokens[1]), None).await.0, 401);
}

crate::both_backends!(an_auditor_verifies_only_their_tenants_chain, audit_chains_per_tenant);

/// Delegated organisation administrators are administrators: their sessions go idle after 15
/// minutes, like the three roles', while other staff keep the tenant's 30.
async fn delegated_idle_timeout(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let new = NewOrganisation {
        kind: "government".into(),
        name: "长春市".into(),
        level: Some("city".into()),
        region_code: Some("220100".into()),
        ..NewOrganisation::default()
    };
    let city = s.ops.add_organisation("main", None, new).await.unwrap();
    for (who, role) in [("deleg", "org_admin"), ("clerky", "approver")] {
        s.add_account(who).await;
        s.ops.add_membership("main", who, &city.id, vec![role.into()]).await.unwrap();
    }
    let (web, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let (bd, bs) = (Browser::new(), Browser::new());
    for (b, who) in [(&bd, "deleg"), (&bs, "clerky")] {
        assert!(b.authorize(&s, &auth_url(&s.issuer, &web, ""), who).await.callback().contains_key("code"));
    }
    s.env.advance(16 * 60);
    let silent = auth_url(&s.issuer, &web, "&prompt=none");
    let cb = bd.get(&s, &silent).await.callback();
    assert_eq!(cb["error"], "login_required", "the delegate's session idled out");
    let cb = bs.get(&s, &silent).await.callback();
    assert!(cb.contains_key("code"), "other staff keep the tenant's idle time");
}

crate::both_backends!(a_delegated_administrators_session_idles_out_after_15_minutes, delegated_idle_timeout);
