//! The container image and the compose file, built and run as shipped, with podman (daemonless)
//! and podman-compose:
//!
//! - `deploy/Containerfile` builds (its public base images from `deploy/test/base-images.sh`);
//!   the image runs as user 10001 with a read-only root filesystem, answers `/readyz`, passes
//!   its own health check (`idp healthcheck`) and stops cleanly (status 0) on SIGTERM;
//! - `deploy/compose.yaml` comes up: PostgreSQL, the idp (which waits for its database) and,
//!   once its client is registered with the idp's CLI inside the container, the admin console,
//!   which finds the idp by its public name on the internal network and sends the browser to it;
//! - a rolling restart: a person signs in through the first node, a second node joins on the
//!   same database, the first stops (SIGTERM) and the second carries the session and the token
//!   family on; the first comes back and knows the session too.
//!
//! Needs podman, podman-compose, buildah and debootstrap (`scripts/test.sh` installs them) and root.
//! `IDP_TEST_CONTAINERS=off` skips it, saying so; `.ci/run` refuses that. The release build
//! inside the image takes most of its time (about eight minutes on two cores).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{REDIRECT, active, authorize, free_port, json_of, param, ready, token};

const IMAGE: &str = "localhost/idp:latest";
const LI: (&str, &str) = ("li", "Correct-Horse-9");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn podman(args: &[&str]) -> String {
    text(&run(Command::new("podman").args(args)))
}

/// Removes what the test started, however it ends: each command, last first.
struct Cleanup(Vec<Command>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for cmd in self.0.iter_mut().rev() {
            let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

fn podman_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new("podman");
    cmd.args(args);
    cmd
}

/// Waits for a container to exit: its exit code.
fn exit_code(name: &str) -> i64 {
    let code = podman(&["wait", name]);
    code.parse().unwrap_or_else(|_| panic!("podman wait {name}: {code}"))
}

#[test]
fn the_image_and_the_compose_file_work_as_shipped() {
    if std::env::var("IDP_TEST_CONTAINERS").is_ok_and(|v| v == "off") {
        return eprintln!("IDP_TEST_CONTAINERS=off: skipping the container image test");
    }
    for (tool, package) in [
        ("podman", "Debian's podman"),
        ("buildah", "Debian's buildah"),
        ("debootstrap", "Debian's debootstrap"),
        ("podman-compose", "PyPI's podman-compose"),
    ] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
        assert!(
            found.status.success(),
            "{tool} is needed: install {package} (scripts/test.sh does), or set IDP_TEST_CONTAINERS=off"
        );
    }
    let root = root();
    run(Command::new(root.join("deploy/test/base-images.sh")).current_dir(&root));
    // as `compose.yaml`'s build section says: context the repository, deploy/Containerfile
    let before =
        Command::new("podman").args(["image", "inspect", IMAGE, "--format", "{{.Id}}"]).output().unwrap();
    let t0 = Instant::now();
    run(Command::new("podman").current_dir(&root).args([
        "build",
        "--pull=never",
        // no intermediate images kept (the build stage alone is 3 GB)
        "--layers=false",
        "-q",
        "-f",
        "deploy/Containerfile",
        "-t",
        IMAGE,
        ".",
    ]));
    eprintln!("container image built in {:?}", t0.elapsed());
    let now = podman(&["image", "inspect", IMAGE, "--format", "{{.Id}}"]);
    if before.status.success() && text(&before) != now {
        // the previous build, now untagged (kept if something still uses it)
        let _ = Command::new("podman").args(["rmi", text(&before).as_str()]).stderr(Stdio::null()).output();
    }
    let user = podman(&["image", "inspect", IMAGE, "--format", "{{.Config.User}}"]);
    assert_eq!(user, "10001:10001", "the image runs unprivileged");
    let size: u64 = podman(&["image", "inspect", IMAGE, "--format", "{{.Size}}"]).parse().unwrap();
    eprintln!("image size: {} MB", size / 1_000_000);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(standalone());
    rt.block_on(compose(&root));
}

