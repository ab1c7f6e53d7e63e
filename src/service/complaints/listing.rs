//! Listing complaints: the filter, the caller's read scope, keyset pages in
//! a stable order, and the page with its to-one neighbours folded in.

use std::sync::LazyLock;

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, SimpleExpr},
};
use uuid::Uuid;

use super::{MIN_SEARCH_CHARS, nested, super::{Services, rows::{self, ColumnSet, FromRow}}};
use crate::{
    auth::Actor,
    domain::{
        Category, Channel, ComplaintStatus, Severity, Tier,
        policy::{self, ReadScope},
        validation::limits,
    },
    error::{AppError, AppResult},
    ids::{self, Kind},
};
use entity::{app_user, complaint, customer, escalation, note};
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

/// The column a sort key reads.
fn column_name(field: ComplaintOrderField) -> &'static str {
    match field {
        ComplaintOrderField::CreatedAt => "created_at",
        ComplaintOrderField::UpdatedAt => "updated_at",
        ComplaintOrderField::ResolutionDue => "resolution_due",
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
    let (rows, more) = list_with(services, actor, condition, page, Neighbours::default()).await?;
    Ok((rows.into_iter().map(|row| row.complaint).collect(), more))
}

/// What a page reads: the complaint columns its fields need, and the to-one
/// neighbours it carries in its own statement.
#[derive(Clone, Copy, Debug)]
pub struct Neighbours {
    /// The complaint columns to read; the others are left at their defaults
    /// in the returned models, which must then go nowhere but to callers that
    /// read only these (see `graphql::projection`). [`ColumnSet::ALL`] by default.
    pub columns: ColumnSet,
    pub customer: bool,
    pub assignee: bool,
    pub evidence_count: bool,
    pub latest_escalation: bool,
    /// All its notes and escalation requests, folded in as JSON on
    /// PostgreSQL (`nested`); ignored on SQLite, where the loaders read them.
    pub notes: bool,
    pub escalations: bool,
    /// The columns of the customer, the assignee and the newest request to
    /// read ([`ColumnSet::ALL`] by default; the models then hold defaults in
    /// the others, see `graphql::projection`).
    pub customer_columns: ColumnSet,
    pub assignee_columns: ColumnSet,
    pub escalation_columns: ColumnSet,
}

impl Default for Neighbours {
    fn default() -> Self {
        Neighbours {
            columns: ColumnSet::ALL,
            customer: false,
            assignee: false,
            evidence_count: false,
            latest_escalation: false,
            notes: false,
            escalations: false,
            customer_columns: ColumnSet::ALL,
            assignee_columns: ColumnSet::ALL,
            escalation_columns: ColumnSet::ALL,
        }
    }
}

/// The columns every page reads whatever its fields: the id, and what the
/// read policy and the audited-read check look at (`access`, `sensitivity`).
pub fn required_columns() -> ColumnSet {
    static REQUIRED: LazyLock<ColumnSet> = LazyLock::new(|| {
        ColumnSet::of::<complaint::Model>(&["team_id", "assignee_id", "sensitive", "legal_hold", "assisting_teams"])
            .expect("complaint columns")
    });
    *REQUIRED
}

/// A complaint of a page with the neighbours that were asked for.
pub struct Listed {
    pub complaint: complaint::Model,
    pub customer: Option<customer::Model>,
    pub assignee: Option<app_user::Model>,
    /// Live (not deleted) evidence; `None` when not asked for.
    pub evidence_count: Option<i64>,
    /// The newest escalation request (by request time, then id).
    pub latest_escalation: Option<escalation::Model>,
    /// All notes, oldest first; `None` when not folded in.
    pub notes: Option<Vec<note::Model>>,
    /// All escalation requests, oldest first; `None` when not folded in.
    pub escalations: Option<Vec<escalation::Model>>,
}

/// Column aliases of the folded neighbours: `cu__name`, `au__email`, ...
static CUSTOMER_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| prefixed("cu__", customer::Model::COLUMNS));
static ASSIGNEE_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| prefixed("au__", app_user::Model::COLUMNS));
static ESCALATION_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| prefixed("es__", escalation::Model::COLUMNS));
const EVIDENCE_COUNT: &str = "evidence_count";
const LATEST_ESCALATION_ID: &str = "latest_escalation_id";

fn prefixed(prefix: &str, columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| format!("{prefix}{c}")).collect()
}

