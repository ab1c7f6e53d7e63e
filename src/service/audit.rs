//! Reading and verifying the audit trail: the event list (scoped by policy,
//! personal data masked), verification on demand, the checkpoints.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::Value;
use uuid::Uuid;

use super::{Services, complaints::Cursor};
use crate::{
    audit::verify::{self, Report},
    auth::Actor,
    domain::policy::{self, AuditScope},
    error::{AppError, AppResult},
};
pub use crate::audit::checkpoint::CheckpointWriter;
use entity::{audit_checkpoint, audit_event, complaint};

/// Filters of the audit event list; all given filters must match.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub complaint_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// An event as a caller may see it.
#[derive(Clone, Debug)]
pub struct VisibleEvent {
    pub event: audit_event::Model,
    /// `changes`, with personal data masked when the caller may not see it.
    pub changes: Value,
    pub masked: bool,
}

/// A name reduced to its initials (`Wang Xiaoming` -> `W. X.`; `王小明` -> `王.`),
/// enough to tell cases apart without identifying the customer.
fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() {
        return "•••".into();
    }
    words.iter().filter_map(|w| w.chars().next()).map(|c| format!("{c}.")).collect::<Vec<_>>().join(" ")
}

/// Replaces the customer's personal data in `changes` (`customer.*` fields;
/// the name keeps its initials).
fn mask_changes(changes: &mut Value) -> bool {
    let mut masked = false;
    if let Value::Object(fields) = changes {
        for (name, values) in fields.iter_mut() {
            if !name.starts_with("customer.") {
                continue;
            }
            if let Value::Array(pair) = values {
                for value in pair.iter_mut().filter(|v| !Value::is_null(v)) {
                    *value = match (name.as_str(), &*value) {
                        ("customer.name", Value::String(text)) => Value::String(initials(text)),
                        _ => Value::String("•••".into()),
                    };
                    masked = true;
                }
            }
        }
    }
    masked
}

/// Masks by the stricter of the complaint's sensitivity when the event
/// happened and its sensitivity now (`now`: (sensitive, legal_hold)), so a
/// case made sensitive later no longer shows its early events in clear.
fn visible(actor: &Actor, event: audit_event::Model, now: Option<(bool, bool)>) -> VisibleEvent {
    let mut changes: Value = serde_json::from_str(&event.changes).unwrap_or(Value::Null);
    let (now_sensitive, now_legal_hold) = now.unwrap_or((false, false));
    let sensitive = now_sensitive || event.sensitivity == crate::audit::Sensitivity::Sensitive.as_str();
    let legal_hold = now_legal_hold || event.sensitivity == crate::audit::Sensitivity::LegalHold.as_str();
    let masked = !policy::sees_audited_personal_data(actor, sensitive, legal_hold) && mask_changes(&mut changes);
    VisibleEvent { event, changes, masked }
}

