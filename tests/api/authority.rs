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
