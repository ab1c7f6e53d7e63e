//! Escalation requests, the approval queue, SLA policies.

use async_graphql::{Context, ID, Object, connection::{Connection, Edge}};
use chrono::{DateTime, Utc};

use super::{
    connection::page_size,
    context::ContextExt,
    types::{Complaint, User},
};
use crate::{
    domain::{EscalationStatus, EscalationTrigger, Severity, Tier, Category},
    error::AppResult,
    ids::{self, Kind},
    service::{escalations, sla::{self, SlaPolicyInput}},
};
use entity::{escalation, sla_policy};

use crate::error::stored as parse;

/// A request to move a complaint to another tier, or to approve what exceeds
/// someone's authority, decided by someone other than the requester.
pub struct Escalation(pub escalation::Model);

#[Object]
impl Escalation {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Escalation, self.0.id)
    }
    /// The complaint; null if the caller may no longer see it.
    async fn complaint(&self, ctx: &Context<'_>) -> AppResult<Option<Complaint>> {
        let actor = ctx.actor()?;
        let loaders = ctx.loaders()?;
        let need = || {
            super::projection::complaint_columns(ctx.look_ahead().selection_fields())
                .union(crate::service::complaints::required_columns())
        };
        let found = match loaders.folded.complaint(self.0.complaint_id, need) {
            Some(folded) => Some(folded),
            None => loaders.complaints.load_one(self.0.complaint_id).await?,
        };
        match found.filter(|c| crate::domain::policy::can_read_complaint(actor, &crate::service::complaints::access(c))) {
            Some(c) => Ok(Some(Complaint::hand_out(ctx, c).await?)),
            None => Ok(None),
        }
    }
    async fn from_tier(&self) -> AppResult<Tier> {
        parse(&self.0.from_tier)
    }
    async fn to_tier(&self) -> AppResult<Tier> {
        parse(&self.0.to_tier)
    }
    async fn trigger(&self) -> AppResult<EscalationTrigger> {
        parse(&self.0.trigger)
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Who asked; null when the system raised it.
    async fn requested_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user) = self.0.requested_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(user).await?.map(User))
    }
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    async fn status(&self) -> AppResult<EscalationStatus> {
        parse(&self.0.status)
    }
    async fn decided_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user) = self.0.decided_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(user).await?.map(User))
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
    /// When a decision is due.
    async fn due_by(&self) -> DateTime<Utc> {
        self.0.due_by
    }
    /// Pending past its due time.
    async fn overdue(&self) -> bool {
        self.0.status == EscalationStatus::Pending.as_str() && self.0.due_by < Utc::now()
    }
}

/// Response and resolution targets for a severity (or one of its categories).
pub struct SlaPolicy(pub sla_policy::Model);

