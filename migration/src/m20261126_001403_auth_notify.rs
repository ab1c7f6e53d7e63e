//! Servers on PostgreSQL reuse a verified caller for a moment
//! (`service::auth_cache`) and must hear at once of any change that could
//! alter it. These triggers send `NOTIFY casework_auth` with the user's id on
//! every update or delete of a user or a refresh token (and a bare `*` on a
//! truncate), whoever changes the row: the application on any server or
//! someone at a `psql` prompt. The notification is delivered when the change
//! commits. SQLite servers keep no such cache and need no trigger.

use sea_orm_migration::{prelude::*, sea_orm};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE OR REPLACE FUNCTION casework_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    before_id text;
    after_id text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('casework_auth', '*');
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'app_user' THEN
        before_id := OLD.id::text;
        IF TG_OP = 'UPDATE' THEN after_id := NEW.id::text; END IF;
    ELSE
        before_id := OLD.user_id::text;
        IF TG_OP = 'UPDATE' THEN after_id := NEW.user_id::text; END IF;
    END IF;
    PERFORM pg_notify('casework_auth', before_id);
    IF after_id IS DISTINCT FROM before_id AND after_id IS NOT NULL THEN
        PERFORM pg_notify('casework_auth', after_id);
    END IF;
    RETURN NULL;
END
$body$;
CREATE TRIGGER app_user_auth_changed AFTER UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION casework_auth_changed();
CREATE TRIGGER app_user_auth_truncated AFTER TRUNCATE ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION casework_auth_changed();
CREATE TRIGGER refresh_token_auth_changed AFTER UPDATE OR DELETE ON refresh_token
    FOR EACH ROW EXECUTE FUNCTION casework_auth_changed();
CREATE TRIGGER refresh_token_auth_truncated AFTER TRUNCATE ON refresh_token
    FOR EACH STATEMENT EXECUTE FUNCTION casework_auth_changed();
"#;

const DOWN: &str = "
DROP TRIGGER IF EXISTS app_user_auth_changed ON app_user;
DROP TRIGGER IF EXISTS app_user_auth_truncated ON app_user;
DROP TRIGGER IF EXISTS refresh_token_auth_changed ON refresh_token;
DROP TRIGGER IF EXISTS refresh_token_auth_truncated ON refresh_token;
DROP FUNCTION IF EXISTS casework_auth_changed();
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
