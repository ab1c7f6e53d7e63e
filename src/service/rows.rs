//! Decoding whole rows into entity models without sea-orm's per-NULL cost.
//!
//! sea-orm's `TryGetable for Option<T>` asks for `T`, and a NULL comes back as
//! `TryGetError::Null(format!("{column:?}"))` — a formatted and discarded
//! string per NULL column per row (a tenth of the server's CPU under the list
//! page's load, issue 14). Here each column is read straight from the sqlx row
//! as `Option<T>`, by its position (found by name once per result: [`Layout`]),
//! so a NULL costs nothing and a column added to an entity is a compile error
//! until it is listed (never a silent misread).

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryResult, QueryTrait, Select,
    sea_query::{Alias, Asterisk, Expr, JoinType, Query, SelectStatement},
    sqlx::{self, Postgres, Row, Sqlite},
};

/// A value of one column, for both databases, read by its position in the row.
pub trait Column: Sized {
    fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr>;
}

fn decode_err(index: usize, e: sqlx::Error) -> DbErr {
    DbErr::Type(format!("column {index}: {e}"))
}

fn optional<T>(row: &QueryResult, index: usize) -> Result<Option<T>, DbErr>
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    if let Some(r) = row.try_as_pg_row() {
        return r.try_get::<Option<T>, _>(index).map_err(|e| decode_err(index, e));
    }
    if let Some(r) = row.try_as_sqlite_row() {
        return r.try_get::<Option<T>, _>(index).map_err(|e| decode_err(index, e));
    }
    Err(DbErr::Type("unsupported database row".into()))
}

macro_rules! column_types {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                optional::<$t>(row, index)?.ok_or_else(|| DbErr::Type(format!("column {index} is NULL")))
            }
        }
        impl Column for Option<$t> {
            fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                optional::<$t>(row, index)
            }
        }
    )*};
}
column_types!(String, bool, i32, i64, uuid::Uuid, chrono::DateTime<chrono::Utc>);

/// The names of a result's columns, in order.
fn column_names(row: &QueryResult) -> Result<Vec<&str>, DbErr> {
    if let Some(r) = row.try_as_pg_row() {
        return Ok(r.columns().iter().map(sqlx::Column::name).collect());
    }
    if let Some(r) = row.try_as_sqlite_row() {
        return Ok(r.columns().iter().map(sqlx::Column::name).collect());
    }
    Err(DbErr::Type("unsupported database row".into()))
}

/// The position of the column `name` in `row`.
pub fn position(row: &QueryResult, name: &str) -> Result<usize, DbErr> {
    column_names(row)?.iter().position(|c| *c == name).ok_or_else(|| DbErr::Type(format!("no column {name} in the row")))
}

/// Where a model's columns sit in the rows of one result.
///
/// Found by name once per result, then read by position: sqlx's by-name read
/// hashes the name for every column of every row (with SipHash, ~5 % of the
/// list page's CPU before this, issue 14).
#[derive(Clone, Debug)]
pub struct Layout {
    columns: ColumnSet,
    /// The position of each column in `columns`, in the model's order.
    at: Vec<usize>,
}

impl Layout {
    /// The layout of the columns in `columns` of `M`, found in `row` under
    /// `names` (one per column of the set, in the model's order).
    pub fn find<'n>(row: &QueryResult, columns: ColumnSet, names: impl IntoIterator<Item = &'n str>) -> Result<Layout, DbErr> {
        let present = column_names(row)?;
        let at = names
            .into_iter()
            .map(|name| present.iter().position(|c| *c == name).ok_or_else(|| DbErr::Type(format!("no column {name} in the row"))))
            .collect::<Result<Vec<_>, _>>()?;
        // A name found twice (`p.*` beside a joined table's own column of
        // the same name) would be read from its first place: the fold renames
        // every joined column, so each name is unique.
        Ok(Layout { columns, at })
    }

    /// The layout of `M`'s columns in `columns` under their own names.
    pub fn of<M: FromRow>(row: &QueryResult, columns: ColumnSet) -> Result<Layout, DbErr> {
        Layout::find(row, columns, columns.names::<M>())
    }

    /// Reads `M` from `row`; `None` when its `id` is NULL (a LEFT JOIN that
    /// matched nothing).
    pub fn read<M: FromRow>(&self, row: &QueryResult) -> Result<Option<M>, DbErr> {
        M::from_positions(row, self.columns, &self.at)
    }

    /// [`Layout::read`] for a row that must hold the model.
    pub fn read_one<M: FromRow>(&self, row: &QueryResult) -> Result<M, DbErr> {
        self.read(row)?.ok_or_else(|| DbErr::Type("id is NULL".into()))
    }
}

/// A set of a table's columns: bit `i` stands for `COLUMNS[i]` of its
/// [`FromRow`] model (at most 128 columns; checked by a unit test).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSet(u128);

