//! Sessions: sign-in with a password, refresh-token rotation with reuse
//! detection, sign-out (here or everywhere), and turning a bearer token into
//! an [`Actor`].
//!
//! The model: an access token (JWT, `CASEWORK_ACCESS_TOKEN_TTL_SECS`) carries
//! the user's `token_version`; bumping it (password, role or team change,
//! deactivation, `logoutAll`, refresh-token reuse) kills every access token
//! at once, checked in the same user lookup every request already makes. A
//! refresh token is single-use and belongs to a family that ends
//! `CASEWORK_SESSION_MAX_SECS` after sign-in whatever the rotations.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, sea_query::{Expr, ExprTrait}};
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
    let refresh = tokens::random_token();
    let session_max = chrono::Duration::from_std(services.settings.session_max).map_err(AppError::internal)?;
    insert_refresh_token(services, &uow, &refresh, user.id, Uuid::now_v7(), super::now() + session_max).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.started", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, refresh)
}

/// Exchanges a refresh token for a new pair. The old token stops working. A
/// second presentation of it within `CASEWORK_REFRESH_RETRY_SECS`, while its
/// successor is still unused, is a retry of an answer lost on the network and
/// gets the same refresh token again; any other presentation of a rotated
/// token is reuse: the family is revoked, every access token of the user dies
/// (`token_version`), and the reuse is audited.
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
    if stored.revoked_at.is_some() || stored.expires_at <= now || family_end(services, &stored)? <= now {
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
    let successor = tokens::random_token();
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .col_expr(refresh_token::Column::SuccessorSealed, Expr::value(tokens::seal(&successor, token)))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(uow.txn())
        .await?;
    if claimed.rows_affected == 0 {
        // Someone exchanged it first (or at the same time): a retry or reuse.
        let current = refresh_token::Entity::find_by_id(stored.id).one(uow.txn()).await?.ok_or(BAD_REFRESH)?;
        if let Some(successor) = retry_successor(services, uow.txn(), &current, token, now).await? {
            drop(uow);
            return issue_session(services, user, successor);
        }
        reuse_detected(&mut uow, &user, &current, now, "refreshSession").await?;
        uow.commit().await?;
        return Err(BAD_REFRESH);
    }
    let family_end = family_end(services, &stored)?;
    insert_refresh_token(services, &uow, &successor, user.id, stored.family_id, family_end).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.refreshed", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, successor)
}

/// The successor of a rotated token when presenting it again is a retry: within
/// the window, and the successor neither used nor revoked.
async fn retry_successor(
    services: &Services,
    db: &impl sea_orm::ConnectionTrait,
    current: &refresh_token::Model,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let (Some(rotated_at), Some(sealed), None) = (current.rotated_at, &current.successor_sealed, current.revoked_at) else {
        return Ok(None);
    };
    let window = chrono::Duration::from_std(services.settings.refresh_retry).map_err(AppError::internal)?;
    if now - rotated_at > window {
        return Ok(None);
    }
    let Some(successor) = tokens::unseal(sealed, token) else { return Ok(None) };
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(tokens::digest(&successor)))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(live.map(|_| successor))
}

/// A rotated token came back: the session was copied. Revokes its family, ends
/// every access token of the user, and records it on the user's chain.
async fn reuse_detected(
    uow: &mut UnitOfWork,
    user: &app_user::Model,
    token: &refresh_token::Model,
    now: DateTime<Utc>,
    via: &str,
) -> AppResult<()> {
    let revoked = revoke_family(uow, token.family_id, now).await?;
    bump_token_version(uow, user.id).await?;
    uow.record(
        NewEvent::new(ChainKey::User(user.id), "session.token_reused", "user", user.id).changes(
            Changes::new()
                .field("revokedTokens", 0, revoked as i64)
                .set("family", token.family_id.to_string())
                .set("presentedTo", via),
        ),
    )
    .await?;
    metrics::counter!("casework_refresh_token_reuse_total").increment(1);
    tracing::warn!(user = %user.id, family = %token.family_id, "refresh token reused; session revoked");
    Ok(())
}

/// Ends the session of a refresh token. `false` when there was nothing to end.
/// A rotated token is reuse, as in [`refresh`]: its whole family ends.
#[tracing::instrument(skip_all)]
pub async fn logout(services: &Services, ctx: &RequestContext, token: &str) -> AppResult<bool> {
    let Some(stored) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(tokens::digest(token)))
        .one(&services.db)
        .await?
    else {
        return Ok(false);
    };
    if stored.revoked_at.is_some() {
        return Ok(false);
    }
    let user = app_user::Entity::find_by_id(stored.user_id).one(&services.db).await?;
    // The session's owner is the actor of its end, whether or not a bearer token came along.
    let ctx = match &user {
        Some(user) => RequestContext { actor: Some(actor_of(services, user)?), ..ctx.clone() },
        None => ctx.clone(),
    };
    let now = super::now();
    let mut uow = UnitOfWork::begin(services, &ctx).await?;
    if let (Some(_), Some(user)) = (stored.rotated_at, &user) {
        reuse_detected(&mut uow, user, &stored, now, "logout").await?;
        uow.commit().await?;
        return Ok(true);
    }
    let revoked = revoke_family(&uow, stored.family_id, now).await?;
    if revoked == 0 {
        return Ok(false);
    }
    uow.record(NewEvent::new(ChainKey::User(stored.user_id), "session.ended", "user", stored.user_id)).await?;
    uow.commit().await?;
    Ok(true)
}

