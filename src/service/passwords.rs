//! Passwords, chosen only by their owner: `changePassword` (the old password
//! required), and one-time reset tokens an administrator issues
//! (`issuePasswordReset`) and the user redeems (`resetPassword`). No
//! administrator ever sets or learns a user's password.
//!
//! Every change bumps the user's `token_version` (every access token dies) and
//! revokes every refresh token; every step, refused ones included, is audited.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, sea_query::{Expr, ExprTrait}};
use uuid::Uuid;

use super::{
    RequestContext, Services, UnitOfWork,
    auth::{self, MAX_PASSWORD_BYTES, Session},
};
use crate::{
    audit::{ChainKey, Changes, NewEvent},
    auth::{password, tokens},
    domain::{policy, validation},
    error::{AppError, AppResult},
};
use entity::{app_user, password_reset};

/// A reset token as issued: shown once, never stored.
pub struct ResetTicket {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: app_user::Model,
}

/// Longest reset token accepted (ours are 43 characters).
const MAX_TOKEN_BYTES: usize = 128;
const BAD_RESET: AppError = AppError::Unauthenticated("the reset token is invalid, used or expired");

/// The new password must meet the policy and differ from the old one.
fn check_new(field: &'static str, new: &str, email: &str) -> AppResult<()> {
    validation::password(field, new)?;
    if new.trim().eq_ignore_ascii_case(email) {
        return Err(AppError::validation(field, "must not be your email"));
    }
    Ok(())
}

async fn hash(services: &Services, new: &str) -> AppResult<String> {
    let _slot = services.login_limiter.hashing_slot().await?;
    let new = new.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&new)).await.map_err(AppError::internal)?.map_err(Into::into)
}

/// Sets a new password hash and ends every token of the user, in `uow`;
/// returns how many refresh tokens were revoked.
async fn replace_password(uow: &UnitOfWork, user: Uuid, hash: String) -> AppResult<u64> {
    app_user::Entity::update_many()
        .col_expr(app_user::Column::PasswordHash, Expr::value(hash))
        .col_expr(app_user::Column::TokenVersion, Expr::col(app_user::Column::TokenVersion).add(1))
        .col_expr(app_user::Column::UpdatedAt, Expr::value(super::now()))
        .filter(app_user::Column::Id.eq(user))
        .exec(uow.txn())
        .await?;
    auth::revoke_user_tokens(uow, user).await
}

/// The signed-in user changes their own password. The old password is
/// required (a stolen access token alone cannot take the account over) and
/// attempts are limited like sign-ins. Every session of the user ends; the
/// answer is a fresh session for the caller.
#[tracing::instrument(skip_all)]
pub async fn change_password(services: &Services, ctx: &RequestContext, old: &str, new: &str) -> AppResult<Session> {
    let actor = ctx.actor()?.clone();
    if old.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::validation("oldPassword", "at most 1024 bytes"));
    }
    let user = app_user::Entity::find_by_id(actor.user_id).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    check_new("newPassword", new, &user.email)?;
    if old == new {
        return Err(AppError::validation("newPassword", "must differ from the current password"));
    }
    let limiter = &services.login_limiter;
    let key = auth::limiter_key("password", &user.id.to_string());
    if limiter.reserve(&services.db, &key).await? > limiter.per_email as i64 {
        metrics::counter!("casework_login_rate_limited_total").increment(1);
        return Err(AppError::RateLimited);
    }
    let matches = {
        let _slot = limiter.hashing_slot().await?;
        let (stored, candidate) = (user.password_hash.clone(), old.to_owned());
        tokio::task::spawn_blocking(move || password::verify(Some(&stored), &candidate)).await.map_err(AppError::internal)?
    };
    if !matches {
        metrics::counter!("casework_login_failures_total").increment(1);
        let event = NewEvent::new(ChainKey::Security, "security.password_change_failed", "user", user.id);
        auth::refused(services, ctx, event).await?;
        return Err(AppError::validation("oldPassword", "is not your current password"));
    }
    limiter.release(&services.db, &key, true).await?;
    let hash = hash(services, new).await?;

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let revoked = replace_password(&uow, user.id, hash).await?;
    // The caller's new session, opened after every old one ended.
    let (family, refresh) = auth::start_family(services, &uow, user.id).await?;
    uow.record(
        NewEvent::new(ChainKey::Security, "security.password_changed", "user", user.id).changes(
            Changes::new().field("revokedTokens", 0, revoked as i64).set("session", family.to_string()),
        ),
    )
    .await?;
    uow.commit().await?;
    let user = app_user::Entity::find_by_id(user.id).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    auth::issue_session(services, user, family, refresh)
}

