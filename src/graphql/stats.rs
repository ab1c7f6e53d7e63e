//! Complaint analysis: `complaintStats` and `repeatComplaints`.

use async_graphql::{
    Context, Object,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};

use super::{context::ContextExt, types::{Complaint, Customer}};
use crate::{
    domain::policy,
    error::AppResult,
    service::{
        complaints::{self, ComplaintFilter},
        stats::{self as service, StatsBucket, StatsDimension},
    },
};

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Statistics of the complaints created in `[from, to)` that the caller may
    /// read, grouped by `groupBy` and narrowed by `filter`. Calendar groups
    /// (MONTH, WEEK, DAY) follow `CASEWORK_REPORT_TIMEZONE` and list empty periods
    /// with zeros; the others list the groups that have complaints, largest first.
    /// Supervisors, legal and auditors see all complaints, agents their own and
    /// their team's, administrators none. At most `CASEWORK_STATS_MAX_DAYS` days.
    #[graphql(complexity = "50 + child_complexity * 10")]
    async fn complaint_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the range (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (exclusive).")] to: DateTime<Utc>,
        #[graphql(desc = "What the buckets are.")] group_by: StatsDimension,
        #[graphql(desc = "Only complaints matching this filter.")] filter: Option<ComplaintFilter>,
    ) -> AppResult<Vec<StatsBucket>> {
        let actor = ctx.actor()?;
        // The costlier figures only when the query selects them.
        let look = ctx.look_ahead();
        let figures = service::Figures {
            callback: look.field("callbackReachRate").exists(),
            escalation: look.field("escalationRate").exists(),
        };
        service::complaint_stats(ctx.services()?, actor, from, to, group_by, filter.as_ref(), figures).await
    }

    /// Customers with at least `minCount` complaints created in `[from, to)`
    /// among those the caller may read, most complaints first (then by
    /// customer), with those complaints (customer contact details masked as
    /// usual). A customer is the one intake matched by phone or email.
    // Each customer carries a list of complaints: weigh a node five times.
    #[graphql(complexity = "50 + child_complexity * (first.clamp(1, 100) as usize) * 5")]
    async fn repeat_complaints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the range (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (exclusive).")] to: DateTime<Utc>,
        #[graphql(desc = "Fewest complaints that make a repeat customer (at least 2).", default = 2)] min_count: i32,
        #[graphql(desc = "How many customers at most (1 to 100).", default = 20)] first: i32,
        #[graphql(desc = "Continue after this cursor (an edge's `cursor`).")] after: Option<String>,
    ) -> AppResult<Connection<String, RepeatCustomer>> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let after = after.as_deref().map(|c| service::RepeatCursor::decode("after", c)).transpose()?;
        let (found, more) = service::repeat_complaints(services, actor, from, to, min_count, first, after).await?;
        // Hand every complaint out at once (one audited-read transaction),
        // then deal them back to their customers.
        let mut parts = Vec::with_capacity(found.len());
        let mut all = Vec::new();
        for r in found {
            let masked = r.complaints.iter().any(|c| !policy::sees_customer_contact(actor, &complaints::access(c)));
            let cursor = service::RepeatCursor { count: r.complaint_count, customer_id: r.customer.id };
            parts.push((cursor, Customer::new(r.customer, masked), r.complaints.len()));
            all.extend(r.complaints);
        }
        let mut handed = Complaint::hand_out_all(ctx, all).await?.into_iter();
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges = parts
            .into_iter()
            .map(|(cursor, customer, n)| {
                let node = RepeatCustomer { complaint_count: cursor.count, customer, complaints: handed.by_ref().take(n).collect() };
                Edge::new(cursor.encode(), node)
            })
            .collect();
        Ok(connection)
    }
}

/// A customer who complained several times in a range.
#[derive(async_graphql::SimpleObject)]
pub struct RepeatCustomer {
    /// How many complaints they made in the range (that the caller may read).
    pub complaint_count: i64,
    /// The customer as recorded on their newest complaint (masked where any of
    /// their complaints masks it for the caller).
    pub customer: Customer,
    /// Their complaints in the range, newest first (at most 100, the newest).
    pub complaints: Vec<Complaint>,
}
