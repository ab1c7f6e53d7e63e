//! Spawning the real server on a random port against a fresh database, and
//! talking to it over HTTP the way a front end does.

use std::{
    io::Write,
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use casework::{config::Settings, startup::Application};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

pub const DEMO_PASSWORD: &str = "casework-demo";
/// The bearer token `/metrics` wants on the test servers.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";
pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256!";
/// The Ed25519 seed that signs the test servers' audit checkpoints.
pub const AUDIT_SEED: &str = "0101010101010101010101010101010101010101010101010101010101010101";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests: `CASEWORK_TEST_DATABASE_URL` (a URL whose
/// user may create databases), by default the local server.
fn postgres_admin_url() -> String {
    std::env::var("CASEWORK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn require_postgres() -> bool {
    std::env::var("CASEWORK_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

static SKIP_NOTICE: AtomicBool = AtomicBool::new(false);

/// Says once, on the terminal (not captured by the test harness), that the
/// PostgreSQL half of the suite was skipped.
fn announce_skip(reason: &str) {
    if !SKIP_NOTICE.swap(true, Ordering::SeqCst) {
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: PostgreSQL unreachable ({reason}); skipping the PostgreSQL tests. \
             Set CASEWORK_TEST_DATABASE_URL, or run .ci/run to test both databases.\n"
        );
    }
}

/// Whether the PostgreSQL server answers, decided once per test process.
fn postgres_available() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE
        .get_or_init(|| {
            let url = postgres_admin_url();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let mut options = sea_orm::ConnectOptions::new(url);
                    options.connect_timeout(Duration::from_secs(3)).max_connections(1).sqlx_logging(false);
                    let db = Database::connect(options).await.map_err(|e| e.to_string())?;
                    db.execute_unprepared("SELECT 1").await.map_err(|e| e.to_string())?;
                    db.close().await.map_err(|e| e.to_string())
                })
            })
            .join()
            .unwrap_or_else(|_| Err("probe panicked".into()))
        })
        .clone()
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    /// A direct connection, for fixtures and for checking what was stored.
    pub db: DatabaseConnection,
    /// Where the server appends its audit checkpoints (removed on drop).
    pub anchor: tempfile_dir::TempDir,
    /// Where this server keeps evidence files (a fresh temporary directory).
    pub evidence_dir: std::path::PathBuf,
    /// `http://127.0.0.1:<port>` of `CASEWORK_METRICS_LISTEN`, when configured.
    pub metrics_address: Option<String>,
    /// Half the complexity budget: what any operation of the tests may cost,
    /// except one holding a whole-table field (`verifyAuditTrail`, a search).
    pub half_budget: usize,
    /// The server's services, to run a background job's pass on demand.
    pub services: casework::service::Services,
    _evidence: tempfile_dir::TempDir,
    cleanup: Option<Cleanup>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

enum Cleanup {
    /// Removed when dropped.
    Sqlite(#[allow(dead_code)] tempfile_dir::TempDir),
    Postgres { admin_url: String, name: String },
}

/// Spawns a server on a fresh database with the demo data. `None` when the
/// backend is PostgreSQL and no server is reachable (the test is skipped).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let (database_url, cleanup) = match backend {
        Backend::Sqlite => {
            let dir = tempfile_dir::TempDir::new();
            (format!("sqlite://{}/casework.db?mode=rwc", dir.path()), Cleanup::Sqlite(dir))
        }
        Backend::Postgres => {
            if let Err(reason) = postgres_available() {
                if require_postgres() {
                    panic!("PostgreSQL is required (CASEWORK_TEST_REQUIRE_POSTGRES=1) but unreachable: {reason}");
                }
                announce_skip(&reason);
                return None;
            }
            let admin_url = postgres_admin_url();
            let name = format!("casework_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.expect("connecting to PostgreSQL");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("creating a test database");
            admin.close().await.ok();
            let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin_url);
            (format!("{base}/{name}"), Cleanup::Postgres { admin_url, name })
        }
    };

    Some(start(backend, database_url, Some(cleanup), configure).await)
}

