//! Users and teams: administration (admins only, or the operator's CLI), and
//! the directory reads that other screens need.

use async_graphql::InputObject;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::NotSet,
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork, is_unique_violation, role_grants::{self, GrantTarget}};
use crate::{
    audit::{ChainKey, Changes, NewEvent},
    auth::password,
    domain::{Role, Tier, policy, validation::{self, Email, limits}},
    error::{AppError, AppResult},
};
use entity::{app_user, team};

/// A new user account.
#[derive(InputObject, Debug)]
pub struct CreateUserInput {
    /// Sign-in email; unique, case-insensitive.
    pub email: String,
    /// Name shown to colleagues.
    pub display_name: String,
    pub role: Role,
    /// The user's team (agents need one to see their team's queue).
    pub team_id: Option<async_graphql::ID>,
    /// No longer accepted: administrators never choose passwords. Create the
    /// user, then `issuePasswordReset` gives a one-time token for the user.
    #[graphql(deprecation = "administrators never choose passwords: use issuePasswordReset")]
    pub password: Option<String>,
    /// Overrides the role's default compensation authority (above the default:
    /// a grant a second administrator approves).
    pub authority_limit: Option<Decimal>,
    /// The currency of `authorityLimit` (ISO 4217); default the authority currency.
    pub authority_currency: Option<String>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(InputObject, Debug, Default)]
pub struct UpdateUserInput {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// Moves the user to this team.
    pub team_id: Option<async_graphql::ID>,
    /// Removes the user from their team.
    #[graphql(default)]
    pub clear_team: bool,
    /// A new compensation authority; see `clearAuthorityLimit` to return to the role default.
    /// A raise (or another currency) waits for a second administrator; a cut applies at once.
    pub authority_limit: Option<Decimal>,
    /// The currency of the authority limit (ISO 4217); default the authority currency.
    pub authority_currency: Option<String>,
    #[graphql(default)]
    pub clear_authority_limit: bool,
    /// No longer accepted (FORBIDDEN): use `issuePasswordReset`.
    #[graphql(deprecation = "administrators never set passwords: use issuePasswordReset")]
    pub password: Option<String>,
}

/// A new team.
#[derive(InputObject, Debug)]
pub struct CreateTeamInput {
    pub name: String,
    pub tier: Tier,
}

/// A user to create, validated; shared by GraphQL and the CLI.
pub struct NewUser {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<Uuid>,
    /// The operator's CLI and the demo set one; administrators never do
    /// (`None`: nobody knows it until the user redeems a reset token).
    pub password: Option<String>,
    pub authority_limit: Option<Decimal>,
    pub authority_currency: Option<String>,
}

impl NewUser {
    pub fn parse(
        email: &str,
        display_name: &str,
        role: Role,
        team_id: Option<Uuid>,
        password: Option<&str>,
        authority_limit: Option<Decimal>,
    ) -> AppResult<NewUser> {
        Ok(NewUser {
            email: Email::parse("input.email", email)?,
            display_name: validation::required_text("input.displayName", display_name, limits::NAME)?,
            role,
            team_id,
            password: match password {
                Some(password) => {
                    validation::password("input.password", password)?;
                    Some(password.to_owned())
                }
                None => None,
            },
            authority_limit: authority_limit.map(|l| authority("input.authorityLimit", l)).transpose()?,
            authority_currency: None,
        })
    }
}

fn currency(field: &'static str, code: Option<&str>) -> AppResult<Option<String>> {
    Ok(code.map(|c| validation::Currency::parse(field, c)).transpose()?.map(|c| c.code().to_owned()))
}

/// A user's authority as (amount, currency): the override, or the role's default.
fn effective_authority(services: &Services, role: &str, limit: Option<&str>, currency: Option<&str>) -> AppResult<(Decimal, String)> {
    let authority_currency = &services.settings.authority.currency;
    match limit {
        Some(limit) => Ok((limit.parse().map_err(AppError::internal)?, currency.unwrap_or(authority_currency).to_owned())),
        None => Ok((services.settings.role_authority_limit(crate::error::stored(role)?), authority_currency.clone())),
    }
}

fn authority(field: &'static str, limit: Decimal) -> AppResult<Decimal> {
    if limit.is_sign_negative() || limit.scale() > 2 {
        return Err(AppError::validation(field, "must be a non-negative amount with at most 2 decimals"));
    }
    Ok(limit)
}

fn require_admin(ctx: &RequestContext) -> AppResult<()> {
    let actor = ctx.actor()?;
    if !policy::can_administer(actor) {
        return Err(AppError::forbidden("only administrators manage users and teams"));
    }
    Ok(())
}

