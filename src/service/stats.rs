//! Complaint analysis: the figures of `complaintStats`, `repeatComplaints` and
//! `casework report`, computed in the database.
//!
//! One request costs a constant number of statements whatever the number of
//! complaints: the main aggregate (one `GROUP BY`, which on PostgreSQL also
//! takes the 90th percentile with `percentile_disc`), on SQLite the 90th
//! percentile (a window function), the compensation totals (`GROUP BY` bucket
//! and currency) and, for TEAM and ASSIGNEE, one lookup of the names. All the aggregates
//! read the same per-complaint "facts" subquery ([`facts`]), so every figure
//! has one definition, and every definition is written so SQLite and
//! PostgreSQL compute the same integers:
//!
//! - durations are whole seconds between the whole-second epochs of two instants;
//! - averages, rates and percentiles are divided out in Rust from integer sums;
//! - money is summed exactly in minor units (amounts are stored with exactly the
//!   currency's decimals), then scaled back;
//! - calendar buckets (MONTH, WEEK, DAY in `CASEWORK_REPORT_TIMEZONE`) are
//!   boundaries computed in Rust ([`crate::domain::periods`]) and matched with a
//!   balanced `CASE` over bound instants, never a database time-zone function.
//!
//! The figures of the closed loop (issue 12) read its data: `repeatRate` the
//! repeat marker intake stores (`complaint.repeat_of_id`), `callbackReachRate`
//! the `callback_attempt` table (aggregated once per request for the range's
//! complaints, joined, never looked up per complaint), `firstContactResolutionRate`
//! and `closeOutcomes` the closure outcome (`complaint.close_outcome`). Each
//! takes its SQL from one function in [`sources`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, Statement,
    sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement},
};
use uuid::Uuid;

use super::Services;
use crate::{
    auth::Actor,
    domain::{
        periods::{self, Period, PeriodUnit},
        policy,
        enums::CloseOutcome,
        validation::Currency,
    },
    error::{AppError, AppResult},
    ids::{self, Kind},
};
use entity::{app_user, complaint, team};

/// What `complaintStats` groups by.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatsDimension {
    /// The complaint's category.
    Category,
    /// The channel it arrived by.
    Channel,
    /// Its severity.
    Severity,
    /// The team it is assigned to (`NONE`: no team).
    Team,
    /// The root cause found by the investigation (`NONE`: not yet found).
    RootCause,
    /// Calendar month of its creation, in `CASEWORK_REPORT_TIMEZONE`.
    Month,
    /// The agent it is assigned to (`NONE`: unassigned).
    Assignee,
    /// The support tier currently handling it.
    Tier,
    /// The customer's core demand.
    Demand,
    /// The customer's emotional state at intake.
    Emotion,
    /// ISO week (Monday to Sunday) of its creation, in `CASEWORK_REPORT_TIMEZONE`.
    Week,
    /// Calendar day of its creation, in `CASEWORK_REPORT_TIMEZONE`.
    Day,
}

impl StatsDimension {
    fn period_unit(self) -> Option<PeriodUnit> {
        match self {
            StatsDimension::Month => Some(PeriodUnit::Month),
            StatsDimension::Week => Some(PeriodUnit::Week),
            StatsDimension::Day => Some(PeriodUnit::Day),
            _ => None,
        }
    }

    /// The grouped column of a non-calendar dimension.
    fn column(self) -> Option<complaint::Column> {
        Some(match self {
            StatsDimension::Category => complaint::Column::Category,
            StatsDimension::Channel => complaint::Column::Channel,
            StatsDimension::Severity => complaint::Column::Severity,
            StatsDimension::Team => complaint::Column::TeamId,
            StatsDimension::RootCause => complaint::Column::RootCause,
            StatsDimension::Assignee => complaint::Column::AssigneeId,
            StatsDimension::Tier => complaint::Column::Tier,
            StatsDimension::Demand => complaint::Column::CoreDemand,
            StatsDimension::Emotion => complaint::Column::Emotion,
            StatsDimension::Month | StatsDimension::Week | StatsDimension::Day => return None,
        })
    }
}

/// How the complaints of a range are grouped: one bucket of everything, or by a dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    Total,
    By(StatsDimension),
}

