//! Garbage collection of evidence blobs. A blob whose reference count
//! (`evidence_blob.ref_count`, moved with the evidence rows) has been zero for
//! the grace period (`CASEWORK_EVIDENCE_GC_GRACE_SECS`, default 24 h) is
//! removed from the store, one blob per transaction:
//!
//! 1. legal holds are re-checked now, with the complaints' rows locked: a blob
//!    any evidence of a complaint under legal hold (deleted or not) points to
//!    is kept, and looked at again after another grace period;
//! 2. its row is deleted only if it is still unreferenced and past the grace
//!    period — this takes the row lock (SQLite: the write lock), so an upload
//!    of the same bytes waits, then creates a fresh row and promotes its own
//!    copy after the file is gone;
//! 3. the file is removed, then the transaction commits (should the commit
//!    fail, the row stays and the next run removes the file again).
//!
//! Several instances may run it: only the one whose delete matched a row
//! removes the file.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, QueryTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use tokio::{sync::watch, task::JoinHandle};

use crate::service::Services;
use entity::{complaint, evidence, evidence_blob};

/// Blobs looked at per run.
const BATCH: u64 = 100;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Blobs removed from the store.
    pub removed: usize,
    /// Unreferenced blobs kept because a complaint holding them is under legal hold.
    pub held: usize,
}

/// Starts the job; it stops when `stop` changes (or its sender is dropped).
pub fn spawn(services: Services, interval: Duration, grace: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            match collect(&services, grace).await {
                Ok(Collected { removed: 0, held: 0 }) => {}
                Ok(done) => tracing::info!(removed = done.removed, held = done.held, "evidence blobs collected"),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "collecting unreferenced evidence blobs failed"),
            }
        }
    })
}

/// One run: removes the blobs unreferenced for longer than `grace` (at most
/// [`BATCH`]), except those of complaints under legal hold.
pub async fn collect(services: &Services, grace: Duration) -> anyhow::Result<Collected> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace)?;
    let candidates: Vec<(String, String)> = evidence_blob::Entity::find()
        .select_only()
        .column(evidence_blob::Column::Sha256)
        .column(evidence_blob::Column::StorageKey)
        .filter(evidence_blob::Column::RefCount.lte(0))
        .filter(evidence_blob::Column::UnreferencedAt.lte(cutoff))
        .order_by_asc(evidence_blob::Column::UnreferencedAt)
        .limit(BATCH)
        .into_tuple()
        .all(&services.db)
        .await?;
    let mut done = Collected::default();
    for (sha256, key) in candidates {
        match collect_one(services, &sha256, &key, cutoff).await? {
            Outcome::Removed => {
                services.guards.forget(&sha256);
                metrics::counter!("casework_evidence_blobs_collected_total").increment(1);
                tracing::info!(sha256, key, "unreferenced evidence blob removed");
                done.removed += 1;
            }
            Outcome::Held => {
                tracing::info!(sha256, "unreferenced evidence blob kept: a complaint holding it is under legal hold");
                done.held += 1;
            }
            Outcome::Referenced => {}
        }
    }
    Ok(done)
}

enum Outcome {
    Removed,
    Held,
    /// Referenced again (or collected by another instance) since it was listed.
    Referenced,
}

async fn collect_one(services: &Services, sha256: &str, key: &str, cutoff: chrono::DateTime<Utc>) -> anyhow::Result<Outcome> {
    let txn = crate::db::begin_write(&services.db).await?;
    // Legal holds as they are now, with the complaints locked (in id order)
    // against a hold being placed while the file is removed. Complaints before
    // the blob row: uploads and deletions lock in that order too (their
    // complaint, then the blob), so the two never deadlock. SQLite: the write
    // lock taken by `BEGIN IMMEDIATE` does all of this.
    let holders = evidence::Entity::find()
        .select_only()
        .column(evidence::Column::ComplaintId)
        .filter(evidence::Column::Sha256.eq(sha256))
        .into_query();
    let mut complaints = complaint::Entity::find()
        .select_only()
        .column(complaint::Column::LegalHold)
        .filter(complaint::Column::Id.in_subquery(holders))
        .order_by_asc(complaint::Column::Id);
    if txn.get_database_backend() == DbBackend::Postgres {
        complaints = complaints.lock_exclusive();
    }
    let holds: Vec<bool> = complaints.into_tuple().all(&txn).await?;
    if holds.into_iter().any(|held| held) {
        txn.rollback().await?;
        // Looked at again after another grace period (or once the hold is lifted and that passed).
        evidence_blob::Entity::update_many()
            .col_expr(evidence_blob::Column::UnreferencedAt, Expr::value(crate::service::now()))
            .filter(evidence_blob::Column::Sha256.eq(sha256))
            .filter(evidence_blob::Column::RefCount.lte(0))
            .exec(&services.db)
            .await?;
        return Ok(Outcome::Held);
    }
    // Gone only if still unreferenced: an upload of the same bytes that got
    // here first has counted itself; one that comes later waits for the lock.
    let deleted = evidence_blob::Entity::delete_many()
        .filter(evidence_blob::Column::Sha256.eq(sha256))
        .filter(evidence_blob::Column::RefCount.lte(0))
        .filter(evidence_blob::Column::UnreferencedAt.lte(cutoff))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(Outcome::Referenced);
    }
    if let Err(error) = services.evidence.discard(key).await {
        txn.rollback().await?;
        return Err(anyhow::Error::new(error).context(format!("removing the evidence blob {key}")));
    }
    txn.commit().await?;
    Ok(Outcome::Removed)
}
