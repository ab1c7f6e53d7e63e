//! Output types. They wrap entity rows but expose only what the API promises
//! (a user's password hash has no field here), and they mask what the caller's
//! role may not see.

use async_graphql::{Context, ID, Object, SimpleObject, connection::{Connection, Edge}};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::context::ContextExt;
use crate::{
    domain::{
        Category, Channel, CloseOutcome, ComplaintStatus, UrgentReason, Demand, Emotion, EvidenceKind, LinkKind, NoteVisibility, Role, RootCause,
        Severity, Tier, policy,
    },
    error::{AppError, AppResult},
    ids::{self, Kind},
    service::{auth::actor_of, complaints::{Cursor, access}},
};
use entity::{app_user, complaint, complaint_link, customer, evidence, note, team};

use crate::error::stored as parse;

fn decimal(value: &Option<String>) -> AppResult<Option<Decimal>> {
    value.as_deref().map(|v| v.parse::<Decimal>().map_err(AppError::internal)).transpose()
}

/// A person who signs in.
pub struct User(pub app_user::Model);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> AppResult<Role> {
        parse(&self.0.role)
    }
    /// The user's team, if any.
    async fn team(&self, ctx: &Context<'_>) -> AppResult<Option<Team>> {
        let Some(team) = self.0.team_id else { return Ok(None) };
        Ok(ctx.loaders()?.teams.load_one(team).await?.map(Team))
    }
    /// The compensation this user may grant without approval (their override, or the role's default).
    async fn authority_limit(&self, ctx: &Context<'_>) -> AppResult<Decimal> {
        Ok(actor_of(ctx.services()?, &self.0)?.authority_limit)
    }
    /// The currency of `authorityLimit` (ISO 4217).
    async fn authority_currency(&self, ctx: &Context<'_>) -> AppResult<String> {
        match &self.0.authority_currency {
            Some(currency) => Ok(currency.clone()),
            None => Ok(ctx.services()?.settings.authority.currency.clone()),
        }
    }
    /// Whether the user may sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// For optimistic concurrency in `updateUser`.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A team at one support tier.
pub struct Team(pub team::Model);

#[Object]
impl Team {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Team, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn tier(&self) -> AppResult<Tier> {
        parse(&self.0.tier)
    }
}

/// The customer who complained: one identity across their complaints. Contact
/// details are masked for roles that do not need them on sensitive and legal-hold cases.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Customer {
    #[graphql(skip)]
    pub uuid: uuid::Uuid,
    pub id: ID,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// True when `phone` and `email` are masked for the caller.
    pub masked: bool,
}

impl Customer {
    pub fn new(model: customer::Model, masked: bool) -> Customer {
        Customer {
            uuid: model.id,
            id: ids::encode(Kind::Customer, model.id),
            name: model.name,
            phone: model.phone.map(|p| if masked { mask(&p, 2) } else { p }),
            email: model.email.map(|e| if masked { mask_email(&e) } else { e }),
            masked,
        }
    }
}

/// Keeps the last `keep` characters: `+86 138 0013 8000` → `***************00`.
fn mask(value: &str, keep: usize) -> String {
    let count = value.chars().count();
    value.chars().enumerate().map(|(i, c)| if i + keep < count { '*' } else { c }).collect()
}

fn mask_email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => mask(value, 0),
    }
}

/// A note on a complaint.
pub struct Note(pub note::Model);

