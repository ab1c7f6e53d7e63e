//! Edits and status transitions of one complaint.

use super::*;

/// Corrects intake data. A new severity recomputes the SLA deadlines from creation.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn update(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: UpdateComplaintInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    if !status(&before)?.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "cannot edit a complaint that is {}; reopen it first",
            before.status
        )));
    }
    let mut after = before.clone();
    if let Some(v) = input.channel {
        after.channel = v.as_str().to_owned();
    }
    if let Some(v) = input.category {
        after.category = v.as_str().to_owned();
    }
    if let Some(v) = input.severity {
        after.severity = v.as_str().to_owned();
    }
    if let Some(v) = &input.title {
        after.title = validation::required_text("input.title", v, limits::TITLE)?;
    }
    if let Some(v) = &input.description {
        after.description = validation::required_text("input.description", v, limits::TEXT)?;
    }
    if let Some(v) = input.core_demand {
        after.core_demand = v.as_str().to_owned();
    }
    if let Some(v) = input.emotion {
        after.emotion = v.as_str().to_owned();
    }
    if let Some(v) = &input.currency {
        after.currency = Currency::parse("input.currency", v)?.code().to_owned();
    }
    let currency = Currency::parse("input.currency", &after.currency)?;
    if let Some(amount) = input.requested_amount {
        after.requested_amount = Some(Money::parse("input.requestedAmount", amount, currency)?.amount_text());
    } else if let Some(amount) = &after.requested_amount {
        // A new currency must still fit the stored amount's precision.
        let amount: Decimal = amount.parse().map_err(AppError::internal)?;
        after.requested_amount = Some(Money::parse("input.currency", amount, currency)?.amount_text());
    }
    if input.order_reference.is_some() {
        after.order_reference =
            validation::optional_text("input.orderReference", input.order_reference.as_deref(), limits::REFERENCE)?;
    }
    if let Some(at) = input.occurred_at {
        after.occurred_at = Some(validation::not_in_future("input.occurredAt", at, crate::service::now())?);
    }
    if input.product_or_service.is_some() {
        after.product_or_service =
            validation::optional_text("input.productOrService", input.product_or_service.as_deref(), limits::NAME)?;
    }
    if input.location.is_some() {
        after.location = validation::optional_text("input.location", input.location.as_deref(), limits::NAME)?;
    }
    if after.severity != before.severity || after.category != before.category {
        // Lowering the severity (or reclassifying) pushes deadlines back: a
        // supervisor's decision, never the handling agent's. Raising is fine.
        let lowered = crate::error::stored::<crate::domain::Severity>(&after.severity)?
            < crate::error::stored::<crate::domain::Severity>(&before.severity)?;
        if actor.role == crate::domain::Role::Agent && (lowered || after.category != before.category) {
            return Err(AppError::forbidden("lowering the severity or changing the category is a supervisor's decision"));
        }
        // Deadlines follow the policy of the new severity, counted from the cycle's start.
        let due = crate::service::sla::complaint_deadlines(services, &after, cycle_start(&before)).await?;
        after.first_response_due = due.first_response;
        after.resolution_due = due.resolution;
        after.solution_due = Some(due.solution);
    }
    let mut extra = Changes::new();
    if after.first_response_due != before.first_response_due
        || after.resolution_due != before.resolution_due
        || after.solution_due != before.solution_due
    {
        // The audit event names each deadline that moved, before and after.
        let rfc = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| at.to_rfc3339());
        extra = extra
            .field("firstResponseDue", before.first_response_due.to_rfc3339(), after.first_response_due.to_rfc3339())
            .field("resolutionDue", before.resolution_due.to_rfc3339(), after.resolution_due.to_rfc3339())
            .field("solutionDue", rfc(before.solution_due), rfc(after.solution_due));
    }
    let customer_update = match &input.customer {
        Some(customer_input) => {
            let valid = validate_customer("input.customer", customer_input)?;
            let old = customer::Entity::find_by_id(before.customer_id)
                .one(&services.db)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("complaint without customer")))?;
            extra = extra
                .field("customer.name", old.name.clone(), valid.name.clone())
                .field("customer.phone", old.phone.clone(), valid.phone.clone())
                .field("customer.email", old.email.clone(), valid.email.clone());
            Some(customer::Model {
                name: valid.name,
                phone_key: valid.phone.as_deref().and_then(crate::service::customers::phone_key),
                email_key: valid.email.as_deref().and_then(crate::service::customers::email_key),
                phone: valid.phone,
                email: valid.email,
                ..old
            })
        }
        None => None,
    };
    if diff(Some(&before), &after).is_empty() && extra.is_empty() {
        return Err(AppError::validation("input", "nothing to change"));
    }

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, &before, &mut after).await?;
    if let Some(customer) = customer_update {
        customer::Entity::update(customer.into_active_model().reset_all()).exec(uow.txn()).await?;
    }
    let changes = diff(Some(&before), &after).merge(extra);
    uow.record(event(&after, "complaint.updated", changes)).await?;
    uow.commit().await?;
    Ok(after)
}

