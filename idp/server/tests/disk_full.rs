//! A full disk under SQLite: writes fail, requests that need one answer 503
//! `temporarily_unavailable` with Retry-After (never 500, never a dead process), reads keep
//! working, and service resumes by itself once space is back.
//!
//! "Full" is made with the process's file-size limit (`prlimit --fsize`): every write past the
//! first 4 KiB of any file then fails, exactly as a write() on a full disk does (EFBIG instead
//! of ENOSPC; SQLite reports an I/O error or SQLITE_FULL, both mapped to "unavailable"). The
//! server runs with SIGXFSZ ignored, as a service manager would start it, so the failed write
//! is an error and not a signal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Server, cli};
use serde_json::Value;

fn idp(config: &std::path::Path, args: &[&str]) -> Value {
    cli(std::path::Path::new(BIN), config, args, None)
}

fn fsize(pid: u32, limit: &str) {
    let out =
        Command::new("prlimit").args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")]).output();
    let out = out.expect("prlimit (util-linux) is installed");
    assert!(out.status.success(), "prlimit: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite:{0}/idp.db\"\ndata_dir = \"{0}\"\n\
             bootstrap = false\nlog = \"error\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    idp(&config, &["tenant", "add", "main"]);
    let svc = idp(&config, &["client", "add", "--name", "svc", "--type", "service"]);
    let (id, secret) = (svc["client_id"].as_str().unwrap(), svc["client_secret"].as_str().unwrap());

    let child = Command::new("sh")
        .args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\"", BIN, "--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}/t/main");
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        http.post(format!("{base}/{path}")).basic_auth(id, Some(secret)).form(&form).send()
    };
    let new_token = || async {
        let res = post("token", vec![("grant_type", "client_credentials".into())]).await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    };
    let (kept, revoked_later) = (new_token().await, new_token().await);

    fsize(server.0.id(), "4096");
    // a revocation needs a write: a clean 503 with Retry-After, twice (the server lives on)
    for _ in 0..2 {
        let res = post("revoke", vec![("token", revoked_later.clone())]).await.unwrap();
        assert_eq!(res.status(), 503);
        assert!(res.headers().get("retry-after").is_some());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    // reads and write-free requests keep working
    let res = post("introspect", vec![("token", kept.clone())]).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
    assert_eq!(
        http.get(format!("{base}/.well-known/openid-configuration")).send().await.unwrap().status(),
        200
    );
    new_token().await;

    // space is back: the same request succeeds without a restart, and took effect
    fsize(server.0.id(), "unlimited");
    let res = post("revoke", vec![("token", revoked_later.clone())]).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = post("introspect", vec![("token", revoked_later)]).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], false);
    let res = post("introspect", vec![("token", kept)]).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
    drop(server);

    // and the database is intact
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}/idp.db", dir.path().display())).await.unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(ok, "ok");
}
