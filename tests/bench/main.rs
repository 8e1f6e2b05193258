//! `idp-bench`: the side-by-side benchmark. It starts the idp (a release build, SQLite by
//! default, `--pg URL` for PostgreSQL) and node oidc-provider (in-memory), runs the same
//! closed-loop load against both, and prints requests/s, p50, p99 and peak RSS for each with
//! the ratios and targets of docs/performance.md; `--out FILE` also writes the Markdown report.
//! Run it through `tests/bench/run.sh`, which builds and installs what it needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flows;
mod load;
mod protocols;
mod report;
mod scale;
mod sm;
mod wrk;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use flows::{Client, Target, http};
use load::{Sample, Stats, run};
use serde_json::Value;

/// The bench account's phone number (E.164): SMS sign-in is measured with it.
const BENCH_PHONE: &str = "+8613800000000";

struct Args {
    pg: Option<String>,
    seconds: u64,
    workers: usize,
    idp: PathBuf,
    node_script: PathBuf,
    out: Option<PathBuf>,
    /// `Some((tenants, clients, accounts))` for the scale measurement.
    scale: Option<(usize, usize, usize)>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        pg: None,
        seconds: 10,
        workers: 32,
        idp: PathBuf::from("target/release/idp"),
        node_script: PathBuf::from("tests/bench/node-provider.mjs"),
        out: None,
        scale: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--pg" => a.pg = Some(value()?),
            "--seconds" => a.seconds = value()?.parse()?,
            "--workers" => a.workers = value()?.parse()?,
            "--idp" => a.idp = value()?.into(),
            "--node-script" => a.node_script = value()?.into(),
            "--out" => a.out = Some(value()?.into()),
            "--scale" => a.scale = Some((1000, 10_000, 1_000_000)),
            "--tenants" => a.scale.get_or_insert((1000, 10_000, 1_000_000)).0 = value()?.parse()?,
            "--clients" => a.scale.get_or_insert((1000, 10_000, 1_000_000)).1 = value()?.parse()?,
            "--accounts" => a.scale.get_or_insert((1000, 10_000, 1_000_000)).2 = value()?.parse()?,
            other => bail!("unknown argument {other}; see tests/bench/run.sh"),
        }
    }
    Ok(a)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn wait_ready(url: &str, within: Duration) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let http = http(false);
    while t0.elapsed() < within {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("{url} did not answer within {within:?}")
}

