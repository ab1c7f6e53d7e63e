//! SLA policies: administered per severity (optionally per category), used to
//! compute a complaint's deadlines.

use async_graphql::InputObject;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, sea_query::OnConflict};
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork};
use crate::{
    audit::{ChainKey, Changes, NewEvent},
    domain::{
        Category, Severity, policy,
        sla::{self, Calendar, SlaTargets},
    },
    error::{AppError, AppResult},
};
use entity::sla_policy;

/// A policy for a severity, or for one category of it.
#[derive(InputObject, Debug)]
pub struct SlaPolicyInput {
    pub severity: Severity,
    /// Only for this category; absent: the severity's default.
    pub category: Option<Category>,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    /// Count working time only, on the calendar below.
    #[graphql(default)]
    pub business_hours_only: bool,
    /// ISO weekdays (1 = Monday … 7 = Sunday); default Monday to Friday.
    pub working_days: Option<Vec<i32>>,
    /// Start of the working day, `HH:MM`; default `09:00`.
    pub day_start: Option<String>,
    /// End of the working day, `HH:MM`; default `18:00`.
    pub day_end: Option<String>,
    /// The calendar's offset from UTC in minutes (e.g. 480 for UTC+8).
    pub utc_offset_minutes: Option<i32>,
    /// Dates (`YYYY-MM-DD`) that are not working days.
    pub holidays: Option<Vec<String>>,
}

