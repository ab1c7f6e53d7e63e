//! Work items (issue 12): work the handling team asks of another team (an
//! investigation, an implementation, a refund payout, a repair), with a due
//! time and a result. `complaint.assisting_teams` lists the teams with an
//! open item, so the read policy decides from the complaint row alone.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("complaint").add_column(string("assisting_teams").default("").to_owned()).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("work_item")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(uuid("team_id"))
                    .col(string("kind"))
                    .col(text("request"))
                    .col(timestamp_with_time_zone("due_by"))
                    .col(string("status"))
                    .col(text_null("result"))
                    .col(uuid("requested_by"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(uuid_null("closed_by"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(boolean("overdue").default(false))
                    .foreign_key(ForeignKey::create().from("work_item", "complaint_id").to("complaint", "id"))
                    .foreign_key(ForeignKey::create().from("work_item", "team_id").to("team", "id"))
                    .to_owned(),
            )
            .await?;
        // The assisting team's queue: its open items, earliest due first.
        manager
            .create_index(
                Index::create().name("work_item_queue").table("work_item").col("team_id").col("status").col("due_by").to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("work_item_complaint").table("work_item").col("complaint_id").col("requested_at").to_owned(),
            )
            .await?;
        // The monitor's scan: open items past due and not yet marked.
        manager
            .create_index(
                Index::create().name("work_item_due").table("work_item").col("status").col("overdue").col("due_by").to_owned(),
            )
            .await
    }
}
