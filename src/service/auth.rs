//! Sessions: sign-in with a password, refresh-token rotation with reuse
//! detection, sign-out, and turning a bearer token into an [`Actor`].

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork};
use crate::{
    audit::{ChainKey, Changes, NewEvent},
    auth::{Actor, password, tokens},
    domain::{Role, validation::Email},
    error::{AppError, AppResult},
};
use entity::{app_user, refresh_token};

/// What a successful sign-in or refresh returns.
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: app_user::Model,
}

const BAD_CREDENTIALS: AppError = AppError::Unauthenticated("wrong email or password");
const BAD_REFRESH: AppError = AppError::Unauthenticated("the session has expired; sign in again");

/// Counts failed sign-ins per email in a sliding minute. Per instance: several
/// instances each allow the limit, which still caps guessing at a low rate.
pub struct LoginLimiter {
    per_minute: u32,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter { per_minute, failures: Mutex::default() }
    }

    fn check(&self, key: &str) -> AppResult<()> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(key) {
            Some((since, count)) if since.elapsed() < Duration::from_secs(60) && *count >= self.per_minute => {
                Err(AppError::RateLimited)
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
        }
        let entry = failures.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Duration::from_secs(60) {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    fn succeeded(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// Signs in with email and password. A wrong password, an unknown email and an
/// inactive account give the same error after the same work.
#[tracing::instrument(skip_all)]
pub async fn login(services: &Services, ctx: &RequestContext, email: &str, password: &str) -> AppResult<Session> {
    let key = email.trim().to_lowercase();
    services.login_limiter.check(&key)?;
    let user = match Email::parse("email", email) {
        Ok(email) => app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(&services.db).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let candidate = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify(stored.as_deref(), &candidate))
        .await
        .map_err(AppError::internal)?;
    let user = match user {
        Some(user) if matches && user.active => user,
        _ => {
            services.login_limiter.failed(&key);
            tracing::warn!(email = %key, "failed sign-in");
            return Err(BAD_CREDENTIALS);
        }
    };
    services.login_limiter.succeeded(&key);

    let ctx = RequestContext { actor: Some(actor_of(services, &user)?), ..ctx.clone() };
    let mut uow = UnitOfWork::begin(services, &ctx).await?;
    let refresh = insert_refresh_token(services, &uow, user.id, Uuid::now_v7()).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.started", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, refresh)
}

/// Exchanges a refresh token for a new pair. The old token stops working; a
/// second use of it revokes every token of its family (the session was stolen).
#[tracing::instrument(skip_all)]
pub async fn refresh(services: &Services, ctx: &RequestContext, token: &str) -> AppResult<Session> {
    let digest = tokens::digest(token);
    let Some(stored) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(digest))
        .one(&services.db)
        .await?
    else {
        return Err(BAD_REFRESH);
    };
    let now = super::now();
    if stored.revoked_at.is_some() || stored.expires_at <= now {
        return Err(BAD_REFRESH);
    }
    let Some(user) = app_user::Entity::find_by_id(stored.user_id).one(&services.db).await? else {
        return Err(BAD_REFRESH);
    };
    if !user.active {
        return Err(BAD_REFRESH);
    }
    let ctx = RequestContext { actor: Some(actor_of(services, &user)?), ..ctx.clone() };
    let mut uow = UnitOfWork::begin(services, &ctx).await?;

    // Claim the token: only one exchange of it can ever succeed.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(uow.txn())
        .await?;
    if claimed.rows_affected == 0 {
        let revoked = revoke_family(&uow, stored.family_id, now).await?;
        uow.record(
            NewEvent::new(ChainKey::User(user.id), "session.token_reused", "user", user.id)
                .changes(Changes::new().field("revokedTokens", 0, revoked as i64)),
        )
        .await?;
        uow.commit().await?;
        tracing::warn!(user = %user.id, family = %stored.family_id, "refresh token reused; session revoked");
        return Err(BAD_REFRESH);
    }
    let refresh = insert_refresh_token(services, &uow, user.id, stored.family_id).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.refreshed", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, refresh)
}

/// Ends the session of a refresh token. `false` when there was nothing to end.
#[tracing::instrument(skip_all)]
pub async fn logout(services: &Services, ctx: &RequestContext, token: &str) -> AppResult<bool> {
    let Some(stored) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(tokens::digest(token)))
        .one(&services.db)
        .await?
    else {
        return Ok(false);
    };
    if stored.revoked_at.is_some() || stored.rotated_at.is_some() {
        return Ok(false);
    }
    // The session's owner is the actor of its end, whether or not a bearer token came along.
    let ctx = match app_user::Entity::find_by_id(stored.user_id).one(&services.db).await? {
        Some(user) => RequestContext { actor: Some(actor_of(services, &user)?), ..ctx.clone() },
        None => ctx.clone(),
    };
    let mut uow = UnitOfWork::begin(services, &ctx).await?;
    let revoked = revoke_family(&uow, stored.family_id, super::now()).await?;
    if revoked == 0 {
        return Ok(false);
    }
    uow.record(NewEvent::new(ChainKey::User(stored.user_id), "session.ended", "user", stored.user_id)).await?;
    uow.commit().await?;
    Ok(true)
}

/// The caller behind a bearer token: the token must verify, and its user must
/// still exist and be active. Role and team come from the database, so changes
/// take effect at once.
pub async fn authenticate(services: &Services, bearer: &str) -> AppResult<Actor> {
    const INVALID: AppError = AppError::Unauthenticated("the access token is invalid or expired");
    let claims = services.jwt.verify(bearer).ok_or(INVALID)?;
    let user = app_user::Entity::find_by_id(claims.sub).one(&services.db).await?.ok_or(INVALID)?;
    if !user.active {
        return Err(INVALID);
    }
    actor_of(services, &user)
}

pub fn actor_of(services: &Services, user: &app_user::Model) -> AppResult<Actor> {
    let role: Role = crate::error::stored(&user.role)?;
    let authority_limit = match &user.authority_limit {
        Some(limit) => limit.parse::<Decimal>().map_err(AppError::internal)?,
        None => services.settings.role_authority_limit(role),
    };
    Ok(Actor { user_id: user.id, role, team_id: user.team_id, authority_limit })
}

/// Revokes every live token of a user (deactivation).
pub(crate) async fn revoke_user_tokens(uow: &UnitOfWork, user: Uuid) -> AppResult<u64> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(super::now()))
        .filter(refresh_token::Column::UserId.eq(user))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(uow.txn())
        .await?;
    Ok(result.rows_affected)
}

async fn revoke_family(uow: &UnitOfWork, family: Uuid, now: DateTime<Utc>) -> AppResult<u64> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(uow.txn())
        .await?;
    Ok(result.rows_affected)
}

async fn insert_refresh_token(services: &Services, uow: &UnitOfWork, user: Uuid, family: Uuid) -> AppResult<String> {
    let token = tokens::random_token();
    let now = super::now();
    let ttl = chrono::Duration::from_std(services.settings.refresh_token_ttl).map_err(AppError::internal)?;
    refresh_token::Model {
        id: Uuid::now_v7(),
        user_id: user,
        family_id: family,
        token_hash: tokens::digest(&token),
        created_at: now,
        expires_at: now + ttl,
        rotated_at: None,
        revoked_at: None,
    }
    .into_active_model()
    .insert(uow.txn())
    .await?;
    Ok(token)
}

fn issue_session(services: &Services, user: app_user::Model, refresh_token: String) -> AppResult<Session> {
    let role: Role = crate::error::stored(&user.role)?;
    let (access_token, expires_at) = services.jwt.issue(user.id, role, super::now())?;
    Ok(Session { access_token, refresh_token, expires_at, user })
}