/// A second server on the database of `app`, as when several instances run
/// behind a load balancer.
pub async fn spawn_another(app: &TestApp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    start(app.backend, app.database_url.clone(), None, configure).await
}

async fn start(
    backend: Backend,
    database_url: String,
    cleanup: Option<Cleanup>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_database(&database_url);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.demo = true;
    settings.demo_password = casework::config::Secret::new(DEMO_PASSWORD);
    settings.jwt_secret = casework::config::Secret::new(JWT_SECRET);
    settings.db_max_connections = 8;
    // Long enough that only an eviction, never the expiry, ends a cached
    // caller during a test (statement counts depend on it).
    settings.auth_cache_ttl = Duration::from_secs(60);
    settings.edge.metrics_token = Some(casework::config::Secret::new(METRICS_TOKEN));
    let anchor = tempfile_dir::TempDir::new();
    settings.audit_signing_key = casework::audit::checkpoint::SigningSeed::parse(AUDIT_SEED).unwrap();
    settings.audit_public_key = settings.audit_signing_key.public_key_hex();
    settings.audit_anchor_dir = Some(anchor.path().into());
    // Tests write checkpoints when they want them; one test runs the job.
    settings.audit_checkpoint_interval = None;
    // Likewise blob collection (`TestApp::collect_blobs`).
    settings.edge.evidence_gc_interval = None;
    // Each operation's cost, checked against half the budget by `TestApp::gql`.
    settings.edge.report_query_cost = true;
    let evidence = tempfile_dir::TempDir::new();
    settings.evidence_dir = evidence.path().into();
    // Only the S3 tests use a bucket, whatever the environment says.
    settings.evidence_url = None;
    configure(&mut settings);
    let evidence_dir = settings.evidence_dir.clone();
    let half_budget = settings.max_query_complexity / 2;

    let app = Application::build(settings).await.expect("building the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let services = app.services().clone();
    let metrics_address = app.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("server failed");
    });
    let db = Database::connect(&database_url).await.expect("connecting to the test database");
    TestApp {
        backend,
        address,
        client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        database_url,
        db,
        anchor,
        evidence_dir,
        metrics_address,
        half_budget,
        services,
        _evidence: evidence,
        cleanup,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops the server and drops the test database.
    pub async fn finish(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
        if let Some(Cleanup::Postgres { admin_url, name }) = self.cleanup.take()
            && let Ok(admin) = Database::connect(&admin_url).await {
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin.close().await.ok();
            }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs an operation and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": &variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        assert!(response.status().is_success(), "POST /graphql answered {}", response.status());
        let mut body: Value = response.json().await.expect("a JSON response");
        self.check_cost(query, &variables, &mut body);
        body
    }

    /// Every operation stays within half the budget (issue 11), unless it
    /// holds a field meant to fill more than half of it; the cost report
    /// (`extensions.analyzer`) is removed so tests see the usual response.
    pub fn check_cost(&self, query: &str, variables: &Value, body: &mut Value) {
        let Some(extensions) = body.get_mut("extensions").and_then(Value::as_object_mut) else { return };
        let Some(analyzer) = extensions.remove("analyzer") else { return };
        if extensions.is_empty() {
            body.as_object_mut().unwrap().remove("extensions");
        }
        let cost = analyzer["complexity"].as_u64().expect("extensions.analyzer.complexity") as usize;
        let exclusive = query.contains("verifyAuditTrail") || query.contains("search") || variables.to_string().contains("\"search\"");
        assert!(exclusive || cost <= self.half_budget, "an operation costs {cost}, over half the budget ({}): {query}", self.half_budget);
    }

    /// Like [`TestApp::gql`], but the operation must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.gql(Some(token), query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// The operation must fail; returns the `extensions.code` of its first error.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let response = self.gql(token, query, variables).await;
        first_error_code(&response)
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.gql(
            None,
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken expiresAt user { id email role } } }",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in a demo account and returns its access token.
    pub async fn login_as(&self, email: &str) -> String {
        let response = self.login(email, DEMO_PASSWORD).await;
        response["data"]["login"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("login as {email} failed: {response:#}"))
            .to_owned()
    }

    /// The `/metrics` page (with the metrics token).
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 200, "/metrics");
        response.text().await.unwrap()
    }

    /// On PostgreSQL, waits until this server reuses `token`'s caller (a
    /// `{ __typename }` with it costs no statement: `service::auth_cache`);
    /// on SQLite, where every request reads its caller, returns at once.
    pub async fn until_caller_cached(&self, token: &str) {
        if self.backend == Backend::Sqlite {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let before = self.statements().await;
            self.ok(token, "{ __typename }", json!({})).await;
            if self.statements().await == before {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the server never reused the caller");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The statements a request spends on its caller once
    /// [`TestApp::until_caller_cached`] returned: none on PostgreSQL, the
    /// lookup on SQLite.
    pub fn sign_in_statements(&self) -> u64 {
        match self.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 0,
        }
    }

    /// SQL statements the server has executed so far.
    pub async fn statements(&self) -> u64 {
        let body = self.metrics().await;
        body.lines()
            .find_map(|l| l.strip_prefix("casework_db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("casework_db_statements_total in /metrics")
    }

    /// One pass of the evidence blob garbage collector with this grace period.
    pub async fn collect_blobs(&self, grace: Duration) -> casework::jobs::blobs::Collected {
        casework::jobs::blobs::collect(&self.services, grace).await.expect("collecting blobs")
    }

    /// Runs SQL directly against the test database (fixtures only).
    pub async fn sql(&self, statement: &str) {
        self.db.execute_unprepared(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

pub fn first_error_code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with extensions.code: {response:#}"))
        .to_owned()
}

/// A minimal temporary directory (removed on drop), to avoid another dependency.
pub mod tempfile_dir {
    use std::path::PathBuf;

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> TempDir {
            let path = std::env::temp_dir().join(format!("casework-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("creating a temporary directory");
            TempDir(path)
        }

        pub fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Declares each `async fn name(app: &TestApp)` of a module as two tests,
/// `sqlite::name` and `postgres::name`, each on a fresh database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await else { return };
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
    };
}

/// A `graphql-transport-ws` client, as graphql-ws and Apollo speak it.
pub struct WsClient {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    /// Connects to `/graphql/ws` and authenticates in `connection_init`.
    pub async fn connect(app: &TestApp, token: &str) -> WsClient {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
        let url = app.address.replace("http://", "ws://") + "/graphql/ws";
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (mut socket, response) = tokio_tungstenite::connect_async(request).await.expect("websocket handshake");
        assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        socket.send(Message::text(init.to_string())).await.unwrap();
        let ack = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("connection_ack in time");
        let ack: Value = serde_json::from_str(ack.unwrap().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        WsClient { socket }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        use futures_util::SinkExt;
        let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.socket.send(tokio_tungstenite::tungstenite::Message::text(message.to_string())).await.unwrap();
    }

    /// The next `next` (or `error`) message within `wait`, answering pings.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        use futures_util::{SinkExt, StreamExt};
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()??.ok()?;
            let Ok(text) = message.to_text() else { continue };
            let Ok(value) = serde_json::from_str::<Value>(text) else { continue };
            match value["type"].as_str() {
                Some("ping") => {
                    let pong = json!({ "type": "pong" }).to_string();
                    self.socket.send(tokio_tungstenite::tungstenite::Message::text(pong)).await.ok()?;
                }
                Some("next") | Some("error") => return Some(value),
                _ => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    /// The raw socket, to watch for the server closing it.
    pub fn into_socket(self) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
        self.socket
    }
}
