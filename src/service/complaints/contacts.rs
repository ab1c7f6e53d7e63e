//! Promises kept and contacts recorded: progress updates told to the customer
//! (with the reason for a delay), and every contact with the customer. A
//! customer chasing an answer past the promised time raises a CUSTOMER_REQUEST.

use super::*;
use crate::domain::{ContactDirection, ContactKind, DelayReason, EscalationTrigger};
use entity::contact;

/// A progress update told to the customer.
#[derive(InputObject, Debug)]
pub struct ProgressUpdateInput {
    /// What the customer is told.
    pub message: String,
    /// Why it takes longer, if it does.
    pub delay_reason: Option<DelayReason>,
    /// When the case should now be resolved: renews the promise to the customer.
    pub expected_resolution_at: Option<DateTime<Utc>>,
}

/// A contact with the customer.
#[derive(InputObject, Debug)]
pub struct ContactInput {
    pub channel: Channel,
    pub direction: ContactDirection,
    pub kind: ContactKind,
    /// What came of it (reached, left a message, …).
    pub outcome: Option<String>,
    pub note: Option<String>,
}

fn new_contact(
    actor: &Actor,
    complaint: Uuid,
    channel: Channel,
    direction: ContactDirection,
    kind: ContactKind,
    outcome: Option<String>,
    note: Option<String>,
) -> contact::Model {
    contact::Model {
        id: Uuid::now_v7(),
        complaint_id: complaint,
        channel: channel.as_str().to_owned(),
        direction: direction.as_str().to_owned(),
        kind: kind.as_str().to_owned(),
        outcome,
        note,
        recorded_by: actor.user_id,
        at: crate::service::now(),
    }
}

/// Records a customer-visible progress update: a CUSTOMER_UPDATE note and an
/// outbound PROGRESS_UPDATE contact; the next update falls due one interval
/// later; an expected resolution time becomes the new promise.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn post_progress_update(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: ProgressUpdateInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    apply_progress_update(services, ctx, actor, &before, &input).await
}

/// The body of a progress update on one complaint, in its own transaction.
pub(crate) async fn apply_progress_update(
    services: &Services,
    ctx: &RequestContext,
    actor: &Actor,
    before: &complaint::Model,
    input: &ProgressUpdateInput,
) -> AppResult<complaint::Model> {
    let update = prepare_progress_update(services, actor, before, input, crate::service::now())?;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let after = write_progress_update(&mut uow, before, update, Changes::new()).await?;
    uow.commit().await?;
    Ok(after)
}

/// A progress update computed for one complaint, not yet written.
pub(crate) struct PreparedUpdate {
    after: complaint::Model,
    note: note::Model,
    contact: contact::Model,
}

/// Checks a progress update on `before` and computes the new row, its
/// CUSTOMER_UPDATE note and outbound PROGRESS_UPDATE contact (group updates
/// prepare one per member, then write them all in one transaction).
pub(crate) fn prepare_progress_update(
    services: &Services,
    actor: &Actor,
    before: &complaint::Model,
    input: &ProgressUpdateInput,
    now: DateTime<Utc>,
) -> AppResult<PreparedUpdate> {
    if !status(before)?.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "cannot post a progress update on a complaint that is {}",
            before.status
        )));
    }
    let message = validation::required_text("input.message", &input.message, limits::TEXT)?;
    if input.expected_resolution_at.is_some_and(|at| at <= now) {
        return Err(AppError::validation("input.expectedResolutionAt", "must be in the future"));
    }
    let mut after = before.clone();
    after.last_update_at = Some(now);
    after.next_update_due = Some(now + update_interval(services));
    after.update_overdue = false;
    after.delay_reason = input.delay_reason.map(|r| r.as_str().to_owned());
    if let Some(at) = input.expected_resolution_at {
        after.expected_resolution_at = Some(at);
        after.promised_by = Some(at);
        after.promise_breached = false;
    }
    let note = note::Model {
        id: Uuid::now_v7(),
        complaint_id: before.id,
        author_id: actor.user_id,
        body: message.clone(),
        visibility: NoteVisibility::CustomerUpdate.as_str().to_owned(),
        created_at: now,
    };
    let channel: Channel = crate::error::stored(&before.channel)?;
    let contact = new_contact(actor, before.id, channel, ContactDirection::Outbound, ContactKind::ProgressUpdate, None, Some(message));
    Ok(PreparedUpdate { after, note, contact })
}