/// A page of the events the caller may read, oldest first, keyset-paged on
/// (occurred_at, id). Returns the page and whether more follow.
#[tracing::instrument(skip_all)]
pub async fn list_events(
    services: &Services,
    actor: &Actor,
    filter: &EventFilter,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<VisibleEvent>, bool)> {
    let scope = match policy::audit_read_scope(actor) {
        AuditScope::Nothing => return Err(AppError::forbidden("only supervisors, legal and auditors read the audit trail")),
        AuditScope::All => Condition::all(),
        AuditScope::Team { user_id, team_id } => {
            let mut any = Condition::any().add(audit_event::Column::ActorId.eq(user_id));
            if let Some(team_id) = team_id {
                // Their team's complaints, and those their team assists (open work items).
                any = any.add(
                    audit_event::Column::ComplaintId.in_subquery(
                        Query::select()
                            .column(complaint::Column::Id)
                            .from(complaint::Entity)
                            .cond_where(
                                Condition::any()
                                    .add(Expr::col(complaint::Column::TeamId).eq(team_id))
                                    .add(super::complaints::assisted_by(team_id)),
                            )
                            .to_owned(),
                    ),
                );
            }
            any
        }
    };
    let mut condition = Condition::all().add(scope);
    if let Some(id) = filter.complaint_id {
        condition = condition.add(audit_event::Column::ComplaintId.eq(id));
    }
    if let Some(id) = filter.actor_id {
        condition = condition.add(audit_event::Column::ActorId.eq(id));
    }
    if let Some(action) = &filter.action {
        condition = condition.add(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        condition = condition.add(audit_event::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(audit_event::Column::OccurredAt.lt(to));
    }
    if let Some(cursor) = after {
        condition = condition.add(
            Condition::any().add(audit_event::Column::OccurredAt.gt(cursor.key)).add(
                Condition::all()
                    .add(audit_event::Column::OccurredAt.eq(cursor.key))
                    .add(audit_event::Column::Id.gt(cursor.id)),
            ),
        );
    }
    let mut rows = audit_event::Entity::find()
        .filter(condition)
        .order_by_asc(audit_event::Column::OccurredAt)
        .order_by_asc(audit_event::Column::Id)
        .limit(limit + 1)
        .all(&services.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    // The complaints' sensitivity now, in one query for the page.
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|e| e.complaint_id).collect();
    ids.sort();
    ids.dedup();
    let now: std::collections::HashMap<Uuid, (bool, bool)> = if ids.is_empty() {
        Default::default()
    } else {
        complaint::Entity::find()
            .select_only()
            .column(complaint::Column::Id)
            .column(complaint::Column::Sensitive)
            .column(complaint::Column::LegalHold)
            .filter(complaint::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, bool, bool)>()
            .all(&services.db)
            .await?
            .into_iter()
            .map(|(id, s, l)| (id, (s, l)))
            .collect()
    };
    Ok((
        rows.into_iter()
            .map(|e| {
                let current = e.complaint_id.and_then(|id| now.get(&id).copied());
                visible(actor, e, current)
            })
            .collect(),
        more,
    ))
}

/// Recomputes the chains (of one complaint, or all) and the checkpoints,
/// pinning the configured public key and reading the anchor file.
#[tracing::instrument(skip_all)]
pub async fn verify(services: &Services, actor: &Actor, complaint: Option<Uuid>) -> AppResult<Report> {
    if !policy::can_verify_audit_trail(actor) {
        return Err(AppError::forbidden("only legal, auditors and administrators verify the audit trail"));
    }
    let trusted_keys = if services.settings.audit_trusted_keys.is_empty() {
        let public_key = crate::audit::checkpoint::parse_public_key(&services.settings.audit_public_key)
            .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
        vec![crate::audit::checkpoint::TrustedKey::always(public_key)]
    } else {
        services.settings.audit_trusted_keys.clone()
    };
    let anchor = match &services.settings.audit_anchor_dir {
        Some(dir) => Some(crate::audit::checkpoint::read_anchor(dir)?),
        None => None,
    };
    let options = verify::Options {
        complaint,
        trusted_keys,
        allow_unpinned: false,
        anchor,
        mac_key: Some(services.checkpoints.mac_key.clone()),
    };
    Ok(verify::verify_database(&services.db, &options).await?)
}

/// The latest checkpoints, newest first (those before seq `before` when given).
pub async fn checkpoints(services: &Services, actor: &Actor, first: u64, before: Option<i64>) -> AppResult<Vec<audit_checkpoint::Model>> {
    if !policy::can_read_checkpoints(actor) {
        return Err(AppError::forbidden("only supervisors, legal, auditors and administrators list audit checkpoints"));
    }
    let mut query = audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Seq).limit(first);
    if let Some(before) = before {
        query = query.filter(audit_checkpoint::Column::Seq.lt(before));
    }
    Ok(query.all(&services.db).await?)
}

/// The whole trail as JSON Lines (the format of `casework audit export`, with
/// the checkpoints) for legal, auditors and administrators, who verify it
/// offline. It holds unmasked changes, so the export itself is audited. The
/// export is spooled to an unlinked temporary file, so memory stays bounded
/// whatever the trail's size; returns the open file and the event count.
#[tracing::instrument(skip_all)]
pub async fn export(services: &Services, ctx: &super::RequestContext) -> AppResult<(tokio::fs::File, u64)> {
    use std::io::Write;
    let actor = ctx.actor()?;
    if !policy::can_verify_audit_trail(actor) {
        return Err(AppError::forbidden("only legal, auditors and administrators export the audit trail"));
    }
    let path = std::env::temp_dir().join(format!("casework-audit-export-{}.jsonl", Uuid::new_v4()));
    let spooled = async {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let count = crate::audit::export::export(&services.db, &mut out).await?;
        out.flush()?;
        let file = tokio::fs::File::open(&path).await?;
        anyhow::Ok((file, count))
    }
    .await;
    // Unlinked at once: the open handle still reads it, nothing is left behind.
    let _ = std::fs::remove_file(&path);
    let (file, count) = spooled?;
    let mut uow = super::UnitOfWork::begin(services, ctx).await?;
    uow.record(crate::audit::NewEvent::new(
        crate::audit::ChainKey::User(actor.user_id),
        "audit.exported",
        "user",
        actor.user_id,
    ))
    .await?;
    uow.commit().await?;
    Ok((file, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn customer_fields_are_masked_and_others_kept() {
        let mut changes = json!({"customer.phone": [null, "+86 138"], "customer.name": ["Wang Xiaoming", "王小明"], "status": [null, "NEW"]});
        assert!(mask_changes(&mut changes));
        assert_eq!(changes, json!({"customer.phone": [null, "•••"], "customer.name": ["W. X.", "王."], "status": [null, "NEW"]}));
        assert!(!mask_changes(&mut json!({"status": ["NEW", "ACKNOWLEDGED"]})));
    }
}
