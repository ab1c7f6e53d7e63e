//! Sign-in, token refresh, sign-out and `me`.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{context::ContextExt, types::User};
use crate::{error::AppResult, service::auth};

/// Tokens for a signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque token for `refreshSession`; each use rotates it.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl From<auth::Session> for AuthPayload {
    fn from(session: auth::Session) -> Self {
        AuthPayload {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: session.expires_at,
            user: User(session.user),
        }
    }
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in caller.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        let actor = ctx.actor()?;
        let user = ctx.loaders()?.users.load_one(actor.user_id).await?;
        user.map(User).ok_or(crate::error::AppError::Unauthenticated("the account no longer exists"))
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in. A wrong password and an unknown email give the same error.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> AppResult<AuthPayload> {
        Ok(auth::login(ctx.services()?, ctx.request()?, &email, &password).await?.into())
    }

    /// Exchanges a refresh token for new tokens; the old refresh token stops working.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<AuthPayload> {
        Ok(auth::refresh(ctx.services()?, ctx.request()?, &refresh_token).await?.into())
    }

    /// Ends the session of a refresh token. False when there was no live session.
    /// An already-rotated token is taken as a stolen copy: its whole session ends.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        auth::logout(ctx.services()?, ctx.request()?, &refresh_token).await
    }

    /// Signs the caller out everywhere: every refresh token is revoked and every
    /// access token issued so far stops working at once. Returns true.
    async fn logout_all(&self, ctx: &Context<'_>) -> AppResult<bool> {
        auth::logout_all(ctx.services()?, ctx.request()?).await?;
        Ok(true)
    }
}