/// [`list`], with the page's to-one neighbours read in the same statement:
/// the page is a subquery `p`, joined to its customer and assignee and to its
/// newest escalation request (on the index over `(complaint_id,
/// requested_at)`), with a correlated count of its evidence ([`fold`]). One
/// statement whatever the page size or the neighbours asked.
pub async fn list_with(
    services: &Services,
    actor: &Actor,
    condition: Condition,
    page: &PageRequest,
    with: Neighbours,
) -> AppResult<(Vec<Listed>, bool)> {
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
        .order_by(complaint::Column::Id, order.clone())
        .limit(page.limit + 1);
    // The cursor of each row needs its sort key.
    let key = ColumnSet::of::<complaint::Model>(&[column_name(page.order.field)]).expect("sort column");
    let with = Neighbours { columns: with.columns.union(key), ..with };
    let mut rows = fetch(services, select, with, Some((column, order))).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    if page.from_end {
        rows.reverse();
    }
    Ok((rows, more))
}

/// A complaint by ID with the neighbours asked for, in one statement (the
/// caller checks that it may be read).
pub async fn find_with(services: &Services, id: Uuid, with: Neighbours) -> AppResult<Option<Listed>> {
    Ok(fetch(services, complaint::Entity::find_by_id(id).limit(1), with, None).await?.pop())
}

/// Runs `select` with the neighbours folded in, keeping its order.
async fn fetch(
    services: &Services,
    select: sea_orm::Select<complaint::Entity>,
    with: Neighbours,
    order: Option<(complaint::Column, sea_orm::Order)>,
) -> AppResult<Vec<Listed>> {
    let backend = services.db.get_database_backend();
    let lists = backend == DbBackend::Postgres;
    let with = Neighbours {
        columns: with.columns.union(required_columns()),
        notes: with.notes && lists,
        escalations: with.escalations && lists,
        ..with
    };
    if !(with.customer || with.assignee || with.evidence_count || with.latest_escalation || with.notes || with.escalations) {
        return Ok(rows::partial(&services.db, select, with.columns).await?.into_iter().map(Listed::alone).collect());
    }
    let folded = fold(rows::narrow(select, with.columns).into_query(), with, order, backend);
    let found = services.db.query_all_raw(backend.build(&folded)).await?;
    let Some(first) = found.first() else { return Ok(Vec::new()) };
    let layout = PageLayout::find(first, with)?;
    let mut listed = Vec::with_capacity(found.len());
    for row in &found {
        listed.push(layout.decode(row)?);
    }
    Ok(listed)
}

/// `SELECT p.*, <neighbours> FROM (<select>) AS p ... ORDER BY <its order>`.
///
/// Each neighbour is found by an index lookup per row of the page, never by
/// scanning its table: on PostgreSQL a `LEFT JOIN LATERAL (… LIMIT 1)` (the
/// LIMIT keeps the planner from flattening it into a hash join over the
/// whole customer or escalation table); on SQLite, whose planner always
/// loops over the page and probes the primary key, plain LEFT JOINs, with the
/// newest request's id computed first as a correlated `LIMIT 1`.
fn fold(
    page: SelectStatement,
    with: Neighbours,
    order: Option<(complaint::Column, sea_orm::Order)>,
    backend: DbBackend,
) -> SelectStatement {
    let p = Alias::new("p");
    let newest_request = r#"(SELECT "e2"."id" FROM "escalation" AS "e2" WHERE "e2"."complaint_id" = "p"."id"
        ORDER BY "e2"."requested_at" DESC, "e2"."id" DESC LIMIT 1)"#;
    let lateral = backend == DbBackend::Postgres;
    let mut query = Query::select();
    if with.latest_escalation && !lateral {
        // SQLite: the page with its newest request's id, then joined by key.
        let mut inner = Query::select();
        inner
            .column((p.clone(), Asterisk))
            .expr_as(Expr::cust(newest_request), Alias::new(LATEST_ESCALATION_ID))
            .from_subquery(page, p.clone());
        query.from_subquery(inner, p.clone());
    } else {
        query.from_subquery(page, p.clone());
    }
    query.column((p.clone(), Asterisk));
    let join = |query: &mut SelectStatement, neighbour: rows::Neighbour<'_>| rows::join_neighbour(query, backend, &neighbour);
    if with.customer {
        join(&mut query, rows::Neighbour {
            table: "customer",
            alias: "cu",
            columns: customer::Model::COLUMNS,
            names: &CUSTOMER_COLUMNS,
            set: with.customer_columns,
            matching: r#""customer"."id" = "p"."customer_id""#,
            newest_by: &[],
            on_key: r#""cu"."id" = "p"."customer_id""#,
        });
    }
    if with.assignee {
        join(&mut query, rows::Neighbour {
            table: "app_user",
            alias: "au",
            columns: app_user::Model::COLUMNS,
            names: &ASSIGNEE_COLUMNS,
            set: with.assignee_columns,
            matching: r#""app_user"."id" = "p"."assignee_id""#,
            newest_by: &[],
            on_key: r#""au"."id" = "p"."assignee_id""#,
        });
    }
    if with.latest_escalation {
        let on_key = format!(r#""es"."id" = "p"."{LATEST_ESCALATION_ID}""#);
        join(&mut query, rows::Neighbour {
            table: "escalation",
            alias: "es",
            columns: escalation::Model::COLUMNS,
            names: &ESCALATION_COLUMNS,
            set: with.escalation_columns,
            matching: r#""escalation"."complaint_id" = "p"."id""#,
            newest_by: &["requested_at", "id"],
            // The newest request's id, computed in the inner select above.
            on_key: &on_key,
        });
    }
    if with.evidence_count {
        query.expr_as(
            Expr::cust(
                r#"(SELECT COUNT(*) FROM "evidence" AS "ev" WHERE "ev"."complaint_id" = "p"."id" AND "ev"."deleted_at" IS NULL)"#,
            ),
            Alias::new(EVIDENCE_COUNT),
        );
    }
    if with.notes {
        query.expr_as(Expr::cust(nested::NOTES_SQL), Alias::new(nested::NOTES));
    }
    if with.escalations {
        query.expr_as(Expr::cust(nested::ESCALATIONS_SQL), Alias::new(nested::ESCALATIONS));
    }
    if let Some((key, order)) = order {
        query.order_by((p.clone(), key), order.clone()).order_by((p, complaint::Column::Id), order);
    }
    query
}

