//! The verifier: recomputes every chain from the stored canonical bytes and
//! reports the first altered, missing, inserted or reordered event.
//!
//! For each event, in (chain_key, seq) order, it checks that
//! 1. the seq follows its predecessor (a gap is a deleted event),
//! 2. `prev_hash` is the predecessor's `entry_hash` (inserted or reordered events),
//! 3. the canonical bytes rebuilt from the stored columns equal the stored
//!    canonical bytes (an edited column),
//! 4. `entry_hash` is the hash of `prev_hash` and those bytes (an edited event),
//! 5. the hash at the head seq recorded by the latest checkpoint is the one the
//!    checkpoint signed (a chain re-hashed from some event on),
//!
//! and at the end of a chain that it is not shorter than the checkpoint says
//! (a truncated tail) and that a complaint's `version` is the head seq of its
//! `complaint:` chain. The checkpoints themselves are checked for contiguity,
//! linkage, their signature with the pinned public key, their Merkle root, and
//! against the anchor file outside the database (a rolled-back table).
//!
//! Rows are streamed (one keyset-ordered query) and checked without per-event
//! allocations: the canonical bytes are rebuilt into one reused buffer.

use std::{collections::HashMap, fmt::Write as _};

use chrono::{DateTime, Datelike, Timelike, Utc};
use ed25519_dalek::VerifyingKey;
use futures_util::TryStreamExt;
use sea_orm::{DatabaseConnection, DbBackend, sqlx};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    GENESIS_HASH,
    append::HASH_DOMAIN,
    canonical::write_string,
    checkpoint::{self, CheckpointRecord, Head},
};
use entity::{audit_checkpoint, audit_checkpoint_head};

/// The chain key reported for a failure of the checkpoints themselves.
pub const CHECKPOINT_CHAIN: &str = "checkpoint";

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub chain_key: String,
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chain {} seq {}: {}", self.chain_key, self.seq, self.reason)
    }
}

/// What a verification found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checked_events: u64,
    pub checked_chains: u64,
    pub checkpoints_checked: u64,
    pub first_failure: Option<Failure>,
    /// Things that weaken the result without being a failure (no checkpoint yet, unpinned key…).
    pub warnings: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.first_failure.is_none()
    }
}

/// What to verify against.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only the chains of this complaint (`complaint:<id>` and `complaint-access:<id>`).
    pub complaint: Option<Uuid>,
    /// The public key checkpoints must be signed with. Without it each
    /// checkpoint is checked against the key it names (and a warning says so).
    pub public_key: Option<VerifyingKey>,
    /// Checkpoints from the anchor file outside the database.
    pub anchor: Option<Vec<CheckpointRecord>>,
}

/// One stored event, borrowed from a database row or an export line.
#[derive(Clone, Copy, Debug)]
pub struct EventRow<'a> {
    pub id: Uuid,
    pub chain_key: &'a str,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub complaint_id: Option<Uuid>,
    pub sensitivity: &'a str,
    pub reason: Option<&'a str>,
    pub changes: &'a str,
    pub canonical: &'a str,
    pub prev_hash: &'a str,
    pub entry_hash: &'a str,
    pub format_version: i32,
}

