//! Signed checkpoints over every chain head, so a truncated or re-hashed chain
//! is caught even though each chain on its own still links.
//!
//! A checkpoint holds the RFC 9162 Merkle tree hash over (chain_key, head seq,
//! head hash) of every chain sorted by chain key, the previous checkpoint's
//! hash, the time and the counts, as canonical JSON signed with Ed25519. The
//! heads that moved since the previous checkpoint are stored beside it
//! (`audit_checkpoint_head`), so a verifier can rebuild the signed head set.
//! Each checkpoint is also appended to a JSON Lines file outside the database
//! (the anchor), which catches a rolled-back checkpoint table.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::Context;
use futures_util::TryStreamExt;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{GENESIS_HASH, MacKey, append::timestamp, canonical::to_canonical_json};
use entity::{audit_checkpoint, audit_checkpoint_head, audit_event};

/// Domain separation for checkpoint hashes.
const CHECKPOINT_DOMAIN: &[u8] = b"casework.checkpoint.v1\0";
/// The advisory lock that lets one PostgreSQL instance write a checkpoint at a time.
const CHECKPOINT_LOCK: i64 = 0x6361_7365_636b_7074; // "caseckpt"
/// The anchor file's name inside the anchor directory.
pub const ANCHOR_FILE: &str = "checkpoints.jsonl";

/// The 32-byte Ed25519 seed that signs checkpoints (`CASEWORK_AUDIT_SIGNING_KEY`,
/// 64 hex digits). Its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningSeed([u8; 32]);

impl SigningSeed {
    pub fn parse(hex_text: &str) -> Result<SigningSeed, String> {
        let bytes = hex::decode(hex_text.trim()).map_err(|_| "must be 64 hexadecimal digits".to_owned())?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| "must be 64 hexadecimal digits (32 bytes)".to_owned())?;
        Ok(SigningSeed(seed))
    }

    pub fn random() -> SigningSeed {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        SigningSeed(seed)
    }

    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.0)
    }

    /// The event MAC key derived from this seed (used when no
    /// `CASEWORK_AUDIT_MAC_KEY` is configured): HMAC-SHA-256(seed, label).
    pub fn derive_mac_key(&self) -> super::MacKey {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"casework.audit.mac-key.v1");
        super::MacKey::from_bytes(&mac.finalize().into_bytes())
    }

    /// The public key, hex-encoded (what verifiers pin).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing_key().verifying_key().to_bytes())
    }
}

impl fmt::Debug for SigningSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSeed(…)")
    }
}

/// Parses a hex Ed25519 public key.
pub fn parse_public_key(hex_text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(hex_text.trim()).map_err(|_| "the public key must be 64 hexadecimal digits".to_owned())?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| "the public key must be 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_owned())
}

/// A checkpoint key the verifier trusts, for checkpoints created within its
/// validity period (either end open).
#[derive(Clone, Debug)]
pub struct TrustedKey {
    pub key: VerifyingKey,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl TrustedKey {
    pub fn always(key: VerifyingKey) -> TrustedKey {
        TrustedKey { key, from: None, until: None }
    }

    pub fn hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at < until)
    }
}

/// Parses `HEX[@FROM..UNTIL]`, comma-separated (RFC 3339; either end may be empty).
pub fn parse_trusted_keys(text: &str) -> Result<Vec<TrustedKey>, String> {
    let time = |t: &str| -> Result<Option<DateTime<Utc>>, String> {
        if t.trim().is_empty() {
            return Ok(None);
        }
        DateTime::parse_from_rfc3339(t.trim()).map(|t| Some(t.with_timezone(&Utc))).map_err(|e| format!("{t:?}: {e}"))
    };
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (key, period) = entry.trim().split_once('@').unwrap_or((entry.trim(), ""));
            let key = parse_public_key(key)?;
            let (from, until) = if period.is_empty() {
                (None, None)
            } else {
                let (from, until) = period.split_once("..").ok_or_else(|| format!("{period:?}: expected FROM..UNTIL"))?;
                (time(from)?, time(until)?)
            };
            Ok(TrustedKey { key, from, until })
        })
        .collect()
}

