//! Authority limits carry a currency: a compensation in another currency is
//! judged by its converted value, or needs approval when there is no rate.

use serde_json::{Value, json};

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{Backend, TestApp, spawn_app_with},
};

async fn investigating(app: &TestApp, token: &str) -> Value {
    let c = ComplaintBuilder::new().create(app, token).await;
    let ack = "mutation($id: ID!, $v: Int!) { acknowledgeComplaint(id: $id, expectedVersion: $v) { id version } }";
    let c = app.ok(token, ack, json!({ "id": c["id"], "v": c["version"] })).await["acknowledgeComplaint"].clone();
    let find = "mutation($id: ID!, $v: Int!) { recordFinding(id: $id, expectedVersion: $v, input: { rootCause: OPERATOR_ERROR, summary: \"late\" }) { id version } }";
    app.ok(token, find, json!({ "id": c["id"], "v": c["version"] })).await["recordFinding"].clone()
}

const PROPOSE: &str = "mutation($id: ID!, $v: Int!, $a: Decimal!, $c: String!) { proposeResolution(id: $id, expectedVersion: $v,
    input: { summary: \"Compensate\", compensationAmount: $a, currency: $c }) { id status latestEscalation { id reason } } }";

async fn propose(app: &TestApp, token: &str, amount: &str, currency: &str) -> Value {
    let c = investigating(app, token).await;
    app.ok(token, PROPOSE, json!({ "id": c["id"], "v": c["version"], "a": amount, "c": currency })).await["proposeResolution"].clone()
}

const APPROVE: &str = "mutation($id: ID!) { approveEscalation(id: $id, note: \"ok\") { status } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compensation_in_another_currency_is_judged_by_its_converted_value() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // Without a rate, 500 GBP against a 500 CNY limit needs approval.
        let Some(app) = spawn_app_with(backend, |_| {}).await else { continue };
        let agent = app.login_as("agent@example.com").await;
        let gbp = propose(&app, &agent, "500.00", "GBP").await;
        assert_eq!(gbp["status"], "PENDING_APPROVAL", "{backend:?}: {gbp}");
        assert!(gbp["latestEscalation"]["reason"].as_str().unwrap().contains("no conversion rate"), "{gbp}");
        app.finish().await;

        let Some(app) = spawn_app_with(backend, |s| {
            s.authority.rates.insert("GBP".into(), "9.12".parse().unwrap());
        })
        .await
        else {
            continue;
        };
        let agent = app.login_as("agent@example.com").await;
        let supervisor = app.login_as("supervisor@example.com").await;
        // 500 GBP ≈ 4 560 CNY: above the agent's 500, within the supervisor's 5 000.
        let gbp = propose(&app, &agent, "500.00", "GBP").await;
        assert_eq!(gbp["status"], "PENDING_APPROVAL", "{gbp}");
        assert!(gbp["latestEscalation"]["reason"].as_str().unwrap().contains("4560"), "{gbp}");
        let approved = app.ok(&supervisor, APPROVE, json!({ "id": gbp["latestEscalation"]["id"] })).await;
        assert_eq!(approved["approveEscalation"]["status"], "APPROVED");
        // 50 GBP ≈ 456 CNY: within the agent's authority.
        assert_eq!(propose(&app, &agent, "50.00", "GBP").await["status"], "RESOLUTION_PROPOSED");
        // 600 GBP ≈ 5 472 CNY: beyond the supervisor's authority too.
        let big = propose(&app, &agent, "600.00", "GBP").await;
        assert_eq!(app.error_code(Some(&supervisor), APPROVE, json!({ "id": big["latestEscalation"]["id"] })).await, "APPROVAL_REQUIRED");
        // A currency without a rate still needs approval.
        assert_eq!(propose(&app, &agent, "1.00", "USD").await["status"], "PENDING_APPROVAL");
        app.finish().await;
    }
}

const PROPOSE_REFUND: &str = "mutation($id: ID!, $v: Int!, $r: Decimal!, $a: Decimal!) { proposeResolution(id: $id, expectedVersion: $v,
    input: { summary: \"Refund and compensate\", refundAmount: $r, compensationAmount: $a, currency: \"CNY\" }) {
    id status resolution { refundAmount compensationAmount currency } latestEscalation { id reason } } }";

