//! The complaint lifecycle as use cases: intake, work, resolution, callback,
//! closure; and the reads that respect who may see what.
//!
//! Every change follows one path: load the complaint, ask the policy, validate,
//! compute the new row with the domain's transition table, then in one
//! transaction write it guarded by `expectedVersion` and append its audit event.

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};
use serde_json::Value;
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork};

mod callbacks;
mod contacts;
pub mod groups;
mod intake;
mod notes;
mod shared;
mod transitions;
mod work;

pub use callbacks::*;
pub use contacts::*;
pub use intake::*;
pub use notes::*;
pub(crate) use shared::*;
pub use transitions::*;
pub use work::*;
use crate::{
    audit::{ChainKey, Changes, NewEvent, Sensitivity},
    auth::Actor,
    domain::{
        Category, Channel, CloseOutcome, ComplaintStatus, Demand, Emotion, LinkKind, NoteVisibility, RootCause, Severity, Tier,
        Transition, UrgentReason,
        escalation::{self, ImpactFlags},
        policy::{self, ComplaintAccess, Decision, ReadScope},
        validation::{self, Currency, Email, Money, limits},
    },
    error::{AppError, AppResult},
    ids::{self, Kind},
};
use entity::{app_user, complaint, complaint_link, customer, note, team};

