//! Trigram indexes that serve `complaints(filter: {search})` on PostgreSQL:
//! the search is `lower(column) LIKE '%term%'` over the title, description,
//! reference and order reference, which a GIN `gin_trgm_ops` index on the
//! same expressions answers for terms of three characters and more (shorter
//! terms are refused by the service). Where `pg_trgm` cannot be created (no
//! privilege, not installed) the migration logs a notice and the search
//! stays a scan. SQLite has no trigram LIKE index: the search scans there.

use sea_orm_migration::{prelude::*, sea_orm};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[&str] = &["title", "description", "reference", "order_reference"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; \
             EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'pg_trgm unavailable (%): complaint search is not indexed', SQLERRM; END $$;",
        )
        .await?;
        let creates: String = COLUMNS
            .iter()
            .map(|c| format!("CREATE INDEX IF NOT EXISTS complaint_search_{c}_trgm ON complaint USING gin (lower({c}) gin_trgm_ops);"))
            .collect();
        db.execute_unprepared(&format!(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN {creates} END IF; END $$;"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for c in COLUMNS {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS complaint_search_{c}_trgm")).await?;
        }
        Ok(())
    }
}
