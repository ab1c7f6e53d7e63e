//! The evidence vault over HTTP: multipart uploads as Apollo Upload Client
//! sends them, authorized downloads with Range, content sniffing, the upload
//! limit, deletion rules, and the S3 store against a real S3-compatible server.

use std::path::Path;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{Backend, TestApp, first_error_code, spawn_app_with},
};

crate::on_both_databases!(
    an_upload_is_hashed_stored_and_downloaded_intact,
    others_and_anonymous_callers_get_404,
    a_pe_executable_named_photo_png_is_refused,
    content_must_match_the_declared_type_and_the_kind,
    a_supervisor_deletes_evidence_and_the_hash_stays_on_record,
    legal_hold_evidence_cannot_be_deleted_and_downloads_are_audited,
    evidence_counts_cost_the_same_statements_whatever_the_page_size,
    an_altered_blob_is_never_served,
);

const UPLOAD: &str = "mutation($complaintId: ID!, $kind: EvidenceKind!, $file: Upload!, $description: String) {
    uploadEvidence(complaintId: $complaintId, kind: $kind, file: $file, description: $description) {
        id kind filename contentType declaredContentType size sha256 description downloadUrl deleted
        uploadedBy { email } } }";

const DELETE: &str = "mutation($id: ID!, $reason: String!) {
    deleteEvidence(id: $id, reason: $reason) { id deleted deleteReason sha256 deletedBy { email } downloadUrl } }";

/// Deterministic bytes that look like a PNG to a sniffer.
pub(crate) fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    let mut x: u32 = 0x1234_5678;
    while bytes.len() < size {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((x >> 24) as u8);
    }
    bytes
}

/// A Windows PE executable's first bytes.
fn pe_executable() -> Vec<u8> {
    let mut bytes = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0\x40".to_vec();
    bytes.resize(4096, 0);
    bytes[0x3c] = 0x80;
    bytes[0x80..0x84].copy_from_slice(b"PE\0\0");
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A multipart request the way Apollo Upload Client builds it.
pub(crate) fn upload_form(complaint_id: &str, kind: &str, filename: &str, content_type: &str, part: Part) -> Form {
    let operations = json!({
        "query": UPLOAD,
        "variables": { "complaintId": complaint_id, "kind": kind, "file": null, "description": "from the customer" },
    });
    Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "1": ["variables.file"] }).to_string())
        .part("1", part.file_name(filename.to_owned()).mime_str(content_type).unwrap())
}

pub(crate) async fn send_upload(app: &TestApp, token: Option<&str>, form: Form) -> reqwest::Response {
    let mut request = app.client.post(app.url("/graphql")).header("apollo-require-preflight", "true").multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST /graphql (multipart)")
}

/// Uploads and returns the whole GraphQL response.
pub(crate) async fn upload(app: &TestApp, token: &str, complaint_id: &str, kind: &str, filename: &str, content_type: &str, bytes: Vec<u8>) -> Value {
    let response = send_upload(app, Some(token), upload_form(complaint_id, kind, filename, content_type, Part::bytes(bytes))).await;
    assert_eq!(response.status(), 200, "upload answered {}", response.status());
    response.json().await.unwrap()
}

pub(crate) async fn upload_ok(app: &TestApp, token: &str, complaint_id: &str, bytes: Vec<u8>) -> Value {
    let response = upload(app, token, complaint_id, "SCREENSHOT", "screen shot.png", "image/png", bytes).await;
    assert!(response.get("errors").is_none(), "upload failed: {response:#}");
    response["data"]["uploadEvidence"].clone()
}

async fn download(app: &TestApp, token: Option<&str>, evidence: &Value, range: Option<&str>) -> reqwest::Response {
    let url = app.url(evidence["downloadUrl"].as_str().expect("a download URL"));
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.expect("GET /evidence/…/content")
}

/// Where blobs are kept, to check that nothing is left behind.
enum Vault {
    Local(std::path::PathBuf),
    S3 { endpoint: String, bucket: String, prefix: String },
}

impl Vault {
    fn of(app: &TestApp) -> Vault {
        Vault::Local(app.evidence_dir.clone())
    }

