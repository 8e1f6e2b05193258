//! Where the server's own requests may go (`idp_server::outbound`): a back-channel logout URI
//! an administrator registers is refused when it names a loopback, link-local or private
//! address the operator has not allowed (however the address is written), or a host outside
//! the operator's host list; a name that passes registration but resolves to such an address
//! is refused at connect time (nothing reaches the listener there), and so is an address
//! written into the stored client past registration; and what administrators see of a failed
//! delivery is one generic reason — not a map of the network.

use idp_core::model::{ClientSettings, ClientType};
use idp_server::outbound::OutboundConfig;

use crate::browser::Browser;
use crate::common::{Backend, TestServer, auth_url};
use crate::logout_everywhere::Receiver;

/// Registers a web client with `uri` as its back-channel logout URI through the operator's
/// path; the error, if refused.
async fn register(s: &TestServer, uri: &str) -> Result<String, String> {
    let settings = ClientSettings { backchannel_logout_uri: Some(uri.into()), ..ClientSettings::default() };
    let new = idp_server::ops::NewClient {
        name: "Dept".into(),
        client_type: ClientType::Web,
        redirect_uris: vec![crate::common::REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        scope: None,
        settings: Some(settings),
    };
    s.ops.add_client("main", new).await.map(|(c, _)| c.client_id).map_err(|e| e.to_string())
}

/// Signs `login` in to `client` and ends the session: a delivery to the client is due.
async fn sign_in_and_out(s: &TestServer, client: &str, login: &str) {
    let b = Browser::new();
    assert!(b.authorize(s, &auth_url(&s.issuer, client, ""), login).await.callback().contains_key("code"));
    let id = s.ops.account("main", login).await.unwrap().id;
    s.ops.end_sessions_by("main", &id, "test").await.unwrap();
}

/// The client's newest delivery once it has been attempted.
async fn attempted(s: &TestServer, client: &str) -> idp_core::model::LogoutDelivery {
    let tenant = s.tenant_id().await;
    for _ in 0..100 {
        let list = s.ops.store.logout_deliveries(&tenant, Some(client), 10).await.unwrap();
        if let Some(d) = list.into_iter().next().filter(|d| d.attempts > 0) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no attempt recorded");
}

async fn refused_destinations(backend: Backend) {
    // the operator allows nothing special: only public addresses
    let Some(s) = TestServer::start_with(backend, |c| c.outbound = OutboundConfig::default()).await else {
        return;
    };
    s.add_account("lin").await;
    for uri in [
        "http://127.0.0.1:9/bc",
        "http://[::1]/bc",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/bc",
        "http://192.168.1.1/bc",
        "http://0x7f000001/bc",
        "http://2130706433/bc",
        "http://[::ffff:127.0.0.1]/bc",
    ] {
        let e = register(&s, uri).await.expect_err(uri);
        assert!(e.contains("not an allowed destination"), "{uri}: {e}");
    }
    // a name passes registration, but it resolves to loopback: refused when connecting, the
    // listener there never hears of it, and the administrator reads a generic reason
    let (receiver, url) = Receiver::start(0).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let client = register(&s, &by_name).await.unwrap();
    sign_in_and_out(&s, &client, "lin").await;
    let d = attempted(&s, &client).await;
    assert_eq!(
        d.last_error.as_deref(),
        Some("not delivered (the server log has the reason)"),
        "as any failure"
    );
    // an address written into the stored client (as someone with database access could, past
    // the registration check) is refused before the request too
    let literal = register(&s, "https://rs.example.gov.cn/bc").await.unwrap();
    let mut c = s.ops.client("main", &literal).await.unwrap();
    c.settings.backchannel_logout_uri = Some(url.clone());
    s.ops.store.update_client(&c.tenant_id, &literal, &c.name, &c.settings, None).await.unwrap();
    sign_in_and_out(&s, &literal, "lin").await;
    let d = attempted(&s, &literal).await;
    assert_eq!(d.last_error.as_deref(), Some("not delivered (the server log has the reason)"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(receiver.got_none(), "nothing reached the loopback listener");
}

async fn host_list_and_generic_errors(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.outbound = OutboundConfig {
            allow_hosts: vec!["*.gov.cn".into(), "localhost".into()],
            allow_networks: vec!["127.0.0.0/8".into()],
            ca_file: None,
        }
    })
    .await
    else {
        return;
    };
    s.add_account("lin").await;
    let e = register(&s, "https://evil.example/bc").await.unwrap_err();
    assert!(e.contains("not an allowed destination"), "{e}");
    assert!(register(&s, "https://rs.jl.gov.cn/bc").await.is_ok());
    // an allowed network: a closed port and an answering server that fails read alike
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_, failing) = Receiver::start(100).await;
    let mut seen = vec![];
    for uri in [format!("http://127.0.0.1:{closed}/bc"), failing] {
        let client = register(&s, &uri).await.unwrap();
        sign_in_and_out(&s, &client, "lin").await;
        seen.push(attempted(&s, &client).await.last_error);
    }
    assert_eq!(seen[0], seen[1], "no port scan through the errors: {seen:?}");
    assert_eq!(seen[0].as_deref(), Some("not delivered (the server log has the reason)"));
}

crate::both_backends!(back_channel_uris_never_reach_internal_addresses, refused_destinations);
crate::both_backends!(the_host_list_holds_and_failures_read_alike, host_list_and_generic_errors);
