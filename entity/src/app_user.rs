//! A person who signs in: agent, supervisor, legal, auditor or admin.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased; unique.
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// `AGENT`, `SUPERVISOR`, `LEGAL`, `AUDITOR` or `ADMIN`.
    pub role: String,
    pub team_id: Option<Uuid>,
    /// Per-user override of the role's compensation authority (decimal text).
    pub authority_limit: Option<String>,
    /// The currency of `authority_limit`; `None` is the configured authority currency.
    pub authority_currency: Option<String>,
    pub active: bool,
    /// argon2id PHC string; never leaves the service layer.
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// Carried in every access token; bumping it revokes all of them
    /// (password, role or team change, deactivation, sign-out everywhere, reuse).
    pub token_version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
