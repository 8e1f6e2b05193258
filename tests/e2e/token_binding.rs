//! Tokens stay with the client and resource they were issued for: introspection answers only a
//! token's own client or the resource it is for (RFC 7662 §2.2, RFC 8707), and releases the
//! username only under `profile`; a disabled client's tokens stop at once on every node; another
//! client (of this tenant or another) presenting a used code or refresh token revokes nothing;
//! the operator's secret rotation ends every older secret at once.

use idp_core::model::{AccessTokenFormat, ClientSettings, ClientType};
use serde_json::Value;

use crate::admin_api::urlencoding;
use crate::browser::{Browser, rp_http};
use crate::common::{Backend, REDIRECT, TestServer, auth_url};
use crate::rp::{claims, introspect, redeem, refresh, userinfo};

const RECORDS: &str = "https://records.example.gov.cn/api";

/// A code for `login` at `client` asking `scope` (space-separated) and `extra` parameters.
async fn code(s: &TestServer, b: &Browser, client: &str, scope: &str, extra: &str, login: &str) -> String {
    let url =
        auth_url(&s.issuer, client, extra).replace("scope=openid", &format!("scope={}", urlencoding(scope)));
    let cb = b.authorize(s, &url, login).await.callback();
    cb.get("code").cloned().unwrap_or_else(|| panic!("no code: {cb:?}"))
}

