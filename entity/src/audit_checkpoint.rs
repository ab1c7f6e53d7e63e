//! A signed checkpoint over every audit chain head. Append-only (triggers).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoint")]
pub struct Model {
    /// Contiguous from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub created_at: DateTimeUtc,
    pub chain_count: i64,
    /// The sum of every chain's head seq: how many events the checkpoint covers.
    pub event_count: i64,
    /// RFC 9162 Merkle tree hash over (chain_key, head seq, head hash), hex.
    pub merkle_root: String,
    /// The previous checkpoint's hash (zeros for the first), hex.
    pub prev_hash: String,
    /// The Ed25519 public key that signed it, hex.
    pub public_key: String,
    /// The canonical JSON that was hashed and signed.
    pub canonical: String,
    pub checkpoint_hash: String,
    /// Ed25519 signature over `canonical`, hex.
    pub signature: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
