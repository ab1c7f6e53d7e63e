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
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
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

/// Refuses to run when an audit immutability trigger is missing or disabled.
pub async fn check_audit_triggers(db: &DatabaseConnection) -> anyhow::Result<()> {
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
    Ok(())
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
