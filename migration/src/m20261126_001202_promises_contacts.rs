//! Promises and progress updates (the promised time, the next update due, the
//! reason for a delay) and the contacts with the customer (issue 12).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(manager: &SchemaManager<'_>, column: ColumnDef) -> Result<(), DbErr> {
    // One column per statement: SQLite alters one thing at a time.
    manager.alter_table(Table::alter().table("complaint").add_column(column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(manager, timestamp_with_time_zone_null("promised_by")).await?;
        add(manager, boolean("promise_breached").default(false).to_owned()).await?;
        add(manager, timestamp_with_time_zone_null("next_update_due")).await?;
        add(manager, boolean("update_overdue").default(false).to_owned()).await?;
        add(manager, timestamp_with_time_zone_null("last_update_at")).await?;
        add(manager, string_null("delay_reason")).await?;
        add(manager, timestamp_with_time_zone_null("expected_resolution_at")).await?;
        manager
            .create_table(
                Table::create()
                    .table("contact")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(string("channel"))
                    .col(string("direction"))
                    .col(string("kind"))
                    .col(text_null("outcome"))
                    .col(text_null("note"))
                    .col(uuid("recorded_by"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(ForeignKey::create().from("contact", "complaint_id").to("complaint", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("contact_complaint").table("contact").col("complaint_id").col("at").to_owned())
            .await
    }
}
