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

/// Longest email accepted at sign-in (RFC 5321's path limit), checked before any work.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest password accepted at sign-in; argon2 never sees more.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Sign-in limits. Attempts are counted in the database (table
/// `login_attempt`), so every instance shares them, and each attempt is
/// reserved — counted in one atomic upsert — before the password is checked,
/// so a parallel burst cannot slip past the limit. Keys are digests of the
/// normalised email and of the client address: fixed size, whatever was
/// submitted. Password hashing waits for one of a few slots (argon2 takes
/// ~19 MiB each); a sign-in that cannot get one in time is `RATE_LIMITED`.
pub struct LoginLimiter {
    pub(crate) per_email: u32,
    per_address: u32,
    hashing: tokio::sync::Semaphore,
    hash_wait: std::time::Duration,
}

const WINDOW_SECS: i64 = 60;

impl LoginLimiter {
    pub fn new(settings: &crate::config::Settings) -> LoginLimiter {
        LoginLimiter {
            per_email: settings.login_attempts_per_minute,
            per_address: settings.login_attempts_per_address_per_minute,
            hashing: tokio::sync::Semaphore::new(settings.password_hash_concurrency),
            hash_wait: settings.password_hash_wait,
        }
    }

    /// A slot to hash a password in, or `RATE_LIMITED` after a short wait.
    pub(crate) async fn hashing_slot(&self) -> AppResult<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(self.hash_wait, self.hashing.acquire()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => {
                metrics::counter!("casework_login_rate_limited_total").increment(1);
                Err(AppError::RateLimited)
            }
        }
    }

    /// Counts one attempt for `key` in its current window; returns the count.
    pub(crate) async fn reserve(&self, db: &impl sea_orm::ConnectionTrait, key: &str) -> AppResult<i64> {
        use sea_orm::{DatabaseBackend, Statement};
        let now = Utc::now().timestamp();
        let sql = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                "INSERT INTO login_attempt (key, window_start, attempts) VALUES ($1, $2, 1) \
                 ON CONFLICT (key) DO UPDATE SET \
                 attempts = CASE WHEN login_attempt.window_start <= $3 THEN 1 ELSE login_attempt.attempts + 1 END, \
                 window_start = CASE WHEN login_attempt.window_start <= $3 THEN $2 ELSE login_attempt.window_start END \
                 RETURNING attempts"
            }
            _ => {
                "INSERT INTO login_attempt (key, window_start, attempts) VALUES (?1, ?2, 1) \
                 ON CONFLICT (key) DO UPDATE SET \
                 attempts = CASE WHEN login_attempt.window_start <= ?3 THEN 1 ELSE login_attempt.attempts + 1 END, \
                 window_start = CASE WHEN login_attempt.window_start <= ?3 THEN ?2 ELSE login_attempt.window_start END \
                 RETURNING attempts"
            }
        };
        let statement =
            Statement::from_sql_and_values(db.get_database_backend(), sql, [key.into(), now.into(), (now - WINDOW_SECS).into()]);
        let row = db.query_one_raw(statement).await?.ok_or_else(|| AppError::internal(anyhow::anyhow!("upsert returned no row")))?;
        let attempts: i32 = row.try_get("", "attempts")?;
        // Now and then, forget windows long closed (keeps the table small).
        if now % 16 == 0 {
            let sql = match db.get_database_backend() {
                DatabaseBackend::Postgres => "DELETE FROM login_attempt WHERE window_start < $1",
                _ => "DELETE FROM login_attempt WHERE window_start < ?1",
            };
            db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, [(now - 2 * WINDOW_SECS).into()]))
                .await?;
        }
        Ok(attempts as i64)
    }

    /// Gives back an attempt that succeeded (`forget`: the email's count starts over).
    pub(crate) async fn release(&self, db: &impl sea_orm::ConnectionTrait, key: &str, forget: bool) -> AppResult<()> {
        use sea_orm::{DatabaseBackend, Statement};
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        let sql = match (forget, postgres) {
            (true, true) => "DELETE FROM login_attempt WHERE key = $1",
            (true, false) => "DELETE FROM login_attempt WHERE key = ?1",
            (false, true) => "UPDATE login_attempt SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0",
            (false, false) => "UPDATE login_attempt SET attempts = attempts - 1 WHERE key = ?1 AND attempts > 0",
        };
        db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, [key.into()])).await?;
        Ok(())
    }
}

