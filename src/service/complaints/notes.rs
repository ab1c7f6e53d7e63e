//! Notes and links between complaints.

use super::*;

// ---------------------------------------------------------------- notes and links

pub(super) fn new_note(actor: &Actor, complaint: Uuid, body: String, visibility: NoteVisibility) -> note::Model {
    note::Model {
        id: Uuid::now_v7(),
        complaint_id: complaint,
        author_id: actor.user_id,
        body,
        visibility: visibility.as_str().to_owned(),
        created_at: crate::service::now(),
    }
}

/// Bumps a complaint's version without other changes: notes, evidence,
/// escalation requests, contacts and links change the case without changing
/// its row, but still extend its audit chain. The row is locked inside the
/// transaction and `authorize` re-checked against it as it is now, so a change
/// of a child cannot commit after, say, a legal hold was placed since the
/// caller loaded the complaint. Returns the complaint as committed.
pub(crate) async fn touch(
    uow: &UnitOfWork,
    id: Uuid,
    authorize: impl FnOnce(&complaint::Model) -> AppResult<()>,
) -> AppResult<complaint::Model> {
    let mut query = complaint::Entity::find_by_id(id);
    if uow.txn().get_database_backend() == sea_orm::DbBackend::Postgres {
        // SQLite: the unit of work already holds the write lock (BEGIN IMMEDIATE).
        query = query.lock_exclusive();
    }
    let mut current = query.one(uow.txn()).await?.ok_or(AppError::NotFound("complaint"))?;
    authorize(&current)?;
    let now = crate::service::now();
    let updated = complaint::Entity::update_many()
        .col_expr(complaint::Column::Version, Expr::value(current.version + 1))
        .col_expr(complaint::Column::UpdatedAt, Expr::value(now))
        .filter(complaint::Column::Id.eq(id))
        .filter(complaint::Column::Version.eq(current.version))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::stale("complaint"));
    }
    current.version += 1;
    current.updated_at = now;
    Ok(current)
}

/// Adds a note: internal, or a progress update told to the customer.
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn add_note(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    body: &str,
    visibility: NoteVisibility,
) -> AppResult<note::Model> {
    let actor = ctx.actor()?;
    let complaint = load_for_work(services, actor, complaint_id).await?;
    let note = new_note(actor, complaint_id, validation::required_text("body", body, limits::TEXT)?, visibility);
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let complaint = touch(&uow, complaint.id, |c| may_work(actor, c)).await?;
    note::Entity::insert(note.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = Changes::new()
        .set("noteId", note.id.to_string())
        .set("visibility", note.visibility.clone())
        .set("body", note.body.clone());
    uow.record(NewEvent { target_type: "note", target_id: Some(note.id.to_string()), ..event(&complaint, "note.added", changes) })
        .await?;
    uow.commit().await?;
    Ok(note)
}

/// Links complaints: the first is the primary, the others are linked to it.
/// Returns the complaints, in the order given.
#[tracing::instrument(skip_all)]
pub async fn link(services: &Services, ctx: &RequestContext, ids: &[Uuid], kind: LinkKind) -> AppResult<Vec<complaint::Model>> {
    let actor = ctx.actor()?;
    let mut distinct = ids.to_vec();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != ids.len() || ids.len() < 2 {
        return Err(AppError::validation("ids", "give at least two different complaints"));
    }
    if ids.len() > 50 {
        return Err(AppError::validation("ids", "link at most 50 complaints at once"));
    }
    let mut complaints = Vec::with_capacity(ids.len());
    for id in ids {
        complaints.push(load_for_work(services, actor, *id).await?);
    }
    let primary = &complaints[0];
    let existing: Vec<Uuid> = complaint_link::Entity::find()
        .filter(complaint_link::Column::ComplaintId.eq(primary.id))
        .filter(complaint_link::Column::Kind.eq(kind.as_str()))
        .all(&services.db)
        .await?
        .into_iter()
        .map(|l| l.linked_id)
        .collect();
    let new_links: Vec<complaint_link::Model> = ids[1..]
        .iter()
        .filter(|id| !existing.contains(id))
        .map(|linked| complaint_link::Model {
            id: Uuid::now_v7(),
            kind: kind.as_str().to_owned(),
            complaint_id: primary.id,
            linked_id: *linked,
            created_by: actor.user_id,
            created_at: crate::service::now(),
        })
        .collect();
    if new_links.is_empty() {
        return Ok(complaints);
    }
    // Linked as GROUP, a complaint is part of a group complaint: the flag is
    // set (raising HIGH_IMPACT once) on each side of the new links that lacks it.
    let mut flagged = std::collections::HashMap::new();
    if kind == LinkKind::Group {
        for c in complaints.iter().filter(|c| !c.group_complaint) {
            if c.id == primary.id || new_links.iter().any(|l| l.linked_id == c.id) {
                flagged.insert(c.id, (c, super::groups::mark_grouped(services, actor, c, None, "linked as GROUP").await?));
            }
        }
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    complaint_link::Entity::insert_many(new_links.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec_without_returning(uow.txn())
        .await?;
    // Every linked complaint changes: each chain gets its event, each row is
    // locked and re-authorized (in id order, so two links never deadlock).
    let mut touched: Vec<Uuid> = std::iter::once(primary.id).chain(new_links.iter().map(|l| l.linked_id)).collect();
    touched.sort();
    let linked: Vec<Value> = new_links.iter().map(|l| Value::String(l.linked_id.to_string())).collect();
    for id in touched {
        let mut changes = if id == primary.id {
            Changes::new().set("kind", kind.as_str()).set("linked", Value::Array(linked.clone()))
        } else {
            Changes::new().set("kind", kind.as_str()).set("linkedTo", primary.id.to_string())
        };
        let (current, raised) = match flagged.remove(&id) {
            // Saved against the version loaded (and authorized) above.
            Some((before, (mut after, raised))) => {
                save(&uow, before, &mut after).await?;
                changes = diff(Some(before), &after).merge(changes);
                (after, raised)
            }
            None => (touch(&uow, id, |c| may_work(actor, c)).await?, None),
        };
        if let Some(request) = &raised {
            crate::service::escalations::insert(&uow, request).await?;
            changes = changes.merge(crate::service::escalations::requested_changes(request));
        }
        uow.record(event(&current, "complaint.linked", changes)).await?;
        if let Some(request) = &raised {
            uow.escalation_raised(request.id);
        }
    }
    uow.commit().await?;
    // The versions moved; reload so callers see the current rows.
    let refreshed = complaint::Entity::find()
        .filter(complaint::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(ids.iter().filter_map(|id| refreshed.iter().find(|c| c.id == *id).cloned()).collect())
}
