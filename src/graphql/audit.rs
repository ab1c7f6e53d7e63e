//! The audit trail over GraphQL: events, verification, checkpoints.

use async_graphql::{
    Context, Enum, ID, InputObject, Json, Object, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    connection::{self as cursor, MAX_PAGE, page_size},
    context::ContextExt,
};
use crate::{
    auth::Actor,
    domain::Role,
    error::{AppError, AppResult},
    ids::{self, Kind},
    service::{
        Services,
        audit::{self as service, EventFilter, VisibleEvent},
        complaints::Cursor,
    },
};
use entity::audit_checkpoint;

/// How sensitive the complaint was when the event happened.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditSensitivity {
    /// An ordinary complaint (or no complaint).
    Normal,
    /// Marked sensitive: personal data, privacy, VIP.
    Sensitive,
    /// Referred to legal.
    LegalHold,
}

/// One entry of the append-only, hash-chained audit trail.
pub struct AuditEvent(pub VisibleEvent);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ids::encode(Kind::AuditEvent, self.0.event.id)
    }
    /// The hash chain: `complaint:<uuid>`, `complaint-access:<uuid>` (audited reads), `user:<uuid>`, `team:<uuid>` or `system`.
    async fn chain_key(&self) -> &str {
        &self.0.event.chain_key
    }
    /// Position in the chain, contiguous from 1.
    async fn seq(&self) -> i64 {
        self.0.event.seq
    }
    /// When it happened (UTC, microseconds).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.event.occurred_at
    }
    /// Who acted; null for operator commands and the system.
    async fn actor_id(&self) -> Option<ID> {
        self.0.event.actor_id.map(|id| ids::encode(Kind::User, id))
    }
    /// The actor's role at the time.
    async fn actor_role(&self) -> Option<Role> {
        self.0.event.actor_role.as_deref().and_then(|r| r.parse().ok())
    }
    /// `complaint.created`, `complaint.status_changed`, `complaint.viewed`, `user.updated`, …
    async fn action(&self) -> &str {
        &self.0.event.action
    }
    /// What was acted on: `complaint`, `user`, `team`, …
    async fn target_type(&self) -> &str {
        &self.0.event.target_type
    }
    /// The ID of what was acted on.
    async fn target_id(&self) -> Option<&str> {
        self.0.event.target_id.as_deref()
    }
    /// The complaint concerned, if any.
    async fn complaint_id(&self) -> Option<ID> {
        self.0.event.complaint_id.map(|id| ids::encode(Kind::Complaint, id))
    }
    /// How sensitive the complaint was when the event happened.
    async fn sensitivity(&self) -> AuditSensitivity {
        match self.0.event.sensitivity.as_str() {
            "SENSITIVE" => AuditSensitivity::Sensitive,
            "LEGAL_HOLD" => AuditSensitivity::LegalHold,
            _ => AuditSensitivity::Normal,
        }
    }
    /// Why (mandatory on legal-hold complaints).
    async fn reason(&self) -> Option<&str> {
        self.0.event.reason.as_deref()
    }
    /// Changed fields: name → [before, after]. The customer's personal data is
    /// masked (`•••`) for roles that may not see it.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(self.0.changes.clone())
    }
    /// True when `changes` was masked for the caller.
    async fn masked(&self) -> bool {
        self.0.masked
    }
    /// The request that caused it (`x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.event.request_id.as_deref()
    }
    /// The client's address (`cli` for operator commands).
    async fn client_address(&self) -> Option<&str> {
        self.0.event.client_addr.as_deref()
    }
    /// The previous event's `entryHash` (64 zeros for the first), hex.
    async fn prev_hash(&self) -> &str {
        &self.0.event.prev_hash
    }
    /// SHA-256 over the domain tag, `prevHash` and the canonical JSON of the event, hex.
    async fn entry_hash(&self) -> &str {
        &self.0.event.entry_hash
    }
    /// Version of the hashed encoding.
    async fn format_version(&self) -> i32 {
        self.0.event.format_version
    }
}

pub type AuditEventConnection = Connection<String, AuditEvent, EmptyFields>;

/// Filters of the audit event list; all given filters must match.
#[derive(InputObject, Debug, Default)]
pub struct AuditFilter {
    /// Events about this complaint (its changes and its audited reads).
    pub complaint_id: Option<ID>,
    /// Events caused by this user.
    pub actor_id: Option<ID>,
    /// Exact action name, e.g. `complaint.viewed`.
    pub action: Option<String>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<DateTime<Utc>>,
}

/// The first thing verification found wrong.
#[derive(SimpleObject)]
pub struct AuditFailure {
    /// The chain (or `checkpoint` for the checkpoints themselves).
    pub chain_key: String,
    /// The event (or checkpoint) number where it failed.
    pub seq: i64,
    /// What is wrong: edited, missing, inserted or reordered, truncated, badly signed…
    pub reason: String,
}