/// An administrator issues a one-time reset token for another user: shown
/// once, stored as a digest, valid for `CASEWORK_RESET_TOKEN_TTL_SECS`. Any
/// earlier unused token of the user stops working.
#[tracing::instrument(skip_all, fields(user = %user))]
pub async fn issue_reset(services: &Services, ctx: &RequestContext, user: Uuid) -> AppResult<ResetTicket> {
    let actor = ctx.actor()?;
    if !policy::can_administer(actor) {
        return Err(AppError::forbidden("only administrators issue password resets"));
    }
    if actor.user_id == user {
        return Err(AppError::forbidden("change your own password with changePassword"));
    }
    issue(services, ctx, user, Some(actor.user_id)).await
}

/// The operator's CLI issues a reset token (a first password for an account).
pub async fn issue_reset_as_operator(services: &Services, user: Uuid) -> AppResult<ResetTicket> {
    issue(services, &RequestContext::operator(), user, None).await
}

async fn issue(services: &Services, ctx: &RequestContext, user: Uuid, issued_by: Option<Uuid>) -> AppResult<ResetTicket> {
    let target = app_user::Entity::find_by_id(user).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    let now = super::now();
    let ttl = chrono::Duration::from_std(services.settings.reset_token_ttl).map_err(AppError::internal)?;
    let token = tokens::random_token();
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let superseded = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::UserId.eq(user))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(uow.txn())
        .await?;
    let reset = password_reset::Model {
        id: Uuid::now_v7(),
        user_id: user,
        token_hash: tokens::digest(&token),
        issued_by,
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
    };
    reset.clone().into_active_model().insert(uow.txn()).await?;
    uow.record(
        NewEvent::new(ChainKey::User(user), "user.password_reset_issued", "user", user).changes(
            Changes::new()
                .set("expiresAt", crate::audit::append::timestamp(reset.expires_at))
                .field("supersededTokens", 0, superseded.rows_affected as i64),
        ),
    )
    .await?;
    uow.commit().await?;
    Ok(ResetTicket { token, expires_at: reset.expires_at, user: target })
}

/// Redeems a reset token (no sign-in needed): once, before it expires. Every
/// token of the user dies. An unknown, used or expired token gets one stable
/// `UNAUTHENTICATED` answer, and the refusal is audited.
#[tracing::instrument(skip_all)]
pub async fn reset_password(services: &Services, ctx: &RequestContext, token: &str, new: &str) -> AppResult<bool> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AppError::validation("token", "at most 128 bytes"));
    }
    let digest = tokens::digest(token);
    let now = super::now();
    let refuse = |reason: &'static str| {
        NewEvent::new(ChainKey::Security, "security.password_reset_refused", "password_reset", "-")
            .changes(Changes::new().set("reason", reason))
    };
    let Some(reset) =
        password_reset::Entity::find().filter(password_reset::Column::TokenHash.eq(&digest)).one(&services.db).await?
    else {
        auth::refused(services, ctx, refuse("unknown")).await?;
        return Err(BAD_RESET);
    };
    if reset.used_at.is_some() || reset.expires_at <= now {
        let reason = if reset.used_at.is_some() { "used" } else { "expired" };
        auth::refused(services, ctx, refuse(reason)).await?;
        return Err(BAD_RESET);
    }
    let user = app_user::Entity::find_by_id(reset.user_id).one(&services.db).await?.ok_or(BAD_RESET)?;
    check_new("newPassword", new, &user.email)?;
    let hash = hash(services, new).await?;

    // The user is the actor of their own reset.
    let ctx = RequestContext { actor: Some(auth::actor_of(services, &user)?), ..ctx.clone() };
    let mut uow = UnitOfWork::begin(services, &ctx).await?;
    // Claim the token: only one redemption can ever succeed.
    let claimed = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::Id.eq(reset.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(uow.txn())
        .await?;
    if claimed.rows_affected == 0 {
        drop(uow);
        auth::refused(services, &ctx, refuse("used")).await?;
        return Err(BAD_RESET);
    }
    let revoked = replace_password(&uow, user.id, hash).await?;
    uow.record(
        NewEvent::new(ChainKey::User(user.id), "user.password_reset", "user", user.id)
            .changes(Changes::new().field("revokedTokens", 0, revoked as i64)),
    )
    .await?;
    uow.commit().await?;
    Ok(true)
}
