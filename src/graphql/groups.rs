//! Group complaints: the group object with its members, the mutations that run
//! it, and the suggestions of complaints that look like one.

use async_graphql::{Context, ID, Object, connection::{Connection, Edge}};
use chrono::{DateTime, Utc};

use super::{
    complaints::{ComplaintConnection, ComplaintListInfo},
    connection::{self as cursor, page_size},
    context::ContextExt,
    types::{Complaint, Team, User},
};
use crate::{
    domain::{Category, GroupKey, GroupStatus},
    error::AppResult,
    ids::{self, Kind},
    service::complaints::{self as complaints, ComplaintOrder, Cursor, PageRequest, ProgressUpdateInput, groups},
};
use entity::complaint_group;

/// Several complaints with one common cause (an outage in one building, a
/// faulty batch), led by one team that tells every member's customer the same
/// progress at once.
pub struct ComplaintGroup(pub complaint_group::Model);

#[Object]
impl ComplaintGroup {
    /// The group's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Group, self.0.id)
    }
    /// Human reference, e.g. `GRP-2026-000001`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// What happened to all members.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The common cause, as far as it is known.
    async fn cause(&self) -> &str {
        &self.0.cause
    }
    /// The team that leads the handling and posts the group's updates.
    async fn lead_team(&self, ctx: &Context<'_>) -> AppResult<Option<Team>> {
        Ok(ctx.loaders()?.teams.load_one(self.0.lead_team_id).await?.map(Team))
    }
    /// OPEN while handled; CLOSED takes no members and no updates.
    async fn status(&self) -> AppResult<GroupStatus> {
        crate::error::stored(&self.0.status)
    }
    /// Who opened the group.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.created_by).await?.map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When the group was closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// When the last group update was posted to the members.
    async fn last_update_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_update_at
    }
    /// Moves on with every change of the group (members, updates, closing).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The members the caller may read, newest first (`totalCount` counts those too).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn members(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> AppResult<ComplaintConnection> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let order = ComplaintOrder::default();
        let page = PageRequest {
            order,
            after: after.as_deref().map(|c| cursor::decode("after", c)).transpose()?,
            before: None,
            limit: page_size(first, None)?.0,
            from_end: false,
        };
        let condition = groups::members_condition(self.0.id);
        let (rows, more) = complaints::list(services, actor, condition.clone(), &page).await?;
        let keys: Vec<String> = rows.iter().map(|c| cursor::encode(Cursor { key: order.field.key(c), id: c.id })).collect();
        let members = Complaint::hand_out_all(ctx, rows).await?;
        let info = ComplaintListInfo { actor: actor.clone(), condition };
        let mut connection = Connection::with_additional_fields(page.after.is_some(), more, info);
        connection.edges = keys.into_iter().zip(members).map(|(k, c)| Edge::new(k, c)).collect();
        Ok(connection)
    }
}

/// Complaints that look like one group: open, ungrouped, the same category and
/// the same order reference, product or location, recorded within one window.
pub struct GroupCandidate(groups::Candidate);

#[Object]
impl GroupCandidate {
    /// The members' category.
    async fn category(&self) -> Category {
        self.0.category
    }
    /// What else the members share.
    async fn matched_on(&self) -> GroupKey {
        self.0.key
    }
    /// The shared order reference, product or location (as the earliest member spells it).
    async fn value(&self) -> &str {
        &self.0.value
    }
    /// How many complaints the cluster holds (the caller may read them all).
    async fn size(&self) -> i32 {
        i32::try_from(self.0.size).unwrap_or(i32::MAX)
    }
    /// When the earliest member was recorded (of those listed in `complaints`).
    async fn first_at(&self) -> Option<DateTime<Utc>> {
        self.0.members.first().map(|c| c.created_at)
    }
    /// When the latest member was recorded (of those listed in `complaints`).
    async fn last_at(&self) -> Option<DateTime<Utc>> {
        self.0.members.last().map(|c| c.created_at)
    }
    /// The complaints, oldest first (at most 100).
    #[graphql(complexity = "2 + child_complexity * 100")]
    async fn complaints(&self, ctx: &Context<'_>) -> AppResult<Vec<Complaint>> {
        Complaint::hand_out_all(ctx, self.0.members.clone()).await
    }
}

/// The group of a complaint the caller already holds (so the group is visible).
pub(super) async fn group_of(ctx: &Context<'_>, group: uuid::Uuid) -> AppResult<Option<ComplaintGroup>> {
    Ok(ctx.loaders()?.groups.load_one(group).await?.map(ComplaintGroup))
}

#[derive(Default)]
pub struct GroupQuery;

