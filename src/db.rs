//! Connecting to the database (SQLite by default, PostgreSQL in production),
//! migrating it, and checking that the audit trail is still protected.

use std::{
    sync::{Arc, atomic::{AtomicU64, Ordering}},
    time::Duration,
};

use anyhow::{Context, bail};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use migration::{Migrator, MigratorTrait};

/// Counts SQL statements (exposed on `/metrics`; the N+1 test reads it).
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Session limits of every PostgreSQL connection of the server: a cancelled
/// or runaway query must not keep running, nor a stuck transaction hold its
/// locks (`statement_timeout`, `idle_in_transaction_session_timeout`).
#[derive(Clone, Copy, Debug, Default)]
pub struct PgSession {
    pub statement_timeout: Option<Duration>,
    pub idle_in_transaction_timeout: Option<Duration>,
}

/// Opens a pool. SQLite runs in WAL mode with a busy timeout, so readers never
/// block the writer and writers queue instead of failing.
pub async fn connect(url: &str, max_connections: u32, counter: &StatementCounter) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, max_connections, counter, PgSession::default()).await
}

/// [`connect`], with the server's PostgreSQL session limits.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    counter: &StatementCounter,
    session: PgSession,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    let millis = |d: Option<Duration>| d.map(|d| d.as_millis().to_string());
    let (statement, idle) = (millis(session.statement_timeout), millis(session.idle_in_transaction_timeout));
    options.map_sqlx_postgres_opts(move |opts| {
        let mut settings = Vec::new();
        if let Some(ms) = &statement {
            settings.push(("statement_timeout", ms.clone()));
        }
        if let Some(ms) = &idle {
            settings.push(("idle_in_transaction_session_timeout", ms.clone()));
        }
        opts.options(settings)
    });
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // A connection idle for a second or more is pinged before use (one
        // round trip); a busy one is not: pinging on every checkout cost a
        // round trip per statement.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                // DELETEs done by a REPLACE conflict resolution fire the delete triggers.
                .pragma("recursive_triggers", "ON")
                .create_if_missing(true)
        });
    let mut db = Database::connect(options).await.with_context(|| format!("connecting to {}", redact(url)))?;
    let counter = counter.0.clone();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("casework_db_statement_seconds").record(info.elapsed.as_secs_f64());
        if info.failed {
            metrics::counter!("casework_db_statement_errors_total").increment(1);
        }
    });
    Ok(db)
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying database migrations")
}

/// Refuses to run on a schema with pending migrations, without trying to
/// apply them (a runtime role may not change the schema).
pub async fn check_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT version FROM seaql_migrations"))
        .await
        .context("reading seaql_migrations (run `casework migrate` as the schema owner first)")?;
    let applied: Vec<String> = rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect();
    let pending: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect();
    if !pending.is_empty() {
        bail!("migrations pending ({}): run `casework migrate` as the schema owner", pending.join(", "));
    }
    Ok(())
}

