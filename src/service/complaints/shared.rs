//! The shared tail of complaint mutations: load for work, version check,
//! transition, diff, audit event, guarded save and commit.

use super::*;

// ---------------------------------------------------------------- work

/// Loads a complaint the caller may work, or the error the policy calls for.
pub(crate) async fn load_for_work(services: &Services, actor: &Actor, id: Uuid) -> AppResult<complaint::Model> {
    let found = complaint::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    may_work(actor, &found)?;
    Ok(found)
}

/// Whether `actor` may work `found` (notes, evidence, transitions) as it is now.
pub(crate) fn may_work(actor: &Actor, found: &complaint::Model) -> AppResult<()> {
    match policy::work_complaint(actor, &access(found)) {
        Decision::Allow => Ok(()),
        Decision::Deny if found.legal_hold => {
            Err(AppError::forbidden("the complaint is under legal hold; only the legal team may change it"))
        }
        Decision::Deny => Err(AppError::forbidden("you may read this complaint but not work on it")),
        Decision::Hide => Err(AppError::NotFound("complaint")),
    }
}

pub(crate) fn check_version(c: &complaint::Model, expected: i32) -> AppResult<()> {
    if c.version != expected {
        return Err(AppError::stale("complaint"));
    }
    Ok(())
}

pub(crate) fn transition(c: &complaint::Model, t: Transition) -> AppResult<ComplaintStatus> {
    status(c)?.apply(t).map_err(|refused| AppError::InvalidTransition(refused.to_string()))
}

/// The audited field changes between two versions of a complaint.
pub(crate) fn diff(before: Option<&complaint::Model>, after: &complaint::Model) -> Changes {
    let as_map = |c: &complaint::Model| match serde_json::to_value(c) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let old = before.map(as_map).unwrap_or_default();
    let new = as_map(after);
    let mut changes = Changes::new();
    for (field, value) in new {
        if matches!(field.as_str(), "updatedAt" | "version") {
            continue;
        }
        let previous = old.get(&field).cloned().unwrap_or(Value::Null);
        changes = changes.field(&field, previous, value);
    }
    changes
}

pub(crate) fn event(c: &complaint::Model, action: &'static str, changes: Changes) -> NewEvent {
    NewEvent {
        complaint_id: Some(c.id),
        sensitivity: sensitivity(c),
        ..NewEvent::new(ChainKey::Complaint(c.id), action, "complaint", c.id)
            .changes(changes)
            .state(crate::audit::state::complaint_state(c))
    }
}

/// Writes `after` if the stored version is still `before.version`, bumping it.
/// The version guard is also the row lock that orders the complaint's audit chain.
pub(crate) async fn save(uow: &UnitOfWork, before: &complaint::Model, after: &mut complaint::Model) -> AppResult<()> {
    after.version = before.version + 1;
    after.updated_at = crate::service::now();
    let mut active = after.clone().into_active_model().reset_all();
    active.id = NotSet;
    active.reference = NotSet;
    active.created_at = NotSet;
    active.created_by = NotSet;
    let updated = complaint::Entity::update_many()
        .set(active)
        .filter(complaint::Column::Id.eq(before.id))
        .filter(complaint::Column::Version.eq(before.version))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::stale("complaint"));
    }
    Ok(())
}

/// The common tail of every complaint mutation: save, audit, commit — and
/// store the escalation request the change raised, if any, in the same transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn commit_change(
    services: &Services,
    ctx: &RequestContext,
    before: &complaint::Model,
    mut after: complaint::Model,
    action: &'static str,
    reason: Option<String>,
    extra: Changes,
    raised: Option<entity::escalation::Model>,
) -> AppResult<complaint::Model> {
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, before, &mut after).await?;
    let mut changes = diff(Some(before), &after).merge(extra);
    if let Some(request) = &raised {
        crate::service::escalations::insert(&uow, request).await?;
        changes = changes.merge(crate::service::escalations::requested_changes(request));
    }
    uow.record(event(&after, action, changes).reason(reason)).await?;
    if let Some(request) = &raised {
        uow.escalation_raised(request.id);
    }
    uow.commit().await?;
    Ok(after)
}

/// When `c`'s current handling cycle began.
pub(crate) fn cycle_start(c: &complaint::Model) -> DateTime<Utc> {
    c.cycle_started_at.unwrap_or(c.created_at)
}

/// Starts a new handling cycle at `now` (on reopening): fresh deadlines from the
/// policy, and breach marks, first response, proposal and callback of the new cycle only.
pub(crate) async fn start_new_cycle(services: &Services, after: &mut complaint::Model, now: DateTime<Utc>) -> AppResult<()> {
    after.cycle += 1;
    after.cycle_started_at = Some(now);
    let due = crate::service::sla::complaint_deadlines(services, after, now).await?;
    after.first_response_due = due.first_response;
    after.solution_due = Some(due.solution);
    after.resolution_due = due.resolution;
    after.sla_breached = false;
    after.first_response_breached = false;
    after.solution_breached = false;
    after.resolution_breached = false;
    after.acknowledged_at = None;
    after.proposed_at = None;
    after.resolved_at = None;
    after.callback_due = None;
    after.closed_at = None;
    after.close_reason = None;
    after.close_outcome = None;
    after.reopen_count += 1;
    Ok(())
}
