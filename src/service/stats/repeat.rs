//! `repeatComplaints`: customers with several complaints in a range.

use super::*;
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
        .add(super::super::complaints::scope_condition(actor));
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
