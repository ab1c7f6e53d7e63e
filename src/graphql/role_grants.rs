//! Role grants: privileges an administrator asked for, waiting for a second one.

use async_graphql::{Context, ID, Object, connection::{Connection, Edge}};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{connection::page_size, context::ContextExt, types::User};
use crate::{
    domain::{Role, RoleGrantStatus},
    error::{AppResult, stored},
    ids::{self, Kind},
    service::role_grants,
};
use entity::role_grant;

/// A privilege (a role above AGENT, a higher authority limit, a new privileged
/// account) that takes effect only when a second administrator approves it.
pub struct RoleGrant(pub role_grant::Model);

#[Object]
impl RoleGrant {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::RoleGrant, self.0.id)
    }
    /// Who receives the privilege.
    async fn user(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.user_id).await?.map(User))
    }
    /// The administrator who asked for it.
    async fn requested_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        Ok(ctx.loaders()?.users.load_one(self.0.requested_by).await?.map(User))
    }
    /// The role granted; null when the role does not change.
    async fn role(&self) -> AppResult<Option<Role>> {
        self.0.role.as_deref().map(stored).transpose()
    }
    /// The authority limit granted; null when it does not change.
    async fn authority_limit(&self) -> AppResult<Option<Decimal>> {
        self.0.authority_limit.as_deref().map(|l| l.parse().map_err(crate::error::AppError::internal)).transpose()
    }
    /// The currency of that limit; null: the authority currency.
    async fn authority_currency(&self) -> Option<&str> {
        self.0.authority_currency.as_deref()
    }
    /// A new account, inactive until approved.
    async fn activates_account(&self) -> bool {
        self.0.activates
    }
    async fn status(&self) -> AppResult<RoleGrantStatus> {
        stored(&self.0.status)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Who decided it; null while pending.
    async fn decided_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user) = self.0.decided_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(user).await?.map(User))
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The reason of a rejection.
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
}

#[derive(Default)]
pub struct RoleGrantQuery;

#[Object]
impl RoleGrantQuery {
    /// Role grants with `status`, oldest first (administrators).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn role_grants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "RoleGrantStatus::Pending")] status: RoleGrantStatus,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, RoleGrant>> {
        let (limit, _) = page_size(first, None)?;
        let after = match &after {
            Some(cursor) => Some(ids::decode(Kind::RoleGrant, "after", &ID(cursor.clone()))?),
            None => None,
        };
        let mut rows = role_grants::list(ctx.services()?, ctx.request()?, status, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges = rows.into_iter().map(|g| Edge::new(ids::encode(Kind::RoleGrant, g.id).0, RoleGrant(g))).collect();
        Ok(connection)
    }
}

#[derive(Default)]
pub struct RoleGrantMutation;

#[Object]
impl RoleGrantMutation {
    /// Approves a pending grant: a second administrator, neither its requester
    /// nor its grantee. CONFLICT when the user changed since it was requested.
    async fn approve_role_grant(&self, ctx: &Context<'_>, id: ID) -> AppResult<RoleGrant> {
        let id = ids::decode(Kind::RoleGrant, "id", &id)?;
        Ok(RoleGrant(role_grants::approve(ctx.services()?, ctx.request()?, id).await?))
    }

    /// Rejects (or, by its requester, withdraws) a pending grant; nothing changes.
    async fn reject_role_grant(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<RoleGrant> {
        let id = ids::decode(Kind::RoleGrant, "id", &id)?;
        Ok(RoleGrant(role_grants::reject(ctx.services()?, ctx.request()?, id, &reason).await?))
    }
}
