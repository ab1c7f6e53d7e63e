//! A returning customer's latest complaint (intake's repeat marker) is read
//! in the order `(created_at DESC, id DESC)`; the index over
//! `(customer_id, created_at)` could not give the id tiebreak, so intake read
//! and sorted every complaint of that customer in the repeat window (24 ms for
//! a customer with 10 000 complaints, on every creation for them). The index
//! now carries the id and the lookup stops at the first entry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The same SQL on PostgreSQL and SQLite, sent as one batch: on SQLite the
/// pool may run two separate calls on two connections, and the second one
/// was seen to answer "index already exists" after the first had dropped it
/// (the same family as the stale-schema finding of issue 11).
async fn replace(manager: &SchemaManager<'_>, columns: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        "DROP INDEX IF EXISTS complaint_customer_created; CREATE INDEX complaint_customer_created ON complaint ({columns})"
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, "customer_id, created_at, id").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, "customer_id, created_at").await
    }
}
