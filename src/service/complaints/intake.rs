//! Intake: a new complaint with its customer, reference and deadlines.

use super::*;
use crate::domain::Role;

// ---------------------------------------------------------------- intake

/// The shortest search term: trigram indexes serve three characters and more.
pub const MIN_SEARCH_CHARS: usize = 3;

/// Records a new complaint: validated, given its reference and SLA deadlines,
/// assigned (by default to the creator and their team), and audited.
#[tracing::instrument(skip_all)]
pub async fn create(services: &Services, ctx: &RequestContext, input: CreateComplaintInput) -> AppResult<complaint::Model> {
    let actor = ctx.actor()?;
    if !policy::can_create_complaint(actor) {
        return Err(AppError::forbidden("only agents and supervisors record complaints"));
    }
    let now = crate::service::now();
    let customer = validate_customer("input.customer", &input.customer)?;
    let currency = Currency::parse("input.currency", input.currency.as_deref().unwrap_or(&services.settings.default_currency))?;
    let requested = input
        .requested_amount
        .map(|amount| Money::parse("input.requestedAmount", amount, currency))
        .transpose()?;
    let occurred_at = input
        .occurred_at
        .map(|at| validation::not_in_future("input.occurredAt", at, now))
        .transpose()?;

    let team_id = ids::decode_opt(Kind::Team, "input.teamId", input.team_id.as_ref())?.or(actor.team_id);
    let assignee_id = match ids::decode_opt(Kind::User, "input.assigneeId", input.assignee_id.as_ref())? {
        Some(user) => Some(user),
        None if actor.role == crate::domain::Role::Agent => Some(actor.user_id),
        None => None,
    };
    if actor.role == crate::domain::Role::Agent && team_id != actor.team_id {
        return Err(AppError::forbidden("agents record complaints for their own team"));
    }
    let tier = match team_id {
        Some(team) => team_tier(services, "input.teamId", team).await?,
        None => Tier::Tier1,
    };
    if let Some(user) = assignee_id {
        // The caller as their own assignee was checked by the sign-in lookup of
        // this request (active, role, team): the same rule, no second read.
        let caller_qualifies = user == actor.user_id
            && matches!(actor.role, Role::Agent | Role::Supervisor | Role::Legal)
            && (actor.role != Role::Agent || team_id.is_none() || team_id == actor.team_id);
        if !caller_qualifies {
            check_assignee(services, "input.assigneeId", user, team_id).await?;
        }
    }
    let urgent = crate::domain::sla::is_urgent(input.severity, false, input.urgent_reason.is_some());
    let due = crate::service::sla::deadlines(services, input.severity, input.category, urgent, now).await?;

    // The customer: chosen, else matched by phone or email, else new. The match
    // runs inside the transaction, under a lock on the keys, so two first
    // complaints of one new customer arriving together find one record.
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let phone_key = customer.phone.as_deref().and_then(crate::service::customers::phone_key);
    let email_key = customer.email.as_deref().and_then(crate::service::customers::email_key);
    let existing = match ids::decode_opt(Kind::Customer, "input.customerId", input.customer_id.as_ref())? {
        Some(id) => Some(
            crate::service::customers::find_visible(services, actor, id)
                .await?
                .ok_or(AppError::validation("input.customerId", "no such customer"))?,
        ),
        None => {
            crate::service::customers::lock_keys(uow.txn(), phone_key.as_deref(), email_key.as_deref()).await?;
            crate::service::customers::find_match(uow.txn(), phone_key.as_deref(), email_key.as_deref()).await?
        }
    };
    let (customer, customer_is_new) = match existing {
        // A returning customer keeps their record; new contact points fill gaps.
        Some(old) => {
            let mut merged = old.clone();
            if merged.phone.is_none() && customer.phone.is_some() {
                merged.phone = customer.phone;
                merged.phone_key = phone_key;
            }
            if merged.email.is_none() && customer.email.is_some() {
                merged.email = customer.email;
                merged.email_key = email_key;
            }
            (merged, false)
        }
        None => (
            customer::Model {
                id: Uuid::now_v7(),
                name: customer.name,
                phone: customer.phone,
                email: customer.email,
                phone_key,
                email_key,
                created_at: now,
            },
            true,
        ),
    };
    // The same customer's latest complaint within the repeat window.
    let window = chrono::Duration::days(std::cmp::max(services.settings.closed_loop.repeat_window_days, 0));
    let repeat_of = if customer_is_new {
        None
    } else {
        // On the index over (customer_id, created_at, id): the first entry.
        complaint::Entity::find()
            .select_only()
            .column(complaint::Column::Id)
            .filter(complaint::Column::CustomerId.eq(customer.id))
            .filter(complaint::Column::CreatedAt.gte(now - window))
            .order_by_desc(complaint::Column::CreatedAt)
            .order_by_desc(complaint::Column::Id)
            .into_tuple::<Uuid>()
            .one(uow.txn())
            .await?
    };
    let mut complaint = complaint::Model {
        id: Uuid::now_v7(),
        reference: String::new(),
        status: ComplaintStatus::New.as_str().to_owned(),
        channel: input.channel.as_str().to_owned(),
        category: input.category.as_str().to_owned(),
        severity: input.severity.as_str().to_owned(),
        title: validation::required_text("input.title", &input.title, limits::TITLE)?,
        description: validation::required_text("input.description", &input.description, limits::TEXT)?,
        customer_id: customer.id,
        core_demand: input.core_demand.as_str().to_owned(),
        requested_amount: requested.map(|m| m.amount_text()),
        currency: currency.code().to_owned(),
        emotion: input.emotion.as_str().to_owned(),
        order_reference: validation::optional_text("input.orderReference", input.order_reference.as_deref(), limits::REFERENCE)?,
        occurred_at,
        tier: tier.as_str().to_owned(),
        team_id,
        assignee_id,
        created_by: actor.user_id,
        sensitive: false,
        vulnerable_customer: false,
        media_attention: false,
        group_complaint: false,
        legal_hold: false,
        root_cause: None,
        responsibility: None,
        finding_summary: None,
        resolution_summary: None,
        compensation_amount: None,
        compensation_currency: None,
        refund_amount: None,
        remedies: None,
        preventive_measures: None,
        customer_accepted: None,
        customer_decision_note: None,
        resolution_note: None,
        callback_reached: None,
        satisfied: None,
        satisfaction_score: None,
        callback_comment: None,
        close_reason: None,
        reopen_count: 0,
        first_response_due: due.first_response,
        resolution_due: due.resolution,
        sla_breached: false,
        first_response_breached: false,
        resolution_breached: false,
        acknowledged_at: None,
        resolved_at: None,
        closed_at: None,
        repeat_of_id: repeat_of,
        urgent_reason: input.urgent_reason.map(|r| r.as_str().to_owned()),
        solution_due: Some(due.solution),
        solution_breached: false,
        proposed_at: None,
        cycle: 1,
        cycle_started_at: None,
        callback_due: None,
        close_outcome: None,
        promised_by: None,
        promise_breached: false,
        next_update_due: None,
        update_overdue: false,
        last_update_at: None,
        delay_reason: None,
        expected_resolution_at: None,
        assisting_teams: String::new(),
        product_or_service: validation::optional_text("input.productOrService", input.product_or_service.as_deref(), limits::NAME)?,
        location: validation::optional_text("input.location", input.location.as_deref(), limits::NAME)?,
        group_id: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };

    complaint.reference = validation::complaint_reference(now.year(), next_reference_number(&uow).await?);
    if customer_is_new {
        customer::Entity::insert(customer.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    } else {
        customer::Entity::update(customer.clone().into_active_model().reset_all()).exec(uow.txn()).await?;
    }
    complaint::Entity::insert(complaint.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = diff(None, &complaint)
        .set("customer.name", customer.name.clone())
        .set("customer.phone", customer.phone.clone())
        .set("customer.email", customer.email.clone())
        .set("customer.id", customer.id.to_string())
        .set("customer.returning", !customer_is_new);
    uow.record_opening(event(&complaint, "complaint.created", changes)).await?;
    uow.commit().await?;
    Ok(complaint)
}

pub(super) struct ValidCustomer {
    pub(super) name: String,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
}

pub(super) fn validate_customer(field: &'static str, input: &CustomerInput) -> AppResult<ValidCustomer> {
    let (name_field, phone_field, email_field) = match field {
        "input.customer" => ("input.customer.name", "input.customer.phone", "input.customer.email"),
        _ => ("customer.name", "customer.phone", "customer.email"),
    };
    Ok(ValidCustomer {
        name: validation::required_text(name_field, &input.name, limits::NAME)?,
        phone: match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(phone) => Some(validation::phone(phone_field, phone)?),
            None => None,
        },
        email: match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) => Some(Email::parse(email_field, email)?.into_string()),
            None => None,
        },
    })
}

