//! The verifier on two cores (issue 14): the scan reads rows and copies them
//! into batches, a thread of the blocking pool checks them (canonical
//! rebuild, SHA-256, MAC) in the same order.
//!
//! On one thread the scan (SQLite's step, or sqlx's PostgreSQL decode) and
//! the checks shared a core: 210 000–320 000 events/s on SQLite on the 2-core
//! bench machine, 400 000–450 000 with the checks on the second core. The
//! checks stay strictly sequential, so the first failure named is the same as
//! with one thread; once the checker has found it, it stops and drops its end
//! of the queue, and the scan stops at its next batch.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::verify::{ChainVerifier, EventRow};

/// Rows per batch, and the text a batch may hold before it is sent.
const BATCH_ROWS: usize = 512;
const BATCH_TEXT: usize = 1 << 20;
/// Batches queued for the checker: enough to ride out a slow page.
const QUEUE: usize = 4;

/// A text column's place in the batch's text: (start, end).
type Span = (u32, u32);
/// A nullable text column.
type OptSpan = Option<Span>;

/// One event with its text columns as spans of the batch's text.
struct Packed {
    id: Uuid,
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    complaint_id: Option<Uuid>,
    format_version: i32,
    chain_key: Span,
    actor_role: OptSpan,
    request_id: OptSpan,
    client_addr: OptSpan,
    action: Span,
    target_type: Span,
    target_id: OptSpan,
    sensitivity: Span,
    reason: OptSpan,
    changes: Span,
    canonical: Span,
    prev_hash: Span,
    entry_hash: Span,
    mac: OptSpan,
    state_hash: OptSpan,
}

/// Owned copies of a run of events: one text buffer, no allocation per row.
#[derive(Default)]
pub struct EventBatch {
    text: String,
    rows: Vec<Packed>,
}

impl EventBatch {
    fn with_capacity() -> EventBatch {
        EventBatch { text: String::with_capacity(BATCH_TEXT + 64 * 1024), rows: Vec::with_capacity(BATCH_ROWS) }
    }

    fn span(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        (start as u32, self.text.len() as u32)
    }

    fn opt(&mut self, s: Option<&str>) -> OptSpan {
        s.map(|s| self.span(s))
    }

    /// Copies `e` in.
    pub fn push(&mut self, e: &EventRow<'_>) {
        let packed = Packed {
            id: e.id,
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_id: e.actor_id,
            complaint_id: e.complaint_id,
            format_version: e.format_version,
            chain_key: self.span(e.chain_key),
            actor_role: self.opt(e.actor_role),
            request_id: self.opt(e.request_id),
            client_addr: self.opt(e.client_addr),
            action: self.span(e.action),
            target_type: self.span(e.target_type),
            target_id: self.opt(e.target_id),
            sensitivity: self.span(e.sensitivity),
            reason: self.opt(e.reason),
            changes: self.span(e.changes),
            canonical: self.span(e.canonical),
            prev_hash: self.span(e.prev_hash),
            entry_hash: self.span(e.entry_hash),
            mac: self.opt(e.mac),
            state_hash: self.opt(e.state_hash),
        };
        self.rows.push(packed);
    }

    /// Whether the batch should be sent (a row of any size still fits after).
    fn is_full(&self) -> bool {
        self.rows.len() >= BATCH_ROWS || self.text.len() >= BATCH_TEXT
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// The events, borrowed back, in the order they were pushed.
    pub fn rows(&self) -> impl Iterator<Item = EventRow<'_>> {
        let text = self.text.as_str();
        let s = move |(a, b): Span| &text[a as usize..b as usize];
        let o = move |span: OptSpan| span.map(s);
        self.rows.iter().map(move |p| EventRow {
            id: p.id,
            chain_key: s(p.chain_key),
            seq: p.seq,
            occurred_at: p.occurred_at,
            actor_id: p.actor_id,
            actor_role: o(p.actor_role),
            request_id: o(p.request_id),
            client_addr: o(p.client_addr),
            action: s(p.action),
            target_type: s(p.target_type),
            target_id: o(p.target_id),
            complaint_id: p.complaint_id,
            sensitivity: s(p.sensitivity),
            reason: o(p.reason),
            changes: s(p.changes),
            canonical: s(p.canonical),
            prev_hash: s(p.prev_hash),
            entry_hash: s(p.entry_hash),
            format_version: p.format_version,
            mac: o(p.mac),
            state_hash: o(p.state_hash),
        })
    }
}

