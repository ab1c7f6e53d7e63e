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
use crate::{
    audit::{ChainKey, Changes, NewEvent, Sensitivity},
    auth::Actor,
    domain::{
        Category, Channel, ComplaintStatus, Demand, Emotion, LinkKind, NoteVisibility, RootCause, Severity, Tier,
        Transition,
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
    /// Exact amount; above the proposer's authority it needs approval.
    pub compensation_amount: Option<Decimal>,
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
    ComplaintAccess { team_id: c.team_id, assignee_id: c.assignee_id, sensitive: c.sensitive, legal_hold: c.legal_hold }
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
    let found = complaint::Entity::find_by_id(id).one(&services.db).await?;
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
                visible = visible.add(
                    Condition::all().add(complaint::Column::TeamId.eq(team)).add(complaint::Column::Sensitive.eq(false)),
                );
            }
            Condition::all().add(complaint::Column::LegalHold.eq(false)).add(visible)
        }
    }
}

/// The SQL condition of a filter.
pub fn filter_condition(filter: &ComplaintFilter, now: DateTime<Utc>) -> AppResult<Condition> {
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
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > limits::SHORT {
            return Err(AppError::validation("filter.search", "is too long"));
        }
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let like = |column: complaint::Column| -> SimpleExpr {
            Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        cond = cond.add(
            Condition::any()
                .add(like(complaint::Column::Title))
                .add(like(complaint::Column::Description))
                .add(like(complaint::Column::Reference))
                .add(like(complaint::Column::OrderReference)),
        );
    }
    Ok(cond)
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
    let mut rows = complaint::Entity::find()
        .filter(cond)
        .order_by(column, order.clone())
        .order_by(complaint::Column::Id, order)
        .limit(page.limit + 1)
        .all(&services.db)
        .await?;
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

// ---------------------------------------------------------------- intake

/// Records a new complaint: validated, given its reference and SLA deadlines,
/// assigned (by default to the creator and their team), and audited.
#[tracing::instrument(skip_all)]
pub async fn create(services: &Services, ctx: &RequestContext, input: CreateComplaintInput) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    if !policy::can_create_complaint(actor) {
        return Err(AppError::forbidden("only agents and supervisors record complaints"));
    }
    let now = super::now();
    let customer = validate_customer("input.customer", &input.customer)?;
    let currency = Currency::parse("input.currency", input.currency.as_deref().unwrap_or(&services.settings.default_currency))?;
    let requested = input
        .requested_amount
        .map(|amount| Money::parse("input.requestedAmount", amount, currency))
        .transpose()?;
    let occurred_at = input
        .occurred_at
        .map(|at| validation::not_in_future("input.occurredAt", at, now))
        .transpose()?;

    let team_id = ids::decode_opt(Kind::Team, "input.teamId", input.team_id.as_ref())?.or(actor.team_id);
    let assignee_id = match ids::decode_opt(Kind::User, "input.assigneeId", input.assignee_id.as_ref())? {
        Some(user) => Some(user),
        None if actor.role == crate::domain::Role::Agent => Some(actor.user_id),
        None => None,
    };
    if actor.role == crate::domain::Role::Agent && team_id != actor.team_id {
        return Err(AppError::forbidden("agents record complaints for their own team"));
    }
    let tier = match team_id {
        Some(team) => team_tier(services, "input.teamId", team).await?,
        None => Tier::Tier1,
    };
    if let Some(user) = assignee_id {
        check_assignee(services, "input.assigneeId", user, team_id).await?;
    }
    let (first_response_due, resolution_due) = super::sla::deadlines(services, input.severity, input.category, now).await?;

    let customer = customer::Model {
        id: Uuid::now_v7(),
        name: customer.name,
        phone: customer.phone,
        email: customer.email,
        created_at: now,
    };
    let mut complaint = complaint::Model {
        id: Uuid::now_v7(),
        reference: String::new(),
        status: ComplaintStatus::New.as_str().to_owned(),
        channel: input.channel.as_str().to_owned(),
        category: input.category.as_str().to_owned(),
        severity: input.severity.as_str().to_owned(),
        title: validation::required_text("input.title", &input.title, limits::TITLE)?,
        description: validation::required_text("input.description", &input.description, limits::TEXT)?,
        customer_id: customer.id,
        core_demand: input.core_demand.as_str().to_owned(),
        requested_amount: requested.map(|m| m.amount_text()),
        currency: currency.code().to_owned(),
        emotion: input.emotion.as_str().to_owned(),
        order_reference: validation::optional_text("input.orderReference", input.order_reference.as_deref(), limits::REFERENCE)?,
        occurred_at,
        tier: tier.as_str().to_owned(),
        team_id,
        assignee_id,
        created_by: actor.user_id,
        sensitive: false,
        vulnerable_customer: false,
        media_attention: false,
        group_complaint: false,
        legal_hold: false,
        root_cause: None,
        responsibility: None,
        finding_summary: None,
        resolution_summary: None,
        compensation_amount: None,
        compensation_currency: None,
        remedies: None,
        preventive_measures: None,
        customer_accepted: None,
        customer_decision_note: None,
        resolution_note: None,
        callback_reached: None,
        satisfied: None,
        satisfaction_score: None,
        callback_comment: None,
        close_reason: None,
        reopen_count: 0,
        first_response_due,
        resolution_due,
        sla_breached: false,
        first_response_breached: false,
        resolution_breached: false,
        acknowledged_at: None,
        resolved_at: None,
        closed_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    complaint.reference = validation::complaint_reference(now.year(), next_reference_number(&uow).await?);
    customer::Entity::insert(customer.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    complaint::Entity::insert(complaint.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = diff(None, &complaint)
        .set("customer.name", customer.name.clone())
        .set("customer.phone", customer.phone.clone())
        .set("customer.email", customer.email.clone());
    uow.record(event(&complaint, "complaint.created", changes)).await?;
    uow.commit().await?;
    Ok(complaint)
}

struct ValidCustomer {
    name: String,
    phone: Option<String>,
    email: Option<String>,
}

fn validate_customer(field: &'static str, input: &CustomerInput) -> AppResult<ValidCustomer> {
    let (name_field, phone_field, email_field) = match field {
        "input.customer" => ("input.customer.name", "input.customer.phone", "input.customer.email"),
        _ => ("customer.name", "customer.phone", "customer.email"),
    };
    Ok(ValidCustomer {
        name: validation::required_text(name_field, &input.name, limits::NAME)?,
        phone: match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(phone) => Some(validation::phone(phone_field, phone)?),
            None => None,
        },
        email: match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) => Some(Email::parse(email_field, email)?.into_string()),
            None => None,
        },
    })
}

