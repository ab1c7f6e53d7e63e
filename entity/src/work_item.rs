//! Work the team handling a complaint asks of another team (investigate,
//! implement, pay out a refund, repair), with a due time and a result.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "work_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// The assisting team.
    pub team_id: Uuid,
    /// A `WorkKind` name.
    pub kind: String,
    /// What is asked.
    pub request: String,
    pub due_by: DateTimeUtc,
    /// OPEN, COMPLETED or DECLINED.
    pub status: String,
    /// The result (completed) or the reason (declined).
    pub result: Option<String>,
    pub requested_by: Uuid,
    pub requested_at: DateTimeUtc,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<DateTimeUtc>,
    /// Still open at `due_by` (set once by the SLA monitor).
    pub overdue: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
