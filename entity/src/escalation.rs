//! A request to move a complaint up (or back down) a tier, or to approve what
//! exceeds someone's authority; decided by someone other than the requester.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "escalation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    pub from_tier: String,
    pub to_tier: String,
    /// `EscalationTrigger` name.
    pub trigger: String,
    pub reason: String,
    /// `None`: raised by the system (SLA monitor, authority check, flags).
    pub requested_by: Option<Uuid>,
    pub requested_at: DateTimeUtc,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    /// When a decision is due.
    pub due_by: DateTimeUtc,
    /// Still pending past `due_by`: marked (and re-announced) once by the SLA monitor.
    pub overdue: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