#[Object]
impl Note {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Note, self.0.id)
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn visibility(&self) -> AppResult<NoteVisibility> {
        parse(&self.0.visibility)
    }
    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.author_id).await?.map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A file attached to a complaint. Immutable: it can only be deleted (by a
/// supervisor, never under legal hold), and then stays listed as deleted with
/// its SHA-256.
pub struct Evidence(pub evidence::Model);

#[Object]
impl Evidence {
    /// The evidence's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Evidence, self.0.id)
    }
    /// What the file is evidence of: a screenshot, a call recording, …
    async fn kind(&self) -> AppResult<EvidenceKind> {
        parse(&self.0.kind)
    }
    /// The uploaded file's name, sanitised (no directories or control characters).
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    /// The type sniffed from the file's content; downloads are served with it.
    async fn content_type(&self) -> &str {
        &self.0.detected_content_type
    }
    /// The type the client declared for the file, if any.
    async fn declared_content_type(&self) -> Option<&str> {
        self.0.declared_content_type.as_deref()
    }
    /// Size in bytes.
    async fn size(&self) -> i64 {
        self.0.size_bytes
    }
    /// Lowercase hex SHA-256 of the content, checked again on every download.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// What the uploader said the file shows.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Who uploaded it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.uploaded_by).await?.map(User))
    }
    /// When it was stored.
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.uploaded_at
    }
    /// Where to GET the file (with the same bearer token); null once deleted.
    async fn download_url(&self) -> Option<String> {
        self.0.deleted_at.is_none().then(|| format!("/evidence/{}/content", ids::encode(Kind::Evidence, self.0.id).0))
    }
    /// Whether a supervisor deleted it (the record and its hash remain).
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    /// When it was deleted.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
    /// Who deleted it.
    async fn deleted_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user) = self.0.deleted_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(user).await?.map(User))
    }
    /// Why it was deleted.
    async fn delete_reason(&self) -> Option<&str> {
        self.0.delete_reason.as_deref()
    }
}

/// Fields of an evidence list beyond its edges.
#[derive(SimpleObject)]
pub struct EvidenceListInfo {
    /// How many entries the list has in all (within `includeDeleted`).
    pub total_count: i32,
}

pub type EvidenceConnection = Connection<String, Evidence, EvidenceListInfo>;

/// A link from one complaint to another.
pub struct ComplaintLink {
    pub link: complaint_link::Model,
    /// The complaint on the other side of the link from where it was reached.
    pub other: uuid::Uuid,
}

#[Object]
impl ComplaintLink {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Link, self.link.id)
    }
    async fn kind(&self) -> AppResult<LinkKind> {
        parse(&self.link.kind)
    }
    /// Whether the complaint this link was reached from is the primary of the link.
    async fn primary(&self) -> bool {
        self.other == self.link.linked_id
    }
    /// The other complaint; null when the caller may not see it.
    async fn complaint(&self, ctx: &Context<'_>) -> AppResult<Option<Complaint>> {
        let actor = ctx.actor()?;
        let found = ctx.loaders()?.complaints.load_one(self.other).await?;
        match found.filter(|c| policy::can_read_complaint(actor, &access(c))) {
            // A sensitive complaint reached through a link is read too.
            Some(c) => Ok(Some(Complaint::hand_out(ctx, c).await?)),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.link.created_at
    }
}

/// The plan offered to the customer.
#[derive(SimpleObject)]
pub struct Resolution {
    pub summary: String,
    pub compensation_amount: Option<Decimal>,
    /// The refund part, in the same currency; refund plus compensation is what authority limits cap.
    pub refund_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub remedies: Option<String>,
    pub preventive_measures: Option<String>,
}

/// A customer complaint and everything done about it.
pub struct Complaint(complaint::Model);

impl Complaint {
    /// The one way a complaint leaves the API — query results, nested fields,
    /// subscription payloads and mutation results alike: the read of a
    /// sensitive or legal-hold complaint is recorded (`complaint.viewed`, once
    /// per complaint per operation, in the request context's audited-read set).
    /// Callers have already checked that the caller may read it.
    pub async fn hand_out(ctx: &Context<'_>, c: complaint::Model) -> AppResult<Complaint> {
        Complaint::hand_out_with(ctx.services()?, ctx.request()?, c).await
    }

    /// [`Complaint::hand_out`] for many, in one audit transaction.
    pub async fn hand_out_all(ctx: &Context<'_>, cs: Vec<complaint::Model>) -> AppResult<Vec<Complaint>> {
        crate::service::complaints::record_reads(ctx.services()?, ctx.request()?, &cs.iter().collect::<Vec<_>>()).await?;
        Ok(cs.into_iter().map(Complaint).collect())
    }

    /// [`Complaint::hand_out`] where no resolver context exists (subscription streams).
    pub async fn hand_out_with(
        services: &crate::service::Services,
        request: &crate::service::RequestContext,
        c: complaint::Model,
    ) -> AppResult<Complaint> {
        crate::service::complaints::record_reads(services, request, &[&c]).await?;
        Ok(Complaint(c))
    }

