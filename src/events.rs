//! Change notifications for subscriptions, across instances.
//!
//! Every audited change of a complaint becomes a [`BusEvent`]. On PostgreSQL
//! the unit of work sends it with `pg_notify` inside its transaction, so it is
//! delivered on commit (and never for a rolled-back change) to every instance
//! that `LISTEN`s; each instance fans it out to its own subscribers. On SQLite
//! (one process) it goes straight to the local subscribers after commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, sqlx::postgres::PgListener};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "casework_events";

/// Something happened to a complaint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusEvent {
    pub complaint_id: Uuid,
    /// The audit action, e.g. `complaint.acknowledged`.
    pub action: String,
    /// An escalation request raised by this change, if any.
    pub escalation_requested: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<BusEvent>,
    backend: DbBackend,
}

impl EventBus {
    pub fn new(backend: DbBackend) -> EventBus {
        let (sender, _) = broadcast::channel(1024);
        EventBus { sender, backend }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }

    /// Queues `events` inside `txn` (PostgreSQL: delivered on commit).
    pub async fn publish_in(&self, txn: &DatabaseTransaction, events: &[BusEvent]) -> anyhow::Result<()> {
        if self.backend != DbBackend::Postgres {
            return Ok(());
        }
        for event in events {
            let payload = serde_json::to_string(event)?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After commit: delivers `events` locally where no database does it.
    pub fn published(&self, events: Vec<BusEvent>) {
        if self.backend == DbBackend::Postgres {
            return;
        }
        for event in events {
            let _ = self.sender.send(event);
        }
    }

    /// Forwards notifications from PostgreSQL to local subscribers until the
    /// process ends, reconnecting after failures.
    pub async fn listen(self, database_url: String) {
        listen_forever(&database_url, CHANNEL, |heard| {
            if let Heard::Notification(payload) = heard {
                match serde_json::from_str::<BusEvent>(payload) {
                    Ok(event) => {
                        let _ = self.sender.send(event);
                    }
                    Err(error) => tracing::warn!(%error, "ignoring a malformed notification"),
                }
            }
        })
        .await
    }
}

/// What a [`listen_forever`] handler hears.
pub enum Heard<'a> {
    /// Listening (again): notifications sent before this may have been missed.
    Listening,
    Notification(&'a str),
    /// The connection is gone; nothing is heard until the next `Listening`.
    Lost,
}

/// `LISTEN`s on `channel` until the process ends, reconnecting a second after
/// a failure, and tells `heard` each notification and each loss of the
/// connection (a loss is always seen: `try_recv`, not sqlx's silently
/// reconnecting `recv`).
pub async fn listen_forever(database_url: &str, channel: &str, mut heard: impl FnMut(Heard<'_>)) {
    loop {
        match PgListener::connect(database_url).await {
            Ok(mut listener) => match listener.listen(channel).await {
                Ok(()) => {
                    heard(Heard::Listening);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => heard(Heard::Notification(notification.payload())),
                            // Lost and already reconnected (sqlx listens again): what was sent in between is gone.
                            Ok(None) => {
                                tracing::warn!(channel, "notification listener reconnected; notifications in between are lost");
                                heard(Heard::Listening);
                            }
                            Err(error) => {
                                tracing::warn!(%error, channel, "notification listener lost its connection; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, channel, "LISTEN failed; retrying"),
            },
            Err(error) => tracing::warn!(%error, channel, "cannot connect the notification listener; retrying"),
        }
        heard(Heard::Lost);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