    /// Every stored object (blobs and staged files).
    async fn keys(&self, client: &reqwest::Client) -> Vec<String> {
        match self {
            Vault::Local(root) => {
                fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
                    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            walk(&path, root, out);
                        } else {
                            out.push(path.strip_prefix(root).unwrap().display().to_string());
                        }
                    }
                }
                let mut out = Vec::new();
                walk(root, root, &mut out);
                out.sort();
                out
            }
            Vault::S3 { endpoint, bucket, prefix } => {
                let url = format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}/");
                let body = client.get(url).send().await.unwrap().text().await.unwrap();
                let mut out: Vec<String> = body
                    .split("<Key>")
                    .skip(1)
                    .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
                    .collect();
                out.sort();
                out
            }
        }
    }

    /// Staged files left behind are removed in the background: wait a little.
    async fn settled_keys(&self, client: &reqwest::Client, expected: usize) -> Vec<String> {
        let mut keys = self.keys(client).await;
        for _ in 0..50 {
            if keys.len() <= expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            keys = self.keys(client).await;
        }
        keys
    }
}

fn complaint_uuid(id: &Value) -> uuid::Uuid {
    casework::ids::decode(casework::ids::Kind::Complaint, "id", &async_graphql::ID(id.as_str().unwrap().into())).unwrap()
}

async fn complaint_events(app: &TestApp, chain: &str) -> Vec<entity::audit_event::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::ChainKey.eq(chain))
        .order_by_asc(entity::audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap()
}

async fn evidence_rows(app: &TestApp) -> usize {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::evidence::Entity::find().count(&app.db).await.unwrap() as usize
}

// ---------------------------------------------------------------- scenarios

async fn an_upload_is_hashed_stored_and_downloaded_intact(app: &TestApp) {
    upload_and_download_in(app, &Vault::of(app)).await;
}

async fn upload_and_download_in(app: &TestApp, vault: &Vault) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    let bytes = png(300 * 1024 + 17);
    let evidence = upload_ok(app, &agent, id, bytes.clone()).await;
    assert_eq!(evidence["sha256"], sha256_hex(&bytes));
    assert_eq!(evidence["size"], bytes.len());
    assert_eq!(evidence["contentType"], "image/png");
    assert_eq!(evidence["declaredContentType"], "image/png");
    assert_eq!(evidence["filename"], "screen shot.png");
    assert_eq!(evidence["kind"], "SCREENSHOT");
    assert_eq!(evidence["uploadedBy"]["email"], "agent@example.com");
    // Content-addressed: exactly one blob, under its hash.
    let keys = vault.settled_keys(&app.client, 1).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with(&sha256_hex(&bytes)), "{keys:?}");

    // The complaint's version moved with its audit chain.
    let data = app
        .ok(&agent, "query($id: ID!) { complaint(id: $id) { version evidenceCount evidence { totalCount edges { node { id sha256 } } } } }", json!({ "id": id }))
        .await;
    assert_eq!(data["complaint"]["version"], 2);
    assert_eq!(data["complaint"]["evidenceCount"], 1);
    assert_eq!(data["complaint"]["evidence"]["totalCount"], 1);
    assert_eq!(data["complaint"]["evidence"]["edges"][0]["node"]["id"], evidence["id"]);
    let events = complaint_events(app, &format!("complaint:{}", complaint_uuid(&complaint["id"]))).await;
    let last = events.last().unwrap();
    assert_eq!((last.action.as_str(), last.seq), ("evidence.uploaded", 2));
    let changes: Value = serde_json::from_str(&last.changes).unwrap();
    assert_eq!(changes["sha256"][1], sha256_hex(&bytes));
    assert_eq!(changes["size"][1], bytes.len());
    assert_eq!(changes["detectedContentType"][1], "image/png");

    // The owner downloads identical bytes, as an attachment that must not be sniffed.
    let response = download(app, Some(&agent), &evidence, None).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["accept-ranges"], "bytes");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains("screen shot.png"), "{disposition}");
    let body = response.bytes().await.unwrap();
    assert!(body.as_ref() == bytes.as_slice(), "downloaded bytes differ");

    // Ranges: a slice, a suffix, and one past the end.
    let response = download(app, Some(&agent), &evidence, Some("bytes=100-199")).await;
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["content-range"], format!("bytes 100-199/{}", bytes.len()).as_str());
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let response = download(app, Some(&agent), &evidence, Some("bytes=-10")).await;
    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[bytes.len() - 10..]);
    let response = download(app, Some(&agent), &evidence, Some(&format!("bytes={}-", bytes.len()))).await;
    assert_eq!(response.status(), 416);
    assert_eq!(response.headers()["content-range"], format!("bytes */{}", bytes.len()).as_str());

    // The same bytes again: a second record, still one blob.
    let again = upload_ok(app, &agent, id, bytes.clone()).await;
    assert_ne!(again["id"], evidence["id"]);
    assert_eq!(vault.settled_keys(&app.client, 1).await.len(), 1);
}

