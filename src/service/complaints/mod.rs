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
    sea_query::{Expr, ExprTrait, Func},
};
use serde_json::Value;
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork};

mod callbacks;
mod contacts;
pub mod groups;
mod intake;
mod listing;
mod nested;
mod notes;
mod shared;
mod transitions;
mod work;

pub use callbacks::*;
pub use contacts::*;
pub use intake::*;
pub use listing::*;
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
    services.read_log.record(ctx.origin(), vec![access_event(complaint, action, target_type, target_id)]).await
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
/// however many fields or lookups touched it), committed before it returns
/// (with other requests' reads: [`crate::service::read_log`]).
pub async fn record_reads(services: &Services, ctx: &RequestContext, complaints: &[&complaint::Model]) -> AppResult<()> {
    let unrecorded: Vec<&complaint::Model> = {
        let mut seen = ctx.audited_reads.lock().map_err(|_| AppError::internal(anyhow::anyhow!("read log poisoned")))?;
        complaints.iter().copied().filter(|c| policy::reads_are_audited(&access(c)) && seen.insert(c.id)).collect()
    };
    if unrecorded.is_empty() {
        return Ok(());
    }
    let events = unrecorded.iter().map(|c| access_event(c, "complaint.viewed", "complaint", c.id)).collect();
    let committed = services.read_log.record(ctx.origin(), events).await;
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

/// [`find_visible`] with the complaint's to-one neighbours in the same statement.
pub async fn find_visible_with(services: &Services, actor: &Actor, id: Uuid, with: Neighbours) -> AppResult<Option<Listed>> {
    let found = find_with(services, id, with).await?;
    Ok(found.filter(|l| policy::can_read_complaint(actor, &access(&l.complaint))))
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
