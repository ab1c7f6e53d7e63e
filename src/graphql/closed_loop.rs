//! The closed loop: customers with their history, callback attempts and the
//! callback queue, and closing at the first contact.

use async_graphql::{ComplexObject, Context, ID, Object, connection::{Connection, Edge}};
use uuid::Uuid;

use super::{
    complaints::{ComplaintConnection, ComplaintListInfo},
    connection::{self as cursor, page_size},
    context::ContextExt,
    types::{Complaint, Customer, User},
};
use crate::{
    domain::ComplaintStatus,
    error::AppResult,
    ids::{self, Kind},
    service::{
        complaints::{self as complaints, ComplaintOrder, Cursor, PageRequest},
        customers,
    },
};
use entity::{callback_attempt, complaint};

/// One attempt to call the customer back after resolution.
pub struct CallbackAttempt(pub callback_attempt::Model);

#[Object]
impl CallbackAttempt {
    /// When the call was made.
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.at
    }
    /// Who called.
    async fn by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.by_user).await?.map(User))
    }
    /// Whether the customer was reached.
    async fn reached(&self) -> bool {
        self.0.reached
    }
    /// Whether the customer was satisfied; null when not reached.
    async fn satisfied(&self) -> Option<bool> {
        self.0.satisfied
    }
    /// Satisfaction from 1 to 5, when given.
    async fn score(&self) -> Option<i32> {
        self.0.score
    }
    /// What the caller noted.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The complaint's handling cycle at the time of the call.
    async fn cycle(&self) -> i32 {
        self.0.cycle
    }
}

fn page_limit(first: Option<i32>) -> AppResult<u64> {
    Ok(page_size(first, None)?.0)
}

/// The callback attempts of a complaint the caller already holds.
pub(super) async fn callbacks_of(
    ctx: &Context<'_>,
    complaint_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<String, CallbackAttempt>> {
    let limit = page_limit(first)?;
    let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
    let (rows, more) = complaints::callback_attempts(ctx.services()?, complaint_id, after, limit).await?;
    let mut connection = Connection::new(after.is_some(), more);
    connection.edges = rows
        .into_iter()
        .map(|a| Edge::new(cursor::encode(Cursor { key: a.at, id: a.id }), CallbackAttempt(a)))
        .collect();
    Ok(connection)
}

/// A page of complaints, handed out through [`Complaint::hand_out_all`] so
/// reads of sensitive cases are recorded.
async fn complaint_page(
    ctx: &Context<'_>,
    info: ComplaintListInfo,
    rows: Vec<complaint::Model>,
    has_previous: bool,
    more: bool,
    key: impl Fn(&complaint::Model) -> Cursor,
) -> AppResult<ComplaintConnection> {
    let keys: Vec<String> = rows.iter().map(|c| cursor::encode(key(c))).collect();
    let complaints = Complaint::hand_out_all(ctx, rows).await?;
    let mut connection = Connection::with_additional_fields(has_previous, more, info);
    connection.edges = keys.into_iter().zip(complaints).map(|(k, c)| Edge::new(k, c)).collect();
    Ok(connection)
}

#[ComplexObject]
impl Customer {
    /// The customer's complaints the caller may read, newest first; with
    /// `openOnly`, those not yet resolved or closed (shown at intake).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn complaints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] open_only: bool,
    ) -> AppResult<ComplaintConnection> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let order = ComplaintOrder::default();
        let page = PageRequest {
            order,
            after: after.as_deref().map(|c| cursor::decode("after", c)).transpose()?,
            before: None,
            limit: page_limit(first)?,
            from_end: false,
        };
        let mut condition = sea_orm::Condition::all().add(sea_orm::ColumnTrait::eq(&complaint::Column::CustomerId, self.uuid));
        if open_only {
            condition = condition.add(sea_orm::ColumnTrait::is_not_in(
                &complaint::Column::Status,
                [ComplaintStatus::Resolved.as_str(), ComplaintStatus::Closed.as_str()],
            ));
        }
        let (rows, more) = complaints::list(services, actor, condition.clone(), &page).await?;
        complaints::record_reads(services, ctx.request()?, &rows.iter().collect::<Vec<_>>()).await?;
        let info = ComplaintListInfo { actor: actor.clone(), condition };
        complaint_page(ctx, info, rows, page.after.is_some(), more, |c| Cursor { key: order.field.key(c), id: c.id }).await
    }
}

#[derive(Default)]
pub struct LoopQuery;

