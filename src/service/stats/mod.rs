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

mod repeat;
mod sql;
pub use repeat::*;
pub use sql::*;

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