/// Creates a user (administrators), without a password: `issuePasswordReset`
/// gives the user a one-time token to choose one. A privileged role
/// (SUPERVISOR, LEGAL, AUDITOR, ADMIN) leaves the account inactive, and an
/// authority above the role's default leaves it at the default, until a second
/// administrator approves the grant this records.
#[tracing::instrument(skip_all)]
pub async fn create_user(services: &Services, ctx: &RequestContext, input: CreateUserInput) -> AppResult<app_user::Model> {
    require_admin(ctx)?;
    let actor = ctx.actor()?.user_id;
    if input.password.is_some() {
        return Err(AppError::forbidden("administrators never choose passwords: create the user, then issuePasswordReset"));
    }
    let team = crate::ids::decode_opt(crate::ids::Kind::Team, "input.teamId", input.team_id.as_ref())?;
    let mut user = NewUser::parse(&input.email, &input.display_name, input.role, team, None, input.authority_limit)?;
    user.authority_currency = currency("input.authorityCurrency", input.authority_currency.as_deref())?;
    let mut grant = GrantTarget::default();
    if policy::role_change_needs_second_admin(Role::Agent, user.role) {
        grant.role = Some(user.role);
        grant.activates = true;
    }
    let default = (services.settings.role_authority_limit(user.role), services.settings.authority.currency.as_str());
    if let Some(limit) = user.authority_limit {
        let wanted = user.authority_currency.as_deref().unwrap_or(default.1);
        if policy::authority_change_needs_second_admin(default, (limit, wanted)) {
            grant.authority_limit = user.authority_limit.take();
            grant.authority_currency = user.authority_currency.take();
        }
    }
    insert_user(services, ctx, user, (!grant.is_empty()).then_some((actor, grant))).await
}

/// Creates a user from the operator's command line (no signed-in caller; audited as `cli`):
/// the bootstrap of the first accounts, any role, no second approval.
pub async fn create_user_as_operator(services: &Services, user: NewUser) -> AppResult<app_user::Model> {
    insert_user(services, &RequestContext::operator(), user, None).await
}

async fn insert_user(
    services: &Services,
    ctx: &RequestContext,
    user: NewUser,
    grant: Option<(Uuid, GrantTarget)>,
) -> AppResult<app_user::Model> {
    if let Some(team) = user.team_id {
        team::Entity::find_by_id(team).one(&services.db).await?.ok_or(AppError::validation("input.teamId", "no such team"))?;
    }
    // Without a password of its own, the account gets one nobody knows.
    let password = user.password.unwrap_or_else(crate::auth::tokens::random_token);
    let hash = tokio::task::spawn_blocking(move || password::hash(&password)).await.map_err(AppError::internal)??;
    let now = super::now();
    let model = app_user::Model {
        id: Uuid::now_v7(),
        email: user.email.into_string(),
        display_name: user.display_name,
        role: user.role.as_str().to_owned(),
        team_id: user.team_id,
        authority_limit: user.authority_limit.map(|l| l.to_string()),
        authority_currency: user.authority_currency,
        // A new privileged account waits for its grant.
        active: !grant.as_ref().is_some_and(|(_, g)| g.activates),
        password_hash: hash,
        created_at: now,
        updated_at: now,
        version: 1,
        token_version: 0,
    };
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let mut changes = user_fields(None, &model);
    app_user::Entity::insert(model.clone().into_active_model())
        .exec_without_returning(uow.txn())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::validation("input.email", "a user with this email already exists")
            } else {
                e.into()
            }
        })?;
    if let Some((requested_by, grant)) = grant {
        let grant = role_grants::request(&uow, model.id, requested_by, model.version, grant).await?;
        changes = role_grants::grant_fields(changes, &grant);
    }
    uow.record(
        NewEvent::new(ChainKey::User(model.id), "user.created", "user", model.id)
            .changes(changes)
            .state(crate::audit::state::user_state(&model)),
    )
    .await?;
    uow.commit().await?;
    Ok(model)
}

