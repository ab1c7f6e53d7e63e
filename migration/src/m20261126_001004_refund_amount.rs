//! The refund of a proposed resolution (the goods' price given back), kept
//! apart from the compensation on top of it: authority limits cap the total.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("complaint").add_column(string_null("refund_amount")).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("complaint").drop_column("refund_amount").to_owned()).await
    }
}
