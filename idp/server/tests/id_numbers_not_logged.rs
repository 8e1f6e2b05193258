//! ID numbers never reach the logs: the real `idp` binary, logging at `debug` to stderr with
//! the simulator as verification provider, goes through every binding outcome on the account
//! pages (a mistyped check character, a mismatch, a provider error, a timeout, a match, a number
//! already bound to another account, a level-3 bank card) — and its whole log is searched for
//! the numbers, their significant parts and the card. The answers say what went wrong without
//! the number too. And no secret either: after a sign-in, a code, tokens, a refresh, an
//! introspection and client credentials, logged at `debug` as JSON, the log holds no password,
//! client secret, code, token, cookie or CSRF value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{BIN, Server, active, between, cli, param, token};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn idp(config: &std::path::Path, args: &[&str], stdin: Option<&str>) {
    cli(std::path::Path::new(BIN), config, args, stdin);
}

/// A resident ID from its first 17 digits (ISO 7064 MOD 11-2).
fn resident(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{first17}{}", "10X98765432".as_bytes()[(sum % 11) as usize] as char)
}

/// Signs `login` in to the account pages; returns the client and the account page.
async fn signed_in(base: &str, login: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let page = http.get(format!("{base}/t/main/account")).send().await.unwrap().text().await.unwrap();
    let action = between(&page, "action=\"", '"').to_string();
    let csrf = between(&page, "name=\"csrf\" value=\"", '"').to_string();
    let form = [("csrf", csrf.as_str()), ("login", login), ("password", "Correct-Horse-9")];
    let page = http.post(format!("{base}{action}")).form(&form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"realname\""), "signed in: {page}");
    (http, page)
}