async fn token_form(s: &TestServer, issuer: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Value {
    let res = rp_http()
        .post(format!("{issuer}/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap_or_else(|_| panic!("{}", s.issuer))
}

/// The account `lin` and the service that is the resource `RECORDS` (registered first: a client
/// may list only a resource some service of the tenant is); its id and secret.
async fn records_server(s: &TestServer) -> (String, String) {
    s.add_account("lin").await;
    let records = ClientSettings { resource_uri: Some(RECORDS.into()), ..ClientSettings::default() };
    let (rs, rs_secret) = s.add_client(ClientType::Service, records).await;
    (rs, rs_secret.unwrap())
}

async fn introspection(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (rs, rs_secret) = records_server(&s).await;
    let web = ClientSettings {
        resources: vec![RECORDS.into()],
        always_issue_refresh_token: true,
        ..ClientSettings::default()
    };
    let (app, app_secret) = s.add_client(ClientType::Web, web.clone()).await;
    let app_secret = app_secret.unwrap();
    let opaque = ClientSettings { access_token_format: AccessTokenFormat::Opaque, ..web };
    let (app2, app2_secret) = s.add_client(ClientType::Web, opaque).await;
    let app2_secret = app2_secret.unwrap();
    let (other, other_secret) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let other_secret = other_secret.unwrap();
    let b = Browser::new();

    // a token without `profile`: its client sees it, without the username; nobody else sees it
    let t = redeem(&s, &app, &app_secret, &code(&s, &b, &app, "openid", "", "lin").await).await;
    let at = t["access_token"].as_str().unwrap();
    let own = introspect(&s, &app, &app_secret, at).await;
    assert_eq!((own["active"].as_bool(), own.get("username")), (Some(true), None), "{own}");
    for (id, secret) in [(&rs, &rs_secret), (&other, &other_secret), (&app2, &app2_secret)] {
        assert_eq!(introspect(&s, id, secret, at).await, serde_json::json!({"active": false}), "{id}");
    }
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&s, &other, &other_secret, rt).await["active"], false, "nor its refresh token");
    // with `profile`, the username
    let t = redeem(&s, &app, &app_secret, &code(&s, &b, &app, "openid profile", "", "lin").await).await;
    let own = introspect(&s, &app, &app_secret, t["access_token"].as_str().unwrap()).await;
    assert_eq!(own["username"], "lin", "{own}");

    // a token for a resource: its `aud`; that resource's server may introspect it, others not;
    // it is not for UserInfo; in both token formats
    let resource = format!("&resource={}", urlencoding(RECORDS));
    for (client, secret) in [(&app, &app_secret), (&app2, &app2_secret)] {
        let c = code(&s, &b, client, "openid", &resource, "lin").await;
        let t = redeem(&s, client, secret, &c).await;
        let at = t["access_token"].as_str().unwrap();
        if client == &app {
            assert_eq!(
                (claims(at)["aud"].as_str(), claims(at)["client_id"].as_str()),
                (Some(RECORDS), Some(app.as_str()))
            );
        }
        let seen = introspect(&s, &rs, &rs_secret, at).await;
        assert_eq!((seen["active"].as_bool(), seen["aud"].as_str()), (Some(true), Some(RECORDS)), "{seen}");
        assert_eq!(introspect(&s, &other, &other_secret, at).await["active"], false);
        assert_eq!(userinfo(&s, at).await.0, 401);
        // its refresh keeps the resource; another resource is refused at the token endpoint
        let rt = t["refresh_token"].as_str().unwrap();
        let wrong =
            [("grant_type", "refresh_token"), ("refresh_token", rt), ("resource", "https://x.example/")];
        assert_eq!(token_form(&s, &s.issuer, client, secret, &wrong).await["error"], "invalid_target");
        let again = refresh(&s, client, secret, rt).await;
        let seen = introspect(&s, &rs, &rs_secret, again["access_token"].as_str().unwrap()).await;
        assert_eq!(seen["aud"], RECORDS, "{again}");
    }
    // a resource the client was not registered for
    let b2 = Browser::new();
    let url = auth_url(&s.issuer, &app, "&resource=https%3A%2F%2Fother.example.gov.cn%2F");
    let cb = b2.get(&s, &url).await.callback();
    assert_eq!(cb["error"], "invalid_target", "{cb:?}");
    // a service asks client credentials for its registered resource only
    let svc = ClientSettings { resources: vec![RECORDS.into()], ..ClientSettings::default() };
    let (svc, svc_secret) = s.add_client(ClientType::Service, svc).await;
    let svc_secret = svc_secret.unwrap();
    let cc = |r: &'static str| [("grant_type", "client_credentials"), ("resource", r)];
    let t = token_form(&s, &s.issuer, &svc, &svc_secret, &cc(RECORDS)).await;
    assert_eq!(introspect(&s, &rs, &rs_secret, t["access_token"].as_str().unwrap()).await["active"], true);
    let t = token_form(&s, &s.issuer, &svc, &svc_secret, &cc("https://other.example.gov.cn/")).await;
    assert_eq!(t["error"], "invalid_target", "{t}");

    // resources are registered objects: one service is each, a client lists only those
    let dup = ClientSettings { resource_uri: Some(RECORDS.into()), ..ClientSettings::default() };
    let e = s.ops.add_client("main", new_client(ClientType::Service, dup)).await.unwrap_err();
    assert!(e.to_string().contains("already is the resource"), "{e}");
    let near = ClientSettings {
        resource_uri: Some(format!("{}/", RECORDS.replace("records", "RECORDS"))),
        ..Default::default()
    };
    let e = s.ops.add_client("main", new_client(ClientType::Service, near)).await;
    assert!(e.is_err(), "a near-duplicate (case, trailing slash) is the same resource");
    let unknown =
        ClientSettings { resources: vec!["https://hr.example.gov.cn/api".into()], ..Default::default() };
    let e = s.ops.add_client("main", new_client(ClientType::Web, unknown)).await.unwrap_err();
    assert!(e.to_string().contains("not a resource registered"), "{e}");
    // a refresh after the client lost the resource prolongs nothing
    let c = code(&s, &b, &app, "openid", &resource, "lin").await;
    let t = redeem(&s, &app, &app_secret, &c).await;
    let mut changed = s.ops.client("main", &app).await.unwrap();
    changed.settings.resources.clear();
    s.ops
        .store
        .update_client(&changed.tenant_id, &app, &changed.name, &changed.settings, None)
        .await
        .unwrap();
    let e = refresh(&s, &app, &app_secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(e["error"], "invalid_grant", "{e}");
}

fn new_client(kind: ClientType, settings: ClientSettings) -> idp_server::ops::NewClient {
    idp_server::ops::NewClient {
        name: "x".into(),
        client_type: kind,
        redirect_uris: if kind == ClientType::Service { vec![] } else { vec![REDIRECT.into()] },
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(settings),
    }
}

async fn disabled_client(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (rs, rs_secret) = records_server(&s).await;
    // opaque tokens: a second node (its own public URL, so its own issuer) reads them too
    let web = ClientSettings {
        resources: vec![RECORDS.into()],
        always_issue_refresh_token: true,
        access_token_format: AccessTokenFormat::Opaque,
        ..Default::default()
    };
    let (app, app_secret) = s.add_client(ClientType::Web, web).await;
    let app_secret = app_secret.unwrap();
    let b = Browser::new();
    let t = redeem(&s, &app, &app_secret, &code(&s, &b, &app, "openid", "", "lin").await).await;
    let c = code(&s, &b, &app, "openid", &format!("&resource={}", urlencoding(RECORDS)), "lin").await;
    let for_rs = redeem(&s, &app, &app_secret, &c).await;
    let (at, rt) = (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
    let at_rs = for_rs["access_token"].as_str().unwrap();
    // a second node has read (and cached) the client while it was enabled
    let node = s.another_node().await;
    let ui = |issuer: String, at: String| async move {
        rp_http().get(format!("{issuer}/userinfo")).bearer_auth(at).send().await.unwrap().status().as_u16()
    };
    assert_eq!(ui(node.issuer.clone(), at.into()).await, 200);
    assert_eq!(introspect(&s, &rs, &rs_secret, at_rs).await["active"], true);

    // a service's client-credentials token belongs to no family: only the client's own state
    // can stop it (opaque, so that the other node reads it too)
    let svc = ClientSettings { access_token_format: AccessTokenFormat::Opaque, ..ClientSettings::default() };
    let (svc, svc_secret) = s.add_client(ClientType::Service, svc).await;
    let svc_secret = svc_secret.unwrap();
    let cc = token_form(&s, &s.issuer, &svc, &svc_secret, &[("grant_type", "client_credentials")]).await;
    let cc_at = cc["access_token"].as_str().unwrap().to_string();
    let own = |issuer: String| {
        let (svc, svc_secret, cc_at) = (svc.clone(), svc_secret.clone(), cc_at.clone());
        async move {
            let res = rp_http()
                .post(format!("{issuer}/introspect"))
                .basic_auth(&svc, Some(&svc_secret))
                .form(&[("token", cc_at.as_str())])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or_default())
        }
    };
    assert_eq!(own(node.issuer.clone()).await.1["active"], true, "cached as enabled on the other node");

    s.ops.set_client_disabled("main", &app, true).await.unwrap();
    s.ops.set_client_disabled("main", &svc, true).await.unwrap();
    for issuer in [s.issuer.clone(), node.issuer.clone()] {
        assert_eq!(ui(issuer.clone(), at.into()).await, 401, "{issuer}");
    }
    // the disabled service cannot introspect at all; an enabled resource server reading its
    // token would see it inactive: the revocation check reads the client's state
    for issuer in [s.issuer.clone(), node.issuer.clone()] {
        let (status, body) = own(issuer.clone()).await;
        assert!(status == 401 || body["active"] == false, "{issuer}: {status} {body}");
    }
    let store_says = s.ops.store.access_token_revoked("any", None, &s.tenant_id().await, &svc).await.unwrap();
    assert!(store_says, "a disabled client's tokens are revoked, family or not");
    assert_eq!(introspect(&s, &rs, &rs_secret, at_rs).await["active"], false);
    let resp = rp_http()
        .post(format!("{}/introspect", node.issuer))
        .basic_auth(&rs, Some(&rs_secret))
        .form(&[("token", at_rs)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["active"], false, "on the other node too");
    // enabled again: what was issued before stays dead
    s.ops.set_client_disabled("main", &app, false).await.unwrap();
    assert_eq!(refresh(&s, &app, &app_secret, rt).await["error"], "invalid_grant");
    let fresh = redeem(&s, &app, &app_secret, &code(&s, &b, &app, "openid", "", "lin").await).await;
    assert_eq!(userinfo(&s, fresh["access_token"].as_str().unwrap()).await.0, 200, "new ones work");
}

async fn foreign_presenters(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    let web = ClientSettings { always_issue_refresh_token: true, ..ClientSettings::default() };
    let (app, app_secret) = s.add_client(ClientType::Web, web.clone()).await;
    let (thief, thief_secret) = s.add_client(ClientType::Web, web.clone()).await;
    let (app_secret, thief_secret) = (app_secret.unwrap(), thief_secret.unwrap());
    s.ops.add_tenant("north", None).await.unwrap();
    let (north, north_secret) = s.add_client_in("north", ClientType::Web, web).await;
    let north_secret = north_secret.unwrap();
    let north_issuer = format!("{}/t/north", s.base);
    let b = Browser::new();

    // a used code presented by another client: refused, and the family lives on
    let c = code(&s, &b, &app, "openid", "", "lin").await;
    let t = redeem(&s, &app, &app_secret, &c).await;
    assert_eq!(redeem(&s, &thief, &thief_secret, &c).await["error"], "invalid_grant");
    let redeem_north =
        [("grant_type", "authorization_code"), ("code", c.as_str()), ("redirect_uri", REDIRECT)];
    let e = token_form(&s, &north_issuer, &north, &north_secret, &redeem_north).await;
    assert_eq!(e["error"], "invalid_grant", "{e}");
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = refresh(&s, &app, &app_secret, &rt1).await;
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();

    // the used refresh token presented by another client, here or in another tenant — even a
    // client of the other tenant that has the very same client id
    assert_eq!(refresh(&s, &thief, &thief_secret, &rt1).await["error"], "invalid_grant");
    let mut twin = s.ops.client("north", &north).await.unwrap();
    twin.client_id = app.clone();
    s.ops.store.insert_client(&twin).await.unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt1.as_str())];
    assert_eq!(token_form(&s, &north_issuer, &app, &north_secret, &form).await["error"], "invalid_grant");
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt1.as_str())];
    assert_eq!(token_form(&s, &north_issuer, &north, &north_secret, &form).await["error"], "invalid_grant");
    // and revoked by another client: nothing happens
    for (issuer, id, secret) in [(&s.issuer, &thief, &thief_secret), (&north_issuer, &north, &north_secret)] {
        let res = rp_http()
            .post(format!("{issuer}/revoke"))
            .basic_auth(id, Some(secret))
            .form(&[("token", rt2.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(userinfo(&s, t2["access_token"].as_str().unwrap()).await.0, 200, "the family lives");
    let t3 = refresh(&s, &app, &app_secret, &rt2).await;
    assert!(t3["access_token"].is_string(), "{t3}");
    // the replay check itself still works for the client's own replay, and the family's
    // other tokens say why they died
    let e = refresh(&s, &app, &app_secret, &rt1).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("already been used"), "{e}");
    assert_eq!(userinfo(&s, t3["access_token"].as_str().unwrap()).await.0, 401, "family revoked");
    let e = refresh(&s, &app, &app_secret, t3["refresh_token"].as_str().unwrap()).await;
    assert!(e["error_description"].as_str().unwrap().contains("refresh tokens was presented twice"), "{e}");
    // a code redeemed twice by its own client: the tokens of the first redemption say so
    let c = code(&s, &b, &app, "openid", "", "lin").await;
    let t = redeem(&s, &app, &app_secret, &c).await;
    assert_eq!(redeem(&s, &app, &app_secret, &c).await["error"], "invalid_grant");
    let e = refresh(&s, &app, &app_secret, t["refresh_token"].as_str().unwrap()).await;
    assert!(
        e["error_description"].as_str().unwrap().contains("authorization code was presented twice"),
        "{e}"
    );
}

async fn operator_rotation(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (svc, first) = s.add_client(ClientType::Service, ClientSettings::default()).await;
    let first = first.unwrap();
    let cc = [("grant_type", "client_credentials")];
    let works = |secret: String| {
        let (s, svc) = (&s, svc.clone());
        async move { token_form(s, &s.issuer, &svc, &secret, &cc).await["access_token"].is_string() }
    };
    // the API's rotation with an overlap keeps the first secret working…
    let (_, second) = s.ops.rotate_client_secret_by("main", &svc, 3600, "test").await.unwrap();
    assert!(works(first.clone()).await && works(second.clone()).await);
    // …the operator's emergency rotation ends both at once
    let third = s.ops.rotate_client_secret("main", &svc).await.unwrap();
    assert!(!works(first).await, "the overlapped secret ended");
    assert!(!works(second).await, "the previous secret ended");
    assert!(works(third).await);
    assert_eq!(s.ops.client("main", &svc).await.unwrap().settings.previous_secret, None);
}

/// A client with a reuse interval (relying parties refreshing from several workers at once):
/// the token just rotated, presented again within it, is answered like a rotation and
/// audited; after it, or two rotations on, reuse revokes the family as always.
async fn reuse_interval(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    let web = ClientSettings {
        always_issue_refresh_token: true,
        refresh_reuse_seconds: Some(30),
        ..ClientSettings::default()
    };
    let (app, secret) = s.add_client(ClientType::Web, web).await;
    let secret = secret.unwrap();
    let b = Browser::new();
    let t = redeem(&s, &app, &secret, &code(&s, &b, &app, "openid", "", "lin").await).await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = refresh(&s, &app, &secret, &rt1).await;
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    // a second worker presents rt1 five seconds later: new tokens, the family lives
    s.env.advance(5);
    let again = refresh(&s, &app, &secret, &rt1).await;
    assert!(again["access_token"].is_string() && again["refresh_token"].is_string(), "{again}");
    assert!(
        refresh(&s, &app, &secret, &rt2).await["access_token"].is_string(),
        "the first worker's chain lives"
    );
    let events = s.ops.store.audit_events(&s.tenant_id().await, 50).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "refresh_token_reused" && e.client_id.as_deref() == Some(app.as_str()))
    );
    // rt1 is now two rotations old (rt2 was rotated): reuse revokes everything
    let e = refresh(&s, &app, &secret, &rt1).await;
    assert_eq!(e["error"], "invalid_grant", "{e}");
    assert_eq!(
        refresh(&s, &app, &secret, again["refresh_token"].as_str().unwrap()).await["error"],
        "invalid_grant"
    );

    // past the interval: reuse revokes
    let t = redeem(&s, &app, &secret, &code(&s, &b, &app, "openid", "", "lin").await).await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = refresh(&s, &app, &secret, &rt1).await;
    s.env.advance(31);
    assert_eq!(refresh(&s, &app, &secret, &rt1).await["error"], "invalid_grant");
    assert_eq!(
        refresh(&s, &app, &secret, t2["refresh_token"].as_str().unwrap()).await["error"],
        "invalid_grant"
    );
    // the interval is bounded
    let too_long = ClientSettings { refresh_reuse_seconds: Some(61), ..ClientSettings::default() };
    assert!(s.ops.add_client("main", new_client(ClientType::Web, too_long)).await.is_err());
}

crate::both_backends!(introspection_answers_only_the_tokens_client_or_resource, introspection);
crate::both_backends!(a_refresh_token_reused_within_the_interval_keeps_its_family, reuse_interval);
crate::both_backends!(a_disabled_clients_tokens_stop_at_once_on_every_node, disabled_client);
crate::both_backends!(another_client_presenting_a_token_revokes_nothing, foreign_presenters);
crate::both_backends!(the_operators_rotation_ends_every_older_secret, operator_rotation);
