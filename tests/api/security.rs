//! Issue 11: what a hostile client tries at the edge — cross-site simple
//! requests, forged request ids and forwarded addresses, queries that fan
//! out or scan, overloaded documents, floods of creations and of `Range`
//! requests, disguised file names — and what the server answers.

use std::time::{Duration, SystemTime};

use reqwest::multipart::Part;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    evidence::{png, send_upload, upload, upload_form, upload_ok},
    fixtures::ComplaintBuilder,
    helpers::{Backend, METRICS_TOKEN, TestApp, spawn_another, spawn_app_with},
};

crate::on_both_databases!(
    non_json_posts_answer_415,
    multipart_needs_a_preflight_header_and_an_upload_operation,
    a_huge_client_request_id_never_reaches_the_audit_table,
    every_response_carries_no_store_nosniff_and_a_csp,
    metrics_need_the_token,
    the_deep_links_query_is_refused_before_any_resolver_runs,
    whole_table_fields_fit_once_per_document,
    short_searches_are_refused,
    overloaded_documents_are_refused,
    disguised_script_names_are_refused,
    archives_are_refused_by_default,
    a_thousand_ranges_read_the_file_once,
    downloads_are_audited_once_per_window,
);

async fn post_with(app: &TestApp, content_type: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app.client.post(app.url("/graphql")).body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

async fn non_json_posts_answer_415(app: &TestApp) {
    let body = r#"{"query":"mutation { logout(refreshToken: \"x\") }"}"#;
    // The three "simple request" types a page on another site can POST without a preflight.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let response = post_with(app, content_type, body).await;
        assert_eq!(response.status(), 415, "{content_type:?}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION");
    }
    let response = post_with(app, Some("application/json; charset=utf-8"), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(response.status(), 200);
}

async fn multipart_needs_a_preflight_header_and_an_upload_operation(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    // Without apollo-require-preflight / x-apollo-operation-name: 400, nothing stored.
    let form = upload_form(id, "SCREENSHOT", "s.png", "image/png", Part::bytes(png(2048)));
    let response =
        app.client.post(app.url("/graphql")).bearer_auth(&agent).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert!(json["errors"][0]["message"].as_str().unwrap().contains("apollo-require-preflight"), "{json}");
    // Apollo Client's own header is enough.
    let form = upload_form(id, "SCREENSHOT", "s.png", "image/png", Part::bytes(png(2048)));
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&agent)
        .header("x-apollo-operation-name", "Upload")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let json: Value = response.json().await.unwrap();
    assert!(json["data"]["uploadEvidence"]["id"].is_string(), "{json}");
    // Any other operation over multipart is refused before a file is staged.
    let operations = json!({ "query": "mutation($f: Upload) { logout(refreshToken: \"x\") }", "variables": { "f": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "1": ["variables.f"] }).to_string())
        .part("1", Part::bytes(png(2048)).file_name("s.png"));
    let response = send_upload(app, Some(&agent), form).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert!(json["errors"][0]["message"].as_str().unwrap().contains("uploadEvidence"), "{json}");
    let staging = app.evidence_dir.join("staging");
    let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing staged");
}

async fn a_huge_client_request_id_never_reaches_the_audit_table(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let huge = "A".repeat(10 * 1024);
    let mutation = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";
    for client_id in [huge.as_str(), "trace-123", "<script>alert(1)</script>"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&agent)
            .header("x-request-id", client_id)
            .json(&json!({ "query": mutation, "variables": { "input": ComplaintBuilder::new().input() } }))
            .send()
            .await
            .unwrap();
        let ours = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(ours.len(), 36, "the server's own id, a UUID: {ours}");
        assert_ne!(ours, client_id);
        let json: Value = response.json().await.unwrap();
        let id = json["data"]["createComplaint"]["id"].as_str().expect("created").to_owned();
        let uuid = casework::ids::parse(&id).unwrap().1;
        let event = entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::ComplaintId.eq(uuid))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.request_id.as_deref(), Some(ours.as_str()), "the audit row holds our id, not the client's");
    }
}

