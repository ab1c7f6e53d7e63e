//! Sign-in attempt counters, shared by every instance: one row per key (a
//! digest of the normalised email or of the client address) and minute window.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("login_attempt")
                    .col(string("key").primary_key())
                    // Unix seconds when the current window opened.
                    .col(big_integer("window_start"))
                    .col(integer("attempts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("login_attempt_window").table("login_attempt").col("window_start").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("login_attempt").to_owned()).await
    }
}
