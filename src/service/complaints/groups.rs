//! Group complaints: several complaints with one common cause (`000` §6.4:
//! several households in one building lose broadband), led by one team that
//! tells every member's customer the same progress at once.
//!
//! Who runs a group is decided by [`policy::manage_group`]: supervisors, and
//! agents of the group's lead team. Joining or leaving a group changes the
//! member too, so the caller must also be allowed to work each member. A group
//! update reaches every open member not under legal hold
//! ([`policy::group_update_reaches`]), whoever it is assigned to: that is the
//! lead team's job. Reads follow the members: a group is visible to whoever
//! may read one of its members (and to its lead team), and its member list
//! shows only the members the caller may read.

use super::*;
use crate::domain::{EscalationTrigger, GroupKey, GroupStatus};
use entity::complaint_group;

/// The most complaints one call adds or removes.
pub const MAX_MEMBERS_PER_CALL: usize = 50;

/// A new group complaint.
#[derive(InputObject, Debug)]
pub struct ComplaintGroupInput {
    /// What happened to all members, e.g. "Broadband outage, Building 7, Riverside".
    pub title: String,
    /// The common cause, as far as it is known.
    pub cause: String,
    /// The team that leads the handling; defaults to the caller's team.
    pub lead_team_id: Option<ID>,
    /// Complaints that join at once (same rules as `addToComplaintGroup`).
    pub complaint_ids: Option<Vec<ID>>,
}

fn group_event(group: &complaint_group::Model, action: &'static str, changes: Changes) -> NewEvent {
    NewEvent::new(ChainKey::Group(group.id), action, "complaint_group", group.id).changes(changes)
}

fn may_manage(actor: &Actor, group: &complaint_group::Model) -> AppResult<()> {
    match policy::manage_group(actor, group.lead_team_id) {
        Decision::Allow => Ok(()),
        _ => Err(AppError::forbidden("only supervisors and agents of the lead team run a group complaint")),
    }
}

fn require_open(group: &complaint_group::Model) -> AppResult<()> {
    if group.status != GroupStatus::Open.as_str() {
        return Err(AppError::InvalidTransition(format!("group {} is closed", group.reference)));
    }
    Ok(())
}

/// Distinct complaint IDs of a member list, at most [`MAX_MEMBERS_PER_CALL`].
fn member_ids(ids: &[ID]) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Err(AppError::validation("complaintIds", "give at least one complaint"));
    }
    if ids.len() > MAX_MEMBERS_PER_CALL {
        return Err(AppError::validation("complaintIds", format!("give at most {MAX_MEMBERS_PER_CALL} complaints at once")));
    }
    let mut decoded = ids.iter().map(|id| ids::decode(Kind::Complaint, "complaintIds", id)).collect::<AppResult<Vec<_>>>()?;
    decoded.sort();
    let before = decoded.len();
    decoded.dedup();
    if decoded.len() != before {
        return Err(AppError::validation("complaintIds", "a complaint is listed twice"));
    }
    Ok(decoded)
}

// ---------------------------------------------------------------- reads

/// Whether `actor` may read one of the group's members.
async fn has_readable_member(services: &Services, actor: &Actor, group: Uuid) -> AppResult<bool> {
    let found = complaint::Entity::find()
        .select_only()
        .column(complaint::Column::Id)
        .filter(complaint::Column::GroupId.eq(group))
        .filter(scope_condition(actor))
        .into_tuple::<Uuid>()
        .one(&services.db)
        .await?;
    Ok(found.is_some())
}

/// The policy's read decision for one group.
async fn readable(services: &Services, actor: &Actor, group: &complaint_group::Model) -> AppResult<bool> {
    if policy::can_read_group(actor, group.lead_team_id, false) {
        return Ok(true);
    }
    Ok(policy::can_read_group(actor, group.lead_team_id, true) && has_readable_member(services, actor, group.id).await?)
}

