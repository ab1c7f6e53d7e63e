//! One row per stored evidence blob (content-addressed by SHA-256) with the
//! number of live evidence records holding it. An upload increments the count
//! and a deletion decrements it in the same transaction as the evidence row,
//! so the two can never disagree; a blob whose count reached zero is removed
//! by the garbage-collection job after a grace period (`unreferenced_at`).
//! Existing evidence is counted here once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("evidence_blob")
                    .col(string_len("sha256", 64).primary_key())
                    .col(string("storage_key"))
                    .col(big_integer("size_bytes"))
                    // Live (not deleted) evidence records holding these bytes.
                    .col(big_integer("ref_count"))
                    .col(timestamp_with_time_zone("created_at"))
                    // When the count last fell to zero; null while referenced.
                    .col(timestamp_with_time_zone_null("unreferenced_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("evidence_blob_unreferenced").table("evidence_blob").col("unreferenced_at").to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO evidence_blob (sha256, storage_key, size_bytes, ref_count, created_at, unreferenced_at)
                 SELECT sha256, MIN(storage_key), MAX(size_bytes),
                        SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END),
                        MIN(uploaded_at),
                        CASE WHEN SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) = 0 THEN MAX(deleted_at) END
                 FROM evidence GROUP BY sha256",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("evidence_blob").to_owned()).await
    }
}