/// Updates a user (administrators), guarded by `expected_version`. What
/// lowers privileges applies at once; a privileged role or a higher authority
/// becomes a pending role grant (see [`role_grants`]). Passwords are never
/// set here.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn update_user(
    services: &Services,
    ctx: &RequestContext,
    id: Uuid,
    expected_version: i32,
    input: UpdateUserInput,
    team: Option<Uuid>,
) -> AppResult<app_user::Model> {
    require_admin(ctx)?;
    // Separation of duties: nobody raises their own authority, e.g. an admin
    // promoting themselves to SUPERVISOR to read case content.
    let changes_authority = input.role.is_some()
        || input.team_id.is_some()
        || input.clear_team
        || input.authority_limit.is_some()
        || input.authority_currency.is_some()
        || input.clear_authority_limit;
    if changes_authority && ctx.actor.as_ref().is_some_and(|a| a.user_id == id) {
        return Err(AppError::forbidden("nobody changes their own role, team or authority limit"));
    }
    if input.password.is_some() {
        return Err(AppError::forbidden("administrators never set passwords: issuePasswordReset gives the user a one-time token"));
    }
    let actor = ctx.actor()?.user_id;
    let before = app_user::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    let mut after = before.clone();
    let mut grant = GrantTarget::default();
    if let Some(name) = &input.display_name {
        after.display_name = validation::required_text("input.displayName", name, limits::NAME)?;
    }
    if let Some(role) = input.role {
        // Up into a privileged role: a second admin approves; down: at once.
        if policy::role_change_needs_second_admin(crate::error::stored(&before.role)?, role) {
            grant.role = Some(role);
        } else {
            after.role = role.as_str().to_owned();
        }
    }
    if let Some(team) = team {
        team::Entity::find_by_id(team).one(&services.db).await?.ok_or(AppError::validation("input.teamId", "no such team"))?;
        after.team_id = Some(team);
    } else if input.clear_team {
        after.team_id = None;
    }
    let wanted_currency = currency("input.authorityCurrency", input.authority_currency.as_deref())?;
    if input.authority_limit.is_some() || input.clear_authority_limit || wanted_currency.is_some() {
        let (limit, currency) = match input.authority_limit {
            Some(limit) => (Some(authority("input.authorityLimit", limit)?.to_string()), wanted_currency),
            None if input.clear_authority_limit => (None, None),
            None => (before.authority_limit.clone(), wanted_currency),
        };
        let old = effective_authority(services, &after.role, before.authority_limit.as_deref(), before.authority_currency.as_deref())?;
        let new = effective_authority(services, &after.role, limit.as_deref(), currency.as_deref())?;
        if policy::authority_change_needs_second_admin((old.0, &old.1), (new.0, &new.1)) {
            // A raise waits; the grant names the amount and its currency explicitly.
            grant.authority_limit = Some(new.0);
            grant.authority_currency = currency;
        } else {
            after.authority_limit = limit;
            after.authority_currency = currency;
        }
    }
    let mut changes = user_fields(Some(&before), &after);
    if changes.is_empty() && grant.is_empty() {
        return Err(AppError::validation("input", "nothing to change"));
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    // One event: what changed now and, if any, the grant that waits.
    let action = if changes.is_empty() { "role_grant.requested" } else { "user.updated" };
    if !changes.is_empty() {
        after.updated_at = super::now();
        after.version = before.version + 1;
        // A new role or team ends every access token issued before it.
        if after.role != before.role || after.team_id != before.team_id {
            after.token_version = before.token_version + 1;
        }
        save_user_version(&uow, &after, expected_version).await?;
    } else if before.version != expected_version {
        return Err(AppError::stale("user"));
    }
    if !grant.is_empty() {
        let grant = role_grants::request(&uow, id, actor, after.version, grant).await?;
        changes = role_grants::grant_fields(changes, &grant);
    }
    uow.record(NewEvent::new(ChainKey::User(id), action, "user", id).changes(changes).state(crate::audit::state::user_state(&after)))
        .await?;
    uow.commit().await?;
    Ok(after)
}

/// Deactivates a user: they can no longer sign in, and their tokens stop working.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn deactivate_user(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<app_user::Model> {
    require_admin(ctx)?;
    let before = app_user::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("user"))?;
    if ctx.actor.as_ref().is_some_and(|a| a.user_id == id) {
        return Err(AppError::validation("id", "you cannot deactivate your own account"));
    }
    if !before.active {
        return Ok(before);
    }
    let mut after = before.clone();
    after.active = false;
    after.token_version = before.token_version + 1;
    after.updated_at = super::now();
    after.version = before.version + 1;
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    save_user_version(&uow, &after, before.version).await?;
    let revoked = super::auth::revoke_user_tokens(&uow, id).await?;
    uow.record(
        NewEvent::new(ChainKey::User(id), "user.deactivated", "user", id)
            .changes(user_fields(Some(&before), &after).field("revokedTokens", 0, revoked as i64))
            .state(crate::audit::state::user_state(&after)),
    )
    .await?;
    uow.commit().await?;
    Ok(after)
}

