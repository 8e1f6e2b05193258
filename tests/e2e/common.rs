//! Test servers, databases and clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use idp_core::TestEnv;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::password::Argon2Params;
use idp_server::ops::{NewAccount, NewClient, Ops};
use idp_server::{Application, Config};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "Tiger-Lily-42";
pub const REDIRECT: &str = "http://127.0.0.1:1/cb";
pub const POST_LOGOUT: &str = "http://127.0.0.1:1/bye";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL admin URL, or `None` when explicitly switched off.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("IDP_TEST_POSTGRES") {
        Ok(v) if v == "off" => {
            eprintln!("IDP_TEST_POSTGRES=off: skipping a PostgreSQL test");
            None
        }
        Ok(v) if !v.is_empty() => Some(v),
        _ => Some(DEFAULT_PG.to_string()),
    }
}

/// A database for one test, dropped when the value is dropped.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// `None` only when PostgreSQL tests are explicitly switched off.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("idp.db").display());
                Some(TestDb { url, dir, pg: None })
            }
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                let name = format!(
                    "idp_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    idp_core::crypto::random_token(&idp_core::SystemEnv, 4)
                        .to_lowercase()
                        .replace(['-', '_'], "x")
                );
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at {admin} ({e}). Start one, point IDP_TEST_POSTGRES at \
                         another, or set IDP_TEST_POSTGRES=off to skip these tests explicitly."
                    )
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("admin URL");
                url.set_path(&format!("/{name}"));
                Some(TestDb { url: url.to_string(), dir, pg: Some((admin, name)) })
            }
        }
    }
}

impl TestDb {
    /// (admin URL, database name) of a PostgreSQL test database.
    pub fn postgres(&self) -> Option<&(String, String)> {
        self.pg.as_ref()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime guarantee: use a small one of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Cheap Argon2 parameters for tests (production defaults are used by benchmarks).
pub const TEST_ARGON2: Argon2Params = Argon2Params { memory_kib: 1024, iterations: 1, parallelism: 1 };

pub fn test_config(db: &TestDb) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        data_dir: db.dir.path().to_path_buf(),
        key_encryption_key: Some(idp_core::crypto::Kek::generate(&idp_core::SystemEnv).encode()),
        argon2: TEST_ARGON2,
        log: "warn".into(),
        // the tests' back-channel receivers and gateways listen on loopback
        outbound: idp_server::outbound::OutboundConfig {
            allow_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            ..Default::default()
        },
        ..Config::default()
    }
}

pub struct TestServer {
    pub base: String,
    pub issuer: String,
    pub ops: Ops,
    pub env: TestEnv,
    /// `http://…/metrics` when the configuration has a metrics listener.
    pub metrics: Option<String>,
    /// The bootstrap administrator's (username, password), as `idp serve` prints them once.
    pub bootstrap_admin: Option<(String, String)>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Dropped last: the database outlives the server.
    _db: TestDb,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
        let db = TestDb::new(backend).await?;
        let mut config = test_config(&db);
        tweak(&mut config);
        let env = TestEnv::default();
        let app = Application::build_with_env(config, Arc::new(env.clone())).await.expect("server starts");
        let base = app.public_url();
        let metrics = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
        let bootstrap_admin = app.bootstrap_admin.clone();
        let ops = app.state.ops.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let issuer = format!("{base}/t/main");
        Some(TestServer { base, issuer, ops, env, metrics, bootstrap_admin, shutdown: Some(tx), _db: db })
    }

    /// Another node on the same database and key-encryption key (its own port, caches and rate
    /// limiters), sharing the test clock; it stops when the returned value is dropped.
    pub async fn another_node(&self) -> Node {
        let mut config = self.ops.config.clone();
        config.listen = "127.0.0.1:0".into();
        config.public_url = None;
        config.bootstrap = false;
        let app = Application::build_with_env(config, Arc::new(self.env.clone()))
            .await
            .expect("second node starts");
        let base = app.public_url();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Node { issuer: format!("{base}/t/main"), _shutdown: tx }
    }

    /// The id of the tenant `main`.
    pub async fn tenant_id(&self) -> String {
        self.ops.store.tenant_by_slug("main").await.unwrap().unwrap().id
    }

    pub fn db(&self) -> &TestDb {
        &self._db
    }

    pub async fn add_client(&self, kind: ClientType, settings: ClientSettings) -> (String, Option<String>) {
        self.add_client_in("main", kind, settings).await
    }

    pub async fn add_client_in(
        &self,
        slug: &str,
        kind: ClientType,
        settings: ClientSettings,
    ) -> (String, Option<String>) {
        let (c, secret) = self
            .ops
            .add_client(
                slug,
                NewClient {
                    name: "Department App".into(),
                    client_type: kind,
                    redirect_uris: if kind == ClientType::Service { vec![] } else { vec![REDIRECT.into()] },
                    post_logout_redirect_uris: if kind == ClientType::Service {
                        vec![]
                    } else {
                        vec![POST_LOGOUT.into()]
                    },
                    scope: None,
                    settings: Some(settings),
                },
            )
            .await
            .expect("client added");
        (c.client_id, secret)
    }

    pub async fn add_account(&self, username: &str) -> String {
        self.add_account_in("main", username).await
    }

    pub async fn add_account_in(&self, slug: &str, username: &str) -> String {
        self.ops
            .add_account(
                slug,
                NewAccount {
                    username: username.into(),
                    password: Some(PASSWORD.into()),
                    name: Some(format!("{username} 张")),
                    phone: None,
                    email: Some(format!("{username}@example.test")),
                    roles: vec![],
                },
            )
            .await
            .expect("account added")
            .id
    }
}

pub struct Node {
    pub issuer: String,
    _shutdown: oneshot::Sender<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An authorization request of a web client for `openid`, state `st`, plus `extra`.
pub fn auth_url(issuer: &str, client_id: &str, extra: &str) -> String {
    let redirect = serde_urlencoded::to_string([("redirect_uri", REDIRECT)]).unwrap();
    format!(
        "{issuer}/authorize?client_id={client_id}&{redirect}&response_type=code&scope=openid&state=st{extra}"
    )
}

/// Runs `body` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$body($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$body($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// Runs SQL on the test database directly, as someone with database access would.
pub async fn sql(s: &TestServer, statement: &str) -> Result<(), String> {
    let url = &s.db().url;
    let q = sqlx::AssertSqlSafe(statement.to_string());
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?;
        let r = sqlx::raw_sql(q).execute(&pool).await.map(drop).map_err(|e| e.to_string());
        pool.close().await;
        r
    } else {
        let pool = sqlx::PgPool::connect(url).await.map_err(|e| e.to_string())?;
        let r = sqlx::raw_sql(q).execute(&pool).await.map(drop).map_err(|e| e.to_string());
        pool.close().await;
        r
    }
}