async fn others_and_anonymous_callers_get_404(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), png(2048)).await;
    let other_team = app.login_as("agent2@example.com").await;
    for token in [Some(other_team.as_str()), None, Some("not-a-token")] {
        let response = download(app, token, &evidence, None).await;
        assert_eq!(response.status(), 404, "{token:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    }
    let garbage = app.client.get(app.url("/evidence/nope/content")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(garbage.status(), 404);
    // Nor can they upload to it, or see it through node().
    let response = upload(app, &other_team, complaint["id"].as_str().unwrap(), "PHOTO", "p.png", "image/png", png(100)).await;
    assert_eq!(first_error_code(&response), "NOT_FOUND");
    let node = app.ok(&other_team, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": evidence["id"] })).await;
    assert!(node["node"].is_null());
    // Anonymous uploads are refused before the file is read.
    let form = upload_form(complaint["id"].as_str().unwrap(), "PHOTO", "p.png", "image/png", Part::bytes(png(100)));
    let response = send_upload(app, None, form).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(evidence_rows(app).await, 1);
}

async fn a_pe_executable_named_photo_png_is_refused(app: &TestApp) {
    refused_executable_in(app, &Vault::of(app)).await;
}

async fn refused_executable_in(app: &TestApp, vault: &Vault) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let response =
        upload(app, &agent, complaint["id"].as_str().unwrap(), "PHOTO", "photo.png", "image/png", pe_executable()).await;
    assert_eq!(first_error_code(&response), "VALIDATION", "{response:#}");
    assert_eq!(response["errors"][0]["extensions"]["field"], "file");
    assert_eq!(evidence_rows(app).await, 0);
    assert_eq!(vault.settled_keys(&app.client, 0).await, Vec::<String>::new(), "a refused upload left a blob");
    let data = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": complaint["id"] })).await;
    assert_eq!(data["complaint"]["version"], 1, "a refused upload changed the complaint");
}

async fn content_must_match_the_declared_type_and_the_kind(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    for (kind, name, declared, bytes) in [
        ("CALL_RECORDING", "call.png", "image/png", png(512)),
        ("PHOTO", "photo.pdf", "application/pdf", png(512)),
        ("DOCUMENT", "run.txt", "text/plain", b"#!/bin/sh\necho pwned\n".to_vec()),
        ("PHOTO", "photo.png", "image/png", Vec::new()),
    ] {
        let response = upload(app, &agent, id, kind, name, declared, bytes).await;
        assert_eq!(first_error_code(&response), "VALIDATION", "{kind} {name}: {response:#}");
    }
    let chat = upload(app, &agent, id, "CHAT_LOG", "chat.txt", "text/plain", "客服：您好\nCustomer: hello".as_bytes().to_vec()).await;
    assert_eq!(chat["data"]["uploadEvidence"]["contentType"], "text/plain", "{chat:#}");
    // A JSON request cannot forge an upload (async-graphql's marker is refused).
    let forged = json!({ "query": UPLOAD, "variables": { "complaintId": id, "kind": "PHOTO", "file": "#__graphql_file__:x" } });
    let response = app.client.post(app.url("/graphql")).bearer_auth(&agent).json(&forged).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    // Without a file at all, the mutation says how to send one.
    let response = app.gql(Some(&agent), UPLOAD, json!({ "complaintId": id, "kind": "PHOTO", "file": null })).await;
    assert_eq!(first_error_code(&response), "VALIDATION");
}

async fn a_supervisor_deletes_evidence_and_the_hash_stays_on_record(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let bytes = png(4096);
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), bytes.clone()).await;
    let vars = json!({ "id": evidence["id"], "reason": "uploaded to the wrong complaint" });
    assert_eq!(app.error_code(Some(&agent), DELETE, vars.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&supervisor), DELETE, json!({ "id": evidence["id"], "reason": " " })).await, "VALIDATION");
    let deleted = app.ok(&supervisor, DELETE, vars.clone()).await["deleteEvidence"].clone();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["deleteReason"], "uploaded to the wrong complaint");
    assert_eq!(deleted["deletedBy"]["email"], "supervisor@example.com");
    assert!(deleted["downloadUrl"].is_null());
    assert_eq!(app.error_code(Some(&supervisor), DELETE, vars).await, "VALIDATION", "deleted twice");
    // Gone from downloads and counts; listed when asked, with its hash.
    let response = download(app, Some(&agent), &evidence, None).await;
    assert_eq!(response.status(), 404);
    let data = app
        .ok(&supervisor, "query($id: ID!) { complaint(id: $id) { version evidenceCount evidence(includeDeleted: true) { totalCount edges { node { deleted sha256 } } } } }", json!({ "id": complaint["id"] }))
        .await;
    assert_eq!(data["complaint"]["evidenceCount"], 0);
    assert_eq!(data["complaint"]["evidence"]["edges"][0]["node"]["sha256"], sha256_hex(&bytes));
    assert_eq!(data["complaint"]["version"], 3);
    let events = complaint_events(app, &format!("complaint:{}", complaint_uuid(&complaint["id"]))).await;
    let last = events.last().unwrap();
    assert_eq!((last.action.as_str(), last.seq), ("evidence.deleted", 3));
    assert_eq!(last.reason.as_deref(), Some("uploaded to the wrong complaint"));
    let changes: Value = serde_json::from_str(&last.changes).unwrap();
    assert_eq!(changes["sha256"][1], sha256_hex(&bytes));
    // The blob waits for the garbage collector's grace period, then goes.
    assert_eq!(Vault::of(app).settled_keys(&app.client, 1).await.len(), 1, "collected only after the grace period");
    assert_eq!(app.collect_blobs(std::time::Duration::ZERO).await.removed, 1);
    assert_eq!(Vault::of(app).settled_keys(&app.client, 0).await, Vec::<String>::new(), "the blob of deleted evidence stayed");
}

