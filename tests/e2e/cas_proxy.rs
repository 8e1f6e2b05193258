//! CAS proxying (CAS 3.0 §2.5.4, §2.7): a portal registered with an https proxy callback
//! validates its ticket with `pgtUrl` and receives a proxy-granting ticket at the callback (the
//! provider verified the callback's certificate against the operator's CA file); it asks
//! `/cas/proxy` for a proxy ticket to a back-office service, which validates it at
//! `/proxyValidate` and learns the chain, the person's identifier, and only what the person
//! consented to for it. Refused: a callback not registered (no ticket sent to it), a service
//! not allowed to proxy, a proxy ticket at `/serviceValidate`, an unregistered target, a
//! replayed proxy ticket, and every proxy-granting ticket once the session has ended.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State as AxState};
use idp_proto::ClientRequest;

use crate::browser::{Browser, rp_http};
use crate::cas::{ticket_for, validate};
use crate::common::{Backend, TestServer};
use crate::oidc_flow::urlencode;

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// An https proxy callback on localhost (certificate from the development PKI): records the
/// (pgtIou, pgtId) pairs it receives.
async fn callback(pki: &std::path::Path) -> (Received, String) {
    let got: Received = Arc::default();
    async fn take(
        AxState(got): AxState<Received>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> &'static str {
        if let (Some(iou), Some(id)) = (q.get("pgtIou"), q.get("pgtId")) {
            got.lock().unwrap().push((iou.clone(), id.clone()));
        }
        "ok"
    }
    let app = axum::Router::new().route("/pgt", axum::routing::get(take)).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}/pgt", listener.local_addr().unwrap().port());
    let tls = https_serve::server_config(&pki.join("server.pem"), &pki.join("server-key.pem")).unwrap();
    tokio::spawn(https_serve::serve(listener, app, tls, std::future::pending()));
    (got, url)
}

fn between<'a>(xml: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = xml.find(open)? + open.len();
    Some(&xml[start..start + xml[start..].find(close)?])
}

