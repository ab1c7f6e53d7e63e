//! `callbackReachRate` aggregates the callback attempts of a range's
//! complaints. An attempt is always recorded after its complaint was created,
//! so the statistics read only the attempts recorded since (a day before) the
//! range began: an index on `at` that carries the complaint and the outcome
//! lets that read touch the index only (PostgreSQL: `INCLUDE`; SQLite has no
//! `INCLUDE`, so the columns are keys there).

use sea_orm_migration::{prelude::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = match db.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                "CREATE INDEX IF NOT EXISTS callback_attempt_at ON callback_attempt (at) INCLUDE (complaint_id, reached)"
            }
            _ => "CREATE INDEX IF NOT EXISTS callback_attempt_at ON callback_attempt (at, complaint_id, reached)",
        };
        db.execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS callback_attempt_at").await?;
        Ok(())
    }
}
