//! A file attached to a complaint as evidence. Immutable once stored; a
//! deletion only sets the `deleted_*` fields (the row and its hash remain).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// `EvidenceKind` name: `SCREENSHOT`, `CALL_RECORDING`, …
    pub kind: String,
    /// The client's filename, sanitised (no path, no control characters).
    pub filename: String,
    /// The content type the client declared for the file part.
    pub declared_content_type: Option<String>,
    /// The content type sniffed from the file's magic bytes.
    pub detected_content_type: String,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Where the blob lives in the evidence store (content-addressed).
    pub storage_key: String,
    pub description: Option<String>,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    pub deleted_by: Option<Uuid>,
    pub delete_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