/// Moves a complaint to a team and/or assignee. The tier follows the team.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn assign(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    assignee: Option<Uuid>,
    team: Option<Uuid>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = complaint::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    let target_team = team.or(before.team_id);
    match policy::assign_complaint(actor, &access(&before), target_team) {
        Decision::Allow => {}
        Decision::Deny => return Err(AppError::forbidden("you may not move this complaint there")),
        Decision::Hide => return Err(AppError::NotFound("complaint")),
    }
    check_version(&before, expected_version)?;
    if assignee.is_none() && team.is_none() {
        return Err(AppError::validation("assigneeId", "give an assignee, a team, or both"));
    }
    let mut after = before.clone();
    if let Some(team) = team {
        after.tier = team_tier(services, "teamId", team).await?.as_str().to_owned();
        after.team_id = Some(team);
        if assignee.is_none() {
            // A new team picks its own assignee.
            after.assignee_id = None;
        }
    }
    if let Some(user) = assignee {
        check_assignee(services, "assigneeId", user, after.team_id).await?;
        after.assignee_id = Some(user);
    }
    commit_change(services, ctx, &before, after, "complaint.assigned", None, Changes::new(), None).await
}

/// Acknowledges the complaint to the customer; stops the first-response clock.
/// The message, if any, is kept as a customer update note.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn acknowledge(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    message: Option<String>,
    promised_by: Option<DateTime<Utc>>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let message = validation::optional_text("message", message.as_deref(), limits::TEXT)?;
    let now = crate::service::now();
    if promised_by.is_some_and(|at| at <= now) {
        return Err(AppError::validation("promisedBy", "must be in the future"));
    }
    let mut after = before.clone();
    after.status = transition(&before, Transition::Acknowledge)?.as_str().to_owned();
    after.acknowledged_at = Some(now);
    after.promised_by = promised_by;
    after.promise_breached = false;
    after.next_update_due = Some(now + update_interval(services));

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, &before, &mut after).await?;
    let mut changes = diff(Some(&before), &after);
    if let Some(body) = message {
        let note = new_note(actor, id, body, NoteVisibility::CustomerUpdate);
        note::Entity::insert(note.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
        changes = changes.set("message", note.body).set("noteId", note.id.to_string());
    }
    uow.record(event(&after, "complaint.acknowledged", changes)).await?;
    uow.commit().await?;
    Ok(after)
}

/// Records the investigation's finding: root cause, responsibility, summary.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_finding(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: FindingInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::RecordFinding)?.as_str().to_owned();
    if after.acknowledged_at.is_none() {
        // A reopened cycle's first response is its first finding.
        after.acknowledged_at = Some(crate::service::now());
    }
    after.root_cause = Some(input.root_cause.as_str().to_owned());
    after.responsibility =
        validation::optional_text("input.responsibility", input.responsibility.as_deref(), limits::SHORT)?;
    after.finding_summary = Some(validation::required_text("input.summary", &input.summary, limits::TEXT)?);
    commit_change(services, ctx, &before, after, "complaint.finding_recorded", None, Changes::new(), None).await
}