/// Writes a prepared progress update inside `uow` (guarded by `before`'s
/// version) with its `complaint.progress_updated` event; `extra` joins the event.
pub(crate) async fn write_progress_update(
    uow: &mut UnitOfWork,
    before: &complaint::Model,
    update: PreparedUpdate,
    extra: Changes,
) -> AppResult<complaint::Model> {
    let PreparedUpdate { mut after, note, contact } = update;
    save(uow, before, &mut after).await?;
    note::Entity::insert(note.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    contact::Entity::insert(contact.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = diff(Some(before), &after)
        .set("message", note.body.clone())
        .set("noteId", note.id.to_string())
        .set("contactId", contact.id.to_string())
        .merge(extra);
    uow.record(event(&after, "complaint.progress_updated", changes)).await?;
    Ok(after)
}

/// Records a contact with the customer. An inbound CHASER on an open complaint
/// past its promised time raises a CUSTOMER_REQUEST escalation (unless one is pending).
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn record_contact(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    input: ContactInput,
) -> AppResult<contact::Model> {
    let actor = ctx.actor()?;
    let complaint = load_for_work(services, actor, complaint_id).await?;
    let outcome = validation::optional_text("input.outcome", input.outcome.as_deref(), limits::SHORT)?;
    let note = validation::optional_text("input.note", input.note.as_deref(), limits::TEXT)?;
    let contact = new_contact(actor, complaint_id, input.channel, input.direction, input.kind, outcome, note);
    let chased_past_promise = input.direction == ContactDirection::Inbound
        && input.kind == ContactKind::Chaser
        && status(&complaint)?.is_open()
        && complaint.promised_by.is_some_and(|at| at < contact.at);
    let raised = if chased_past_promise
        && !crate::service::escalations::pending_with_trigger(services, complaint.id, EscalationTrigger::CustomerRequest).await?
    {
        Some(crate::service::escalations::new_request(
            &complaint,
            EscalationTrigger::CustomerRequest,
            escalation::next_tier(status_tier(&complaint)?),
            "the customer chased an answer after the promised time".to_owned(),
            Some(actor.user_id),
        )?)
    } else {
        None
    };
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let complaint = touch(&uow, complaint_id, |c| may_work(actor, c)).await?;
    contact::Entity::insert(contact.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let mut changes = Changes::new()
        .set("contactId", contact.id.to_string())
        .set("channel", contact.channel.clone())
        .set("direction", contact.direction.clone())
        .set("kind", contact.kind.clone())
        .set("outcome", contact.outcome.clone())
        .set("note", contact.note.clone());
    if let Some(request) = &raised {
        crate::service::escalations::insert(&uow, request).await?;
        changes = changes.merge(crate::service::escalations::requested_changes(request));
    }
    uow.record(NewEvent {
        target_type: "contact",
        target_id: Some(contact.id.to_string()),
        ..event(&complaint, "contact.recorded", changes)
    })
    .await?;
    if let Some(request) = &raised {
        uow.escalation_raised(request.id);
    }
    uow.commit().await?;
    Ok(contact)
}

/// A complaint's contacts, oldest first, after `after`.
pub async fn contacts_of(
    services: &Services,
    complaint_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<contact::Model>, bool)> {
    let filter = Condition::all().add(contact::Column::ComplaintId.eq(complaint_id));
    ascending_page::<contact::Entity>(services, filter, contact::Column::At, contact::Column::Id, after, limit).await
}