async fn proxy(backend: Backend) {
    let pki = tempfile::tempdir().unwrap();
    idp_server::tls::devcerts::write_dev_pki(pki.path(), &[]).unwrap();
    let ca = pki.path().join("ca.pem");
    let Some(s) = TestServer::start_with(backend, |c| c.outbound.ca_file = Some(ca)).await else { return };
    s.add_account("lin").await;
    let (got, cb_url) = callback(pki.path()).await;
    let portal = "http://127.0.0.1:9/portal";
    let back_office = "http://127.0.0.1:9/office/*";
    let target = "http://127.0.0.1:9/office/api";
    let register = |services: Vec<String>, proxy_callbacks: Option<Vec<String>>, scope: &str| ClientRequest {
        name: Some("x".into()),
        client_type: Some("cas".into()),
        services: Some(services),
        scope: Some(scope.into()),
        proxy_callbacks,
        ..ClientRequest::default()
    };
    // a proxy callback is https
    let plain = register(vec![portal.into()], Some(vec!["http://127.0.0.1:9/pgt".into()]), "openid profile");
    assert!(s.ops.register_client_by("main", &plain, None, "test").await.is_err());
    let portal_req = register(vec![portal.into()], Some(vec![cb_url.clone()]), "openid profile");
    s.ops.register_client_by("main", &portal_req, None, "test").await.unwrap();
    let office_req = register(vec![back_office.into()], None, "openid profile email");
    s.ops.register_client_by("main", &office_req, None, "test").await.unwrap();

    let b = Browser::new();
    // a pgtUrl that is not registered gets nothing (and is not called)
    let st = ticket_for(&s, &b, portal, "").await;
    let xml =
        validate(&s, "serviceValidate", portal, &st, "&pgtUrl=https%3A%2F%2Flocalhost%3A9%2Fother").await;
    assert!(xml.contains("<cas:authenticationSuccess>") && !xml.contains("proxyGrantingTicket"), "{xml}");
    // the registered callback receives the ticket; the answer carries its IOU
    let st = ticket_for(&s, &b, portal, "").await;
    let xml = validate(&s, "serviceValidate", portal, &st, &format!("&pgtUrl={}", urlencode(&cb_url))).await;
    let iou =
        between(&xml, "<cas:proxyGrantingTicket>", "</cas:proxyGrantingTicket>").expect(&xml).to_string();
    assert!(iou.starts_with("PGTIOU-"));
    let pgt = got.lock().unwrap().iter().find(|(i, _)| *i == iou).map(|(_, p)| p.clone()).expect("delivered");
    assert!(pgt.starts_with("PGT-"));

    // a proxy ticket for the back office
    let proxy_url = |pgt: &str, t: &str| {
        format!("{}/cas/proxy?pgt={}&targetService={}", s.issuer, urlencode(pgt), urlencode(t))
    };
    let ask = |url: String| async move { rp_http().get(url).send().await.unwrap().text().await.unwrap() };
    // the person never allowed the back office: no proxy ticket for it
    let answer = ask(proxy_url(&pgt, target)).await;
    assert!(answer.contains("code=\"UNAUTHORIZED_SERVICE\""), "{answer}");
    let _ = ticket_for(&s, &b, target, "").await;
    // a proxy ticket is not validated at /serviceValidate
    let pt = between(&ask(proxy_url(&pgt, target)).await, "<cas:proxyTicket>", "</cas:proxyTicket>")
        .unwrap()
        .to_string();
    assert!(pt.starts_with("PT-") && pt.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{pt}");
    let refused = validate(&s, "p3/serviceValidate", target, &pt, "").await;
    assert!(refused.contains("code=\"INVALID_TICKET_SPEC\""), "{refused}");
    // once the person allowed it, it receives what they allowed, and the chain
    let pt = between(&ask(proxy_url(&pgt, target)).await, "<cas:proxyTicket>", "</cas:proxyTicket>")
        .unwrap()
        .to_string();
    let xml = validate(&s, "p3/proxyValidate", target, &pt, "").await;
    assert!(xml.contains("<cas:authenticationSuccess>"), "{xml}");
    assert_eq!(between(&xml, "<cas:proxy>", "</cas:proxy>"), Some(cb_url.as_str()), "{xml}");
    assert!(xml.contains("<cas:isFromNewLogin>false</cas:isFromNewLogin>"), "{xml}");
    let replay = validate(&s, "p3/proxyValidate", target, &pt, "").await;
    assert!(replay.contains("code=\"INVALID_TICKET\""), "{replay}");
    let pt = between(&ask(proxy_url(&pgt, target)).await, "<cas:proxyTicket>", "</cas:proxyTicket>")
        .unwrap()
        .to_string();
    let xml = validate(&s, "proxyValidate", target, &pt, "&format=JSON").await;
    let json: serde_json::Value = serde_json::from_str(&xml).unwrap();
    assert_eq!(
        json["serviceResponse"]["authenticationSuccess"]["attributes"]["preferred_username"],
        serde_json::json!(["lin"])
    );
    assert_eq!(json["serviceResponse"]["authenticationSuccess"]["proxies"], serde_json::json!([cb_url]));
    // a target that needs two factors gets no proxy ticket from a one-factor sign-in
    let strict = ClientRequest {
        min_acr: Some("aal2".into()),
        ..register(vec!["http://127.0.0.1:9/strict".into()], None, "openid")
    };
    s.ops.register_client_by("main", &strict, None, "test").await.unwrap();
    let answer = ask(proxy_url(&pgt, "http://127.0.0.1:9/strict")).await;
    assert!(answer.contains("code=\"UNAUTHORIZED_SERVICE\""), "{answer}");

    // refusals
    let unknown = ask(proxy_url(&pgt, "https://evil.example/x")).await;
    assert!(unknown.contains("code=\"UNAUTHORIZED_SERVICE\""), "{unknown}");
    let forged = ask(proxy_url("PGT-forged", target)).await;
    assert!(forged.contains("code=\"INVALID_TICKET\""), "{forged}");
    let missing = ask(format!("{}/cas/proxy?pgt={}", s.issuer, urlencode(&pgt))).await;
    assert!(missing.contains("code=\"INVALID_REQUEST\""), "{missing}");
    // a service that may not proxy gets no proxy-granting ticket
    let st = ticket_for(&s, &b, target, "").await;
    let xml = validate(&s, "serviceValidate", target, &st, &format!("&pgtUrl={}", urlencode(&cb_url))).await;
    assert!(!xml.contains("proxyGrantingTicket"), "{xml}");

    // the person withdraws consent from the portal: its proxy-granting ticket is dead
    let account = s.ops.account("main", "lin").await.unwrap().id;
    let portal_id = s.ops.store.list_clients(&s.tenant_id().await).await.unwrap();
    let portal_id = portal_id.iter().find(|c| c.settings.cas.services == [portal]).unwrap().client_id.clone();
    s.ops.store.withdraw_grant(&s.tenant_id().await, &account, &portal_id).await.unwrap();
    let withdrawn = ask(proxy_url(&pgt, target)).await;
    assert!(withdrawn.contains("code=\"UNAUTHORIZED_SERVICE_PROXY\""), "{withdrawn}");
    let _ = ticket_for(&s, &b, portal, "").await;

    // the session ends: the proxy-granting ticket is dead
    let _ = b.get(&s, &format!("{}/cas/logout?service={}", s.issuer, urlencode(portal))).await;
    let dead = ask(proxy_url(&pgt, target)).await;
    assert!(dead.contains("code=\"INVALID_TICKET\""), "{dead}");
}

crate::both_backends!(a_portal_proxies_to_a_back_office_service, proxy);