/// Rebuilds the canonical JSON of `e` (the same bytes as
/// `to_canonical_json(&hashed_object(e))`, keys in RFC 8785 order) into `out`.
/// `changes` is stored canonical already, so it is copied as is: an edited or
/// re-formatted `changes` column then no longer matches the hashed bytes.
pub fn rebuild_canonical(out: &mut String, e: &EventRow<'_>) {
    fn opt_str(out: &mut String, v: Option<&str>) {
        match v {
            Some(s) => write_string(out, s),
            None => out.push_str("null"),
        }
    }
    fn opt_uuid(out: &mut String, v: Option<Uuid>) {
        match v {
            Some(id) => {
                let mut buf = [0u8; 36];
                out.push('"');
                out.push_str(id.hyphenated().encode_lower(&mut buf));
                out.push('"');
            }
            None => out.push_str("null"),
        }
    }
    out.clear();
    out.push_str("{\"action\":");
    write_string(out, e.action);
    out.push_str(",\"actor_id\":");
    opt_uuid(out, e.actor_id);
    out.push_str(",\"actor_role\":");
    opt_str(out, e.actor_role);
    out.push_str(",\"chain_key\":");
    write_string(out, e.chain_key);
    out.push_str(",\"changes\":");
    out.push_str(e.changes);
    out.push_str(",\"client_addr\":");
    opt_str(out, e.client_addr);
    out.push_str(",\"complaint_id\":");
    opt_uuid(out, e.complaint_id);
    let _ = write!(out, ",\"format_version\":{},\"id\":", e.format_version);
    opt_uuid(out, Some(e.id));
    out.push_str(",\"occurred_at\":\"");
    let t = e.occurred_at;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000
    );
    out.push_str("\",\"prev_hash\":");
    write_string(out, e.prev_hash);
    out.push_str(",\"reason\":");
    opt_str(out, e.reason);
    out.push_str(",\"request_id\":");
    opt_str(out, e.request_id);
    out.push_str(",\"sensitivity\":");
    write_string(out, e.sensitivity);
    let _ = write!(out, ",\"seq\":{},\"target_id\":", e.seq);
    opt_str(out, e.target_id);
    out.push_str(",\"target_type\":");
    write_string(out, e.target_type);
    out.push('}');
}

/// A head recorded by the latest checkpoint that a chain must reproduce.
#[derive(Clone, Debug)]
struct Expected {
    seq: i64,
    hash: String,
    checkpoint: i64,
}

/// Checks streamed events chain by chain.
pub struct ChainVerifier {
    chain: String,
    next_seq: i64,
    last_hash: String,
    buf: String,
    expected: HashMap<String, Expected>,
    versions: HashMap<Uuid, i64>,
    report: Report,
}

impl ChainVerifier {
    fn new(expected: HashMap<String, Expected>, versions: HashMap<Uuid, i64>) -> ChainVerifier {
        ChainVerifier {
            chain: String::new(),
            next_seq: 1,
            last_hash: String::new(),
            buf: String::with_capacity(2048),
            expected,
            versions,
            report: Report::default(),
        }
    }

    fn fail(&mut self, chain_key: &str, seq: i64, reason: String) {
        if self.report.first_failure.is_none() {
            self.report.first_failure = Some(Failure { chain_key: chain_key.to_owned(), seq, reason });
        }
    }

    pub fn failed(&self) -> bool {
        self.report.first_failure.is_some()
    }

    /// Checks the next event; events must come in (chain_key, seq) order.
    pub fn push(&mut self, e: &EventRow<'_>) {
        if self.failed() {
            return;
        }
        if e.chain_key != self.chain {
            if !self.chain.is_empty() {
                self.finish_chain();
                if self.failed() {
                    return;
                }
            }
            self.chain.clear();
            self.chain.push_str(e.chain_key);
            self.next_seq = 1;
            self.last_hash.clear();
            self.last_hash.push_str(GENESIS_HASH);
            self.report.checked_chains += 1;
        }
        let chain = e.chain_key;
        if e.seq != self.next_seq {
            let reason = if e.seq > self.next_seq {
                format!("event missing: expected seq {}, found seq {} (deleted)", self.next_seq, e.seq)
            } else {
                format!("seq {} out of order after seq {} (reordered or duplicated)", e.seq, self.next_seq - 1)
            };
            let at = self.next_seq;
            return self.fail(chain, at, reason);
        }
        if e.prev_hash != self.last_hash {
            return self.fail(
                chain,
                e.seq,
                format!(
                    "prev_hash does not match the entry_hash of seq {}: an event was inserted, removed or reordered",
                    e.seq - 1
                ),
            );
        }
        let mut buf = std::mem::take(&mut self.buf);
        rebuild_canonical(&mut buf, e);
        let columns_match = buf == e.canonical;
        self.buf = buf;
        if !columns_match {
            return self.fail(chain, e.seq, "the stored columns differ from the hashed canonical bytes: a column was edited".into());
        }
        let mut hasher = Sha256::new();
        hasher.update(HASH_DOMAIN);
        hasher.update(e.prev_hash.as_bytes());
        hasher.update(e.canonical.as_bytes());
        let mut hex_hash = [0u8; 64];
        let digest = hasher.finalize();
        hex::encode_to_slice(digest, &mut hex_hash).expect("64 bytes hold a hex SHA-256");
        if e.entry_hash.as_bytes() != hex_hash {
            return self.fail(chain, e.seq, "entry_hash is not the SHA-256 of the event: the event was altered".into());
        }
        if let Some(expected) = self.expected.get(chain) {
            if expected.seq == e.seq && expected.hash != e.entry_hash {
                let reason = format!(
                    "the hash at seq {} differs from the one signed in checkpoint {}: the chain was rewritten",
                    e.seq, expected.checkpoint
                );
                return self.fail(chain, e.seq, reason);
            }
        }
        self.last_hash.clear();
        self.last_hash.push_str(e.entry_hash);
        self.next_seq += 1;
        self.report.checked_events += 1;
    }

