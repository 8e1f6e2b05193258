//! `idp-bench --scale`: latencies of discovery, client_credentials and a password sign-in on
//! a tenant of an almost empty database, then on the last tenant of a database seeded with
//! `idp seed` (by default 1,000 tenants, 10,000 clients, 1,000,000 accounts). The target: at
//! that size within 20 % of the almost empty database.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::flows::{Client, Target, http};
use crate::load::{Sample, Stats, run};

pub struct Size {
    pub tenants: usize,
    pub clients: usize,
    pub accounts: usize,
}

async fn measure(
    idp: &Path,
    dir: &Path,
    size: &Size,
    seconds: u64,
    workers: usize,
    pg: Option<&str>,
) -> anyhow::Result<Vec<(&'static str, Stats)>> {
    let port = crate::free_port();
    let db = match pg {
        Some(admin) => crate::create_pg_database(admin).await?,
        None => format!("sqlite:{}", dir.join("idp.db").display()),
    };
    let config = dir.join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{db}\"\ndata_dir = \"{}\"\nlog = \"warn\"\nbootstrap = false\n\
             [limits]\nsignin_per_ip_per_minute = 100000000\nsignin_per_account_per_minute = 100000000\n\
             token_per_ip_per_minute = 1000000000\ntoken_per_client_per_minute = 1000000000\n",
            dir.display()
        ),
    )?;
    let t0 = Instant::now();
    let out = Command::new(idp)
        .arg("--config")
        .arg(&config)
        .args(["seed", "--json", "--tenants", &size.tenants.to_string()])
        .args(["--clients", &size.clients.to_string(), "--accounts", &size.accounts.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("idp seed failed");
    }
    let seeded: Value = serde_json::from_slice(&out.stdout)?;
    eprintln!(
        "seeded {} tenants, {} clients, {} accounts in {:.0} s",
        size.tenants,
        size.clients,
        size.accounts,
        t0.elapsed().as_secs_f64()
    );
    let s = |k: &str| seeded[k].as_str().unwrap_or_default().to_string();
    let server = crate::Proc(
        Command::new(idp).arg("--config").arg(&config).arg("serve").stdout(Stdio::null()).spawn()?,
    );
    crate::wait_ready(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(20)).await?;
    let issuer = format!("http://127.0.0.1:{port}/t/{}", s("sample_tenant"));
    let mut t =
        Target::discover("idp", server.0.id(), &issuer).await.context("discovery of the seeded tenant")?;
    let secret = s("client_secret");
    t.cc_opaque = Client { id: s("sample_service_client_id"), secret: secret.clone() };
    t.web = Client { id: s("sample_client_id"), secret };
    t.login = s("sample_username");
    t.password = s("password");
    let d = Duration::from_secs(seconds);
    let shared = http(false);
    let mut results = vec![];
    let url = t.discovery.clone();
    let stats = run(workers, d, |_i, deadline| {
        let (h, url) = (shared.clone(), url.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async { h.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }).await;
            }
            s
        }
    })
    .await;
    results.push(("discovery", stats));
    t.client_credentials(&shared, false).await?;
    let stats = run(workers, d, |_i, deadline| {
        let (h, t) = (shared.clone(), t.clone());
        async move {
            let mut s = Sample::default();
            while Instant::now() < deadline {
                s.time(async { t.client_credentials(&h, false).await.is_ok() }).await;
            }
            s
        }
    })
    .await;
    results.push(("client_credentials", stats));
    let stats = run(workers, d, |_i, deadline| {
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
    .await;
    results.push(("password sign-in (page flow)", stats));
    Ok(results)
}

pub async fn scale(
    idp: &Path,
    size: Size,
    seconds: u64,
    workers: usize,
    out: Option<&Path>,
    pg: Option<&str>,
) -> anyhow::Result<()> {
    let small_dir = tempfile::tempdir()?;
    let tiny = Size { tenants: 1, clients: 10, accounts: 100 };
    let small = measure(idp, small_dir.path(), &tiny, seconds, workers, pg).await?;
    let big_dir = tempfile::tempdir()?;
    let big = measure(idp, big_dir.path(), &size, seconds, workers, pg).await?;
    if let Some(admin) = pg {
        crate::drop_pg_database(admin).await?;
    }
    let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    let mut text = format!(
        "Latency on the last tenant of a database with {} tenants, {} clients and {} accounts, against an \
         almost empty one (1 tenant, 10 clients, 100 accounts); {backend}; {} concurrent clients, {} s each.\n\n\
         | scenario | empty p50 ms | empty p99 ms | seeded p50 ms | seeded p99 ms | p50 change | target | met |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
        size.tenants, size.clients, size.accounts, workers, seconds
    );
    for ((name, a), (_, b)) in small.iter().zip(&big) {
        let change = 100.0 * (b.p50_ms - a.p50_ms) / a.p50_ms.max(0.001);
        text.push_str(&format!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {change:+.0} % | ≤ +20 % | {} |\n",
            a.p50_ms,
            a.p99_ms,
            b.p50_ms,
            b.p99_ms,
            if change <= 20.0 { "yes" } else { "**no**" }
        ));
    }
    println!("{text}");
    if let Some(out) = out {
        std::fs::write(
            out,
            format!(
                "# Performance at scale ({backend})\n\nGenerated by `tests/bench/run.sh --scale{}` (do not edit by hand).\n\n{text}",
                if pg.is_some() { " --pg" } else { "" }
            ),
        )?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
