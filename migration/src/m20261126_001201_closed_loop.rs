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

/// A customer that survives the merge: its position in creation order and
/// its contact points with their normalised keys.
struct Kept {
    order: usize,
    phone: Option<String>,
    email: Option<String>,
    phone_key: Option<String>,
    email_key: Option<String>,
}

impl Kept {
    fn new(order: usize, phone: Option<String>, email: Option<String>) -> Kept {
        let phone_key = phone.as_deref().and_then(|p| phone_key(p, phonenumber::country::Id::CN));
        let email_key = email.as_deref().and_then(email_key);
        Kept { order, phone, email, phone_key, email_key }
    }

    fn keys(&self) -> Vec<String> {
        self.phone_key.iter().map(|p| format!("p:{p}")).chain(self.email_key.iter().map(|e| format!("e:{e}"))).collect()
    }

    /// Takes over the contact points this customer lacks from a merged one.
    fn fill_gaps(&mut self, merged: Kept) {
        if self.phone_key.is_none() && merged.phone_key.is_some() {
            self.phone = merged.phone;
            self.phone_key = merged.phone_key;
        }
        if self.email_key.is_none() && merged.email_key.is_some() {
            self.email = merged.email;
            self.email_key = merged.email_key;
        }
    }
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
        // earliest one; their complaints follow it. A customer sharing a key
        // with two earlier ones (a phone with one, an email with the other)
        // joins those two as well, and the survivor takes over the contact
        // points it lacked, so later intakes match on them too.
        let rows = CustomerRow::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, phone, email FROM customer ORDER BY created_at, id",
        ))
        .all(db)
        .await?;
        let sql = |postgres: &'static str, sqlite: &'static str| match backend {
            sea_orm_migration::sea_orm::DbBackend::Postgres => postgres,
            _ => sqlite,
        };
        let mut kept: HashMap<Uuid, Kept> = HashMap::new();
        let mut by_key: HashMap<String, Uuid> = HashMap::new();
        for (order, row) in rows.into_iter().enumerate() {
            let customer = Kept::new(order, row.phone, row.email);
            let keys = customer.keys();
            let mut targets: Vec<Uuid> = keys.iter().filter_map(|k| by_key.get(k).copied()).collect();
            targets.sort_by_key(|id| kept[id].order);
            targets.dedup();
            let Some(&survivor) = targets.first() else {
                for key in &keys {
                    by_key.insert(key.clone(), row.id);
                }
                kept.insert(row.id, customer);
                continue;
            };
            let absorbed = std::iter::once((row.id, customer))
                .chain(targets[1..].iter().map(|id| (*id, kept.remove(id).expect("a kept customer"))))
                .collect::<Vec<_>>();
            for (id, customer) in absorbed {
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql(
                        "UPDATE complaint SET customer_id = $1 WHERE customer_id = $2",
                        "UPDATE complaint SET customer_id = ? WHERE customer_id = ?",
                    ),
                    [survivor.into(), id.into()],
                ))
                .await?;
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql("DELETE FROM customer WHERE id = $1", "DELETE FROM customer WHERE id = ?"),
                    [id.into()],
                ))
                .await?;
                for key in customer.keys() {
                    by_key.insert(key, survivor);
                }
                kept.get_mut(&survivor).expect("the survivor").fill_gaps(customer);
            }
        }
        for (id, customer) in kept {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                sql(
                    "UPDATE customer SET phone = $1, email = $2, phone_key = $3, email_key = $4 WHERE id = $5",
                    "UPDATE customer SET phone = ?, email = ?, phone_key = ?, email_key = ? WHERE id = ?",
                ),
                [customer.phone.into(), customer.email.into(), customer.phone_key.into(), customer.email_key.into(), id.into()],
            ))
            .await?;
        }
        Ok(())
    }
}