/// The customer's identity and contact details.
#[derive(InputObject, Debug, Clone)]
pub struct CustomerInput {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A complaint as recorded at intake: the "five elements".
#[derive(InputObject, Debug)]
pub struct CreateComplaintInput {
    pub channel: Channel,
    pub category: Category,
    pub severity: Severity,
    /// One line that names the problem.
    pub title: String,
    /// What happened, in the customer's words where possible.
    pub description: String,
    pub customer: CustomerInput,
    pub core_demand: Demand,
    /// What the customer asks for, if money.
    pub requested_amount: Option<Decimal>,
    /// ISO 4217; defaults to the configured currency.
    pub currency: Option<String>,
    pub emotion: Emotion,
    pub order_reference: Option<String>,
    /// When the problem happened (not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Defaults to the creator's team.
    pub team_id: Option<ID>,
    /// Defaults to the creator.
    pub assignee_id: Option<ID>,
    /// An existing customer (from `customers`); without it, intake matches the
    /// customer by phone (E.164) or email, and creates one when none matches.
    pub customer_id: Option<ID>,
    /// Why the case is urgent: the first response is then due within 10 minutes.
    pub urgent_reason: Option<UrgentReason>,
    /// The product or service complained about (up to 200 characters).
    pub product_or_service: Option<String>,
    /// Where it happened: a store, branch or area (up to 200 characters).
    pub location: Option<String>,
}

/// Corrections to intake data; absent fields stay as they are.
#[derive(InputObject, Debug, Default)]
pub struct UpdateComplaintInput {
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    /// Changing the severity recomputes the SLA deadlines.
    pub severity: Option<Severity>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub customer: Option<CustomerInput>,
    pub core_demand: Option<Demand>,
    pub requested_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub emotion: Option<Emotion>,
    pub order_reference: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// The product or service complained about; an empty string clears it.
    pub product_or_service: Option<String>,
    /// Where it happened (store, branch or area); an empty string clears it.
    pub location: Option<String>,
}

/// What the investigation found.
#[derive(InputObject, Debug)]
pub struct FindingInput {
    pub root_cause: RootCause,
    /// Who or what is responsible.
    pub responsibility: Option<String>,
    pub summary: String,
}

/// The plan offered to the customer.
#[derive(InputObject, Debug)]
pub struct ResolutionInput {
    pub summary: String,
    /// Exact amount; when refund plus compensation is above the proposer's
    /// authority it needs approval.
    pub compensation_amount: Option<Decimal>,
    /// The refund (the goods' price given back), in the same currency; counted
    /// with the compensation against the authority limit.
    pub refund_amount: Option<Decimal>,
    /// ISO 4217; defaults to the complaint's currency.
    pub currency: Option<String>,
    pub remedies: Option<String>,
    pub preventive_measures: Option<String>,
}

/// The outcome of calling the customer back.
#[derive(InputObject, Debug)]
pub struct CallbackInput {
    /// Whether the customer was reached.
    pub reached: bool,
    /// Whether they are satisfied: closes the complaint, or reopens it.
    pub satisfied: bool,
    /// Satisfaction from 1 to 5.
    pub score: Option<i32>,
    pub comment: Option<String>,
}

/// Flags to set or clear; absent flags stay as they are.
#[derive(InputObject, Debug, Default)]
pub struct FlagsInput {
    /// Personal data, privacy or VIP: reads are audited, agents outside the assignment lose sight.
    pub sensitive: Option<bool>,
    /// Elderly, child, pregnant, medical.
    pub vulnerable_customer: Option<bool>,
    pub media_attention: Option<bool>,
    /// Possibly part of a group complaint.
    pub group_complaint: Option<bool>,
}

/// The facts of a complaint that the policy decides on.
pub fn access(c: &complaint::Model) -> ComplaintAccess {
    ComplaintAccess {
        team_id: c.team_id,
        assignee_id: c.assignee_id,
        sensitive: c.sensitive,
        legal_hold: c.legal_hold,
        assisting_teams: crate::domain::work::decode_teams(&c.assisting_teams),
    }
}

fn status_tier(c: &complaint::Model) -> AppResult<Tier> {
    crate::error::stored(&c.tier)
}

pub fn status(c: &complaint::Model) -> AppResult<ComplaintStatus> {
    crate::error::stored(&c.status)
}

fn sensitivity(c: &complaint::Model) -> Sensitivity {
    Sensitivity::of(c.sensitive, c.legal_hold)
}

// ---------------------------------------------------------------- reads

/// Records a read of a sensitive or legal-hold complaint (`complaint.viewed`)
/// or of its evidence (`evidence.downloaded`) in the complaint's access chain.
/// Does nothing for ordinary complaints.
pub async fn record_access(
    services: &Services,
    ctx: &RequestContext,
    complaint: &complaint::Model,
    action: &'static str,
    target_type: &'static str,
    target_id: Uuid,
) -> AppResult<()> {
    if !policy::reads_are_audited(&access(complaint)) {
        return Ok(());
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    uow.record(access_event(complaint, action, target_type, target_id)).await?;
    uow.commit().await
}

/// An audited read, on the complaint's access chain.
fn access_event(complaint: &complaint::Model, action: &'static str, target_type: &'static str, target_id: Uuid) -> NewEvent {
    NewEvent {
        complaint_id: Some(complaint.id),
        sensitivity: sensitivity(complaint),
        ..NewEvent::new(ChainKey::ComplaintAccess(complaint.id), action, target_type, target_id)
    }
}

/// Records the reads of sensitive and legal-hold complaints that this request
/// has not recorded yet (`complaint.viewed`, once per complaint per request,
/// however many fields or lookups touched it), in one transaction.
pub async fn record_reads(services: &Services, ctx: &RequestContext, complaints: &[&complaint::Model]) -> AppResult<()> {
    let unrecorded: Vec<&complaint::Model> = {
        let mut seen = ctx.audited_reads.lock().map_err(|_| AppError::internal(anyhow::anyhow!("read log poisoned")))?;
        complaints.iter().copied().filter(|c| policy::reads_are_audited(&access(c)) && seen.insert(c.id)).collect()
    };
    if unrecorded.is_empty() {
        return Ok(());
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    for c in &unrecorded {
        uow.record(access_event(c, "complaint.viewed", "complaint", c.id)).await?;
    }
    let committed = uow.commit().await;
    if committed.is_err() {
        // Not recorded: let a retry within this request try again.
        if let Ok(mut seen) = ctx.audited_reads.lock() {
            for c in &unrecorded {
                seen.remove(&c.id);
            }
        }
    }
    committed
}

/// A complaint the caller may read, or `None` (whether or not it exists).
pub async fn find_visible(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Option<complaint::Model>> {
    let found = super::rows::one(&services.db, complaint::Entity::find_by_id(id)).await?;
    Ok(found.filter(|c| policy::can_read_complaint(actor, &access(c))))
}

/// A complaint by its human reference, if the caller may read it.
pub async fn find_visible_by_reference(
    services: &Services,
    actor: &Actor,
    reference: &str,
) -> AppResult<Option<complaint::Model>> {
    let found = complaint::Entity::find()
        .filter(complaint::Column::Reference.eq(reference.trim().to_ascii_uppercase()))
        .one(&services.db)
        .await?;
    Ok(found.filter(|c| policy::can_read_complaint(actor, &access(c))))
}

/// Filters of the complaint list; all given filters must match.
#[derive(InputObject, Debug, Default, Clone)]
pub struct ComplaintFilter {
    pub status: Option<Vec<ComplaintStatus>>,
    pub category: Option<Vec<Category>>,
    pub severity: Option<Vec<Severity>>,
    pub channel: Option<Vec<Channel>>,
    pub tier: Option<Vec<Tier>>,
    pub team_id: Option<ID>,
    pub assignee_id: Option<ID>,
    /// Only complaints with (true) or without (false) an assignee.
    pub assigned: Option<bool>,
    pub sensitive: Option<bool>,
    pub legal_hold: Option<bool>,
    pub vulnerable_customer: Option<bool>,
    pub media_attention: Option<bool>,
    pub group_complaint: Option<bool>,
    /// Open complaints past a deadline, or already marked breached.
    pub overdue: Option<bool>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    /// Case-insensitive text in the title, description, reference or order reference.
    pub search: Option<String>,
    /// The product or service, exactly (case-insensitive).
    pub product_or_service: Option<String>,
    /// The location, exactly (case-insensitive).
    pub location: Option<String>,
    /// Members of this group complaint.
    pub group_id: Option<ID>,
}

/// The SQL condition of what `actor` may read.
pub fn scope_condition(actor: &Actor) -> Condition {
    match policy::complaint_read_scope(actor) {
        ReadScope::All => Condition::all(),
        // A primary key is never null: matches nothing.
        ReadScope::Nothing => Condition::all().add(complaint::Column::Id.is_null()),
        ReadScope::Agent { user_id, team_id } => {
            let mut visible = Condition::any().add(complaint::Column::AssigneeId.eq(user_id));
            if let Some(team) = team_id {
                visible = visible
                    .add(Condition::all().add(complaint::Column::TeamId.eq(team)).add(complaint::Column::Sensitive.eq(false)))
                    .add(assisted_by(team));
            }
            Condition::all().add(complaint::Column::LegalHold.eq(false)).add(visible)
        }
    }
}

/// The SQL form of "`team` has an open work item on the complaint" (the
/// policy's assisting read): the sorted UUID list in `assisting_teams` names it.
pub fn assisted_by(team: Uuid) -> SimpleExpr {
    // A UUID's text has no LIKE wildcards, and one never contains another.
    complaint::Column::AssistingTeams.like(format!("%{team}%"))
}

/// The SQL condition of a filter.
pub fn filter_condition(filter: &ComplaintFilter, now: DateTime<Utc>, backend: DbBackend) -> AppResult<Condition> {
    fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
        values.iter().map(|v| name(*v)).collect()
    }
    let mut cond = Condition::all();
    if let Some(values) = &filter.status {
        cond = cond.add(complaint::Column::Status.is_in(names(values, ComplaintStatus::as_str)));
    }
    if let Some(values) = &filter.category {
        cond = cond.add(complaint::Column::Category.is_in(names(values, Category::as_str)));
    }
    if let Some(values) = &filter.severity {
        cond = cond.add(complaint::Column::Severity.is_in(names(values, Severity::as_str)));
    }
    if let Some(values) = &filter.channel {
        cond = cond.add(complaint::Column::Channel.is_in(names(values, Channel::as_str)));
    }
    if let Some(values) = &filter.tier {
        cond = cond.add(complaint::Column::Tier.is_in(names(values, Tier::as_str)));
    }
    if let Some(team) = ids::decode_opt(Kind::Team, "filter.teamId", filter.team_id.as_ref())? {
        cond = cond.add(complaint::Column::TeamId.eq(team));
    }
    if let Some(user) = ids::decode_opt(Kind::User, "filter.assigneeId", filter.assignee_id.as_ref())? {
        cond = cond.add(complaint::Column::AssigneeId.eq(user));
    }
    if let Some(assigned) = filter.assigned {
        cond = cond.add(if assigned {
            complaint::Column::AssigneeId.is_not_null()
        } else {
            complaint::Column::AssigneeId.is_null()
        });
    }
    for (value, column) in [
        (filter.sensitive, complaint::Column::Sensitive),
        (filter.legal_hold, complaint::Column::LegalHold),
        (filter.vulnerable_customer, complaint::Column::VulnerableCustomer),
        (filter.media_attention, complaint::Column::MediaAttention),
        (filter.group_complaint, complaint::Column::GroupComplaint),
    ] {
        if let Some(value) = value {
            cond = cond.add(column.eq(value));
        }
    }
    if let Some(overdue) = filter.overdue {
        let open = complaint::Column::Status
            .is_not_in([ComplaintStatus::Resolved.as_str(), ComplaintStatus::Closed.as_str()]);
        let late = Condition::any()
            .add(complaint::Column::SlaBreached.eq(true))
            .add(
                Condition::all().add(open.clone()).add(complaint::Column::ResolutionDue.lt(now)),
            )
            .add(
                Condition::all()
                    .add(open)
                    .add(complaint::Column::AcknowledgedAt.is_null())
                    .add(complaint::Column::FirstResponseDue.lt(now)),
            );
        cond = cond.add(if overdue { late } else { late.not() });
    }
    if let Some(from) = filter.created_from {
        cond = cond.add(complaint::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        cond = cond.add(complaint::Column::CreatedAt.lt(to));
    }
    if let Some(from) = filter.occurred_from {
        cond = cond.add(complaint::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.occurred_to {
        cond = cond.add(complaint::Column::OccurredAt.lt(to));
    }
    for (value, column, field) in [
        (&filter.product_or_service, complaint::Column::ProductOrService, "filter.productOrService"),
        (&filter.location, complaint::Column::Location, "filter.location"),
    ] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            if value.chars().count() > limits::NAME {
                return Err(AppError::validation(field, "is too long"));
            }
            cond = cond.add(Expr::expr(Func::lower(Expr::col(column))).eq(value.to_lowercase()));
        }
    }
    if let Some(group) = ids::decode_opt(Kind::Group, "filter.groupId", filter.group_id.as_ref())? {
        cond = cond.add(complaint::Column::GroupId.eq(group));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > limits::SHORT {
            return Err(AppError::validation("filter.search", "is too long"));
        }
        // Shorter terms match most rows and cannot use the trigram index.
        if search.chars().count() < MIN_SEARCH_CHARS {
            return Err(AppError::validation("filter.search", format!("needs at least {MIN_SEARCH_CHARS} characters")));
        }
        cond = cond.add(search_condition(search, backend));
    }
    Ok(cond)
}

/// Complaints whose title, description, reference or order reference contains
/// `term` (three characters or more), ignoring case. PostgreSQL: `lower(column)
/// LIKE '%term%'`, served by the pg_trgm indexes. SQLite: a phrase query on
/// the FTS5 trigram table `complaint_search` (kept in step by triggers), which
/// matches the same substrings through its index.
fn search_condition(term: &str, backend: DbBackend) -> Condition {
    if backend == DbBackend::Sqlite {
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        let matching = sea_orm::sea_query::Query::select()
            .column(sea_orm::sea_query::Alias::new("complaint_id"))
            .from(sea_orm::sea_query::Alias::new("complaint_search"))
            .and_where(Expr::cust_with_values(
                "complaint_search MATCH ?",
                [format!("{{title description reference order_reference}} : {phrase}")],
            ))
            .to_owned();
        return Condition::all().add(complaint::Column::Id.in_subquery(matching));
    }
    let escaped = term.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let like = |column: complaint::Column| -> SimpleExpr {
        Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern.clone()).escape('\\'))
    };
    Condition::any()
        .add(like(complaint::Column::Title))
        .add(like(complaint::Column::Description))
        .add(like(complaint::Column::Reference))
        .add(like(complaint::Column::OrderReference))
}

/// The sort keys a list can use; each is paired with the id for a stable order.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ComplaintOrderField {
    /// When the complaint was recorded.
    #[default]
    CreatedAt,
    /// When it last changed.
    UpdatedAt,
    /// Its resolution deadline.
    ResolutionDue,
}

/// Sort direction.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    Asc,
    #[default]
    Desc,
}