async fn every_response_carries_no_store_nosniff_and_a_csp(app: &TestApp) {
    let responses = [
        app.client.post(app.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap(),
        app.client.get(app.url("/healthz")).send().await.unwrap(),
        app.client.get(app.url("/nope")).send().await.unwrap(),
        post_with(app, Some("text/plain"), "x").await,
    ];
    for response in responses {
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{}", response.url());
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    }
    // A handler's own policy is kept: GraphiQL needs its scripts.
    let page = app.client.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src"), "{csp}");
}

async fn metrics_need_the_token(app: &TestApp) {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app.client.get(app.url("/metrics")).bearer_auth("wrong-token-of-some-length").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn the_deep_links_query_is_refused_before_any_resolver_runs(app: &TestApp) {
    let supervisor = app.login_as("supervisor@example.com").await;
    let deep = "{ complaints(first:100){ edges{ node{ links{ complaint{ links{ complaint{ links{ complaint{ title description }}}}}}}}}}";
    // What a request costs with no resolver at all: the sign-in check.
    app.until_caller_cached(&supervisor).await;
    let before = app.statements().await;
    app.ok(&supervisor, "{ __typename }", json!({})).await;
    let baseline = app.statements().await - before;
    let before = app.statements().await;
    let response = app.gql(Some(&supervisor), deep, json!({})).await;
    let spent = app.statements().await - before;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{response}");
    assert!(response["data"].is_null());
    assert_eq!(spent, baseline, "no resolver ran");
    // A nested list is capped at 100 rows.
    let code = app.error_code(Some(&supervisor), "{ complaints(first: 1) { edges { node { notes(first: 101) { id } } } } }", json!({})).await;
    assert!(code == "VALIDATION" || code == "QUERY_TOO_COMPLEX", "{code}");
}

async fn whole_table_fields_fit_once_per_document(app: &TestApp) {
    let auditor = app.login_as("auditor@example.com").await;
    let once = app.gql(Some(&auditor), "{ verifyAuditTrail { ok } }", json!({})).await;
    assert!(once.get("errors").is_none(), "{once}");
    let twice = "{ a: verifyAuditTrail { ok } b: verifyAuditTrail { ok } }";
    assert_eq!(app.error_code(Some(&auditor), twice, json!({})).await, "QUERY_TOO_COMPLEX");
    let searches = "{ a: complaints(filter: {search: \"parcel\"}) { totalCount } b: complaints(filter: {search: \"late\"}) { totalCount } }";
    assert_eq!(app.error_code(Some(&auditor), searches, json!({})).await, "QUERY_TOO_COMPLEX");
}

async fn short_searches_are_refused(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let query = "query($s: String!) { complaints(filter: {search: $s}) { totalCount } }";
    for short in ["a", "%%", " x "] {
        assert_eq!(app.error_code(Some(&agent), query, json!({ "s": short })).await, "VALIDATION", "{short:?}");
    }
    ComplaintBuilder::new().with("title", json!("Broken fridge door")).create(app, &agent).await;
    let found = app.ok(&agent, query, json!({ "s": "FRIDGE" })).await;
    assert_eq!(found["complaints"]["totalCount"], 1);
}

async fn overloaded_documents_are_refused(app: &TestApp) {
    // graphql-cop's probes: each field costs one point, so the budget alone lets them through.
    let aliases: String = (0..=100).map(|i| format!("alias{i}: __typename ")).collect();
    let directives = format!("query cop {{ __typename {} }}", "@aa ".repeat(10));
    let duplicates = format!("query cop {{ {} }}", "__typename ".repeat(500));
    for document in [format!("query cop {{ {aliases} }}"), directives, duplicates] {
        let response = app.gql(None, &document, json!({})).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{response}");
        assert!(response.get("data").is_none_or(Value::is_null));
    }
}

async fn disguised_script_names_are_refused(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    for name in ["payroll.bat.", "payroll.bat . .", "payroll.bat\u{200B}", "invoice\u{202E}fdp.ps1", "notes.vbs"] {
        let response = upload(app, &agent, id, "OTHER", name, "text/plain", b"echo hello\r\n".to_vec()).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION", "{name:?}: {response}");
    }
}

async fn archives_are_refused_by_default(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    let mut zip = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
    zip.resize(512, 0);
    for (name, bytes) in [("logs.zip", zip.clone()), ("logs.txt", zip), ("budget.xlsm", b"plain".to_vec())] {
        let response = upload(app, &agent, id, "OTHER", name, "application/octet-stream", bytes).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION", "{name}: {response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains("archives"), "{response}");
    }
}

fn hash_checks(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("casework_evidence_hash_checks_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("casework_evidence_hash_checks_total")
}

async fn a_thousand_ranges_read_the_file_once(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let bytes = png(4 * 1024 * 1024);
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), bytes.clone()).await;
    let url = app.url(evidence["downloadUrl"].as_str().unwrap());
    let before = hash_checks(&app.metrics().await);
    for _ in 0..1000 {
        let response = app.client.get(&url).bearer_auth(&agent).header("range", "bytes=0-0").send().await.unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[..1]);
    }
    assert_eq!(hash_checks(&app.metrics().await) - before, 1, "the whole blob was hashed once");

    // A new instance (a restart) checks the blob again on its first download,
    // and catches what changed while the first instance trusted its check.
    let blob = std::fs::read_dir(app.evidence_dir.join("sha256"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .next()
        .expect("the blob");
    let mut altered = bytes.clone();
    altered[1_000_000] ^= 0xff;
    std::fs::write(&blob, &altered).unwrap();
    let dir = app.evidence_dir.clone();
    let restarted = spawn_another(app, |settings| settings.evidence_dir = dir).await;
    let agent = restarted.login_as("agent@example.com").await;
    let response = restarted.client.get(restarted.url(evidence["downloadUrl"].as_str().unwrap())).bearer_auth(&agent).header("range", "bytes=0-0").send().await.unwrap();
    assert_eq!(response.status(), 409);
    restarted.finish().await;
}

async fn downloads_are_audited_once_per_window(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    let evidence = upload_ok(app, &agent, id, png(4096)).await;
    let version = app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": id })).await;
    let flags = "mutation($id: ID!, $v: Int!) { setFlags(id: $id, expectedVersion: $v, input: {sensitive: true}) { sensitive } }";
    app.ok(&supervisor, flags, json!({ "id": id, "v": version["complaint"]["version"] })).await;
    let url = app.url(evidence["downloadUrl"].as_str().unwrap());
    for range in ["bytes=0-0", "bytes=1-1", "bytes=0-", "bytes=2-9"] {
        let response = app.client.get(&url).bearer_auth(&supervisor).header("range", range).send().await.unwrap();
        assert_eq!(response.status(), 206);
    }
    let uuid = casework::ids::parse(id).unwrap().1;
    let downloads = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::ComplaintId.eq(uuid))
        .filter(entity::audit_event::Column::Action.eq("evidence.downloaded"))
        .order_by_asc(entity::audit_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(downloads.len(), 1, "one event per user, item and 10 minutes");
}

// ---------------------------------------------------------------- configured servers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    for (trusted, expected) in [("", "127.0.0.1"), ("127.0.0.1/32", "203.0.113.9")] {
        let app = spawn_app_with(Backend::Sqlite, |settings| {
            settings.edge.trusted_proxies = casework::http::client_addr::TrustedProxies::parse(trusted).unwrap();
        })
        .await
        .unwrap();
        let agent = app.login_as("agent@example.com").await;
        let response: Value = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&agent)
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .json(&json!({
                "query": "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }",
                "variables": { "input": ComplaintBuilder::new().input() },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let uuid = casework::ids::parse(response["data"]["createComplaint"]["id"].as_str().unwrap()).unwrap().1;
        let event = entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::ComplaintId.eq(uuid))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.client_addr.as_deref(), Some(expected), "trusted proxies {trusted:?}");
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_per_minute_are_limited_per_user() {
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.edge.creations_per_minute = 3).await.unwrap();
    let agent = app.login_as("agent@example.com").await;
    let mutation = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";
    for _ in 0..3 {
        app.ok(&agent, mutation, json!({ "input": ComplaintBuilder::new().input() })).await;
    }
    let code = app.error_code(Some(&agent), mutation, json!({ "input": ComplaintBuilder::new().input() })).await;
    assert_eq!(code, "RATE_LIMITED");
    // Another user is not affected.
    let other = app.login_as("agent2@example.com").await;
    app.ok(&other, mutation, json!({ "input": ComplaintBuilder::new().input() })).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_gives_no_suggestions_and_no_simple_get_queries() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.env = casework::config::Environment::Production;
        settings.demo = false;
    })
    .await
    .unwrap();
    let response = app.gql(None, "{ complaintz { id } }", json!({})).await;
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let response = app.client.get(app.url("/graphql")).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(response.status(), 400, "a GET query without a preflight header (graphql-cop's CSRF check)");
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.finish().await;
}

