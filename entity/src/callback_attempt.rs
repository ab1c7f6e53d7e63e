//! One attempt to call the customer back after resolution: reached or not,
//! satisfied or not, a 1–5 score. Appended, never overwritten.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "callback_attempt")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// The complaint's handling cycle when the call was made.
    pub cycle: i32,
    pub at: DateTimeUtc,
    /// The user who called.
    pub by_user: Uuid,
    pub reached: bool,
    /// Null when the customer was not reached.
    pub satisfied: Option<bool>,
    pub score: Option<i32>,
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
