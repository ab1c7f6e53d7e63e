//! The SLA monitor: every scan marks open complaints whose deadline passed and
//! raises one `OVERDUE` escalation per breach; it also marks missed promises,
//! late progress updates, overdue escalation requests and overdue work items.
//!
//! Safe with any number of instances: the breach mark is set by a conditional
//! `UPDATE … WHERE <deadline>_breached = false`, whose row lock lets exactly one
//! instance win; only the winner raises the request, in the same transaction.
//! On PostgreSQL the candidate scan also skips rows another instance holds
//! (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, LockBehavior, LockType},
};

use crate::{
    domain::{ComplaintStatus, EscalationTrigger, Tier, escalation as rules},
    error::{AppError, AppResult},
    service::{RequestContext, Services, UnitOfWork, complaints, escalations},
};
use entity::complaint;

/// Scans until `shutdown` completes.
pub async fn run(services: Services, interval: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                // A pass is up to 1 500 audited transactions; shutdown must not
                // wait for it (a server asked to stop under load took minutes).
                // Dropping the pass rolls back at most the transaction in
                // flight, and its guarded update is retried by the next pass.
                tokio::select! {
                    scanned = scan(&services, crate::service::now()) => match scanned {
                        Ok(0) => {}
                        Ok(raised) => tracing::info!(raised, "SLA monitor raised OVERDUE escalations"),
                        Err(error) => tracing::warn!(%error, "SLA scan failed"),
                    },
                    _ = shutdown.changed() => break,
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Which deadlines a complaint has newly missed at `now`: first response,
/// solution (a proposed resolution), resolution — of its current cycle.
fn breaches(c: &complaint::Model, now: DateTime<Utc>) -> (bool, bool, bool) {
    let first = !c.first_response_breached && c.acknowledged_at.is_none() && c.first_response_due < now;
    let solution = !c.solution_breached && c.proposed_at.is_none() && c.solution_due.is_some_and(|due| due < now);
    let resolution = !c.resolution_breached && c.resolution_due < now;
    (first, solution, resolution)
}

/// One pass: returns how many OVERDUE requests it raised.
pub async fn scan(services: &Services, now: DateTime<Utc>) -> AppResult<usize> {
    let open = complaint::Column::Status.is_not_in([ComplaintStatus::Resolved.as_str(), ComplaintStatus::Closed.as_str()]);
    let due = Condition::any()
        .add(
            Condition::all()
                .add(complaint::Column::FirstResponseBreached.eq(false))
                .add(complaint::Column::AcknowledgedAt.is_null())
                .add(complaint::Column::FirstResponseDue.lt(now)),
        )
        .add(
            Condition::all()
                .add(complaint::Column::SolutionBreached.eq(false))
                .add(complaint::Column::ProposedAt.is_null())
                .add(complaint::Column::SolutionDue.lt(now)),
        )
        .add(
            Condition::all()
                .add(complaint::Column::ResolutionBreached.eq(false))
                .add(complaint::Column::ResolutionDue.lt(now)),
        );
    let mut raised = 0;
    loop {
        let mut uow = UnitOfWork::begin(services, &RequestContext::system("sla-monitor")).await?;
        let mut query = complaint::Entity::find().filter(open.clone()).filter(due.clone()).limit(1);
        if uow.txn().get_database_backend() == DbBackend::Postgres {
            QueryTrait::query(&mut query).lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let Some(before) = query.one(uow.txn()).await? else {
            drop(uow);
            let marked = mark_promises_and_updates(services, now).await?;
            let escalations = mark_overdue_escalations(services, now).await?;
            return Ok(raised + marked + escalations + mark_overdue_work(services, now).await?);
        };
        let (first, solution, resolution) = breaches(&before, now);
        if !first && !solution && !resolution {
            // The scan condition and `breaches` disagree: never loop on it.
            return Err(AppError::internal(anyhow::anyhow!("SLA candidate {} has no breach", before.id)));
        }
        // The guard makes the mark (and so the request) happen once per breach.
        let mut guard = Condition::all().add(complaint::Column::Id.eq(before.id)).add(complaint::Column::Version.eq(before.version));
        if first {
            guard = guard.add(complaint::Column::FirstResponseBreached.eq(false));
        }
        if solution {
            guard = guard.add(complaint::Column::SolutionBreached.eq(false));
        }
        if resolution {
            guard = guard.add(complaint::Column::ResolutionBreached.eq(false));
        }
        let mut after = before.clone();
        after.sla_breached = true;
        after.first_response_breached |= first;
        after.solution_breached |= solution;
        after.resolution_breached |= resolution;
        after.version = before.version + 1;
        after.updated_at = crate::service::now();
        let marked = complaint::Entity::update_many()
            .col_expr(complaint::Column::SlaBreached, Expr::value(true))
            .col_expr(complaint::Column::FirstResponseBreached, Expr::value(after.first_response_breached))
            .col_expr(complaint::Column::SolutionBreached, Expr::value(after.solution_breached))
            .col_expr(complaint::Column::ResolutionBreached, Expr::value(after.resolution_breached))
            .col_expr(complaint::Column::Version, Expr::value(after.version))
            .col_expr(complaint::Column::UpdatedAt, Expr::value(after.updated_at))
            .filter(guard)
            .exec(uow.txn())
            .await?;
        if marked.rows_affected == 0 {
            // Another instance (or a user) changed it first; look again next pass.
            continue;
        }
        let missed: Vec<&str> = [(first, "first response"), (solution, "solution"), (resolution, "resolution")]
            .into_iter()
            .filter_map(|(missed, what)| missed.then_some(what))
            .collect();
        let tier: Tier = crate::error::stored(&before.tier)?;
        let request = escalations::new_request(
            &before,
            EscalationTrigger::Overdue,
            rules::next_tier(tier),
            format!("{} deadline passed", missed.join(" and ")),
            None,
        )?;
        escalations::insert(&uow, &request).await?;
        let changes = complaints::diff(Some(&before), &after).merge(escalations::requested_changes(&request));
        uow.record(complaints::event(&after, "complaint.sla_breached", changes)).await?;
        uow.escalation_raised(request.id);
        uow.commit().await?;
        raised += 1;
    }
}

/// Marks open complaints whose promise passed (`promiseBreached`) or whose
/// progress update is late (`updateOverdue`), once each: the guarded update
/// lets one instance win, and its audit event reaches `complaintEvents` subscribers.
async fn mark_promises_and_updates(services: &Services, now: DateTime<Utc>) -> AppResult<usize> {
    let open = complaint::Column::Status.is_not_in([ComplaintStatus::Resolved.as_str(), ComplaintStatus::Closed.as_str()]);
    let due = Condition::any()
        .add(Condition::all().add(complaint::Column::PromiseBreached.eq(false)).add(complaint::Column::PromisedBy.lt(now)))
        .add(Condition::all().add(complaint::Column::UpdateOverdue.eq(false)).add(complaint::Column::NextUpdateDue.lt(now)));
    let candidates = complaint::Entity::find().filter(open).filter(due).limit(500).all(&services.db).await?;
    let mut marked = 0;
    for before in candidates {
        let promise = !before.promise_breached && before.promised_by.is_some_and(|at| at < now);
        let update = !before.update_overdue && before.next_update_due.is_some_and(|at| at < now);
        if !promise && !update {
            continue;
        }
        let mut after = before.clone();
        after.promise_breached |= promise;
        after.update_overdue |= update;
        let mut uow = UnitOfWork::begin(services, &RequestContext::system("sla-monitor")).await?;
        match complaints::save(&uow, &before, &mut after).await {
            Ok(()) => {}
            // Another instance (or a user) changed it first; look again next pass.
            Err(AppError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
        let action = if promise { "complaint.promise_breached" } else { "complaint.update_overdue" };
        uow.record(complaints::event(&after, action, complaints::diff(Some(&before), &after))).await?;
        uow.commit().await?;
        marked += 1;
    }
    Ok(marked)
}

/// Marks pending escalation requests past their `dueBy` as overdue and
/// announces each again to the supervisors' queues, once: the conditional
/// `UPDATE … WHERE overdue = false` lets exactly one instance win.
async fn mark_overdue_escalations(services: &Services, now: DateTime<Utc>) -> AppResult<usize> {
    use entity::escalation;
    let candidates = escalation::Entity::find()
        .filter(escalation::Column::Status.eq(crate::domain::EscalationStatus::Pending.as_str()))
        .filter(escalation::Column::Overdue.eq(false))
        .filter(escalation::Column::DueBy.lt(now))
        .limit(500)
        .all(&services.db)
        .await?;
    let mut marked = 0;
    for request in candidates {
        let Some(complaint) = complaint::Entity::find_by_id(request.complaint_id).one(&services.db).await? else { continue };
        let mut uow = UnitOfWork::begin(services, &RequestContext::system("sla-monitor")).await?;
        let updated = escalation::Entity::update_many()
            .col_expr(escalation::Column::Overdue, Expr::value(true))
            .filter(escalation::Column::Id.eq(request.id))
            .filter(escalation::Column::Overdue.eq(false))
            .filter(escalation::Column::Status.eq(crate::domain::EscalationStatus::Pending.as_str()))
            .exec(uow.txn())
            .await?;
        if updated.rows_affected == 0 {
            continue;
        }
        // The monitor acts for the system: no caller's permission to re-check.
        let complaint = complaints::touch(&uow, complaint.id, |_| Ok(())).await?;
        let changes = crate::audit::Changes::new()
            .field("overdue", false, true)
            .set("escalationId", request.id.to_string())
            .set("dueBy", request.due_by.to_rfc3339());
        uow.record(crate::audit::NewEvent {
            target_type: "escalation",
            target_id: Some(request.id.to_string()),
            ..complaints::event(&complaint, "escalation.overdue", changes)
        })
        .await?;
        uow.escalation_raised(request.id);
        uow.commit().await?;
        marked += 1;
    }
    Ok(marked)
}

/// Marks open work items past their `dueBy` as overdue, once each (the
/// conditional update lets one instance win); the audit event on the
/// complaint announces it to `complaintEvents` subscribers, the assisting
/// team's members among them.
async fn mark_overdue_work(services: &Services, now: DateTime<Utc>) -> AppResult<usize> {
    let mut marked = 0;
    for item in complaints::overdue_work_candidates(services, now).await? {
        if complaints::mark_work_overdue(services, &item).await? {
            marked += 1;
        }
    }
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn an_acknowledged_complaint_cannot_miss_its_first_response() {
        let now = Utc::now();
        let mut c = test_complaint(now);
        c.first_response_due = now - Duration::minutes(1);
        assert_eq!(breaches(&c, now), (true, false, false));
        c.acknowledged_at = Some(now - Duration::minutes(5));
        assert_eq!(breaches(&c, now), (false, false, false));
        c.resolution_due = now - Duration::seconds(1);
        assert_eq!(breaches(&c, now), (false, false, true));
        c.resolution_breached = true;
        assert_eq!(breaches(&c, now), (false, false, false), "one request per breach");
        c.solution_due = Some(now - Duration::seconds(1));
        assert_eq!(breaches(&c, now), (false, true, false));
        c.proposed_at = Some(now - Duration::minutes(1));
        assert_eq!(breaches(&c, now), (false, false, false), "a proposal meets the solution deadline");
    }

    fn test_complaint(now: DateTime<Utc>) -> complaint::Model {
        complaint::Model {
            id: uuid::Uuid::now_v7(),
            reference: "CMP-2026-000001".into(),
            status: "NEW".into(),
            channel: "PHONE".into(),
            category: "OTHER".into(),
            severity: "CRITICAL".into(),
            title: "t".into(),
            description: "d".into(),
            customer_id: uuid::Uuid::now_v7(),
            core_demand: "APOLOGY".into(),
            requested_amount: None,
            currency: "CNY".into(),
            emotion: "CALM".into(),
            order_reference: None,
            occurred_at: None,
            tier: "TIER1".into(),
            team_id: None,
            assignee_id: None,
            created_by: uuid::Uuid::now_v7(),
            sensitive: false,
            vulnerable_customer: false,
            media_attention: false,
            group_complaint: false,
            legal_hold: false,
            root_cause: None,
            responsibility: None,
            finding_summary: None,
            resolution_summary: None,
            compensation_amount: None,
            compensation_currency: None,
            refund_amount: None,
            remedies: None,
            preventive_measures: None,
            customer_accepted: None,
            customer_decision_note: None,
            resolution_note: None,
            callback_reached: None,
            satisfied: None,
            satisfaction_score: None,
            callback_comment: None,
            close_reason: None,
            reopen_count: 0,
            first_response_due: now + Duration::minutes(10),
            resolution_due: now + Duration::hours(4),
            sla_breached: false,
            first_response_breached: false,
            resolution_breached: false,
            acknowledged_at: None,
            resolved_at: None,
            closed_at: None,
            repeat_of_id: None,
            urgent_reason: None,
            solution_due: Some(now + Duration::hours(4)),
            solution_breached: false,
            proposed_at: None,
            cycle: 1,
            cycle_started_at: None,
            callback_due: None,
            close_outcome: None,
            promised_by: None,
            promise_breached: false,
            next_update_due: None,
            update_overdue: false,
            last_update_at: None,
            delay_reason: None,
            expected_resolution_at: None,
            assisting_teams: String::new(),
            product_or_service: None,
            location: None,
            group_id: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}
