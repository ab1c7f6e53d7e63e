//! Users and teams.

use async_graphql::{Context, ID, Object, connection::{Connection, Edge}};

use super::{
    connection::page_size,
    context::ContextExt,
    types::{Team, User},
};
use crate::{
    domain::Role,
    error::AppResult,
    ids::{self, Kind},
    service::users::{self, CreateTeamInput, CreateUserInput, UpdateUserInput},
};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Users, in creation order (administrators).
    #[graphql(complexity = "5 + child_complexity * (first.unwrap_or(20).clamp(1, 100) as usize)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        role: Option<Role>,
        team_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, User>> {
        let (limit, _) = page_size(first, None)?;
        let team = ids::decode_opt(Kind::Team, "teamId", team_id.as_ref())?;
        let after = match &after {
            Some(cursor) => Some(ids::decode(Kind::User, "after", &ID(cursor.clone()))?),
            None => None,
        };
        let mut rows = users::list_users(ctx.services()?, ctx.request()?, role, team, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges = rows.into_iter().map(|u| Edge::new(ids::encode(Kind::User, u.id).0, User(u))).collect();
        Ok(connection)
    }

    /// Every team, by tier and name (at most 100).
    #[graphql(complexity = "1 + child_complexity * crate::graphql::SMALL_LIST_CAP")]
    async fn teams(&self, ctx: &Context<'_>) -> AppResult<Vec<Team>> {
        let teams = users::list_teams(ctx.services()?, ctx.request()?).await?;
        Ok(teams.into_iter().take(crate::graphql::SMALL_LIST_CAP).map(Team).collect())
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user (administrators).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> AppResult<User> {
        Ok(User(users::create_user(ctx.services()?, ctx.request()?, input).await?))
    }

    /// Changes a user (administrators). Fails with CONFLICT when `expectedVersion` is stale.
    async fn update_user(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: UpdateUserInput) -> AppResult<User> {
        let id = ids::decode(Kind::User, "id", &id)?;
        let team = ids::decode_opt(Kind::Team, "input.teamId", input.team_id.as_ref())?;
        Ok(User(users::update_user(ctx.services()?, ctx.request()?, id, expected_version, input, team).await?))
    }

    /// Deactivates a user: no more sign-ins, and their tokens stop working.
    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> AppResult<User> {
        let id = ids::decode(Kind::User, "id", &id)?;
        Ok(User(users::deactivate_user(ctx.services()?, ctx.request()?, id).await?))
    }

    /// Creates a team (administrators).
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> AppResult<Team> {
        Ok(Team(users::create_team(ctx.services()?, ctx.request()?, input).await?))
    }
}