pub(crate) async fn save_user_version(uow: &UnitOfWork, user: &app_user::Model, expected_version: i32) -> AppResult<()> {
    let mut active = user.clone().into_active_model().reset_all();
    active.id = NotSet;
    active.version = NotSet;
    active.created_at = NotSet;
    active.email = NotSet;
    let updated = app_user::Entity::update_many()
        .set(active)
        .col_expr(app_user::Column::Version, Expr::value(user.version))
        .filter(app_user::Column::Id.eq(user.id))
        .filter(app_user::Column::Version.eq(expected_version))
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::stale("user"));
    }
    Ok(())
}

/// The audited fields of a user (never the password hash).
pub(crate) fn user_fields(before: Option<&app_user::Model>, after: &app_user::Model) -> Changes {
    let field = |f: fn(&app_user::Model) -> serde_json::Value| (before.map(f).unwrap_or_default(), f(after));
    let mut changes = Changes::new();
    for (name, get) in [
        ("email", (|u: &app_user::Model| u.email.clone().into()) as fn(&app_user::Model) -> serde_json::Value),
        ("displayName", |u| u.display_name.clone().into()),
        ("role", |u| u.role.clone().into()),
        ("teamId", |u| u.team_id.map(|t| t.to_string()).into()),
        ("authorityLimit", |u| u.authority_limit.clone().into()),
        ("authorityCurrency", |u| u.authority_currency.clone().into()),
        ("active", |u| u.active.into()),
    ] {
        let (old, new) = field(get);
        changes = changes.field(name, old, new);
    }
    changes
}

/// Users for the admin screen, in creation order, `first` after `after`.
pub async fn list_users(
    services: &Services,
    ctx: &RequestContext,
    role: Option<Role>,
    team: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<app_user::Model>> {
    require_admin(ctx)?;
    let mut query = app_user::Entity::find().order_by_asc(app_user::Column::Id).limit(limit);
    if let Some(role) = role {
        query = query.filter(app_user::Column::Role.eq(role.as_str()));
    }
    if let Some(team) = team {
        query = query.filter(app_user::Column::TeamId.eq(team));
    }
    if let Some(after) = after {
        query = query.filter(app_user::Column::Id.gt(after));
    }
    Ok(query.all(&services.db).await?)
}

/// Every team; any signed-in user may read the directory.
pub async fn list_teams(services: &Services, ctx: &RequestContext) -> AppResult<Vec<team::Model>> {
    ctx.actor()?;
    Ok(team::Entity::find().order_by_asc(team::Column::Tier).order_by_asc(team::Column::Name).all(&services.db).await?)
}

/// Creates a team (administrators).
#[tracing::instrument(skip_all)]
pub async fn create_team(services: &Services, ctx: &RequestContext, input: CreateTeamInput) -> AppResult<team::Model> {
    require_admin(ctx)?;
    insert_team(services, ctx, &input.name, input.tier).await
}

pub(crate) async fn insert_team(services: &Services, ctx: &RequestContext, name: &str, tier: Tier) -> AppResult<team::Model> {
    let model = team::Model {
        id: Uuid::now_v7(),
        name: validation::required_text("input.name", name, limits::NAME)?,
        tier: tier.as_str().to_owned(),
        created_at: super::now(),
        version: 1,
    };
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    team::Entity::insert(model.clone().into_active_model()).exec_without_returning(uow.txn()).await.map_err(|e| {
        if is_unique_violation(&e) { AppError::validation("input.name", "a team with this name already exists") } else { e.into() }
    })?;
    uow.record(
        NewEvent::new(ChainKey::Team(model.id), "team.created", "team", model.id)
            .changes(Changes::new().set("name", model.name.clone()).set("tier", model.tier.clone())),
    )
    .await?;
    uow.commit().await?;
    Ok(model)
}

/// Loads users by id (for DataLoaders and lookups).
pub async fn users_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<app_user::Model>> {
    Ok(super::rows::all(&services.db, app_user::Entity::find().filter(app_user::Column::Id.is_in(ids.iter().copied()))).await?)
}

/// Loads teams by id.
pub async fn teams_by_ids(services: &Services, ids: &[Uuid]) -> AppResult<Vec<team::Model>> {
    Ok(team::Entity::find().filter(team::Column::Id.is_in(ids.iter().copied())).all(&services.db).await?)
}

/// A team by its name (the CLI's `--team`).
pub async fn team_by_name(services: &Services, name: &str) -> AppResult<Option<team::Model>> {
    Ok(team::Entity::find().filter(team::Column::Name.eq(name)).one(&services.db).await?)
}

/// The number of users (the demo seeds only an empty database).
pub async fn count_users(services: &Services) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(app_user::Entity::find().count(&services.db).await?)
}
