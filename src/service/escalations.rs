//! Escalation requests: raised by people (with a trigger and a reason) or by the
//! system (authority exceeded, high impact, overdue), decided by someone else.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{
    RequestContext, Services, UnitOfWork,
    complaints::{self, access},
};
use crate::{
    audit::Changes,
    domain::{
        ComplaintStatus, EscalationStatus, EscalationTrigger, Severity, Tier, Transition,
        escalation::{self as rules},
        policy::{self, Decision, QueueScope, Referral},
        validation::{self, limits},
    },
    error::{AppError, AppResult},
};
use entity::{complaint, escalation, team};

use crate::error::stored as parse;
use super::rows::FromRow;

/// A new pending request, not yet stored.
pub(crate) fn new_request(
    complaint: &complaint::Model,
    trigger: EscalationTrigger,
    to_tier: Tier,
    reason: String,
    requested_by: Option<Uuid>,
) -> AppResult<escalation::Model> {
    let now = super::now();
    let severity: Severity = parse(&complaint.severity)?;
    Ok(escalation::Model {
        id: Uuid::now_v7(),
        complaint_id: complaint.id,
        from_tier: complaint.tier.clone(),
        to_tier: to_tier.as_str().to_owned(),
        trigger: trigger.as_str().to_owned(),
        reason,
        requested_by,
        requested_at: now,
        status: EscalationStatus::Pending.as_str().to_owned(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
        due_by: rules::decision_due(now, trigger, severity),
        overdue: false,
    })
}

/// Stores a request inside `uow` (the caller records the event, then calls
/// `uow.escalation_raised`).
pub(crate) async fn insert(uow: &UnitOfWork, request: &escalation::Model) -> AppResult<()> {
    escalation::Entity::insert(request.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    Ok(())
}

/// The audited summary of a new request, merged into its change's event.
pub(crate) fn requested_changes(request: &escalation::Model) -> Changes {
    Changes::new().set(
        "escalationRequested",
        serde_json::json!({
            "id": request.id.to_string(),
            "trigger": request.trigger,
            "fromTier": request.from_tier,
            "toTier": request.to_tier,
            "reason": request.reason,
        }),
    )
}

pub(crate) async fn pending_with_trigger(services: &Services, complaint: Uuid, trigger: EscalationTrigger) -> AppResult<bool> {
    Ok(escalation::Entity::find()
        .filter(escalation::Column::ComplaintId.eq(complaint))
        .filter(escalation::Column::Trigger.eq(trigger.as_str()))
        .filter(escalation::Column::Status.eq(EscalationStatus::Pending.as_str()))
        .one(&services.db)
        .await?
        .is_some())
}

/// Asks for a complaint to move to another tier.
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn request(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    to_tier: Tier,
    trigger: EscalationTrigger,
    reason: &str,
) -> AppResult<escalation::Model> {
    let actor = ctx.actor()?;
    let complaint = complaints::load_for_work(services, actor, complaint_id).await?;
    debug_assert_eq!(policy::request_escalation(actor, &access(&complaint)), Decision::Allow);
    let reason = validation::required_text("reason", reason, limits::TEXT)?;
    rules::validate_request(trigger, parse(&complaint.tier)?, to_tier)?;
    if !parse::<ComplaintStatus>(&complaint.status)?.is_open() {
        return Err(AppError::InvalidTransition(format!("cannot escalate a complaint that is {}", complaint.status)));
    }
    if pending_with_trigger(services, complaint.id, trigger).await? {
        return Err(AppError::validation("trigger", format!("a {trigger} request for this complaint is already pending")));
    }
    let request = new_request(&complaint, trigger, to_tier, reason, Some(actor.user_id))?;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let complaint = complaints::touch(&uow, complaint.id, |c| complaints::may_work(actor, c)).await?;
    insert(&uow, &request).await?;
    let event = complaints::event(&complaint, "escalation.requested", requested_changes(&request));
    uow.record(crate::audit::NewEvent { target_type: "escalation", target_id: Some(request.id.to_string()), ..event }).await?;
    uow.escalation_raised(request.id);
    uow.commit().await?;
    Ok(request)
}

/// Refers a complaint to the legal team. Supervisors and legal place it under
/// legal hold at once; an agent's referral waits for legal's approval.
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn refer_to_legal(services: &Services, ctx: &RequestContext, complaint_id: Uuid, reason: &str) -> AppResult<escalation::Model> {
    let actor = ctx.actor()?;
    let before = complaint::Entity::find_by_id(complaint_id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    let referral = match policy::refer_to_legal(actor, &access(&before)) {
        Ok(referral) => referral,
        Err(Decision::Hide) => return Err(AppError::NotFound("complaint")),
        Err(_) => return Err(AppError::forbidden("you may not refer this complaint to legal")),
    };
    let reason = validation::required_text("reason", reason, limits::TEXT)?;
    if before.legal_hold {
        return Err(AppError::validation("id", "the complaint is already under legal hold"));
    }
    if pending_with_trigger(services, before.id, EscalationTrigger::Legal).await? {
        return Err(AppError::validation("id", "a referral to legal is already pending"));
    }
    let request = new_request(&before, EscalationTrigger::Legal, Tier::Tier3, reason.clone(), Some(actor.user_id))?;
    let mut after = before.clone();
    if referral == Referral::Hold {
        after.legal_hold = true;
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    complaints::save(&uow, &before, &mut after).await?;
    insert(&uow, &request).await?;
    let changes = complaints::diff(Some(&before), &after).merge(requested_changes(&request));
    uow.record(complaints::event(&after, "complaint.referred_to_legal", changes).reason(Some(reason))).await?;
    uow.escalation_raised(request.id);
    uow.commit().await?;
    Ok(request)
}

async fn load_for_decision(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<(escalation::Model, complaint::Model)> {
    let actor = ctx.actor()?;
    let request = escalation::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("escalation"))?;
    let complaint = complaint::Entity::find_by_id(request.complaint_id)
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound("escalation"))?;
    let trigger: EscalationTrigger = parse(&request.trigger)?;
    match policy::decide_escalation(actor, trigger, request.requested_by, &access(&complaint)) {
        Decision::Allow => {}
        Decision::Hide => return Err(AppError::NotFound("escalation")),
        Decision::Deny if request.requested_by == Some(actor.user_id) => {
            return Err(AppError::forbidden("nobody decides their own escalation request"));
        }
        Decision::Deny if trigger == EscalationTrigger::Legal => {
            return Err(AppError::forbidden("the legal team decides referrals to legal"));
        }
        Decision::Deny => return Err(AppError::forbidden("only supervisors decide escalation requests")),
    }
    if request.status != EscalationStatus::Pending.as_str() {
        return Err(AppError::InvalidTransition(format!("this request was already {}", request.status.to_lowercase())));
    }
    Ok((request, complaint))
}

/// A team of `tier` for an approved escalation: the one given, or the first by name.
async fn team_of_tier(services: &Services, tier: Tier, team: Option<Uuid>) -> AppResult<team::Model> {
    if let Some(team) = team {
        let found = team::Entity::find_by_id(team).one(&services.db).await?.ok_or(AppError::validation("teamId", "no such team"))?;
        if found.tier != tier.as_str() {
            return Err(AppError::validation("teamId", format!("the team is not a {tier} team")));
        }
        return Ok(found);
    }
    team::Entity::find()
        .filter(team::Column::Tier.eq(tier.as_str()))
        .order_by_asc(team::Column::Name)
        .one(&services.db)
        .await?
        .ok_or_else(|| AppError::validation("teamId", format!("there is no {tier} team to take the complaint")))
}

/// Approves a request: the complaint moves to the target tier (and a team of it),
/// a compensation returns to the customer as proposed, a referral places the hold.
#[tracing::instrument(skip_all, fields(escalation = %id))]
pub async fn approve(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    note: Option<String>,
    team: Option<Uuid>,
) -> AppResult<escalation::Model> {
    let (request, before) = load_for_decision(services, ctx, id).await?;
    let actor = ctx.actor()?;
    let note = validation::optional_text("note", note.as_deref(), limits::TEXT)?;
    let trigger: EscalationTrigger = parse(&request.trigger)?;
    let to_tier: Tier = parse(&request.to_tier)?;
    let mut after = before.clone();
    match trigger {
        EscalationTrigger::ExceedsAuthority => {
            // The approver's limit caps the same total: refund plus compensation.
            let parts = [&before.compensation_amount, &before.refund_amount];
            if parts.iter().any(|part| part.is_some()) {
                let mut amount = rust_decimal::Decimal::ZERO;
                for part in parts.into_iter().flatten() {
                    amount += part.parse::<rust_decimal::Decimal>().map_err(AppError::internal)?;
                }
                let authority = &services.settings.authority;
                let currency = before.compensation_currency.as_deref().unwrap_or(&before.currency);
                if !policy::within_authority(actor, amount, currency, authority) {
                    return Err(AppError::ApprovalRequired(format!(
                        "{amount} {currency} exceeds your authority of {} {}; escalate it to {}",
                        actor.authority_limit,
                        actor.limit_currency(authority),
                        rules::next_tier(parse(&before.tier)?)
                    )));
                }
            }
            if before.status == ComplaintStatus::PendingApproval.as_str() {
                after.status = complaints::transition(&before, Transition::ApproveProposal)?.as_str().to_owned();
            }
        }
        EscalationTrigger::Legal => after.legal_hold = true,
        _ => {}
    }
    if to_tier.as_str() != before.tier {
        let team = team_of_tier(services, to_tier, team).await?;
        after.tier = to_tier.as_str().to_owned();
        after.team_id = Some(team.id);
        after.assignee_id = None;
    }
    let decided = escalation::Model {
        status: EscalationStatus::Approved.as_str().to_owned(),
        decided_by: Some(actor.user_id),
        decided_at: Some(super::now()),
        decision_note: note.clone(),
        ..request.clone()
    };
    decide(services, ctx, &before, after, &decided, "escalation.approved", note).await?;
    Ok(decided)
}

/// Rejects a request with a reason. A rejected compensation returns the
/// complaint to investigation; a rejected referral lifts the hold.
#[tracing::instrument(skip_all, fields(escalation = %id))]
pub async fn reject(services: &Services, ctx: &RequestContext, id: Uuid, reason: &str) -> AppResult<escalation::Model> {
    let (request, before) = load_for_decision(services, ctx, id).await?;
    let actor = ctx.actor()?;
    let reason = validation::required_text("reason", reason, limits::TEXT)?;
    let mut after = before.clone();
    match parse::<EscalationTrigger>(&request.trigger)? {
        EscalationTrigger::ExceedsAuthority if before.status == ComplaintStatus::PendingApproval.as_str() => {
            after.status = complaints::transition(&before, Transition::RejectProposal)?.as_str().to_owned();
        }
        EscalationTrigger::Legal => after.legal_hold = false,
        _ => {}
    }
    let decided = escalation::Model {
        status: EscalationStatus::Rejected.as_str().to_owned(),
        decided_by: Some(actor.user_id),
        decided_at: Some(super::now()),
        decision_note: Some(reason.clone()),
        ..request.clone()
    };
    decide(services, ctx, &before, after, &decided, "escalation.rejected", Some(reason)).await?;
    Ok(decided)
}

async fn decide(
    services: &Services,
    ctx: &RequestContext,
    before: &complaint::Model,
    mut after: complaint::Model,
    decided: &escalation::Model,
    action: &'static str,
    reason: Option<String>,
) -> AppResult<()> {
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    complaints::save(&uow, before, &mut after).await?;
    // Only a pending request can be decided, once: the status guard settles races.
    let updated = escalation::Entity::update_many()
        .set(decided.clone().into_active_model().reset_all())
        .filter(escalation::Column::Id.eq(decided.id))
        .filter(escalation::Column::Status.eq(EscalationStatus::Pending.as_str()))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::InvalidTransition("this request was already decided".into()));
    }
    let changes = complaints::diff(Some(before), &after)
        .field("escalation.status", EscalationStatus::Pending.as_str(), decided.status.clone())
        .set("escalation.id", decided.id.to_string())
        .set("escalation.trigger", decided.trigger.clone());
    let event = complaints::event(&after, action, changes).reason(reason);
    uow.record(crate::audit::NewEvent { target_type: "escalation", target_id: Some(decided.id.to_string()), ..event }).await?;
    uow.commit().await
}

/// Pending (or decided) requests the caller may decide, oldest first; with
/// `complaints`, each with those columns of its complaint (and the ones the
/// read policy needs) read in the same statement.
pub async fn queue(
    services: &Services,
    ctx: &RequestContext,
    status: EscalationStatus,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
    complaints: Option<super::rows::ColumnSet>,
) -> AppResult<Vec<(escalation::Model, Option<complaint::Model>)>> {
    let actor = ctx.actor()?;
    let scope = policy::escalation_queue(actor).ok_or_else(|| AppError::forbidden("only supervisors and legal have an approval queue"))?;
    let mut query = escalation::Entity::find().filter(escalation::Column::Status.eq(status.as_str()));
    query = match scope {
        QueueScope::AllButLegal => query.filter(escalation::Column::Trigger.ne(EscalationTrigger::Legal.as_str())),
        QueueScope::LegalOnly => query.filter(escalation::Column::Trigger.eq(EscalationTrigger::Legal.as_str())),
    };
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(escalation::Column::RequestedAt.gt(at))
                .add(Condition::all().add(escalation::Column::RequestedAt.eq(at)).add(escalation::Column::Id.gt(id))),
        );
    }
    let select = query.order_by_asc(escalation::Column::RequestedAt).order_by_asc(escalation::Column::Id).limit(limit);
    let Some(columns) = complaints else {
        return Ok(super::rows::all(&services.db, select).await?.into_iter().map(|e| (e, None)).collect());
    };
    let columns = columns.union(complaints::required_columns());
    // The page as a subquery `q`, each request with its complaint by primary
    // key, found by index lookup (`rows::join_neighbour`).
    use sea_orm::{ConnectionTrait, QueryTrait, sea_query::{Alias, Asterisk, Query}};
    let q = Alias::new("q");
    let mut folded = Query::select();
    folded.column((q.clone(), Asterisk)).from_subquery(select.into_query(), q.clone());
    let backend = services.db.get_database_backend();
    let names = complaint_columns();
    super::rows::join_neighbour(&mut folded, backend, &super::rows::Neighbour {
        table: "complaint",
        alias: "c",
        columns: <complaint::Model as FromRow>::COLUMNS,
        names,
        set: columns,
        matching: r#""complaint"."id" = "q"."complaint_id""#,
        newest_by: &[],
        on_key: r#""c"."id" = "q"."complaint_id""#,
    });
    folded
        .order_by((q.clone(), escalation::Column::RequestedAt), sea_orm::Order::Asc)
        .order_by((q, escalation::Column::Id), sea_orm::Order::Asc);
    let rows = services.db.query_all_raw(backend.build(&folded)).await?;
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    use super::rows::{ColumnSet, Layout};
    let request = Layout::of::<escalation::Model>(first, ColumnSet::ALL)?;
    let complaint = Layout::find(first, columns, columns.pick(names).map(String::as_str))?;
    Ok(rows
        .iter()
        .map(|row| Ok((request.read_one(row)?, complaint.read(row)?)))
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?)
}

/// Aliases of the complaint columns folded into a queue page (`c__status`, …).
fn complaint_columns() -> &'static [String] {
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        <complaint::Model as FromRow>::COLUMNS.iter().map(|c| format!("c__{c}")).collect()
    });
    &NAMES
}

/// Requests of each complaint, oldest first (for DataLoaders).
pub async fn by_complaints(services: &Services, ids: &[Uuid]) -> AppResult<Vec<escalation::Model>> {
    let select = escalation::Entity::find()
        .filter(escalation::Column::ComplaintId.is_in(ids.iter().copied()))
        .order_by_asc(escalation::Column::RequestedAt)
        .order_by_asc(escalation::Column::Id);
    Ok(super::rows::all(&services.db, select).await?)
}

/// One request, if the caller may read its complaint.
pub async fn find_visible(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<Option<(escalation::Model, complaint::Model)>> {
    let actor = ctx.actor()?;
    let Some(request) = escalation::Entity::find_by_id(id).one(&services.db).await? else { return Ok(None) };
    let Some(complaint) = complaint::Entity::find_by_id(request.complaint_id).one(&services.db).await? else { return Ok(None) };
    Ok(policy::can_read_complaint(actor, &access(&complaint)).then_some((request, complaint)))
}