/// The manuals' worked case: the goods refunded plus a compensation on top.
/// The authority limit caps the total, whichever way it is split.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_plus_compensation_is_capped_by_the_authority_limit() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else { continue };
        let agent = app.login_as("agent@example.com").await;
        let supervisor = app.login_as("supervisor@example.com").await;
        // 300 + 300 = 600 CNY: each part within the agent's 500, the total not.
        let c = investigating(&app, &agent).await;
        let split = app.ok(&agent, PROPOSE_REFUND, json!({ "id": c["id"], "v": c["version"], "r": "300.00", "a": "300.00" })).await;
        let split = split["proposeResolution"].clone();
        assert_eq!(split["status"], "PENDING_APPROVAL", "{backend:?}: {split}");
        assert_eq!(split["resolution"]["refundAmount"], "300.00");
        assert!(split["latestEscalation"]["reason"].as_str().unwrap().contains("refund plus compensation of 600.00 CNY"), "{split}");
        let approved = app.ok(&supervisor, APPROVE, json!({ "id": split["latestEscalation"]["id"] })).await;
        assert_eq!(approved["approveEscalation"]["status"], "APPROVED");
        // 300 + 200 = 500 CNY: within.
        let c = investigating(&app, &agent).await;
        let within = app.ok(&agent, PROPOSE_REFUND, json!({ "id": c["id"], "v": c["version"], "r": "300.00", "a": "200.00" })).await;
        assert_eq!(within["proposeResolution"]["status"], "RESOLUTION_PROPOSED", "{backend:?}");
        // The approver's limit caps the same total: 4 000 + 2 000 is beyond the supervisor's 5 000.
        let c = investigating(&app, &agent).await;
        let big = app.ok(&agent, PROPOSE_REFUND, json!({ "id": c["id"], "v": c["version"], "r": "4000.00", "a": "2000.00" })).await;
        let request = big["proposeResolution"]["latestEscalation"]["id"].clone();
        assert_eq!(app.error_code(Some(&supervisor), APPROVE, json!({ "id": request })).await, "APPROVAL_REQUIRED");
        app.finish().await;
    }
}

/// A user's authority limit may be set in another currency; it is judged in
/// that currency, converted with the configured rates (no rate: approval).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_user_limit_in_another_currency_is_judged_by_converted_value() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| {
            s.authority.rates.insert("GBP".into(), "9.12".parse().unwrap());
        })
        .await
        else {
            continue;
        };
        let admin = app.login_as("admin@example.com").await;
        let admin2 = app.login_as("admin2@example.com").await;
        let agent = app.login_as("agent@example.com").await;
        let me = app.ok(&agent, "{ me { id } }", json!({})).await["me"]["id"].clone();
        let user = app.ok(&admin, "{ users(role: AGENT, first: 1) { edges { node { id version } } } }", json!({})).await;
        let user = user["users"]["edges"][0]["node"].clone();
        assert_eq!(user["id"], me);
        // Another currency is a change a second administrator approves.
        let set = "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { authorityLimit: \"100\", authorityCurrency: \"GBP\" }) { authorityLimit authorityCurrency } }";
        let pending = app.ok(&admin, set, json!({ "id": user["id"], "v": user["version"] })).await;
        assert_eq!(pending["updateUser"]["authorityCurrency"], "CNY", "{backend:?}: not before approval");
        let grant = crate::fixtures::pending_grant_of(&app, &admin, &user["id"]).await;
        let approved = app
            .ok(&admin2, "mutation($id: ID!) { approveRoleGrant(id: $id) { user { authorityLimit authorityCurrency } } }", json!({ "id": grant }))
            .await;
        assert_eq!(approved["approveRoleGrant"]["user"], json!({ "authorityLimit": "100", "authorityCurrency": "GBP" }));
        // 100 GBP ≈ 912 CNY.
        assert_eq!(propose(&app, &agent, "900.00", "CNY").await["status"], "RESOLUTION_PROPOSED", "{backend:?}");
        assert_eq!(propose(&app, &agent, "1000.00", "CNY").await["status"], "PENDING_APPROVAL", "{backend:?}");
        assert_eq!(propose(&app, &agent, "100.00", "GBP").await["status"], "RESOLUTION_PROPOSED", "{backend:?}");
        let usd = propose(&app, &agent, "1.00", "USD").await;
        assert_eq!(usd["status"], "PENDING_APPROVAL", "{backend:?}: no USD rate");
        assert!(usd["latestEscalation"]["reason"].as_str().unwrap().contains("100 GBP"), "{usd}");
        app.finish().await;
    }
}