/// The next reference number: a sequence on PostgreSQL (gap-tolerant, no lock
/// shared by all intakes); on SQLite the write lock already serialises intake.
async fn next_reference_number(uow: &UnitOfWork) -> AppResult<i64> {
    let backend = uow.txn().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT nextval('complaint_reference_seq')",
        _ => "SELECT COALESCE(MAX(CAST(SUBSTR(reference, 10) AS INTEGER)), 0) + 1 FROM complaint",
    };
    let row = uow
        .txn()
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no reference number")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

pub(crate) async fn team_tier(services: &Services, field: &'static str, team: Uuid) -> AppResult<Tier> {
    let team = team::Entity::find_by_id(team).one(&services.db).await?.ok_or(AppError::validation(field, "no such team"))?;
    crate::error::stored(&team.tier)
}

async fn check_assignee(services: &Services, field: &'static str, user: Uuid, team: Option<Uuid>) -> AppResult<()> {
    let user = app_user::Entity::find_by_id(user).one(&services.db).await?;
    match user {
        Some(user) if user.active && matches!(user.role.as_str(), "AGENT" | "SUPERVISOR" | "LEGAL") => {
            if user.role == "AGENT" && team.is_some() && user.team_id != team {
                return Err(AppError::validation(field, "the assignee is not a member of the complaint's team"));
            }
            Ok(())
        }
        Some(_) => Err(AppError::validation(field, "this user cannot work complaints")),
        None => Err(AppError::validation(field, "no such user")),
    }
}