/// Refuses to run when an audit immutability trigger is missing or disabled,
/// or (PostgreSQL) when the function the triggers execute was replaced: its
/// `pg_get_functiondef` must hash like the definition the migration created.
/// Runs at startup and before every checkpoint.
pub async fn check_audit_triggers<C: ConnectionTrait>(db: &C) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let (sql, expected) = match backend {
        DbBackend::Postgres => (
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             WHERE c.relname IN ('audit_event', 'audit_checkpoint', 'audit_checkpoint_head') \
             AND t.tgenabled <> 'D' AND NOT t.tgisinternal",
            migration::AUDIT_TRIGGERS_POSTGRES,
        ),
        DbBackend::Sqlite => (
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' \
             AND tbl_name IN ('audit_event', 'audit_checkpoint', 'audit_checkpoint_head')",
            migration::AUDIT_TRIGGERS_SQLITE,
        ),
        other => bail!("unsupported database backend {other:?}"),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    let present: Vec<(String, String)> = rows
        .iter()
        .filter_map(|r| Some((r.try_get_by_index::<String>(0).ok()?, r.try_get_by_index::<String>(1).ok()?)))
        .collect();
    let missing: Vec<String> = expected
        .iter()
        .filter(|(table, trigger)| !present.iter().any(|(t, n)| t == table && n == trigger))
        .map(|(table, trigger)| format!("{trigger} on {table}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the audit trail is unprotected: trigger(s) {} missing or disabled; refusing to start",
            missing.join(", ")
        );
    }
    if backend == DbBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT DISTINCT t.tgname, n.nspname, p.proname, pg_get_functiondef(p.oid) FROM pg_trigger t \
                 JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid \
                 JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE c.relname IN ('audit_event', 'audit_checkpoint', 'audit_checkpoint_head') AND NOT t.tgisinternal",
            ))
            .await?;
        for row in rows {
            let (trigger, schema, function, definition): (String, String, String, String) =
                (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?, row.try_get_by_index(3)?);
            let expected = migration::audit_refuse_function_definition(&schema);
            let digest = |text: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
            if function != migration::AUDIT_REFUSE_FUNCTION || digest(&definition) != digest(&expected) {
                bail!(
                    "the audit trail is unprotected: trigger {trigger} executes {schema}.{function}, whose definition \
                     (sha256 {}) is not the one the migration created (sha256 {}); refusing to go on",
                    digest(&definition),
                    digest(&expected)
                );
            }
        }
    }
    Ok(())
}

/// What the server's database role may do to the audit tables that it should not.
pub async fn audit_privileges(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    if db.get_database_backend() != DbBackend::Postgres {
        // A SQLite file has no roles: whoever can open it can do anything.
        return Ok(Vec::new());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname, pg_get_userbyid(c.relowner) = current_user, \
             (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
             has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'), \
             has_table_privilege(c.oid, 'TRUNCATE') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname IN ('audit_event', 'audit_checkpoint', 'audit_checkpoint_head') \
             AND n.nspname = current_schema() ORDER BY c.relname",
        ))
        .await?;
    let mut findings = Vec::new();
    for row in rows {
        let table: String = row.try_get_by_index(0)?;
        let (owner, superuser, update, delete, truncate): (bool, bool, bool, bool, bool) = (
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
            row.try_get_by_index(3)?,
            row.try_get_by_index(4)?,
            row.try_get_by_index(5)?,
        );
        if superuser {
            findings.push(format!("{table}: the role is a superuser"));
        } else if owner {
            findings.push(format!("{table}: the role owns it (and can disable its triggers)"));
        }
        for (held, privilege) in [(update, "UPDATE"), (delete, "DELETE"), (truncate, "TRUNCATE")] {
            if held && !superuser {
                findings.push(format!("{table}: the role holds {privilege}"));
            }
        }
    }
    Ok(findings)
}

/// Warns (development) or refuses to start (production, unless allowed) when
/// the server's role could rewrite the audit trail.
pub async fn check_audit_privileges(db: &DatabaseConnection, production: bool, allowed: bool) -> anyhow::Result<()> {
    let findings = audit_privileges(db).await?;
    if findings.is_empty() {
        return Ok(());
    }
    let message = format!(
        "the database role can rewrite the audit trail ({}); run the server as a role with only SELECT and INSERT on the audit tables (see the README)",
        findings.join("; ")
    );
    if production && !allowed {
        bail!("{message}; refusing to start in production (CASEWORK_AUDIT_ALLOW_PRIVILEGED_ROLE=true overrides)");
    }
    tracing::warn!("{message}");
    Ok(())
}

/// Opens a write transaction. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing when a
/// read transaction tries to upgrade.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() })
        .await
}

/// Whether the database answers (readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://app:s3cret@db:5432/casework"), "postgres://app:***@db:5432/casework");
        assert_eq!(super::redact("sqlite://casework.db?mode=rwc"), "sqlite://casework.db?mode=rwc");
    }
}
