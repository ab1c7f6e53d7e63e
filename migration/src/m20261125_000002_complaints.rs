//! Customers, complaints, notes and links between complaints.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customer")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(string_null("phone"))
                    .col(string_null("email"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("complaint")
                    .col(pk_uuid("id"))
                    .col(string_uniq("reference"))
                    .col(string("status"))
                    .col(string("channel"))
                    .col(string("category"))
                    .col(string("severity"))
                    .col(string("title"))
                    .col(text("description"))
                    .col(uuid("customer_id"))
                    .col(string("core_demand"))
                    .col(string_null("requested_amount"))
                    .col(string("currency"))
                    .col(string("emotion"))
                    .col(string_null("order_reference"))
                    .col(timestamp_with_time_zone_null("occurred_at"))
                    .col(string("tier"))
                    .col(uuid_null("team_id"))
                    .col(uuid_null("assignee_id"))
                    .col(uuid("created_by"))
                    .col(boolean("sensitive"))
                    .col(boolean("vulnerable_customer"))
                    .col(boolean("media_attention"))
                    .col(boolean("group_complaint"))
                    .col(boolean("legal_hold"))
                    .col(string_null("root_cause"))
                    .col(text_null("responsibility"))
                    .col(text_null("finding_summary"))
                    .col(text_null("resolution_summary"))
                    .col(string_null("compensation_amount"))
                    .col(string_null("compensation_currency"))
                    .col(text_null("remedies"))
                    .col(text_null("preventive_measures"))
                    .col(boolean_null("customer_accepted"))
                    .col(text_null("customer_decision_note"))
                    .col(text_null("resolution_note"))
                    .col(boolean_null("callback_reached"))
                    .col(boolean_null("satisfied"))
                    .col(integer_null("satisfaction_score"))
                    .col(text_null("callback_comment"))
                    .col(text_null("close_reason"))
                    .col(integer("reopen_count"))
                    .col(timestamp_with_time_zone("first_response_due"))
                    .col(timestamp_with_time_zone("resolution_due"))
                    .col(boolean("sla_breached"))
                    .col(timestamp_with_time_zone_null("acknowledged_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(integer("version"))
                    .foreign_key(ForeignKey::create().from("complaint", "customer_id").to("customer", "id"))
                    .foreign_key(ForeignKey::create().from("complaint", "team_id").to("team", "id"))
                    .foreign_key(ForeignKey::create().from("complaint", "assignee_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        // Keyset pagination walks (sort key, id); the common filters get their own index.
        for (name, columns) in [
            ("complaint_created", &["created_at", "id"][..]),
            ("complaint_updated", &["updated_at", "id"][..]),
            ("complaint_resolution_due", &["resolution_due", "id"][..]),
            ("complaint_team", &["team_id", "created_at"][..]),
            ("complaint_assignee", &["assignee_id", "created_at"][..]),
            ("complaint_status", &["status", "created_at"][..]),
            ("complaint_customer", &["customer_id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("complaint");
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("note")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(uuid("author_id"))
                    .col(text("body"))
                    .col(string("visibility"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("note", "complaint_id").to("complaint", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("note_complaint").table("note").col("complaint_id").col("created_at").to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("complaint_link")
                    .col(pk_uuid("id"))
                    .col(string("kind"))
                    .col(uuid("complaint_id"))
                    .col(uuid("linked_id"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("complaint_link", "complaint_id").to("complaint", "id"))
                    .foreign_key(ForeignKey::create().from("complaint_link", "linked_id").to("complaint", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("complaint_link_pair")
                    .table("complaint_link")
                    .col("complaint_id")
                    .col("linked_id")
                    .col("kind")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("complaint_link_linked").table("complaint_link").col("linked_id").to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            // Gap-tolerant reference numbers without a lock shared by every intake.
            manager
                .get_connection()
                .execute_unprepared("CREATE SEQUENCE complaint_reference_seq")
                .await?;
        }
        Ok(())
    }
}
