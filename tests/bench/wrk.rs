//! Requests that do not depend on the previous answer are driven by `wrk` when it is installed:
//! it is far lighter than an async Rust client, so on a small machine the load generator takes
//! less of the CPU the servers share with it. Both servers get the same tool for a scenario.

use std::process::Command;

use base64::Engine;

use crate::load::Stats;

pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

pub struct Request {
    pub url: String,
    /// `Some(form body)` for a POST.
    pub form: Option<String>,
    pub basic: Option<(String, String)>,
}

fn millis(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

pub fn run(req: &Request, connections: usize, seconds: u64) -> anyhow::Result<Stats> {
    let mut lua = String::new();
    if let Some(body) = &req.form {
        lua.push_str(&format!(
            "wrk.method = \"POST\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
        ));
    }
    if let Some((id, secret)) = &req.basic {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        lua.push_str(&format!("wrk.headers[\"Authorization\"] = \"Basic {token}\"\n"));
    }
    let script = tempfile::NamedTempFile::new()?;
    std::fs::write(script.path(), lua)?;
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script.path())
        .arg(&req.url)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut stats = Stats { seconds: seconds as f64, ..Stats::default() };
    let mut total = 0u64;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => stats.p50_ms = millis(v),
            ["99%", v] => stats.p99_ms = millis(v),
            [n, "requests", "in", secs, ..] => {
                total = n.parse().unwrap_or(0);
                stats.seconds = millis(secs.trim_end_matches(',')) / 1000.0;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => stats.errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                stats.errors +=
                    rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>()
            }
            _ => {}
        }
    }
    if total == 0 {
        anyhow::bail!("wrk reported nothing for {}: {text}{}", req.url, String::from_utf8_lossy(&out.stderr));
    }
    stats.ok = total.saturating_sub(stats.errors);
    Ok(stats)
}
