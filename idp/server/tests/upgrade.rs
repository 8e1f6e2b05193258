//! A rolling upgrade, for real: the previous release (the last commit that landed before the
//! migrations of this one, built from the repository's history into `target/upgrade/`) and
//! this build run side by side on one PostgreSQL database. A person signed in through the old
//! node; the new node starts and applies its migrations while the old one keeps serving; then
//! the one browser session and the one token family work on both — a silent authorization,
//! code exchange, refresh rotation and introspection across the nodes — and a logout on the
//! new node ends the session for the old one too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, REDIRECT, Server, active, authorize, cli, free_port, param, ready, token};
use idp_core::SystemEnv;

/// The previous release: migrations up to 0019.
const PREVIOUS: &str = "0fe5e39c5ec58ed4607ab23c22d3407eee01a02a";

/// The previous release's `idp`, built from history as `idp-previous`. Its workspace is
/// moved under `previous/` so that its crates, named as ours, are not mistaken for ours: then
/// it builds in our target directory and reuses every compiled dependency (seconds, not the
/// ten minutes of a target directory of its own).
fn previous_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let up = root.join("target/upgrade");
    let src = up.join(format!("src-{}", &PREVIOUS[..12]));
    if !src.join("Cargo.toml").exists() {
        std::fs::create_dir_all(&src).unwrap();
        let tar = up.join("previous.tar");
        let out = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["archive", "--format=tar", "-o"])
            .arg(&tar)
            .arg(PREVIOUS)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "this test builds the previous release from the repository's history ({}); \
             a shallow clone needs `git fetch --unshallow`",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&src).status().unwrap().success());
        let moved = src.join("previous");
        std::fs::create_dir_all(&moved).unwrap();
        for dir in ["idp", "https-serve", "admin-console", "tests", "migrations"] {
            std::fs::rename(src.join(dir), moved.join(dir)).unwrap();
        }
        let manifest = src.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = text
            .replace("\"idp/", "\"previous/idp/")
            .replace("\"https-serve\"", "\"previous/https-serve\"")
            .replace("\"admin-console\"", "\"previous/admin-console\"")
            .replace("\"tests\"", "\"previous/tests\"");
        std::fs::write(&manifest, text).unwrap();
        // its binary gets a name of its own
        let manifest = moved.join("idp/server/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text.replacen("name = \"idp\"\npath", "name = \"idp-previous\"\npath", 1))
            .unwrap();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--locked", "-q", "-p", "idp-server", "--bin", "idp-previous", "--manifest-path"])
        .arg(src.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target"))
        .output()
        .unwrap();
    assert!(out.status.success(), "building the previous release: {}", String::from_utf8_lossy(&out.stderr));
    root.join("target/debug/idp-previous")
}

fn config(dir: &Path, name: &str, port: u16, public_port: u16, database_url: &str, kek: &str) -> PathBuf {
    // only keys the previous release knows (it refuses unknown ones)
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{public_port}\"\n\
             database_url = \"{database_url}\"\ndata_dir = \"{}\"\nkey_encryption_key = \"{kek}\"\n\
             bootstrap = false\nlog = \"warn\"\n[argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n",
            dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn previous_and_new_release_side_by_side() {
    let previous = previous_binary();
    common::with_postgres_database("upgrade", |rt, url| rt.block_on(scenario(&previous, url)));
}

/// The node at `port` answering `/healthz`.
async fn serve(bin: &Path, config: &Path, port: u16) -> Server {
    let server = Server(
        Command::new(bin).arg("--config").arg(config).arg("serve").stdout(Stdio::null()).spawn().unwrap(),
    );
    ready(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(30)).await;
    server
}

async fn scenario(previous: &Path, database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (old_port, new_port) = (free_port(), free_port());
    let (old, new) = (format!("http://127.0.0.1:{old_port}"), format!("http://127.0.0.1:{new_port}"));
    const LI: (&str, &str) = ("li", "Correct-Horse-9");
    let kek = idp_core::crypto::Kek::generate(&SystemEnv).encode();
    // both nodes answer for one issuer, as behind a load balancer
    let old_cfg = config(dir.path(), "old", old_port, old_port, database_url, &kek);
    let new_cfg = config(dir.path(), "new", new_port, old_port, database_url, &kek);

    // the previous release creates the database and serves
    cli(previous, &old_cfg, &["tenant", "add", "main"], None);
    let web = cli(
        previous,
        &old_cfg,
        &["client", "add", "--name", "web", "--type", "web", "--redirect-uri", REDIRECT, "--always-refresh"],
        None,
    );
    let (id, secret) =
        (web["client_id"].as_str().unwrap().to_string(), web["client_secret"].as_str().unwrap().to_string());
    cli(
        previous,
        &old_cfg,
        &["account", "add", "--username", "li", "--password-stdin"],
        Some("Correct-Horse-9\n"),
    );
    let _old = serve(previous, &old_cfg, old_port).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = authorize(&browser, &old, &id, LI, "").await;
    let code = param(&back, "code").expect("a code from the old node");
    let first = token(
        &old,
        &id,
        &secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    let rt1 = first["refresh_token"].as_str().expect("refresh token").to_string();

    // this build starts on the same database: its migrations run while the old node serves
    let pending = cli(Path::new(BIN), &new_cfg, &["migrate", "--dry-run"], None);
    assert!(!pending.as_array().unwrap().is_empty(), "this build has migrations to apply");
    let _new = serve(Path::new(BIN), &new_cfg, new_port).await;
    let ready = reqwest::get(format!("http://127.0.0.1:{new_port}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
    assert_eq!(cli(Path::new(BIN), &new_cfg, &["migrate", "--dry-run"], None), serde_json::json!([]));

    // the old node still works on the migrated database: the session, a code, a refresh
    let back = authorize(&browser, &old, &id, LI, "&prompt=none").await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("the old node kept the session: {back}"));
    let second = token(
        &old,
        &id,
        &secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert!(second["access_token"].is_string(), "{second}");
    let rotated =
        token(&old, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    let rt2 = rotated["refresh_token"].as_str().unwrap_or_else(|| panic!("{rotated}")).to_string();

    // the new node takes the same session and the same token family
    let back = authorize(&browser, &new, &id, LI, "&prompt=none").await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("the new node knows the session: {back}"));
    let third = token(
        &new,
        &id,
        &secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert!(third["id_token"].is_string(), "{third}");
    let again = token(&new, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).await;
    assert!(again["access_token"].is_string(), "the new node rotates the old node's refresh token: {again}");
    let replay = token(&old, &id, &secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).await;
    assert_eq!(replay["error"], "invalid_grant", "and the old node sees it used");
    assert!(active(&new, &id, &secret, second["access_token"].as_str().unwrap()).await);
    assert!(active(&old, &id, &secret, third["access_token"].as_str().unwrap()).await);

    // a logout on the new node ends the session for the old one too
    let hint = third["id_token"].as_str().unwrap();
    let res = browser
        .get(format!("http://127.0.0.1:{new_port}/t/main/end_session?id_token_hint={hint}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let back = authorize(&browser, &old, &id, LI, "&prompt=none").await;
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"), "{back}");
}
