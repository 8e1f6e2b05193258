//! The `idp` binary as an operator uses it: offline commands against SQLite and PostgreSQL
//! with `--json`, and `serve` printing the bootstrap administrator exactly once.
//! (A test of this crate rather than of `tests/`, because only here does Cargo build the
//! binary for the test.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_idp");

struct Idp {
    dir: tempfile::TempDir,
    db: String,
}

impl Idp {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("idp.db").display());
        Self { dir, db }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(["--database-url", &self.db]).args(args);
        c.env("IDP_DATA_DIR", self.dir.path()).env_remove("IDP_KEY_ENCRYPTION_KEY").env_remove("IDP_CONFIG");
        c
    }

    fn ok(&self, args: &[&str]) -> Value {
        let out = self.cmd(args).arg("--json").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn with_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn operator_commands(idp: &Idp) {
    let t = idp.ok(&["tenant", "add", "city", "--name", "City Hall"]);
    assert!(t["issuer"].as_str().unwrap().ends_with("/t/city"), "{t}");
    assert!(idp.fails(&["tenant", "add", "city"]).contains("already exists"));
    assert!(idp.fails(&["tenant", "add", "Bad Slug"]).contains("slug"));
    // the factors a tenant offers: all but SMS recovery, self-registration and the forgotten
    // password by default; set exactly by name
    let f = idp.ok(&["tenant", "factors", "--tenant", "city"]);
    assert_eq!((f["totp"].clone(), f["sms_recovery"].clone()), (true.into(), false.into()), "{f}");
    assert_eq!((f["registration"].clone(), f["password_reset"].clone()), (false.into(), false.into()), "{f}");
    let f = idp.ok(&["tenant", "factors", "--tenant", "city", "totp", "passkeys", "registration"]);
    assert_eq!(
        f,
        serde_json::json!({"totp": true, "passkeys": true, "security_keys": false, "sms_signin": false,
            "sms_recovery": false, "registration": true, "password_reset": false})
    );
    assert!(
        idp.fails(&["tenant", "factors", "--tenant", "city", "carrier-pigeon"]).contains("unknown factor")
    );
    let list = idp.ok(&["tenant", "list"]);
    assert!(list.as_array().unwrap().iter().any(|t| t["slug"] == "city"));

    let c = idp.ok(&[
        "client",
        "add",
        "--tenant",
        "city",
        "--name",
        "Permits",
        "--type",
        "web",
        "--redirect-uri",
        "https://permits.example/cb",
        "--post-logout-redirect-uri",
        "https://permits.example/",
        "--scope",
        "openid profile offline_access",
    ]);
    let id = c["client_id"].as_str().unwrap().to_string();
    let secret = c["client_secret"].as_str().unwrap().to_string();
    assert_eq!(c["scope"], "openid profile offline_access");
    let spa = idp.ok(&[
        "client",
        "add",
        "--tenant",
        "city",
        "--name",
        "SPA",
        "--type",
        "spa",
        "--redirect-uri",
        "http://localhost:3000/cb",
    ]);
    assert!(spa.get("client_secret").is_none(), "public clients get no secret");
    let svc = idp.ok(&["client", "add", "--tenant", "city", "--name", "Batch", "--type", "service"]);
    assert!(svc.get("min_acr").is_none(), "no minimum unless asked");
    let strict = idp.ok(&[
        "client",
        "add",
        "--tenant",
        "city",
        "--name",
        "Tax",
        "--type",
        "web",
        "--redirect-uri",
        "https://tax.example/cb",
        "--min-acr",
        "aal2",
    ]);
    assert_eq!(strict["min_acr"], "aal2");
    assert!(
        idp.fails(&[
            "client",
            "add",
            "--tenant",
            "city",
            "--name",
            "X",
            "--type",
            "web",
            "--min-acr",
            "aal9"
        ])
        .contains("invalid value")
    );
    assert!(svc["client_secret"].is_string());
    assert!(
        idp.fails(&[
            "client",
            "add",
            "--tenant",
            "city",
            "--name",
            "X",
            "--type",
            "web",
            "--redirect-uri",
            "http://evil.example/cb"
        ])
        .contains("https")
    );
    assert!(
        idp.fails(&["client", "add", "--tenant", "city", "--name", "X", "--type", "web"])
            .contains("redirect")
    );
    assert!(
        idp.fails(&["client", "add", "--tenant", "nope", "--name", "X", "--type", "service"])
            .contains("no tenant")
    );
    let shown = idp.ok(&["client", "show", "--tenant", "city", &id]);
    assert!(shown.get("client_secret").is_none(), "secrets are shown once only");
    let listed = idp.ok(&["client", "list", "--tenant", "city"]);
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let rotated = idp.ok(&["client", "rotate-secret", "--tenant", "city", &id]);
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    assert_eq!(idp.ok(&["client", "disable", "--tenant", "city", &id])["disabled"], true);
    assert_eq!(idp.ok(&["client", "show", "--tenant", "city", &id])["disabled"], true);

    let out = idp.with_stdin(
        &[
            "account",
            "add",
            "--tenant",
            "city",
            "--username",
            "Wang",
            "--phone",
            "13800000000",
            "--password-stdin",
            "--json",
        ],
        "Tiger-Lily-42\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["username"], "wang");
    let weak = idp.with_stdin(
        &["account", "add", "--tenant", "city", "--username", "li", "--password-stdin"],
        "password\n",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let dup = idp.with_stdin(
        &["account", "add", "--tenant", "city", "--username", "wang", "--password-stdin"],
        "Tiger-Lily-42\n",
    );
    assert!(String::from_utf8_lossy(&dup.stderr).contains("taken"));
    let out = idp.with_stdin(
        &["account", "set-password", "--tenant", "city", "13800000000", "--json"],
        "Another-Pass-7\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(idp.ok(&["account", "lock", "--tenant", "city", "wang"])["disabled"], true);
    let accounts = idp.ok(&["account", "list", "--tenant", "city"]);
    assert_eq!(accounts[0]["disabled"], true);
    assert_eq!(idp.ok(&["account", "unlock", "--tenant", "city", "wang"])["disabled"], false);
    assert!(idp.fails(&["account", "lock", "--tenant", "city", "nobody"]).contains("no account"));

    // the organisation tree: a province, a city under it, a department, an enterprise (its
    // code flagged when a check character disagrees), placements that make no sense refused
    let org = |args: &[&str]| {
        let mut all = vec!["org", "add", "--tenant", "city"];
        all.extend_from_slice(args);
        idp.ok(&all)
    };
    let province = org(&[
        "--kind",
        "government",
        "--level",
        "province",
        "--region",
        "220000",
        "--name",
        "吉林省人民政府",
    ]);
    let pid = province["id"].as_str().unwrap().to_string();
    let city_gov = org(&[
        "--kind",
        "government",
        "--level",
        "city",
        "--region",
        "220100",
        "--name",
        "长春市人民政府",
        "--parent",
        &pid,
    ]);
    let cid = city_gov["id"].as_str().unwrap().to_string();
    let dept = org(&["--kind", "department", "--name", "长春市民政局", "--parent", &cid]);
    assert_eq!(dept["path"], format!("/{pid}/{cid}/{}/", dept["id"].as_str().unwrap()));
    let ent = org(&["--kind", "enterprise", "--name", "示例科技有限公司", "--uscc", "91220101MA0Y3K5Q3C"]);
    assert_eq!(ent["uscc_flagged"], false);
    let pilot = org(&["--kind", "enterprise", "--name", "早期试点企业", "--uscc", "91220101ma0y3k5q3d"]);
    assert_eq!(
        (pilot["uscc"].as_str(), pilot["uscc_flagged"].as_bool()),
        (Some("91220101MA0Y3K5Q3D"), Some(true))
    );
    let fails = |args: &[&str]| {
        let mut all = vec!["org", "add", "--tenant", "city"];
        all.extend_from_slice(args);
        idp.fails(&all)
    };
    assert!(
        fails(&[
            "--kind",
            "government",
            "--level",
            "province",
            "--region",
            "220000",
            "--name",
            "x",
            "--parent",
            &cid
        ])
        .contains("cannot be placed")
    );
    assert!(fails(&["--kind", "department", "--name", "孤儿局"]).contains("parent"));
    assert!(
        fails(&["--kind", "enterprise", "--name", "x", "--uscc", "91220101MA0Y3K5Q3"]).contains("length")
    );
    assert!(
        fails(&["--kind", "enterprise", "--name", "x", "--uscc", "91220101MA0Y3K5Q3C"]).contains("exists")
    );
    let under = idp.ok(&["org", "list", "--tenant", "city", "--under", &cid]);
    assert_eq!(under.as_array().unwrap().len(), 2, "the city and its department: {under}");
    assert_eq!(idp.ok(&["org", "list", "--tenant", "city"]).as_array().unwrap().len(), 5);

    // staff memberships
    let dept_id = dept["id"].as_str().unwrap();
    let m = idp.ok(&[
        "member",
        "add",
        "--tenant",
        "city",
        "--account",
        "wang",
        "--org",
        dept_id,
        "--role",
        "clerk",
    ]);
    assert_eq!(m["roles"], serde_json::json!(["clerk"]));
    let ent_id = ent["id"].as_str().unwrap();
    assert!(
        idp.fails(&["member", "add", "--tenant", "city", "--account", "wang", "--org", ent_id])
            .contains("mandates")
    );
    let mid = m["id"].as_str().unwrap();
    assert_eq!(idp.ok(&["member", "revoke", "--tenant", "city", mid])["id"], mid);
    assert!(idp.fails(&["member", "revoke", "--tenant", "city", mid]).contains("no live membership"));
    let listed = idp.ok(&["member", "list", "--tenant", "city", "--account", "wang"]);
    assert!(listed[0]["revoked_at"].is_i64(), "{listed}");

    // keys: four published, one of each algorithm signing; a rotation adds a signing key and
    // keeps the old one published for verification until its tokens have expired
    let keys = idp.ok(&["key", "list", "--tenant", "city"]);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 4);
    assert!(keys["keys"].as_array().unwrap().iter().all(|k| k["state"] == "signs"));
    let rotated = idp.ok(&["key", "rotate", "--tenant", "city", "--alg", "ES256"]);
    let new_kid = rotated["rotated"].as_str().unwrap();
    let keys = rotated["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 5);
    let es: Vec<_> = keys.iter().filter(|k| k["alg"] == "ES256").collect();
    assert_eq!(es.len(), 2);
    assert!(
        es.iter().all(|k| (k["kid"] == new_kid) == (k["state"] == "signs")),
        "only the new key signs: {es:?}"
    );
    let old = es.iter().find(|k| k["kid"] != new_kid).unwrap();
    assert!(old["state"] == "verifies only" && old["retires_at"].is_i64(), "{old}");
    // an emergency revocation: gone, and replaced as it was signing
    let revoked = idp.ok(&["key", "revoke", "--tenant", "city", new_kid]);
    let es: Vec<_> =
        revoked["keys"].as_array().unwrap().iter().filter(|k| k["alg"] == "ES256").cloned().collect();
    assert_eq!(es.len(), 3, "{es:?}");
    assert!(es.iter().any(|k| k["kid"] == new_kid && k["state"] == "revoked"));
    assert_eq!(es.iter().filter(|k| k["state"] == "signs").count(), 1);
    assert!(idp.fails(&["key", "revoke", "--tenant", "city", new_kid]).contains("already revoked"));
    assert!(idp.fails(&["key", "rotate", "--tenant", "city", "--alg", "HS256"]).contains("invalid value"));
    assert!(idp.fails(&["key", "rotate", "--tenant", "nowhere", "--alg", "ES256"]).contains("no tenant"));

    // what the operator did is in the audit trail
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kinds = rt.block_on(async {
        let store = idp_store::connect(&idp.db).await.unwrap();
        let city = store.tenant_by_slug("city").await.unwrap().unwrap();
        store.audit_events(&city.id, 50).await.unwrap().into_iter().map(|e| e.kind).collect::<Vec<_>>()
    });
    for kind in [
        "key_rotated",
        "account_disabled_by_operator",
        "account_enabled_by_operator",
        "password_set_by_operator",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }

    let seeded = idp.ok(&["seed", "--tenants", "2", "--clients", "4", "--accounts", "10"]);
    let tenant = seeded["sample_tenant"].as_str().unwrap();
    assert_eq!(idp.ok(&["account", "list", "--tenant", tenant]).as_array().unwrap().len(), 5);
    let clients = idp.ok(&["client", "list", "--tenant", tenant]);
    assert_eq!(clients.as_array().unwrap().len(), 2);
    assert!(clients.as_array().unwrap().iter().any(|c| c["client_id"] == seeded["sample_client_id"]));

    // every migration has run: nothing would be applied
    assert_eq!(idp.ok(&["migrate", "--dry-run"]), serde_json::json!([]));
}

/// `idp migrate --dry-run` on a new database lists every migration and creates nothing;
/// `idp migrate` applies them; `idp backup` copies the database (refusing to overwrite), and
/// `idp restore` puts a copy in place (refusing to replace a database without --replace);
/// PostgreSQL is sent to its own tools.
#[test]
fn migrate_backup_and_restore() {
    let idp = Idp::sqlite();
    let file = idp.dir.path().join("idp.db");
    let pending = idp.ok(&["migrate", "--dry-run"]);
    let pending = pending.as_array().unwrap();
    assert!(pending.len() >= 22 && pending[0]["version"] == 1, "{pending:?}");
    assert!(!file.exists(), "a dry run creates nothing");
    assert_eq!(idp.ok(&["migrate"]).as_array().unwrap().len(), pending.len());
    assert_eq!(idp.ok(&["migrate", "--dry-run"]), serde_json::json!([]));
    idp.ok(&["tenant", "add", "copied"]);

    let backup = idp.dir.path().join("backup.db");
    let b = backup.to_str().unwrap();
    let made = idp.ok(&["backup", "--out", b]);
    assert_eq!(made["schema_version"], pending.last().unwrap()["version"]);
    assert!(idp.fails(&["backup", "--out", b]).contains("exists already"));

    // into a fresh place, then over an existing database only with --replace
    let other = Idp { dir: tempfile::tempdir().unwrap(), db: String::new() };
    let other = Idp { db: format!("sqlite:{}", other.dir.path().join("restored.db").display()), ..other };
    other.ok(&["restore", "--from", b]);
    let tenants = other.ok(&["tenant", "list"]);
    assert!(tenants.as_array().unwrap().iter().any(|t| t["slug"] == "copied"), "{tenants}");
    assert!(other.fails(&["restore", "--from", b]).contains("--replace"));
    other.ok(&["restore", "--from", b, "--replace"]);
    // a file that is not a database of this provider is refused
    let junk = idp.dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(!other.fails(&["restore", "--from", junk.to_str().unwrap(), "--replace"]).is_empty());

    let pg =
        Idp { dir: tempfile::tempdir().unwrap(), db: "postgres://postgres@127.0.0.1:5432/postgres".into() };
    assert!(pg.fails(&["backup", "--out", "x.db"]).contains("pg_basebackup"));
}

#[test]
fn operator_commands_on_sqlite() {
    let idp = Idp::sqlite();
    operator_commands(&idp);
    // the key-encryption key was generated once, private to its owner
    let kek = idp.dir.path().join("kek");
    assert!(kek.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn operator_commands_on_postgres() {
    let admin = match std::env::var("IDP_TEST_POSTGRES") {
        Ok(v) if v == "off" => return eprintln!("IDP_TEST_POSTGRES=off: skipping"),
        Ok(v) if !v.is_empty() => v,
        _ => "postgres://postgres@127.0.0.1:5432/postgres".to_string(),
    };
    let name = format!("idp_cli_test_{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = |sql: String| {
        rt.block_on(async {
            let mut conn =
                <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is needed ({e}); IDP_TEST_POSTGRES=off skips")
                });
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
        })
    };
    run(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    run(format!("CREATE DATABASE \"{name}\""));
    let dir = tempfile::tempdir().unwrap();
    let idp = Idp { db: admin.rsplit_once('/').map(|(b, _)| format!("{b}/{name}")).unwrap(), dir };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| operator_commands(&idp)));
    run(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// `idp serve` on an empty database: creates it, prints the bootstrap password once, serves
/// discovery; a second start prints nothing secret.
#[test]
fn serve_bootstraps_once() {
    let idp = Idp::sqlite();
    for round in 0..2 {
        let mut child = idp
            .cmd(&["serve", "--listen", "127.0.0.1:0"])
            .env("IDP_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        for line in stderr.lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("addr=").nth(1) {
                addr = Some(
                    rest.split_whitespace()
                        .next()
                        .unwrap()
                        .trim_matches(|c: char| !c.is_ascii_graphic())
                        .to_string(),
                );
                break;
            }
        }
        let addr = addr.expect("listening line");
        let addr: String = addr.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
        let body = http_get(&addr, "/t/main/.well-known/openid-configuration");
        assert!(body.contains("\"issuer\""), "{body}");
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if round == 0 {
            assert!(stdout.contains("password:"), "first start prints the bootstrap password: {stdout}");
        } else {
            assert!(!stdout.contains("password:"), "second start prints no password: {stdout}");
        }
    }
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
