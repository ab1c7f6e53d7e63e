//! Group complaints (issue 12): what a complaint is about beyond its order
//! (`product_or_service`, `location`), the group it belongs to, and the groups
//! themselves with a lead team and a common cause.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(manager: &SchemaManager<'_>, column: ColumnDef) -> Result<(), DbErr> {
    // One column per statement: SQLite alters one thing at a time.
    manager.alter_table(Table::alter().table("complaint").add_column(column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    // Plural: an index of the complaint table is already named `complaint_group`
                    // (tables and indexes share one namespace on both databases).
                    .table("complaint_groups")
                    .col(pk_uuid("id"))
                    .col(string_uniq("reference"))
                    .col(string("title"))
                    .col(text("cause"))
                    .col(uuid("lead_team_id"))
                    .col(string("status"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(timestamp_with_time_zone_null("last_update_at"))
                    .col(integer("version"))
                    .foreign_key(ForeignKey::create().from("complaint_groups", "lead_team_id").to("team", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("complaint_group_status_created")
                    // Plural: an index of the complaint table is already named `complaint_group`
                    // (tables and indexes share one namespace on both databases).
                    .table("complaint_groups")
                    .col("status")
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        // SQLite cannot add a column with a foreign key to an existing table;
        // the group service is the only writer of `group_id`.
        add(manager, string_null("product_or_service")).await?;
        add(manager, string_null("location")).await?;
        add(manager, uuid_null("group_id")).await?;
        manager
            .create_index(Index::create().name("complaint_group_member").table("complaint").col("group_id").col("created_at").to_owned())
            .await?;
        // `groupCandidates` groups open, ungrouped complaints of a time window by
        // (category, key): each key walks its own index from `created_at`.
        for (name, column) in [
            ("complaint_candidate_order", "order_reference"),
            ("complaint_candidate_product", "product_or_service"),
            ("complaint_candidate_location", "location"),
        ] {
            manager
                .create_index(Index::create().name(name).table("complaint").col("created_at").col("category").col(column).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            // Gap-tolerant group references, like complaint references.
            manager.get_connection().execute_unprepared("CREATE SEQUENCE complaint_group_reference_seq").await?;
        }
        Ok(())
    }
}