    fn finish_chain(&mut self) {
        let chain = std::mem::take(&mut self.chain);
        let head = self.next_seq - 1;
        if let Some(expected) = self.expected.remove(&chain) {
            if expected.seq > head {
                let reason = format!(
                    "events missing: checkpoint {} recorded head seq {} but the chain ends at seq {} (truncated)",
                    expected.checkpoint, expected.seq, head
                );
                self.fail(&chain, head + 1, reason);
            }
        }
        if let Some(id) = chain.strip_prefix("complaint:").and_then(|id| Uuid::parse_str(id).ok()) {
            match self.versions.remove(&id) {
                Some(version) if version != head => self.fail(
                    &chain,
                    head,
                    format!("the complaint's version is {version} but its chain head is seq {head}"),
                ),
                Some(_) => {}
                None => self.fail(&chain, head, "a chain for a complaint that does not exist".into()),
            }
        }
        self.chain = chain;
    }

    /// Ends the stream: the last chain, then whatever was expected but never seen.
    pub fn finish(mut self) -> Report {
        if !self.chain.is_empty() && !self.failed() {
            self.finish_chain();
        }
        if !self.failed() {
            let mut missing: Vec<(String, Expected)> = self.expected.drain().collect();
            missing.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some((chain, expected)) = missing.into_iter().next() {
                let reason = format!("the whole chain is missing: checkpoint {} recorded head seq {}", expected.checkpoint, expected.seq);
                self.fail(&chain, 1, reason);
            }
        }
        if !self.failed() {
            let mut orphans: Vec<(Uuid, i64)> = self.versions.drain().collect();
            orphans.sort();
            if let Some((id, version)) = orphans.into_iter().next() {
                self.fail(&format!("complaint:{id}"), 1, format!("the complaint (version {version}) has no audit events"));
            }
        }
        self.report
    }
}