impl ColumnSet {
    /// Every column: the whole model.
    pub const ALL: ColumnSet = ColumnSet(u128::MAX);

    /// Only the primary key (`COLUMNS[0]`, always read).
    pub const fn key_only() -> ColumnSet {
        ColumnSet(1)
    }

    /// The columns of `M` named `names`; `None` names one `M` does not have.
    pub fn of<M: FromRow>(names: &[&str]) -> Option<ColumnSet> {
        let mut set = ColumnSet::key_only();
        for name in names {
            set.0 |= 1 << M::COLUMNS.iter().position(|c| c == name)?;
        }
        Some(set)
    }

    /// The entries of `per_column` (one per column of the model, in its
    /// order) that stand for columns in the set.
    pub fn pick<T>(self, per_column: &[T]) -> impl Iterator<Item = &T> {
        per_column.iter().enumerate().filter(move |(i, _)| self.contains(*i)).map(|(_, item)| item)
    }

    /// Whether every column of `other` is in the set.
    pub fn covers(self, other: ColumnSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: ColumnSet) -> ColumnSet {
        ColumnSet(self.0 | other.0)
    }

    pub fn contains(self, index: usize) -> bool {
        index >= 128 || self.0 & (1 << index) != 0
    }

    /// Whether every column of `M` is in the set.
    pub fn is_all<M: FromRow>(self) -> bool {
        (0..M::COLUMNS.len()).all(|i| self.contains(i))
    }

    /// The names of `M`'s columns in the set, in table order.
    pub fn names<M: FromRow>(self) -> impl Iterator<Item = &'static str> {
        M::COLUMNS.iter().enumerate().filter(move |(i, _)| self.contains(*i)).map(|(_, c)| *c)
    }
}

/// A model that can be read from a row holding some or all of its columns.
pub trait FromRow: Sized {
    /// The table's columns, in the order of the model's fields.
    const COLUMNS: &'static [&'static str];

    /// Reads the columns in `columns` from the positions `at` (one per column
    /// of the set, in the model's order); every other field takes its type's
    /// default — for read-only projections whose callers touch nothing outside
    /// `columns` (list pages: see `graphql::projection`). `None` when the
    /// `id` is NULL.
    fn from_positions(row: &QueryResult, columns: ColumnSet, at: &[usize]) -> Result<Option<Self>, DbErr>;

}

/// `impl FromRow for $model`, listing every field (a missing one does not
/// compile). The first field must be the primary key `id`.
macro_rules! from_row {
    ($model:path { id, $($field:ident),* $(,)? }) => {
        impl FromRow for $model {
            const COLUMNS: &'static [&'static str] = &["id", $(stringify!($field)),*];

            fn from_positions(row: &QueryResult, columns: ColumnSet, at: &[usize]) -> Result<Option<Self>, DbErr> {
                // Field initialisers run in the order written: `index` walks
                // COLUMNS, `at` the positions of the columns in the set.
                let mut at = at.iter().copied();
                let Some(id) = <Option<uuid::Uuid> as Column>::read_at(row, at.next().unwrap_or(usize::MAX))? else {
                    return Ok(None);
                };
                let mut index = 0;
                let mut next = || {
                    index += 1;
                    if columns.contains(index) { at.next() } else { None }
                };
                Ok(Some(Self {
                    id,
                    $($field: match next() { Some(i) => Column::read_at(row, i)?, None => Default::default() },)*
                }))
            }
        }
    };
}

from_row!(entity::complaint::Model {
    id, reference, status, channel, category, severity, title, description, customer_id, core_demand,
    requested_amount, currency, emotion, order_reference, occurred_at, tier, team_id, assignee_id, created_by,
    sensitive, vulnerable_customer, media_attention, group_complaint, legal_hold, root_cause, responsibility,
    finding_summary, resolution_summary, compensation_amount, compensation_currency, refund_amount, remedies,
    preventive_measures, customer_accepted, customer_decision_note, resolution_note, callback_reached,
    satisfied, satisfaction_score, callback_comment, close_reason, reopen_count, first_response_due,
    resolution_due, sla_breached, first_response_breached, resolution_breached, acknowledged_at, resolved_at,
    closed_at, repeat_of_id, urgent_reason, solution_due, solution_breached, proposed_at, cycle,
    cycle_started_at, callback_due, close_outcome, promised_by, promise_breached, next_update_due,
    update_overdue, last_update_at, delay_reason, expected_resolution_at, assisting_teams, product_or_service,
    location, group_id, created_at, updated_at, version,
});

from_row!(entity::work_item::Model {
    id, complaint_id, team_id, kind, request, due_by, status, result, requested_by, requested_at, closed_by,
    closed_at, overdue,
});

from_row!(entity::complaint_group::Model {
    id, reference, title, cause, lead_team_id, status, created_by, created_at, updated_at, closed_at,
    last_update_at, version,
});

from_row!(entity::customer::Model {
    id, name, phone, email, phone_key, email_key, created_at,
});