/// The result of recomputing the audit trail.
#[derive(SimpleObject)]
pub struct AuditVerification {
    /// True when every chain and checkpoint verified.
    pub ok: bool,
    /// Events recomputed before the first failure (all of them when ok).
    pub checked_events: u64,
    /// Signed checkpoints checked.
    pub checkpoints_checked: u64,
    /// The first altered, missing, inserted or reordered event (or bad checkpoint).
    pub first_failure: Option<AuditFailure>,
    /// What weakens the result without failing it (e.g. no checkpoint yet).
    pub warnings: Vec<String>,
}

/// A signed checkpoint over every audit chain head.
pub struct AuditCheckpoint(pub audit_checkpoint::Model);

#[Object]
impl AuditCheckpoint {
    /// Contiguous from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// How many chains it covers.
    async fn chain_count(&self) -> i64 {
        self.0.chain_count
    }
    /// How many events it covers (the sum of the chain head seqs).
    async fn event_count(&self) -> i64 {
        self.0.event_count
    }
    /// RFC 9162 Merkle tree hash over (chain key, head seq, head hash), hex.
    async fn merkle_root(&self) -> &str {
        &self.0.merkle_root
    }
    /// The previous checkpoint's hash, hex.
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
    /// SHA-256 of the canonical checkpoint (what the next one links to), hex.
    async fn checkpoint_hash(&self) -> &str {
        &self.0.checkpoint_hash
    }
    /// The Ed25519 public key that signed it, hex.
    async fn public_key(&self) -> &str {
        &self.0.public_key
    }
    /// Ed25519 signature over the canonical checkpoint, hex.
    async fn signature(&self) -> &str {
        &self.0.signature
    }
}

/// One page of events as a Relay connection.
pub async fn event_page(
    services: &Services,
    actor: &Actor,
    filter: EventFilter,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<AuditEventConnection> {
    let (limit, _) = page_size(first, None)?;
    let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
    let (rows, more) = service::list_events(services, actor, &filter, after, limit).await?;
    let mut connection = Connection::new(after.is_some(), more);
    connection.edges = rows
        .into_iter()
        .map(|e| Edge::new(cursor::encode(Cursor { key: e.event.occurred_at, id: e.event.id }), AuditEvent(e)))
        .collect();
    Ok(connection)
}

fn optional_id(kind: Kind, field: &'static str, id: Option<&ID>) -> AppResult<Option<Uuid>> {
    ids::decode_opt(kind, field, id)
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Audit events, oldest first (supervisors: their team's complaints and
    /// their own actions; legal and auditors: everything).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<AuditEventConnection> {
        let actor = ctx.actor()?;
        let filter = filter.unwrap_or_default();
        let filter = EventFilter {
            complaint_id: optional_id(Kind::Complaint, "filter.complaintId", filter.complaint_id.as_ref())?,
            actor_id: optional_id(Kind::User, "filter.actorId", filter.actor_id.as_ref())?,
            action: filter.action,
            from: filter.from,
            to: filter.to,
        };
        event_page(ctx.services()?, actor, filter, first, after).await
    }

    /// Recomputes the hash chains (of one complaint, or the whole trail when
    /// `complaintId` is null) and the signed checkpoints (legal, auditors, administrators).
    #[graphql(complexity = "crate::graphql::EXCLUSIVE_COST + child_complexity")]
    async fn verify_audit_trail(&self, ctx: &Context<'_>, complaint_id: Option<ID>) -> AppResult<AuditVerification> {
        let actor = ctx.actor()?;
        let complaint = optional_id(Kind::Complaint, "complaintId", complaint_id.as_ref())?;
        let report = service::verify(ctx.services()?, actor, complaint).await?;
        Ok(AuditVerification {
            ok: report.ok(),
            checked_events: report.checked_events,
            checkpoints_checked: report.checkpoints_checked,
            first_failure: report.first_failure.map(|f| AuditFailure { chain_key: f.chain_key, seq: f.seq, reason: f.reason }),
            warnings: report.warnings,
        })
    }

    /// Signed audit checkpoints, newest first.
    #[graphql(complexity = "5 + child_complexity * (first.clamp(1, 100) as usize)")]
    async fn audit_checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        before_seq: Option<i64>,
    ) -> AppResult<Vec<AuditCheckpoint>> {
        let actor = ctx.actor()?;
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::validation("first", format!("must be between 0 and {MAX_PAGE}")));
        }
        let rows = service::checkpoints(ctx.services()?, actor, first as u64, before_seq).await?;
        Ok(rows.into_iter().map(AuditCheckpoint).collect())
    }
}