/// A chain head as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub chain_key: String,
    pub seq: i64,
    pub hash: String,
}

/// RFC 9162 Merkle tree hash over the heads, which must be sorted by chain key.
/// Leaf data: `chain_key ‖ 0x00 ‖ seq (decimal) ‖ 0x00 ‖ head hash (hex)`.
pub fn merkle_root(heads: &[Head]) -> String {
    merkle_root_of(heads.iter().map(|h| (h.chain_key.as_str(), h.seq, h.hash.as_str())))
}

/// [`merkle_root`] over (chain key, seq, hash) triples, already sorted.
pub fn merkle_root_of<'a>(heads: impl Iterator<Item = (&'a str, i64, &'a str)>) -> String {
    let leaves: Vec<[u8; 32]> = heads
        .map(|(chain_key, seq, hash)| {
            let mut hasher = Sha256::new();
            hasher.update([0u8]);
            hasher.update(chain_key.as_bytes());
            hasher.update([0u8]);
            hasher.update(seq.to_string().as_bytes());
            hasher.update([0u8]);
            hasher.update(hash.as_bytes());
            hasher.finalize().into()
        })
        .collect();
    hex::encode(tree_hash(&leaves))
}

fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let mut hasher = Sha256::new();
            hasher.update([1u8]);
            hasher.update(tree_hash(&leaves[..k]));
            hasher.update(tree_hash(&leaves[k..]));
            hasher.finalize().into()
        }
    }
}

/// Sorts heads the way the Merkle tree expects (bytewise by chain key, never
/// by a database collation).
pub fn sort_heads(heads: &mut [Head]) {
    heads.sort_unstable_by(|a, b| a.chain_key.as_bytes().cmp(b.chain_key.as_bytes()));
}

/// The canonical JSON of a checkpoint: what is hashed and signed.
pub fn canonical_payload(cp: &audit_checkpoint::Model) -> anyhow::Result<String> {
    Ok(to_canonical_json(&json!({
        "format": "casework.checkpoint.v1",
        "seq": cp.seq,
        "created_at": timestamp(cp.created_at),
        "chain_count": cp.chain_count,
        "event_count": cp.event_count,
        "merkle_root": cp.merkle_root,
        "prev_hash": cp.prev_hash,
        "public_key": cp.public_key,
    }))?)
}

