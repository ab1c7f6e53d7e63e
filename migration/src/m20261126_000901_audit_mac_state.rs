//! Keyed and state-bearing audit events, and a guard against rewriting audit
//! rows through an insert.
//!
//! - `audit_event.mac`: HMAC-SHA-256 of the entry hash under a key that is not
//!   in the database (format 2 events always carry one).
//! - `audit_event.state_hash`: SHA-256 of the canonical business state of the
//!   entity after the change (complaints and users), part of the hashed bytes.
//! - SQLite: `INSERT OR REPLACE` deletes the conflicting row without firing a
//!   DELETE trigger (unless `recursive_triggers` is on), so a BEFORE INSERT
//!   trigger refuses any row whose key already exists. PostgreSQL has no
//!   REPLACE; `ON CONFLICT DO UPDATE` fires the UPDATE triggers.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [string_null("mac"), string_null("state_hash")] {
            manager.alter_table(Table::alter().table("audit_event").add_column(column).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Sqlite {
            let db = manager.get_connection();
            for (table, clash) in [
                ("audit_event", "id = NEW.id OR (chain_key = NEW.chain_key AND seq = NEW.seq)"),
                ("audit_checkpoint", "seq = NEW.seq"),
                ("audit_checkpoint_head", "checkpoint_seq = NEW.checkpoint_seq AND chain_key = NEW.chain_key"),
            ] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} \
                     WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only: an insert over an existing row refused'); END;"
                ))
                .await?;
            }
        }
        Ok(())
    }
}