#[Object]
impl GroupQuery {
    /// A group complaint by ID; null when it does not exist or the caller may
    /// see none of its members (and is not in its lead team).
    async fn complaint_group(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<ComplaintGroup>> {
        let Some((Kind::Group, id)) = ids::parse(&id) else { return Ok(None) };
        Ok(groups::find_visible(ctx.services()?, ctx.actor()?, id).await?.map(ComplaintGroup))
    }

    /// Group complaints the caller may see, oldest first, optionally of one status.
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn complaint_groups(
        &self,
        ctx: &Context<'_>,
        status: Option<GroupStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, ComplaintGroup>> {
        let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
        let (rows, more) = groups::list(ctx.services()?, ctx.actor()?, status, after, page_size(first, None)?.0).await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges = rows
            .into_iter()
            .map(|g| Edge::new(cursor::encode(Cursor { key: g.created_at, id: g.id }), ComplaintGroup(g)))
            .collect();
        Ok(connection)
    }

    /// Clusters of at least `CASEWORK_GROUP_MIN_SIZE` (default 3) open, ungrouped
    /// complaints the caller may read, with the same category and the same order
    /// reference, product or location, recorded within
    /// `CASEWORK_GROUP_WINDOW_HOURS` (default 24) from `since` (default: the
    /// last window). Largest first; a complaint may appear under several keys.
    #[graphql(complexity = "20 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn group_candidates(
        &self,
        ctx: &Context<'_>,
        since: Option<DateTime<Utc>>,
        first: Option<i32>,
    ) -> AppResult<Vec<GroupCandidate>> {
        let limit = super::nested_first(first)? as u64;
        let found = groups::candidates(ctx.services()?, ctx.actor()?, since, limit.min(groups::MAX_CANDIDATES)).await?;
        Ok(found.into_iter().map(GroupCandidate).collect())
    }
}

/// What `postGroupUpdate` did.
pub struct GroupUpdateResult {
    group: complaint_group::Model,
    updated: usize,
}

#[Object]
impl GroupUpdateResult {
    /// The group after the update.
    async fn group(&self) -> ComplaintGroup {
        ComplaintGroup(self.group.clone())
    }
    /// How many open members received the update.
    async fn updated_count(&self) -> i32 {
        self.updated as i32
    }
}

#[derive(Default)]
pub struct GroupMutation;

fn group_id(id: &ID) -> AppResult<uuid::Uuid> {
    ids::decode(Kind::Group, "groupId", id)
}

#[Object]
impl GroupMutation {
    /// Opens a group complaint led by a team (default: the caller's), with its
    /// first members if given. Supervisors, and agents for their own team.
    async fn create_complaint_group(&self, ctx: &Context<'_>, input: groups::ComplaintGroupInput) -> AppResult<ComplaintGroup> {
        Ok(ComplaintGroup(groups::create(ctx.services()?, ctx.request()?, input).await?))
    }

    /// Adds open complaints the caller may work to an open group: each gets
    /// `groupComplaint` (raising one HIGH_IMPACT request where it is new).
    async fn add_to_complaint_group(&self, ctx: &Context<'_>, group_id: ID, complaint_ids: Vec<ID>) -> AppResult<ComplaintGroup> {
        let id = self::group_id(&group_id)?;
        Ok(ComplaintGroup(groups::add_members(ctx.services()?, ctx.request()?, id, &complaint_ids).await?))
    }

    /// Takes complaints out of a group.
    async fn remove_from_complaint_group(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        complaint_ids: Vec<ID>,
    ) -> AppResult<ComplaintGroup> {
        let id = self::group_id(&group_id)?;
        Ok(ComplaintGroup(groups::remove_members(ctx.services()?, ctx.request()?, id, &complaint_ids).await?))
    }

    /// Posts one progress update (as `postProgressUpdate`) on every open member
    /// not under legal hold, in one transaction with an audit event per member.
    async fn post_group_update(&self, ctx: &Context<'_>, group_id: ID, input: ProgressUpdateInput) -> AppResult<GroupUpdateResult> {
        let id = self::group_id(&group_id)?;
        let (group, updated) = groups::post_update(ctx.services()?, ctx.request()?, id, input).await?;
        Ok(GroupUpdateResult { group, updated })
    }

    /// Closes a group: no new members, no more group updates (members keep their own lifecycle).
    async fn close_complaint_group(&self, ctx: &Context<'_>, group_id: ID, reason: String) -> AppResult<ComplaintGroup> {
        let id = self::group_id(&group_id)?;
        Ok(ComplaintGroup(groups::close(ctx.services()?, ctx.request()?, id, &reason).await?))
    }
}