/// The scan's end of the pipeline.
pub struct Pipeline {
    batch: EventBatch,
    full: mpsc::Sender<EventBatch>,
    empty: std::sync::mpsc::Receiver<EventBatch>,
    checker: tokio::task::JoinHandle<ChainVerifier>,
}

impl Pipeline {
    /// Moves `verifier` to a thread of the blocking pool, which checks what
    /// [`Pipeline::push`] queues. Must be called inside a Tokio runtime.
    pub fn start(mut verifier: ChainVerifier) -> Pipeline {
        let (full, mut queued) = mpsc::channel::<EventBatch>(QUEUE);
        let (give_back, empty) = std::sync::mpsc::channel();
        let checker = tokio::task::spawn_blocking(move || {
            while let Some(mut batch) = queued.blocking_recv() {
                for row in batch.rows() {
                    verifier.push(&row);
                    if verifier.failed() {
                        // Dropping `queued` stops the scan at its next send.
                        return verifier;
                    }
                }
                batch.clear();
                let _ = give_back.send(batch);
            }
            verifier
        });
        Pipeline { batch: EventBatch::with_capacity(), full, empty, checker }
    }

    /// Queues `e` (async scans); false once the checker has stopped at a failure.
    pub async fn push(&mut self, e: &EventRow<'_>) -> bool {
        self.batch.push(e);
        if !self.batch.is_full() {
            return true;
        }
        let next = self.next_batch();
        self.full.send(std::mem::replace(&mut self.batch, next)).await.is_ok()
    }

    /// [`Pipeline::push`] from a thread that may block (not an async task):
    /// SQLite's scan inside `block_in_place`.
    pub fn blocking_push(&mut self, e: &EventRow<'_>) -> bool {
        self.batch.push(e);
        if !self.batch.is_full() {
            return true;
        }
        let next = self.next_batch();
        self.full.blocking_send(std::mem::replace(&mut self.batch, next)).is_ok()
    }

    fn next_batch(&self) -> EventBatch {
        self.empty.try_recv().unwrap_or_else(|_| EventBatch::with_capacity())
    }

    /// Sends the last rows and waits for the checker; the verifier comes back.
    pub async fn finish(self) -> anyhow::Result<ChainVerifier> {
        let Pipeline { batch, full, checker, .. } = self;
        if !batch.is_empty() {
            // An error means the checker already stopped at a failure.
            let _ = full.send(batch).await;
        }
        drop(full);
        checker.await.map_err(|e| anyhow::anyhow!("the audit checker thread failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_what_it_was_given() {
        let id = Uuid::now_v7();
        let row = EventRow {
            id,
            chain_key: "complaint:x",
            seq: 7,
            occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            actor_id: None,
            actor_role: Some("AGENT"),
            request_id: None,
            client_addr: Some(""),
            action: "complaint.created",
            target_type: "complaint",
            target_id: Some("投诉"),
            complaint_id: Some(id),
            sensitivity: "NORMAL",
            reason: None,
            changes: "{}",
            canonical: "{\"a\":1}",
            prev_hash: "00",
            entry_hash: "ff",
            format_version: 2,
            mac: None,
            state_hash: Some("ab"),
        };
        let mut batch = EventBatch::default();
        batch.push(&row);
        batch.push(&EventRow { seq: 8, client_addr: None, ..row });
        let back: Vec<String> = batch.rows().map(|r| format!("{r:?}")).collect();
        assert_eq!(back, vec![format!("{row:?}"), format!("{:?}", EventRow { seq: 8, client_addr: None, ..row })]);
    }
}