pub fn checkpoint_hash(canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(CHECKPOINT_DOMAIN);
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Checks one checkpoint against a list of trusted keys (empty: the key it
/// names, which only proves integrity, not authorship).
pub fn check_trusted(cp: &audit_checkpoint::Model, trusted: &[TrustedKey]) -> Result<(), String> {
    if trusted.is_empty() {
        return check_signature(cp, None);
    }
    let Some(key) = trusted.iter().find(|k| k.hex() == cp.public_key) else {
        return Err(format!("signed by key {} instead of the pinned public key", cp.public_key));
    };
    if !key.covers(cp.created_at) {
        return Err(format!("signed by key {} outside its validity period", cp.public_key));
    }
    check_signature(cp, Some(&key.key))
}

/// Checks one checkpoint on its own: its columns against its signed bytes, its
/// hash, and its signature (with `pinned` when given). `Err` says what is wrong.
pub fn check_signature(cp: &audit_checkpoint::Model, pinned: Option<&VerifyingKey>) -> Result<(), String> {
    let canonical = canonical_payload(cp).map_err(|e| e.to_string())?;
    if canonical != cp.canonical {
        return Err("the checkpoint's columns differ from its signed canonical bytes".into());
    }
    if checkpoint_hash(&cp.canonical) != cp.checkpoint_hash {
        return Err("checkpoint_hash does not match its canonical bytes".into());
    }
    let key = match pinned {
        Some(key) => {
            if hex::encode(key.to_bytes()) != cp.public_key {
                return Err(format!("signed by key {} instead of the pinned public key", cp.public_key));
            }
            *key
        }
        None => parse_public_key(&cp.public_key)?,
    };
    let signature = hex::decode(&cp.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok());
    let Some(signature) = signature else { return Err("the signature is malformed".into()) };
    key.verify(cp.canonical.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| "the Ed25519 signature does not verify".to_owned())
}

/// One line of the anchor file (and of an export): a checkpoint as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub chain_count: i64,
    pub event_count: i64,
    pub merkle_root: String,
    pub prev_hash: String,
    pub public_key: String,
    pub canonical: String,
    pub checkpoint_hash: String,
    pub signature: String,
}

impl From<&audit_checkpoint::Model> for CheckpointRecord {
    fn from(m: &audit_checkpoint::Model) -> Self {
        CheckpointRecord {
            seq: m.seq,
            created_at: m.created_at,
            chain_count: m.chain_count,
            event_count: m.event_count,
            merkle_root: m.merkle_root.clone(),
            prev_hash: m.prev_hash.clone(),
            public_key: m.public_key.clone(),
            canonical: m.canonical.clone(),
            checkpoint_hash: m.checkpoint_hash.clone(),
            signature: m.signature.clone(),
        }
    }
}

impl From<CheckpointRecord> for audit_checkpoint::Model {
    fn from(r: CheckpointRecord) -> Self {
        audit_checkpoint::Model {
            seq: r.seq,
            created_at: r.created_at,
            chain_count: r.chain_count,
            event_count: r.event_count,
            merkle_root: r.merkle_root,
            prev_hash: r.prev_hash,
            public_key: r.public_key,
            canonical: r.canonical,
            checkpoint_hash: r.checkpoint_hash,
            signature: r.signature,
        }
    }
}

/// What the anchor directory holds.
#[derive(Clone, Debug)]
pub enum Anchor {
    /// The directory has no anchor file (never written, or deleted).
    Missing,
    /// A line that is not a checkpoint record (edited, or cut mid-line).
    Unreadable(String),
    Records(Vec<CheckpointRecord>),
}

impl Anchor {
    /// The records read (none when missing or unreadable).
    pub fn records(&self) -> &[CheckpointRecord] {
        match self {
            Anchor::Records(records) => records,
            _ => &[],
        }
    }
}

/// Reads the anchor file of `dir`. A missing or unreadable file is reported,
/// not treated as empty: the verifier decides (it fails once checkpoints exist).
pub fn read_anchor(dir: &Path) -> anyhow::Result<Anchor> {
    let path = dir.join(ANCHOR_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Anchor::Missing),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(e) => return Ok(Anchor::Unreadable(format!("{} line {}: {e}", path.display(), i + 1))),
        }
    }
    Ok(Anchor::Records(records))
}

fn append_anchor(dir: &Path, record: &CheckpointRecord) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(ANCHOR_FILE);
    let mut line = serde_json::to_string(record)?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(line.as_bytes())?;
    file.sync_data()?;
    Ok(())
}

/// Where checkpoints go, what signs them, and what the writer found.
#[derive(Clone, Debug)]
pub struct CheckpointWriter {
    pub seed: SigningSeed,
    pub anchor_dir: Option<PathBuf>,
    /// Checks the events' MACs before their heads are signed.
    pub mac_key: MacKey,
    /// Set when the writer refused to sign because the trail was tampered
    /// with (`/readyz` then reports the trail compromised).
    pub compromised: Arc<Mutex<Option<IntegrityFailure>>>,
}

impl CheckpointWriter {
    /// A writer whose MAC key is derived from `seed`.
    pub fn new(seed: SigningSeed, anchor_dir: Option<PathBuf>) -> CheckpointWriter {
        let mac_key = seed.derive_mac_key();
        CheckpointWriter { seed, anchor_dir, mac_key, compromised: Arc::default() }
    }

    /// What the writer found wrong, if anything.
    pub fn compromised(&self) -> Option<IntegrityFailure> {
        self.compromised.lock().ok().and_then(|c| c.clone())
    }
}