fn idp_cmd(a: &Args, config: &std::path::Path, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(&a.idp).arg("--config").arg(config).args(args).arg("--json").output()?;
    if !out.status.success() {
        bail!("idp {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// An account with the bench password, through the operator CLI (password on stdin).
fn add_account(
    a: &Args,
    config: &std::path::Path,
    username: &str,
    phone: Option<&str>,
) -> anyhow::Result<()> {
    add_account_in(a, config, "main", username, phone)
}

fn add_account_in(
    a: &Args,
    config: &std::path::Path,
    tenant: &str,
    username: &str,
    phone: Option<&str>,
) -> anyhow::Result<()> {
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "account",
        "add",
        "--tenant",
        tenant,
        "--username",
        username,
        "--password-stdin",
    ];
    if let Some(p) = phone {
        args.extend(["--phone", p]);
    }
    let mut child = Command::new(&a.idp).args(args).stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
    std::io::Write::write_all(&mut child.stdin.take().context("stdin")?, b"Tiger-Lily-42\n")?;
    child.wait()?;
    Ok(())
}

fn client_of(v: &Value) -> Client {
    Client {
        id: v["client_id"].as_str().unwrap().into(),
        secret: v["client_secret"].as_str().unwrap().into(),
    }
}

/// Peak resident set size of a process, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub async fn drop_pg_database(admin: &str) -> anyhow::Result<()> {
    let name = format!("idp_bench_{}", std::process::id());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    Ok(())
}

pub async fn create_pg_database(admin: &str) -> anyhow::Result<String> {
    let name = format!("idp_bench_{}", std::process::id());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await?;
    let mut url = url::Url::parse(admin)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

pub struct Row {
    pub scenario: &'static str,
    pub idp: Stats,
    pub node: Stats,
    pub target: f64,
}

async fn scenarios(t: &Target, workers: usize, secs: u64) -> anyhow::Result<Vec<(&'static str, Stats)>> {
    let d = Duration::from_secs(secs);
    let shared = http(false);
    let mut out = vec![];
    let get = |url: String| {
        let h = shared.clone();
        move |_i, deadline: Instant| {
            let (h, url) = (h.clone(), url.clone());
            async move {
                let mut s = Sample::default();
                while Instant::now() < deadline {
                    s.time(async { h.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }).await;
                }
                s
            }
        }
    };
    let form = |pairs: &[(String, String)]| {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    };
    let cc_body = |jwt: bool| {
        let mut pairs = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".into(), "api".into()),
        ];
        if jwt {
            pairs.extend(t.cc_jwt_extra.iter().cloned());
        }
        form(&pairs)
    };
    let token = t.client_credentials(&shared, false).await?;
    if wrk::available() {
        let basic = |c: &Client| Some((c.id.clone(), c.secret.clone()));
        let plan = [
            ("discovery", wrk::Request { url: t.discovery.clone(), form: None, basic: None }),
            ("JWKS", wrk::Request { url: t.jwks.clone(), form: None, basic: None }),
            (
                "client_credentials (opaque)",
                wrk::Request { url: t.token.clone(), form: Some(cc_body(false)), basic: basic(&t.cc_opaque) },
            ),
            (
                "client_credentials (JWT ES256)",
                wrk::Request { url: t.token.clone(), form: Some(cc_body(true)), basic: basic(&t.cc_jwt) },
            ),
            (
                "introspection",
                wrk::Request {
                    url: t.introspect.clone(),
                    form: Some(form(&[("token".into(), token.clone())])),
                    basic: basic(&t.cc_opaque),
                },
            ),
        ];
        t.client_credentials(&shared, true).await?;
        for (name, req) in plan {
            out.push((name, wrk::run(&req, workers, secs)?));
        }
    } else {
        out.push(("discovery", run(workers, d, get(t.discovery.clone())).await));
        out.push(("JWKS", run(workers, d, get(t.jwks.clone())).await));
        for (name, jwt) in [("client_credentials (opaque)", false), ("client_credentials (JWT ES256)", true)]
        {
            t.client_credentials(&shared, jwt).await?;
            let stats = run(workers, d, |_i, deadline| {
                let (h, t) = (shared.clone(), t.clone());
                async move {
                    let mut s = Sample::default();
                    while Instant::now() < deadline {
                        s.time(async { t.client_credentials(&h, jwt).await.is_ok() }).await;
                    }
                    s
                }
            })
            .await;
            out.push((name, stats));
        }
        let stats = run(workers, d, |_i, deadline| {
            let (h, t, token) = (shared.clone(), t.clone(), token.clone());
            async move {
                let mut s = Sample::default();
                while Instant::now() < deadline {
                    s.time(async { t.introspect(&h, &token).await.unwrap_or(false) }).await;
                }
                s
            }
        })
        .await;
        out.push(("introspection", stats));
    }
    // Each worker signs in once (its own browser) and keeps its own refresh token family.
    let mut browsers = vec![];
    for _ in 0..workers {
        let b = http(true);
        let (code, verifier) = t.authorize(&b, "openid offline_access").await?;
        let tokens = t.redeem(&b, &code, &verifier).await?;
        let rt = tokens["refresh_token"]
            .as_str()
            .with_context(|| format!("{}: no refresh token: {tokens}", t.label))?;
        browsers.push((b, rt.to_string()));
    }
    let per_worker = std::sync::Arc::new(std::sync::Mutex::new(browsers));
    let stats = run(workers, d, |i, deadline| {
        let (t, pw) = (t.clone(), per_worker.clone());
        async move {
            let (h, mut rt) = pw.lock().unwrap()[i].clone();
            let mut s = Sample::default();
            while Instant::now() < deadline {
                let mut next = None;
                s.time(async {
                    next = t.refresh(&h, &rt).await.ok();
                    next.is_some()
                })
                .await;
                match next {
                    Some(n) => rt = n,
                    None => break,
                }
            }
            s
        }
    })
    .await;
    out.push(("refresh_token grant", stats));
    let stats = run(workers, d, |i, deadline| {
        let (t, pw) = (t.clone(), per_worker.clone());
        async move {
            let (h, _) = pw.lock().unwrap()[i].clone();
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async {
                    match t.authorize(&h, "openid").await {
                        Ok((code, verifier)) => t.redeem(&h, &code, &verifier).await.is_ok(),
                        Err(_) => false,
                    }
                })
                .await;
            }
            s
        }
    })
    .await;
    out.push(("SSO round trip (authorize + token)", stats));
    Ok(out)
}

/// Password sign-ins per second through the real pages, each in a new browser.
async fn sign_ins(t: &Target, workers: usize, secs: u64) -> Stats {
    run(workers, Duration::from_secs(secs), |_i, deadline| {
        let t = t.clone();
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                let b = http(true);
                s.time(async { t.authorize(&b, "openid").await.is_ok() }).await;
            }
            s
        }
    })
    .await
}

