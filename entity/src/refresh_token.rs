//! An opaque refresh token, stored only as its SHA-256. Tokens issued by rotation
//! share a `family_id`, so reuse of a rotated token can revoke the whole family.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set when the token was exchanged for a new one.
    pub rotated_at: Option<DateTimeUtc>,
    /// Set by logout, deactivation or reuse detection.
    pub revoked_at: Option<DateTimeUtc>,
    /// The absolute end of the family (`CASEWORK_SESSION_MAX_SECS` after sign-in);
    /// rotation never extends it. `None` on tokens issued before it existed.
    pub family_expires_at: Option<DateTimeUtc>,
    /// The token that replaced this one, sealed with a key derived from this
    /// token: only its holder can retry a lost refresh and get the same answer.
    pub successor_sealed: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