// ---------------------------------------------------------------- work

/// Loads a complaint the caller may work, or the error the policy calls for.
pub(crate) async fn load_for_work(services: &Services, actor: &Actor, id: Uuid) -> AppResult<complaint::Model> {
    let found = complaint::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    match policy::work_complaint(actor, &access(&found)) {
        Decision::Allow => Ok(found),
        Decision::Deny if found.legal_hold => {
            Err(AppError::forbidden("the complaint is under legal hold; only the legal team may change it"))
        }
        Decision::Deny => Err(AppError::forbidden("you may read this complaint but not work on it")),
        Decision::Hide => Err(AppError::NotFound("complaint")),
    }
}

pub(crate) fn check_version(c: &complaint::Model, expected: i32) -> AppResult<()> {
    if c.version != expected {
        return Err(AppError::stale("complaint"));
    }
    Ok(())
}

pub(crate) fn transition(c: &complaint::Model, t: Transition) -> AppResult<ComplaintStatus> {
    status(c)?.apply(t).map_err(|refused| AppError::InvalidTransition(refused.to_string()))
}

/// The audited field changes between two versions of a complaint.
pub(crate) fn diff(before: Option<&complaint::Model>, after: &complaint::Model) -> Changes {
    let as_map = |c: &complaint::Model| match serde_json::to_value(c) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let old = before.map(as_map).unwrap_or_default();
    let new = as_map(after);
    let mut changes = Changes::new();
    for (field, value) in new {
        if matches!(field.as_str(), "updatedAt" | "version") {
            continue;
        }
        let previous = old.get(&field).cloned().unwrap_or(Value::Null);
        changes = changes.field(&field, previous, value);
    }
    changes
}

pub(crate) fn event(c: &complaint::Model, action: &'static str, changes: Changes) -> NewEvent {
    NewEvent {
        complaint_id: Some(c.id),
        sensitivity: sensitivity(c),
        ..NewEvent::new(ChainKey::Complaint(c.id), action, "complaint", c.id).changes(changes)
    }
}

/// Writes `after` if the stored version is still `before.version`, bumping it.
/// The version guard is also the row lock that orders the complaint's audit chain.
pub(crate) async fn save(uow: &UnitOfWork, before: &complaint::Model, after: &mut complaint::Model) -> AppResult<()> {
    after.version = before.version + 1;
    after.updated_at = super::now();
    let mut active = after.clone().into_active_model().reset_all();
    active.id = NotSet;
    active.reference = NotSet;
    active.created_at = NotSet;
    active.created_by = NotSet;
    let updated = complaint::Entity::update_many()
        .set(active)
        .filter(complaint::Column::Id.eq(before.id))
        .filter(complaint::Column::Version.eq(before.version))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::stale("complaint"));
    }
    Ok(())
}

/// The common tail of every complaint mutation: save, audit, commit — and
/// store the escalation request the change raised, if any, in the same transaction.
#[allow(clippy::too_many_arguments)]
async fn commit_change(
    services: &Services,
    ctx: &RequestContext,
    before: &complaint::Model,
    mut after: complaint::Model,
    action: &'static str,
    reason: Option<String>,
    extra: Changes,
    raised: Option<entity::escalation::Model>,
) -> AppResult<complaint::Model> {
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, before, &mut after).await?;
    let mut changes = diff(Some(before), &after).merge(extra);
    if let Some(request) = &raised {
        super::escalations::insert(&uow, request).await?;
        changes = changes.merge(super::escalations::requested_changes(request));
    }
    uow.record(event(&after, action, changes).reason(reason)).await?;
    if let Some(request) = &raised {
        uow.escalation_raised(request.id);
    }
    uow.commit().await?;
    Ok(after)
}

