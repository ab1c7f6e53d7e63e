//! `casework audit export`: the whole trail as JSON Lines, verifiable offline
//! with `casework audit verify --file`.
//!
//! One object per line, each with a `type`: a `header`, the `checkpoint`s and
//! their `checkpoint_head`s, every `complaint`'s version, and every `event`
//! with all its columns (including the canonical bytes that were hashed), in
//! (chain_key, seq) order.

use std::{collections::HashMap, io::Write};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sea_orm::{
    AccessMode, DatabaseConnection, DbBackend, EntityTrait, IsolationLevel, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{checkpoint::CheckpointRecord, verify::EventRow};
use entity::{app_user, audit_checkpoint, audit_checkpoint_head, audit_event, complaint};

pub const EXPORT_FORMAT: &str = "casework.audit-export.v1";

/// An event as exported: every stored column.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: Uuid,
    pub chain_key: String,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub complaint_id: Option<Uuid>,
    pub sensitivity: String,
    pub reason: Option<String>,
    pub changes: String,
    pub canonical: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub format_version: i32,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub state_hash: Option<String>,
}

impl EventRecord {
    pub fn row(&self) -> EventRow<'_> {
        EventRow {
            id: self.id,
            chain_key: &self.chain_key,
            seq: self.seq,
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            actor_role: self.actor_role.as_deref(),
            request_id: self.request_id.as_deref(),
            client_addr: self.client_addr.as_deref(),
            action: &self.action,
            target_type: &self.target_type,
            target_id: self.target_id.as_deref(),
            complaint_id: self.complaint_id,
            sensitivity: &self.sensitivity,
            reason: self.reason.as_deref(),
            changes: &self.changes,
            canonical: &self.canonical,
            prev_hash: &self.prev_hash,
            entry_hash: &self.entry_hash,
            format_version: self.format_version,
            mac: self.mac.as_deref(),
            state_hash: self.state_hash.as_deref(),
        }
    }
}

impl From<audit_event::Model> for EventRecord {
    fn from(m: audit_event::Model) -> Self {
        EventRecord {
            id: m.id,
            chain_key: m.chain_key,
            seq: m.seq,
            occurred_at: m.occurred_at,
            actor_id: m.actor_id,
            actor_role: m.actor_role,
            request_id: m.request_id,
            client_addr: m.client_addr,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
            complaint_id: m.complaint_id,
            sensitivity: m.sensitivity,
            reason: m.reason,
            changes: m.changes,
            canonical: m.canonical,
            prev_hash: m.prev_hash,
            entry_hash: m.entry_hash,
            format_version: m.format_version,
            mac: m.mac,
            state_hash: m.state_hash,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeadRecord {
    pub checkpoint_seq: i64,
    pub chain_key: String,
    pub head_seq: i64,
    pub head_hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Header { format: String, exported_at: DateTime<Utc> },
    Checkpoint(CheckpointRecord),
    CheckpointHead(HeadRecord),
    Complaint { id: Uuid, version: i64 },
    /// The state hash of a live entity (complaint, user) at export time.
    EntityState { chain_key: String, state_hash: String },
    Event(EventRecord),
}

/// What an export file holds.
#[derive(Debug, Default)]
pub struct Export {
    pub checkpoints: Vec<CheckpointRecord>,
    pub heads: Vec<audit_checkpoint_head::Model>,
    pub complaints: HashMap<Uuid, i64>,
    /// Live state hashes by chain key.
    pub states: HashMap<String, String>,
    pub events: Vec<EventRecord>,
}

/// Writes the trail of `db` to `out`; returns the number of events written.
/// Everything is read in one snapshot, so events appended meanwhile cannot make
/// the export disagree with itself (a complaint's version with its chain).
pub async fn export(db: &DatabaseConnection, out: &mut impl Write) -> anyhow::Result<u64> {
    let db = match db.get_database_backend() {
        DbBackend::Postgres => db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?,
        // A deferred SQLite transaction reads one WAL snapshot.
        _ => db.begin().await?,
    };
    let db = &db;
    let mut write = |line: &Line| -> anyhow::Result<()> {
        serde_json::to_writer(&mut *out, line)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    write(&Line::Header { format: EXPORT_FORMAT.to_owned(), exported_at: Utc::now() })?;
    let checkpoints = audit_checkpoint::Entity::find().order_by_asc(audit_checkpoint::Column::Seq).all(db).await?;
    for cp in &checkpoints {
        write(&Line::Checkpoint(cp.into()))?;
    }
    let heads = audit_checkpoint_head::Entity::find()
        .order_by_asc(audit_checkpoint_head::Column::CheckpointSeq)
        .order_by_asc(audit_checkpoint_head::Column::ChainKey)
        .all(db)
        .await?;
    for h in heads {
        write(&Line::CheckpointHead(HeadRecord {
            checkpoint_seq: h.checkpoint_seq,
            chain_key: h.chain_key,
            head_seq: h.head_seq,
            head_hash: h.head_hash,
        }))?;
    }
    let mut complaints = complaint::Entity::find().order_by_asc(complaint::Column::Id).stream(db).await?;
    while let Some(c) = complaints.try_next().await? {
        write(&Line::Complaint { id: c.id, version: i64::from(c.version) })?;
        write(&Line::EntityState { chain_key: format!("complaint:{}", c.id), state_hash: super::state::complaint_state(&c) })?;
    }
    drop(complaints);
    for u in app_user::Entity::find().order_by_asc(app_user::Column::Id).all(db).await? {
        write(&Line::EntityState { chain_key: format!("user:{}", u.id), state_hash: super::state::user_state(&u) })?;
    }
    let mut events = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::ChainKey)
        .order_by_asc(audit_event::Column::Seq)
        .stream(db)
        .await?;
    let mut count = 0;
    while let Some(event) = events.try_next().await? {
        write(&Line::Event(event.into()))?;
        count += 1;
    }
    Ok(count)
}

/// Reads an export file.
pub fn parse(text: &str) -> anyhow::Result<Export> {
    let mut export = Export::default();
    let mut header = false;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: Line = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        match line {
            Line::Header { format, .. } => {
                anyhow::ensure!(format == EXPORT_FORMAT, "line {}: unknown export format {format:?}", i + 1);
                header = true;
            }
            Line::Checkpoint(cp) => export.checkpoints.push(cp),
            Line::CheckpointHead(h) => export.heads.push(audit_checkpoint_head::Model {
                checkpoint_seq: h.checkpoint_seq,
                chain_key: h.chain_key,
                head_seq: h.head_seq,
                head_hash: h.head_hash,
            }),
            Line::Complaint { id, version } => {
                export.complaints.insert(id, version);
            }
            Line::EntityState { chain_key, state_hash } => {
                export.states.insert(chain_key, state_hash);
            }
            Line::Event(e) => export.events.push(e),
        }
    }
    anyhow::ensure!(header, "not a casework audit export (no header line)");
    Ok(export)
}