/// Checks the checkpoints and returns the heads of the latest one.
fn check_checkpoints(
    checkpoints: &[audit_checkpoint::Model],
    heads: &[audit_checkpoint_head::Model],
    options: &Options,
    report: &mut Report,
) -> Result<HashMap<String, Expected>, Failure> {
    let fail = |seq: i64, reason: String| Failure { chain_key: CHECKPOINT_CHAIN.to_owned(), seq, reason };
    if options.public_key.is_none() && !checkpoints.is_empty() {
        report.warnings.push("no public key pinned: checkpoint signatures were checked against the key each names".into());
    }
    let mut prev_hash = GENESIS_HASH;
    for (i, cp) in checkpoints.iter().enumerate() {
        let want = i as i64 + 1;
        if cp.seq != want {
            return Err(fail(want, format!("checkpoint {want} is missing (next is {})", cp.seq)));
        }
        checkpoint::check_signature(cp, options.public_key.as_ref()).map_err(|reason| fail(cp.seq, reason))?;
        if cp.prev_hash != prev_hash {
            return Err(fail(cp.seq, "prev_hash does not link to the previous checkpoint".into()));
        }
        prev_hash = &cp.checkpoint_hash;
        report.checkpoints_checked += 1;
    }
    if let Some(anchor) = &options.anchor {
        for record in anchor {
            match checkpoints.iter().find(|c| c.seq == record.seq) {
                None => {
                    return Err(fail(
                        record.seq,
                        "in the anchor file but missing from the database: the checkpoint table was rolled back".into(),
                    ));
                }
                Some(cp) if cp.checkpoint_hash != record.checkpoint_hash => {
                    return Err(fail(record.seq, "differs from the copy in the anchor file".into()));
                }
                Some(_) => {}
            }
        }
    }
    let Some(latest) = checkpoints.last() else {
        report.warnings.push("no checkpoint yet: a truncated chain tail cannot be detected".into());
        return Ok(HashMap::new());
    };
    // Fold the recorded heads (each checkpoint stores the chains that moved).
    let mut folded: HashMap<&str, (i64, &str, i64)> = HashMap::new();
    for h in heads.iter().filter(|h| h.checkpoint_seq <= latest.seq) {
        let entry = folded.entry(h.chain_key.as_str()).or_insert((0, "", 0));
        if h.head_seq > entry.0 {
            *entry = (h.head_seq, h.head_hash.as_str(), h.checkpoint_seq);
        }
    }
    let mut set: Vec<Head> =
        folded.iter().map(|(k, (seq, hash, _))| Head { chain_key: (*k).to_owned(), seq: *seq, hash: (*hash).to_owned() }).collect();
    checkpoint::sort_heads(&mut set);
    let event_count: i64 = set.iter().map(|h| h.seq).sum();
    if checkpoint::merkle_root(&set) != latest.merkle_root || set.len() as i64 != latest.chain_count || event_count != latest.event_count {
        return Err(fail(latest.seq, "the recorded chain heads do not match the signed Merkle root".into()));
    }
    let scope = options.complaint.map(|id| (format!("complaint:{id}"), format!("complaint-access:{id}")));
    Ok(folded
        .into_iter()
        .filter(|(k, _)| scope.as_ref().is_none_or(|(a, b)| k == a || k == b))
        .map(|(k, (seq, hash, _))| (k.to_owned(), Expected { seq, hash: hash.to_owned(), checkpoint: latest.seq }))
        .collect())
}

const EVENT_COLUMNS: &str = "id, chain_key, seq, occurred_at, actor_id, actor_role, request_id, client_addr, action, \
    target_type, target_id, complaint_id, sensitivity, reason, changes, canonical, prev_hash, entry_hash, format_version";

macro_rules! event_row {
    ($row:expr) => {{
        use sea_orm::sqlx::Row;
        let r = $row;
        EventRow {
            id: r.try_get(0)?,
            chain_key: r.try_get(1)?,
            seq: r.try_get(2)?,
            occurred_at: r.try_get(3)?,
            actor_id: r.try_get(4)?,
            actor_role: r.try_get(5)?,
            request_id: r.try_get(6)?,
            client_addr: r.try_get(7)?,
            action: r.try_get(8)?,
            target_type: r.try_get(9)?,
            target_id: r.try_get(10)?,
            complaint_id: r.try_get(11)?,
            sensitivity: r.try_get(12)?,
            reason: r.try_get(13)?,
            changes: r.try_get(14)?,
            canonical: r.try_get(15)?,
            prev_hash: r.try_get(16)?,
            entry_hash: r.try_get(17)?,
            format_version: r.try_get(18)?,
        }
    }};
}

/// Everything read from the database besides the events.
struct Stored {
    checkpoints: Vec<audit_checkpoint::Model>,
    heads: Vec<audit_checkpoint_head::Model>,
    versions: HashMap<Uuid, i64>,
}