/// Corrects intake data. A new severity recomputes the SLA deadlines from creation.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn update(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: UpdateComplaintInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    if !status(&before)?.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "cannot edit a complaint that is {}; reopen it first",
            before.status
        )));
    }
    let mut after = before.clone();
    if let Some(v) = input.channel {
        after.channel = v.as_str().to_owned();
    }
    if let Some(v) = input.category {
        after.category = v.as_str().to_owned();
    }
    if let Some(v) = input.severity {
        after.severity = v.as_str().to_owned();
    }
    if let Some(v) = &input.title {
        after.title = validation::required_text("input.title", v, limits::TITLE)?;
    }
    if let Some(v) = &input.description {
        after.description = validation::required_text("input.description", v, limits::TEXT)?;
    }
    if let Some(v) = input.core_demand {
        after.core_demand = v.as_str().to_owned();
    }
    if let Some(v) = input.emotion {
        after.emotion = v.as_str().to_owned();
    }
    if let Some(v) = &input.currency {
        after.currency = Currency::parse("input.currency", v)?.code().to_owned();
    }
    let currency = Currency::parse("input.currency", &after.currency)?;
    if let Some(amount) = input.requested_amount {
        after.requested_amount = Some(Money::parse("input.requestedAmount", amount, currency)?.amount_text());
    } else if let Some(amount) = &after.requested_amount {
        // A new currency must still fit the stored amount's precision.
        let amount: Decimal = amount.parse().map_err(AppError::internal)?;
        after.requested_amount = Some(Money::parse("input.currency", amount, currency)?.amount_text());
    }
    if input.order_reference.is_some() {
        after.order_reference =
            validation::optional_text("input.orderReference", input.order_reference.as_deref(), limits::REFERENCE)?;
    }
    if let Some(at) = input.occurred_at {
        after.occurred_at = Some(validation::not_in_future("input.occurredAt", at, super::now())?);
    }
    if after.severity != before.severity || after.category != before.category {
        // Lowering the severity (or reclassifying) pushes deadlines back: a
        // supervisor's decision, never the handling agent's. Raising is fine.
        let lowered = crate::error::stored::<crate::domain::Severity>(&after.severity)?
            < crate::error::stored::<crate::domain::Severity>(&before.severity)?;
        if actor.role == crate::domain::Role::Agent && (lowered || after.category != before.category) {
            return Err(AppError::forbidden("lowering the severity or changing the category is a supervisor's decision"));
        }
        // Deadlines follow the policy of the new severity, counted from intake.
        let (first, resolve) =
            super::sla::deadlines(services, crate::error::stored(&after.severity)?, crate::error::stored(&after.category)?, before.created_at).await?;
        after.first_response_due = first;
        after.resolution_due = resolve;
    }
    let mut extra = Changes::new();
    if after.first_response_due != before.first_response_due || after.resolution_due != before.resolution_due {
        // The audit event names the deadlines before and after.
        extra = extra
            .field("firstResponseDue", before.first_response_due.to_rfc3339(), after.first_response_due.to_rfc3339())
            .field("resolutionDue", before.resolution_due.to_rfc3339(), after.resolution_due.to_rfc3339());
    }
    let customer_update = match &input.customer {
        Some(customer_input) => {
            let valid = validate_customer("input.customer", customer_input)?;
            let old = customer::Entity::find_by_id(before.customer_id)
                .one(&services.db)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("complaint without customer")))?;
            extra = extra
                .field("customer.name", old.name.clone(), valid.name.clone())
                .field("customer.phone", old.phone.clone(), valid.phone.clone())
                .field("customer.email", old.email.clone(), valid.email.clone());
            Some(customer::Model { name: valid.name, phone: valid.phone, email: valid.email, ..old })
        }
        None => None,
    };
    if diff(Some(&before), &after).is_empty() && extra.is_empty() {
        return Err(AppError::validation("input", "nothing to change"));
    }

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, &before, &mut after).await?;
    if let Some(customer) = customer_update {
        customer::Entity::update(customer.into_active_model().reset_all()).exec(uow.txn()).await?;
    }
    let changes = diff(Some(&before), &after).merge(extra);
    uow.record(event(&after, "complaint.updated", changes)).await?;
    uow.commit().await?;
    Ok(after)
}

