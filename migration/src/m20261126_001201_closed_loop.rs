//! The closed loop of issue 12: customers matched by normalised phone or email
//! (existing duplicates merged), repeat complaints, urgency, the solution
//! deadline and handling cycles, callback attempts and the closure outcome.

use std::collections::HashMap;

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, FromQueryResult, Statement, prelude::Uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// E.164 of a phone number (`+8613800000000`), parsed with `region` when it
/// has no country code; `None` when it is not a valid number. Kept identical to
/// `casework::domain::validation::phone_key`.
pub fn phone_key(phone: &str, region: phonenumber::country::Id) -> Option<String> {
    let number = phonenumber::parse(Some(region), phone.trim()).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

/// The key an email matches on: trimmed and lowercased.
pub fn email_key(email: &str) -> Option<String> {
    let key = email.trim().to_lowercase();
    (!key.is_empty()).then_some(key)
}

#[derive(FromQueryResult)]
struct CustomerRow {
    id: Uuid,
    phone: Option<String>,
    email: Option<String>,
}

async fn add(manager: &SchemaManager<'_>, table: &str, column: ColumnDef) -> Result<(), DbErr> {
    // One column per statement: SQLite alters one thing at a time.
    manager.alter_table(Table::alter().table(Alias::new(table)).add_column(column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(manager, "customer", text_null("phone_key")).await?;
        add(manager, "customer", text_null("email_key")).await?;
        add(manager, "complaint", uuid_null("repeat_of_id")).await?;
        add(manager, "complaint", string_null("urgent_reason")).await?;
        add(manager, "complaint", timestamp_with_time_zone_null("solution_due")).await?;
        add(manager, "complaint", boolean("solution_breached").default(false).to_owned()).await?;
        add(manager, "complaint", timestamp_with_time_zone_null("proposed_at")).await?;
        add(manager, "complaint", integer("cycle").default(1).to_owned()).await?;
        add(manager, "complaint", timestamp_with_time_zone_null("cycle_started_at")).await?;
        add(manager, "complaint", timestamp_with_time_zone_null("callback_due")).await?;
        add(manager, "complaint", string_null("close_outcome")).await?;
        add(manager, "escalation", boolean("overdue").default(false).to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table("callback_attempt")
                    .col(pk_uuid("id"))
                    .col(uuid("complaint_id"))
                    .col(integer("cycle"))
                    .col(timestamp_with_time_zone("at"))
                    .col(uuid("by_user"))
                    .col(boolean("reached"))
                    .col(boolean_null("satisfied"))
                    .col(integer_null("score"))
                    .col(text_null("comment"))
                    .foreign_key(ForeignKey::create().from("callback_attempt", "complaint_id").to("complaint", "id"))
                    .to_owned(),
            )
            .await?;
        for (name, table, columns) in [
            ("callback_attempt_complaint", "callback_attempt", &["complaint_id", "at"][..]),
            ("customer_phone_key", "customer", &["phone_key"][..]),
            ("customer_email_key", "customer", &["email_key"][..]),
            ("complaint_callback_queue", "complaint", &["status", "callback_due", "id"][..]),
            ("complaint_customer_created", "complaint", &["customer_id", "created_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table));
            for column in columns {
                index.col(Alias::new(*column));
            }
            manager.create_index(index.to_owned()).await?;
        }

        let db = manager.get_connection();
        let backend = db.get_database_backend();
        // Existing complaints: the solution is due when the resolution was.
        db.execute_unprepared("UPDATE complaint SET solution_due = resolution_due WHERE solution_due IS NULL").await?;
        // Resolved complaints already wait for their callback.
        db.execute_unprepared("UPDATE complaint SET callback_due = resolved_at WHERE status = 'RESOLVED' AND callback_due IS NULL")
            .await?;

        // Merge customers with the same normalised phone or email into the
        // earliest one; their complaints follow it.
        let rows = CustomerRow::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, phone, email FROM customer ORDER BY created_at, id",
        ))
        .all(db)
        .await?;
        let mut by_key: HashMap<String, Uuid> = HashMap::new();
        for row in rows {
            let phone = row.phone.as_deref().and_then(|p| phone_key(p, phonenumber::country::Id::CN));
            let email = row.email.as_deref().and_then(email_key);
            let keys: Vec<String> =
                phone.iter().map(|p| format!("p:{p}")).chain(email.iter().map(|e| format!("e:{e}"))).collect();
            let canonical = keys.iter().find_map(|k| by_key.get(k).copied());
            match canonical {
                Some(target) => {
                    db.execute_raw(Statement::from_sql_and_values(
                        backend,
                        match backend {
                            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                                "UPDATE complaint SET customer_id = $1 WHERE customer_id = $2"
                            }
                            _ => "UPDATE complaint SET customer_id = ? WHERE customer_id = ?",
                        },
                        [target.into(), row.id.into()],
                    ))
                    .await?;
                    db.execute_raw(Statement::from_sql_and_values(
                        backend,
                        match backend {
                            sea_orm_migration::sea_orm::DbBackend::Postgres => "DELETE FROM customer WHERE id = $1",
                            _ => "DELETE FROM customer WHERE id = ?",
                        },
                        [row.id.into()],
                    ))
                    .await?;
                    for key in keys {
                        by_key.entry(key).or_insert(target);
                    }
                }
                None => {
                    db.execute_raw(Statement::from_sql_and_values(
                        backend,
                        match backend {
                            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                                "UPDATE customer SET phone_key = $1, email_key = $2 WHERE id = $3"
                            }
                            _ => "UPDATE customer SET phone_key = ?, email_key = ? WHERE id = ?",
                        },
                        [phone.clone().into(), email.clone().into(), row.id.into()],
                    ))
                    .await?;
                    for key in keys {
                        by_key.insert(key, row.id);
                    }
                }
            }
        }
        Ok(())
    }
}