/// Raw Argon2id verifications per second at the production parameters, on every core.
fn raw_argon2_per_second(secs: u64) -> f64 {
    let params = idp_core::password::Argon2Params::default();
    let hash = params.hash("Tiger-Lily-42").unwrap();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..cores)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    assert!(params.verify("Tiger-Lily-42", &hash));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / secs as f64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    if let Some((tenants, clients, accounts)) = a.scale {
        let size = scale::Size { tenants, clients, accounts };
        let (secs, workers) = (a.seconds.min(10), a.workers.min(8));
        return scale::scale(&a.idp, size, secs, workers, a.out.as_deref(), a.pg.as_deref()).await;
    }
    let dir = tempfile::tempdir()?;
    let database_url = match &a.pg {
        Some(admin) => create_pg_database(admin).await?,
        None => format!("sqlite:{}", dir.path().join("idp.db").display()),
    };
    let port = free_port();
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\ndata_dir = \"{}\"\nlog = \"warn\"\n\
             [limits]\nsignin_per_ip_per_minute = 100000000\nsignin_per_account_per_minute = 100000000\n\
             token_per_ip_per_minute = 1000000000\ntoken_per_client_per_minute = 1000000000\n\
             lockout_threshold = 1000000\n",
            dir.path().display()
        ),
    )?;
    // seed through the operator CLI
    idp_cmd(&a, &config, &["tenant", "add", "main"])?;
    let cc_opaque = client_of(&idp_cmd(
        &a,
        &config,
        &[
            "client",
            "add",
            "--name",
            "bench opaque",
            "--type",
            "service",
            "--scope",
            "api",
            "--access-token-format",
            "opaque",
        ],
    )?);
    let cc_jwt = client_of(&idp_cmd(
        &a,
        &config,
        &[
            "client",
            "add",
            "--name",
            "bench jwt",
            "--type",
            "service",
            "--scope",
            "api",
            "--access-token-format",
            "jwt",
            "--id-token-alg",
            "ES256",
        ],
    )?);
    let web = client_of(&idp_cmd(
        &a,
        &config,
        &[
            "client",
            "add",
            "--name",
            "bench web",
            "--type",
            "web",
            "--redirect-uri",
            flows::REDIRECT,
            "--scope",
            "openid offline_access",
            "--access-token-format",
            "opaque",
        ],
    )?);
    idp_cmd(
        &a,
        &config,
        &[
            "cas-service",
            "add",
            "--name",
            "bench cas",
            "--service",
            protocols::CAS_SERVICE,
            "--scope",
            "openid profile",
        ],
    )?;
    idp_cmd(
        &a,
        &config,
        &[
            "cas-service",
            "add",
            "--name",
            "bench cas id",
            "--service",
            protocols::CAS_SERVICE_ID,
            "--scope",
            "openid",
        ],
    )?;
    let sp_metadata = dir.path().join("saml-sp.xml");
    std::fs::write(&sp_metadata, protocols::saml_metadata())?;
    idp_cmd(
        &a,
        &config,
        &[
            "saml-sp",
            "add",
            "--name",
            "bench saml",
            "--metadata",
            sp_metadata.to_str().unwrap(),
            "--scope",
            "openid profile",
        ],
    )?;
    add_account(&a, &config, "bench", Some(BENCH_PHONE))?;
    // a locked account: its answer must read, and take, as an unknown login's
    add_account(&a, &config, "bench-locked", None)?;
    idp_cmd(&a, &config, &["account", "lock", "--tenant", "main", "bench-locked"])?;

    // a tenant on the `sm` profile: SM2 tokens, SM4 seals, HMAC-SM3 (docs/cryptography.md)
    idp_cmd(&a, &config, &["tenant", "add", "sm"])?;
    idp_cmd(&a, &config, &["tenant", "crypto", "--tenant", "sm", "--profile", "sm"])?;
    let service = |name: &str, format: &str| -> anyhow::Result<Client> {
        Ok(client_of(&idp_cmd(
            &a,
            &config,
            &[
                "client",
                "add",
                "--tenant",
                "sm",
                "--name",
                name,
                "--type",
                "service",
                "--scope",
                "api",
                "--access-token-format",
                format,
            ],
        )?))
    };
    let sm_clients = (
        service("bench sm opaque", "opaque")?,
        service("bench sm jwt", "jwt")?,
        client_of(&idp_cmd(
            &a,
            &config,
            &[
                "client",
                "add",
                "--tenant",
                "sm",
                "--name",
                "bench sm web",
                "--type",
                "web",
                "--redirect-uri",
                flows::REDIRECT,
                "--scope",
                "openid offline_access",
                "--access-token-format",
                "opaque",
            ],
        )?),
    );
    add_account_in(&a, &config, "sm", "bench", None)?;

    // start-up to serving, on the existing database
    let mut startups = vec![];
    for _ in 0..5 {
        let p = Proc(
            Command::new(&a.idp)
                .args(["--config", config.to_str().unwrap(), "serve"])
                .stdout(Stdio::null())
                .spawn()?,
        );
        startups
            .push(wait_ready(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(10)).await?);
        drop(p);
    }
    startups.sort();
    let startup_ms = startups[2].as_secs_f64() * 1000.0;

    let idp_proc = Proc(
        Command::new(&a.idp)
            .args(["--config", config.to_str().unwrap(), "serve"])
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_ready(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(10)).await?;
    let mut idp =
        Target::discover("idp", idp_proc.0.id(), &format!("http://127.0.0.1:{port}/t/main")).await?;
    idp.cc_opaque = cc_opaque;
    idp.cc_jwt = cc_jwt;
    idp.web = web;
    idp.login = "bench".into();
    idp.password = "Tiger-Lily-42".into();

    let node_port = free_port();
    let node_proc = Proc(
        Command::new("node")
            .arg(&a.node_script)
            .arg(node_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("node is needed for the reference provider")?,
    );
    let node_issuer = format!("http://127.0.0.1:{node_port}");
    wait_ready(&format!("{node_issuer}/.well-known/openid-configuration"), Duration::from_secs(20)).await?;
    let mut node = Target::discover("node oidc-provider", node_proc.0.id(), &node_issuer).await?;
    let bench = Client { id: "bench".into(), secret: "bench-secret-0123456789abcdef0123456789".into() };
    node.cc_opaque = bench.clone();
    node.cc_jwt = bench.clone();
    node.cc_jwt_extra = vec![("resource".into(), "urn:bench:api".into())];
    node.web = bench;
    node.login = "bench".into();
    node.password = "any".into();
    node.offline_needs_prompt = true;

    eprintln!("running: {} workers, {} s per scenario", a.workers, a.seconds);
    let idp_results = scenarios(&idp, a.workers, a.seconds).await?;
    let node_results = scenarios(&node, a.workers, a.seconds).await?;
    let idp_rss = peak_rss_mib(idp.pid);
    let node_rss = peak_rss_mib(node.pid);
    let signins = sign_ins(&idp, a.workers, a.seconds).await;
    let protocols = protocols::protocols(&idp, a.workers, a.seconds).await?;
    let signing = protocols::signing(200);
    // the same OpenID Connect scenarios on the `sm` tenant: SM2 against ES256 end to end
    let mut sm_target =
        Target::discover("idp (sm)", idp.pid, &format!("http://127.0.0.1:{port}/t/sm")).await?;
    (sm_target.cc_opaque, sm_target.cc_jwt, sm_target.web) = sm_clients;
    sm_target.login = "bench".into();
    sm_target.password = "Tiger-Lily-42".into();
    let sm_rows = scenarios(&sm_target, a.workers, a.seconds).await?;
    let sm_primitives = sm::primitives(200);
    // login enumeration: the same answer, in about the same time, for both
    let (unknown_ms, unknown_msg) = idp.failed_sign_ins("no-such-person", "Wrong-Pass-1", 40).await?;
    let (wrong_ms, wrong_msg) = idp.failed_sign_ins("bench", "Wrong-Pass-1", 40).await?;
    let (locked_ms, locked_msg) = idp.failed_sign_ins("bench-locked", "Tiger-Lily-42", 40).await?;
    // SMS sign-in: a wrong code for an unregistered number must read, and take, as for a
    // registered one (the first answers count tries down, then the code is gone)
    let (sms_unknown_ms, sms_unknown_msgs) = idp.failed_sms_codes("+8613900000000", 40).await?;
    let (sms_known_ms, sms_known_msgs) = idp.failed_sms_codes(BENCH_PHONE, 40).await?;
    drop(node_proc);
    drop(idp_proc);
    let raw = raw_argon2_per_second(3);
    let rows: Vec<Row> = idp_results
        .into_iter()
        .zip(node_results)
        .map(|((scenario, idp), (_, node))| {
            let target = if matches!(scenario, "discovery" | "JWKS") { 5.0 } else { 3.0 };
            Row { scenario, idp, node, target }
        })
        .collect();
    let report = report::Report {
        backend: if a.pg.is_some() {
            "PostgreSQL"
        } else {
            "SQLite (WAL, synchronous=FULL: every commit is on disk)"
        },
        workers: a.workers,
        seconds: a.seconds,
        rows,
        idp_rss,
        node_rss,
        signins,
        enumeration: (unknown_ms, wrong_ms, unknown_msg == wrong_msg),
        locked: (locked_ms, locked_msg == unknown_msg),
        sms: (sms_unknown_ms, sms_known_ms, sms_unknown_msgs == sms_known_msgs),
        raw_argon2: raw,
        startup_ms,
        protocols,
        signing,
        sm_rows,
        sm_primitives,
    };
    let text = report.markdown();
    println!("{text}");
    if let Some(out) = &a.out {
        std::fs::write(out, report.document(&text))?;
        eprintln!("wrote {}", out.display());
    }
    if let Some(admin) = &a.pg {
        drop_pg_database(admin).await?;
    }
    Ok(())
}
