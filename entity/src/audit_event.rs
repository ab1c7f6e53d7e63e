//! One append-only audit event. Rows are never updated or deleted: database
//! triggers refuse both. `canonical` holds the exact bytes that were hashed.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `complaint:<id>`, `user:<id>`, `team:<id>` or `system`.
    pub chain_key: String,
    /// Position in the chain, contiguous from 1.
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// `complaint.created`, `user.updated`, …
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub complaint_id: Option<Uuid>,
    /// `NORMAL`, `SENSITIVE` or `LEGAL_HOLD`.
    pub sensitivity: String,
    pub reason: Option<String>,
    /// JSON object: field -> [old, new].
    pub changes: String,
    /// The canonical JSON (RFC 8785) that was hashed.
    pub canonical: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub format_version: i32,
    /// HMAC-SHA-256 (hex) of `entry_hash` under the audit MAC key, which is
    /// not in the database. Not hashed (it is computed over the hash).
    pub mac: Option<String>,
    /// SHA-256 (hex) of the entity's canonical business state after the
    /// change (complaint and user events); hashed from format 2 on.
    pub state_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