#[Object]
impl SlaPolicy {
    async fn severity(&self) -> AppResult<Severity> {
        parse(&self.0.severity)
    }
    /// Null: every category of the severity.
    async fn category(&self) -> AppResult<Option<Category>> {
        if self.0.category.is_empty() { Ok(None) } else { parse(&self.0.category).map(Some) }
    }
    async fn first_response_minutes(&self) -> i32 {
        self.0.first_response_minutes
    }
    async fn resolution_minutes(&self) -> i32 {
        self.0.resolution_minutes
    }
    async fn business_hours_only(&self) -> bool {
        self.0.business_hours_only
    }
    /// ISO weekdays (1 = Monday).
    async fn working_days(&self) -> Vec<i32> {
        self.0.working_days.split(',').filter_map(|d| d.parse().ok()).collect()
    }
    async fn day_start(&self) -> String {
        sla::time_of_day(self.0.day_start_minute)
    }
    async fn day_end(&self) -> String {
        sla::time_of_day(self.0.day_end_minute)
    }
    async fn utc_offset_minutes(&self) -> i32 {
        self.0.utc_offset_minutes
    }
    async fn holidays(&self) -> Vec<String> {
        self.0.holidays.split(',').filter(|d| !d.is_empty()).map(str::to_owned).collect()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

fn queue_cursor(e: &escalation::Model) -> String {
    crate::graphql::connection::encode(crate::service::complaints::Cursor { key: e.requested_at, id: e.id })
}

#[derive(Default)]
pub struct EscalationQuery;

#[Object]
impl EscalationQuery {
    /// The caller's approval queue, oldest first: supervisors see every request
    /// but legal referrals, the legal team sees referrals.
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn escalation_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "EscalationStatus::Pending")] status: EscalationStatus,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, Escalation>> {
        let (limit, _) = page_size(first, None)?;
        let after = after.as_deref().map(|c| crate::graphql::connection::decode("after", c)).transpose()?;
        // The page's complaints come in the page's own statement when asked
        // for, with the columns their fields read, and are handed to the
        // `complaint` field (whole rows through the shared loader).
        let look = ctx.look_ahead();
        let nodes = [look.field("edges").field("node").field("complaint"), look.field("nodes").field("complaint")];
        let columns = nodes
            .iter()
            .any(|l| l.exists())
            .then(|| super::projection::complaint_columns(nodes.iter().flat_map(|l| l.selection_fields())));
        let mut found = escalations::queue(
            ctx.services()?,
            ctx.request()?,
            status,
            after.map(|c| (c.key, c.id)),
            limit + 1,
            columns,
        )
        .await?;
        let more = found.len() as u64 > limit;
        found.truncate(limit as usize);
        let mut rows = Vec::with_capacity(found.len());
        let mut complaints = Vec::new();
        for (request, complaint) in found {
            complaints.extend(complaint.map(|c| (c.id, c)));
            rows.push(request);
        }
        let loaders = ctx.loaders()?;
        match columns {
            Some(set) if set != crate::service::rows::ColumnSet::ALL => {
                loaders.folded.keep_complaints(complaints, set.union(crate::service::complaints::required_columns()))
            }
            _ => loaders.complaints.feed_many(complaints).await,
        }
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges = rows.into_iter().map(|e| Edge::new(queue_cursor(&e), Escalation(e))).collect();
        Ok(connection)
    }

    /// SLA policies by severity and category (defaults apply where none is set).
    #[graphql(complexity = "1 + child_complexity * 40")]
    async fn sla_policies(&self, ctx: &Context<'_>) -> AppResult<Vec<SlaPolicy>> {
        Ok(sla::list(ctx.services()?, ctx.request()?).await?.into_iter().map(SlaPolicy).collect())
    }
}

#[derive(Default)]
pub struct EscalationMutation;

#[Object]
impl EscalationMutation {
    /// Asks for the complaint to move to another tier, with a trigger and a reason.
    async fn request_escalation(
        &self,
        ctx: &Context<'_>,
        complaint_id: ID,
        to_tier: Tier,
        trigger: EscalationTrigger,
        reason: String,
    ) -> AppResult<Escalation> {
        let id = ids::decode(Kind::Complaint, "complaintId", &complaint_id)?;
        Ok(Escalation(escalations::request(ctx.services()?, ctx.request()?, id, to_tier, trigger, &reason).await?))
    }

    /// Refers the complaint to the legal team (supervisors and legal: under legal hold at once).
    async fn refer_to_legal(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<Escalation> {
        let id = ids::decode(Kind::Complaint, "id", &id)?;
        Ok(Escalation(escalations::refer_to_legal(ctx.services()?, ctx.request()?, id, &reason).await?))
    }

    /// Approves a pending request (never one's own). `teamId` picks the team of the target tier.
    async fn approve_escalation(&self, ctx: &Context<'_>, id: ID, note: Option<String>, team_id: Option<ID>) -> AppResult<Escalation> {
        let id = ids::decode(Kind::Escalation, "id", &id)?;
        let team = ids::decode_opt(Kind::Team, "teamId", team_id.as_ref())?;
        Ok(Escalation(escalations::approve(ctx.services()?, ctx.request()?, id, note, team).await?))
    }

    /// Rejects a pending request with a reason.
    async fn reject_escalation(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<Escalation> {
        let id = ids::decode(Kind::Escalation, "id", &id)?;
        Ok(Escalation(escalations::reject(ctx.services()?, ctx.request()?, id, &reason).await?))
    }

    /// Creates or replaces the SLA policy of a severity (and category). Administrators.
    async fn upsert_sla_policy(&self, ctx: &Context<'_>, input: SlaPolicyInput) -> AppResult<SlaPolicy> {
        Ok(SlaPolicy(sla::upsert(ctx.services()?, ctx.request()?, input).await?))
    }
}
