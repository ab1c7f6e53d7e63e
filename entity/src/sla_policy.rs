//! Response and resolution targets for a severity (optionally one category),
//! with an optional business-hours calendar.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "sla_policy")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub severity: String,
    /// A `Category` name, or empty for every category of the severity.
    pub category: String,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    pub business_hours_only: bool,
    /// ISO weekdays that are working days, e.g. `1,2,3,4,5`.
    pub working_days: String,
    pub day_start_minute: i32,
    pub day_end_minute: i32,
    pub utc_offset_minutes: i32,
    /// Comma-separated `YYYY-MM-DD` dates.
    pub holidays: String,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