pub(crate) fn limiter_key(kind: &str, value: &str) -> String {
    tokens::digest(&format!("{kind}:{value}"))
}

/// Signs in with email and password. A wrong password, an unknown email and an
/// inactive account give the same error after the same work. Every failure is
/// recorded on the `security` audit chain; the first refusal of a window
/// (a lock-out) too.
#[tracing::instrument(skip_all)]
pub async fn login(services: &Services, ctx: &RequestContext, email: &str, password: &str) -> AppResult<Session> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(AppError::validation("email", "at most 254 bytes"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::validation("password", "at most 1024 bytes"));
    }
    let normalised = email.trim().to_lowercase();
    let limiter = &services.login_limiter;
    let email_key = limiter_key("email", &normalised);
    let address_key = ctx.client_addr.as_deref().map(|addr| limiter_key("addr", addr));
    let by_email = limiter.reserve(&services.db, &email_key).await?;
    let by_address = match &address_key {
        Some(key) => limiter.reserve(&services.db, key).await?,
        None => 0,
    };
    if by_email > limiter.per_email as i64 || by_address > limiter.per_address as i64 {
        metrics::counter!("casework_login_rate_limited_total").increment(1);
        // The first refusal of a window is a lock-out worth recording.
        if by_email == limiter.per_email as i64 + 1 || by_address == limiter.per_address as i64 + 1 {
            security_event(services, ctx, "security.sign_in_locked", &normalised).await?;
        }
        return Err(AppError::RateLimited);
    }
    let Ok(_slot) = tokio::time::timeout(limiter.hash_wait, limiter.hashing.acquire()).await else {
        metrics::counter!("casework_login_rate_limited_total").increment(1);
        return Err(AppError::RateLimited);
    };
    let user = match Email::parse("email", email) {
        Ok(email) => app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(&services.db).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let candidate = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify(stored.as_deref(), &candidate))
        .await
        .map_err(AppError::internal)?;
    drop(_slot);
    let user = match user {
        Some(user) if matches && user.active => user,
        _ => {
            metrics::counter!("casework_login_failures_total").increment(1);
            security_event(services, ctx, "security.sign_in_failed", &normalised).await?;
            return Err(BAD_CREDENTIALS);
        }
    };
    limiter.release(&services.db, &email_key, true).await?;
    if let Some(key) = &address_key {
        limiter.release(&services.db, key, false).await?;
    }

    let ctx = RequestContext { actor: Some(actor_of(services, &user)?), ..ctx.clone() };
    let mut uow = UnitOfWork::begin(services, &ctx).await?;
    let (family, refresh) = start_family(services, &uow, user.id).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.started", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, family, refresh)
}

/// Records a failed or refused sign-in on the `security` chain: the submitted
/// email (bounded, normalised) and, through the origin, the client address.
async fn security_event(services: &Services, ctx: &RequestContext, action: &'static str, email: &str) -> AppResult<()> {
    let ctx = RequestContext { actor: None, ..ctx.clone() };
    refused(services, &ctx, NewEvent::new(ChainKey::Security, action, "sign_in", "-").changes(Changes::new().set("email", email)))
        .await
}

/// Records a refused security step (wrong password, used reset token…) on
/// the `security` chain, in a transaction of its own: the refusal itself rolls
/// nothing back.
pub(crate) async fn refused(services: &Services, ctx: &RequestContext, event: NewEvent) -> AppResult<()> {
    let action = event.action;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    uow.record(event).await?;
    uow.commit().await?;
    tracing::warn!(action, "security step refused");
    Ok(())
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
            return issue_session(services, user, stored.family_id, successor);
        }
        reuse_detected(&mut uow, &user, &current, now, "refreshSession").await?;
        uow.commit().await?;
        return Err(BAD_REFRESH);
    }
    let family_end = family_end(services, &stored)?;
    insert_refresh_token(services, &uow, &successor, user.id, stored.family_id, family_end).await?;
    uow.record(NewEvent::new(ChainKey::User(user.id), "session.refreshed", "user", user.id)).await?;
    uow.commit().await?;
    issue_session(services, user, stored.family_id, successor)
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
    /// The token's sign-in session (refresh-token family), if it names one.
    pub session: Option<Uuid>,
    pub expires_at: i64,
}

