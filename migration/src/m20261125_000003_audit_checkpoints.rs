//! Signed audit checkpoints: a Merkle root over every chain head, linked to the
//! previous checkpoint and signed with Ed25519, plus the chain heads that moved
//! since the previous checkpoint (so a verifier can rebuild the signed head set).
//! Both tables are append-only, protected by the same triggers as `audit_event`.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoint")
                    // Contiguous from 1; the primary key makes two instances that
                    // race for the same number fail instead of forking the sequence.
                    .col(big_integer("seq").primary_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer("chain_count"))
                    .col(big_integer("event_count"))
                    .col(string("merkle_root"))
                    .col(string("prev_hash"))
                    .col(string("public_key"))
                    .col(text("canonical"))
                    .col(string("checkpoint_hash"))
                    .col(string("signature"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoint_head")
                    .col(big_integer("checkpoint_seq"))
                    .col(string("chain_key"))
                    .col(big_integer("head_seq"))
                    .col(string("head_hash"))
                    .primary_key(Index::create().col("checkpoint_seq").col("chain_key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_checkpoint_head_chain")
                    .table("audit_checkpoint_head")
                    .col("chain_key")
                    .col("head_seq")
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        for table in ["audit_checkpoint", "audit_checkpoint_head"] {
            let sql = match manager.get_database_backend() {
                DbBackend::Postgres => format!(
                    r#"
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"#
                ),
                DbBackend::Sqlite => format!(
                    r#"
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;
"#
                ),
                other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
