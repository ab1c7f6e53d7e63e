//! Work items asked of other teams: the item, a complaint's items, the
//! assisting team's queue, and requesting, completing and declining work.

use async_graphql::{Context, ID, Object, connection::{Connection, Edge}};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    connection::{self as cursor, page_size},
    context::ContextExt,
    types::{Complaint, Team, User},
};
use crate::{
    domain::{WorkKind, WorkStatus, policy},
    error::{AppResult, stored},
    ids::{self, Kind},
    service::complaints::{self, Cursor, access},
};
use entity::work_item;

/// Work the team handling a complaint asked of another team.
pub struct WorkItem(pub work_item::Model);

#[Object]
impl WorkItem {
    /// The work item's global ID.
    async fn id(&self) -> ID {
        ids::encode(Kind::WorkItem, self.0.id)
    }
    /// What is asked.
    async fn kind(&self) -> AppResult<WorkKind> {
        stored(&self.0.kind)
    }
    /// OPEN until the assisting team completes or declines it.
    async fn status(&self) -> AppResult<WorkStatus> {
        stored(&self.0.status)
    }
    /// The request, as written by the handling team.
    async fn request(&self) -> &str {
        &self.0.request
    }
    /// When it must be done.
    async fn due_by(&self) -> DateTime<Utc> {
        self.0.due_by
    }
    /// Still open at `dueBy` (marked once by the SLA monitor).
    async fn overdue(&self) -> bool {
        self.0.overdue
    }
    /// The result (COMPLETED) or the reason (DECLINED).
    async fn result(&self) -> Option<&str> {
        self.0.result.as_deref()
    }
    /// The team asked to do it.
    async fn team(&self, ctx: &Context<'_>) -> AppResult<Option<Team>> {
        Ok(ctx.loaders()?.teams.load_one(self.0.team_id).await?.map(Team))
    }
    /// Who asked.
    async fn requested_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.requested_by).await?.map(User))
    }
    /// When it was asked.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    /// Who completed or declined it.
    async fn closed_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user) = self.0.closed_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(user).await?.map(User))
    }
    /// When it was completed or declined.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// The complaint; null when the caller may not read it (an assisting team
    /// loses sight of it once its item is completed or declined).
    async fn complaint(&self, ctx: &Context<'_>) -> AppResult<Option<Complaint>> {
        let actor = ctx.actor()?;
        match ctx.loaders()?.complaints.load_one(self.0.complaint_id).await?.filter(|c| policy::can_read_complaint(actor, &access(c))) {
            Some(c) => Ok(Some(Complaint::hand_out(ctx, c).await?)),
            None => Ok(None),
        }
    }
}

fn page(first: Option<i32>, after: Option<String>) -> AppResult<(u64, Option<Cursor>)> {
    let limit = page_size(first, None)?.0;
    Ok((limit, after.as_deref().map(|c| cursor::decode("after", c)).transpose()?))
}

fn connection(
    rows: Vec<work_item::Model>,
    has_previous: bool,
    more: bool,
    key: impl Fn(&work_item::Model) -> Cursor,
) -> Connection<String, WorkItem> {
    let mut connection = Connection::new(has_previous, more);
    connection.edges = rows.into_iter().map(|w| Edge::new(cursor::encode(key(&w)), WorkItem(w))).collect();
    connection
}

/// The work items of a complaint the caller already holds, oldest request first.
pub(super) async fn work_items_of(
    ctx: &Context<'_>,
    complaint_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<String, WorkItem>> {
    let (limit, after) = page(first, after)?;
    let (rows, more) = complaints::work_items_of(ctx.services()?, complaint_id, after, limit).await?;
    Ok(connection(rows, after.is_some(), more, |w| Cursor { key: w.requested_at, id: w.id }))
}

#[derive(Default)]
pub struct WorkQuery;

#[Object]
impl WorkQuery {
    /// The open work items asked of the caller's team, the earliest due first
    /// (empty for callers without a team).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn work_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, WorkItem>> {
        let (limit, after) = page(first, after)?;
        let (rows, more) = complaints::work_queue(ctx.services()?, ctx.actor()?, after, limit).await?;
        Ok(connection(rows, after.is_some(), more, |w| Cursor { key: w.due_by, id: w.id }))
    }

    /// A work item by ID; null when the caller may not read its complaint.
    async fn work_item(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<WorkItem>> {
        let Some((Kind::WorkItem, id)) = ids::parse(&id) else { return Ok(None) };
        Ok(complaints::find_visible_work_item(ctx.services()?, ctx.actor()?, id).await?.map(WorkItem))
    }
}

#[derive(Default)]
pub struct WorkMutation;

#[Object]
impl WorkMutation {
    /// Asks another team for work on a complaint the caller works. Until the
    /// item is completed or declined, the team's members may read the
    /// complaint (and nothing more), and an open IMPLEMENT or REFUND_PAYOUT
    /// holds back its resolution.
    async fn request_work(&self, ctx: &Context<'_>, complaint_id: ID, input: complaints::WorkRequestInput) -> AppResult<WorkItem> {
        let id = ids::decode(Kind::Complaint, "complaintId", &complaint_id)?;
        Ok(WorkItem(complaints::request_work(ctx.services()?, ctx.request()?, id, input).await?))
    }

    /// Completes an open work item with its result (members of the assisting team).
    async fn complete_work(&self, ctx: &Context<'_>, id: ID, result: String) -> AppResult<WorkItem> {
        let id = ids::decode(Kind::WorkItem, "id", &id)?;
        Ok(WorkItem(complaints::complete_work(ctx.services()?, ctx.request()?, id, &result).await?))
    }

    /// Declines an open work item with a reason (members of the assisting team).
    async fn decline_work(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<WorkItem> {
        let id = ids::decode(Kind::WorkItem, "id", &id)?;
        Ok(WorkItem(complaints::decline_work(ctx.services()?, ctx.request()?, id, &reason).await?))
    }
}