/// The caller behind a bearer token: the token must verify, its user must
/// still exist, be active and have the token's `token_version`, and its
/// session (`sid`) must not have ended. Role and team come from the database
/// (the one lookup a request makes), so changes take effect at once.
///
/// On PostgreSQL a successful lookup is reused for a moment, until any change
/// to the user or their sessions evicts it ([`super::auth_cache`]).
pub async fn authenticate(services: &Services, bearer: &str) -> AppResult<Authenticated> {
    use super::auth_cache::Lookup;
    let claims = services.jwt.verify(bearer).ok_or(INVALID_ACCESS)?;
    let key = (claims.sub, claims.ver, claims.sid);
    let generation = match services.auth_cache.lookup(&key) {
        Lookup::Hit(actor) => {
            return Ok(Authenticated { actor, token_version: claims.ver, session: claims.sid, expires_at: claims.exp });
        }
        Lookup::Miss(generation) => generation,
    };
    let authenticated = recheck(services, claims.sub, claims.ver, claims.sid).await?;
    if let Some(generation) = generation {
        services.auth_cache.store(generation, key, authenticated.actor.clone());
    }
    Ok(Authenticated { expires_at: claims.exp, ..authenticated })
}

/// Whether the user of a token of `version` in `session` may still act, and
/// as whom: one query, the user's row only if no token of the session's
/// family was revoked (logout, reuse, deactivation revoke the whole family).
pub async fn recheck(services: &Services, user: Uuid, version: i32, session: Option<Uuid>) -> AppResult<Authenticated> {
    use sea_orm::sea_query::Query;
    let mut query = app_user::Entity::find_by_id(user);
    if let Some(family) = session {
        let ended = Query::select()
            .expr(Expr::val(1))
            .from(refresh_token::Entity)
            .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::FamilyId)).eq(family))
            .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::RevokedAt)).is_not_null())
            .to_owned();
        query = query.filter(Expr::exists(ended).not());
    }
    let user = query.one(&services.db).await?.ok_or(INVALID_ACCESS)?;
    if !user.active || user.token_version != version {
        return Err(INVALID_ACCESS);
    }
    Ok(Authenticated { actor: actor_of(services, &user)?, token_version: version, session, expires_at: 0 })
}

const INVALID_ACCESS: AppError = AppError::Unauthenticated("the access token is invalid or expired");

pub fn actor_of(services: &Services, user: &app_user::Model) -> AppResult<Actor> {
    let role: Role = crate::error::stored(&user.role)?;
    let authority_limit = match &user.authority_limit {
        Some(limit) => limit.parse::<Decimal>().map_err(AppError::internal)?,
        None => services.settings.role_authority_limit(role),
    };
    Ok(Actor { user_id: user.id, role, team_id: user.team_id, authority_limit, authority_currency: user.authority_currency.clone() })
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

/// Revokes every live token of a user (deactivation, password change or reset).
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

/// Opens a new sign-in session: a new refresh-token family and its first token.
pub(crate) async fn start_family(services: &Services, uow: &UnitOfWork, user: Uuid) -> AppResult<(Uuid, String)> {
    let refresh = tokens::random_token();
    let family = Uuid::now_v7();
    let session_max = chrono::Duration::from_std(services.settings.session_max).map_err(AppError::internal)?;
    insert_refresh_token(services, uow, &refresh, user, family, super::now() + session_max).await?;
    Ok((family, refresh))
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

pub(crate) fn issue_session(services: &Services, user: app_user::Model, family: Uuid, refresh_token: String) -> AppResult<Session> {
    let role: Role = crate::error::stored(&user.role)?;
    let (access_token, expires_at) = services.jwt.issue(user.id, role, user.token_version, Some(family), super::now())?;
    Ok(Session { access_token, refresh_token, expires_at, user })
}