fn minute_of_day(field: &'static str, value: &str) -> AppResult<u32> {
    let invalid = || AppError::validation(field, "must be a time of day as HH:MM");
    let (h, m) = value.trim().split_once(':').ok_or_else(invalid)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

fn format_minute(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The calendar a stored policy describes.
pub fn calendar(policy: &sla_policy::Model) -> Calendar {
    let mut working_days = [false; 7];
    for day in policy.working_days.split(',').filter_map(|d| d.trim().parse::<usize>().ok()) {
        if (1..=7).contains(&day) {
            working_days[day - 1] = true;
        }
    }
    Calendar {
        working_days,
        day_start: policy.day_start_minute.max(0) as u32,
        day_end: policy.day_end_minute.max(0) as u32,
        utc_offset_minutes: policy.utc_offset_minutes,
        holidays: policy.holidays.split(',').filter_map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()).collect(),
    }
}

/// The deadlines of a cycle of a complaint of this severity and category opened
/// at `opened`: the category's policy, else the severity's, else the built-in
/// default; urgency caps the first response at 10 minutes.
pub async fn deadlines(
    services: &Services,
    severity: Severity,
    category: Category,
    urgent: bool,
    opened: DateTime<Utc>,
) -> AppResult<sla::Deadlines> {
    let policies = sla_policy::Entity::find()
        .filter(sla_policy::Column::Severity.eq(severity.as_str()))
        .filter(sla_policy::Column::Category.is_in([category.as_str(), ""]))
        .all(&services.db)
        .await?;
    let chosen = policies.iter().find(|p| p.category == category.as_str()).or_else(|| policies.first());
    Ok(match chosen {
        Some(policy) => {
            let targets = SlaTargets {
                first_response_minutes: policy.first_response_minutes.into(),
                resolution_minutes: policy.resolution_minutes.into(),
            };
            let calendar = policy.business_hours_only.then(|| calendar(policy));
            sla::cycle_deadlines(opened, sla::cycle_targets(targets, urgent), calendar.as_ref())
        }
        None => sla::cycle_deadlines(opened, sla::cycle_targets(sla::default_targets(severity), urgent), None),
    })
}

/// The deadlines of `c`'s current cycle, opened at `opened`.
pub async fn complaint_deadlines(
    services: &Services,
    c: &entity::complaint::Model,
    opened: DateTime<Utc>,
) -> AppResult<sla::Deadlines> {
    let severity: Severity = crate::error::stored(&c.severity)?;
    let urgent = sla::is_urgent(severity, c.vulnerable_customer, c.urgent_reason.is_some());
    deadlines(services, severity, crate::error::stored(&c.category)?, urgent, opened).await
}

/// Every configured policy, by severity and category (any signed-in user).
pub async fn list(services: &Services, ctx: &RequestContext) -> AppResult<Vec<sla_policy::Model>> {
    ctx.actor()?;
    Ok(sla_policy::Entity::find()
        .order_by_asc(sla_policy::Column::Severity)
        .order_by_asc(sla_policy::Column::Category)
        .all(&services.db)
        .await?)
}

/// Creates or replaces the policy of a severity (and category). Administrators.
#[tracing::instrument(skip_all)]
pub async fn upsert(services: &Services, ctx: &RequestContext, input: SlaPolicyInput) -> AppResult<sla_policy::Model> {
    let actor = ctx.actor()?;
    if !policy::can_administer(actor) {
        return Err(AppError::forbidden("only administrators manage SLA policies"));
    }
    if !(1..=525_600).contains(&input.first_response_minutes) {
        return Err(AppError::validation("input.firstResponseMinutes", "must be between 1 minute and a year"));
    }
    if !(1..=525_600).contains(&input.resolution_minutes) {
        return Err(AppError::validation("input.resolutionMinutes", "must be between 1 minute and a year"));
    }
    if input.resolution_minutes < input.first_response_minutes {
        return Err(AppError::validation("input.resolutionMinutes", "must not be shorter than the first-response time"));
    }
    let days = input.working_days.clone().unwrap_or_else(|| vec![1, 2, 3, 4, 5]);
    if days.is_empty() || days.iter().any(|d| !(1..=7).contains(d)) {
        return Err(AppError::validation("input.workingDays", "must list ISO weekdays from 1 (Monday) to 7"));
    }
    let start = minute_of_day("input.dayStart", input.day_start.as_deref().unwrap_or("09:00"))?;
    let end = minute_of_day("input.dayEnd", input.day_end.as_deref().unwrap_or("18:00"))?;
    if end <= start {
        return Err(AppError::validation("input.dayEnd", "must be after the start of the day"));
    }
    let offset = input.utc_offset_minutes.unwrap_or(0);
    if !(-14 * 60..=14 * 60).contains(&offset) {
        return Err(AppError::validation("input.utcOffsetMinutes", "must be between -840 and 840"));
    }
    let mut holidays = Vec::new();
    for day in input.holidays.iter().flatten() {
        let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::validation("input.holidays", format!("{day:?} is not a YYYY-MM-DD date")))?;
        holidays.push(date.to_string());
    }
    let category = input.category.map(|c| c.as_str()).unwrap_or("");
    let existing = sla_policy::Entity::find()
        .filter(sla_policy::Column::Severity.eq(input.severity.as_str()))
        .filter(sla_policy::Column::Category.eq(category))
        .one(&services.db)
        .await?;
    let mut days: Vec<String> = days.iter().map(i32::to_string).collect();
    days.sort();
    days.dedup();
    let model = sla_policy::Model {
        id: existing.as_ref().map(|p| p.id).unwrap_or_else(Uuid::now_v7),
        severity: input.severity.as_str().to_owned(),
        category: category.to_owned(),
        first_response_minutes: input.first_response_minutes,
        resolution_minutes: input.resolution_minutes,
        business_hours_only: input.business_hours_only,
        working_days: days.join(","),
        day_start_minute: start as i32,
        day_end_minute: end as i32,
        utc_offset_minutes: offset,
        holidays: holidays.join(","),
        updated_at: super::now(),
        version: existing.as_ref().map(|p| p.version + 1).unwrap_or(1),
    };
    let as_json = |p: &sla_policy::Model| serde_json::to_value(p).unwrap_or_default();
    let mut changes = Changes::new();
    let before = existing.as_ref().map(as_json).unwrap_or_default();
    for (field, value) in as_json(&model).as_object().cloned().unwrap_or_default() {
        if field != "updatedAt" && field != "version" {
            changes = changes.field(&field, before.get(&field).cloned().unwrap_or_default(), value);
        }
    }
    let mut uow = UnitOfWork::begin(services, ctx).await?;
    sla_policy::Entity::insert(model.clone().into_active_model())
        .on_conflict(
            OnConflict::columns([sla_policy::Column::Severity, sla_policy::Column::Category])
                .update_columns([
                    sla_policy::Column::FirstResponseMinutes,
                    sla_policy::Column::ResolutionMinutes,
                    sla_policy::Column::BusinessHoursOnly,
                    sla_policy::Column::WorkingDays,
                    sla_policy::Column::DayStartMinute,
                    sla_policy::Column::DayEndMinute,
                    sla_policy::Column::UtcOffsetMinutes,
                    sla_policy::Column::Holidays,
                    sla_policy::Column::UpdatedAt,
                    sla_policy::Column::Version,
                ])
                .to_owned(),
        )
        .exec_without_returning(uow.txn())
        .await?;
    let action = if existing.is_some() { "sla_policy.updated" } else { "sla_policy.created" };
    uow.record(NewEvent::new(ChainKey::System, action, "sla_policy", model.id).changes(changes)).await?;
    uow.commit().await?;
    Ok(model)
}

/// `HH:MM` of a stored minute of the day.
pub fn time_of_day(minute: i32) -> String {
    format_minute(minute)
}
