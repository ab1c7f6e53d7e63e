//! Escalation requests, SLA policies, and per-deadline breach marks.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("escalation")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(string("from_tier"))
                    .col(string("to_tier"))
                    .col(string("trigger"))
                    .col(text("reason"))
                    .col(uuid_null("requested_by"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(string("status"))
                    .col(uuid_null("decided_by"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(text_null("decision_note"))
                    .col(timestamp_with_time_zone("due_by"))
                    .foreign_key(ForeignKey::create().from("escalation", "complaint_id").to("complaint", "id"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("escalation_queue", &["status", "requested_at", "id"][..]),
            ("escalation_complaint", &["complaint_id", "requested_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("escalation");
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("sla_policy")
                    .col(pk_uuid("id"))
                    .col(string("severity"))
                    // Empty string: the severity's default for every category.
                    .col(string("category"))
                    .col(integer("first_response_minutes"))
                    .col(integer("resolution_minutes"))
                    .col(boolean("business_hours_only"))
                    .col(string("working_days"))
                    .col(integer("day_start_minute"))
                    .col(integer("day_end_minute"))
                    .col(integer("utc_offset_minutes"))
                    .col(text("holidays"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sla_policy_scope")
                    .table("sla_policy")
                    .col("severity")
                    .col("category")
                    .unique()
                    .to_owned(),
            )
            .await?;

        for column in ["first_response_breached", "resolution_breached"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("complaint")
                        .add_column(boolean(column).default(false))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