/// A group the caller may read, or `None` (whether or not it exists).
pub async fn find_visible(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Option<complaint_group::Model>> {
    let Some(group) = super::super::rows::one(&services.db, complaint_group::Entity::find_by_id(id)).await? else {
        return Ok(None);
    };
    Ok(if readable(services, actor, &group).await? { Some(group) } else { None })
}

/// The SQL condition of the groups `actor` may read.
fn group_scope(actor: &Actor) -> Condition {
    match policy::complaint_read_scope(actor) {
        ReadScope::All => Condition::all(),
        ReadScope::Nothing => Condition::all().add(complaint_group::Column::Id.is_null()),
        ReadScope::Agent { team_id, .. } => {
            let through_members = sea_orm::sea_query::Query::select()
                .column(complaint::Column::GroupId)
                .from(complaint::Entity)
                .cond_where(Condition::all().add(complaint::Column::GroupId.is_not_null()).add(scope_condition(actor)))
                .to_owned();
            let mut visible = Condition::any().add(complaint_group::Column::Id.in_subquery(through_members));
            if let Some(team) = team_id {
                visible = visible.add(complaint_group::Column::LeadTeamId.eq(team));
            }
            visible
        }
    }
}

/// Groups the caller may read, oldest first, optionally of one status.
pub async fn list(
    services: &Services,
    actor: &Actor,
    status: Option<GroupStatus>,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<complaint_group::Model>, bool)> {
    let mut filter = Condition::all().add(group_scope(actor));
    if let Some(status) = status {
        filter = filter.add(complaint_group::Column::Status.eq(status.as_str()));
    }
    ascending_page::<complaint_group::Entity>(
        services,
        filter,
        complaint_group::Column::CreatedAt,
        complaint_group::Column::Id,
        after,
        limit,
    )
    .await
}

/// Groups by ID (for the loader behind `Complaint.group`; callers hold a
/// member they may read, which makes its group visible).
pub async fn groups_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<complaint_group::Model>> {
    Ok(super::super::rows::all(
        &services.db,
        complaint_group::Entity::find().filter(complaint_group::Column::Id.is_in(ids.iter().copied())),
    )
    .await?)
}

/// The condition of a group's members (within the caller's scope, added by `list`).
pub fn members_condition(group: Uuid) -> Condition {
    Condition::all().add(complaint::Column::GroupId.eq(group))
}

// ---------------------------------------------------------------- changes

/// A complaint joining a group, checked and computed but not yet written.
struct Joining {
    before: complaint::Model,
    after: complaint::Model,
    raised: Option<entity::escalation::Model>,
}

/// Checks that `actor` may add each complaint to `group` and computes the new
/// rows: open, workable by the caller, in no group yet. Joining sets
/// `groupComplaint`, and raises one HIGH_IMPACT request where that flag was
/// not set before and none is pending.
async fn prepare_joins(
    services: &Services,
    actor: &Actor,
    group: &complaint_group::Model,
    ids: &[Uuid],
) -> AppResult<Vec<Joining>> {
    let mut joins = Vec::with_capacity(ids.len());
    for id in ids {
        let before = load_for_work(services, actor, *id).await?;
        if !status(&before)?.is_open() {
            return Err(AppError::InvalidTransition(format!(
                "{} is {}; only open complaints join a group",
                before.reference, before.status
            )));
        }
        match before.group_id {
            Some(current) if current == group.id => {
                return Err(AppError::validation(
                    "complaintIds",
                    format!("{} is already a member of {}", before.reference, group.reference),
                ));
            }
            Some(_) => {
                return Err(AppError::validation(
                    "complaintIds",
                    format!("{} belongs to another group; remove it there first", before.reference),
                ));
            }
            None => {}
        }
        let (after, raised) = mark_grouped(services, actor, &before, Some(group.id), &format!("joined group {}", group.reference)).await?;
        joins.push(Joining { before, after, raised });
    }
    Ok(joins)
}

/// `before` with `group_id` set and the `groupComplaint` flag raised, plus the
/// HIGH_IMPACT request the flag raises when it is new and none is pending.
/// Also used when complaints are linked as GROUP.
pub(crate) async fn mark_grouped(
    services: &Services,
    actor: &Actor,
    before: &complaint::Model,
    group: Option<Uuid>,
    why: &str,
) -> AppResult<(complaint::Model, Option<entity::escalation::Model>)> {
    let mut after = before.clone();
    if group.is_some() {
        after.group_id = group;
    }
    after.group_complaint = true;
    let flags = |c: &complaint::Model| ImpactFlags {
        vulnerable_customer: c.vulnerable_customer,
        media_attention: c.media_attention,
        group_complaint: c.group_complaint,
    };
    let raised = if escalation::raises_high_impact(flags(before), flags(&after))
        && !crate::service::escalations::pending_with_trigger(services, before.id, EscalationTrigger::HighImpact).await?
    {
        Some(crate::service::escalations::new_request(
            before,
            EscalationTrigger::HighImpact,
            escalation::next_tier(status_tier(before)?),
            format!("high impact: group complaint ({why})"),
            Some(actor.user_id),
        )?)
    } else {
        None
    };
    Ok((after, raised))
}

/// Writes the joins inside `uow` (in id order), each with its
/// `complaint.grouped` event and the escalation request it raised.
async fn write_joins(uow: &mut UnitOfWork, group: &complaint_group::Model, joins: Vec<Joining>) -> AppResult<()> {
    for Joining { before, mut after, raised } in joins {
        save(uow, &before, &mut after).await?;
        let mut changes = diff(Some(&before), &after).set("group", group.reference.clone());
        if let Some(request) = &raised {
            crate::service::escalations::insert(uow, request).await?;
            changes = changes.merge(crate::service::escalations::requested_changes(request));
        }
        uow.record(event(&after, "complaint.grouped", changes)).await?;
        if let Some(request) = &raised {
            uow.escalation_raised(request.id);
        }
    }
    Ok(())
}

/// Moves the group's version on (guarded: a concurrent change of the group answers CONFLICT).
async fn bump_group(uow: &UnitOfWork, before: &complaint_group::Model, after: &mut complaint_group::Model) -> AppResult<()> {
    after.version = before.version + 1;
    after.updated_at = crate::service::now();
    let mut active = after.clone().into_active_model().reset_all();
    active.id = NotSet;
    active.reference = NotSet;
    active.created_at = NotSet;
    active.created_by = NotSet;
    let updated = complaint_group::Entity::update_many()
        .set(active)
        .filter(complaint_group::Column::Id.eq(before.id))
        .filter(complaint_group::Column::Version.eq(before.version))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::stale("complaint group"));
    }
    Ok(())
}

