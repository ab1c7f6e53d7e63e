//! Upgrading an existing database: the closed-loop migration merges the
//! customers an older version recorded once per complaint, by normalised phone
//! (E.164) or email, and their complaints follow the earliest of them.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;

use crate::helpers::Backend;

/// The migrations before `m20261126_001201_closed_loop`, in `Migrator::migrations()` order.
const BEFORE_CLOSED_LOOP: u32 = 8;

/// A fresh, empty database (no migrations) and how to drop it.
async fn empty_database(backend: Backend) -> Option<(DatabaseConnection, Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>)> {
    match backend {
        Backend::Sqlite => {
            let dir = crate::helpers::tempfile_dir::TempDir::new();
            let db = Database::connect(format!("sqlite://{}/old.db?mode=rwc", dir.path())).await.unwrap();
            Some((db, Box::new(move || Box::pin(async move { drop(dir) }))))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("CASEWORK_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let Ok(admin) = Database::connect(&admin_url).await else {
                assert!(std::env::var("CASEWORK_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"), "PostgreSQL is required");
                return None;
            };
            let name = format!("casework_test_{}", Uuid::new_v4().simple());
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let base = admin_url.rsplit_once('/').map(|(base, _)| base.to_owned()).unwrap_or(admin_url.clone());
            let db = Database::connect(format!("{base}/{name}")).await.unwrap();
            let drop_it = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
                Box::pin(async move {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                })
            };
            Some((db, Box::new(drop_it)))
        }
    }
}

/// `sql` with `?` placeholders, numbered for PostgreSQL.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::new();
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn old_customer(db: &DatabaseConnection, name: &str, phone: Option<&str>, email: Option<&str>, minute: i64) -> Uuid {
    let id = Uuid::now_v7();
    let at = chrono::Utc::now() - chrono::Duration::hours(1) + chrono::Duration::minutes(minute);
    let backend = db.get_database_backend();
    db.execute_raw(statement(
        backend,
        "INSERT INTO customer (id, name, phone, email, created_at) VALUES (?, ?, ?, ?, ?)",
        vec![id.into(), name.into(), phone.map(str::to_owned).into(), email.map(str::to_owned).into(), at.into()],
    ))
    .await
    .unwrap();
    let now = chrono::Utc::now();
    db.execute_raw(statement(
        backend,
        "INSERT INTO complaint (id, reference, status, channel, category, severity, title, description, customer_id,
            core_demand, currency, emotion, tier, created_by, sensitive, vulnerable_customer, media_attention,
            group_complaint, legal_hold, reopen_count, first_response_due, resolution_due, sla_breached, created_at,
            updated_at, version)
         VALUES (?, ?, 'NEW', 'PHONE', 'OTHER', 'LOW', ?, 'old', ?, 'APOLOGY', 'CNY', 'CALM', 'TIER1', ?, false, false,
            false, false, false, 0, ?, ?, false, ?, ?, 1)",
        vec![
            Uuid::now_v7().into(),
            format!("CMP-2026-{:06}", minute + 1).into(),
            format!("complaint of {name} at {minute}").into(),
            id.into(),
            Uuid::now_v7().into(),
            now.into(),
            now.into(),
            at.into(),
            at.into(),
        ],
    ))
    .await
    .unwrap();
    id
}

/// (customer id, phone_key, email_key) of every customer, and the customer of each complaint by title.
async fn after_upgrade(db: &DatabaseConnection) -> (Vec<(Uuid, Option<String>, Option<String>)>, Vec<(String, Uuid)>) {
    let backend = db.get_database_backend();
    let customers = db
        .query_all_raw(Statement::from_string(backend, "SELECT id, phone_key, email_key FROM customer ORDER BY created_at"))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("", "id").unwrap(), r.try_get("", "phone_key").unwrap(), r.try_get("", "email_key").unwrap()))
        .collect();
    let complaints = db
        .query_all_raw(Statement::from_string(backend, "SELECT title, customer_id FROM complaint ORDER BY created_at"))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("", "title").unwrap(), r.try_get("", "customer_id").unwrap()))
        .collect();
    (customers, complaints)
}

async fn existing_customers_with_the_same_phone_or_email_are_merged(backend: Backend) {
    let Some((db, drop_database)) = empty_database(backend).await else { return };
    Migrator::up(&db, Some(BEFORE_CLOSED_LOOP)).await.unwrap();
    let pending: Vec<String> = Migrator::get_pending_migrations(&db).await.unwrap().iter().map(|m| m.name().to_owned()).collect();
    assert_eq!(pending.first().map(String::as_str), Some("m20261126_001201_closed_loop"), "{pending:?}");

    // What the old version recorded: one customer per complaint.
    let zhou = old_customer(&db, "Mrs. Zhou Lan", Some("+86 138 0013 8000"), None, 0).await;
    let zhou_again = old_customer(&db, "Zhou Lan", Some("138-0013-8000"), None, 1).await;
    let wang = old_customer(&db, "Wang Fang", None, Some("Wang.Fang@Example.com"), 2).await;
    let wang_again = old_customer(&db, "Ms. Wang", Some("not a number"), Some(" wang.fang@example.com "), 3).await;
    let li = old_customer(&db, "Li Lei", Some("+86 139 0000 0000"), Some("li.lei@example.com"), 4).await;
    // A chain: the third record shares its phone with the first and its email
    // with the second, so all three are one customer, who keeps both.
    let chen = old_customer(&db, "Chen Jie", Some("+86 137 1111 2222"), None, 5).await;
    let chen_by_email = old_customer(&db, "Mr. Chen", None, Some("chen.jie@example.com"), 6).await;
    let chen_both = old_customer(&db, "Chen J.", Some("13711112222"), Some("Chen.Jie@example.com"), 7).await;

    Migrator::up(&db, None).await.unwrap();
    let (customers, complaints) = after_upgrade(&db).await;
    let ids: Vec<Uuid> = customers.iter().map(|c| c.0).collect();
    assert_eq!(ids, [zhou, wang, li, chen], "the later duplicates are merged into the earliest");
    assert!(!ids.contains(&zhou_again) && !ids.contains(&wang_again));
    assert!(!ids.contains(&chen_by_email) && !ids.contains(&chen_both));
    assert_eq!(customers[3].1.as_deref(), Some("+8613711112222"));
    assert_eq!(customers[3].2.as_deref(), Some("chen.jie@example.com"), "the survivor takes over the email it lacked");
    assert_eq!(customers[0].1.as_deref(), Some("+8613800138000"), "E.164 key");
    assert_eq!(customers[1].2.as_deref(), Some("wang.fang@example.com"), "trimmed, lowercased key");
    assert_eq!(customers[2].1.as_deref(), Some("+8613900000000"));
    let owners: Vec<Uuid> = complaints.iter().map(|c| c.1).collect();
    assert_eq!(owners, [zhou, zhou, wang, wang, li, chen, chen, chen], "complaints follow their merged customer: {complaints:?}");
    db.close().await.ok();
    drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_customers_with_the_same_phone_or_email_are_merged_on_sqlite() {
    existing_customers_with_the_same_phone_or_email_are_merged(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_customers_with_the_same_phone_or_email_are_merged_on_postgres() {
    existing_customers_with_the_same_phone_or_email_are_merged(Backend::Postgres).await;
}