#[test]
fn a_public_address_needs_an_explicit_environment() {
    use casework::config::{Cli, Command, Settings};
    use clap::Parser;
    let parse = |args: &[&str]| {
        let cli = Cli::parse_from(args);
        let Command::Serve(serve) = &cli.command else { unreachable!() };
        Settings::from_args(&cli.database, serve).map(|_| ())
    };
    let refused = parse(&["casework", "serve", "--listen", "0.0.0.0:8080"]).unwrap_err();
    assert!(refused.to_string().contains("CASEWORK_ENV"), "{refused}");
    assert!(parse(&["casework", "serve", "--listen", "0.0.0.0:8080", "--env", "development"]).is_ok());
    assert!(parse(&["casework", "serve", "--listen", "127.0.0.1:8080"]).is_ok());
    // Secrets are not flags.
    assert!(Cli::try_parse_from(["casework", "serve", "--jwt-secret", "x".repeat(40).as_str()]).is_err());
    assert!(Cli::try_parse_from(["casework", "user", "add", "--email", "a@b.c", "--name", "A", "--role", "AGENT", "--password", "p"]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_time_out_runaway_statements() {
    let Some(app) = crate::helpers::spawn_app(Backend::Postgres).await else { return };
    let session = casework::db::PgSession {
        statement_timeout: Some(Duration::from_millis(200)),
        idle_in_transaction_timeout: Some(Duration::from_secs(30)),
    };
    let db = casework::db::connect_with(&app.database_url, 1, &Default::default(), session).await.unwrap();
    use sea_orm::ConnectionTrait;
    let slept = db.execute_unprepared("SELECT pg_sleep(2)").await;
    assert!(slept.unwrap_err().to_string().contains("statement timeout"), "the statement was cancelled");
    db.close().await.unwrap();
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_files_left_by_a_crash_are_removed_at_start() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.unwrap();
    let staging = app.evidence_dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let stale = staging.join("crashed-upload");
    let fresh = staging.join("in-flight-upload");
    std::fs::write(&stale, b"half a file").unwrap();
    std::fs::write(&fresh, b"being written").unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(hour_ago).unwrap();
    let dir = app.evidence_dir.clone();
    let restarted = spawn_another(&app, |settings| settings.evidence_dir = dir).await;
    assert!(!stale.exists(), "the crashed upload's staged file is gone");
    assert!(fresh.exists(), "a recent one may belong to another instance's upload");
    restarted.finish().await;
    app.finish().await;
}

/// A stand-in for clamd speaking its INSTREAM protocol: any file containing
/// `EICAR` is "infected".
async fn fake_clamd() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0u8; 10];
                socket.read_exact(&mut command).await.unwrap();
                assert_eq!(&command, b"zINSTREAM\0");
                let mut data = Vec::new();
                loop {
                    let length = socket.read_u32().await.unwrap() as usize;
                    if length == 0 {
                        break;
                    }
                    let mut chunk = vec![0; length];
                    socket.read_exact(&mut chunk).await.unwrap();
                    data.extend_from_slice(&chunk);
                }
                let infected = data.windows(5).any(|w| w == b"EICAR");
                let reply: &[u8] = if infected { b"stream: Eicar-Test-Signature FOUND\0" } else { b"stream: OK\0" };
                socket.write_all(reply).await.unwrap();
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_hook_refuses_what_clamd_flags_and_fails_closed() {
    let clamd = fake_clamd().await;
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.edge.clamd = Some(clamd)).await.unwrap();
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(&app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    upload_ok(&app, &agent, id, png(4096)).await;
    let eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".to_vec();
    let response = send_upload(&app, Some(&agent), upload_form(id, "DOCUMENT", "note.txt", "text/plain", Part::bytes(eicar))).await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert!(json["errors"][0]["message"].as_str().unwrap().contains("virus scanner"), "{json}");
    app.finish().await;

    // No scanner reachable: nothing is accepted unscanned.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.edge.clamd = Some(closed)).await.unwrap();
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(&app, &agent).await;
    let form = upload_form(complaint["id"].as_str().unwrap(), "SCREENSHOT", "s.png", "image/png", Part::bytes(png(4096)));
    assert_eq!(send_upload(&app, Some(&agent), form).await.status(), 503);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_runs_at_most_two_uploads_at_once() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.unwrap();
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(&app, &agent).await;
    let id = complaint["id"].as_str().unwrap().to_owned();
    // Two uploads whose bodies never finish arriving.
    let mut held = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        tx.send(Ok(bytes::Bytes::from_static(b"--XYZ\r\n"))).await.unwrap();
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        let request = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&agent)
            .header("apollo-require-preflight", "true")
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body(reqwest::Body::wrap_stream(stream));
        tasks.push(tokio::spawn(request.send()));
        held.push(tx);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let form = upload_form(&id, "SCREENSHOT", "s.png", "image/png", Part::bytes(png(2048)));
    let response = send_upload(&app, Some(&agent), form).await;
    assert_eq!(response.status(), 429, "a third upload at once");
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Another user is not held up.
    let other = app.login_as("supervisor@example.com").await;
    upload_ok(&app, &other, &id, png(2048)).await;
    // Once the stalled uploads end, the agent may upload again.
    drop(held);
    for task in tasks {
        let _ = task.await;
    }
    upload_ok(&app, &agent, &id, png(3000)).await;
    app.finish().await;
}

// ---------------------------------------------------------------- metrics address, upload quota

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_metrics_on_their_own_address_only() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |settings| {
            settings.edge.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        })
        .await
        else {
            continue;
        };
        let metrics = app.metrics_address.clone().expect("a metrics address");
        assert_ne!(metrics, app.address);
        // The separate address: metrics without a token, and nothing else.
        let response = app.client.get(format!("{metrics}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{backend:?}");
        assert!(response.text().await.unwrap().contains("casework_db_statements_total"));
        for path in ["/graphql", "/healthz", "/evidence/x/content"] {
            let response = app.client.get(format!("{metrics}{path}")).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path} on the metrics address");
        }
        let response = app.client.post(format!("{metrics}/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert!(response.status().is_client_error(), "no GraphQL on the metrics address: {}", response.status());
        // The API address: no metrics, even with the token.
        for token in [None, Some(METRICS_TOKEN)] {
            let mut request = app.client.get(app.url("/metrics"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            assert_eq!(request.send().await.unwrap().status(), 404, "/metrics on the API address ({token:?})");
        }
        let agent = app.login_as("agent@example.com").await;
        assert!(!agent.is_empty(), "the API still answers on its own address");
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_upload_quota_refuses_what_goes_over_it() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |settings| settings.edge.upload_quota_bytes_per_day = Some(10_000)).await else {
            continue;
        };
        let agent = app.login_as("agent@example.com").await;
        let complaint = ComplaintBuilder::new().create(&app, &agent).await;
        let id = complaint["id"].as_str().unwrap();
        let before = entity::evidence::Entity::find().all(&app.db).await.unwrap().len();
        upload_ok(&app, &agent, id, png(6_000)).await;
        // 6 000 + 6 000 > 10 000: refused with RATE_LIMITED, the staged file discarded.
        let response = send_upload(&app, Some(&agent), upload_form(id, "SCREENSHOT", "s.png", "image/png", Part::bytes(png(6_001)))).await;
        assert_eq!(response.status(), 429, "{backend:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("quota"), "{body}");
        // What is left of the quota can still be used; another user has their own.
        upload_ok(&app, &agent, id, png(4_000)).await;
        let response = send_upload(&app, Some(&agent), upload_form(id, "SCREENSHOT", "s.png", "image/png", Part::bytes(png(100)))).await;
        assert_eq!(response.status(), 429, "the quota is used up");
        let supervisor = app.login_as("supervisor@example.com").await;
        upload_ok(&app, &supervisor, id, png(9_000)).await;
        let rows = entity::evidence::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len() - before, 3, "only the uploads within the quota were recorded");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let staging = app.evidence_dir.join("staging");
        assert_eq!(std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0), 0, "refused uploads left nothing staged");
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_calls_per_minute_are_limited_per_user() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |settings| settings.edge.links_per_minute = 2).await else { continue };
        let supervisor = app.login_as("supervisor@example.com").await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(ComplaintBuilder::new().create(&app, &supervisor).await["id"].clone());
        }
        let link = "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id } }";
        app.ok(&supervisor, link, json!({ "ids": [ids[0], ids[1]] })).await;
        app.ok(&supervisor, link, json!({ "ids": [ids[0], ids[2]] })).await;
        let code = app.error_code(Some(&supervisor), link, json!({ "ids": [ids[1], ids[2]] })).await;
        assert_eq!(code, "RATE_LIMITED", "{backend:?}");
        let links = app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { links { complaint { id } } } }", json!({ "id": ids[1] })).await;
        assert_eq!(links["complaint"]["links"].as_array().unwrap().len(), 1, "the refused call linked nothing");
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_are_accepted_only_when_allowed() {
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.edge.evidence_allow_archives = true).await.unwrap();
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(&app, &agent).await;
    let mut zip = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
    zip.resize(512, 0);
    let response = upload(&app, &agent, complaint["id"].as_str().unwrap(), "OTHER", "logs.zip", "application/zip", zip).await;
    assert!(response.get("errors").is_none(), "CASEWORK_EVIDENCE_ALLOW_ARCHIVES=1 accepts a zip: {response}");
    // Executables and scripts stay refused whatever the setting.
    let response = upload(&app, &agent, complaint["id"].as_str().unwrap(), "OTHER", "payroll.bat.", "text/plain", b"echo hi\r\n".to_vec()).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION");
    app.finish().await;
}