/// Moves a complaint to a team and/or assignee. The tier follows the team.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn assign(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    assignee: Option<Uuid>,
    team: Option<Uuid>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = complaint::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    let target_team = team.or(before.team_id);
    match policy::assign_complaint(actor, &access(&before), target_team) {
        Decision::Allow => {}
        Decision::Deny => return Err(AppError::forbidden("you may not move this complaint there")),
        Decision::Hide => return Err(AppError::NotFound("complaint")),
    }
    check_version(&before, expected_version)?;
    if assignee.is_none() && team.is_none() {
        return Err(AppError::validation("assigneeId", "give an assignee, a team, or both"));
    }
    let mut after = before.clone();
    if let Some(team) = team {
        after.tier = team_tier(services, "teamId", team).await?.as_str().to_owned();
        after.team_id = Some(team);
        if assignee.is_none() {
            // A new team picks its own assignee.
            after.assignee_id = None;
        }
    }
    if let Some(user) = assignee {
        check_assignee(services, "assigneeId", user, after.team_id).await?;
        after.assignee_id = Some(user);
    }
    commit_change(services, ctx, &before, after, "complaint.assigned", None, Changes::new(), None).await
}

/// Acknowledges the complaint to the customer; stops the first-response clock.
/// The message, if any, is kept as a customer update note.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn acknowledge(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    message: Option<String>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let message = validation::optional_text("message", message.as_deref(), limits::TEXT)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Acknowledge)?.as_str().to_owned();
    after.acknowledged_at = Some(super::now());

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save(&uow, &before, &mut after).await?;
    let mut changes = diff(Some(&before), &after);
    if let Some(body) = message {
        let note = new_note(actor, id, body, NoteVisibility::CustomerUpdate);
        note::Entity::insert(note.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
        changes = changes.set("message", note.body).set("noteId", note.id.to_string());
    }
    uow.record(event(&after, "complaint.acknowledged", changes)).await?;
    uow.commit().await?;
    Ok(after)
}

/// Records the investigation's finding: root cause, responsibility, summary.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_finding(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: FindingInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::RecordFinding)?.as_str().to_owned();
    after.root_cause = Some(input.root_cause.as_str().to_owned());
    after.responsibility =
        validation::optional_text("input.responsibility", input.responsibility.as_deref(), limits::SHORT)?;
    after.finding_summary = Some(validation::required_text("input.summary", &input.summary, limits::TEXT)?);
    commit_change(services, ctx, &before, after, "complaint.finding_recorded", None, Changes::new(), None).await
}

/// Proposes a resolution. A compensation above the proposer's authority puts
/// the complaint in `PENDING_APPROVAL`.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn propose_resolution(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: ResolutionInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    if !policy::can_propose_compensation(actor) {
        return Err(AppError::forbidden("only agents and supervisors propose resolutions"));
    }
    let currency = Currency::parse("input.currency", input.currency.as_deref().unwrap_or(&before.currency))?;
    let compensation = input
        .compensation_amount
        .map(|amount| Money::parse("input.compensationAmount", amount, currency))
        .transpose()?;
    let authority = &services.settings.authority;
    let needs_approval =
        compensation.is_some_and(|m| !policy::within_authority(actor, m.amount, m.currency.code(), authority));
    let mut after = before.clone();
    let step = if needs_approval { Transition::ProposeForApproval } else { Transition::Propose };
    after.status = transition(&before, step)?.as_str().to_owned();
    after.resolution_summary = Some(validation::required_text("input.summary", &input.summary, limits::TEXT)?);
    after.compensation_amount = compensation.map(|m| m.amount_text());
    after.compensation_currency = compensation.map(|m| m.currency.code().to_owned());
    after.remedies = validation::optional_text("input.remedies", input.remedies.as_deref(), limits::TEXT)?;
    after.preventive_measures =
        validation::optional_text("input.preventiveMeasures", input.preventive_measures.as_deref(), limits::TEXT)?;
    after.customer_accepted = None;
    after.customer_decision_note = None;
    let extra = Changes::new().field("authorityLimit", Value::Null, format!("{} {}", actor.authority_limit, authority.currency));
    let raised = match compensation.filter(|_| needs_approval) {
        Some(money) => Some(super::escalations::new_request(
            &before,
            crate::domain::EscalationTrigger::ExceedsAuthority,
            status_tier(&before)?,
            format!(
                "compensation of {} {} exceeds the proposer's authority of {} {}{}",
                money.amount_text(),
                money.currency.code(),
                actor.authority_limit,
                authority.currency,
                match authority.convert(money.amount, money.currency.code()) {
                    Some(converted) if money.currency.code() != authority.currency =>
                        format!(" (≈ {} {})", converted.round_dp(2), authority.currency),
                    Some(_) => String::new(),
                    None => " (no conversion rate configured)".to_owned(),
                }
            ),
            Some(actor.user_id),
        )?),
        None => None,
    };
    commit_change(services, ctx, &before, after, "complaint.resolution_proposed", None, extra, raised).await
}

