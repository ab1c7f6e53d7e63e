//! A group complaint: several complaints with one common cause (an outage in
//! one building, a faulty batch), handled by one lead team that tells every
//! member's customer the same progress at once.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "complaint_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Human reference, `GRP-2026-000001`.
    #[sea_orm(unique)]
    pub reference: String,
    pub title: String,
    /// The common cause, as far as it is known.
    pub cause: String,
    /// The team that leads the group's handling and posts its updates.
    pub lead_team_id: Uuid,
    /// OPEN or CLOSED.
    pub status: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    /// When the last group update was posted to the members.
    pub last_update_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