async fn legal_hold_evidence_cannot_be_deleted_and_downloads_are_audited(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let legal = app.login_as("legal@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), png(1024)).await;
    let reference = complaint["reference"].as_str().unwrap();
    app.sql(&format!("UPDATE complaint SET legal_hold = TRUE WHERE reference = '{reference}'")).await;

    let vars = json!({ "id": evidence["id"], "reason": "no longer needed" });
    assert_eq!(app.error_code(Some(&supervisor), DELETE, vars.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&legal), DELETE, vars.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&agent), DELETE, vars).await, "NOT_FOUND", "agents lose sight of legal-hold cases");
    assert_eq!(evidence_rows(app).await, 1);

    // Reads of legal-hold evidence are audited on the complaint's access chain.
    let response = download(app, Some(&legal), &evidence, None).await;
    assert_eq!(response.status(), 200);
    let _ = response.bytes().await.unwrap();
    let accesses = complaint_events(app, &format!("complaint-access:{}", complaint_uuid(&complaint["id"]))).await;
    assert!(accesses.iter().any(|e| e.action == "evidence.downloaded" && e.actor_role.as_deref() == Some("LEGAL")), "{accesses:?}");
    assert_eq!(download(app, Some(&agent), &evidence, None).await.status(), 404);
}

async fn evidence_counts_cost_the_same_statements_whatever_the_page_size(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    for i in 0..12 {
        let c = ComplaintBuilder::new().create(app, &agent).await;
        upload_ok(app, &agent, c["id"].as_str().unwrap(), png(64 + i)).await;
    }
    let query = "query($n: Int!) { complaints(first: $n) { edges { node { id evidenceCount
        evidence { totalCount edges { node { filename uploadedBy { email } } } } } } } }";
    let mut costs = Vec::new();
    for n in [2, 12] {
        app.until_caller_cached(&supervisor).await;
        let before = app.statements().await;
        let page = app.ok(&supervisor, query, json!({ "n": n })).await;
        assert_eq!(page["complaints"]["edges"].as_array().unwrap().len(), n);
        costs.push(app.statements().await - before);
    }
    assert_eq!(costs[0], costs[1], "statements for a page of 2 and of 12: {costs:?}");
}

async fn an_altered_blob_is_never_served(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let bytes = png(8192);
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), bytes.clone()).await;
    let keys = Vault::of(app).settled_keys(&app.client, 1).await;
    let blob = app.evidence_dir.join(&keys[0]);
    let mut altered = bytes.clone();
    altered[5000] ^= 0xff;
    std::fs::write(&blob, &altered).unwrap();
    for range in [None, Some("bytes=0-99")] {
        let response = download(app, Some(&agent), &evidence, range).await;
        assert_eq!(response.status(), 409, "{range:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("SHA-256"), "{body}");
    }
    std::fs::remove_file(&blob).unwrap();
    let response = download(app, Some(&agent), &evidence, None).await;
    assert_eq!(response.status(), 409, "a missing blob");
}

