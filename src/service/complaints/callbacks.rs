//! The callback side of the loop: the queue of resolved complaints awaiting a
//! callback, and each complaint's attempts.

use super::*;

/// A page of RESOLVED complaints awaiting a callback within `actor`'s scope,
/// the earliest due first.
pub async fn callback_queue(
    services: &Services,
    actor: &Actor,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<complaint::Model>, bool)> {
    let filter = Condition::all().add(scope_condition(actor)).add(callback_queue_condition());
    ascending_page::<complaint::Entity>(services, filter, complaint::Column::CallbackDue, complaint::Column::Id, after, limit).await
}

/// What puts a complaint in the callback queue (without the caller's scope).
pub fn callback_queue_condition() -> Condition {
    Condition::all()
        .add(complaint::Column::Status.eq(ComplaintStatus::Resolved.as_str()))
        .add(complaint::Column::CallbackDue.is_not_null())
}

/// A complaint's callback attempts, oldest first, after `after`.
pub async fn callback_attempts(
    services: &Services,
    complaint_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<entity::callback_attempt::Model>, bool)> {
    use entity::callback_attempt as attempt;
    let filter = Condition::all().add(attempt::Column::ComplaintId.eq(complaint_id));
    ascending_page::<attempt::Entity>(services, filter, attempt::Column::At, attempt::Column::Id, after, limit).await
}
