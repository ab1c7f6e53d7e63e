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
//! allocations: the canonical bytes are rebuilt into one reused buffer. The
//! scan and the checks run on two threads ([`super::pipeline`]).

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
};

use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::TryStreamExt;
use sea_orm::{DatabaseConnection, DbBackend, sqlx};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    GENESIS_HASH, MacKey,
    append::HASH_DOMAIN,
    canonical::write_string,
    checkpoint::{self, Anchor, TrustedKey},
    pipeline::Pipeline,
    state,
};
use entity::{app_user, audit_checkpoint, audit_checkpoint_head, complaint};

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
    /// The keys checkpoints must be signed with (the pinned public key, or
    /// `CASEWORK_AUDIT_TRUSTED_KEYS` with validity periods). Empty fails
    /// unless `allow_unpinned`.
    pub trusted_keys: Vec<TrustedKey>,
    /// Accept checkpoints signed by the key they name (a warning, not a failure).
    pub allow_unpinned: bool,
    /// What the anchor directory outside the database holds, when one is configured.
    pub anchor: Option<Anchor>,
    /// The events' MAC key; without it MACs are not checked (and a warning says so).
    pub mac_key: Option<MacKey>,
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
    pub mac: Option<&'a str>,
    pub state_hash: Option<&'a str>,
}

impl<'a> From<&'a entity::audit_event::Model> for EventRow<'a> {
    fn from(m: &'a entity::audit_event::Model) -> Self {
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
            mac: m.mac.as_deref(),
            state_hash: m.state_hash.as_deref(),
        }
    }
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
    let _ = write!(out, ",\"seq\":{}", e.seq);
    if e.format_version >= 2 {
        out.push_str(",\"state_hash\":");
        opt_str(out, e.state_hash);
    }
    out.push_str(",\"target_id\":");
    opt_str(out, e.target_id);
    out.push_str(",\"target_type\":");
    write_string(out, e.target_type);
    out.push('}');
}

/// A head some checkpoint recorded, which the chain must reproduce.
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
    /// Every head ever signed, per chain, by ascending seq.
    expected: HashMap<String, Vec<Expected>>,
    /// Those of the current chain, and how many were met.
    current: Vec<Expected>,
    current_at: usize,
    versions: HashMap<Uuid, i64>,
    /// The state hash of each entity's live row, by chain key.
    states: HashMap<String, String>,
    /// The latest state hash recorded in the current chain (seq, hash).
    last_state: Option<(i64, String)>,
    /// The current chain already had a format-2 (keyed) event.
    seen_keyed: bool,
    mac_key: Option<MacKey>,
    unkeyed: u64,
    states_loaded: bool,
    report: Report,
}