/// The writer refused to sign: the trail does not extend what was signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit trail integrity failure at chain {chain_key} seq {seq}: {reason}")]
pub struct IntegrityFailure {
    pub chain_key: String,
    pub seq: i64,
    pub reason: String,
}

impl IntegrityFailure {
    fn new(chain_key: &str, seq: i64, reason: impl Into<String>) -> IntegrityFailure {
        IntegrityFailure { chain_key: chain_key.to_owned(), seq, reason: reason.into() }
    }
}

/// The heads the previous checkpoints signed, folded (latest per chain), after
/// checking that they reproduce the latest checkpoint's signed Merkle root.
async fn signed_heads(
    txn: &DatabaseTransaction,
    latest: Option<&audit_checkpoint::Model>,
) -> Result<BTreeMap<String, Head>, IntegrityFailure> {
    let Some(latest) = latest else { return Ok(BTreeMap::new()) };
    let db_error = |e: sea_orm::DbErr| IntegrityFailure::new("checkpoint", latest.seq, format!("reading the signed heads: {e}"));
    check_signature(latest, None).map_err(|reason| IntegrityFailure::new("checkpoint", latest.seq, reason))?;
    let backend = txn.get_database_backend();
    let rows = txn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT h.chain_key, h.head_seq, h.head_hash FROM audit_checkpoint_head h \
             JOIN (SELECT chain_key, MAX(head_seq) AS head_seq FROM audit_checkpoint_head GROUP BY chain_key) m \
             ON m.chain_key = h.chain_key AND m.head_seq = h.head_seq",
        ))
        .await
        .map_err(db_error)?;
    let mut heads = BTreeMap::new();
    for row in &rows {
        let head = Head {
            chain_key: row.try_get_by_index(0).map_err(db_error)?,
            seq: row.try_get_by_index(1).map_err(db_error)?,
            hash: row.try_get_by_index(2).map_err(db_error)?,
        };
        if heads.insert(head.chain_key.clone(), head.clone()).is_some() {
            return Err(IntegrityFailure::new(&head.chain_key, head.seq, "two recorded heads at one seq: audit_checkpoint_head was edited"));
        }
    }
    let mut set: Vec<Head> = heads.values().cloned().collect();
    sort_heads(&mut set);
    let event_count: i64 = set.iter().map(|h| h.seq).sum();
    if merkle_root(&set) != latest.merkle_root || set.len() as i64 != latest.chain_count || event_count != latest.event_count {
        return Err(IntegrityFailure::new(
            "checkpoint",
            latest.seq,
            "the recorded chain heads do not reproduce the signed Merkle root: audit_checkpoint_head was edited",
        ));
    }
    Ok(heads)
}

/// Checks, one event at a time in seq order, that the events of a chain from
/// its signed head on (starting at the signed seq, or at 1) extend it: the
/// signed event is unchanged, every later one links to its predecessor,
/// hashes to its stored hash, matches its columns and carries a valid MAC.
/// Only the latest hash is kept, so a chain of any length is checked in
/// constant memory.
pub struct Extension {
    chain: String,
    signed: Option<Head>,
    /// The signed event was met (always true without a signed head).
    met_signed: bool,
    next_seq: i64,
    prev_hash: String,
    buf: String,
}

impl Extension {
    pub fn new(chain: &str, signed: Option<&Head>) -> Extension {
        Extension {
            chain: chain.to_owned(),
            signed: signed.cloned(),
            met_signed: signed.is_none(),
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            buf: String::new(),
        }
    }

    fn fail(&self, seq: i64, reason: impl Into<String>) -> IntegrityFailure {
        IntegrityFailure::new(&self.chain, seq, reason)
    }