/// An exact amount of money in one currency.
#[derive(async_graphql::SimpleObject, serde::Serialize, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "Money")]
pub struct MoneyTotal {
    /// Exact decimal amount, e.g. `"2000.00"`.
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

/// The figures of one group of complaints created in the requested range.
/// Rates are shares between 0 and 1, null when nothing was there to measure.
#[derive(async_graphql::SimpleObject, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsBucket {
    /// The group: an enum value (`LOGISTICS`), a team's or user's ID, a period
    /// (`2026-10`, `2026-W44`, `2026-10-31`), `NONE` for no value, `TOTAL` for everything.
    pub key: String,
    /// A readable name for the key.
    pub label: String,
    /// Complaints created in the range in this group.
    pub count: i64,
    /// Of those, how many are not yet resolved or closed.
    pub open_count: i64,
    /// Of those, how many are closed.
    pub closed_count: i64,
    /// Mean minutes from creation to acknowledgement, over acknowledged complaints.
    pub avg_first_response_minutes: Option<f64>,
    /// Mean hours from creation to (latest) resolution, over resolved complaints.
    pub avg_resolution_hours: Option<f64>,
    /// 90th percentile (nearest rank) of the hours to resolution.
    pub p90_resolution_hours: Option<f64>,
    /// Share of complaints that met both deadlines, of those whose deadlines
    /// are decided (both met, or one missed).
    pub sla_compliance: Option<f64>,
    /// Complaints whose first-response deadline was missed (or is past with no response).
    pub first_response_breached_count: i64,
    /// Complaints whose resolution deadline was missed (or is past with no resolution).
    pub resolution_breached_count: i64,
    /// Mean satisfaction score (1–5) of the callbacks that gave one.
    pub avg_satisfaction: Option<f64>,
    /// Callbacks that gave a satisfaction score.
    pub satisfaction_responses: i64,
    /// Share of satisfied customers among those asked.
    pub satisfied_rate: Option<f64>,
    /// Of the complaints with at least one callback attempt, the share where
    /// at least one attempt reached the customer.
    pub callback_reach_rate: Option<f64>,
    /// Share of complaints with an escalation request that was not rejected.
    pub escalation_rate: Option<f64>,
    /// Share of complaints reopened at least once.
    pub reopen_rate: Option<f64>,
    /// Share of complaints that intake marked as a repeat (`isRepeat`: the same
    /// customer complained within the repeat window before).
    pub repeat_rate: Option<f64>,
    /// Share of complaints closed with the outcome RESOLVED_AT_FIRST_CONTACT.
    pub first_contact_resolution_rate: Option<f64>,
    /// Complaints that are part of a group complaint.
    pub group_complaint_count: i64,
    /// Compensation accepted by customers, per currency (exact).
    pub compensation_totals: Vec<MoneyTotal>,
    /// How the closed complaints were closed: every outcome, in the order of
    /// `CloseOutcome`, with its count (zeros included). Closed complaints
    /// without an outcome (closed before the loop recorded one) are not listed.
    pub close_outcomes: Vec<OutcomeCount>,
}

/// How many complaints of a bucket were closed with one outcome.
#[derive(async_graphql::SimpleObject, serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct OutcomeCount {
    /// The closure outcome.
    #[serde(serialize_with = "outcome_name")]
    pub outcome: CloseOutcome,
    /// Complaints closed with it.
    pub count: i64,
}

fn outcome_name<S: serde::Serializer>(outcome: &CloseOutcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(outcome.as_str())
}

/// Which of the figures that join another table to compute (each is one
/// aggregate joined to the range's complaints); the resolver asks only for
/// those the query selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    /// `callbackReachRate`: the complaint's callback attempts.
    pub callback: bool,
    /// `escalationRate`: the complaint's escalations.
    pub escalation: bool,
}

impl Figures {
    pub const ALL: Figures = Figures { callback: true, escalation: true };
}

/// `[from, to)` after validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Range {
    /// `VALIDATION` when inverted, empty or longer than `max_days`.
    pub fn parse(from: DateTime<Utc>, to: DateTime<Utc>, max_days: u32) -> AppResult<Range> {
        if to <= from {
            return Err(AppError::validation("to", "must be later than from"));
        }
        if to - from > chrono::Duration::days(i64::from(max_days)) {
            return Err(AppError::validation("to", format!("the range may span at most {max_days} days")));
        }
        Ok(Range { from, to })
    }
}

/// `complaintStats`: the caller's figures (their scope, then the filter).
#[tracing::instrument(skip_all, fields(dimension = ?dimension))]
pub async fn complaint_stats(
    services: &Services,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dimension: StatsDimension,
    filter: Option<&super::complaints::ComplaintFilter>,
    figures: Figures,
) -> AppResult<Vec<StatsBucket>> {
    if policy::stats_scope(actor).is_none() {
        return Err(AppError::forbidden("administrators do not see complaint statistics"));
    }
    let range = Range::parse(from, to, services.settings.stats_max_days)?;
    let now = super::now();
    let mut condition = Condition::all().add(super::complaints::scope_condition(actor));
    if let Some(filter) = filter {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&services.db);
        condition = condition.add(super::complaints::filter_condition(filter, now, backend)?);
    }
    let txn = snapshot(&services.db).await?;
    let out = compute(&txn, services.settings.report_timezone, range, Grouping::By(dimension), condition, now, figures).await?;
    txn.commit().await?;
    Ok(out)
}

/// The read transaction statistics run in: one snapshot for every statement
/// of a request (repeatable read, read only, on PostgreSQL), without JIT
/// compilation, which costs more than it saves on sub-second analytic queries
/// (measured: about a second of compilation on a one-month query).
pub async fn snapshot(db: &sea_orm::DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
            // Sorting and hashing 100 000 rows spills to disk at the default 4 MB.
            txn.execute_unprepared("SET LOCAL jit = off").await?;
            txn.execute_unprepared("SET LOCAL work_mem = '64MB'").await?;
            // A parallel plan rebuilds the joined aggregates (callbacks,
            // escalations) in every worker: triple the work for one month.
            txn.execute_unprepared("SET LOCAL max_parallel_workers_per_gather = 0").await?;
            Ok(txn)
        }
        _ => db.begin().await,
    }
}

