//! Writes a signed audit checkpoint at most every interval (default five
//! minutes) when the trail moved, and within one poll period (default 20 s)
//! after any change of a legal-hold complaint. Several instances may run it:
//! [`crate::audit::checkpoint::create`] takes an advisory lock on PostgreSQL
//! (the write lock serialises SQLite) and the checkpoint number is unique.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::{sync::watch, task::JoinHandle};

use crate::{audit::checkpoint, service::Services};
use entity::{audit_checkpoint, audit_event};

/// Starts the job; it stops when `stop` changes (or its sender is dropped).
pub fn spawn(services: Services, interval: Duration, poll: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
            match due(&services, interval).await {
                Ok(false) => {}
                Ok(true) => match checkpoint::create(&services.db, &services.checkpoints, false).await {
                    Ok(Some(cp)) => tracing::info!(seq = cp.seq, chains = cp.chain_count, events = cp.event_count, "audit checkpoint written"),
                    Ok(None) => {}
                    Err(error) => tracing::error!(error = format!("{error:#}"), "writing the audit checkpoint failed"),
                },
                Err(error) => tracing::warn!(error = format!("{error:#}"), "checking whether an audit checkpoint is due failed"),
            }
        }
    })
}

/// Due when the last checkpoint is older than `interval`, or a legal-hold
/// complaint changed since it. (Whether anything changed at all is decided
/// by `create`, which compares the chain heads.)
async fn due(services: &Services, interval: Duration) -> anyhow::Result<bool> {
    let last: Option<DateTime<Utc>> = audit_checkpoint::Entity::find()
        .select_only()
        .column(audit_checkpoint::Column::CreatedAt)
        .order_by_desc(audit_checkpoint::Column::Seq)
        .into_tuple()
        .one(&services.db)
        .await?;
    let Some(last) = last else { return Ok(true) };
    if Utc::now() - last >= chrono::Duration::from_std(interval)? {
        return Ok(true);
    }
    let legal_hold_change = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Id)
        .filter(audit_event::Column::OccurredAt.gt(last))
        .filter(audit_event::Column::Sensitivity.eq(crate::audit::Sensitivity::LegalHold.as_str()))
        .filter(audit_event::Column::ChainKey.starts_with("complaint:"))
        .into_tuple::<uuid::Uuid>()
        .one(&services.db)
        .await?;
    Ok(legal_hold_change.is_some())
}