impl ChainVerifier {
    fn new(
        expected: HashMap<String, Vec<Expected>>,
        versions: HashMap<Uuid, i64>,
        states: HashMap<String, String>,
        mac_key: Option<MacKey>,
    ) -> ChainVerifier {
        ChainVerifier {
            chain: String::new(),
            next_seq: 1,
            last_hash: String::new(),
            buf: String::with_capacity(2048),
            expected,
            current: Vec::new(),
            current_at: 0,
            versions,
            last_state: None,
            seen_keyed: false,
            states_loaded: !states.is_empty(),
            states,
            mac_key,
            unkeyed: 0,
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
            self.current = self.expected.remove(e.chain_key).unwrap_or_default();
            self.current_at = 0;
            self.last_state = None;
            self.seen_keyed = false;
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
        if e.format_version >= 2 {
            self.seen_keyed = true;
            if let Some(key) = &self.mac_key {
                match e.mac {
                    Some(mac) if key.check(e.entry_hash, mac) => {}
                    Some(_) => return self.fail(chain, e.seq, "the event's MAC does not verify: a forged or re-keyed event".into()),
                    None => return self.fail(chain, e.seq, "the event has no MAC: a forged event".into()),
                }
            }
        } else if self.seen_keyed {
            return self.fail(chain, e.seq, "an unkeyed format-1 event after keyed events: a forged event".into());
        } else {
            self.unkeyed += 1;
        }
        if let Some(expected) = self.current.get(self.current_at)
            && expected.seq == e.seq {
                if expected.hash != e.entry_hash {
                    let reason = format!(
                        "the hash at seq {} differs from the one signed in checkpoint {}: the chain was rewritten",
                        e.seq, expected.checkpoint
                    );
                    return self.fail(chain, e.seq, reason);
                }
                self.current_at += 1;
            }
        if let Some(state) = e.state_hash {
            match &mut self.last_state {
                Some((seq, hash)) => {
                    *seq = e.seq;
                    hash.clear();
                    hash.push_str(state);
                }
                None => self.last_state = Some((e.seq, state.to_owned())),
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
        if let Some(expected) = self.current.drain(..).skip(self.current_at).last()
            && expected.seq > head {
                let reason = format!(
                    "events missing: checkpoint {} recorded head seq {} but the chain ends at seq {} (truncated)",
                    expected.checkpoint, expected.seq, head
                );
                self.fail(&chain, head + 1, reason);
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
        let live = self.states.remove(&chain);
        if let Some((seq, recorded)) = self.last_state.take() {
            match live {
                Some(live) if live != recorded => self.fail(
                    &chain,
                    seq,
                    format!(
                        "the live row differs from the state its latest event (seq {seq}) recorded: it was changed outside the application"
                    ),
                ),
                Some(_) => {}
                None if self.states_loaded() => self.fail(&chain, seq, "the entity's row is missing".into()),
                None => {}
            }
        }
        self.chain = chain;
    }

    /// Whether live states were given (an export of an older format has none).
    fn states_loaded(&self) -> bool {
        self.states_loaded
    }

    /// Ends the stream: the last chain, then whatever was expected but never seen.
    pub fn finish(mut self) -> Report {
        if !self.chain.is_empty() && !self.failed() {
            self.finish_chain();
        }
        if !self.failed() {
            let mut missing: Vec<(String, Expected)> =
                self.expected.drain().filter_map(|(k, v)| v.into_iter().last().map(|e| (k, e))).collect();
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
        if self.mac_key.is_none() {
            self.report.warnings.push(
                "no MAC key given (CASEWORK_AUDIT_MAC_KEY or the signing key): event MACs were NOT checked, so forged appends after the last checkpoint go unnoticed".into(),
            );
        }
        if self.unkeyed > 0 {
            self.report.warnings.push(format!("{} events predate event MACs (format 1) and carry none", self.unkeyed));
        }
        self.report
    }
}

/// Checks every checkpoint (contiguity, links, signature under a trusted key,
/// and its Merkle root rebuilt from the heads recorded up to it) and the anchor
/// file; returns every signed head, per chain, for the chains to reproduce.
fn check_checkpoints(
    checkpoints: &[audit_checkpoint::Model],
    heads: &[audit_checkpoint_head::Model],
    options: &Options,
    report: &mut Report,
) -> Result<HashMap<String, Vec<Expected>>, Failure> {
    let fail = |seq: i64, reason: String| Failure { chain_key: CHECKPOINT_CHAIN.to_owned(), seq, reason };
    if options.trusted_keys.is_empty() {
        if !options.allow_unpinned {
            return Err(fail(
                0,
                "no public key pinned: give --public-key or CASEWORK_AUDIT_TRUSTED_KEYS (or --allow-unpinned to accept any signer)".into(),
            ));
        }
        report.warnings.push("no public key pinned (--allow-unpinned): checkpoint signatures were checked against the key each names".into());
    }
    let mut by_checkpoint: BTreeMap<i64, Vec<&audit_checkpoint_head::Model>> = BTreeMap::new();
    for h in heads {
        by_checkpoint.entry(h.checkpoint_seq).or_default().push(h);
    }
    let mut folded: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    let mut expected: HashMap<String, Vec<Expected>> = HashMap::new();
    let mut prev_hash = GENESIS_HASH;
    for (i, cp) in checkpoints.iter().enumerate() {
        let want = i as i64 + 1;
        if cp.seq != want {
            return Err(fail(want, format!("checkpoint {want} is missing (next is {})", cp.seq)));
        }
        checkpoint::check_trusted(cp, &options.trusted_keys).map_err(|reason| fail(cp.seq, reason))?;
        if cp.prev_hash != prev_hash {
            return Err(fail(cp.seq, "prev_hash does not link to the previous checkpoint".into()));
        }
        prev_hash = &cp.checkpoint_hash;
        for h in by_checkpoint.get(&cp.seq).map(Vec::as_slice).unwrap_or_default() {
            let before = folded.get(h.chain_key.as_str()).map_or(0, |(seq, _)| *seq);
            if h.head_seq <= before {
                return Err(fail(
                    cp.seq,
                    format!("records {} at seq {}, not after its earlier signed seq {before}", h.chain_key, h.head_seq),
                ));
            }
            folded.insert(h.chain_key.as_str(), (h.head_seq, h.head_hash.as_str()));
            expected.entry(h.chain_key.clone()).or_default().push(Expected {
                seq: h.head_seq,
                hash: h.head_hash.clone(),
                checkpoint: cp.seq,
            });
        }
        let event_count: i64 = folded.values().map(|(seq, _)| *seq).sum();
        if checkpoint::merkle_root_of(folded.iter().map(|(k, (seq, hash))| (*k, *seq, *hash))) != cp.merkle_root
            || folded.len() as i64 != cp.chain_count
            || event_count != cp.event_count
        {
            return Err(fail(cp.seq, "the recorded chain heads do not match the signed Merkle root".into()));
        }
        report.checkpoints_checked += 1;
    }
    if let Some((&seq, _)) = by_checkpoint.iter().find(|(seq, _)| **seq < 1 || **seq > checkpoints.len() as i64) {
        return Err(fail(seq, "chain heads recorded for a checkpoint that does not exist".into()));
    }
    match &options.anchor {
        None => {
            if !checkpoints.is_empty() {
                report.warnings.push("no anchor directory given: a rolled-back checkpoint table cannot be detected".into());
            }
        }
        Some(Anchor::Missing) if checkpoints.is_empty() => {
            report.warnings.push("the anchor file does not exist yet (no checkpoint written)".into());
        }
        Some(Anchor::Missing) => {
            return Err(fail(1, format!("the anchor file is missing but the database holds {} checkpoints", checkpoints.len())));
        }
        Some(Anchor::Unreadable(why)) => {
            return Err(fail(0, format!("the anchor file is unreadable (edited or cut): {why}")));
        }
        Some(Anchor::Records(records)) => {
            let mut prev = GENESIS_HASH.to_owned();
            for (i, record) in records.iter().enumerate() {
                let want = i as i64 + 1;
                if record.seq != want {
                    return Err(fail(want, format!("the anchor file is not contiguous: line {want} holds checkpoint {}", record.seq)));
                }
                let model = audit_checkpoint::Model::from(record.clone());
                checkpoint::check_trusted(&model, &options.trusted_keys)
                    .map_err(|reason| fail(record.seq, format!("in the anchor file: {reason}")))?;
                if record.prev_hash != prev {
                    return Err(fail(record.seq, "in the anchor file: prev_hash does not link to the previous line".into()));
                }
                prev = record.checkpoint_hash.clone();
                match checkpoints.get(i) {
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
            if checkpoints.len() > records.len() {
                return Err(fail(
                    records.len() as i64 + 1,
                    "in the database but not in the anchor file: the anchor file was truncated".into(),
                ));
            }
        }
    }
    if checkpoints.is_empty() {
        report.warnings.push("no checkpoint yet: a truncated chain tail cannot be detected".into());
    }
    let scope = options.complaint.map(|id| (format!("complaint:{id}"), format!("complaint-access:{id}")));
    Ok(expected.into_iter().filter(|(k, _)| scope.as_ref().is_none_or(|(a, b)| k == a || k == b)).collect())
}

const EVENT_COLUMNS: &str = "id, chain_key, seq, occurred_at, actor_id, actor_role, request_id, client_addr, action, \
    target_type, target_id, complaint_id, sensitivity, reason, changes, canonical, prev_hash, entry_hash, format_version, mac, state_hash";

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
            mac: r.try_get(19)?,
            state_hash: r.try_get(20)?,
        }
    }};
}

/// Streams the events `sql` selects through `verifier` (checked on a second
/// thread, [`super::pipeline`]), stopping at the first failure.
async fn scan_postgres(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    binds: &[String],
    verifier: ChainVerifier,
) -> anyhow::Result<ChainVerifier> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for value in binds {
        query = query.bind(value);
    }
    let mut pipeline = Pipeline::start(verifier);
    let mut rows = query.fetch(conn);
    while let Some(row) = rows.try_next().await? {
        if !pipeline.push(&event_row!(&row)).await {
            break;
        }
    }
    drop(rows);
    pipeline.finish().await
}

/// [`scan_postgres`] on SQLite: the statement is stepped on this thread
/// through the connection's handle ([`super::sqlite_scan`]), off the async
/// workers (`block_in_place`), while the checks run on a second thread. On a
/// current-thread runtime (where nothing may block) it checks inline.
async fn scan_sqlite(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
    binds: &[String],
    mut verifier: ChainVerifier,
) -> anyhow::Result<ChainVerifier> {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let mut handle = conn.lock_handle().await?;
    if !multi_thread {
        let db = handle.as_raw_handle();
        // SAFETY: `handle` keeps the connection locked out of sqlx's worker
        // until it is dropped; nothing else uses it meanwhile.
        let result = unsafe {
            super::sqlite_scan::scan_events(db, sql, binds, |row| {
                verifier.push(row);
                !verifier.failed()
            })
        };
        drop(handle);
        return result.map(|()| verifier);
    }
    let mut pipeline = Pipeline::start(verifier);
    {
        let db = handle.as_raw_handle();
        // SAFETY: as above.
        tokio::task::block_in_place(|| unsafe {
            super::sqlite_scan::scan_events(db, sql, binds, |row| pipeline.blocking_push(row))
        })?;
    }
    drop(handle);
    pipeline.finish().await
}

/// Everything read from the database besides the events.
struct Stored {
    checkpoints: Vec<audit_checkpoint::Model>,
    heads: Vec<audit_checkpoint_head::Model>,
    versions: HashMap<Uuid, i64>,
    /// The state hash of each live complaint and user, by chain key.
    states: HashMap<String, String>,
}

/// Reads checkpoints, their heads and complaint versions, then streams the
/// events through `verifier`, all inside one read transaction so a live server
/// appending meanwhile cannot make a consistent trail look inconsistent.
macro_rules! verify_in_snapshot {
    ($pool:expr, $begin:expr, $ph:expr, $scan:ident, $options:expr, $report:expr) => {{
        use sea_orm::sqlx::Row;
        let mut tx = $pool.begin().await?;
        if let Some(statement) = $begin {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let mut stored = Stored { checkpoints: Vec::new(), heads: Vec::new(), versions: HashMap::new(), states: HashMap::new() };
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
            format!("SELECT * FROM complaint WHERE id = {}", $ph(1))
        } else {
            "SELECT * FROM complaint".to_owned()
        };
        // Only placeholders are interpolated; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(complaint_sql));
        if let Some(id) = $options.complaint {
            query = query.bind(id);
        }
        let mut rows = query.fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            let c = <complaint::Model as sea_orm::FromQueryResult>::from_query_result(&sea_orm::QueryResult::from(r), "")?;
            stored.versions.insert(c.id, i64::from(c.version));
            stored.states.insert(format!("complaint:{}", c.id), state::complaint_state(&c));
        }
        drop(rows);
        if $options.complaint.is_none() {
            let mut rows = sqlx::query("SELECT * FROM app_user").fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                let u = <app_user::Model as sea_orm::FromQueryResult>::from_query_result(&sea_orm::QueryResult::from(r), "")?;
                stored.states.insert(format!("user:{}", u.id), state::user_state(&u));
            }
            drop(rows);
        }

        match check_checkpoints(&stored.checkpoints, &stored.heads, $options, &mut $report) {
            Err(failure) => {
                $report.first_failure = Some(failure);
                $report
            }
            Ok(expected) => {
                let mut verifier = ChainVerifier::new(expected, stored.versions, stored.states, $options.mac_key.clone());
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
                let binds: Vec<String> = match $options.complaint {
                    Some(id) => vec![format!("complaint:{id}"), format!("complaint-access:{id}")],
                    None => Vec::new(),
                };
                let verifier = $scan(&mut *tx, &sql, &binds, verifier).await?;
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
            verify_in_snapshot!(
                db.get_sqlite_connection_pool(),
                None::<&str>,
                |_: u8| "?".to_owned(),
                scan_sqlite,
                options,
                report
            )
        }
        DbBackend::Postgres => verify_in_snapshot!(
            db.get_postgres_connection_pool(),
            Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            |n: u8| format!("${n}"),
            scan_postgres,
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
    let mut verifier = ChainVerifier::new(expected, versions, export.states, options.mac_key.clone());
    verifier.report = report;
    let scope = options.complaint.map(|id| (format!("complaint:{id}"), format!("complaint-access:{id}")));
    for event in &export.events {
        if let Some((a, b)) = &scope
            && event.chain_key != *a && event.chain_key != *b {
                continue;
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
            format_version: 2,
            mac: None,
            state_hash: Some("ab".repeat(32)),
        };
        m.canonical = to_canonical_json(&hashed_object(&m)).unwrap();
        m.entry_hash = entry_hash(&m.prev_hash, &m.canonical);
        m
    }

    fn row(m: &entity::audit_event::Model) -> EventRow<'_> {
        EventRow::from(m)
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
        let mut v = ChainVerifier::new(HashMap::new(), HashMap::new(), HashMap::new(), None);
        v.push(&row(&a));
        v.push(&row(&b));
        let report = v.finish();
        assert!(report.ok(), "{:?}", report.first_failure);
        assert_eq!(report.checked_events, 2);

        let mut edited = b.clone();
        edited.actor_role = Some("ADMIN".into());
        let mut v = ChainVerifier::new(HashMap::new(), HashMap::new(), HashMap::new(), None);
        v.push(&row(&a));
        v.push(&row(&edited));
        let failure = v.finish().first_failure.unwrap();
        assert_eq!((failure.chain_key.as_str(), failure.seq), ("system", 2));
        assert!(failure.reason.contains("column was edited"));
    }
}
