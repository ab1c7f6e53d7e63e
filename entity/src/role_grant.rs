//! A privilege an administrator asked for (a role above AGENT, a higher
//! authority limit, a new privileged account); it takes effect only when a
//! second, different administrator approves it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_grant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub requested_by: Uuid,
    /// The role granted; `None` leaves it.
    pub role: Option<String>,
    /// The authority limit granted (decimal text); `None` leaves it.
    pub authority_limit: Option<String>,
    /// The currency of that limit; `None` is the configured authority currency.
    pub authority_currency: Option<String>,
    /// A new account, inactive until approved.
    pub activates: bool,
    /// The user's `version` when requested: a user changed since makes it stale.
    pub user_version: i32,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