/// Signs the caller out everywhere: every refresh token is revoked and every
/// access token issued so far stops working. Returns the revoked sessions' tokens count.
#[tracing::instrument(skip_all)]
pub async fn logout_all(services: &Services, ctx: &RequestContext) -> AppResult<u64> {
    let actor = ctx.actor()?.clone();
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let revoked = revoke_user_tokens(&uow, actor.user_id).await?;
    bump_token_version(&uow, actor.user_id).await?;
    uow.record(
        NewEvent::new(ChainKey::User(actor.user_id), "session.ended_everywhere", "user", actor.user_id)
            .changes(Changes::new().field("revokedTokens", 0, revoked as i64)),
    )
    .await?;
    uow.commit().await?;
    Ok(revoked)
}

/// A verified access token: its caller and when it stops being valid.
pub struct Authenticated {
    pub actor: Actor,
    pub token_version: i32,
    pub expires_at: i64,
}

/// The caller behind a bearer token: the token must verify, and its user must
/// still exist, be active and have the token's `token_version`. Role and team
/// come from the database (the one lookup a request makes), so changes take
/// effect at once.
pub async fn authenticate(services: &Services, bearer: &str) -> AppResult<Actor> {
    Ok(authenticate_token(services, bearer).await?.actor)
}

/// [`authenticate`], keeping what a long-lived connection re-checks.
pub async fn authenticate_token(services: &Services, bearer: &str) -> AppResult<Authenticated> {
    let claims = services.jwt.verify(bearer).ok_or(INVALID_ACCESS)?;
    let authenticated = recheck(services, claims.sub, claims.ver).await?;
    Ok(Authenticated { expires_at: claims.exp, ..authenticated })
}

/// Whether the user of a token of `version` may still act, and as whom.
pub async fn recheck(services: &Services, user: Uuid, version: i32) -> AppResult<Authenticated> {
    let user = app_user::Entity::find_by_id(user).one(&services.db).await?.ok_or(INVALID_ACCESS)?;
    if !user.active || user.token_version != version {
        return Err(INVALID_ACCESS);
    }
    Ok(Authenticated { actor: actor_of(services, &user)?, token_version: version, expires_at: 0 })
}

const INVALID_ACCESS: AppError = AppError::Unauthenticated("the access token is invalid or expired");

pub fn actor_of(services: &Services, user: &app_user::Model) -> AppResult<Actor> {
    let role: Role = crate::error::stored(&user.role)?;
    let authority_limit = match &user.authority_limit {
        Some(limit) => limit.parse::<Decimal>().map_err(AppError::internal)?,
        None => services.settings.role_authority_limit(role),
    };
    Ok(Actor { user_id: user.id, role, team_id: user.team_id, authority_limit })
}

/// Ends every access token of a user issued so far (they carry the old version).
pub(crate) async fn bump_token_version(uow: &UnitOfWork, user: Uuid) -> AppResult<()> {
    app_user::Entity::update_many()
        .col_expr(app_user::Column::TokenVersion, Expr::col(app_user::Column::TokenVersion).add(1))
        .filter(app_user::Column::Id.eq(user))
        .exec(uow.txn())
        .await?;
    Ok(())
}

/// When the family of `token` ends: fixed at sign-in, or (tokens from before
/// the limit existed) the limit counted from the token's creation.
fn family_end(services: &Services, token: &refresh_token::Model) -> AppResult<DateTime<Utc>> {
    match token.family_expires_at {
        Some(end) => Ok(end),
        None => Ok(token.created_at + chrono::Duration::from_std(services.settings.session_max).map_err(AppError::internal)?),
    }
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

async fn insert_refresh_token(
    services: &Services,
    uow: &UnitOfWork,
    token: &str,
    user: Uuid,
    family: Uuid,
    family_end: DateTime<Utc>,
) -> AppResult<()> {
    let now = super::now();
    let ttl = chrono::Duration::from_std(services.settings.refresh_token_ttl).map_err(AppError::internal)?;
    refresh_token::Model {
        id: Uuid::now_v7(),
        user_id: user,
        family_id: family,
        token_hash: tokens::digest(token),
        created_at: now,
        expires_at: std::cmp::min(now + ttl, family_end),
        rotated_at: None,
        revoked_at: None,
        family_expires_at: Some(family_end),
        successor_sealed: None,
    }
    .into_active_model()
    .insert(uow.txn())
    .await?;
    Ok(())
}

fn issue_session(services: &Services, user: app_user::Model, refresh_token: String) -> AppResult<Session> {
    let role: Role = crate::error::stored(&user.role)?;
    let (access_token, expires_at) = services.jwt.issue(user.id, role, user.token_version, super::now())?;
    Ok(Session { access_token, refresh_token, expires_at, user })
}