/// How to order the complaint list (default: newest first).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct ComplaintOrder {
    #[graphql(default)]
    pub field: ComplaintOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl ComplaintOrderField {
    fn column(self) -> complaint::Column {
        match self {
            ComplaintOrderField::CreatedAt => complaint::Column::CreatedAt,
            ComplaintOrderField::UpdatedAt => complaint::Column::UpdatedAt,
            ComplaintOrderField::ResolutionDue => complaint::Column::ResolutionDue,
        }
    }

    pub fn key(self, c: &complaint::Model) -> DateTime<Utc> {
        match self {
            ComplaintOrderField::CreatedAt => c.created_at,
            ComplaintOrderField::UpdatedAt => c.updated_at,
            ComplaintOrderField::ResolutionDue => c.resolution_due,
        }
    }
}

/// A position in a keyset-ordered list: the sort key and id of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of rows ordered ascending by `(key, id)`, strictly after `after`:
/// at most `limit` rows, and whether more follow. `filter` narrows the rows.
pub(crate) async fn ascending_page<E>(
    services: &Services,
    filter: Condition,
    key: E::Column,
    id: E::Column,
    after: Option<Cursor>,
    limit: u64,
) -> AppResult<(Vec<E::Model>, bool)>
where
    E: EntityTrait,
{
    let mut cond = filter;
    if let Some(cursor) = after {
        cond = cond.add(
            Condition::any()
                .add(key.gt(cursor.key))
                .add(Condition::all().add(key.eq(cursor.key)).add(id.gt(cursor.id))),
        );
    }
    let mut rows = E::find().filter(cond).order_by_asc(key).order_by_asc(id).limit(limit + 1).all(&services.db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// One page of a keyset walk.
pub struct PageRequest {
    pub order: ComplaintOrder,
    /// Rows strictly after this position in `order`.
    pub after: Option<Cursor>,
    /// Rows strictly before this position in `order`.
    pub before: Option<Cursor>,
    /// How many rows, and from which end.
    pub limit: u64,
    pub from_end: bool,
}

/// A page of complaints visible to `actor`, plus whether more exist beyond it.
pub async fn list(
    services: &Services,
    actor: &Actor,
    condition: Condition,
    page: &PageRequest,
) -> AppResult<(Vec<complaint::Model>, bool)> {
    let column = page.order.field.column();
    let ascending = page.order.direction == OrderDirection::Asc;
    // Rows after a cursor in the list's order.
    let beyond = |cursor: Cursor, forward: bool| {
        let later = ascending == forward;
        let (key_cmp, id_cmp) = if later {
            (column.gt(cursor.key), complaint::Column::Id.gt(cursor.id))
        } else {
            (column.lt(cursor.key), complaint::Column::Id.lt(cursor.id))
        };
        Condition::any().add(key_cmp).add(Condition::all().add(column.eq(cursor.key)).add(id_cmp))
    };
    let mut cond = Condition::all().add(scope_condition(actor)).add(condition);
    if let Some(after) = page.after {
        cond = cond.add(beyond(after, true));
    }
    if let Some(before) = page.before {
        cond = cond.add(beyond(before, false));
    }
    // Walking from the end reverses the order, then the page is flipped back.
    let sql_ascending = ascending != page.from_end;
    let order = if sql_ascending { sea_orm::Order::Asc } else { sea_orm::Order::Desc };
    let select = complaint::Entity::find()
        .filter(cond)
        .order_by(column, order.clone())
        .order_by(complaint::Column::Id, order)
        .limit(page.limit + 1);
    let mut rows = super::rows::all(&services.db, select).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    if page.from_end {
        rows.reverse();
    }
    Ok((rows, more))
}

/// How many complaints match, within what `actor` may read.
pub async fn count(services: &Services, actor: &Actor, condition: Condition) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(complaint::Entity::find()
        .filter(Condition::all().add(scope_condition(actor)).add(condition))
        .count(&services.db)
        .await?)
}

// ---------------------------------------------------------------- batch loads

pub async fn customers_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<customer::Model>> {
    Ok(super::rows::all(&services.db, customer::Entity::find().filter(customer::Column::Id.is_in(ids.iter().copied()))).await?)
}

pub async fn complaints_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<complaint::Model>> {
    Ok(super::rows::all(&services.db, complaint::Entity::find().filter(complaint::Column::Id.is_in(ids.iter().copied()))).await?)
}

pub async fn notes_by_complaints(services: &Services, ids: &[Uuid]) -> AppResult<Vec<note::Model>> {
    Ok(note::Entity::find()
        .filter(note::Column::ComplaintId.is_in(ids.iter().copied()))
        .order_by_asc(note::Column::CreatedAt)
        .order_by_asc(note::Column::Id)
        .all(&services.db)
        .await?)
}

/// Links where any of `ids` is either side.
pub async fn links_by_complaints(services: &Services, ids: &[Uuid]) -> AppResult<Vec<complaint_link::Model>> {
    Ok(complaint_link::Entity::find()
        .filter(
            Condition::any()
                .add(complaint_link::Column::ComplaintId.is_in(ids.iter().copied()))
                .add(complaint_link::Column::LinkedId.is_in(ids.iter().copied())),
        )
        .order_by_asc(complaint_link::Column::CreatedAt)
        .all(&services.db)
        .await?)
}