    /// Checks the chain's next event.
    pub fn push(&mut self, event: &audit_event::Model, key: &MacKey) -> Result<(), IntegrityFailure> {
        if !self.met_signed {
            let signed = self.signed.as_ref().expect("unmet only with a signed head");
            if event.seq != signed.seq {
                return Err(self.fail(signed.seq, format!("the signed event at seq {} is missing", signed.seq)));
            }
            if event.entry_hash != signed.hash {
                return Err(self.fail(
                    signed.seq,
                    format!("the signed event at seq {} was rewritten (its hash differs from the signed head)", signed.seq),
                ));
            }
            self.met_signed = true;
        } else {
            if event.seq != self.next_seq {
                return Err(self.fail(self.next_seq, format!("expected seq {}, found seq {}", self.next_seq, event.seq)));
            }
            if event.prev_hash != self.prev_hash {
                return Err(self.fail(event.seq, "prev_hash does not link to the previous event"));
            }
            let row = super::verify::EventRow::from(event);
            super::verify::rebuild_canonical(&mut self.buf, &row);
            if self.buf != event.canonical {
                return Err(self.fail(event.seq, "the stored columns differ from the hashed canonical bytes"));
            }
            if super::append::entry_hash(&event.prev_hash, &event.canonical) != event.entry_hash {
                return Err(self.fail(event.seq, "entry_hash is not the hash of the event"));
            }
            match &event.mac {
                Some(mac) if key.check(&event.entry_hash, mac) => {}
                Some(_) => return Err(self.fail(event.seq, "the event's MAC does not verify: forged event")),
                None => return Err(self.fail(event.seq, "the event has no MAC: forged event")),
            }
        }
        self.prev_hash.clear();
        self.prev_hash.push_str(&event.entry_hash);
        self.next_seq = event.seq + 1;
        Ok(())
    }

    /// The new head, once every event was pushed.
    pub fn finish(self) -> Result<Head, IntegrityFailure> {
        if let Some(signed) = self.signed.as_ref().filter(|_| !self.met_signed) {
            return Err(self.fail(signed.seq, format!("the signed event at seq {} is missing", signed.seq)));
        }
        Ok(Head { chain_key: self.chain, seq: self.next_seq - 1, hash: self.prev_hash })
    }
}

/// Chains whose new events are read and checked together by [`create`].
const EVENTS_BATCH_CHAINS: usize = 200;

/// Streams the events of `chains` from each one's signed seq on through an
/// [`Extension`] per chain; returns the chains that moved, with their new
/// heads, or refuses at the first chain that does not extend its signed head
/// ([`integrity_failure`]). One event is in memory at a time, however long a
/// chain grew since its last checkpoint (a sensitive complaint read 40 000
/// times once held 150 MB here).
async fn extend_batch(
    txn: &DatabaseTransaction,
    chains: &[(String, i64)],
    heads: &BTreeMap<String, Head>,
    writer: &CheckpointWriter,
) -> anyhow::Result<Vec<Head>> {
    let refuse = |failure| integrity_failure(writer, failure);
    let mut any = Condition::any();
    for (chain, from) in chains {
        any = any.add(
            Condition::all().add(audit_event::Column::ChainKey.eq(chain.as_str())).add(audit_event::Column::Seq.gte(*from)),
        );
    }
    let mut events = audit_event::Entity::find()
        .filter(any)
        .order_by_asc(audit_event::Column::ChainKey)
        .order_by_asc(audit_event::Column::Seq)
        .stream(txn)
        .await?;
    let mut ended: HashMap<String, Head> = HashMap::new();
    let mut current: Option<Extension> = None;
    loop {
        let event = events.try_next().await?;
        // The chain being checked ends with the stream or with the next chain's first event.
        if current.as_ref().is_some_and(|c| event.as_ref().is_none_or(|e| c.chain != e.chain_key)) {
            let head = current.take().expect("checked above").finish().map_err(refuse)?;
            ended.insert(head.chain_key.clone(), head);
        }
        let Some(event) = event else { break };
        let extension = current.get_or_insert_with(|| Extension::new(&event.chain_key, heads.get(&event.chain_key)));
        extension.push(&event, &writer.mac_key).map_err(refuse)?;
    }
    let mut moved = Vec::new();
    for (chain, _) in chains {
        let signed = heads.get(chain);
        let head = match ended.remove(chain) {
            Some(head) => head,
            None if signed.is_none() => continue, // a cache row without events: nothing to sign
            // Signed once, no event left from the signed seq on: refused.
            None => Extension::new(chain, signed).finish().map_err(refuse)?,
        };
        if signed.is_none_or(|s| s.seq != head.seq) {
            moved.push(head);
        }
    }
    Ok(moved)
}

