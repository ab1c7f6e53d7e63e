//! One contact with the customer about a complaint: who called whom, by which
//! channel, what kind of contact and what came of it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "contact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// A `Channel` name.
    pub channel: String,
    /// INBOUND (the customer contacted us) or OUTBOUND.
    pub direction: String,
    /// INTAKE, ACKNOWLEDGEMENT, PROGRESS_UPDATE, CHASER, CALLBACK, OTHER.
    pub kind: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub recorded_by: Uuid,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
