//! Indexes for complaint statistics: recognising a repeat customer by phone or
//! email looks customers up by those columns for every complaint of a range.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in [("customer_phone", "phone"), ("customer_email", "email")] {
            manager
                .create_index(Index::create().name(name).table("customer").col(column).if_not_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
