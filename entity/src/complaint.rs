//! A customer complaint: the five elements of intake, its classification, the
//! work done on it and its SLA clock. `version` orders changes (optimistic
//! concurrency) and equals the head of the complaint's audit chain.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "complaint")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `CMP-2026-000042`.
    #[sea_orm(unique)]
    pub reference: String,
    pub status: String,
    pub channel: String,
    pub category: String,
    pub severity: String,
    pub title: String,
    pub description: String,
    pub customer_id: Uuid,
    pub core_demand: String,
    pub requested_amount: Option<String>,
    pub currency: String,
    pub emotion: String,
    pub order_reference: Option<String>,
    pub occurred_at: Option<DateTimeUtc>,
    pub tier: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub created_by: Uuid,
    pub sensitive: bool,
    pub vulnerable_customer: bool,
    pub media_attention: bool,
    pub group_complaint: bool,
    pub legal_hold: bool,
    pub root_cause: Option<String>,
    pub responsibility: Option<String>,
    pub finding_summary: Option<String>,
    pub resolution_summary: Option<String>,
    pub compensation_amount: Option<String>,
    pub compensation_currency: Option<String>,
    /// The refund part of the resolution (decimal text, in `compensation_currency`);
    /// authority limits cap refund plus compensation.
    pub refund_amount: Option<String>,
    pub remedies: Option<String>,
    pub preventive_measures: Option<String>,
    pub customer_accepted: Option<bool>,
    pub customer_decision_note: Option<String>,
    pub resolution_note: Option<String>,
    pub callback_reached: Option<bool>,
    pub satisfied: Option<bool>,
    pub satisfaction_score: Option<i32>,
    pub callback_comment: Option<String>,
    pub close_reason: Option<String>,
    pub reopen_count: i32,
    pub first_response_due: DateTimeUtc,
    pub resolution_due: DateTimeUtc,
    /// Any deadline passed while open (set by the SLA monitor).
    pub sla_breached: bool,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// The first response of the current cycle (acknowledgement; after a reopening, the next finding).
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// The same customer's latest earlier complaint within the repeat window (`isRepeat`).
    pub repeat_of_id: Option<Uuid>,
    /// Why intake judged the case urgent (MEDICAL, EXAM, VULNERABLE, OUTAGE, OTHER): 10-minute first response.
    pub urgent_reason: Option<String>,
    /// When a proposed resolution is due (default 24 h after the cycle started); null only on rows older than the loop.
    pub solution_due: Option<DateTimeUtc>,
    /// No resolution was proposed by `solution_due` (set by the SLA monitor, per cycle).
    pub solution_breached: bool,
    /// When the current cycle's resolution was proposed (stops the solution clock).
    pub proposed_at: Option<DateTimeUtc>,
    /// Handling cycle: 1 at intake, +1 on every reopening (fresh deadlines and breach marks).
    pub cycle: i32,
    /// When the current cycle began (null: at `created_at`). Reopening starts a cycle.
    pub cycle_started_at: Option<DateTimeUtc>,
    /// RESOLVED and awaiting a callback: when the next attempt is due.
    pub callback_due: Option<DateTimeUtc>,
    /// How the complaint was closed (a `CloseOutcome` name).
    pub close_outcome: Option<String>,
    /// When the customer was promised an answer (at acknowledgement; renewed by a progress update).
    pub promised_by: Option<DateTimeUtc>,
    /// Still open at `promised_by` (set by the SLA monitor; cleared by a new promise).
    pub promise_breached: bool,
    /// When the next progress update to the customer is due.
    pub next_update_due: Option<DateTimeUtc>,
    /// No update by `next_update_due` (set by the SLA monitor; cleared by an update).
    pub update_overdue: bool,
    /// When the last progress update was given.
    pub last_update_at: Option<DateTimeUtc>,
    /// Why the case is delayed, per the last update (a `DelayReason` name).
    pub delay_reason: Option<String>,
    /// When the last update said the case should be resolved.
    pub expected_resolution_at: Option<DateTimeUtc>,
    /// The teams with an open work item on the complaint, as sorted
    /// comma-separated UUIDs: they may read it while the item is open.
    pub assisting_teams: String,
    /// The product or service complained about (free text, as the customer names it).
    pub product_or_service: Option<String>,
    /// Where it happened: a store, branch or area (a building, a district).
    pub location: Option<String>,
    /// The group complaint this one belongs to, if any (`complaint_group`).
    pub group_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
