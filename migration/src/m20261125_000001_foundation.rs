//! Teams, users, refresh tokens and the append-only audit trail.

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
                    .table("team")
                    .col(pk_uuid("id"))
                    .col(string_uniq("name"))
                    .col(string("tier"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(integer("version"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("app_user")
                    .col(pk_uuid("id"))
                    .col(string_uniq("email"))
                    .col(string("display_name"))
                    .col(string("role"))
                    .col(uuid_null("team_id"))
                    .col(string_null("authority_limit"))
                    .col(boolean("active"))
                    .col(string("password_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(integer("version"))
                    .foreign_key(ForeignKey::create().from("app_user", "team_id").to("team", "id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_token")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("family_id"))
                    .col(string_uniq("token_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("rotated_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create().from("refresh_token", "user_id").to("app_user", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_token_family")
                    .table("refresh_token")
                    .col("family_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_event")
                    .col(pk_uuid("id"))
                    .col(string("chain_key"))
                    .col(big_integer("seq"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(uuid_null("actor_id"))
                    .col(string_null("actor_role"))
                    .col(string_null("request_id"))
                    .col(string_null("client_addr"))
                    .col(string("action"))
                    .col(string("target_type"))
                    .col(string_null("target_id"))
                    .col(uuid_null("complaint_id"))
                    .col(string("sensitivity"))
                    .col(text_null("reason"))
                    .col(text("changes"))
                    .col(text("canonical"))
                    .col(string("prev_hash"))
                    .col(string("entry_hash"))
                    .col(integer("format_version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_event_chain_seq")
                    .table("audit_event")
                    .col("chain_key")
                    .col("seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("audit_event_complaint", "complaint_id"),
            ("audit_event_actor", "actor_id"),
            ("audit_event_occurred", "occurred_at"),
        ] {
            manager
                .create_index(
                    Index::create().name(name).table("audit_event").col(column).to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("audit_chain")
                    .col(string("chain_key").primary_key())
                    .col(big_integer("head_seq"))
                    .col(string("head_hash"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    r#"
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"#,
                )
                .await?;
            }
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    r#"
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END;
"#,
                )
                .await?;
            }
            other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        }
        Ok(())
    }
}
