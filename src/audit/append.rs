//! Appending an event to its hash chain, inside the caller's transaction.
//!
//! The chain head row (`audit_chain`) is bumped first with an upsert: its row
//! lock orders concurrent appends to one chain, while appends to different
//! chains never wait on each other. Then the event is inserted with the hash of
//! its predecessor, and the head remembers the new hash. A chain opened in the
//! same transaction as its entity skips the upsert ([`append_opening`]).

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{FORMAT_VERSION, GENESIS_HASH, MacKey, NewEvent, Origin, canonical::to_canonical_json};
use entity::{audit_chain, audit_event};

/// Domain separation for the entry hash, so an audit hash can never be
/// confused with a hash of anything else.
pub(crate) const HASH_DOMAIN: &[u8] = b"casework.audit.v1\0";

/// `SHA-256(domain ‖ prev_hash ‖ canonical)`, hex-encoded.
pub fn entry_hash(prev_hash_hex: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(prev_hash_hex.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// The object that is canonicalised and hashed: every stored column but the
/// entry hash itself (and the stored canonical text).
/// From format 2 on the state hash is hashed too; the MAC never is (it is
/// computed over the hash).
pub fn hashed_object(event: &audit_event::Model) -> Value {
    let mut object = json!({
        "format_version": event.format_version,
        "id": event.id.to_string(),
        "chain_key": event.chain_key,
        "seq": event.seq,
        "occurred_at": timestamp(event.occurred_at),
        "actor_id": event.actor_id.map(|id| id.to_string()),
        "actor_role": event.actor_role,
        "request_id": event.request_id,
        "client_addr": event.client_addr,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "complaint_id": event.complaint_id.map(|id| id.to_string()),
        "sensitivity": event.sensitivity,
        "reason": event.reason,
        "changes": serde_json::from_str::<Value>(&event.changes).unwrap_or(Value::Null),
        "prev_hash": event.prev_hash,
    });
    if event.format_version >= 2 {
        object["state_hash"] = event.state_hash.clone().into();
    }
    object
}

/// RFC 3339 with microseconds, the precision both databases keep.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Appends `event` to its chain in the transaction `txn`, keyed with `key`,
/// and returns it. Every chain (complaint, access, user, team, system, and any
/// added later) goes through here, so every event carries a MAC.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    origin: &Origin,
    key: &MacKey,
    event: NewEvent,
) -> anyhow::Result<audit_event::Model> {
    let chain_key = event.chain.to_string();
    let now = Utc::now().trunc_subsecs(6);

    let bump = head_row(&chain_key, GENESIS_HASH, now)
        .on_conflict(
            OnConflict::column(audit_chain::Column::ChainKey)
                .value(
                    audit_chain::Column::HeadSeq,
                    Expr::col((audit_chain::Entity, audit_chain::Column::HeadSeq)).add(1),
                )
                .value(audit_chain::Column::UpdatedAt, now)
                .to_owned(),
        )
        .returning(Query::returning().columns([audit_chain::Column::HeadSeq, audit_chain::Column::HeadHash]))
        .to_owned();
    let head = txn
        .query_one(&bump)
        .await
        .context("advancing the audit chain head")?
        .context("the audit chain head upsert returned no row")?;
    let seq: i64 = head.try_get_by_index(0).context("reading the chain head seq")?;
    let prev_hash: String = head.try_get_by_index(1).context("reading the chain head hash")?;

    let model = sealed(origin, key, event, chain_key, seq, prev_hash, now)?;
    insert_event(txn, &model).await?;
    audit_chain::Entity::update_many()
        .col_expr(audit_chain::Column::HeadHash, Expr::value(model.entry_hash.clone()))
        .filter(sea_orm::ColumnTrait::eq(&audit_chain::Column::ChainKey, model.chain_key.as_str()))
        .exec(txn)
        .await
        .context("recording the new chain head hash")?;
    Ok(model)
}

/// Appends the first event of a chain that cannot exist yet (the chain of an
/// entity created in this transaction): the head row is inserted already
/// holding the event's hash, one statement fewer than [`append`]. Should the
/// chain exist after all, the head's primary key refuses the insert and the
/// transaction fails: a chain is never restarted.
pub async fn append_opening<C: ConnectionTrait>(
    txn: &C,
    origin: &Origin,
    key: &MacKey,
    event: NewEvent,
) -> anyhow::Result<audit_event::Model> {
    let chain_key = event.chain.to_string();
    let now = Utc::now().trunc_subsecs(6);
    let model = sealed(origin, key, event, chain_key, 1, GENESIS_HASH.to_owned(), now)?;
    txn.execute(&head_row(&model.chain_key, &model.entry_hash, now)).await.context("opening the audit chain")?;
    insert_event(txn, &model).await?;
    Ok(model)
}

/// A new chain head at seq 1 holding `head_hash`.
fn head_row(chain_key: &str, head_hash: &str, now: DateTime<Utc>) -> sea_orm::sea_query::InsertStatement {
    Query::insert()
        .into_table(audit_chain::Entity)
        .columns([
            audit_chain::Column::ChainKey,
            audit_chain::Column::HeadSeq,
            audit_chain::Column::HeadHash,
            audit_chain::Column::UpdatedAt,
        ])
        .values_panic([chain_key.into(), 1i64.into(), head_hash.into(), now.into()])
        .to_owned()
}

/// The event at `seq` after `prev_hash`: canonical form, entry hash and MAC.
fn sealed(
    origin: &Origin,
    key: &MacKey,
    event: NewEvent,
    chain_key: String,
    seq: i64,
    prev_hash: String,
    now: DateTime<Utc>,
) -> anyhow::Result<audit_event::Model> {
    let mut model = audit_event::Model {
        id: Uuid::now_v7(),
        chain_key: chain_key.clone(),
        seq,
        occurred_at: now,
        actor_id: origin.actor_id,
        actor_role: origin.actor_role.map(str::to_owned),
        request_id: origin.request_id.clone(),
        client_addr: origin.client_addr.clone(),
        action: event.action.to_owned(),
        target_type: event.target_type.to_owned(),
        target_id: event.target_id,
        complaint_id: event.complaint_id,
        sensitivity: event.sensitivity.as_str().to_owned(),
        reason: event.reason,
        changes: to_canonical_json(&event.changes.to_json())?,
        canonical: String::new(),
        prev_hash,
        entry_hash: String::new(),
        format_version: FORMAT_VERSION,
        mac: None,
        state_hash: event.state_hash,
    };
    model.canonical = to_canonical_json(&hashed_object(&model))?;
    model.entry_hash = entry_hash(&model.prev_hash, &model.canonical);
    model.mac = Some(key.sign(&model.entry_hash));
    Ok(model)
}

async fn insert_event<C: ConnectionTrait>(txn: &C, model: &audit_event::Model) -> anyhow::Result<()> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(model.id),
        chain_key: Set(model.chain_key.clone()),
        seq: Set(model.seq),
        occurred_at: Set(model.occurred_at),
        actor_id: Set(model.actor_id),
        actor_role: Set(model.actor_role.clone()),
        request_id: Set(model.request_id.clone()),
        client_addr: Set(model.client_addr.clone()),
        action: Set(model.action.clone()),
        target_type: Set(model.target_type.clone()),
        target_id: Set(model.target_id.clone()),
        complaint_id: Set(model.complaint_id),
        sensitivity: Set(model.sensitivity.clone()),
        reason: Set(model.reason.clone()),
        changes: Set(model.changes.clone()),
        canonical: Set(model.canonical.clone()),
        prev_hash: Set(model.prev_hash.clone()),
        entry_hash: Set(model.entry_hash.clone()),
        format_version: Set(model.format_version),
        mac: Set(model.mac.clone()),
        state_hash: Set(model.state_hash.clone()),
    })
    .exec_without_returning(txn)
    .await
    .context("inserting the audit event")?;
    Ok(())
}