// ---------------------------------------------------------------- the upload limit

/// A small limit, so that going over it is quick.
const SMALL_LIMIT: u64 = 256 * 1024;

async fn over_the_limit_answers_payload_too_large_and_leaves_nothing(app: &TestApp, vault: &Vault) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    // With a Content-Length: refused before the body is read.
    let response = send_upload(app, Some(&agent), upload_form(id, "PHOTO", "big.png", "image/png", Part::bytes(png(SMALL_LIMIT as usize + 1)))).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
    // Streamed without a length: refused once the file passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = png(4 * SMALL_LIMIT as usize).chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let part = Part::stream(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)));
    let response = send_upload(app, Some(&agent), upload_form(id, "PHOTO", "big.png", "image/png", part)).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(evidence_rows(app).await, 0);
    assert_eq!(vault.settled_keys(&app.client, 0).await, Vec::<String>::new(), "an oversized upload left a blob");
    // Just under the limit is fine; JSON bodies keep their own, smaller limit.
    upload_ok(app, &agent, id, png(SMALL_LIMIT as usize - 4096)).await;
}

mod upload_limit {
    use super::*;

    async fn run(backend: Backend) {
        let Some(app) = spawn_app_with(backend, |s| s.max_upload_bytes = SMALL_LIMIT).await else { return };
        over_the_limit_answers_payload_too_large_and_leaves_nothing(&app, &Vault::of(&app)).await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

// ---------------------------------------------------------------- S3

/// A moto S3 server on a free port, stopped when dropped. `None` (with a
/// notice) when moto is not installed, unless CASEWORK_TEST_REQUIRE_S3=1.
pub(crate) struct Moto {
    pub(crate) endpoint: String,
    _child: tokio::process::Child,
}

pub(crate) async fn start_moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spawned = tokio::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let required = std::env::var("CASEWORK_TEST_REQUIRE_S3").is_ok_and(|v| v == "1");
    let child = match spawned {
        Ok(child) => child,
        Err(error) if !required => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTE: moto_server not available ({error}); skipping the S3 evidence store test. \
                 Install it with `pip install 'moto[server]'` (.ci/run does).\n"
            );
            return None;
        }
        Err(error) => panic!("CASEWORK_TEST_REQUIRE_S3=1 but moto_server could not start: {error}"),
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{endpoint}/")).send().await.is_ok() {
            return Some(Moto { endpoint, _child: child });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on {endpoint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_passes_the_same_tests_against_moto() {
    let Some(moto) = start_moto().await else { return };
    let bucket = "casework-evidence";
    let created = reqwest::Client::new().put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap();
    assert!(created.status().is_success(), "creating the bucket: {}", created.status());
    let vault = |prefix: &str| Vault::S3 { endpoint: moto.endpoint.clone(), bucket: bucket.to_owned(), prefix: prefix.to_owned() };
    let configure = |prefix: &'static str, limit: Option<u64>| {
        let endpoint = moto.endpoint.clone();
        move |s: &mut casework::config::Settings| {
            s.evidence_url = Some(format!("s3://{bucket}/{prefix}"));
            s.s3_options = [
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_REGION", "us-east-1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), casework::config::Secret::new(v)))
            .collect();
            if let Some(limit) = limit {
                s.max_upload_bytes = limit;
            }
        }
    };

    let app = spawn_app_with(Backend::Sqlite, configure("vault", None)).await.unwrap();
    let store = vault("vault");
    upload_and_download_in(&app, &store).await;
    // Every blob lives under the configured prefix, by its hash.
    assert!(store.keys(&app.client).await.iter().all(|k| k.starts_with("vault/sha256/")));
    app.finish().await;

    // A second prefix starts empty, for the "nothing left behind" checks.
    let app = spawn_app_with(Backend::Sqlite, configure("refusals", Some(SMALL_LIMIT))).await.unwrap();
    let store = vault("refusals");
    refused_executable_in(&app, &store).await;
    over_the_limit_answers_payload_too_large_and_leaves_nothing(&app, &store).await;
    app.finish().await;
}