    /// The stored complaint.
    pub fn model(&self) -> &complaint::Model {
        &self.0
    }
}

#[Object]
impl Complaint {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Complaint, self.0.id)
    }
    /// Human reference, e.g. `CMP-2026-000042`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn status(&self) -> AppResult<ComplaintStatus> {
        parse(&self.0.status)
    }
    async fn channel(&self) -> AppResult<Channel> {
        parse(&self.0.channel)
    }
    async fn category(&self) -> AppResult<Category> {
        parse(&self.0.category)
    }
    async fn severity(&self) -> AppResult<Severity> {
        parse(&self.0.severity)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// This complaint's audit trail, oldest first (supervisors, legal, auditors;
    /// a supervisor outside the complaint's team sees only their own actions).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<super::audit::AuditEventConnection> {
        super::boxed(async move {
            let filter = crate::service::audit::EventFilter { complaint_id: Some(self.0.id), ..Default::default() };
            super::audit::event_page(ctx.services()?, ctx.actor()?, filter, first, after).await
        })
        .await
    }
    /// Whether the same customer complained before, within the repeat window.
    async fn is_repeat(&self) -> bool {
        self.0.repeat_of_id.is_some()
    }
    /// The same customer's earlier complaint this one repeats; null when none or not visible to the caller.
    async fn repeat_of(&self, ctx: &Context<'_>) -> AppResult<Option<Complaint>> {
        super::boxed(async move {
            let Some(id) = self.0.repeat_of_id else { return Ok(None) };
            let actor = ctx.actor()?;
            match ctx.loaders()?.complaints.load_one(id).await?.filter(|c| policy::can_read_complaint(actor, &access(c))) {
                Some(c) => Ok(Some(Complaint::hand_out(ctx, c).await?)),
                None => Ok(None),
            }
        })
        .await
    }
    /// Why intake judged it urgent (first response within 10 minutes).
    async fn urgent_reason(&self) -> AppResult<Option<UrgentReason>> {
        self.0.urgent_reason.as_deref().map(parse).transpose()
    }
    /// Handling cycle: 1 at intake, +1 on every reopening (which brings fresh deadlines).
    async fn cycle(&self) -> i32 {
        self.0.cycle
    }
    /// When a proposed resolution is due in this cycle (default 24 h after it began).
    async fn solution_due(&self) -> Option<DateTime<Utc>> {
        self.0.solution_due
    }
    /// No resolution was proposed by `solutionDue` in this cycle (set by the SLA monitor).
    async fn solution_breached(&self) -> bool {
        self.0.solution_breached
    }
    /// RESOLVED and awaiting a callback: when the next attempt is due.
    async fn callback_due(&self) -> Option<DateTime<Utc>> {
        self.0.callback_due
    }
    /// How the complaint was closed.
    async fn close_outcome(&self) -> AppResult<Option<CloseOutcome>> {
        self.0.close_outcome.as_deref().map(parse).transpose()
    }
    /// When the customer was promised an answer.
    async fn promised_by(&self) -> Option<DateTime<Utc>> {
        self.0.promised_by
    }
    /// Still open at `promisedBy` (marked by the SLA monitor; a new promise clears it).
    async fn promise_breached(&self) -> bool {
        self.0.promise_breached
    }
    /// When the next progress update to the customer is due.
    async fn next_update_due(&self) -> Option<DateTime<Utc>> {
        self.0.next_update_due
    }
    /// No progress update by `nextUpdateDue` (marked by the SLA monitor; an update clears it).
    async fn update_overdue(&self) -> bool {
        self.0.update_overdue
    }
    /// When the last progress update was given.
    async fn last_update_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_update_at
    }
    /// Why the case is delayed, per the last progress update.
    async fn delay_reason(&self) -> AppResult<Option<crate::domain::DelayReason>> {
        self.0.delay_reason.as_deref().map(parse).transpose()
    }
    /// When the last progress update said the case should be resolved.
    async fn expected_resolution_at(&self) -> Option<DateTime<Utc>> {
        self.0.expected_resolution_at
    }
    /// Every contact with the customer, oldest first.
    #[graphql(complexity = "2 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, super::closed_loop::Contact>> {
        super::boxed(async move {
            super::closed_loop::contacts_of(ctx, self.0.id, first, after).await
        })
        .await
    }
    /// Every callback attempt, oldest first, across cycles.
    #[graphql(complexity = "2 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn callbacks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, super::closed_loop::CallbackAttempt>> {
        super::boxed(async move {
            super::closed_loop::callbacks_of(ctx, self.0.id, first, after).await
        })
        .await
    }
    /// Work asked of other teams, oldest request first.
    #[graphql(complexity = "2 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn work_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, super::work::WorkItem>> {
        super::boxed(async move {
            super::work::work_items_of(ctx, self.0.id, first, after).await
        })
        .await
    }
    /// Who complained (contact details masked where the caller's role does not need them).
    async fn customer(&self, ctx: &Context<'_>) -> AppResult<Customer> {
        super::boxed(async move {
            let actor = ctx.actor()?;
            let loaders = ctx.loaders()?;
            let need = || super::projection::customer_columns(ctx.look_ahead().selection_fields());
            let customer = match loaders.folded.customer(self.0.customer_id, need) {
                Some(folded) => folded,
                None => loaders
                    .customers
                    .load_one(self.0.customer_id)
                    .await?
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("complaint {} has no customer", self.0.id)))?,
            };
            Ok(Customer::new(customer, !policy::sees_customer_contact(actor, &access(&self.0))))
        })
        .await
    }
    /// The customer's core demand.
    async fn core_demand(&self) -> AppResult<Demand> {
        parse(&self.0.core_demand)
    }
    /// What the customer asks for, if money.
    async fn requested_amount(&self) -> AppResult<Option<Decimal>> {
        decimal(&self.0.requested_amount)
    }
    /// ISO 4217 currency of the complaint's amounts.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The customer's emotional state at intake.
    async fn emotion(&self) -> AppResult<Emotion> {
        parse(&self.0.emotion)
    }
    async fn order_reference(&self) -> Option<&str> {
        self.0.order_reference.as_deref()
    }
    /// The product or service complained about.
    async fn product_or_service(&self) -> Option<&str> {
        self.0.product_or_service.as_deref()
    }
    /// Where it happened: a store, branch or area.
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    /// The group complaint this one belongs to.
    async fn group(&self, ctx: &Context<'_>) -> AppResult<Option<super::groups::ComplaintGroup>> {
        super::boxed(async move {
            let Some(group) = self.0.group_id else { return Ok(None) };
            super::groups::group_of(ctx, group).await
        })
        .await
    }
    /// When the problem happened.
    async fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.0.occurred_at
    }
    /// The support tier working the complaint.
    async fn tier(&self) -> AppResult<Tier> {
        parse(&self.0.tier)
    }
    async fn team(&self, ctx: &Context<'_>) -> AppResult<Option<Team>> {
        super::boxed(async move {
            let Some(team) = self.0.team_id else { return Ok(None) };
            Ok(ctx.loaders()?.teams.load_one(team).await?.map(Team))
        })
        .await
    }
    async fn assignee(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        super::boxed(async move {
            let Some(user) = self.0.assignee_id else { return Ok(None) };
            let loaders = ctx.loaders()?;
            let need = || super::projection::user_columns(ctx.look_ahead().selection_fields());
            if let Some(folded) = loaders.folded.user(user, need) {
                return Ok(Some(User(folded)));
            }
            Ok(loaders.users.load_one(user).await?.map(User))
        })
        .await
    }
    /// Who recorded the complaint.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        super::boxed(async move {
            Ok(ctx.loaders()?.users.load_one(self.0.created_by).await?.map(User))
        })
        .await
    }
    /// Personal data, privacy or VIP: reads are audited.
    async fn sensitive(&self) -> bool {
        self.0.sensitive
    }
    async fn vulnerable_customer(&self) -> bool {
        self.0.vulnerable_customer
    }
    async fn media_attention(&self) -> bool {
        self.0.media_attention
    }
    async fn group_complaint(&self) -> bool {
        self.0.group_complaint
    }
    /// Referred to legal: nothing can be deleted and only the legal team works it.
    async fn legal_hold(&self) -> bool {
        self.0.legal_hold
    }
    async fn root_cause(&self) -> AppResult<Option<RootCause>> {
        self.0.root_cause.as_deref().map(parse).transpose()
    }
    async fn responsibility(&self) -> Option<&str> {
        self.0.responsibility.as_deref()
    }
    /// The investigation's summary.
    async fn finding_summary(&self) -> Option<&str> {
        self.0.finding_summary.as_deref()
    }
    /// The proposed resolution, once there is one.
    async fn resolution(&self) -> AppResult<Option<Resolution>> {
        let Some(summary) = &self.0.resolution_summary else { return Ok(None) };
        Ok(Some(Resolution {
            summary: summary.clone(),
            compensation_amount: decimal(&self.0.compensation_amount)?,
            refund_amount: decimal(&self.0.refund_amount)?,
            currency: self.0.compensation_currency.clone(),
            remedies: self.0.remedies.clone(),
            preventive_measures: self.0.preventive_measures.clone(),
        }))
    }
    /// Whether the customer accepted the proposed resolution.
    async fn customer_accepted(&self) -> Option<bool> {
        self.0.customer_accepted
    }
    async fn customer_decision_note(&self) -> Option<&str> {
        self.0.customer_decision_note.as_deref()
    }
    /// What was done to resolve it.
    async fn resolution_note(&self) -> Option<&str> {
        self.0.resolution_note.as_deref()
    }
    /// Whether the callback reached the customer.
    async fn callback_reached(&self) -> Option<bool> {
        self.0.callback_reached
    }
    async fn satisfied(&self) -> Option<bool> {
        self.0.satisfied
    }
    /// Satisfaction from 1 to 5.
    async fn satisfaction_score(&self) -> Option<i32> {
        self.0.satisfaction_score
    }
    async fn callback_comment(&self) -> Option<&str> {
        self.0.callback_comment.as_deref()
    }
    async fn close_reason(&self) -> Option<&str> {
        self.0.close_reason.as_deref()
    }
    /// How often the complaint was reopened.
    async fn reopen_count(&self) -> i32 {
        self.0.reopen_count
    }
    /// Deadline for the first response.
    async fn first_response_due(&self) -> DateTime<Utc> {
        self.0.first_response_due
    }
    /// Deadline for the resolution.
    async fn resolution_due(&self) -> DateTime<Utc> {
        self.0.resolution_due
    }
    /// Marked by the SLA monitor when a deadline passed.
    async fn sla_breached(&self) -> bool {
        self.0.sla_breached
    }
    /// What the caller may do to this complaint now (its role, the assignment,
    /// legal hold and the lifecycle), so clients show only the allowed actions.
    async fn viewer_can(&self, ctx: &Context<'_>) -> AppResult<policy::ComplaintActions> {
        super::boxed(async move {
            let status = parse::<ComplaintStatus>(&self.0.status)?;
            let mut actions = policy::complaint_actions(ctx.actor()?, &access(&self.0), status);
            // Open work holds back the resolution (asked only when it is otherwise allowed).
            if actions.resolve && !crate::service::complaints::blocking_work(ctx.services()?, self.0.id).await?.is_empty() {
                actions.resolve = false;
            }
            Ok(actions)
        })
        .await
    }
    /// Open and past a deadline now (or already marked breached).
    async fn overdue(&self) -> AppResult<bool> {
        let now = Utc::now();
        let open = parse::<ComplaintStatus>(&self.0.status)?.is_open();
        Ok(self.0.sla_breached
            || (open
                && (self.0.resolution_due < now
                    || (self.0.acknowledged_at.is_none() && self.0.first_response_due < now))))
    }
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Pass this as `expectedVersion` to change the complaint.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Notes, oldest first: the first `first` (default 20, at most 100).
    #[graphql(complexity = "1 + child_complexity * first.unwrap_or(super::NESTED_LIST_DEFAULT).clamp(0, 100) as usize")]
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many notes, oldest first (default 20, at most 100).")] first: Option<i32>,
    ) -> AppResult<Vec<Note>> {
        super::boxed(async move {
            let first = super::nested_first(first)?;
            let notes = ctx.loaders()?.notes.load_one(self.0.id).await?.unwrap_or_default();
            Ok(notes.into_iter().take(first).map(Note).collect())
        })
        .await
    }
    /// Escalation requests, oldest first: the first `first` (default 20, at most 100).
    #[graphql(complexity = "1 + child_complexity * first.unwrap_or(super::NESTED_LIST_DEFAULT).clamp(0, 100) as usize")]
    async fn escalations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many requests, oldest first (default 20, at most 100).")] first: Option<i32>,
    ) -> AppResult<Vec<super::escalations::Escalation>> {
        super::boxed(async move {
            let first = super::nested_first(first)?;
            let requests = ctx.loaders()?.escalations.load_one(self.0.id).await?.unwrap_or_default();
            Ok(requests.into_iter().take(first).map(super::escalations::Escalation).collect())
        })
        .await
    }
    /// The most recent escalation request, if any.
    async fn latest_escalation(&self, ctx: &Context<'_>) -> AppResult<Option<super::escalations::Escalation>> {
        super::boxed(async move {
            let loaders = ctx.loaders()?;
            let need = || super::projection::escalation_columns(ctx.look_ahead().selection_fields());
            let latest = match loaders.folded.latest_escalation(self.0.id, need) {
                Some(folded) => folded,
                None => loaders.latest_escalations.load_one(self.0.id).await?.flatten(),
            };
            Ok(latest.map(super::escalations::Escalation))
        })
        .await
    }
    /// Whether the first-response deadline was missed.
    async fn first_response_breached(&self) -> bool {
        self.0.first_response_breached
    }
    /// Whether the resolution deadline was missed.
    async fn resolution_breached(&self) -> bool {
        self.0.resolution_breached
    }
    /// Evidence files, oldest first (deleted ones only with `includeDeleted`).
    #[graphql(complexity = "2 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn evidence(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] include_deleted: bool,
    ) -> AppResult<EvidenceConnection> {
        super::boxed(async move {
            let (limit, _) = super::connection::page_size(first, None)?;
            let after = after.as_deref().map(|c| super::connection::decode("after", c)).transpose()?;
            let all: Vec<evidence::Model> = ctx
                .loaders()?
                .evidence
                .load_one(self.0.id)
                .await?
                .unwrap_or_default()
                .into_iter()
                .filter(|e| include_deleted || e.deleted_at.is_none())
                .collect();
            let total_count = i32::try_from(all.len()).unwrap_or(i32::MAX);
            let cursor = |e: &evidence::Model| Cursor { key: e.uploaded_at, id: e.id };
            let rest: Vec<evidence::Model> = all
                .into_iter()
                .filter(|e| after.is_none_or(|a| (e.uploaded_at, e.id) > (a.key, a.id)))
                .collect();
            let has_next = rest.len() as u64 > limit;
            let mut connection = Connection::with_additional_fields(after.is_some(), has_next, EvidenceListInfo { total_count });
            connection.edges = rest
                .into_iter()
                .take(limit as usize)
                .map(|e| Edge::new(super::connection::encode(cursor(&e)), Evidence(e)))
                .collect();
            Ok(connection)
        })
        .await
    }
    /// How many (not deleted) evidence files the complaint has.
    async fn evidence_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        super::boxed(async move {
            Ok(ctx.loaders()?.evidence_counts.load_one(self.0.id).await?.unwrap_or(0))
        })
        .await
    }
    /// Links to other complaints (duplicates, related, group members), oldest
    /// first: the first `first` (default 20, at most 100).
    #[graphql(complexity = "1 + child_complexity * first.unwrap_or(super::NESTED_LIST_DEFAULT).clamp(0, 100) as usize")]
    async fn links(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many links, oldest first (default 20, at most 100).")] first: Option<i32>,
    ) -> AppResult<Vec<ComplaintLink>> {
        super::boxed(async move {
            let first = super::nested_first(first)?;
            let links = ctx.loaders()?.links.load_one(self.0.id).await?.unwrap_or_default();
            Ok(links
                .into_iter()
                .take(first)
                .map(|link| {
                    let other = if link.complaint_id == self.0.id { link.linked_id } else { link.complaint_id };
                    ComplaintLink { link, other }
                })
                .collect())
        })
        .await
    }
}