/// The figures of `range` grouped by `grouping`, over the complaints matching
/// `condition` (which must already hold the caller's scope).
pub async fn compute(
    db: &impl ConnectionTrait,
    tz: Tz,
    range: Range,
    grouping: Grouping,
    condition: Condition,
    now: DateTime<Utc>,
    figures: Figures,
) -> AppResult<Vec<StatsBucket>> {
    let backend = db.get_database_backend();
    let Statements { main, p90, money, periods } = statements(backend, tz, range, grouping, condition, now, figures);

    let read_key = |row: &QueryResult| -> AppResult<Key> { Key::read(row, grouping, periods.is_some()) };
    let mut buckets: HashMap<Key, StatsBucket> = HashMap::new();
    let mut sums: HashMap<Key, Sums> = HashMap::new();
    let mut p90s: HashMap<Key, i64> = HashMap::new();
    let p90_column = 1 + MAIN_SUMS.len() + 1 + CloseOutcome::ALL.len();
    for row in db.query_all_raw(main).await? {
        let key = read_key(&row)?;
        let mut values = [0i64; MAIN_SUMS.len() + 1];
        for (i, v) in values.iter_mut().enumerate() {
            *v = row.try_get_by_index::<i64>(i + 1)?;
        }
        let mut outcomes = Vec::with_capacity(CloseOutcome::ALL.len());
        for i in 0..CloseOutcome::ALL.len() {
            outcomes.push(row.try_get_by_index::<i64>(values.len() + 1 + i)?);
        }
        if p90.is_none() {
            if let Some(secs) = row.try_get_by_index::<Option<i64>>(p90_column)? {
                p90s.insert(key.clone(), secs);
            }
        }
        sums.insert(key, Sums(values, outcomes));
    }
    if let Some(p90) = p90 {
        for row in db.query_all_raw(p90).await? {
            p90s.insert(read_key(&row)?, row.try_get_by_index::<i64>(1)?);
        }
    }
    let mut money_by_key: HashMap<Key, Vec<MoneyTotal>> = HashMap::new();
    for row in db.query_all_raw(money).await? {
        let currency: String = row.try_get_by_index(1)?;
        let minor: i64 = row.try_get_by_index(2)?;
        let scale = Currency::parse("compensation_currency", &currency).map(|c| c.minor_units()).unwrap_or(2);
        money_by_key
            .entry(read_key(&row)?)
            .or_default()
            .push(MoneyTotal { amount: Decimal::new(minor, scale), currency });
    }

    let labels = labels(db, grouping, sums.keys()).await?;
    for (key, s) in &sums {
        let mut bucket = s.bucket(p90s.get(key).copied());
        bucket.compensation_totals = money_by_key.remove(key).unwrap_or_default();
        bucket.compensation_totals.sort_by(|a, b| a.currency.cmp(&b.currency));
        buckets.insert(key.clone(), bucket);
    }

    // Calendar dimensions list every period, empty ones with zeros, in order;
    // the others list the groups that have complaints, largest first.
    let out = match &periods {
        Some(periods) => periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut b = buckets.remove(&Key::Index(i as i64)).unwrap_or_default();
                b.key = p.key.clone();
                b.label = p.key.clone();
                b
            })
            .collect(),
        None => {
            let mut out: Vec<StatsBucket> = buckets
                .into_iter()
                .map(|(key, mut b)| {
                    b.key = key.public(grouping);
                    b.label = labels.get(&key).cloned().unwrap_or_else(|| humanize(&b.key));
                    b
                })
                .collect();
            if grouping == Grouping::Total && out.is_empty() {
                out.push(StatsBucket::default());
            }
            if grouping == Grouping::Total {
                out[0].key = "TOTAL".to_owned();
                out[0].label = "All complaints".to_owned();
            }
            out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            out
        }
    };
    // Empty buckets list every outcome too, with zeros.
    Ok(out
        .into_iter()
        .map(|mut b| {
            if b.close_outcomes.is_empty() {
                b.close_outcomes = CloseOutcome::ALL.iter().map(|o| OutcomeCount { outcome: *o, count: 0 }).collect();
            }
            b
        })
        .collect())
}

/// The statements of one request, and the calendar periods they bucket by.
pub struct Statements {
    /// Every count and sum per bucket; on PostgreSQL also the 90th percentile
    /// (its last column), as an ordered-set aggregate in the same pass.
    pub main: Statement,
    /// The 90th percentile per bucket where the database has no ordered-set
    /// aggregate (SQLite): a window function over a second scan.
    pub p90: Option<Statement>,
    pub money: Statement,
    pub periods: Option<Vec<Period>>,
}