/// Reads checkpoints, their heads and complaint versions, then streams the
/// events through `verifier`, all inside one read transaction so a live server
/// appending meanwhile cannot make a consistent trail look inconsistent.
macro_rules! verify_in_snapshot {
    ($pool:expr, $begin:expr, $ph:expr, $options:expr, $report:expr) => {{
        use sea_orm::sqlx::Row;
        let mut tx = $pool.begin().await?;
        if let Some(statement) = $begin {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let mut stored = Stored { checkpoints: Vec::new(), heads: Vec::new(), versions: HashMap::new() };
        let mut rows = sqlx::query(
            "SELECT seq, created_at, chain_count, event_count, merkle_root, prev_hash, public_key, canonical, \
             checkpoint_hash, signature FROM audit_checkpoint ORDER BY seq",
        )
        .fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            stored.checkpoints.push(audit_checkpoint::Model {
                seq: r.try_get(0)?,
                created_at: r.try_get(1)?,
                chain_count: r.try_get(2)?,
                event_count: r.try_get(3)?,
                merkle_root: r.try_get(4)?,
                prev_hash: r.try_get(5)?,
                public_key: r.try_get(6)?,
                canonical: r.try_get(7)?,
                checkpoint_hash: r.try_get(8)?,
                signature: r.try_get(9)?,
            });
        }
        drop(rows);
        let mut rows =
            sqlx::query("SELECT checkpoint_seq, chain_key, head_seq, head_hash FROM audit_checkpoint_head").fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            stored.heads.push(audit_checkpoint_head::Model {
                checkpoint_seq: r.try_get(0)?,
                chain_key: r.try_get(1)?,
                head_seq: r.try_get(2)?,
                head_hash: r.try_get(3)?,
            });
        }
        drop(rows);
        let complaint_sql = if $options.complaint.is_some() {
            format!("SELECT id, version FROM complaint WHERE id = {}", $ph(1))
        } else {
            "SELECT id, version FROM complaint".to_owned()
        };
        // Only placeholders are interpolated; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(complaint_sql));
        if let Some(id) = $options.complaint {
            query = query.bind(id);
        }
        let mut rows = query.fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            let version: i32 = r.try_get(1)?;
            stored.versions.insert(r.try_get(0)?, i64::from(version));
        }
        drop(rows);

        match check_checkpoints(&stored.checkpoints, &stored.heads, $options, &mut $report) {
            Err(failure) => {
                $report.first_failure = Some(failure);
                $report
            }
            Ok(expected) => {
                let mut verifier = ChainVerifier::new(expected, stored.versions);
                verifier.report = std::mem::take(&mut $report);
                // One ordered scan over the (chain_key, seq) index; rows are checked as they stream.
                let sql = match $options.complaint {
                    Some(_) => format!(
                        "SELECT {EVENT_COLUMNS} FROM audit_event WHERE chain_key IN ({}, {}) ORDER BY chain_key, seq",
                        $ph(1),
                        $ph(2)
                    ),
                    None => format!("SELECT {EVENT_COLUMNS} FROM audit_event ORDER BY chain_key, seq"),
                };
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(id) = $options.complaint {
                    query = query.bind(format!("complaint:{id}")).bind(format!("complaint-access:{id}"));
                }
                let mut rows = query.fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    verifier.push(&event_row!(&row));
                    if verifier.failed() {
                        break;
                    }
                }
                drop(rows);
                tx.rollback().await?;
                verifier.finish()
            }
        }
    }};
}

/// Verifies the audit trail stored in `db`.
pub async fn verify_database(db: &DatabaseConnection, options: &Options) -> anyhow::Result<Report> {
    let mut report = Report::default();
    Ok(match db.get_database_backend() {
        DbBackend::Sqlite => {
            // A deferred transaction reads one WAL snapshot.
            verify_in_snapshot!(db.get_sqlite_connection_pool(), None::<&str>, |_: u8| "?".to_owned(), options, report)
        }
        DbBackend::Postgres => verify_in_snapshot!(
            db.get_postgres_connection_pool(),
            Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            |n: u8| format!("${n}"),
            options,
            report
        ),
        other => anyhow::bail!("unsupported database backend {other:?}"),
    })
}

