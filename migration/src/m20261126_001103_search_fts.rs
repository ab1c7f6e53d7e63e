//! The SQLite side of `complaints(filter: {search})`: an FTS5 table with the
//! trigram tokenizer over the title, description, reference and order
//! reference, kept in step with `complaint` by triggers (in the transaction of
//! the change itself). A quoted phrase of three characters or more matches as
//! a case-insensitive substring, as `lower(column) LIKE '%term%'` does on
//! PostgreSQL (served there by the pg_trgm indexes of
//! `m20261126_001101_search_trigram`), so both databases return the same rows.
//!
//! Rows are found again by `doc_key` (the hex of the complaint id, an indexed
//! column matched as a phrase) rather than by `rowid`: a table without an
//! INTEGER PRIMARY KEY may see its rowids renumbered by VACUUM.

use sea_orm_migration::{prelude::*, sea_orm};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INSERT_NEW: &str = "INSERT INTO complaint_search (title, description, reference, order_reference, doc_key, complaint_id)
    VALUES (NEW.title, NEW.description, NEW.reference, NEW.order_reference, hex(NEW.id), NEW.id);";
const DELETE_OLD: &str =
    "DELETE FROM complaint_search WHERE complaint_search MATCH 'doc_key : \"' || hex(OLD.id) || '\"';";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE VIRTUAL TABLE complaint_search USING fts5(
                title, description, reference, order_reference, doc_key, complaint_id UNINDEXED,
                tokenize = 'trigram')",
        )
        .await?;
        db.execute_unprepared(&format!("CREATE TRIGGER complaint_search_insert AFTER INSERT ON complaint BEGIN {INSERT_NEW} END"))
            .await?;
        db.execute_unprepared(&format!(
            "CREATE TRIGGER complaint_search_update AFTER UPDATE OF title, description, reference, order_reference ON complaint
             WHEN OLD.title IS NOT NEW.title OR OLD.description IS NOT NEW.description
               OR OLD.reference IS NOT NEW.reference OR OLD.order_reference IS NOT NEW.order_reference
             BEGIN {DELETE_OLD} {INSERT_NEW} END"
        ))
        .await?;
        db.execute_unprepared(&format!("CREATE TRIGGER complaint_search_delete AFTER DELETE ON complaint BEGIN {DELETE_OLD} END"))
            .await?;
        db.execute_unprepared(
            "INSERT INTO complaint_search (title, description, reference, order_reference, doc_key, complaint_id)
             SELECT title, description, reference, order_reference, hex(id), id FROM complaint",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for trigger in ["complaint_search_insert", "complaint_search_update", "complaint_search_delete"] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS complaint_search").await?;
        Ok(())
    }
}
