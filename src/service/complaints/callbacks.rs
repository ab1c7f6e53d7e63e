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
    let mut cond = Condition::all().add(scope_condition(actor)).add(callback_queue_condition());
    if let Some(cursor) = after {
        cond = cond.add(
            Condition::any().add(complaint::Column::CallbackDue.gt(cursor.key)).add(
                Condition::all().add(complaint::Column::CallbackDue.eq(cursor.key)).add(complaint::Column::Id.gt(cursor.id)),
            ),
        );
    }
    let mut rows = complaint::Entity::find()
        .filter(cond)
        .order_by_asc(complaint::Column::CallbackDue)
        .order_by_asc(complaint::Column::Id)
        .limit(limit + 1)
        .all(&services.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
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
    let mut cond = Condition::all().add(attempt::Column::ComplaintId.eq(complaint_id));
    if let Some(cursor) = after {
        cond = cond.add(
            Condition::any()
                .add(attempt::Column::At.gt(cursor.key))
                .add(Condition::all().add(attempt::Column::At.eq(cursor.key)).add(attempt::Column::Id.gt(cursor.id))),
        );
    }
    let mut rows = attempt::Entity::find()
        .filter(cond)
        .order_by_asc(attempt::Column::At)
        .order_by_asc(attempt::Column::Id)
        .limit(limit + 1)
        .all(&services.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
