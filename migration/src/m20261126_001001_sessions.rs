//! Revocable sessions: a per-user `token_version` carried in every access
//! token (bumped to revoke them all), an absolute end for a refresh family,
//! and the sealed successor of a rotated refresh token (for an idempotent
//! retry of a refresh whose answer was lost).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table("app_user")
                    .add_column(ColumnDef::new("token_version").integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("refresh_token")
                    .add_column(ColumnDef::new("family_expires_at").timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("refresh_token")
                    .add_column(ColumnDef::new("successor_sealed").string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in
            [("refresh_token", "successor_sealed"), ("refresh_token", "family_expires_at"), ("app_user", "token_version")]
        {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
