//! Separation of duties among administrators: granting a role that reads case
//! content or administers (SUPERVISOR, LEGAL, AUDITOR, ADMIN), raising an
//! authority limit, or creating an account with either, is a *request* that
//! takes effect only when a second, different administrator approves it.
//! Lowering privileges applies at once (see `users::update_user`). A grant
//! whose user changed after the request is stale and cannot be approved.

use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork};
use crate::{
    audit::{ChainKey, Changes, NewEvent},
    domain::{Role, RoleGrantStatus, policy, validation::{self, limits}},
    error::{AppError, AppResult},
};
use entity::{app_user, role_grant};

/// What a grant changes when approved (`None`: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantTarget {
    pub role: Option<Role>,
    pub authority_limit: Option<Decimal>,
    pub authority_currency: Option<String>,
    /// A new account, inactive until approved.
    pub activates: bool,
}

impl GrantTarget {
    pub fn is_empty(&self) -> bool {
        self.role.is_none() && self.authority_limit.is_none() && self.authority_currency.is_none() && !self.activates
    }
}

fn require_admin(ctx: &RequestContext) -> AppResult<&crate::auth::Actor> {
    let actor = ctx.actor()?;
    if !policy::can_administer(actor) {
        return Err(AppError::forbidden("only administrators decide role grants"));
    }
    Ok(actor)
}

/// Stores a pending grant for `user` (at `user_version`) in `uow`; the caller
/// records it in its one audit event (see [`grant_fields`]).
pub(crate) async fn request(
    uow: &UnitOfWork,
    user: Uuid,
    requested_by: Uuid,
    user_version: i32,
    target: GrantTarget,
) -> AppResult<role_grant::Model> {
    let grant = role_grant::Model {
        id: Uuid::now_v7(),
        user_id: user,
        requested_by,
        role: target.role.map(|r| r.as_str().to_owned()),
        authority_limit: target.authority_limit.map(|l| l.to_string()),
        authority_currency: target.authority_currency,
        activates: target.activates,
        user_version,
        status: RoleGrantStatus::Pending.as_str().to_owned(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
        created_at: super::now(),
    };
    grant.clone().into_active_model().insert(uow.txn()).await?;
    Ok(grant)
}

/// What a grant asks for, as audited fields (added to `changes`).
pub(crate) fn grant_fields(changes: Changes, grant: &role_grant::Model) -> Changes {
    changes
        .set("grantId", grant.id.to_string())
        .set("role", grant.role.clone())
        .set("authorityLimit", grant.authority_limit.clone())
        .set("authorityCurrency", grant.authority_currency.clone())
        .field("activates", false, grant.activates)
}

/// Role grants with `status`, oldest first, `limit` after `after` (administrators).
pub async fn list(
    services: &Services,
    ctx: &RequestContext,
    status: RoleGrantStatus,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<role_grant::Model>> {
    require_admin(ctx)?;
    let mut query = role_grant::Entity::find()
        .filter(role_grant::Column::Status.eq(status.as_str()))
        .order_by_asc(role_grant::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(role_grant::Column::Id.gt(after));
    }
    Ok(query.all(&services.db).await?)
}

async fn load_pending(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<role_grant::Model> {
    require_admin(ctx)?;
    let grant = role_grant::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("role grant"))?;
    if grant.status != RoleGrantStatus::Pending.as_str() {
        return Err(AppError::InvalidTransition(format!("the grant is already {}", grant.status)));
    }
    Ok(grant)
}

/// Marks a pending grant decided; `INVALID_TRANSITION` when someone decided it first.
async fn decide(uow: &UnitOfWork, grant: &role_grant::Model, status: RoleGrantStatus, by: Uuid, note: Option<String>) -> AppResult<()> {
    let updated = role_grant::Entity::update_many()
        .col_expr(role_grant::Column::Status, Expr::value(status.as_str()))
        .col_expr(role_grant::Column::DecidedBy, Expr::value(by))
        .col_expr(role_grant::Column::DecidedAt, Expr::value(super::now()))
        .col_expr(role_grant::Column::DecisionNote, Expr::value(note))
        .filter(role_grant::Column::Id.eq(grant.id))
        .filter(role_grant::Column::Status.eq(RoleGrantStatus::Pending.as_str()))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::InvalidTransition("the grant was decided by someone else".into()));
    }
    Ok(())
}

/// A second administrator approves a grant: it applies to the user as it was
/// when requested (else `CONFLICT`: request it again), ending the user's
/// access tokens when the role changes or the account is activated.
#[tracing::instrument(skip_all, fields(grant = %id))]
pub async fn approve(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<role_grant::Model> {
    let grant = load_pending(services, ctx, id).await?;
    let actor = ctx.actor()?;
    if policy::decide_role_grant(actor, grant.requested_by, grant.user_id) != policy::Decision::Allow {
        return Err(AppError::forbidden("a grant is approved by a second administrator, neither its requester nor its grantee"));
    }
    let before = app_user::Entity::find_by_id(grant.user_id).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    if before.version != grant.user_version {
        return Err(AppError::Conflict("the user changed after the grant was requested; reject it and request it again".into()));
    }
    let mut after = before.clone();
    if let Some(role) = &grant.role {
        after.role = role.clone();
    }
    if grant.authority_limit.is_some() || grant.authority_currency.is_some() {
        after.authority_limit = grant.authority_limit.clone().or(before.authority_limit.clone());
        after.authority_currency = grant.authority_currency.clone();
    }
    if grant.activates {
        after.active = true;
    }
    after.version = before.version + 1;
    after.updated_at = super::now();
    if after.role != before.role || after.active != before.active {
        after.token_version = before.token_version + 1;
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    decide(&uow, &grant, RoleGrantStatus::Approved, actor.user_id, None).await?;
    super::users::save_user_version(&uow, &after, grant.user_version).await?;
    // One event: the decision and the change it made to the user.
    uow.record(
        NewEvent::new(ChainKey::User(grant.user_id), "role_grant.approved", "user", grant.user_id)
            .changes(super::users::user_fields(Some(&before), &after).set("grantId", grant.id.to_string()))
            .state(crate::audit::state::user_state(&after)),
    )
    .await?;
    uow.commit().await?;
    role_grant::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("role grant"))
}

/// Rejects a grant (any administrator but its grantee; its requester may withdraw it). Nothing changes.
#[tracing::instrument(skip_all, fields(grant = %id))]
pub async fn reject(services: &Services, ctx: &RequestContext, id: Uuid, reason: &str) -> AppResult<role_grant::Model> {
    let grant = load_pending(services, ctx, id).await?;
    let actor = ctx.actor()?;
    if actor.user_id == grant.user_id {
        return Err(AppError::forbidden("nobody decides a grant to themselves"));
    }
    let reason = validation::required_text("reason", reason, limits::TEXT)?;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    decide(&uow, &grant, RoleGrantStatus::Rejected, actor.user_id, Some(reason.clone())).await?;
    uow.record(
        NewEvent::new(ChainKey::User(grant.user_id), "role_grant.rejected", "role_grant", grant.id)
            .changes(grant_fields(Changes::new(), &grant))
            .reason(Some(reason)),
    )
    .await?;
    uow.commit().await?;
    role_grant::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("role grant"))
}