/// Proposes a resolution. A compensation above the proposer's authority puts
/// the complaint in `PENDING_APPROVAL`.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn propose_resolution(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: ResolutionInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    if !policy::can_propose_compensation(actor) {
        return Err(AppError::forbidden("only agents and supervisors propose resolutions"));
    }
    let currency = Currency::parse("input.currency", input.currency.as_deref().unwrap_or(&before.currency))?;
    let compensation = input
        .compensation_amount
        .map(|amount| Money::parse("input.compensationAmount", amount, currency))
        .transpose()?;
    let refund = input.refund_amount.map(|amount| Money::parse("input.refundAmount", amount, currency)).transpose()?;
    // The manuals' worked case: the goods refunded plus a compensation on top.
    // The authority limit caps what the customer gets in all.
    let total = match (compensation, refund) {
        (None, None) => None,
        (c, r) => Some(Money {
            amount: c.map_or(Decimal::ZERO, |m| m.amount) + r.map_or(Decimal::ZERO, |m| m.amount),
            currency,
        }),
    };
    let authority = &services.settings.authority;
    let needs_approval = total.is_some_and(|m| !policy::within_authority(actor, m.amount, m.currency.code(), authority));
    let mut after = before.clone();
    let step = if needs_approval { Transition::ProposeForApproval } else { Transition::Propose };
    after.status = transition(&before, step)?.as_str().to_owned();
    after.resolution_summary = Some(validation::required_text("input.summary", &input.summary, limits::TEXT)?);
    after.compensation_amount = compensation.map(|m| m.amount_text());
    after.refund_amount = refund.map(|m| m.amount_text());
    after.compensation_currency = total.map(|m| m.currency.code().to_owned());
    after.remedies = validation::optional_text("input.remedies", input.remedies.as_deref(), limits::TEXT)?;
    after.preventive_measures =
        validation::optional_text("input.preventiveMeasures", input.preventive_measures.as_deref(), limits::TEXT)?;
    after.customer_accepted = None;
    after.customer_decision_note = None;
    if after.proposed_at.is_none() {
        // The first proposal of the cycle meets the solution deadline.
        after.proposed_at = Some(crate::service::now());
    }
    let limit_currency = actor.limit_currency(authority);
    let extra = Changes::new().field("authorityLimit", Value::Null, format!("{} {}", actor.authority_limit, limit_currency));
    let raised = match total.filter(|_| needs_approval) {
        Some(money) => Some(crate::service::escalations::new_request(
            &before,
            crate::domain::EscalationTrigger::ExceedsAuthority,
            status_tier(&before)?,
            format!(
                "{} of {} {} exceeds the proposer's authority of {} {}{}",
                if refund.is_some() { "refund plus compensation" } else { "compensation" },
                money.amount_text(),
                money.currency.code(),
                actor.authority_limit,
                limit_currency,
                match authority.convert(money.amount, money.currency.code()) {
                    Some(converted) if money.currency.code() != authority.currency =>
                        format!(" (≈ {} {})", converted.round_dp(2), authority.currency),
                    Some(_) => String::new(),
                    None => " (no conversion rate configured)".to_owned(),
                }
            ),
            Some(actor.user_id),
        )?),
        None => None,
    };
    commit_change(services, ctx, &before, after, "complaint.resolution_proposed", None, extra, raised).await
}

/// Records whether the customer accepted the proposed resolution.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_customer_decision(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    accepted: bool,
    note: Option<String>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    let step = if accepted { Transition::CustomerAccepts } else { Transition::CustomerDeclines };
    after.status = transition(&before, step)?.as_str().to_owned();
    after.customer_accepted = Some(accepted);
    after.customer_decision_note = validation::optional_text("note", note.as_deref(), limits::TEXT)?;
    commit_change(services, ctx, &before, after, "complaint.customer_decided", None, Changes::new(), None).await
}

/// Marks the accepted resolution as carried out.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn resolve(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    summary: &str,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Resolve)?.as_str().to_owned();
    refuse_resolution_with_open_work(services, &before).await?;
    after.resolution_note = Some(validation::required_text("summary", summary, limits::TEXT)?);
    after.resolved_at = Some(crate::service::now());
    // The callback is due as soon as the complaint is resolved.
    after.callback_due = after.resolved_at;
    commit_change(services, ctx, &before, after, "complaint.resolved", None, Changes::new(), None).await
}