#[test]
fn secrets_come_from_the_environment_or_a_file() {
    use casework::config::secret_from_env;
    let dir = crate::helpers::tempfile_dir::TempDir::new();
    let file = std::path::Path::new(&dir.path()).join("token");
    std::fs::write(&file, "from-a-file-0123456789\n").unwrap();
    // Names of this test only: no other test reads them.
    // SAFETY: no other thread reads or writes these variables.
    unsafe {
        std::env::set_var("CASEWORK_TEST_ONLY_SECRET_FILE", &file);
        std::env::set_var("CASEWORK_TEST_ONLY_DIRECT", "direct-value");
    }
    assert_eq!(secret_from_env("CASEWORK_TEST_ONLY_SECRET").unwrap().unwrap().expose(), "from-a-file-0123456789");
    assert_eq!(secret_from_env("CASEWORK_TEST_ONLY_DIRECT").unwrap().unwrap().expose(), "direct-value");
    assert!(secret_from_env("CASEWORK_TEST_ONLY_ABSENT").unwrap().is_none());
    unsafe { std::env::set_var("CASEWORK_TEST_ONLY_MISSING_FILE", "/nonexistent/secret") };
    assert!(secret_from_env("CASEWORK_TEST_ONLY_MISSING").is_err(), "an unreadable secret file is an error, not an empty secret");
    // The Debug form never shows a secret.
    assert_eq!(format!("{:?}", secret_from_env("CASEWORK_TEST_ONLY_DIRECT").unwrap().unwrap()), "Secret(…)");
}
