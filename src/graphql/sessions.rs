//! Sign-in, token refresh, sign-out and `me`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{context::ContextExt, types::User};
use crate::{
    error::AppResult,
    ids::{self, Kind},
    service::{auth, passwords},
};

/// A one-time password-reset token, shown once: hand it to the user, who
/// redeems it with `resetPassword`. Only its digest is stored.
#[derive(SimpleObject)]
pub struct PasswordReset {
    /// The token; never shown again.
    pub token: String,
    /// When it stops working (`CASEWORK_RESET_TOKEN_TTL_SECS` after issue).
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

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
    /// At most one `login` or `refreshSession` per request; email at most 254
    /// bytes; attempts are limited per email and per client address.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> AppResult<AuthPayload> {
        one_session_field(ctx)?;
        Ok(auth::login(ctx.services()?, ctx.request()?, &email, &password).await?.into())
    }

    /// Exchanges a refresh token for new tokens; the old refresh token stops working.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<AuthPayload> {
        one_session_field(ctx)?;
        Ok(auth::refresh(ctx.services()?, ctx.request()?, &refresh_token).await?.into())
    }

    /// Ends the session of a refresh token. False when there was no live session.
    /// An already-rotated token is taken as a stolen copy: its whole session ends.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        auth::logout(ctx.services()?, ctx.request()?, &refresh_token).await
    }

    /// Changes the caller's own password (the current one is required; limited
    /// like sign-ins). Every session and access token of the user ends; the
    /// answer is a fresh session. A wrong `oldPassword` is a VALIDATION error.
    async fn change_password(&self, ctx: &Context<'_>, old_password: String, new_password: String) -> AppResult<AuthPayload> {
        one_session_field(ctx)?;
        Ok(passwords::change_password(ctx.services()?, ctx.request()?, &old_password, &new_password).await?.into())
    }

    /// Issues a one-time password-reset token for another user (administrators;
    /// nobody else ever chooses a user's password). Earlier unused tokens of the
    /// user stop working.
    async fn issue_password_reset(&self, ctx: &Context<'_>, user_id: ID) -> AppResult<PasswordReset> {
        let user = ids::decode(Kind::User, "userId", &user_id)?;
        let ticket = passwords::issue_reset(ctx.services()?, ctx.request()?, user).await?;
        Ok(PasswordReset { token: ticket.token, expires_at: ticket.expires_at, user: User(ticket.user) })
    }

    /// Sets a new password with a reset token (no sign-in needed): once, before
    /// it expires; every session of the user ends. An unknown, used or expired
    /// token is UNAUTHENTICATED. Returns true.
    async fn reset_password(&self, ctx: &Context<'_>, token: String, new_password: String) -> AppResult<bool> {
        one_session_field(ctx)?;
        passwords::reset_password(ctx.services()?, ctx.request()?, &token, &new_password).await
    }

    /// Signs the caller out everywhere: every refresh token is revoked and every
    /// access token issued so far stops working at once. Returns true.
    async fn logout_all(&self, ctx: &Context<'_>) -> AppResult<bool> {
        auth::logout_all(ctx.services()?, ctx.request()?).await?;
        Ok(true)
    }
}

/// Refuses a document with more than one `login`, `refreshSession`,
/// `changePassword` or `resetPassword` field (aliases and fragments
/// included): one request, one password guess.
fn one_session_field(ctx: &Context<'_>) -> AppResult<()> {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn count(ctx: &Context<'_>, set: &SelectionSet, depth: usize) -> usize {
        if depth > 8 {
            return 0;
        }
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(matches!(
                        field.node.name.node.as_str(),
                        "login" | "refreshSession" | "changePassword" | "resetPassword"
                    ))
                }
                Selection::InlineFragment(fragment) => count(ctx, &fragment.node.selection_set.node, depth + 1),
                Selection::FragmentSpread(spread) => ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |f| count(ctx, &f.node.selection_set.node, depth + 1)),
            })
            .sum()
    }
    if count(ctx, &ctx.query_env.operation.node.selection_set.node, 0) > 1 {
        return Err(crate::error::AppError::validation(
            "login",
            "at most one login, refreshSession, changePassword or resetPassword per request",
        ));
    }
    Ok(())
}