/// The image alone, as `docker run` would start it: SQLite in its volume, nothing else
/// writable.
async fn standalone() {
    let name = format!("idp-test-{}", std::process::id());
    let volume = format!("{name}-data");
    let _cleanup =
        Cleanup(vec![podman_cmd(&["volume", "rm", "-f", &volume]), podman_cmd(&["rm", "-f", &name])]);
    let port = free_port();
    podman(&[
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "-v",
        &format!("{volume}:/var/lib/idp"),
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        IMAGE,
    ]);
    ready(&format!("http://127.0.0.1:{port}/readyz"), Duration::from_secs(60)).await;
    assert_eq!(podman(&["exec", &name, "id", "-u"]), "10001");
    run(Command::new("podman").args(["exec", &name, "/usr/local/bin/idp", "healthcheck"]));
    let logs = text(&run(Command::new("podman").args(["logs", &name])));
    assert!(logs.contains("Bootstrap administrator created"), "{logs}");
    // nothing but the volume is writable
    let probe = Command::new("podman").args(["exec", &name, "touch", "/usr/local/bin/x"]).output().unwrap();
    assert!(!probe.status.success(), "the root filesystem is read-only");
    podman(&["stop", "-t", "25", &name]);
    assert_eq!(exit_code(&name), 0, "SIGTERM ends it cleanly");
}