/// Records an integrity failure: refuses, logs, counts, and marks the trail
/// compromised (see `/readyz`).
fn integrity_failure(writer: &CheckpointWriter, failure: IntegrityFailure) -> anyhow::Error {
    tracing::error!(chain = %failure.chain_key, seq = failure.seq, reason = %failure.reason, "refusing to sign an audit checkpoint: the trail was tampered with");
    metrics::counter!("casework_audit_integrity_failures_total").increment(1);
    if let Ok(mut compromised) = writer.compromised.lock() {
        *compromised = Some(failure.clone());
    }
    anyhow::Error::new(failure)
}

/// Writes a checkpoint unless nothing changed since the last one (or `force`),
/// or another instance is writing one right now. Returns the new checkpoint.
pub async fn create(db: &DatabaseConnection, writer: &CheckpointWriter, force: bool) -> anyhow::Result<Option<audit_checkpoint::Model>> {
    let backend = db.get_database_backend();
    let txn = crate::db::begin_write(db).await?;
    if backend == DbBackend::Postgres {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_try_advisory_xact_lock($1)",
                [CHECKPOINT_LOCK.into()],
            ))
            .await?
            .context("pg_try_advisory_xact_lock returned no row")?;
        if !row.try_get_by_index::<bool>(0)? {
            return Ok(None); // another instance is writing one
        }
    }
    let latest = audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Seq).one(&txn).await?;

    // The database guards first: a replaced trigger function voids them.
    if let Err(error) = crate::db::check_audit_triggers(&txn).await {
        return Err(integrity_failure(writer, IntegrityFailure::new("database", 0, format!("{error:#}"))));
    }

    // What was signed before, and which chains may have moved since. The
    // mutable `audit_chain` cache only nominates candidates; the heads signed
    // come from `audit_event` and must extend the previously signed ones.
    let mut heads = match signed_heads(&txn, latest.as_ref()).await {
        Ok(heads) => heads,
        Err(failure) => return Err(integrity_failure(writer, failure)),
    };
    let rows = txn
        .query_all_raw(Statement::from_string(backend, "SELECT chain_key, head_seq, head_hash FROM audit_chain"))
        .await?;
    let mut candidates: Vec<(String, i64)> = Vec::new();
    for row in &rows {
        let (chain, seq, hash): (String, i64, String) =
            (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?);
        match heads.get(&chain) {
            Some(signed) if signed.seq == seq && signed.hash == hash => {}
            Some(signed) => candidates.push((chain, signed.seq)),
            None => candidates.push((chain, 1)),
        }
    }
    // A batch of chains per statement, streamed: one event in memory at a
    // time (the first checkpoint of a trail reads every event).
    let mut moved = Vec::new();
    for batch in candidates.chunks(EVENTS_BATCH_CHAINS) {
        moved.extend(extend_batch(&txn, batch, &heads, writer).await?);
    }
    for head in &moved {
        heads.insert(head.chain_key.clone(), head.clone());
    }
    let mut heads: Vec<Head> = heads.into_values().collect();
    sort_heads(&mut heads);
    let event_count: i64 = heads.iter().map(|h| h.seq).sum();
    if let Some(latest) = &latest
        && !force && moved.is_empty() && latest.event_count == event_count && latest.chain_count == heads.len() as i64 {
            return Ok(None);
        }

    let mut model = audit_checkpoint::Model {
        seq: latest.as_ref().map_or(1, |l| l.seq + 1),
        created_at: crate::service::now(),
        chain_count: heads.len() as i64,
        event_count,
        merkle_root: merkle_root(&heads),
        prev_hash: latest.as_ref().map_or_else(|| GENESIS_HASH.to_owned(), |l| l.checkpoint_hash.clone()),
        public_key: writer.seed.public_key_hex(),
        canonical: String::new(),
        checkpoint_hash: String::new(),
        signature: String::new(),
    };
    model.canonical = canonical_payload(&model)?;
    model.checkpoint_hash = checkpoint_hash(&model.canonical);
    model.signature = hex::encode(writer.seed.signing_key().sign(model.canonical.as_bytes()).to_bytes());

    let active: audit_checkpoint::ActiveModel = sea_orm::IntoActiveModel::into_active_model(model.clone());
    if let Err(error) = audit_checkpoint::Entity::insert(active).exec_without_returning(&txn).await {
        if crate::service::is_unique_violation(&error) {
            return Ok(None); // another instance took this number
        }
        return Err(error).context("inserting the checkpoint");
    }
    let moved: Vec<audit_checkpoint_head::ActiveModel> = moved
        .iter()
        .map(|h| audit_checkpoint_head::ActiveModel {
            checkpoint_seq: Set(model.seq),
            chain_key: Set(h.chain_key.clone()),
            head_seq: Set(h.seq),
            head_hash: Set(h.hash.clone()),
        })
        .collect();
    for chunk in moved.chunks(1000) {
        audit_checkpoint_head::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
    }
    txn.commit().await.context("committing the checkpoint")?;

    if let Some(dir) = &writer.anchor_dir {
        append_anchor(dir, &CheckpointRecord::from(&model)).context("appending the checkpoint to the anchor file")?;
    }
    Ok(Some(model))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(key: &str, seq: i64) -> Head {
        Head { chain_key: key.into(), seq, hash: "ab".repeat(32) }
    }

    #[test]
    fn merkle_root_follows_rfc_9162() {
        // Empty tree: SHA-256 of the empty string.
        assert_eq!(merkle_root(&[]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let heads = [head("a", 1), head("b", 2), head("c", 3)];
        let leaf = |h: &Head| -> [u8; 32] {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(h.chain_key.as_bytes())
                .chain_update([0u8])
                .chain_update(h.seq.to_string())
                .chain_update([0u8])
                .chain_update(h.hash.as_bytes())
                .finalize()
                .into()
        };
        let node = |l: [u8; 32], r: [u8; 32]| -> [u8; 32] { Sha256::new().chain_update([1u8]).chain_update(l).chain_update(r).finalize().into() };
        assert_eq!(merkle_root(&heads[..1]), hex::encode(leaf(&heads[0])));
        // Three leaves split 2 + 1.
        let expected = node(node(leaf(&heads[0]), leaf(&heads[1])), leaf(&heads[2]));
        assert_eq!(merkle_root(&heads), hex::encode(expected));
        // Any change of a head changes the root.
        assert_ne!(merkle_root(&[head("a", 1), head("b", 2), head("c", 4)]), merkle_root(&heads));
    }

    #[test]
    fn signatures_verify_only_with_the_pinned_key() {
        let seed = SigningSeed::random();
        let mut cp = audit_checkpoint::Model {
            seq: 1,
            created_at: DateTime::from_timestamp_micros(1_764_000_000_000_000).unwrap(),
            chain_count: 1,
            event_count: 3,
            merkle_root: "00".repeat(32),
            prev_hash: GENESIS_HASH.into(),
            public_key: seed.public_key_hex(),
            canonical: String::new(),
            checkpoint_hash: String::new(),
            signature: String::new(),
        };
        cp.canonical = canonical_payload(&cp).unwrap();
        cp.checkpoint_hash = checkpoint_hash(&cp.canonical);
        cp.signature = hex::encode(seed.signing_key().sign(cp.canonical.as_bytes()).to_bytes());
        let pinned = parse_public_key(&seed.public_key_hex()).unwrap();
        assert_eq!(check_signature(&cp, Some(&pinned)), Ok(()));
        let other = parse_public_key(&SigningSeed::random().public_key_hex()).unwrap();
        assert!(check_signature(&cp, Some(&other)).unwrap_err().contains("pinned"));
        let mut edited = cp.clone();
        edited.event_count = 2;
        assert!(check_signature(&edited, Some(&pinned)).is_err());
    }
}
