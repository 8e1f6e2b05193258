//! CAS 3.0 on the sign-in engine: a person signs in to a CAS service (sign-in, consent), the
//! service validates its ticket in XML, JSON and CAS 1.0 form with the consented attributes;
//! tickets are single use, bound to their service, short-lived and unguessable; `renew` and
//! `gateway` behave as the protocol says; the same session reaches an OpenID Connect client;
//! and one CAS logout ends it everywhere, sending the service the `logoutRequest` naming its
//! ticket (visible to administrators as a logout delivery).

use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use idp_core::model::{ClientSettings, ClientType};
use idp_proto::ClientRequest;
use serde_json::Value;

use crate::browser::{Browser, Step, rp_http};
use crate::common::{Backend, TestServer, auth_url};
use crate::oidc_flow::urlencode;

/// A CAS service's back end: records the single-logout messages POSTed to it, and answers them
/// with a redirect, as mod_auth_cas does.
#[derive(Clone, Default)]
pub(crate) struct Service {
    logouts: Arc<Mutex<Vec<String>>>,
}

impl Service {
    pub(crate) async fn start() -> (Service, String) {
        let s = Service::default();
        async fn take(AxState(s): AxState<Service>, body: axum::body::Bytes) -> axum::response::Redirect {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            if let Some((_, v)) = form.into_iter().find(|(k, _)| k == "logoutRequest") {
                s.logouts.lock().unwrap().push(v);
            }
            axum::response::Redirect::to("/app")
        }
        let app = axum::Router::new().route("/app", axum::routing::post(take)).with_state(s.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (s, base)
    }

    /// Waits (real time: the deliveries run every second) for a logout request naming `ticket`.
    pub(crate) async fn wait_for(&self, ticket: &str) -> Vec<String> {
        let index = format!("<samlp:SessionIndex>{ticket}</samlp:SessionIndex>");
        for _ in 0..100 {
            let got = self.logouts.lock().unwrap().clone();
            if got.iter().any(|m| m.contains(&index)) {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no logout request for {ticket}: {:?}", self.logouts.lock().unwrap());
    }
}

/// Registers a CAS service as an administrator would.
pub(crate) async fn register(s: &TestServer, services: &[&str], scope: &str) -> String {
    let req = ClientRequest {
        name: Some("不动产登记系统".into()),
        client_type: Some("cas".into()),
        services: Some(services.iter().map(|x| x.to_string()).collect()),
        scope: Some(scope.into()),
        purposes: scope
            .contains("profile")
            .then(|| [("profile".to_string(), "办理登记时核对申请人姓名".to_string())].into()),
        ..ClientRequest::default()
    };
    s.ops.register_client_by("main", &req, None, "test").await.expect("CAS service registered").0.client_id
}

pub(crate) fn login_url(s: &TestServer, service: &str, extra: &str) -> String {
    format!("{}/cas/login?service={}{extra}", s.issuer, urlencode(service))
}

/// Runs `/cas/login` through sign-in and consent; the ticket the service receives.
pub(crate) async fn ticket_for(s: &TestServer, b: &Browser, service: &str, extra: &str) -> String {
    let back = b.authorize(s, &login_url(s, service, extra), "lin").await.left();
    assert!(back.as_str().starts_with(service), "back to the service: {back}");
    back.query_pairs().find(|(k, _)| k == "ticket").map(|(_, v)| v.into_owned()).expect("a ticket")
}

pub(crate) async fn validate(s: &TestServer, path: &str, service: &str, ticket: &str, extra: &str) -> String {
    validate_at(&s.issuer, path, service, ticket, extra).await
}

/// [`validate`] at a tenant's issuer.
pub(crate) async fn validate_at(
    issuer: &str,
    path: &str,
    service: &str,
    ticket: &str,
    extra: &str,
) -> String {
    let url =
        format!("{issuer}/cas/{path}?service={}&ticket={}{extra}", urlencode(service), urlencode(ticket));
    let res = rp_http().get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

fn failure_code(xml: &str) -> &str {
    let start = xml.find("authenticationFailure code=\"").map(|i| i + 28).unwrap_or_else(|| panic!("{xml}"));
    &xml[start..start + xml[start..].find('"').unwrap()]
}

async fn cas(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let lin = s.add_account("lin").await;
    let (receiver, base) = Service::start().await;
    let service = format!("{base}/app");
    let id = register(&s, &[&service], "openid profile").await;

    // bad registrations are refused
    for bad in [vec!["http://app.example/x".to_string()], vec![format!("{base}/a*")], vec![]] {
        let req = ClientRequest {
            name: Some("x".into()),
            client_type: Some("cas".into()),
            services: Some(bad.clone()),
            ..ClientRequest::default()
        };
        assert!(s.ops.register_client_by("main", &req, None, "test").await.is_err(), "{bad:?}");
    }
    let oidc_with_services = ClientRequest {
        name: Some("x".into()),
        client_type: Some("web".into()),
        redirect_uris: Some(vec![crate::common::REDIRECT.into()]),
        services: Some(vec![service.clone()]),
        ..ClientRequest::default()
    };
    assert!(s.ops.register_client_by("main", &oidc_with_services, None, "test").await.is_err());

    // sign-in, consent (with the purpose), ticket
    let b = Browser::new();
    let (_, status, page) = b.get(&s, &login_url(&s, &service, "")).await.page();
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""), "{page}");
    let step = b.sign_in(&s, &page, "lin", crate::common::PASSWORD).await;
    let (_, _, consent) = step.page();
    assert!(consent.contains("不动产登记系统") && consent.contains("办理登记时核对申请人姓名"), "{consent}");
    let back = b.consent(&s, &consent, true).await.left();
    let ticket = back.query_pairs().find(|(k, _)| k == "ticket").unwrap().1.into_owned();
    assert!(ticket.starts_with("ST-1-") && ticket.len() >= 40, "{ticket}");
    // only the characters the protocol allows (mod_auth_cas ignores any other ticket)
    assert!(ticket.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{ticket}");

    // a ticket presented for another service is refused, and burnt
    let other = format!("{base}/app2");
    assert_eq!(failure_code(&validate(&s, "serviceValidate", &other, &ticket, "").await), "INVALID_SERVICE");
    assert_eq!(failure_code(&validate(&s, "serviceValidate", &service, &ticket, "").await), "INVALID_TICKET");

    // the session signs in again without a page (consent given): XML with the attributes
    let ticket = ticket_for(&s, &b, &service, "").await;
    assert!(ticket.starts_with("ST-0-"), "from the session, not a new sign-in: {ticket}");
    let xml = validate(&s, "p3/serviceValidate", &service, &ticket, "").await;
    assert!(xml.starts_with("<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">"), "{xml}");
    assert!(xml.contains(&format!("<cas:user>{lin}</cas:user>")), "the public subject: {xml}");
    assert!(xml.contains("<cas:preferred_username>lin</cas:preferred_username>"), "{xml}");
    assert!(xml.contains("<cas:isFromNewLogin>false</cas:isFromNewLogin>"), "{xml}");
    assert!(xml.contains("<cas:authnContextClass>aal1</cas:authnContextClass>"), "{xml}");
    assert!(!xml.contains("email") && !xml.contains("phone"), "only the consented scopes: {xml}");
    // used up
    let replay = validate(&s, "p3/serviceValidate", &service, &ticket, "").await;
    assert_eq!(failure_code(&replay), "INVALID_TICKET");

    // JSON and CAS 1.0
    let ticket = ticket_for(&s, &b, &service, "").await;
    let json: Value =
        serde_json::from_str(&validate(&s, "serviceValidate", &service, &ticket, "&format=JSON").await)
            .unwrap();
    let ok = &json["serviceResponse"]["authenticationSuccess"];
    assert_eq!(ok["user"], lin.as_str());
    assert_eq!(ok["attributes"]["preferred_username"], serde_json::json!(["lin"]));
    let ticket = ticket_for(&s, &b, &service, "").await;
    assert_eq!(validate(&s, "validate", &service, &ticket, "").await, format!("yes\n{lin}\n"));
    assert_eq!(validate(&s, "validate", &service, &ticket, "").await, "no\n\n");

    // malformed and forged tickets
    for (t, code) in [
        ("", "INVALID_REQUEST"),
        ("PT-abc", "INVALID_TICKET"),
        ("TGT-abc", "INVALID_TICKET_SPEC"),
        ("ST-1-forged", "INVALID_TICKET"),
    ] {
        assert_eq!(failure_code(&validate(&s, "proxyValidate", &service, t, "").await), code, "{t}");
    }
    let long = format!("ST-{}", "a".repeat(300));
    assert_eq!(
        failure_code(&validate(&s, "serviceValidate", &service, &long, "").await),
        "INVALID_TICKET_SPEC"
    );

    // a ticket lives 10 seconds
    let ticket = ticket_for(&s, &b, &service, "").await;
    s.env.advance(11);
    assert_eq!(failure_code(&validate(&s, "serviceValidate", &service, &ticket, "").await), "INVALID_TICKET");

    // a ticket is not an OAuth code, and a CAS service is not an OAuth client
    let ticket = ticket_for(&s, &b, &service, "").await;
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &ticket),
            ("redirect_uri", &service),
            ("client_id", &id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{}", res.text().await.unwrap());
    let res = b.get(&s, &auth_url(&s.issuer, &id, "")).await;
    assert!(matches!(res, Step::Page { status: 400, .. }), "{res:?}");

    // renew: a new sign-in even with a session; a renew validation refuses a ticket from the
    // session
    let ticket = ticket_for(&s, &b, &service, "").await;
    assert_eq!(
        failure_code(&validate(&s, "serviceValidate", &service, &ticket, "&renew=true").await),
        "INVALID_TICKET"
    );
    let (_, _, page) = b.get(&s, &login_url(&s, &service, "&renew=true")).await.page();
    assert!(page.contains("name=\"password\""), "renew shows the sign-in page");
    let back = b.sign_in(&s, &page, "lin", crate::common::PASSWORD).await.left();
    let renewed = back.query_pairs().find(|(k, _)| k == "ticket").unwrap().1.into_owned();
    let xml = validate(&s, "serviceValidate", &service, &renewed, "&renew=true").await;
    assert!(xml.contains("<cas:isFromNewLogin>true</cas:isFromNewLogin>"), "{xml}");

    // method=POST: the ticket comes in a form POST to the service
    let (_, _, page) = b.get(&s, &login_url(&s, &service, "&method=POST")).await.page();
    assert!(
        page.contains(&format!("action=\"{service}\"")) && page.contains("name=\"ticket\" value=\"ST-"),
        "{page}"
    );

    // gateway: without a session, back to the service without a ticket and no page
    let stranger = Browser::new();
    let back = stranger.get(&s, &login_url(&s, &service, "&gateway=true")).await.left();
    assert_eq!(back.as_str(), service);
    // an unregistered service gets no redirect at all
    let (_, status, _) =
        stranger.get(&s, &login_url(&s, "https://evil.example/app", "&gateway=true")).await.page();
    assert_eq!(status, 400);

    // one session: an OpenID Connect client signs in without the sign-in page
    let (oidc, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let (_, _, page) = b.get(&s, &auth_url(&s.issuer, &oidc, "")).await.page();
    assert!(page.contains("value=\"allow\"") && !page.contains("name=\"password\""), "consent only: {page}");
    let cb = b.consent(&s, &page, true).await.callback();
    assert!(cb.contains_key("code"));

    // the account pages list the service among the applications the person allowed
    let grants = s.ops.store.account_grants(&s.tenant_id().await, &lin).await.unwrap();
    assert!(grants.iter().any(|g| g.client_id == id), "{grants:?}");

    // a consent page with an existing session is not a new sign-in (renew cannot be met by it)
    let second = format!("{base}/second");
    register(&s, &[&second], "openid").await;
    s.env.advance(1);
    let (_, _, page) = b.get(&s, &login_url(&s, &second, "")).await.page();
    let back = b.consent(&s, &page, true).await.left();
    let st = back.query_pairs().find(|(k, _)| k == "ticket").unwrap().1.into_owned();
    assert!(st.starts_with("ST-0-"), "{st}");
    assert_eq!(
        failure_code(&validate(&s, "serviceValidate", &second, &st, "&renew=true").await),
        "INVALID_TICKET"
    );
    // a ticket issued before the logout is worthless after it
    let late = ticket_for(&s, &b, &service, "").await;

    // CAS logout: the session ends everywhere, the service is told which ticket's session ended,
    // and the browser goes back to the registered service
    let back = b.get(&s, &format!("{}/cas/logout?service={}", s.issuer, urlencode(&service))).await.left();
    assert_eq!(back.as_str(), service);
    let got = receiver.wait_for(&renewed).await;
    assert!(got[0].starts_with("<samlp:LogoutRequest"), "{got:?}");
    let cb = b.get(&s, &auth_url(&s.issuer, &oidc, "&prompt=none")).await.callback();
    assert_eq!(cb.get("error").map(String::as_str), Some("login_required"), "signed out of OIDC too");
    let ended = validate(&s, "serviceValidate", &service, &late, "").await;
    assert_eq!(failure_code(&ended), "INVALID_TICKET");
    assert!(ended.contains("session the ticket came from has ended"), "{ended}");
    // delivered at the first attempt, whatever the service answered (fire and forget)
    let mut deliveries = vec![];
    for _ in 0..50 {
        deliveries = s.ops.store.logout_deliveries(&s.tenant_id().await, Some(&id), 50).await.unwrap();
        if deliveries.iter().all(|d| d.status == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!deliveries.is_empty());
    assert!(
        deliveries.iter().all(|d| d.session_index.is_some()
            && d.uri == service
            && d.status == "delivered"
            && d.attempts == 1),
        "{deliveries:?}"
    );
    // logout never redirects to an unregistered URL, and a link without a registered service
    // (anyone could plant one) asks the person first
    let (_, status, page) = b
        .get(&s, &format!("{}/cas/logout?service={}", s.issuer, urlencode("https://evil.example/")))
        .await
        .page();
    assert_eq!(status, 200);
    assert!(!page.contains("evil.example"), "{page}");
}

crate::both_backends!(a_cas_service_signs_in_validates_and_logs_out, cas);

/// What a CAS service must not get: a ticket of another tenant, a ticket after the service was
/// disabled or the person withdrew their consent, a ticket when the person declined, and a
/// service registered in another tenant.
async fn refusals(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    s.add_account("lin").await;
    s.ops.add_tenant("north", None).await.unwrap();
    let service = "http://127.0.0.1:9/app";
    let id = register(&s, &[service], "openid profile").await;
    let b = Browser::new();
    // no second service may take over its URL, or a URL under it, or a prefix above it
    for taken in [service.to_string(), format!("{service}?x=1"), "http://127.0.0.1:9/*".into()] {
        let req = ClientRequest {
            name: Some("x".into()),
            client_type: Some("cas".into()),
            services: Some(vec![taken.clone()]),
            ..ClientRequest::default()
        };
        let e = s.ops.register_client_by("main", &req, None, "test").await.unwrap_err().to_string();
        assert!(e.contains("overlaps"), "{taken}: {e}");
    }

    // a ticket of this tenant is unknown to another tenant's CAS server (and stays usable here)
    let ticket = ticket_for(&s, &b, service, "").await;
    // a logout link without a registered service (anyone could plant one) asks first
    let (_, _, page) = b.get(&s, &format!("{}/cas/logout", s.issuer)).await.page();
    assert!(page.contains("name=\"decision\""), "a confirmation: {page}");
    let north = s.issuer.replace("/t/main", "/t/north");
    assert_eq!(
        failure_code(&validate_at(&north, "serviceValidate", service, &ticket, "").await),
        "INVALID_TICKET"
    );
    assert!(validate(&s, "serviceValidate", service, &ticket, "").await.contains("authenticationSuccess"));
    // nor is the service registered there
    let at_north = format!("{north}/cas/login?service={}", urlencode(service));
    let (_, status, _) = Browser::new().get(&s, &at_north).await.page();
    assert_eq!(status, 400);

    // the person withdraws consent: the next ticket for the service needs consent again, and a
    // ticket issued before the withdrawal is dead
    let ticket = ticket_for(&s, &b, service, "").await;
    let lin = s.ops.account("main", "lin").await.unwrap();
    s.ops.store.withdraw_grant(&s.tenant_id().await, &lin.id, &id).await.unwrap();
    assert_eq!(failure_code(&validate(&s, "serviceValidate", service, &ticket, "").await), "INVALID_TICKET");
    let (_, _, page) = b.get(&s, &login_url(&s, service, "")).await.page();
    assert!(page.contains("value=\"allow\""), "consent again: {page}");
    // declined: a page for the person, no ticket for the service
    let res = b.consent(&s, &page, false).await;
    assert!(matches!(res, Step::Page { status: 403, .. }), "{res:?}");
    // gateway after declining: back without a ticket
    let back = b.get(&s, &login_url(&s, service, "&gateway=true")).await.left();
    assert_eq!(back.as_str(), service);

    // a disabled service: no sign-in, and its outstanding tickets are refused
    let ticket = ticket_for(&s, &b, service, "").await;
    s.ops.set_client_disabled("main", &id, true).await.unwrap();
    assert_eq!(failure_code(&validate(&s, "serviceValidate", service, &ticket, "").await), "INVALID_TICKET");
    let (_, status, _) = b.get(&s, &login_url(&s, service, "")).await.page();
    assert_eq!(status, 400);

    // parameters given twice are refused, not guessed
    let url = format!("{}&service={}", login_url(&s, service, ""), urlencode(service));
    let (_, status, _) = b.get(&s, &url).await.page();
    assert_eq!(status, 400);
}

crate::both_backends!(a_cas_service_gets_nothing_it_should_not, refusals);
