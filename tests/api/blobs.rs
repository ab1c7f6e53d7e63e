//! Evidence blobs are shared by content and reference-counted in the
//! transaction of their evidence rows; the garbage collector removes a blob
//! only after the grace period, never one a complaint under legal hold still
//! points to, and never one an upload of the same bytes is reviving — on
//! both databases, with the local store and S3 (moto).

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    evidence::{png, start_moto, upload_ok},
    fixtures::ComplaintBuilder,
    helpers::{Backend, TestApp, spawn_app_with},
};

crate::on_both_databases!(shared_bytes_are_one_counted_blob_collected_after_the_grace_period, a_blob_under_legal_hold_is_never_collected);

const DELETE: &str = "mutation($id: ID!, $reason: String!) { deleteEvidence(id: $id, reason: $reason) { id deleted } }";
const HOUR: Duration = Duration::from_secs(3600);

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The blob's row: (reference count, unreferenced since).
async fn blob_row(app: &TestApp, sha: &str) -> Option<entity::evidence_blob::Model> {
    entity::evidence_blob::Entity::find_by_id(sha.to_owned()).one(&app.db).await.unwrap()
}

async fn live_evidence(app: &TestApp, sha: &str) -> i64 {
    entity::evidence::Entity::find()
        .filter(entity::evidence::Column::Sha256.eq(sha))
        .filter(entity::evidence::Column::DeletedAt.is_null())
        .count(&app.db)
        .await
        .unwrap() as i64
}

/// Whether the store (local or S3) holds the blob.
async fn stored(app: &TestApp, sha: &str) -> bool {
    app.services.evidence.exists(&casework::storage::content_key(sha)).await.unwrap()
}

async fn delete(app: &TestApp, token: &str, evidence: &Value) {
    let data = app.ok(token, DELETE, json!({ "id": evidence["id"], "reason": "duplicate upload" })).await;
    assert_eq!(data["deleteEvidence"]["deleted"], true);
}

