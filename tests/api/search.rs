//! `complaints(filter: {search})`: a case-insensitive substring of the title,
//! description, reference or order reference, served by pg_trgm on
//! PostgreSQL and by the FTS5 trigram table (kept in step by triggers) on
//! SQLite, with the same answers on both; refused below three characters.

use serde_json::{Value, json};

use crate::{fixtures::ComplaintBuilder, helpers::{Backend, TestApp}};

crate::on_both_databases!(both_databases_find_the_same_substrings, the_index_follows_corrections);

const SEARCH: &str = "query($s: String!) { complaints(first: 50, filter: {search: $s}) { totalCount edges { node { title } } } }";

async fn titles(app: &TestApp, token: &str, term: &str) -> Vec<String> {
    let data = app.ok(token, SEARCH, json!({ "s": term })).await;
    let mut titles: Vec<String> = data["complaints"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data["complaints"]["totalCount"], titles.len(), "{term:?}");
    titles.sort();
    titles
}

async fn both_databases_find_the_same_substrings(app: &TestApp) {
    let supervisor = app.login_as("supervisor@example.com").await;
    let made = [
        ("Zqx broken fridge door", "The door of the Zqx fridge fell off.", None),
        ("Zqx late parcel", "Courier lost track; order ORD-77_x% pending.", Some("ORD-77_X%")),
        ("Zqx 冰箱门坏了", "客户说冰箱门坏了，要求退款。", Some("ORD-77AX")),
        ("Zqx \"quoted\" complaint", "Says \"door\" twice: door.", None),
    ];
    let mut references = Vec::new();
    for (title, description, order) in made {
        let mut builder = ComplaintBuilder::new().with("title", json!(title)).with("description", json!(description));
        if let Some(order) = order {
            builder = builder.with("orderReference", json!(order));
        }
        references.push(builder.create(app, &supervisor).await["reference"].as_str().unwrap().to_owned());
    }
    let expect = |names: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        // Case-insensitive, inside words, across the four columns.
        ("ZQX BROKEN", expect(&["Zqx broken fridge door"])),
        ("ken fridg", expect(&["Zqx broken fridge door"])),
        ("zqx fridge", expect(&["Zqx broken fridge door"])),
        ("fridge zqx", expect(&[])),
        ("lost track", expect(&["Zqx late parcel"])),
        // LIKE wildcards are plain characters.
        ("77_x", expect(&["Zqx late parcel"])),
        ("7_x%", expect(&["Zqx late parcel"])),
        ("77ax", expect(&["Zqx 冰箱门坏了"])),
        // Three CJK characters are a term.
        ("箱门坏", expect(&["Zqx 冰箱门坏了", ])),
        // Quotes are plain characters too, never query syntax.
        ("\"door\"", expect(&["Zqx \"quoted\" complaint"])),
        ("zqx\" OR \"door", expect(&[])),
        ("door* NEAR(zqx)", expect(&[])),
    ];
    for (term, expected) in cases {
        assert_eq!(titles(app, &supervisor, term).await, expected, "{term:?} on {:?}", app.backend);
    }
    // The reference column too.
    assert_eq!(titles(app, &supervisor, &references[2]).await, expect(&["Zqx 冰箱门坏了"]));
    // Below three characters: refused, whatever the characters.
    for short in ["zq", "冰箱", " d ", "%_"] {
        assert_eq!(app.error_code(Some(&supervisor), SEARCH, json!({ "s": short })).await, "VALIDATION", "{short:?}");
    }
    if app.backend == Backend::Postgres {
        // Served by the pg_trgm indexes of the four columns.
        use sea_orm::{ConnectionTrait, Statement};
        let sql = "SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'complaint' AND indexname LIKE 'complaint_search_%_trgm'";
        let row = app.db.query_one_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 4);
    }
    if app.backend == Backend::Sqlite {
        // Served by the FTS5 table, one row per complaint.
        use sea_orm::{ConnectionTrait, Statement};
        let count = |sql: &str| Statement::from_string(sea_orm::DbBackend::Sqlite, sql.to_owned());
        let fts = app.db.query_one_raw(count("SELECT count(*) AS n FROM complaint_search")).await.unwrap().unwrap();
        let rows = app.db.query_one_raw(count("SELECT count(*) AS n FROM complaint")).await.unwrap().unwrap();
        assert_eq!(fts.try_get::<i64>("", "n").unwrap(), rows.try_get::<i64>("", "n").unwrap());
        let plan = app
            .db
            .query_all_raw(count(
                "EXPLAIN QUERY PLAN SELECT id FROM complaint WHERE id IN (SELECT complaint_id FROM complaint_search WHERE complaint_search MATCH '\"zqx\"')",
            ))
            .await
            .unwrap();
        let plan: Vec<String> = plan.iter().map(|r| r.try_get::<String>("", "detail").unwrap()).collect();
        assert!(plan.iter().any(|d| d.contains("VIRTUAL TABLE INDEX")), "{plan:?}");
    }
}

async fn the_index_follows_corrections(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().with("title", json!("Wqv cracked screen")).create(app, &agent).await;
    assert_eq!(titles(app, &agent, "wqv cracked").await.len(), 1);
    let update = "mutation($id: ID!, $v: Int!, $input: UpdateComplaintInput!) { updateComplaint(id: $id, expectedVersion: $v, input: $input) { title version } }";
    let data: Value = app
        .ok(&agent, update, json!({ "id": complaint["id"], "v": complaint["version"], "input": { "title": "Wqv dented casing" } }))
        .await;
    assert_eq!(data["updateComplaint"]["title"], "Wqv dented casing");
    assert!(titles(app, &agent, "wqv cracked").await.is_empty(), "the old title is no longer found");
    assert_eq!(titles(app, &agent, "dented cas").await, vec!["Wqv dented casing".to_owned()]);
    // A change that leaves the text alone keeps it findable.
    let flags = "mutation($id: ID!, $v: Int!) { setFlags(id: $id, expectedVersion: $v, input: {mediaAttention: true}) { version } }";
    let supervisor = app.login_as("supervisor@example.com").await;
    app.ok(&supervisor, flags, json!({ "id": complaint["id"], "v": data["updateComplaint"]["version"] })).await;
    assert_eq!(titles(app, &agent, "wqv dent").await.len(), 1);
}
