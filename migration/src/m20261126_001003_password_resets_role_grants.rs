//! Separation of duties for accounts (issue 10): one-time password-reset
//! tokens (stored as digests), role grants that wait for a second
//! administrator, and a per-user currency for the authority limit.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("app_user").add_column(string_null("authority_currency")).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("password_reset")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_uniq("token_hash"))
                    // The administrator who issued it; null when the operator's CLI did.
                    .col(uuid_null("issued_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(ForeignKey::create().from("password_reset", "user_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("password_reset_user").table("password_reset").col("user_id").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("role_grant")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("requested_by"))
                    // What takes effect on approval (null: unchanged).
                    .col(string_null("role"))
                    .col(string_null("authority_limit"))
                    .col(string_null("authority_currency"))
                    // A new account: approval activates it.
                    .col(boolean("activates").default(false))
                    // The user's version when requested; a changed user makes the grant stale.
                    .col(integer("user_version"))
                    .col(string("status"))
                    .col(uuid_null("decided_by"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(text_null("decision_note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("role_grant", "user_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("role_grant_status").table("role_grant").col("status").col("id").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("role_grant").to_owned()).await?;
        manager.drop_table(Table::drop().table("password_reset").to_owned()).await?;
        manager.alter_table(Table::alter().table("app_user").drop_column("authority_currency").to_owned()).await
    }
}