/// Records a callback attempt (appended to `callbacks`). Reached and satisfied
/// closes the complaint (RESOLVED_SATISFIED); reached and unsatisfied reopens it
/// in a new cycle; not reached keeps it RESOLVED with the next attempt due.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_callback(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: CallbackInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let score = input.score.map(|s| validation::satisfaction_score("input.score", s)).transpose()?;
    let comment = validation::optional_text("input.comment", input.comment.as_deref(), limits::TEXT)?;
    let now = crate::service::now();
    let mut after = before.clone();
    if input.reached {
        let step = if input.satisfied { Transition::CallbackSatisfied } else { Transition::CallbackUnsatisfied };
        let next = transition(&before, step)?;
        after.status = next.as_str().to_owned();
        after.satisfied = Some(input.satisfied);
        after.satisfaction_score = score;
        match next {
            ComplaintStatus::Closed => {
                after.closed_at = Some(now);
                after.close_reason = Some("customer satisfied at callback".to_owned());
                after.close_outcome = Some(CloseOutcome::ResolvedSatisfied.as_str().to_owned());
                after.callback_due = None;
            }
            _ => start_new_cycle(services, &mut after, now).await?,
        }
    } else {
        if status(&before)? != ComplaintStatus::Resolved {
            return Err(AppError::InvalidTransition(format!(
                "cannot record a callback on a complaint that is {}",
                before.status
            )));
        }
        if score.is_some() {
            return Err(AppError::validation("input.score", "a customer who was not reached gives no score"));
        }
        let retry = chrono::Duration::hours(std::cmp::max(services.settings.closed_loop.callback_retry_hours, 0));
        after.callback_due = Some(now + retry);
    }
    after.callback_reached = Some(input.reached);
    after.callback_comment = comment.clone();
    let attempt = entity::callback_attempt::Model {
        id: Uuid::now_v7(),
        complaint_id: before.id,
        cycle: before.cycle,
        at: now,
        by_user: actor.user_id,
        reached: input.reached,
        satisfied: input.reached.then_some(input.satisfied),
        score,
        comment,
    };
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, &before, &mut after).await?;
    entity::callback_attempt::Entity::insert(attempt.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = diff(Some(&before), &after).set("callbackAttemptId", attempt.id.to_string());
    uow.record(event(&after, "complaint.callback_recorded", changes)).await?;
    uow.commit().await?;
    Ok(after)
}

/// Unreached callback attempts in the complaint's current cycle.
pub async fn unreached_attempts(services: &Services, c: &complaint::Model) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(entity::callback_attempt::Entity::find()
        .filter(entity::callback_attempt::Column::ComplaintId.eq(c.id))
        .filter(entity::callback_attempt::Column::Cycle.eq(c.cycle))
        .filter(entity::callback_attempt::Column::Reached.eq(false))
        .count(&services.db)
        .await?)
}

/// Closes a complaint with a reason (after resolution, or as withdrawn/duplicate).
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn close(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    reason: &str,
    outcome: Option<CloseOutcome>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    if outcome.is_some_and(CloseOutcome::is_implied) {
        return Err(AppError::validation("outcome", "this outcome is set by the system where it is implied"));
    }
    let mut after = before.clone();
    after.status = transition(&before, Transition::Close)?.as_str().to_owned();
    let outcome = if status(&before)? == ComplaintStatus::Resolved {
        // Leaving RESOLVED needs the callback: a reached customer closes or reopens
        // it at the callback; closing by hand needs the allowed unreached attempts.
        let max = std::cmp::max(services.settings.closed_loop.callback_max_attempts, 0) as u64;
        let unreached = unreached_attempts(services, &before).await?;
        if unreached < max {
            return Err(AppError::InvalidTransition(format!(
                "cannot close a resolved complaint before calling the customer back ({unreached} of {max} unreached attempts recorded)"
            )));
        }
        Some(outcome.unwrap_or(CloseOutcome::Unreachable))
    } else {
        outcome
    };
    after.close_outcome = outcome.map(|o| o.as_str().to_owned());
    after.callback_due = None;
    after.close_reason = Some(reason.clone());
    after.closed_at = Some(crate::service::now());
    commit_change(services, ctx, &before, after, "complaint.closed", Some(reason), Changes::new(), None).await
}

