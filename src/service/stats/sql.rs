//! The SQL of `complaintStats`: the per-complaint facts, the main aggregate,
//! the percentile and money statements, bucket keys and their labels.

use super::*;
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
pub(super) const MAIN_SUMS: [&str; 21] = [
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
pub(super) struct Sums(pub(super) [i64; MAIN_SUMS.len() + 1], pub(super) Vec<i64>);

impl Sums {
    pub(super) fn bucket(&self, p90_secs: Option<i64>) -> StatsBucket {
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
pub(super) enum Need {
    Main,
    Resolution,
    Compensation,
}

pub(super) fn col(name: &str) -> String {
    format!("\"complaint\".\"{name}\"")
}

/// Whole seconds since the epoch of a timestamp column, the same integer on both databases.
pub(super) fn epoch(backend: DbBackend, column: &str) -> String {
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

pub(super) fn seconds_between(backend: DbBackend, start: &str, end: &str) -> Expr {
    Expr::cust(format!(
        "CASE WHEN {end_col} IS NULL THEN NULL ELSE {} - {} END",
        epoch(backend, end),
        epoch(backend, start),
        end_col = col(end)
    ))
}

pub(super) fn flag(sql: String) -> Expr {
    Expr::cust(format!("CASE WHEN {sql} THEN 1 ELSE 0 END"))
}

pub(super) fn when(condition: Condition) -> Expr {
    Expr::case(condition, 1).finally(0).into()
}

/// The per-complaint facts every figure is computed from: one row per complaint
/// created in the range, within `condition`.
pub(super) fn facts(
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
pub(super) fn wrap(inner: Statement, outer: impl FnOnce(&str) -> String) -> Statement {
    Statement { sql: outer(&inner.sql), values: inner.values, db_backend: inner.db_backend }
}

/// The group of a complaint: a column, a period index, or one constant.
pub(super) fn bucket_key(grouping: Grouping, periods: Option<&[Period]>) -> Expr {
    match (grouping, periods) {
        (Grouping::Total, _) => Expr::cust("'TOTAL'"),
        (_, Some(periods)) => period_index(periods, 0, periods.len().saturating_sub(1)),
        (Grouping::By(d), None) => Expr::col((complaint::Entity, d.column().expect("a column dimension"))),
    }
}

/// The index of the period holding `created_at`, as a balanced `CASE` over
/// the period starts (depth log2 of the number of periods).
pub(super) fn period_index(periods: &[Period], lo: usize, hi: usize) -> Expr {
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
pub(super) enum Key {
    Text(Option<String>),
    Id(Option<Uuid>),
    Index(i64),
}

impl Key {
    pub(super) fn read(row: &QueryResult, grouping: Grouping, calendar: bool) -> AppResult<Key> {
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
pub(super) async fn labels<'a>(
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
    pub(super) fn public(&self, grouping: Grouping) -> String {
        match (self, grouping) {
            (Key::Id(Some(id)), Grouping::By(StatsDimension::Team)) => ids::encode(Kind::Team, *id).0,
            (Key::Id(Some(id)), _) => ids::encode(Kind::User, *id).0,
            _ => self.text(),
        }
    }
}