/// The next reference number: a sequence on PostgreSQL (gap-tolerant, no lock
/// shared by all intakes); on SQLite the write lock already serialises intake.
pub(super) async fn next_reference_number(uow: &UnitOfWork) -> AppResult<i64> {
    let backend = uow.txn().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT nextval('complaint_reference_seq')",
        _ => "SELECT COALESCE(MAX(CAST(SUBSTR(reference, 10) AS INTEGER)), 0) + 1 FROM complaint",
    };
    let row = uow
        .txn()
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no reference number")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

pub(crate) async fn team_tier(services: &Services, field: &'static str, team: Uuid) -> AppResult<Tier> {
    let team = team::Entity::find_by_id(team).one(&services.db).await?.ok_or(AppError::validation(field, "no such team"))?;
    crate::error::stored(&team.tier)
}

pub(super) async fn check_assignee(services: &Services, field: &'static str, user: Uuid, team: Option<Uuid>) -> AppResult<()> {
    let user = app_user::Entity::find_by_id(user).one(&services.db).await?;
    match user {
        Some(user) if user.active && matches!(user.role.as_str(), "AGENT" | "SUPERVISOR" | "LEGAL") => {
            if user.role == "AGENT" && team.is_some() && user.team_id != team {
                return Err(AppError::validation(field, "the assignee is not a member of the complaint's team"));
            }
            Ok(())
        }
        Some(_) => Err(AppError::validation(field, "this user cannot work complaints")),
        None => Err(AppError::validation(field, "no such user")),
    }
}