from_row!(entity::app_user::Model {
    id, email, display_name, role, team_id, authority_limit, authority_currency, active, password_hash, created_at, updated_at,
    version, token_version,
});

from_row!(entity::escalation::Model {
    id, complaint_id, from_tier, to_tier, trigger, reason, requested_by, requested_at, status, decided_by,
    decided_at, decision_note, due_by, overdue,
});

/// Runs `select` narrowed to `columns` and decodes its rows with
/// [`FromRow::from_positions`] (the whole model when `columns` has them all).
pub async fn partial<E, C>(db: &C, select: Select<E>, columns: ColumnSet) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromRow,
    C: ConnectionTrait,
{
    if columns.is_all::<E::Model>() {
        return all(db, select).await;
    }
    let statement = narrow(select, columns).build(db.get_database_backend());
    decode_all(&db.query_all_raw(statement).await?, columns)
}

/// Decodes every row of a result holding the columns in `columns` of `M`
/// under their own names.
pub fn decode_all<M: FromRow>(rows: &[QueryResult], columns: ColumnSet) -> Result<Vec<M>, DbErr> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let layout = Layout::of::<M>(first, columns)?;
    rows.iter().map(|row| layout.read_one(row)).collect()
}

/// `select` with only the columns in `columns`.
pub fn narrow<E>(select: Select<E>, columns: ColumnSet) -> Select<E>
where
    E: EntityTrait,
    E::Model: FromRow,
{
    use sea_orm::QuerySelect;
    if columns.is_all::<E::Model>() {
        return select;
    }
    let mut narrowed = select.select_only();
    for name in columns.names::<E::Model>() {
        narrowed = narrowed.expr(Expr::col((E::default(), Alias::new(name))));
    }
    narrowed
}

/// Runs `select` and decodes its rows with [`FromRow`] (same rows as `.all(db)`).
pub async fn all<E, C>(db: &C, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromRow,
    C: ConnectionTrait,
{
    let statement = select.build(db.get_database_backend());
    decode_all(&db.query_all_raw(statement).await?, ColumnSet::ALL)
}

/// Runs `select` for at most one row.
pub async fn one<E, C>(db: &C, select: Select<E>) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromRow,
    C: ConnectionTrait,
{
    use sea_orm::QuerySelect;
    Ok(all(db, select.limit(1)).await?.into_iter().next())
}

/// A row of another table joined to each row of a page, its columns renamed
/// (`names[i]` for `columns[i]`, read back with [`Layout::find`] over `names`).
pub struct Neighbour<'a> {
    pub table: &'a str,
    pub alias: &'a str,
    pub columns: &'a [&'a str],
    pub names: &'a [String],
    /// Which of `columns` to read (a [`ColumnSet`] of the neighbour's model).
    pub set: ColumnSet,
    /// PostgreSQL: the lateral subquery's condition, naming `table` itself.
    pub matching: &'a str,
    /// PostgreSQL: the subquery's order (descending columns), when several match.
    pub newest_by: &'a [&'a str],
    /// SQLite: the join condition on a primary key, naming `alias`.
    pub on_key: &'a str,
}

impl Neighbour<'_> {
    /// The columns read, each with the name it is read under.
    fn read(&self) -> impl Iterator<Item = (&str, &String)> {
        self.set.pick(self.columns).copied().zip(self.set.pick(self.names))
    }
}

/// Joins `neighbour` to `query` so each row finds it by an index lookup, never
/// by scanning its table: on PostgreSQL a `LEFT JOIN LATERAL (… LIMIT 1)` (the
/// LIMIT keeps the planner from flattening it into a hash join over the whole
/// table); on SQLite, whose planner loops over the page and probes the key, a
/// plain LEFT JOIN on `on_key`.
pub fn join_neighbour(query: &mut SelectStatement, backend: DbBackend, neighbour: &Neighbour<'_>) {
    let (table, alias) = (Alias::new(neighbour.table), Alias::new(neighbour.alias));
    if backend == DbBackend::Postgres {
        let mut sub = Query::select();
        for (name, renamed) in neighbour.read() {
            sub.expr_as(Expr::col((table.clone(), Alias::new(name))), Alias::new(renamed));
        }
        sub.from(table.clone()).and_where(Expr::cust(neighbour.matching.to_owned())).limit(1);
        for column in neighbour.newest_by {
            sub.order_by((table.clone(), Alias::new(*column)), sea_orm::Order::Desc);
        }
        query.join_lateral(JoinType::LeftJoin, sub, alias.clone(), Expr::cust("TRUE"));
        query.column((alias, Asterisk));
    } else {
        query.join_as(JoinType::LeftJoin, table, alias.clone(), Expr::cust(neighbour.on_key.to_owned()));
        for (name, renamed) in neighbour.read() {
            query.expr_as(Expr::col((alias.clone(), Alias::new(name))), Alias::new(renamed));
        }
    }
}