/// A rolling restart on the compose deployment.
async fn compose(root: &Path) {
    let project = format!("idptest{}", std::process::id());
    let (idp_port, console_port, second_port) = (free_port(), free_port(), free_port());
    let kek = idp_core::crypto::Kek::generate(&idp_core::SystemEnv).encode();
    let public = format!("http://idp.localhost:{idp_port}");
    let env: Vec<(&str, String)> = vec![
        ("IDP_KEY_ENCRYPTION_KEY", kek.clone()),
        ("POSTGRES_PASSWORD", format!("pw-{}", free_port())),
        ("IDP_PORT", idp_port.to_string()),
        ("CONSOLE_PORT", console_port.to_string()),
        ("IDP_PUBLIC_URL", public.clone()),
        ("CONSOLE_PUBLIC_URL", format!("http://localhost:{console_port}")),
    ];
    let compose_cmd = |args: &[&str], extra: &[(&str, String)]| {
        let mut cmd = Command::new("podman-compose");
        cmd.current_dir(root).args(["-p", &project, "-f", "deploy/compose.yaml"]).args(args);
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.envs(extra.iter().map(|(k, v)| (*k, v.as_str())));
        cmd
    };
    let compose = |args: &[&str], extra: &[(&str, String)]| run(&mut compose_cmd(args, extra));
    let (idp1, idp2, console) =
        (format!("{project}_idp_1"), format!("{project}_idp_2"), format!("{project}_console_1"));
    // (`rm -v` first: the image's VOLUME gives the console and node 2 anonymous volumes)
    let postgres = format!("{project}_postgres_1");
    let _cleanup = Cleanup(vec![
        compose_cmd(&["down", "-v"], &[]),
        podman_cmd(&["rm", "-f", "-v", &idp2, &console, &idp1, &postgres]),
    ]);
    compose(&["up", "-d"], &[]);
    let node1 = format!("http://127.0.0.1:{idp_port}");
    ready(&format!("{node1}/readyz"), Duration::from_secs(120)).await;
    // the compose file's health checks, run as the engine's timer would
    for service in ["postgres", "idp"] {
        podman(&["healthcheck", "run", &format!("{project}_{service}_1")]);
    }
    // the console stops at once without its client, as documented
    assert_ne!(exit_code(&console), 0);
    let said = run(Command::new("podman").args(["logs", &console]));
    assert!(String::from_utf8_lossy(&said.stderr).contains("CONSOLE_CLIENT_ID is required"));
    podman(&["rm", "-v", &console]); // (with its anonymous volume: the image declares one)

    // the operator registers clients and a person with the CLI inside the idp container
    let idp_cli = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = Command::new("podman");
        cmd.args(["exec", "-i", &idp1, "/usr/local/bin/idp"]).args(args);
        json_of(cmd, stdin)
    };
    let console_redirect = format!("http://localhost:{console_port}/console/callback");
    let console_client = idp_cli(
        &[
            "client",
            "add",
            "--name",
            "Admin console",
            "--type",
            "web",
            "--admin-client",
            "--scope",
            "openid",
            "--redirect-uri",
            &console_redirect,
        ],
        None,
    );
    let web = idp_cli(
        &["client", "add", "--name", "web", "--type", "web", "--redirect-uri", REDIRECT, "--always-refresh"],
        None,
    );
    let (id, secret) = (web["client_id"].as_str().unwrap(), web["client_secret"].as_str().unwrap());
    idp_cli(&["account", "add", "--username", LI.0, "--password-stdin"], Some(&format!("{}\n", LI.1)));

    // the console, configured, sends the browser to the idp it found on the internal network
    compose(
        &["up", "-d", "--no-deps", "console"],
        &[
            ("CONSOLE_CLIENT_ID", console_client["client_id"].as_str().unwrap().to_string()),
            ("CONSOLE_CLIENT_SECRET", console_client["client_secret"].as_str().unwrap().to_string()),
        ],
    );
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("idp.localhost", ([127, 0, 0, 1], 0).into())
        .build()
        .unwrap();
    let t0 = Instant::now();
    let to_idp = 'console: loop {
        // "/" sends to "/console/", then to the console's "/console/login", which sends to the idp
        let mut next = format!("http://127.0.0.1:{console_port}/");
        for _ in 0..3 {
            let Ok(res) = browser.get(&next).send().await else { break };
            let Some(l) = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()) else {
                break;
            };
            if l.starts_with(&format!("{public}/t/main/authorize")) {
                break 'console l;
            }
            next = format!("http://127.0.0.1:{console_port}{l}");
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "the console sends the browser to the idp");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(param(&to_idp, "client_id").as_deref(), console_client["client_id"].as_str());
    let page = browser.get(&to_idp).send().await.unwrap();
    assert!(page.status().is_success() || page.status().is_redirection(), "{}", page.status());

    // a person signs in through node 1 (the public name, as the load balancer would route it)
    let back = authorize(&browser, &public, id, LI, "").await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));
    let first = token(
        &node1,
        id,
        secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    let rt1 = first["refresh_token"].as_str().unwrap_or_else(|| panic!("{first}")).to_string();

    // node 2 joins: the same image and settings, on the same database
    podman(&[
        "run",
        "-d",
        "--name",
        &idp2,
        "--read-only",
        "--network",
        &format!("{project}_internal"),
        "-e",
        &format!("IDP_LISTEN=0.0.0.0:{idp_port}"),
        "-e",
        &format!("IDP_DATABASE_URL=postgres://idp:{}@postgres:5432/idp", env[1].1),
        "-e",
        &format!("IDP_KEY_ENCRYPTION_KEY={kek}"),
        "-e",
        &format!("IDP_PUBLIC_URL={public}"),
        "-p",
        &format!("127.0.0.1:{second_port}:{idp_port}"),
        IMAGE,
    ]);
    // pages through the public name (the cookie's host), back-channel calls to the address
    let (node2_pages, node2) =
        (format!("http://idp.localhost:{second_port}"), format!("http://127.0.0.1:{second_port}"));
    ready(&format!("{node2}/readyz"), Duration::from_secs(60)).await;

    // node 1 stops (SIGTERM, as in a rolling restart): node 2 carries on
    podman(&["stop", "-t", "25", &idp1]);
    assert_eq!(exit_code(&idp1), 0, "node 1 stops cleanly");
    let back = authorize(&browser, &node2_pages, id, LI, "&prompt=none").await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("node 2 knows the session: {back}"));
    let second = token(
        &node2,
        id,
        secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert!(second["id_token"].is_string(), "{second}");
    let rotated =
        token(&node2, id, secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    let rt2 =
        rotated["refresh_token"].as_str().unwrap_or_else(|| panic!("node 2 rotates: {rotated}")).to_string();

    // node 1 comes back and knows the session and the rotated family
    podman(&["start", &idp1]);
    ready(&format!("{node1}/readyz"), Duration::from_secs(60)).await;
    let back = authorize(&browser, &public, id, LI, "&prompt=none").await;
    assert!(param(&back, "code").is_some(), "node 1 knows the session after its restart: {back}");
    let again = token(&node1, id, secret, &[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).await;
    assert!(again["access_token"].is_string(), "{again}");
    assert!(active(&node1, id, secret, second["access_token"].as_str().unwrap()).await);
}