fn references(joins: &[Joining]) -> Value {
    Value::Array(joins.iter().map(|j| Value::String(j.before.reference.clone())).collect())
}

/// The next group reference number: a sequence on PostgreSQL; on SQLite the
/// write lock already serialises writers.
async fn next_group_number(uow: &UnitOfWork) -> AppResult<i64> {
    let backend = uow.txn().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT nextval('complaint_group_reference_seq')",
        _ => "SELECT COALESCE(MAX(CAST(SUBSTR(reference, 10) AS INTEGER)), 0) + 1 FROM complaint_groups",
    };
    let row = uow
        .txn()
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no group reference number")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Opens a group complaint led by a team (by default the caller's), with its
/// first members if given, in one transaction.
#[tracing::instrument(skip_all)]
pub async fn create(services: &Services, ctx: &RequestContext, input: ComplaintGroupInput) -> AppResult<complaint_group::Model> {
    let actor = ctx.actor()?;
    let lead_team = ids::decode_opt(Kind::Team, "input.leadTeamId", input.lead_team_id.as_ref())?
        .or(actor.team_id)
        .ok_or(AppError::validation("input.leadTeamId", "give the team that leads the group"))?;
    if policy::manage_group(actor, lead_team) != Decision::Allow {
        return Err(AppError::forbidden("only supervisors, and agents for their own team, open a group complaint"));
    }
    team_tier(services, "input.leadTeamId", lead_team).await?;
    let now = crate::service::now();
    let mut group = complaint_group::Model {
        id: Uuid::now_v7(),
        reference: String::new(),
        title: validation::required_text("input.title", &input.title, limits::TITLE)?,
        cause: validation::required_text("input.cause", &input.cause, limits::TEXT)?,
        lead_team_id: lead_team,
        status: GroupStatus::Open.as_str().to_owned(),
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
        closed_at: None,
        last_update_at: None,
        version: 1,
    };
    let ids = match input.complaint_ids.as_deref() {
        Some(ids) if !ids.is_empty() => member_ids(ids)?,
        _ => Vec::new(),
    };
    let joins = prepare_joins(services, actor, &group, &ids).await?;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    group.reference = validation::group_reference(now.year(), next_group_number(&uow).await?);
    complaint_group::Entity::insert(group.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = Changes::new()
        .set("reference", group.reference.clone())
        .set("title", group.title.clone())
        .set("cause", group.cause.clone())
        .set("leadTeamId", lead_team.to_string())
        .set("members", references(&joins));
    uow.record(group_event(&group, "complaint_group.created", changes)).await?;
    write_joins(&mut uow, &group, joins).await?;
    uow.commit().await?;
    Ok(group)
}

/// Loads a group the caller may run: NOT_FOUND when they may not even see it,
/// FORBIDDEN when they may see it but not run it.
async fn load_for_managing(services: &Services, actor: &Actor, id: Uuid) -> AppResult<complaint_group::Model> {
    let group = find_visible(services, actor, id).await?.ok_or(AppError::NotFound("complaint group"))?;
    may_manage(actor, &group)?;
    Ok(group)
}

/// Adds open complaints to an open group (each joins its first group only).
#[tracing::instrument(skip_all, fields(group = %group_id))]
pub async fn add_members(
    services: &Services,
    ctx: &RequestContext,
    group_id: Uuid,
    complaint_ids: &[ID],
) -> AppResult<complaint_group::Model> {
    let actor = ctx.actor()?;
    let before = load_for_managing(services, actor, group_id).await?;
    require_open(&before)?;
    let ids = member_ids(complaint_ids)?;
    let joins = prepare_joins(services, actor, &before, &ids).await?;
    let mut after = before.clone();
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    bump_group(&uow, &before, &mut after).await?;
    uow.record(group_event(&after, "complaint_group.members_added", Changes::new().set("added", references(&joins)))).await?;
    write_joins(&mut uow, &after, joins).await?;
    uow.commit().await?;
    Ok(after)
}

/// Takes complaints out of a group (they keep their `groupComplaint` flag,
/// which `setFlags` clears if the grouping was a mistake).
#[tracing::instrument(skip_all, fields(group = %group_id))]
pub async fn remove_members(
    services: &Services,
    ctx: &RequestContext,
    group_id: Uuid,
    complaint_ids: &[ID],
) -> AppResult<complaint_group::Model> {
    let actor = ctx.actor()?;
    let before = load_for_managing(services, actor, group_id).await?;
    let ids = member_ids(complaint_ids)?;
    let mut leaving = Vec::with_capacity(ids.len());
    for id in ids {
        let member = load_for_work(services, actor, id).await?;
        if member.group_id != Some(before.id) {
            return Err(AppError::validation("complaintIds", format!("{} is not a member of {}", member.reference, before.reference)));
        }
        leaving.push(member);
    }
    let mut after = before.clone();
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    bump_group(&uow, &before, &mut after).await?;
    let removed = Value::Array(leaving.iter().map(|c| Value::String(c.reference.clone())).collect());
    uow.record(group_event(&after, "complaint_group.members_removed", Changes::new().set("removed", removed))).await?;
    for member in leaving {
        let mut left = member.clone();
        left.group_id = None;
        save(&uow, &member, &mut left).await?;
        let changes = diff(Some(&member), &left).set("group", before.reference.clone());
        uow.record(event(&left, "complaint.ungrouped", changes)).await?;
    }
    uow.commit().await?;
    Ok(after)
}

/// Posts one progress update on every open member (not under legal hold), in
/// one transaction: each member gets its CUSTOMER_UPDATE note, PROGRESS_UPDATE
/// contact, renewed `nextUpdateDue` and its own audit event, as with
/// `postProgressUpdate`; the group records that it posted.
#[tracing::instrument(skip_all, fields(group = %group_id))]
pub async fn post_update(
    services: &Services,
    ctx: &RequestContext,
    group_id: Uuid,
    input: ProgressUpdateInput,
) -> AppResult<(complaint_group::Model, usize)> {
    let actor = ctx.actor()?;
    let before = load_for_managing(services, actor, group_id).await?;
    require_open(&before)?;
    let open: Vec<&'static str> = ComplaintStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str()).collect();
    let members = super::super::rows::all(
        &services.db,
        complaint::Entity::find()
            .filter(complaint::Column::GroupId.eq(before.id))
            .filter(complaint::Column::Status.is_in(open))
            .order_by_asc(complaint::Column::Id),
    )
    .await?;
    let now = crate::service::now();
    let mut updates = Vec::with_capacity(members.len());
    for member in members.iter().filter(|m| policy::group_update_reaches(&access(m))) {
        updates.push((member, prepare_progress_update(services, actor, member, &input, now)?));
    }
    if updates.is_empty() {
        return Err(AppError::validation("groupId", "the group has no open member to update"));
    }
    let reached: Vec<Value> = updates.iter().map(|(m, _)| Value::String(m.reference.clone())).collect();
    let mut after = before.clone();
    after.last_update_at = Some(now);
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    bump_group(&uow, &before, &mut after).await?;
    let changes = Changes::new()
        .set("message", input.message.trim().to_owned())
        .set("delayReason", input.delay_reason.map(|r| r.as_str()))
        .set("members", Value::Array(reached));
    uow.record(group_event(&after, "complaint_group.update_posted", changes)).await?;
    let count = updates.len();
    for (member, update) in updates {
        write_progress_update(&mut uow, member, update, Changes::new().set("group", before.reference.clone())).await?;
    }
    uow.commit().await?;
    Ok((after, count))
}

/// Closes a group: no new members, no more group updates. Members keep their
/// own lifecycle (each is resolved, called back and closed on its own).
#[tracing::instrument(skip_all, fields(group = %group_id))]
pub async fn close(services: &Services, ctx: &RequestContext, group_id: Uuid, reason: &str) -> AppResult<complaint_group::Model> {
    let actor = ctx.actor()?;
    let before = load_for_managing(services, actor, group_id).await?;
    require_open(&before)?;
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    let mut after = before.clone();
    after.status = GroupStatus::Closed.as_str().to_owned();
    after.closed_at = Some(crate::service::now());
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    bump_group(&uow, &before, &mut after).await?;
    let changes = Changes::new().field("status", Value::String(before.status.clone()), Value::String(after.status.clone()));
    uow.record(group_event(&after, "complaint_group.closed", changes).reason(Some(reason))).await?;
    uow.commit().await?;
    Ok(after)
}

// ---------------------------------------------------------------- candidates

/// A suggested group: open, ungrouped complaints of one category that share an
/// order reference, product or location within the window.
pub struct Candidate {
    pub category: Category,
    pub key: GroupKey,
    /// The shared value as the earliest complaint spells it.
    pub value: String,
    /// How many complaints the cluster holds (counted in the database).
    pub size: i64,
    /// Its complaints, oldest first, at most [`MAX_CANDIDATE_MEMBERS`].
    pub members: Vec<complaint::Model>,
}

/// The most candidates one call suggests, and members listed per candidate.
pub const MAX_CANDIDATES: u64 = 100;
pub const MAX_CANDIDATE_MEMBERS: usize = 100;

fn key_column(key: GroupKey) -> complaint::Column {
    match key {
        GroupKey::OrderReference => complaint::Column::OrderReference,
        GroupKey::ProductOrService => complaint::Column::ProductOrService,
        GroupKey::Location => complaint::Column::Location,
    }
}

/// Clusters of at least `CASEWORK_GROUP_MIN_SIZE` open, ungrouped complaints
/// the caller may read, recorded within `CASEWORK_GROUP_WINDOW_HOURS` from
/// `since` (default: the last window), with the same category and the same
/// order reference, product or location (compared case-insensitively). The
/// clustering is one GROUP BY per key in the database; the members of the
/// clusters found are then read with one query per key. Largest first.
pub async fn candidates(
    services: &Services,
    actor: &Actor,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> AppResult<Vec<Candidate>> {
    let settings = &services.settings.closed_loop;
    let window = chrono::Duration::hours(std::cmp::max(settings.group_window_hours, 1));
    let min_size = std::cmp::max(settings.group_min_size, 2);
    let now = crate::service::now();
    let from = since.unwrap_or(now - window);
    if from > now {
        return Err(AppError::validation("since", "must not be in the future"));
    }
    let to = from + window;
    let base = Condition::all()
        .add(scope_condition(actor))
        .add(complaint::Column::Status.is_not_in([ComplaintStatus::Resolved.as_str(), ComplaintStatus::Closed.as_str()]))
        .add(complaint::Column::GroupId.is_null())
        .add(complaint::Column::CreatedAt.gte(from))
        .add(complaint::Column::CreatedAt.lt(to));
    let mut found = Vec::new();
    for key in GroupKey::ALL.iter().copied() {
        let column = key_column(key);
        let lowered = || Expr::expr(Func::lower(Expr::col(column)));
        let cond = base.clone().add(column.is_not_null());
        let clusters: Vec<(String, String, i64)> = complaint::Entity::find()
            .select_only()
            .column(complaint::Column::Category)
            .column_as(lowered(), "key")
            .column_as(Expr::col(complaint::Column::Id).count(), "size")
            .filter(cond.clone())
            .group_by(complaint::Column::Category)
            .group_by(lowered())
            .having(Expr::col(complaint::Column::Id).count().gte(min_size))
            .order_by_desc(Expr::col(complaint::Column::Id).count())
            .limit(limit)
            .into_tuple()
            .all(&services.db)
            .await?;
        if clusters.is_empty() {
            continue;
        }
        let values: Vec<String> = clusters.iter().map(|(_, v, _)| v.clone()).collect();
        let rows = super::super::rows::all(
            &services.db,
            complaint::Entity::find()
                .filter(cond.add(lowered().is_in(values)))
                .order_by_asc(complaint::Column::CreatedAt)
                .order_by_asc(complaint::Column::Id)
                .limit(limit * MAX_CANDIDATE_MEMBERS as u64),
        )
        .await?;
        for (category, value, size) in clusters {
            let members: Vec<complaint::Model> = rows
                .iter()
                .filter(|c| {
                    c.category == category
                        // SQLite's lower() folds ASCII only, PostgreSQL's all of Unicode.
                        && c_value(c, key).is_some_and(|v| v.to_lowercase() == value || v.to_ascii_lowercase() == value)
                })
                .take(MAX_CANDIDATE_MEMBERS)
                .cloned()
                .collect();
            let Some(first) = members.first() else { continue };
            found.push(Candidate {
                category: crate::error::stored(&category)?,
                key,
                value: c_value(first, key).unwrap_or(&value).to_owned(),
                size,
                members,
            });
        }
    }
    found.sort_by(|a, b| b.size.cmp(&a.size).then(a.members[0].created_at.cmp(&b.members[0].created_at)));
    found.truncate(limit as usize);
    Ok(found)
}

fn c_value(c: &complaint::Model, key: GroupKey) -> Option<&str> {
    match key {
        GroupKey::OrderReference => c.order_reference.as_deref(),
        GroupKey::ProductOrService => c.product_or_service.as_deref(),
        GroupKey::Location => c.location.as_deref(),
    }
}