async fn download_status(app: &TestApp, token: &str, evidence: &Value) -> (u16, Vec<u8>) {
    let url = app.url(evidence["downloadUrl"].as_str().expect("a download URL"));
    let response = app.client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn shared_bytes_are_one_counted_blob_collected_after_the_grace_period(app: &TestApp) {
    shared_blob_lifecycle(app).await;
}

async fn shared_blob_lifecycle(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let first = ComplaintBuilder::new().create(app, &agent).await;
    let second = ComplaintBuilder::new().create(app, &agent).await;
    let bytes = png(20_000);
    let sha = sha256_hex(&bytes);
    let a = upload_ok(app, &agent, first["id"].as_str().unwrap(), bytes.clone()).await;
    let b = upload_ok(app, &agent, second["id"].as_str().unwrap(), bytes.clone()).await;
    let row = blob_row(app, &sha).await.expect("a blob row");
    assert_eq!((row.ref_count, row.unreferenced_at), (2, None), "two records, one blob");
    assert_eq!(row.size_bytes, bytes.len() as i64);

    // One of two records deleted: the other still downloads, nothing to collect.
    delete(app, &supervisor, &a).await;
    assert_eq!(blob_row(app, &sha).await.unwrap().ref_count, 1);
    assert_eq!(app.collect_blobs(Duration::ZERO).await.removed, 0);
    assert_eq!(download_status(app, &agent, &b).await, (200, bytes.clone()));

    // The last one deleted: the blob waits out the grace period, then goes.
    delete(app, &supervisor, &b).await;
    let row = blob_row(app, &sha).await.unwrap();
    assert_eq!(row.ref_count, 0);
    assert!(row.unreferenced_at.is_some());
    assert_eq!(app.collect_blobs(HOUR).await.removed, 0, "within the grace period");
    assert!(stored(app, &sha).await, "kept during the grace period");
    let collected = app.collect_blobs(Duration::ZERO).await;
    assert_eq!((collected.removed, collected.held), (1, 0));
    assert!(!stored(app, &sha).await, "the unreferenced blob is gone");
    assert!(blob_row(app, &sha).await.is_none());
    assert_eq!(app.collect_blobs(Duration::ZERO).await.removed, 0, "collected once");

    // The same bytes again make a new blob that downloads intact.
    let c = upload_ok(app, &agent, first["id"].as_str().unwrap(), bytes.clone()).await;
    assert_eq!(blob_row(app, &sha).await.unwrap().ref_count, 1);
    assert_eq!(download_status(app, &agent, &c).await, (200, bytes));
}

async fn a_blob_under_legal_hold_is_never_collected(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let bytes = png(9_000);
    let sha = sha256_hex(&bytes);
    let evidence = upload_ok(app, &agent, complaint["id"].as_str().unwrap(), bytes.clone()).await;
    // Deleted before the hold (a deletion under hold is refused), then the
    // complaint goes under legal hold during the grace period.
    delete(app, &supervisor, &evidence).await;
    let reference = complaint["reference"].as_str().unwrap();
    app.sql(&format!("UPDATE complaint SET legal_hold = TRUE WHERE reference = '{reference}'")).await;

    let collected = app.collect_blobs(Duration::ZERO).await;
    assert_eq!((collected.removed, collected.held), (0, 1), "the hold is re-checked when collecting");
    assert!(stored(app, &sha).await, "a blob of a complaint under legal hold stays");
    let row = blob_row(app, &sha).await.expect("its row stays");
    assert_eq!(row.ref_count, 0);
    // Looked at again only after another grace period.
    assert_eq!(app.collect_blobs(HOUR).await, casework::jobs::blobs::Collected::default());

    // Once the hold is lifted (and the grace period passed) it is collected.
    app.sql(&format!("UPDATE complaint SET legal_hold = FALSE WHERE reference = '{reference}'")).await;
    assert_eq!(app.collect_blobs(Duration::ZERO).await.removed, 1);
    assert!(!stored(app, &sha).await);
}

// ---------------------------------------------------------------- the race

/// Deleting the only record of a blob while the same bytes are uploaded
/// again, with the collector running continuously and no grace period: the
/// new record's blob must survive, and the count must match the live records.
async fn delete_and_upload_race(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    let bytes = png(64 * 1024);
    let sha = sha256_hex(&bytes);
    let mut current = upload_ok(app, &agent, id, bytes.clone()).await;
    for round in 0..12 {
        let (_, fresh) = tokio::join!(delete(app, &supervisor, &current), upload_ok(app, &agent, id, bytes.clone()));
        // Let the collector run a few times between the rounds.
        tokio::time::sleep(Duration::from_millis(30 * (round % 3))).await;
        assert_eq!(blob_row(app, &sha).await.map(|r| r.ref_count), Some(live_evidence(app, &sha).await), "round {round}");
        assert!(stored(app, &sha).await, "round {round}: the live record's blob was removed");
        assert_eq!(download_status(app, &agent, &fresh).await, (200, bytes.clone()), "round {round}");
        current = fresh;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(download_status(app, &agent, &current).await.0, 200);
}

mod race {
    use super::*;

    async fn run(backend: Backend) {
        let Some(app) = spawn_app_with(backend, |s| {
            s.edge.evidence_gc_interval = Some(Duration::from_millis(5));
            s.edge.evidence_gc_grace = Duration::ZERO;
        })
        .await
        else {
            return;
        };
        delete_and_upload_race(&app).await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

// ---------------------------------------------------------------- S3

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_s3_store_counts_and_collects_blobs_the_same_way() {
    let Some(moto) = start_moto().await else { return };
    let bucket = "casework-blobs";
    let created = reqwest::Client::new().put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap();
    assert!(created.status().is_success(), "creating the bucket: {}", created.status());
    let s3 = |prefix: &'static str, gc: bool| {
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
            if gc {
                s.edge.evidence_gc_interval = Some(Duration::from_millis(5));
                s.edge.evidence_gc_grace = Duration::ZERO;
            }
        }
    };
    let app = spawn_app_with(Backend::Sqlite, s3("lifecycle", false)).await.unwrap();
    shared_blob_lifecycle(&app).await;
    a_blob_under_legal_hold_is_never_collected(&app).await;
    app.finish().await;
    let app = spawn_app_with(Backend::Sqlite, s3("race", true)).await.unwrap();
    delete_and_upload_race(&app).await;
    app.finish().await;
}
