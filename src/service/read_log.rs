//! Audited reads, committed together (issue 14).
//!
//! Reading a sensitive or legal-hold complaint appends `complaint.viewed` to
//! its access chain before the answer leaves. Alone, each such read was a
//! write transaction of its own, and concurrent readers of one complaint
//! queued on its chain head's row lock, one commit after the other: the list
//! page with one sensitive complaint on it ran at a third of the same page
//! without. Here every server has one writer: a request hands its events over
//! and waits; the writer appends whatever has queued meanwhile in one
//! transaction and answers each request once it committed. A request still
//! answers only after its reads are durable; the events, their chains and
//! their origins (who, which request, from where) are what they were.
//!
//! If a batch fails, each request's events are written again alone, so one
//! request's failure is never another's.

use std::sync::OnceLock;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use crate::{
    audit::{self, MacKey, NewEvent, Origin},
    error::{AppError, AppResult},
};

/// Requests queued for the writer before senders wait.
const QUEUE: usize = 1024;
/// Requests folded into one transaction at most.
const MAX_BATCH: usize = 64;

/// The reads of one request.
struct Pending {
    origin: Origin,
    events: Vec<NewEvent>,
    done: oneshot::Sender<AppResult<()>>,
}

/// The server's read log; its writer starts with the first read it records.
pub struct ReadLog {
    db: DatabaseConnection,
    mac_key: MacKey,
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl ReadLog {
    pub fn new(db: DatabaseConnection, mac_key: MacKey) -> ReadLog {
        ReadLog { db, mac_key, queue: OnceLock::new() }
    }

    /// Appends `events` (reads by `origin`) and returns once they are committed.
    pub async fn record(&self, origin: Origin, events: Vec<NewEvent>) -> AppResult<()> {
        let queue = self.queue.get_or_init(|| {
            // On the runtime of the first request; it ends with the last sender.
            let (queue, queued) = mpsc::channel(QUEUE);
            tokio::spawn(write_forever(self.db.clone(), self.mac_key.clone(), queued));
            queue
        });
        let (done, answer) = oneshot::channel();
        let stopped = || AppError::internal(anyhow::anyhow!("the read log's writer has stopped"));
        queue.send(Pending { origin, events, done }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_forever(db: DatabaseConnection, mac_key: MacKey, mut queued: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queued.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("casework_read_log_batch_requests").record(batch.len() as f64);
        if batch.len() > 1 && write(&db, &mac_key, &batch).await.is_ok() {
            batch.drain(..).for_each(|p| {
                let _ = p.done.send(Ok(()));
            });
            continue;
        }
        for p in batch.drain(..) {
            let alone = write(&db, &mac_key, std::slice::from_ref(&p)).await;
            let _ = p.done.send(alone);
        }
    }
}

/// One transaction holding every event of `batch`. Chains are appended to
/// in the order of their keys (each chain's events in the order they came),
/// so two servers' writers lock chain heads in one order and never deadlock.
async fn write(db: &DatabaseConnection, mac_key: &MacKey, batch: &[Pending]) -> AppResult<()> {
    let mut events: Vec<(String, &Origin, &NewEvent)> =
        batch.iter().flat_map(|p| p.events.iter().map(|e| (e.chain.to_string(), &p.origin, e))).collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let txn = crate::db::begin_write(db).await?;
    for (_, origin, event) in events {
        audit::append(&txn, origin, mac_key, event.clone()).await?;
    }
    Ok(txn.commit().await?)
}
