//! Customers: one identity per person, matched at intake by the phone in E.164
//! or the lowercased email, so earlier contacts and repeat complaints are found.
//! A customer is visible to whoever may read at least one of their complaints,
//! and their contact details are masked as on those complaints.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Statement, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use super::{Services, complaints};
use crate::{
    auth::Actor,
    domain::{policy, validation::limits},
    error::{AppError, AppResult},
};
use entity::{complaint, customer};

/// The region of phone numbers written without a country code.
pub const DEFAULT_PHONE_REGION: phonenumber::country::Id = phonenumber::country::Id::CN;

/// The phone in E.164 (`+8613800000000`), or `None` when it is not a valid number.
pub fn phone_key(phone: &str) -> Option<String> {
    migration::phone_key(phone, DEFAULT_PHONE_REGION)
}

/// The email as intake matches it: trimmed and lowercased.
pub fn email_key(email: &str) -> Option<String> {
    migration::email_key(email)
}

/// Holds intakes of the same phone or email until the transaction ends, so two
/// simultaneous first complaints of one customer create one record. PostgreSQL
/// takes transaction-scoped advisory locks (in a fixed order, so two intakes
/// never wait on each other crosswise); SQLite's `BEGIN IMMEDIATE` already
/// serialises writing transactions.
pub(crate) async fn lock_keys(txn: &impl ConnectionTrait, phone_key: Option<&str>, email_key: Option<&str>) -> AppResult<()> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut keys: Vec<String> =
        [phone_key.map(|k| format!("customer.phone:{k}")), email_key.map(|k| format!("customer.email:{k}"))].into_iter().flatten().collect();
    keys.sort();
    for key in keys {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The earliest customer with this phone, else with this email.
pub(crate) async fn find_match(
    db: &impl ConnectionTrait,
    phone_key: Option<&str>,
    email_key: Option<&str>,
) -> AppResult<Option<customer::Model>> {
    for (column, key) in [(customer::Column::PhoneKey, phone_key), (customer::Column::EmailKey, email_key)] {
        let Some(key) = key else { continue };
        let found = customer::Entity::find()
            .filter(column.eq(key))
            .order_by_asc(customer::Column::CreatedAt)
            .order_by_asc(customer::Column::Id)
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Customers with at least one complaint `actor` may read.
fn visible(actor: &Actor) -> Condition {
    let complaints = complaint::Entity::find()
        .select_only()
        .column(complaint::Column::CustomerId)
        .filter(complaints::scope_condition(actor))
        .into_query();
    Condition::all().add(customer::Column::Id.in_subquery(complaints))
}

/// A customer the caller may see, or `None` (whether or not it exists).
pub async fn find_visible(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Option<customer::Model>> {
    Ok(customer::Entity::find().filter(customer::Column::Id.eq(id)).filter(visible(actor)).one(&services.db).await?)
}

/// Whether the customer's contact details are masked for `actor`: when any of
/// their complaints the caller may read is one whose contact the caller may not see.
pub async fn masked_for(services: &Services, actor: &Actor, id: Uuid) -> AppResult<bool> {
    let rows = complaint::Entity::find()
        .filter(complaint::Column::CustomerId.eq(id))
        .filter(complaints::scope_condition(actor))
        .filter(Condition::any().add(complaint::Column::Sensitive.eq(true)).add(complaint::Column::LegalHold.eq(true)))
        .all(&services.db)
        .await?;
    Ok(rows.iter().any(|c| !policy::sees_customer_contact(actor, &complaints::access(c))))
}

/// A page of the customers `actor` may see, oldest first, optionally searched
/// by name (substring), phone (any format) or email (exact).
pub async fn list(
    services: &Services,
    actor: &Actor,
    search: Option<&str>,
    after: Option<complaints::Cursor>,
    limit: u64,
) -> AppResult<(Vec<customer::Model>, bool)> {
    let mut cond = visible(actor);
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > limits::SHORT {
            return Err(AppError::validation("search", "is too long"));
        }
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let mut any = Condition::any().add(
            Expr::expr(Func::lower(Expr::col(customer::Column::Name))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
        if let Some(phone) = phone_key(search) {
            any = any.add(customer::Column::PhoneKey.eq(phone));
        }
        if let Some(email) = email_key(search) {
            any = any.add(customer::Column::EmailKey.eq(email));
        }
        cond = cond.add(any);
    }
    complaints::ascending_page::<customer::Entity>(services, cond, customer::Column::CreatedAt, customer::Column::Id, after, limit)
        .await
}
