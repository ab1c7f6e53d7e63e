//! Evidence files attached to complaints. Rows are never deleted: a deletion
//! only fills the `deleted_*` columns, so the record (and its SHA-256) stays
//! next to the audit event that tells who removed it and why.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("evidence")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(string("kind"))
                    .col(string("filename"))
                    .col(string_null("declared_content_type"))
                    .col(string("detected_content_type"))
                    .col(big_integer("size_bytes"))
                    .col(string_len("sha256", 64))
                    .col(string("storage_key"))
                    .col(text_null("description"))
                    .col(uuid("uploaded_by"))
                    .col(timestamp_with_time_zone("uploaded_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .col(uuid_null("deleted_by"))
                    .col(text_null("delete_reason"))
                    .foreign_key(ForeignKey::create().from("evidence", "complaint_id").to("complaint", "id"))
                    .foreign_key(ForeignKey::create().from("evidence", "uploaded_by").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("evidence_complaint")
                    .table("evidence")
                    .col("complaint_id")
                    .col("uploaded_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("evidence_sha256").table("evidence").col("sha256").to_owned())
            .await?;
        Ok(())
    }
}