/// Records whether the customer accepted the proposed resolution.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_customer_decision(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    accepted: bool,
    note: Option<String>,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    let step = if accepted { Transition::CustomerAccepts } else { Transition::CustomerDeclines };
    after.status = transition(&before, step)?.as_str().to_owned();
    after.customer_accepted = Some(accepted);
    after.customer_decision_note = validation::optional_text("note", note.as_deref(), limits::TEXT)?;
    commit_change(services, ctx, &before, after, "complaint.customer_decided", None, Changes::new(), None).await
}

/// Marks the accepted resolution as carried out.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn resolve(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    summary: &str,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Resolve)?.as_str().to_owned();
    after.resolution_note = Some(validation::required_text("summary", summary, limits::TEXT)?);
    after.resolved_at = Some(super::now());
    commit_change(services, ctx, &before, after, "complaint.resolved", None, Changes::new(), None).await
}

/// Records the callback. Reached and satisfied closes the complaint; reached and
/// unsatisfied reopens it; not reached records the attempt only.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn record_callback(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: CallbackInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let score = input.score.map(|s| validation::satisfaction_score("input.score", s)).transpose()?;
    let comment = validation::optional_text("input.comment", input.comment.as_deref(), limits::TEXT)?;
    let mut after = before.clone();
    if input.reached {
        let step = if input.satisfied { Transition::CallbackSatisfied } else { Transition::CallbackUnsatisfied };
        let next = transition(&before, step)?;
        after.status = next.as_str().to_owned();
        after.satisfied = Some(input.satisfied);
        after.satisfaction_score = score;
        match next {
            ComplaintStatus::Closed => {
                after.closed_at = Some(super::now());
                after.close_reason = Some("customer satisfied at callback".to_owned());
            }
            _ => {
                after.reopen_count += 1;
                after.closed_at = None;
            }
        }
    } else {
        if status(&before)? != ComplaintStatus::Resolved {
            return Err(AppError::InvalidTransition(format!(
                "cannot record a callback on a complaint that is {}",
                before.status
            )));
        }
        if score.is_some() {
            return Err(AppError::validation("input.score", "a customer who was not reached gives no score"));
        }
    }
    after.callback_reached = Some(input.reached);
    after.callback_comment = comment;
    commit_change(services, ctx, &before, after, "complaint.callback_recorded", None, Changes::new(), None).await
}

/// Closes a complaint with a reason (after resolution, or as withdrawn/duplicate).
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn close(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    reason: &str,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Close)?.as_str().to_owned();
    after.close_reason = Some(reason.clone());
    after.closed_at = Some(super::now());
    commit_change(services, ctx, &before, after, "complaint.closed", Some(reason), Changes::new(), None).await
}

/// Reopens a resolved or closed complaint.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn reopen(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    reason: &str,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    let mut after = before.clone();
    after.status = transition(&before, Transition::Reopen)?.as_str().to_owned();
    after.reopen_count += 1;
    after.closed_at = None;
    after.close_reason = None;
    commit_change(services, ctx, &before, after, "complaint.reopened", Some(reason), Changes::new(), None).await
}

