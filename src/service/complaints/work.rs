//! Work items: the handling team asks another team for work (an investigation,
//! an implementation, a refund payout, a repair) with a due time; the assisting
//! team completes it with a result or declines it with a reason. While an item
//! is open its team may read the complaint (the policy's assisting read, from
//! `complaint.assisting_teams`, rewritten in the same transaction as the item);
//! an open IMPLEMENT or REFUND_PAYOUT holds back the resolution.

use super::*;
use crate::domain::work::{self, WorkKind, WorkStatus};
use entity::work_item;

/// Work asked of another team.
#[derive(InputObject, Debug)]
pub struct WorkRequestInput {
    /// The team asked to do it.
    pub team_id: ID,
    pub kind: WorkKind,
    /// What is asked, in enough detail to do it without reading further.
    pub request: String,
    /// When it must be done (in the future).
    pub due_by: DateTime<Utc>,
}

/// The complaint, locked for this transaction (PostgreSQL row lock; SQLite's
/// unit of work already holds the write lock), so the assisting teams are
/// recomputed from a state no one else changes meanwhile.
async fn locked(uow: &UnitOfWork, id: Uuid) -> AppResult<complaint::Model> {
    let mut query = complaint::Entity::find_by_id(id);
    if uow.txn().get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    super::super::rows::one(uow.txn(), query).await?.ok_or(AppError::NotFound("complaint"))
}

