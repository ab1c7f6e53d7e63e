//! A stored evidence blob and how many live evidence records hold it. The
//! count moves in the same transaction as the evidence rows; a blob at zero
//! is removed by the garbage-collection job once `unreferenced_at` is older
//! than the grace period (and no complaint holding it is under legal hold).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence_blob")]
pub struct Model {
    /// Lowercase hex SHA-256 of the content.
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    /// Where the blob lives in the evidence store.
    pub storage_key: String,
    pub size_bytes: i64,
    /// Live (not deleted) evidence records with these bytes.
    pub ref_count: i64,
    pub created_at: DateTimeUtc,
    /// When `ref_count` last fell to zero; `None` while referenced.
    pub unreferenced_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