/// Verifies an export file (see [`super::export`]) offline.
pub fn verify_export(text: &str, options: &Options) -> anyhow::Result<Report> {
    let export = super::export::parse(text)?;
    let mut report = Report::default();
    let checkpoints: Vec<audit_checkpoint::Model> = export.checkpoints.into_iter().map(Into::into).collect();
    let expected = match check_checkpoints(&checkpoints, &export.heads, options, &mut report) {
        Ok(expected) => expected,
        Err(failure) => {
            report.first_failure = Some(failure);
            return Ok(report);
        }
    };
    let versions = export
        .complaints
        .into_iter()
        .filter(|(id, _)| options.complaint.is_none_or(|c| c == *id))
        .collect();
    let mut verifier = ChainVerifier::new(expected, versions);
    verifier.report = report;
    let scope = options.complaint.map(|id| (format!("complaint:{id}"), format!("complaint-access:{id}")));
    for event in &export.events {
        if let Some((a, b)) = &scope {
            if event.chain_key != *a && event.chain_key != *b {
                continue;
            }
        }
        verifier.push(&event.row());
        if verifier.failed() {
            break;
        }
    }
    Ok(verifier.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{
        append::{entry_hash, hashed_object},
        canonical::to_canonical_json,
    };

    fn model(chain: &str, seq: i64, prev: &str) -> entity::audit_event::Model {
        let mut m = entity::audit_event::Model {
            id: Uuid::now_v7(),
            chain_key: chain.into(),
            seq,
            occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456 + seq).unwrap(),
            actor_id: Some(Uuid::now_v7()),
            actor_role: Some("AGENT".into()),
            request_id: None,
            client_addr: Some("127.0.0.1".into()),
            action: "complaint.created".into(),
            target_type: "complaint".into(),
            target_id: Some("x\"y".into()),
            complaint_id: None,
            sensitivity: "NORMAL".into(),
            reason: Some("line\nbreak 投诉".into()),
            changes: r#"{"status":[null,"NEW"]}"#.into(),
            canonical: String::new(),
            prev_hash: prev.into(),
            entry_hash: String::new(),
            format_version: 1,
        };
        m.canonical = to_canonical_json(&hashed_object(&m)).unwrap();
        m.entry_hash = entry_hash(&m.prev_hash, &m.canonical);
        m
    }

    fn row(m: &entity::audit_event::Model) -> EventRow<'_> {
        EventRow {
            id: m.id,
            chain_key: &m.chain_key,
            seq: m.seq,
            occurred_at: m.occurred_at,
            actor_id: m.actor_id,
            actor_role: m.actor_role.as_deref(),
            request_id: m.request_id.as_deref(),
            client_addr: m.client_addr.as_deref(),
            action: &m.action,
            target_type: &m.target_type,
            target_id: m.target_id.as_deref(),
            complaint_id: m.complaint_id,
            sensitivity: &m.sensitivity,
            reason: m.reason.as_deref(),
            changes: &m.changes,
            canonical: &m.canonical,
            prev_hash: &m.prev_hash,
            entry_hash: &m.entry_hash,
            format_version: m.format_version,
        }
    }

    #[test]
    fn the_fast_rebuild_matches_the_canonical_encoder() {
        let m = model("user:1", 1, GENESIS_HASH);
        let mut out = String::new();
        rebuild_canonical(&mut out, &row(&m));
        assert_eq!(out, m.canonical);
    }

    #[test]
    fn a_clean_chain_passes_and_an_edit_is_named() {
        let a = model("system", 1, GENESIS_HASH);
        let b = model("system", 2, &a.entry_hash);
        let mut v = ChainVerifier::new(HashMap::new(), HashMap::new());
        v.push(&row(&a));
        v.push(&row(&b));
        let report = v.finish();
        assert!(report.ok(), "{:?}", report.first_failure);
        assert_eq!(report.checked_events, 2);

        let mut edited = b.clone();
        edited.actor_role = Some("ADMIN".into());
        let mut v = ChainVerifier::new(HashMap::new(), HashMap::new());
        v.push(&row(&a));
        v.push(&row(&edited));
        let failure = v.finish().first_failure.unwrap();
        assert_eq!((failure.chain_key.as_str(), failure.seq), ("system", 2));
        assert!(failure.reason.contains("column was edited"));
    }
}