/// `before` with `assisting_teams` recomputed from the open items, as this
/// transaction sees them.
async fn with_assisting_teams(uow: &UnitOfWork, before: &complaint::Model) -> AppResult<complaint::Model> {
    let open = work_item::Entity::find()
        .filter(work_item::Column::ComplaintId.eq(before.id))
        .filter(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .all(uow.txn())
        .await?;
    let mut after = before.clone();
    after.assisting_teams = work::encode_teams(open.iter().map(|item| item.team_id));
    Ok(after)
}

fn item_changes(item: &work_item::Model) -> Changes {
    Changes::new()
        .set("workItemId", item.id.to_string())
        .set("teamId", item.team_id.to_string())
        .set("kind", item.kind.clone())
        .set("dueBy", item.due_by.to_rfc3339())
}

fn item_event(complaint: &complaint::Model, action: &'static str, item: &work_item::Model, changes: Changes) -> NewEvent {
    NewEvent {
        target_type: "work_item",
        target_id: Some(item.id.to_string()),
        ..event(complaint, action, changes)
    }
}

/// Asks `input.teamId` for work on a complaint the caller may work (not a closed one).
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn request_work(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    input: WorkRequestInput,
) -> AppResult<work_item::Model> {
    let actor = ctx.actor()?;
    let found = complaint::Entity::find_by_id(complaint_id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    may_request(actor, &found)?;
    let team_id = ids::decode(Kind::Team, "input.teamId", &input.team_id)?;
    if team::Entity::find_by_id(team_id).one(&services.db).await?.is_none() {
        return Err(AppError::validation("input.teamId", "no such team"));
    }
    let request = validation::required_text("input.request", &input.request, limits::TEXT)?;
    let now = crate::service::now();
    if input.due_by <= now {
        return Err(AppError::validation("input.dueBy", "must be in the future"));
    }
    let item = work_item::Model {
        id: Uuid::now_v7(),
        complaint_id,
        team_id,
        kind: input.kind.as_str().to_owned(),
        request,
        due_by: input.due_by,
        status: WorkStatus::Open.as_str().to_owned(),
        result: None,
        requested_by: actor.user_id,
        requested_at: now,
        closed_by: None,
        closed_at: None,
        overdue: false,
    };
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let before = locked(&uow, complaint_id).await?;
    may_request(actor, &before)?;
    work_item::Entity::insert(item.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let mut after = with_assisting_teams(&uow, &before).await?;
    save(&uow, &before, &mut after).await?;
    let changes = diff(Some(&before), &after).merge(item_changes(&item)).set("request", item.request.clone());
    uow.record(item_event(&after, "work.requested", &item, changes)).await?;
    uow.commit().await?;
    Ok(item)
}

/// Whether `actor` may ask for work on `c` as it is now.
fn may_request(actor: &Actor, c: &complaint::Model) -> AppResult<()> {
    may_work(actor, c)?;
    if status(c)? == ComplaintStatus::Closed {
        return Err(AppError::InvalidTransition("cannot request work on a CLOSED complaint; reopen it first".into()));
    }
    Ok(())
}

/// Completes an open work item with its result (members of the assisting team).
#[tracing::instrument(skip_all, fields(work_item = %id))]
pub async fn complete_work(services: &Services, ctx: &RequestContext, id: Uuid, result: &str) -> AppResult<work_item::Model> {
    finish(services, ctx, id, WorkStatus::Completed, "result", result).await
}

/// Declines an open work item with a reason (members of the assisting team).
#[tracing::instrument(skip_all, fields(work_item = %id))]
pub async fn decline_work(services: &Services, ctx: &RequestContext, id: Uuid, reason: &str) -> AppResult<work_item::Model> {
    finish(services, ctx, id, WorkStatus::Declined, "reason", reason).await
}

/// Whether `actor` may complete or decline `item` of `c`.
fn may_act(actor: &Actor, item: &work_item::Model, c: &complaint::Model) -> AppResult<()> {
    match policy::act_on_work_item(actor, item.team_id, &access(c)) {
        Decision::Allow => Ok(()),
        Decision::Deny if c.legal_hold => Err(AppError::forbidden("the complaint is under legal hold")),
        Decision::Deny => Err(AppError::forbidden("only members of the team the work was asked of may complete or decline it")),
        Decision::Hide => Err(AppError::NotFound("work item")),
    }
}

async fn finish(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    outcome: WorkStatus,
    field: &'static str,
    text: &str,
) -> AppResult<work_item::Model> {
    let actor = ctx.actor()?;
    let item = work_item::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("work item"))?;
    let found = complaint::Entity::find_by_id(item.complaint_id).one(&services.db).await?.ok_or(AppError::NotFound("work item"))?;
    may_act(actor, &item, &found)?;
    let text = validation::required_text(field, text, limits::TEXT)?;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let before = locked(&uow, item.complaint_id).await?;
    may_act(actor, &item, &before)?;
    let now = crate::service::now();
    // Only an open item closes, once: a second completion loses here.
    let updated = work_item::Entity::update_many()
        .col_expr(work_item::Column::Status, Expr::value(outcome.as_str()))
        .col_expr(work_item::Column::Result, Expr::value(text.clone()))
        .col_expr(work_item::Column::ClosedBy, Expr::value(actor.user_id))
        .col_expr(work_item::Column::ClosedAt, Expr::value(now))
        .filter(work_item::Column::Id.eq(id))
        .filter(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::InvalidTransition(format!("the work item is already {}", item.status)));
    }
    let closed = work_item::Model {
        status: outcome.as_str().to_owned(),
        result: Some(text.clone()),
        closed_by: Some(actor.user_id),
        closed_at: Some(now),
        ..item
    };
    let mut after = with_assisting_teams(&uow, &before).await?;
    save(&uow, &before, &mut after).await?;
    let action = if outcome == WorkStatus::Completed { "work.completed" } else { "work.declined" };
    let changes = diff(Some(&before), &after)
        .merge(item_changes(&closed))
        .field("status", WorkStatus::Open.as_str(), outcome.as_str())
        .set(field, text);
    uow.record(item_event(&after, action, &closed, changes)).await?;
    uow.commit().await?;
    Ok(closed)
}

/// The open items that hold back the resolution of a complaint (IMPLEMENT,
/// REFUND_PAYOUT). Requesting work changes the complaint's version, so a
/// resolution checked against this list cannot commit past a new request.
pub async fn blocking_work(services: &Services, complaint_id: Uuid) -> AppResult<Vec<work_item::Model>> {
    let blocking: Vec<&str> = WorkKind::ALL.iter().filter(|k| k.blocks_resolution()).map(|k| k.as_str()).collect();
    Ok(work_item::Entity::find()
        .filter(work_item::Column::ComplaintId.eq(complaint_id))
        .filter(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .filter(work_item::Column::Kind.is_in(blocking))
        .order_by_asc(work_item::Column::DueBy)
        .all(&services.db)
        .await?)
}

/// `INVALID_TRANSITION` when open work holds back the resolution of `c`.
pub(crate) async fn refuse_resolution_with_open_work(services: &Services, c: &complaint::Model) -> AppResult<()> {
    let open = blocking_work(services, c.id).await?;
    if open.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = open.iter().map(|item| format!("{} due {}", item.kind, item.due_by.to_rfc3339())).collect();
    Err(AppError::InvalidTransition(format!(
        "cannot resolve while work is open ({}): complete or decline it first",
        list.join(", ")
    )))
}

/// A complaint's work items, oldest request first, after `after`.
pub async fn work_items_of(
    services: &Services,
    complaint_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<work_item::Model>, bool)> {
    let filter = Condition::all().add(work_item::Column::ComplaintId.eq(complaint_id));
    ascending_page::<work_item::Entity>(services, filter, work_item::Column::RequestedAt, work_item::Column::Id, after, limit)
        .await
}

/// The open items of the caller's team on complaints the caller may read,
/// the earliest due first; empty for callers without a team.
pub async fn work_queue(
    services: &Services,
    actor: &Actor,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<work_item::Model>, bool)> {
    let Some(team) = policy::work_queue_team(actor) else { return Ok((Vec::new(), false)) };
    let readable = sea_orm::sea_query::Query::select()
        .column(complaint::Column::Id)
        .from(complaint::Entity)
        .cond_where(scope_condition(actor))
        .to_owned();
    let filter = Condition::all()
        .add(work_item::Column::TeamId.eq(team))
        .add(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .add(work_item::Column::ComplaintId.in_subquery(readable));
    ascending_page::<work_item::Entity>(services, filter, work_item::Column::DueBy, work_item::Column::Id, after, limit).await
}

/// A work item whose complaint the caller may read.
pub async fn find_visible_work_item(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Option<work_item::Model>> {
    let Some(item) = work_item::Entity::find_by_id(id).one(&services.db).await? else { return Ok(None) };
    Ok(find_visible(services, actor, item.complaint_id).await?.map(|_| item))
}

/// Open items past their due time and not yet marked, for the SLA monitor.
pub async fn overdue_work_candidates(services: &Services, now: DateTime<Utc>) -> AppResult<Vec<work_item::Model>> {
    Ok(work_item::Entity::find()
        .filter(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .filter(work_item::Column::Overdue.eq(false))
        .filter(work_item::Column::DueBy.lt(now))
        .limit(500)
        .all(&services.db)
        .await?)
}

/// Marks `item` overdue once (the conditional update lets one monitor instance
/// win) with its audit event on the complaint, which reaches `complaintEvents`
/// subscribers. Returns whether this call marked it.
pub async fn mark_work_overdue(services: &Services, item: &work_item::Model) -> AppResult<bool> {
    let mut uow = UnitOfWork::begin(services, &RequestContext::system("sla-monitor")).await?;
    let updated = work_item::Entity::update_many()
        .col_expr(work_item::Column::Overdue, Expr::value(true))
        .filter(work_item::Column::Id.eq(item.id))
        .filter(work_item::Column::Overdue.eq(false))
        .filter(work_item::Column::Status.eq(WorkStatus::Open.as_str()))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Ok(false);
    }
    // The monitor acts for the system: no caller's permission to re-check.
    let complaint = touch(&uow, item.complaint_id, |_| Ok(())).await?;
    let changes = item_changes(item).field("overdue", false, true);
    uow.record(item_event(&complaint, "work.overdue", item, changes)).await?;
    uow.commit().await?;
    Ok(true)
}