/// Reopens a resolved or closed complaint.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn reopen(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    reason: &str,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Reopen)?.as_str().to_owned();
    start_new_cycle(services, &mut after, crate::service::now()).await?;
    commit_change(services, ctx, &before, after, "complaint.reopened", Some(reason), Changes::new(), None).await
}

/// Sets or clears flags. Only supervisors and legal may mark or unmark sensitive.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn set_flags(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: FlagsInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    if let Some(sensitive) = input.sensitive.filter(|s| *s != before.sensitive) {
        if policy::mark_sensitive(actor, &access(&before)) != Decision::Allow {
            return Err(AppError::forbidden("only supervisors and legal mark complaints sensitive; ask one"));
        }
        after.sensitive = sensitive;
    }
    if let Some(v) = input.vulnerable_customer {
        after.vulnerable_customer = v;
    }
    if let Some(v) = input.media_attention {
        after.media_attention = v;
    }
    if let Some(v) = input.group_complaint {
        after.group_complaint = v;
    }
    if diff(Some(&before), &after).is_empty() {
        return Err(AppError::validation("input", "nothing to change"));
    }
    if after.vulnerable_customer != before.vulnerable_customer {
        recompute_first_response(services, &mut after).await?;
    }
    let flags = |c: &complaint::Model| ImpactFlags {
        vulnerable_customer: c.vulnerable_customer,
        media_attention: c.media_attention,
        group_complaint: c.group_complaint,
    };
    let raised = if escalation::raises_high_impact(flags(&before), flags(&after))
        && !crate::service::escalations::pending_with_trigger(services, before.id, crate::domain::EscalationTrigger::HighImpact).await?
    {
        let raised_by: Vec<&str> = [
            (after.vulnerable_customer && !before.vulnerable_customer, "vulnerable customer"),
            (after.media_attention && !before.media_attention, "media attention"),
            (after.group_complaint && !before.group_complaint, "possible group complaint"),
        ]
        .into_iter()
        .filter_map(|(set, why)| set.then_some(why))
        .collect();
        Some(crate::service::escalations::new_request(
            &before,
            crate::domain::EscalationTrigger::HighImpact,
            escalation::next_tier(status_tier(&before)?),
            format!("high impact: {}", raised_by.join(", ")),
            Some(actor.user_id),
        )?)
    } else {
        None
    };
    commit_change(services, ctx, &before, after, "complaint.flags_changed", None, Changes::new(), raised).await
}

/// A change of urgency recomputes the first-response deadline while it still runs
/// (not yet responded to, not yet breached), counted from the cycle's start.
async fn recompute_first_response(services: &Services, after: &mut complaint::Model) -> AppResult<()> {
    if after.acknowledged_at.is_none() && !after.first_response_breached {
        let due = crate::service::sla::complaint_deadlines(services, after, cycle_start(after)).await?;
        after.first_response_due = due.first_response;
    }
    Ok(())
}

/// Closes a NEW or ACKNOWLEDGED complaint handled during the first contact
/// (outcome RESOLVED_AT_FIRST_CONTACT), with the customer's satisfaction.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn resolve_at_first_contact(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    summary: &str,
    satisfied: bool,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let summary = validation::required_text("summary", summary, limits::TEXT)?;
    let now = crate::service::now();
    let mut after = before.clone();
    after.status = transition(&before, Transition::ResolveAtFirstContact)?.as_str().to_owned();
    refuse_resolution_with_open_work(services, &before).await?;
    after.acknowledged_at = after.acknowledged_at.or(Some(now));
    after.proposed_at = Some(now);
    after.resolution_note = Some(summary);
    after.resolved_at = Some(now);
    after.closed_at = Some(now);
    after.satisfied = Some(satisfied);
    after.close_reason = Some("resolved at first contact".to_owned());
    after.close_outcome = Some(CloseOutcome::ResolvedAtFirstContact.as_str().to_owned());
    commit_change(services, ctx, &before, after, "complaint.resolved_at_first_contact", None, Changes::new(), None).await
}

/// How long until the next progress update is owed.
pub(crate) fn update_interval(services: &Services) -> chrono::Duration {
    chrono::Duration::hours(std::cmp::max(services.settings.closed_loop.update_interval_hours, 1))
}
