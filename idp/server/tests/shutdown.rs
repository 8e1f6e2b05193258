//! The real binary as operators run it: `/healthz` and `/readyz` (database, migrations, keys)
//! answer; on SIGTERM the listener closes, a request already in flight still gets its answer,
//! and the process exits cleanly; a request that never completes holds the exit no longer than
//! `shutdown_grace_seconds`. With `log_format = "json"` every log line is a JSON object naming
//! its request's id, the caller's `X-Request-Id` or a new one, which the answer carries back.
//! With `otlp_endpoint` the requests' spans reach an OTLP/HTTP collector, sent at the latest
//! when the process stops. A node started before its database waits for it
//! (`database_wait_seconds`) and serves once it answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Server, free_port, ready};
use idp_core::SystemEnv;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start(dir: &std::path::Path, port: u16, grace: u64) -> Server {
    start_with(dir, port, &format!("shutdown_grace_seconds = {grace}\nlog = \"warn\"\n"), Stdio::null()).await
}

async fn start_with(dir: &std::path::Path, port: u16, extra: &str, stderr: Stdio) -> Server {
    let database_url = format!("sqlite:{}/idp.db", dir.display());
    let server = spawn(&write_config(dir, port, &database_url, extra), stderr);
    ready(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(20)).await;
    server
}

fn write_config(dir: &std::path::Path, port: u16, database_url: &str, extra: &str) -> std::path::PathBuf {
    let config = dir.join("idp.toml");
    let kek = idp_core::crypto::Kek::generate(&SystemEnv).encode();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\ndata_dir = \"{}\"\n\
             key_encryption_key = \"{kek}\"\n{extra}\
             [argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n",
            dir.display()
        ),
    )
    .unwrap();
    config
}

fn spawn(config: &std::path::Path, stderr: Stdio) -> Server {
    Server(
        Command::new(BIN)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    )
}

fn terminate(server: &Server) {
    let status = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for the process to exit: its status and how long it took.
fn exit_of(server: &mut Server, within: Duration) -> (std::process::ExitStatus, Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if let Some(status) = server.0.try_wait().unwrap() {
            return (status, t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the process did not exit within {within:?}");
}

/// A token request whose body comes only when `finish` is called: in flight meanwhile.
async fn half_sent(port: u16) -> tokio::net::TcpStream {
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = "POST /t/main/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 29\r\nConnection: close\r\n\r\n";
    c.write_all(head.as_bytes()).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_then_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(dir.path(), port, 10).await;
    let res = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    for check in ["database", "migrations", "keys"] {
        assert_eq!(body["checks"][check], "ok", "{body}");
    }
    // the container health check: the binary asks /readyz
    let url = format!("http://127.0.0.1:{port}/readyz");
    assert!(Command::new(BIN).args(["healthcheck", "--url", &url]).status().unwrap().success());
    // by default its own node's, at the configured listen address
    let config = dir.path().join("idp.toml");
    let own = Command::new(BIN).arg("--config").arg(&config).arg("healthcheck").output().unwrap();
    assert!(own.status.success(), "{}", String::from_utf8_lossy(&own.stderr));

    let mut in_flight = half_sent(port).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    terminate(&server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // no new connection is served any more
    let refused = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "still accepting: {refused:?}");
    // the request already in flight is answered (an unknown client: 401 invalid_client)
    in_flight.write_all(b"grant_type=client_credentials").await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401") && answer.contains("invalid_client"), "{answer}");
    let (status, took) = exit_of(&mut server, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(5), "it exits once drained, not at the end of the grace: {took:?}");
    let down = Command::new(BIN).args(["healthcheck", "--url", &url]).output().unwrap();
    assert!(!down.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_holds_the_exit_no_longer_than_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(dir.path(), port, 2).await;
    let _stuck = half_sent(port).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    terminate(&server);
    let (status, _) = exit_of(&mut server, Duration::from_secs(15));
    let took = t0.elapsed();
    assert!(status.success(), "{status}");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let extra = "log = \"debug\"\nlog_format = \"json\"\n";
    // to a file, not a pipe: debug logging outgrows a pipe's buffer before anyone reads it
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut server = start_with(dir.path(), port, extra, Stdio::from(log_file)).await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("http://127.0.0.1:{port}/t/main/token"))
        .header("x-request-id", "req-abc.123")
        .form(&[("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "req-abc.123");
    // an id that is not a plain token is replaced by a new one
    let res = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .header("x-request-id", "a b<c>")
        .send()
        .await
        .unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(made.len() >= 16 && made != "a b<c>", "{made}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    terminate(&server);
    exit_of(&mut server, Duration::from_secs(10));
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{log}");
    let ours: Vec<_> = lines.iter().filter(|l| l["span"]["id"] == "req-abc.123").collect();
    assert!(!ours.is_empty(), "a log line of the request names its id: {log}");
    assert!(ours.iter().all(|l| l["span"]["method"] == "POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_the_otlp_collector() {
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let collector = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let ct =
                    headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                record.lock().unwrap().push((uri.path().to_string(), ct, body.to_vec()));
                axum::http::StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let extra =
        format!("log = \"warn\"\notlp_endpoint = \"{endpoint}\"\notlp_service_name = \"idp-under-test\"\n");
    let mut server = start_with(dir.path(), port, &extra, Stdio::null()).await;
    for _ in 0..3 {
        reqwest::get(format!("http://127.0.0.1:{port}/t/main/.well-known/openid-configuration"))
            .await
            .unwrap();
    }
    terminate(&server);
    let (status, _) = exit_of(&mut server, Duration::from_secs(15));
    assert!(status.success());
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "no export reached the collector");
    let (path, ct, body) = &seen[0];
    assert_eq!((path.as_str(), ct.as_str()), ("/v1/traces", "application/x-protobuf"));
    let has = |needle: &[u8]| seen.iter().any(|(_, _, b)| b.windows(needle.len()).any(|w| w == needle));
    assert!(has(b"idp-under-test"), "the service name");
    assert!(has(b"request"), "the request spans");
    assert!(!body.is_empty());
}

/// PostgreSQL behind a relay that is not listening yet: the node keeps trying, then serves
/// once the relay (the database "coming up") forwards to the real server.
#[test]
fn serve_waits_for_a_database_that_comes_up_later() {
    common::with_postgres_database("wait", |rt, url| {
        rt.block_on(async {
            let mut via_relay = url::Url::parse(url).unwrap();
            let target = format!("{}:{}", via_relay.host_str().unwrap(), via_relay.port().unwrap_or(5432));
            let relay = free_port();
            via_relay.set_port(Some(relay)).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let log = dir.path().join("stderr.log");
            let config = write_config(dir.path(), port, via_relay.as_str(), "log = \"warn\"\n");
            let mut server = spawn(&config, Stdio::from(std::fs::File::create(&log).unwrap()));
            // (each attempt itself takes up to `database_acquire_timeout`, 5 s)
            let t0 = Instant::now();
            while !std::fs::read_to_string(&log).unwrap().contains("the database is not answering yet") {
                assert!(server.0.try_wait().unwrap().is_none(), "waiting, not exited");
                assert!(t0.elapsed() < Duration::from_secs(20), "it says it waits");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(server.0.try_wait().unwrap().is_none(), "still waiting");

            let listener = tokio::net::TcpListener::bind(("127.0.0.1", relay)).await.unwrap();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            });
            // ready once the database answers
            ready(&format!("http://127.0.0.1:{port}/readyz"), Duration::from_secs(30)).await;
            terminate(&server);
            let (status, _) = exit_of(&mut server, Duration::from_secs(20));
            assert!(status.success(), "{status}");
        })
    });
}