/// Builds the statements of [`compute`] (public so the benchmark can show their plans).
pub fn statements(
    backend: DbBackend,
    tz: Tz,
    range: Range,
    grouping: Grouping,
    condition: Condition,
    now: DateTime<Utc>,
    figures: Figures,
) -> Statements {
    let periods = match grouping {
        Grouping::By(d) => d.period_unit().map(|unit| periods::periods(unit, tz, range.from, range.to)),
        Grouping::Total => None,
    };
    let key = bucket_key(grouping, periods.as_deref());
    let inner = |need: Need| -> Statement {
        backend.build(&facts(backend, key.clone(), range, condition.clone(), need, now, figures))
    };
    // Calendar keys are integer literals (int4 on PostgreSQL): read them as BIGINT.
    let key_sql = if periods.is_some() { "CAST(bucket_key AS BIGINT)" } else { "bucket_key" };
    // PostgreSQL computes the percentile in the main pass: `percentile_disc`
    // takes the value at rank ceil(0.9 * n), the nearest rank the window
    // statement picks with (9 * n + 9) / 10 (the same integer for every n up
    // to 3 000 000: the double 0.9 * n never rounds across an integer there;
    // `tests::percentile_disc_picks_the_same_nearest_rank_as_the_window_statement`).
    let p90_in_main = backend == DbBackend::Postgres;
    let p90_column = if p90_in_main {
        ", CAST(percentile_disc(0.9) WITHIN GROUP (ORDER BY res_secs) AS BIGINT)"
    } else {
        ""
    };
    let main = wrap(inner(Need::Main), |sql| {
        format!(
            "SELECT {key_sql}, COUNT(*), {}{p90_column} FROM ({sql}) f GROUP BY bucket_key",
            MAIN_SUMS
                .iter()
                .map(|s| (*s).to_owned())
                .chain(CloseOutcome::ALL.iter().map(|o| format!("CASE WHEN outcome = '{}' THEN 1 ELSE 0 END", o.as_str())))
                .map(|s| format!("CAST(COALESCE(SUM({s}), 0) AS BIGINT)"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let p90 = (!p90_in_main).then(|| wrap(inner(Need::Resolution), |sql| {
        format!(
            "SELECT {key_sql}, res_secs FROM (SELECT bucket_key, res_secs, \
             ROW_NUMBER() OVER (PARTITION BY bucket_key ORDER BY res_secs) AS rn, \
             COUNT(*) OVER (PARTITION BY bucket_key) AS cnt FROM ({sql}) f WHERE res_secs IS NOT NULL) r \
             WHERE rn = (9 * cnt + 9) / 10"
        )
    }));
    let money = wrap(inner(Need::Compensation), |sql| {
        format!(
            "SELECT {key_sql}, comp_currency, CAST(SUM(comp_minor) AS BIGINT) FROM ({sql}) f \
             WHERE comp_minor IS NOT NULL GROUP BY bucket_key, comp_currency"
        )
    });
    Statements { main, p90, money, periods }
}

/// The sums of the main statement, in the order of its columns after the key
/// and `COUNT(*)`.
const MAIN_SUMS: [&str; 21] = [
    "is_open",
    "is_closed",
    "CASE WHEN fr_secs IS NULL THEN 0 ELSE 1 END",
    "fr_secs",
    "CASE WHEN res_secs IS NULL THEN 0 ELSE 1 END",
    "res_secs",
    "CASE WHEN sla_missed = 1 OR sla_done = 1 THEN 1 ELSE 0 END",
    "CASE WHEN sla_missed = 0 AND sla_done = 1 THEN 1 ELSE 0 END",
    "fr_missed",
    "res_missed",
    "CASE WHEN score IS NULL THEN 0 ELSE 1 END",
    "score",
    "sat_known",
    "sat_yes",
    "cb_known",
    "cb_yes",
    "escalated",
    "reopened",
    "is_repeat",
    "fcr",
    "grouped",
];

/// A row of the main statement: `COUNT(*)`, then [`MAIN_SUMS`]; then the
/// count of each closure outcome, in the order of `CloseOutcome::ALL`.
struct Sums([i64; MAIN_SUMS.len() + 1], Vec<i64>);

impl Sums {
    fn bucket(&self, p90_secs: Option<i64>) -> StatsBucket {
        let close_outcomes =
            CloseOutcome::ALL.iter().zip(&self.1).map(|(o, n)| OutcomeCount { outcome: *o, count: *n }).collect();
        let [
            count,
            open,
            closed,
            fr_n,
            fr_sum,
            res_n,
            res_sum,
            sla_reached,
            sla_met,
            fr_missed,
            res_missed,
            score_n,
            score_sum,
            sat_known,
            sat_yes,
            cb_known,
            cb_yes,
            escalated,
            reopened,
            repeat,
            fcr,
            grouped,
        ] = self.0;
        let ratio = |num: i64, den: i64| (den > 0).then(|| num as f64 / den as f64);
        StatsBucket {
            count,
            open_count: open,
            closed_count: closed,
            avg_first_response_minutes: ratio(fr_sum, fr_n).map(|s| s / 60.0),
            avg_resolution_hours: ratio(res_sum, res_n).map(|s| s / 3600.0),
            p90_resolution_hours: p90_secs.map(|s| s as f64 / 3600.0),
            sla_compliance: ratio(sla_met, sla_reached),
            first_response_breached_count: fr_missed,
            resolution_breached_count: res_missed,
            avg_satisfaction: ratio(score_sum, score_n),
            satisfaction_responses: score_n,
            satisfied_rate: ratio(sat_yes, sat_known),
            callback_reach_rate: ratio(cb_yes, cb_known),
            escalation_rate: ratio(escalated, count),
            reopen_rate: ratio(reopened, count),
            repeat_rate: ratio(repeat, count),
            first_contact_resolution_rate: ratio(fcr, count),
            group_complaint_count: grouped,
            close_outcomes,
            ..StatsBucket::default()
        }
    }
}

/// Which columns of the facts subquery a statement needs (the percentile and
/// money statements skip the costly `EXISTS` columns).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Main,
    Resolution,
    Compensation,
}

fn col(name: &str) -> String {
    format!("\"complaint\".\"{name}\"")
}

/// Whole seconds since the epoch of a timestamp column, the same integer on both databases.
fn epoch(backend: DbBackend, column: &str) -> String {
    match backend {
        // `date_part` (double precision), not `EXTRACT` (numeric since
        // PostgreSQL 14): numeric arithmetic on four timestamps per row was a
        // sixth of the main statement. The floor is the same integer: a
        // microsecond fraction is at least 1e-6 from the next second, far
        // more than a double's rounding error at today's epochs (2.4e-7).
        DbBackend::Postgres => format!("CAST(FLOOR(date_part('epoch', {})) AS BIGINT)", col(column)),
        _ => format!("CAST(strftime('%s', {}) AS INTEGER)", col(column)),
    }
}

fn seconds_between(backend: DbBackend, start: &str, end: &str) -> Expr {
    Expr::cust(format!(
        "CASE WHEN {end_col} IS NULL THEN NULL ELSE {} - {} END",
        epoch(backend, end),
        epoch(backend, start),
        end_col = col(end)
    ))
}

fn flag(sql: String) -> Expr {
    Expr::cust(format!("CASE WHEN {sql} THEN 1 ELSE 0 END"))
}

fn when(condition: Condition) -> Expr {
    Expr::case(condition, 1).finally(0).into()
}

/// The per-complaint facts every figure is computed from: one row per complaint
/// created in the range, within `condition`.
fn facts(
    backend: DbBackend,
    key: Expr,
    range: Range,
    condition: Condition,
    need: Need,
    now: DateTime<Utc>,
    figures: Figures,
) -> SelectStatement {
    use complaint::Column as C;
    let mut q = Query::select();
    q.from(complaint::Entity).expr_as(key, Alias::new("bucket_key")).cond_where(
        Condition::all().add(C::CreatedAt.gte(range.from)).add(C::CreatedAt.lt(range.to)).add(condition),
    );
    let column = |c: C| Expr::col((complaint::Entity, c));
    match need {
        Need::Resolution => {
            q.expr_as(seconds_between(backend, "created_at", "resolved_at"), Alias::new("res_secs"));
        }
        Need::Compensation => {
            q.expr_as(Expr::cust(col("compensation_currency")), Alias::new("comp_currency")).expr_as(
                Expr::cust(format!(
                    "CASE WHEN {accepted} AND {amount} IS NOT NULL \
                     THEN CAST(REPLACE({amount}, '.', '') AS BIGINT) END",
                    accepted = sources::compensation_granted(),
                    amount = col("compensation_amount")
                )),
                Alias::new("comp_minor"),
            );
        }
        Need::Main => {
            // A deadline is missed when the SLA monitor marked it, when the work
            // came after it, or when it has passed with the work still undone.
            let fr_missed = Condition::any()
                .add(C::FirstResponseBreached.eq(true))
                .add(column(C::AcknowledgedAt).gt(column(C::FirstResponseDue)))
                .add(Condition::all().add(C::AcknowledgedAt.is_null()).add(C::FirstResponseDue.lte(now)));
            let res_missed = Condition::any()
                .add(C::ResolutionBreached.eq(true))
                .add(column(C::ResolvedAt).gt(column(C::ResolutionDue)))
                .add(Condition::all().add(C::ResolvedAt.is_null()).add(C::ResolutionDue.lte(now)));
            let done = Condition::all().add(C::AcknowledgedAt.is_not_null()).add(C::ResolvedAt.is_not_null());
            if figures.escalation {
                q.join_subquery(
                    sea_orm::sea_query::JoinType::LeftJoin,
                    sources::escalations(range),
                    Alias::new("esc"),
                    Expr::cust("\"esc\".\"complaint_id\" = \"complaint\".\"id\""),
                );
            }
            if figures.callback {
                q.join_subquery(
                    sea_orm::sea_query::JoinType::LeftJoin,
                    sources::callbacks(range),
                    Alias::new("cb"),
                    Expr::cust("\"cb\".\"complaint_id\" = \"complaint\".\"id\""),
                );
            }
            q.expr_as(flag(format!("{} NOT IN ('RESOLVED', 'CLOSED')", col("status"))), Alias::new("is_open"))
                .expr_as(flag(format!("{} = 'CLOSED'", col("status"))), Alias::new("is_closed"))
                .expr_as(seconds_between(backend, "created_at", "acknowledged_at"), Alias::new("fr_secs"))
                .expr_as(seconds_between(backend, "created_at", "resolved_at"), Alias::new("res_secs"))
                .expr_as(when(fr_missed.clone()), Alias::new("fr_missed"))
                .expr_as(when(res_missed.clone()), Alias::new("res_missed"))
                .expr_as(when(Condition::any().add(fr_missed).add(res_missed)), Alias::new("sla_missed"))
                .expr_as(when(done), Alias::new("sla_done"))
                .expr_as(Expr::cust(col("satisfaction_score")), Alias::new("score"))
                .expr_as(flag(format!("{} IS NOT NULL", col("satisfied"))), Alias::new("sat_known"))
                .expr_as(flag(col("satisfied")), Alias::new("sat_yes"))
                .expr_as(if figures.callback { flag(sources::callback_known()) } else { Expr::cust("0") }, Alias::new("cb_known"))
                .expr_as(if figures.callback { flag(sources::callback_reached()) } else { Expr::cust("0") }, Alias::new("cb_yes"))
                .expr_as(if figures.escalation { flag(sources::escalated()) } else { Expr::cust("0") }, Alias::new("escalated"))
                .expr_as(flag(format!("{} > 0", col("reopen_count"))), Alias::new("reopened"))
                .expr_as(flag(sources::repeat()), Alias::new("is_repeat"))
                .expr_as(flag(sources::first_contact_resolution()), Alias::new("fcr"))
                .expr_as(flag(sources::group_member()), Alias::new("grouped"))
                .expr_as(Expr::cust(col("close_outcome")), Alias::new("outcome"));
        }
    }
    q
}

/// The SQL of the figures that read the closed loop's data (issue 12). Each
/// is a boolean SQL expression over the current complaint row (`"complaint"`)
/// and the aggregates joined to it (`"cb"`, `"esc"`), or such an aggregate.
pub mod sources {
    use sea_orm::{
        ColumnTrait, Condition,
        sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement},
    };

    use super::{Range, col};
    use entity::complaint;

    /// The complaint had at least one callback attempt (`cb` is [`callbacks`]).
    pub fn callback_known() -> String {
        "\"cb\".\"complaint_id\" IS NOT NULL".to_owned()
    }

    /// At least one of its callback attempts reached the customer.
    pub fn callback_reached() -> String {
        "\"cb\".\"reached\" = 1".to_owned()
    }

    /// The ids of the complaints created in the range: what the joined
    /// aggregates are restricted to, so they read only the range's rows.
    fn in_range(range: Range) -> SelectStatement {
        Query::select()
            .column(complaint::Column::Id)
            .from(complaint::Entity)
            .cond_where(
                Condition::all()
                    .add(complaint::Column::CreatedAt.gte(range.from))
                    .add(complaint::Column::CreatedAt.lt(range.to)),
            )
            .to_owned()
    }

    /// Per complaint of the range with callback attempts (any cycle): `reached`
    /// is 1 when one of them reached the customer. One aggregate, joined,
    /// instead of a lookup per complaint. An attempt is recorded after its
    /// complaint was created, so only attempts since the range began can
    /// belong to it (a day's margin for clocks between servers): that bound
    /// reads the index `callback_attempt_at`, not the whole table.
    pub fn callbacks(range: Range) -> SelectStatement {
        Query::select()
            .expr_as(Expr::cust("\"complaint_id\""), Alias::new("complaint_id"))
            .expr_as(Expr::cust("MAX(CASE WHEN \"reached\" THEN 1 ELSE 0 END)"), Alias::new("reached"))
            .from(Alias::new("callback_attempt"))
            .and_where(Expr::col(Alias::new("at")).gte(range.from - chrono::Duration::days(1)))
            .and_where(Expr::col(Alias::new("complaint_id")).in_subquery(in_range(range)))
            .add_group_by([Expr::cust("\"complaint_id\"")])
            .to_owned()
    }

    /// At least one escalation request that was not rejected (`esc` is
    /// [`escalations`], joined by complaint).
    pub fn escalated() -> String {
        "\"esc\".\"live\" = 1".to_owned()
    }

    /// Per complaint of the range that has escalation requests: `live` is 1
    /// when one was not rejected.
    pub fn escalations(range: Range) -> SelectStatement {
        Query::select()
            .expr_as(Expr::cust("\"complaint_id\""), Alias::new("complaint_id"))
            .expr_as(Expr::cust("MAX(CASE WHEN \"status\" <> 'REJECTED' THEN 1 ELSE 0 END)"), Alias::new("live"))
            .from(Alias::new("escalation"))
            .and_where(Expr::col(Alias::new("complaint_id")).in_subquery(in_range(range)))
            .add_group_by([Expr::cust("\"complaint_id\"")])
            .to_owned()
    }

    /// Intake marked the complaint as a repeat of the same customer's earlier one.
    pub fn repeat() -> String {
        format!("{} IS NOT NULL", col("repeat_of_id"))
    }

    /// Closed with the outcome RESOLVED_AT_FIRST_CONTACT (`resolveAtFirstContact`).
    pub fn first_contact_resolution() -> String {
        format!("{} = 'RESOLVED_AT_FIRST_CONTACT'", col("close_outcome"))
    }

    /// Part of a group complaint (the `groupComplaint` flag).
    pub fn group_member() -> String {
        col("group_complaint")
    }

    /// The compensation counts once the customer accepted the resolution that offered it.
    pub fn compensation_granted() -> String {
        format!("{} IS NOT NULL AND {}", col("customer_accepted"), col("customer_accepted"))
    }
}

/// Wraps the rendered facts subquery in an outer statement (which adds no
/// parameters of its own, so the placeholders keep their numbers).
fn wrap(inner: Statement, outer: impl FnOnce(&str) -> String) -> Statement {
    Statement { sql: outer(&inner.sql), values: inner.values, db_backend: inner.db_backend }
}

/// The group of a complaint: a column, a period index, or one constant.
fn bucket_key(grouping: Grouping, periods: Option<&[Period]>) -> Expr {
    match (grouping, periods) {
        (Grouping::Total, _) => Expr::cust("'TOTAL'"),
        (_, Some(periods)) => period_index(periods, 0, periods.len().saturating_sub(1)),
        (Grouping::By(d), None) => Expr::col((complaint::Entity, d.column().expect("a column dimension"))),
    }
}

/// The index of the period holding `created_at`, as a balanced `CASE` over
/// the period starts (depth log2 of the number of periods).
fn period_index(periods: &[Period], lo: usize, hi: usize) -> Expr {
    if lo >= hi {
        return Expr::cust(lo.to_string());
    }
    let mid = (lo + hi).div_ceil(2);
    Expr::case(complaint::Column::CreatedAt.lt(periods[mid].start), period_index(periods, lo, mid - 1))
        .finally(period_index(periods, mid, hi))
        .into()
}

/// A bucket key as read back from the database.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Text(Option<String>),
    Id(Option<Uuid>),
    Index(i64),
}

impl Key {
    fn read(row: &QueryResult, grouping: Grouping, calendar: bool) -> AppResult<Key> {
        Ok(match grouping {
            _ if calendar => Key::Index(row.try_get_by_index::<i64>(0)?),
            Grouping::By(StatsDimension::Team | StatsDimension::Assignee) => {
                Key::Id(row.try_get_by_index::<Option<Uuid>>(0)?)
            }
            _ => Key::Text(row.try_get_by_index::<Option<String>>(0)?),
        })
    }

    fn text(&self) -> String {
        match self {
            Key::Text(Some(t)) => t.clone(),
            Key::Index(i) => i.to_string(),
            Key::Text(None) | Key::Id(_) => "NONE".to_owned(),
        }
    }
}

/// Readable names: teams and users by name (one statement), `NONE` explained.
async fn labels<'a>(
    db: &impl ConnectionTrait,
    grouping: Grouping,
    keys: impl Iterator<Item = &'a Key>,
) -> AppResult<HashMap<Key, String>> {
    let mut out = HashMap::new();
    let keys: Vec<&Key> = keys.collect();
    let none = match grouping {
        Grouping::By(StatsDimension::Team) => "No team",
        Grouping::By(StatsDimension::Assignee) => "Unassigned",
        Grouping::By(StatsDimension::RootCause) => "Not yet determined",
        _ => "None",
    };
    let ids: Vec<Uuid> = keys.iter().filter_map(|k| if let Key::Id(Some(id)) = k { Some(*id) } else { None }).collect();
    for key in &keys {
        if matches!(key, Key::Text(None) | Key::Id(None)) {
            out.insert((*key).clone(), none.to_owned());
        }
    }
    if ids.is_empty() {
        return Ok(out);
    }
    match grouping {
        Grouping::By(StatsDimension::Team) => {
            for t in team::Entity::find().filter(team::Column::Id.is_in(ids)).all(db).await? {
                out.insert(Key::Id(Some(t.id)), t.name);
            }
        }
        Grouping::By(StatsDimension::Assignee) => {
            for u in app_user::Entity::find().filter(app_user::Column::Id.is_in(ids)).all(db).await? {
                out.insert(Key::Id(Some(u.id)), u.display_name);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// `PRODUCT_QUALITY` → `Product quality`.
pub fn humanize(key: &str) -> String {
    let lower = key.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => lower,
    }
}

// Team and assignee keys are opaque IDs, like everywhere else in the API.
impl Key {
    fn public(&self, grouping: Grouping) -> String {
        match (self, grouping) {
            (Key::Id(Some(id)), Grouping::By(StatsDimension::Team)) => ids::encode(Kind::Team, *id).0,
            (Key::Id(Some(id)), _) => ids::encode(Kind::User, *id).0,
            _ => self.text(),
        }
    }
}

/// A customer with several complaints in a range, and those complaints.
pub struct RepeatCustomer {
    pub complaint_count: i64,
    /// Newest first, at most [`REPEAT_COMPLAINTS_SHOWN`].
    pub complaints: Vec<complaint::Model>,
    pub customer: entity::customer::Model,
}

/// Most complaints listed per repeat customer (the newest); `complaintCount`
/// still counts them all.
pub const REPEAT_COMPLAINTS_SHOWN: usize = 100;

/// Where a page of `repeatComplaints` continues: after this customer, whose
/// count places it in the order (most complaints first, then customer id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatCursor {
    pub count: i64,
    pub customer_id: Uuid,
}

impl RepeatCursor {
    pub fn encode(self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", self.count, self.customer_id))
    }

    pub fn decode(field: &'static str, text: &str) -> AppResult<RepeatCursor> {
        use base64::Engine;
        let invalid = || AppError::validation(field, "is not a cursor of this list");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let (count, id) = raw.split_once('|').ok_or_else(invalid)?;
        Ok(RepeatCursor {
            count: count.parse().map_err(|_| invalid())?,
            customer_id: Uuid::parse_str(id).map_err(|_| invalid())?,
        })
    }
}

/// `repeatComplaints`: customers with at least `min_count` complaints created
/// in the range that the caller may read, most complaints first (then by
/// customer), one page after `after`; and whether more follow. A customer is
/// the one intake matched by normalised phone or email (issue 12), so their
/// complaints share one `customer_id`. Three statements: the page of
/// customers, their complaints, their records.
#[tracing::instrument(skip_all)]
pub async fn repeat_complaints(
    services: &Services,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    min_count: i32,
    first: i32,
    after: Option<RepeatCursor>,
) -> AppResult<(Vec<RepeatCustomer>, bool)> {
    use entity::customer;
    use sea_orm::{Order, QueryOrder};
    if policy::stats_scope(actor).is_none() {
        return Err(AppError::forbidden("administrators do not see complaint statistics"));
    }
    let range = Range::parse(from, to, services.settings.stats_max_days)?;
    if !(2..=1000).contains(&min_count) {
        return Err(AppError::validation("minCount", "must be between 2 and 1000"));
    }
    if !(1..=100).contains(&first) {
        return Err(AppError::validation("first", "must be between 1 and 100"));
    }
    let db = &services.db;
    let in_scope = Condition::all()
        .add(complaint::Column::CreatedAt.gte(range.from))
        .add(complaint::Column::CreatedAt.lt(range.to))
        .add(super::complaints::scope_condition(actor));
    let count = || Expr::cust("COUNT(*)");
    let mut having = Condition::all().add(count().gte(i64::from(min_count)));
    if let Some(after) = after {
        having = having.add(
            Condition::any().add(count().lt(after.count)).add(
                Condition::all()
                    .add(count().eq(after.count))
                    .add(Expr::col((complaint::Entity, complaint::Column::CustomerId)).gt(after.customer_id)),
            ),
        );
    }
    let groups = Query::select()
        .column((complaint::Entity, complaint::Column::CustomerId))
        .expr(count())
        .from(complaint::Entity)
        .cond_where(in_scope.clone())
        .group_by_col((complaint::Entity, complaint::Column::CustomerId))
        .cond_having(having)
        .order_by_expr(count(), Order::Desc)
        .order_by((complaint::Entity, complaint::Column::CustomerId), Order::Asc)
        .limit(first as u64 + 1)
        .to_owned();
    let mut order: Vec<(Uuid, i64)> = Vec::new();
    for row in db.query_all(&groups).await? {
        order.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
    }
    let more = order.len() > first as usize;
    order.truncate(first as usize);
    if order.is_empty() {
        return Ok((Vec::new(), more));
    }
    let ids: Vec<Uuid> = order.iter().map(|(id, _)| *id).collect();
    let complaints = complaint::Entity::find()
        .filter(in_scope)
        .filter(complaint::Column::CustomerId.is_in(ids.clone()))
        .order_by_desc(complaint::Column::CreatedAt)
        .order_by_desc(complaint::Column::Id)
        .all(db)
        .await?;
    let mut customers: HashMap<Uuid, customer::Model> =
        customer::Entity::find().filter(customer::Column::Id.is_in(ids)).all(db).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut grouped: HashMap<Uuid, Vec<complaint::Model>> = HashMap::new();
    for c in complaints {
        let theirs = grouped.entry(c.customer_id).or_default();
        if theirs.len() < REPEAT_COMPLAINTS_SHOWN {
            theirs.push(c);
        }
    }
    let page = order
        .into_iter()
        .filter_map(|(id, count)| {
            Some(RepeatCustomer { complaint_count: count, complaints: grouped.remove(&id)?, customer: customers.remove(&id)? })
        })
        .collect();
    Ok((page, more))
}

#[cfg(test)]
mod tests {
    /// PostgreSQL's `percentile_disc(0.9)` takes the row at `ceil(0.9 * n)`
    /// (computed in double precision); SQLite's window statement the row at
    /// `(9 * n + 9) / 10`. Both must pick the same rank for every bucket size.
    #[test]
    fn percentile_disc_picks_the_same_nearest_rank_as_the_window_statement() {
        for n in 1..=3_000_000_i64 {
            assert_eq!((0.9_f64 * n as f64).ceil() as i64, (9 * n + 9) / 10, "n = {n}");
        }
    }
}