/// Sets or clears flags. Only supervisors and legal may mark or unmark sensitive.
#[tracing::instrument(skip_all, fields(complaint = %id))]
pub async fn set_flags(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: FlagsInput,
) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    let before = load_for_work(services, actor, id).await?;
    check_version(&before, expected_version)?;
    let mut after = before.clone();
    if let Some(sensitive) = input.sensitive.filter(|s| *s != before.sensitive) {
        if policy::mark_sensitive(actor, &access(&before)) != Decision::Allow {
            return Err(AppError::forbidden("only supervisors and legal mark complaints sensitive; ask one"));
        }
        after.sensitive = sensitive;
    }
    if let Some(v) = input.vulnerable_customer {
        after.vulnerable_customer = v;
    }
    if let Some(v) = input.media_attention {
        after.media_attention = v;
    }
    if let Some(v) = input.group_complaint {
        after.group_complaint = v;
    }
    if diff(Some(&before), &after).is_empty() {
        return Err(AppError::validation("input", "nothing to change"));
    }
    let flags = |c: &complaint::Model| ImpactFlags {
        vulnerable_customer: c.vulnerable_customer,
        media_attention: c.media_attention,
        group_complaint: c.group_complaint,
    };
    let raised = if escalation::raises_high_impact(flags(&before), flags(&after))
        && !super::escalations::pending_with_trigger(services, before.id, crate::domain::EscalationTrigger::HighImpact).await?
    {
        let raised_by: Vec<&str> = [
            (after.vulnerable_customer && !before.vulnerable_customer, "vulnerable customer"),
            (after.media_attention && !before.media_attention, "media attention"),
            (after.group_complaint && !before.group_complaint, "possible group complaint"),
        ]
        .into_iter()
        .filter_map(|(set, why)| set.then_some(why))
        .collect();
        Some(super::escalations::new_request(
            &before,
            crate::domain::EscalationTrigger::HighImpact,
            escalation::next_tier(status_tier(&before)?),
            format!("high impact: {}", raised_by.join(", ")),
            Some(actor.user_id),
        )?)
    } else {
        None
    };
    commit_change(services, ctx, &before, after, "complaint.flags_changed", None, Changes::new(), raised).await
}

// ---------------------------------------------------------------- notes and links

fn new_note(actor: &Actor, complaint: Uuid, body: String, visibility: NoteVisibility) -> note::Model {
    note::Model {
        id: Uuid::now_v7(),
        complaint_id: complaint,
        author_id: actor.user_id,
        body,
        visibility: visibility.as_str().to_owned(),
        created_at: super::now(),
    }
}

/// Bumps a complaint's version without other changes: notes and links change
/// the case without changing its row, but still extend its audit chain.
pub(crate) async fn touch(uow: &UnitOfWork, id: Uuid) -> AppResult<()> {
    complaint::Entity::update_many()
        .col_expr(complaint::Column::Version, Expr::col(complaint::Column::Version).add(1))
        .col_expr(complaint::Column::UpdatedAt, Expr::value(super::now()))
        .filter(complaint::Column::Id.eq(id))
        .exec(uow.txn())
        .await?;
    Ok(())
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
    touch(&uow, complaint_id).await?;
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
            created_at: super::now(),
        })
        .collect();
    if new_links.is_empty() {
        return Ok(complaints);
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    touch(&uow, primary.id).await?;
    complaint_link::Entity::insert_many(new_links.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec_without_returning(uow.txn())
        .await?;
    let linked: Vec<Value> = new_links.iter().map(|l| Value::String(l.linked_id.to_string())).collect();
    let changes = Changes::new().set("kind", kind.as_str()).set("linked", Value::Array(linked));
    uow.record(event(primary, "complaint.linked", changes)).await?;
    uow.commit().await?;
    // The primary's version moved; reload so callers see the current row.
    let refreshed = complaint::Entity::find()
        .filter(complaint::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(ids.iter().filter_map(|id| refreshed.iter().find(|c| c.id == *id).cloned()).collect())
}

// ---------------------------------------------------------------- batch loads

pub async fn customers_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<customer::Model>> {
    Ok(customer::Entity::find().filter(customer::Column::Id.is_in(ids.iter().copied())).all(&services.db).await?)
}

pub async fn complaints_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<complaint::Model>> {
    Ok(complaint::Entity::find().filter(complaint::Column::Id.is_in(ids.iter().copied())).all(&services.db).await?)
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