#[Object]
impl LoopQuery {
    /// A customer by ID: visible to whoever may read one of their complaints; null otherwise.
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Customer>> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let Some((Kind::Customer, id)) = ids::parse(&id) else { return Ok(None) };
        let Some(found) = customers::find_visible(services, actor, id).await? else { return Ok(None) };
        let masked = customers::masked_for(services, actor, found.id).await?;
        Ok(Some(Customer::new(found, masked)))
    }

    /// Customers the caller may see (through their complaints), oldest first;
    /// `search` matches a name (substring), a phone in any format, or an email.
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, Customer>> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
        let (rows, more) = customers::list(services, actor, search.as_deref(), after, page_limit(first)?).await?;
        let mut connection = Connection::new(after.is_some(), more);
        for row in rows {
            let masked = customers::masked_for(services, actor, row.id).await?;
            let key = Cursor { key: row.created_at, id: row.id };
            connection.edges.push(Edge::new(cursor::encode(key), Customer::new(row, masked)));
        }
        Ok(connection)
    }

    /// RESOLVED complaints awaiting a callback within the caller's scope, the earliest due first.
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn callback_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<ComplaintConnection> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
        let (rows, more) = complaints::callback_queue(services, actor, after, page_limit(first)?).await?;
        complaints::record_reads(services, ctx.request()?, &rows.iter().collect::<Vec<_>>()).await?;
        let info = ComplaintListInfo { actor: actor.clone(), condition: complaints::callback_queue_condition() };
        complaint_page(ctx, info, rows, after.is_some(), more, |c| Cursor { key: c.callback_due.unwrap_or(c.updated_at), id: c.id }).await
    }
}

/// One contact with the customer about a complaint.
pub struct Contact(pub entity::contact::Model);

#[Object]
impl Contact {
    /// The contact's global ID.
    async fn id(&self) -> ID {
        ids::encode(Kind::Contact, self.0.id)
    }
    /// The channel used.
    async fn channel(&self) -> AppResult<crate::domain::Channel> {
        crate::error::stored(&self.0.channel)
    }
    /// Who started it.
    async fn direction(&self) -> AppResult<crate::domain::ContactDirection> {
        crate::error::stored(&self.0.direction)
    }
    /// What kind of contact it was.
    async fn kind(&self) -> AppResult<crate::domain::ContactKind> {
        crate::error::stored(&self.0.kind)
    }
    /// What came of it.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
    /// What was said or noted.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Who recorded it.
    async fn recorded_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.recorded_by).await?.map(User))
    }
    /// When it happened.
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.at
    }
}

/// The contacts of a complaint the caller already holds.
pub(super) async fn contacts_of(
    ctx: &Context<'_>,
    complaint_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<String, Contact>> {
    let limit = page_limit(first)?;
    let after = after.as_deref().map(|c| cursor::decode("after", c)).transpose()?;
    let (rows, more) = complaints::contacts_of(ctx.services()?, complaint_id, after, limit).await?;
    let mut connection = Connection::new(after.is_some(), more);
    connection.edges =
        rows.into_iter().map(|c| Edge::new(cursor::encode(Cursor { key: c.at, id: c.id }), Contact(c))).collect();
    Ok(connection)
}

#[derive(Default)]
pub struct LoopMutation;

#[Object]
impl LoopMutation {
    /// Tells the customer how the case progresses (a CUSTOMER_UPDATE note and an
    /// outbound PROGRESS_UPDATE contact), with the reason for a delay; the next
    /// update falls due `CASEWORK_UPDATE_INTERVAL_HOURS` later, and an expected
    /// resolution time becomes the new promise.
    async fn post_progress_update(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: complaints::ProgressUpdateInput,
    ) -> AppResult<Complaint> {
        let id = ids::decode(Kind::Complaint, "id", &id)?;
        let services = ctx.services()?;
        Complaint::hand_out(ctx, complaints::post_progress_update(services, ctx.request()?, id, expected_version, input).await?).await
    }

    /// Records a contact with the customer. An inbound CHASER past the promised
    /// time raises a CUSTOMER_REQUEST escalation.
    async fn record_contact(&self, ctx: &Context<'_>, complaint_id: ID, input: complaints::ContactInput) -> AppResult<Contact> {
        let id = ids::decode(Kind::Complaint, "complaintId", &complaint_id)?;
        Ok(Contact(complaints::record_contact(ctx.services()?, ctx.request()?, id, input).await?))
    }

    /// Closes a NEW or ACKNOWLEDGED complaint handled during the first contact
    /// (outcome RESOLVED_AT_FIRST_CONTACT), recording whether the customer is satisfied.
    async fn resolve_at_first_contact(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        summary: String,
        satisfied: bool,
    ) -> AppResult<Complaint> {
        let id = ids::decode(Kind::Complaint, "id", &id)?;
        let services = ctx.services()?;
        Complaint::hand_out(ctx, complaints::resolve_at_first_contact(services, ctx.request()?, id, expected_version, &summary, satisfied).await?).await
    }
}