async fn submit(http: &reqwest::Client, base: &str, page: &str, form: &[(&str, &str)]) -> String {
    let csrf = between(page, "name=\"csrf\" value=\"", '"').to_string();
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    http.post(format!("{base}/t/main/account/realname"))
        .form(&full)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_numbers_and_cards_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://localhost:{port}\"\n\
             database_url = \"sqlite:{0}/idp.db\"\ndata_dir = \"{0}\"\nbootstrap = false\nlog = \"debug\"\n\
             [argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n\
             [realname]\nprovider = \"simulator\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    idp(&config, &["tenant", "add", "main"], None);
    for (who, phone) in [("wu", "13900001111"), ("zhao", "13900002222")] {
        let args = ["account", "add", "--username", who, "--phone", phone, "--password-stdin"];
        idp(&config, &args, Some("Correct-Horse-9\n"));
    }
    let log = dir.path().join("stderr.log");
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://localhost:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server starts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let matched = resident("11010519491231001");
    let numbers = [
        // a mistyped check character
        format!("{}{}", &matched[..17], if matched.ends_with('7') { '8' } else { '7' }),
        resident("11010519491231096"), // mismatch
        resident("11010519491231099"), // provider error
        resident("11010519491231098"), // timeout
        matched.clone(),
    ];
    let (http, mut page) = signed_in(&base, "wu").await;
    for n in &numbers {
        page = submit(&http, &base, &page, &[("name", "吴某"), ("id_type", "resident_id"), ("id_number", n)])
            .await;
        assert!(!page.contains(n.as_str()), "the answer does not repeat the number");
    }
    assert!(page.contains("data-level=\"2\""), "{page}");
    // the card (level 3) needs a verified phone, which wu has not: refused, then nothing logged
    let card = "6222020000000000006";
    page = submit(&http, &base, &page, &[("card_number", card)]).await;
    assert!(page.contains("data-level=\"2\""));
    // zhao tries wu's number: taken
    let (http2, page2) = signed_in(&base, "zhao").await;
    let taken = submit(
        &http2,
        &base,
        &page2,
        &[("name", "赵某"), ("id_type", "resident_id"), ("id_number", &matched)],
    )
    .await;
    assert!(taken.contains("已绑定到其他账号") && !taken.contains(matched.as_str()), "{taken}");

    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("could not answer"), "the provider failures were logged: {text}");
    for n in numbers.iter().map(String::as_str).chain([card]) {
        for part in [n, &n[..14], &n[6..14]] {
            assert!(!text.contains(part), "{part} is in the log:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_tokens_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite:{0}/idp.db\"\ndata_dir = \"{0}\"\n\
             bootstrap = false\nlog = \"debug\"\nlog_format = \"json\"\n\
             [argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n",
            dir.path().display()
        ),
    )
    .unwrap();
    idp(&config, &["tenant", "add", "main"], None);
    let args = ["account", "add", "--username", "qian", "--password-stdin"];
    idp(&config, &args, Some("Correct-Horse-9\n"));
    let add = |args: &[&str]| {
        let out = Command::new(BIN).arg("--config").arg(&config).args(args).arg("--json").output().unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string())
    };
    let redirect = "http://127.0.0.1:1/cb";
    let (web, web_secret) = add(&[
        "client",
        "add",
        "--name",
        "web",
        "--type",
        "web",
        "--redirect-uri",
        redirect,
        "--always-refresh",
    ]);
    let (svc, svc_secret) = add(&["client", "add", "--name", "svc", "--type", "service"]);
    let log = dir.path().join("stderr.log");
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server starts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // the code flow through the pages, with the cookies a browser keeps
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut secrets = vec!["Correct-Horse-9".to_string(), web_secret.clone(), svc_secret.clone()];
    let authorize = format!(
        "{base}/t/main/authorize?client_id={web}&redirect_uri={}&response_type=code&scope=openid&state=s1",
        "http%3A%2F%2F127.0.0.1%3A1%2Fcb"
    );
    let mut res = http.get(&authorize).send().await.unwrap();
    let mut form: Vec<(String, String)> =
        vec![("login".into(), "qian".into()), ("password".into(), "Correct-Horse-9".into())];
    let code = loop {
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        match location {
            Some(l) if l.starts_with(redirect) => {
                break param(&l, "code").unwrap();
            }
            Some(l) => res = http.get(format!("{base}{l}")).send().await.unwrap(),
            None => {
                let page = res.text().await.unwrap();
                let action = between(&page, "action=\"", '"').to_string();
                let csrf = between(&page, "name=\"csrf\" value=\"", '"').to_string();
                secrets.push(csrf.clone());
                let mut fields = vec![("csrf".to_string(), csrf)];
                fields.append(&mut form);
                if page.contains("value=\"allow\"") {
                    fields.push(("decision".into(), "allow".into()));
                }
                res = http.post(format!("{base}{action}")).form(&fields).send().await.unwrap();
            }
        }
    };
    secrets.push(code.clone());
    let tokens = token(
        &base,
        &web,
        &web_secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect)],
    )
    .await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refreshed =
        token(&base, &web, &web_secret, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    let machine = token(&base, &svc, &svc_secret, &[("grant_type", "client_credentials")]).await;
    for t in [&tokens, &refreshed, &machine] {
        for k in ["access_token", "refresh_token", "id_token"] {
            if let Some(v) = t[k].as_str() {
                secrets.push(v.to_string());
            }
        }
    }
    assert!(active(&base, &web, &web_secret, refreshed["access_token"].as_str().unwrap()).await);
    // a wrong secret and a replayed code are refused, and logged as such
    let wrong = token(&base, &svc, "not-the-secret", &[("grant_type", "client_credentials")]).await;
    assert_eq!(wrong["error"], "invalid_client");
    secrets.push("not-the-secret".into());
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 10, "debug logging happened: {text}");
    for s in &secrets {
        assert!(s.len() >= 8, "{s}");
        assert!(!text.contains(s.as_str()), "a secret is in the log: {s}");
        // and no large part of a token either
        if s.len() > 40 {
            assert!(!text.contains(&s[s.len() - 40..]), "the end of a token is in the log");
        }
    }
}