impl Listed {
    fn alone(complaint: complaint::Model) -> Listed {
        Listed { complaint, customer: None, assignee: None, evidence_count: None, latest_escalation: None, notes: None, escalations: None }
    }
}

/// Where a folded page's complaint and neighbours sit in its rows (found once
/// per page, [`rows::Layout`]).
struct PageLayout {
    complaint: rows::Layout,
    customer: Option<rows::Layout>,
    assignee: Option<rows::Layout>,
    latest_escalation: Option<rows::Layout>,
    /// The position of the evidence count.
    evidence_count: Option<usize>,
    /// The positions of the folded lists (`nested`).
    notes: Option<usize>,
    escalations: Option<usize>,
}

impl PageLayout {
    fn find(row: &sea_orm::QueryResult, with: Neighbours) -> Result<PageLayout, sea_orm::DbErr> {
        let named = |asked: bool, names: &[String], set: ColumnSet| {
            asked.then(|| rows::Layout::find(row, set, set.pick(names).map(String::as_str))).transpose()
        };
        Ok(PageLayout {
            complaint: rows::Layout::of::<complaint::Model>(row, with.columns)?,
            customer: named(with.customer, &CUSTOMER_COLUMNS, with.customer_columns)?,
            assignee: named(with.assignee, &ASSIGNEE_COLUMNS, with.assignee_columns)?,
            latest_escalation: named(with.latest_escalation, &ESCALATION_COLUMNS, with.escalation_columns)?,
            evidence_count: with.evidence_count.then(|| rows::position(row, EVIDENCE_COUNT)).transpose()?,
            notes: with.notes.then(|| rows::position(row, nested::NOTES)).transpose()?,
            escalations: with.escalations.then(|| rows::position(row, nested::ESCALATIONS)).transpose()?,
        })
    }

    fn decode(&self, row: &sea_orm::QueryResult) -> Result<Listed, sea_orm::DbErr> {
        let complaint: complaint::Model = self.complaint.read_one(row)?;
        // A LEFT JOIN that found nothing gives NULLs: no assignee, no request.
        let customer = self.customer.as_ref().map(|l| l.read(row)).transpose()?.flatten();
        let assignee = match &self.assignee {
            Some(l) if complaint.assignee_id.is_some() => l.read(row)?,
            _ => None,
        };
        let latest_escalation = self.latest_escalation.as_ref().map(|l| l.read(row)).transpose()?.flatten();
        let evidence_count = self.evidence_count.map(|i| <i64 as rows::Column>::read_at(row, i)).transpose()?;
        let list = |at: Option<usize>| at.map(|i| <Option<String> as rows::Column>::read_at(row, i)).transpose();
        let notes = list(self.notes)?.map(|json| nested::notes(json.as_deref())).transpose()?;
        let escalations = list(self.escalations)?.map(|json| nested::escalations(json.as_deref())).transpose()?;
        Ok(Listed { complaint, customer, assignee, evidence_count, latest_escalation, notes, escalations })
    }
}

/// How many complaints match, within what `actor` may read.
pub async fn count(services: &Services, actor: &Actor, condition: Condition) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(complaint::Entity::find()
        .filter(Condition::all().add(scope_condition(actor)).add(condition))
        .count(&services.db)
        .await?)
}
