//! A chain head recorded by a checkpoint: only the chains that moved since the
//! previous checkpoint, so folding them rebuilds the signed head set.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoint_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub checkpoint_seq: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_key: String,
    pub head_seq: i64,
    pub head_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
