//! What the tests of the real binary share: a server process that dies with its test, the
//! operator CLI, free ports, and a person going through the sign-in and consent pages.
//! Each test binary uses part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// This build's `idp`.
pub const BIN: &str = env!("CARGO_BIN_EXE_idp");
/// The redirect URI the tests' clients register: nothing listens there, the tests read the
/// redirect's `Location`.
pub const REDIRECT: &str = "http://127.0.0.1:1/cb";

/// A server process, killed when the test ends however it ends.
pub struct Server(pub Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `url` answers 200 (a node coming up), failing the test after `within`.
pub async fn ready(url: &str, within: std::time::Duration) {
    let t0 = std::time::Instant::now();
    loop {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(t0.elapsed() < within, "{url} did not answer 200 within {within:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `bin --config CONFIG ARGS… --json`, with `stdin` written to it: its JSON output (null if it
/// printed none). Fails the test, showing its stderr, when the command fails.
pub fn cli(bin: &Path, config: &Path, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let mut cmd = Command::new(bin);
    cmd.arg("--config").arg(config).args(args);
    json_of(cmd, stdin)
}

/// Runs an `idp` command line (`cmd`, to which `--json` is added) with `stdin` written to it:
/// its JSON output (null if it printed none). Fails the test, showing its stderr, when the
/// command fails.
pub fn json_of(mut cmd: Command, stdin: Option<&str>) -> serde_json::Value {
    let mut child = cmd
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// The text between `start` and the next `end` in `page`.
pub fn between<'a>(page: &'a str, start: &str, end: char) -> &'a str {
    let i = page.find(start).unwrap_or_else(|| panic!("{start} not in {page}")) + start.len();
    &page[i..i + page[i..].find(end).unwrap()]
}

/// A query parameter of a URL, decoded.
pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string())
}

/// An authorization request for `client` (redirect [`REDIRECT`], tenant `main`) at `base`,
/// through whatever pages it shows — signing in as `login` with `password`, allowing consent
/// — to the redirect back: its URL. `http` keeps cookies and does not follow redirects.
pub async fn authorize(
    http: &reqwest::Client,
    base: &str,
    client: &str,
    (login, password): (&str, &str),
    extra: &str,
) -> String {
    let redirect: String = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let url = format!(
        "{base}/t/main/authorize?client_id={client}&redirect_uri={redirect}\
         &response_type=code&scope=openid&state=s1{extra}"
    );
    let mut res = http.get(url).send().await.unwrap();
    for _ in 0..8 {
        if let Some(l) = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()) {
            if l.starts_with(REDIRECT) {
                return l;
            }
            res = http.get(format!("{base}{l}")).send().await.unwrap();
            continue;
        }
        let page = res.text().await.unwrap();
        let action = between(&page, "action=\"", '"').to_string();
        let csrf = between(&page, "name=\"csrf\" value=\"", '"').to_string();
        let mut form = vec![("csrf", csrf.as_str())];
        if page.contains("name=\"password\"") {
            form.extend([("login", login), ("password", password)]);
        } else {
            form.push(("decision", "allow"));
        }
        res = http.post(format!("{base}{action}")).form(&form).send().await.unwrap();
    }
    panic!("no redirect back");
}

/// A request to the token endpoint of tenant `main` at `base` (client_secret_basic).
pub async fn token(base: &str, client: &str, secret: &str, form: &[(&str, &str)]) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/t/main/token"))
        .basic_auth(client, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whether introspection at `base` says `access_token` is active.
pub async fn active(base: &str, client: &str, secret: &str, access_token: &str) -> bool {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/t/main/introspect"))
        .basic_auth(client, Some(secret))
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"] == true
}

/// The PostgreSQL admin URL the tests use (`IDP_TEST_POSTGRES`, else the local server), or
/// `None` when `IDP_TEST_POSTGRES=off` skips them (saying so, which `.ci/run` refuses).
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("IDP_TEST_POSTGRES") {
        Ok(v) if v == "off" => {
            eprintln!("IDP_TEST_POSTGRES=off: skipping");
            None
        }
        Ok(v) if !v.is_empty() => Some(v),
        _ => Some("postgres://postgres@127.0.0.1:5432/postgres".to_string()),
    }
}

/// Runs `f` with the URL of a new, uniquely named PostgreSQL database, dropped afterwards
/// whatever `f` did.
pub fn with_postgres_database(tag: &str, f: impl FnOnce(&tokio::runtime::Runtime, &str)) {
    let Some(admin) = postgres_admin_url() else { return };
    let name = format!("idp_{tag}_test_{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sql = |q: String| {
        rt.block_on(async {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin} is needed ({e}); IDP_TEST_POSTGRES=off skips")
            });
            sqlx::query(sqlx::AssertSqlSafe(q)).execute(&mut c).await.unwrap();
        })
    };
    sql(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    sql(format!("CREATE DATABASE \"{name}\""));
    let url = admin.rsplit_once('/').map(|(b, _)| format!("{b}/{name}")).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&rt, &url)));
    sql(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
