//! The permission matrix of DESIGN.md §2, role by role, over HTTP: who reads,
//! lists and works which complaint, and who may record one.

use serde_json::{Value, json};

use crate::{
    fixtures::{self, ComplaintBuilder},
    helpers::{TestApp, first_error_code},
};

crate::on_both_databases!(the_permission_matrix_holds, customer_contacts_are_masked_for_auditors_on_sensitive_cases);

/// The situations, in the order of the expectation rows below.
const SITUATIONS: [&str; 6] = [
    "own team, assigned to the agent",
    "own team, assigned to a teammate",
    "another team",
    "sensitive, assigned to the agent",
    "sensitive, assigned to a teammate",
    "legal hold, assigned to the agent",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Work {
    Ok,
    Forbidden,
    NotFound,
}
use Work::*;

/// (role's account, can read each situation, outcome of working each, can create)
const MATRIX: &[(&str, [bool; 6], [Work; 6], bool)] = &[
    ("agent@example.com", [true, true, false, true, false, false], [Ok, Forbidden, NotFound, Ok, NotFound, NotFound], true),
    ("supervisor@example.com", [true; 6], [Ok, Ok, Ok, Ok, Ok, Forbidden], true),
    ("legal@example.com", [true; 6], [Forbidden, Forbidden, Forbidden, Forbidden, Forbidden, Ok], false),
    ("auditor@example.com", [true; 6], [Forbidden; 6], false),
    ("admin@example.com", [false; 6], [NotFound; 6], false),
];

async fn situations(app: &TestApp) -> Vec<Value> {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let team_a = fixtures::team_id(app, &supervisor, "Frontline A").await;
    let teammate = fixtures::create_user(app, "teammate@example.com", "AGENT", Some(&team_a)).await;

    let titled = |n: usize| ComplaintBuilder::new().with("title", json!(format!("matrix situation {n}")));
    let for_teammate = |n: usize| titled(n).with("teamId", json!(team_a)).with("assigneeId", teammate["id"].clone());
    let mut made = vec![
        titled(0).create(app, &agent).await,
        for_teammate(1).create(app, &supervisor).await,
        titled(2).create(app, &agent2).await,
        titled(3).create(app, &agent).await,
        for_teammate(4).create(app, &supervisor).await,
        titled(5).create(app, &agent).await,
    ];
    for i in [3, 4] {
        let flagged = app
            .ok(
                &supervisor,
                "mutation($id: ID!, $v: Int!) { setFlags(id: $id, expectedVersion: $v, input: { sensitive: true }) { id version sensitive } }",
                json!({ "id": made[i]["id"], "v": made[i]["version"] }),
            )
            .await;
        assert_eq!(flagged["setFlags"]["sensitive"], true);
        made[i] = flagged["setFlags"].clone();
    }
    app.sql("UPDATE complaint SET legal_hold = TRUE WHERE title = 'matrix situation 5'").await;
    made
}

async fn the_permission_matrix_holds(app: &TestApp) {
    let complaints = situations(app).await;
    let read = "query($id: ID!) { complaint(id: $id) { id } }";
    let list = "{ complaints(first: 100, filter: { search: \"matrix situation\" }) { totalCount edges { node { id } } } }";
    let work = "mutation($id: ID!) { addNote(complaintId: $id, body: \"checked\", visibility: INTERNAL) { id } }";
    let create = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";

    for (email, reads, works, creates) in MATRIX {
        let token = app.login_as(email).await;
        let listed = app.ok(&token, list, json!({})).await;
        let listed_ids: Vec<&Value> = listed["complaints"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
        assert_eq!(listed["complaints"]["totalCount"], reads.iter().filter(|r| **r).count(), "{email}: totalCount");
        for (i, complaint) in complaints.iter().enumerate() {
            let situation = SITUATIONS[i];
            let found = app.ok(&token, read, json!({ "id": complaint["id"] })).await;
            assert_eq!(!found["complaint"].is_null(), reads[i], "{email} reading «{situation}»");
            assert_eq!(listed_ids.contains(&&complaint["id"]), reads[i], "{email} listing «{situation}»");

            let response = app.gql(Some(&token), work, json!({ "id": complaint["id"] })).await;
            let outcome = match response.get("errors") {
                None => Ok,
                Some(_) => match first_error_code(&response).as_str() {
                    "FORBIDDEN" => Forbidden,
                    "NOT_FOUND" => NotFound,
                    other => panic!("{email} working «{situation}»: unexpected {other}"),
                },
            };
            assert_eq!(outcome, works[i], "{email} working «{situation}»");
        }
        let input = ComplaintBuilder::new().input();
        let response = app.gql(Some(&token), create, json!({ "input": input })).await;
        assert_eq!(response.get("errors").is_none(), *creates, "{email} creating: {response}");
        if !creates {
            assert_eq!(first_error_code(&response), "FORBIDDEN");
        }
    }
}

async fn customer_contacts_are_masked_for_auditors_on_sensitive_cases(app: &TestApp) {
    let complaints = situations(app).await;
    let query = "query($id: ID!) { complaint(id: $id) { customer { name phone email masked } } }";
    let auditor = app.login_as("auditor@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let sensitive = &complaints[3];
    let masked = app.ok(&auditor, query, json!({ "id": sensitive["id"] })).await["complaint"]["customer"].clone();
    assert_eq!(masked["masked"], true);
    assert_eq!(masked["name"], "Li Lei");
    assert_eq!(masked["email"], "l***@example.com");
    assert!(masked["phone"].as_str().unwrap().starts_with("****"));
    let clear = app.ok(&supervisor, query, json!({ "id": sensitive["id"] })).await["complaint"]["customer"].clone();
    assert_eq!(clear["phone"], "+86 138 0000 0000");
    let ordinary = app.ok(&auditor, query, json!({ "id": complaints[0]["id"] })).await["complaint"]["customer"].clone();
    assert_eq!(ordinary["masked"], false);
}
