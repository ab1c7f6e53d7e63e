//! Work items for other teams (issue 12; manuals 000 §2.3/§4.1, 001 §3–4):
//! the handling team asks finance for a refund payout, finance reads the
//! complaint while the item is open and nothing more, the resolution waits
//! for the payout, and sight ends when the work is done. The SLA monitor marks
//! an overdue item once, with two servers on one database.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    evidence::{png, upload_ok},
    fixtures::{ComplaintBuilder, team_id},
    helpers::{Backend, TestApp, WsClient, first_error_code, spawn_another, spawn_app_with},
};

crate::on_both_databases!(
    finance_pays_out_a_refund_before_the_complaint_is_resolved,
    only_the_assisting_team_reads_and_it_never_works_the_complaint,
    a_declined_item_ends_access_and_investigations_do_not_hold_back_resolution,
    work_requests_are_validated_and_refused_on_closed_complaints,
);

const FINANCE_TEAM: &str = "Treasury (Finance)";
const FIELDS: &str = "id status version viewerCan { resolve addNote requestWork }";
const ITEM: &str = "id kind status request dueBy overdue result team { name } requestedBy { email } closedBy { email } closedAt
    complaint { id reference }";

async fn step(app: &TestApp, token: &str, name: &str, c: &Value, args: &str) -> Value {
    let response = try_step(app, token, name, c, args).await;
    assert!(response.get("errors").is_none(), "{name} failed: {response:#}");
    response["data"][name].clone()
}

async fn try_step(app: &TestApp, token: &str, name: &str, c: &Value, args: &str) -> Value {
    let query = format!("mutation($id: ID!, $v: Int!) {{ {name}(id: $id, expectedVersion: $v{args}) {{ {FIELDS} }} }}");
    app.gql(Some(token), &query, json!({ "id": c["id"], "v": c["version"] })).await
}

/// The complaint as `token` sees it now (null when hidden).
async fn read(app: &TestApp, token: &str, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ complaint(id: $id) {{ {FIELDS} workItems {{ edges {{ node {{ {ITEM} }} }} }} }} }}");
    app.ok(token, &query, json!({ "id": id })).await["complaint"].clone()
}

/// A complaint of `token`'s, walked to CUSTOMER_ACCEPTED with a refund in the plan.
async fn accepted_refund(app: &TestApp, token: &str, title: &str) -> Value {
    let c = ComplaintBuilder::new()
        .with("title", json!(title))
        .with("category", json!("PRODUCT_QUALITY"))
        .with("coreDemand", json!("REFUND"))
        .with("customer", json!({ "name": "Mr. Sun Qiang", "phone": "+86 136 2222 3333" }))
        .create(app, token)
        .await;
    let c = step(app, token, "acknowledgeComplaint", &c, "").await;
    let c = step(app, token, "recordFinding", &c, ", input: { rootCause: PRODUCT_DEFECT, summary: \"scratched in transit\" }").await;
    let c = step(app, token, "proposeResolution", &c, ", input: { summary: \"Refund\", compensationAmount: \"300.00\" }").await;
    step(app, token, "recordCustomerDecision", &c, ", accepted: true").await
}

const REQUEST: &str = "mutation($id: ID!, $input: WorkRequestInput!) { requestWork(complaintId: $id, input: $input) {
    id kind status request dueBy overdue team { name } requestedBy { email } complaint { id } } }";

fn work(team: &str, kind: &str, hours: i64) -> Value {
    json!({ "teamId": team, "kind": kind, "request": "Refund 300.00 CNY to the original card",
            "dueBy": (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339() })
}

async fn request(app: &TestApp, token: &str, id: &Value, input: Value) -> Value {
    app.ok(token, REQUEST, json!({ "id": id, "input": input })).await["requestWork"].clone()
}

const COMPLETE: &str = "mutation($id: ID!, $r: String!) { completeWork(id: $id, result: $r) { id status result closedBy { email } closedAt } }";
const DECLINE: &str = "mutation($id: ID!, $r: String!) { declineWork(id: $id, reason: $r) { id status result } }";
const QUEUE: &str = "{ workQueue(first: 10) { edges { node { id kind dueBy complaint { id reference } } } } }";

fn queue_ids(data: &Value) -> Vec<Value> {
    data["workQueue"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect()
}

/// Manual 001 §4: the handling department agrees a refund, finance pays it
/// out, and only then is the complaint resolved.
async fn finance_pays_out_a_refund_before_the_complaint_is_resolved(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let finance = app.login_as("finance@example.com").await;
    let auditor = app.login_as("auditor@example.com").await;
    let finance_team = team_id(app, &agent, FINANCE_TEAM).await;
    let c = accepted_refund(app, &agent, "Fridge refund to pay out").await;
    assert_eq!(c["viewerCan"]["resolve"], true);

    // Before the request, finance cannot see the complaint.
    assert!(read(app, &finance, &c["id"]).await.is_null());
    let item = request(app, &agent, &c["id"], work(&finance_team, "REFUND_PAYOUT", 24)).await;
    assert_eq!(item["status"], "OPEN");
    assert_eq!(item["kind"], "REFUND_PAYOUT");
    assert_eq!(item["team"]["name"], FINANCE_TEAM);
    assert_eq!(item["requestedBy"]["email"], "agent@example.com");
    assert_eq!(item["overdue"], false);

    // The resolution waits for the payout, with a clear reason; viewerCan agrees.
    let seen = read(app, &agent, &c["id"]).await;
    assert_eq!(seen["viewerCan"]["resolve"], false);
    assert_eq!(seen["workItems"]["edges"].as_array().unwrap().len(), 1);
    let refused = try_step(app, &agent, "resolveComplaint", &seen, ", summary: \"paid\"").await;
    assert_eq!(first_error_code(&refused), "INVALID_TRANSITION");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("REFUND_PAYOUT") && message.contains("work"), "{message}");

    // Finance finds it in its queue and reads the complaint, its customer and its evidence.
    let queue = app.ok(&finance, QUEUE, json!({})).await;
    assert_eq!(queue_ids(&queue), vec![item["id"].clone()]);
    assert_eq!(queue["workQueue"]["edges"][0]["node"]["complaint"]["id"], c["id"]);
    let visible = read(app, &finance, &c["id"]).await;
    assert_eq!(visible["id"], c["id"]);
    assert_eq!(visible["viewerCan"], json!({ "resolve": false, "addNote": false, "requestWork": false }));
    let listed = app.ok(&finance, "{ complaints(filter: { search: \"Fridge refund\" }) { totalCount } }", json!({})).await;
    assert_eq!(listed["complaints"]["totalCount"], 1, "lists and lookups agree");
    let customers = app.ok(&finance, "{ customers(search: \"Sun Qiang\") { edges { node { name } } } }", json!({})).await;
    assert_eq!(customers["customers"]["edges"].as_array().unwrap().len(), 1);
    let evidence = upload_ok(app, &agent, c["id"].as_str().unwrap(), png(256)).await;
    let url = app.url(evidence["downloadUrl"].as_str().unwrap());
    let download = app.client.get(&url).bearer_auth(&finance).send().await.unwrap();
    assert_eq!(download.status(), 200, "assisting members download the evidence");

    // Finance pays; the item is done and the complaint is out of its sight again.
    let done = app.ok(&finance, COMPLETE, json!({ "id": item["id"], "r": "Paid 300.00 CNY, transfer 7781" })).await["completeWork"].clone();
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["result"], "Paid 300.00 CNY, transfer 7781");
    assert_eq!(done["closedBy"]["email"], "finance@example.com");
    assert!(done["closedAt"].is_string());
    assert!(read(app, &finance, &c["id"]).await.is_null(), "access ends with the work");
    assert!(queue_ids(&app.ok(&finance, QUEUE, json!({})).await).is_empty());
    let listed = app.ok(&finance, "{ complaints(filter: { search: \"Fridge refund\" }) { totalCount } }", json!({})).await;
    assert_eq!(listed["complaints"]["totalCount"], 0);
    let download = app.client.get(&url).bearer_auth(&finance).send().await.unwrap();
    assert_eq!(download.status(), 404, "evidence too");
    let again = app.gql(Some(&finance), COMPLETE, json!({ "id": item["id"], "r": "twice" })).await;
    assert_eq!(first_error_code(&again), "NOT_FOUND", "a finished item of a complaint out of sight is not found");

    // Now the complaint resolves; the trail holds the request and the payout, and verifies.
    let seen = read(app, &agent, &c["id"]).await;
    assert_eq!(seen["viewerCan"]["resolve"], true);
    let resolved = step(app, &agent, "resolveComplaint", &seen, ", summary: \"Refund paid\"").await;
    assert_eq!(resolved["status"], "RESOLVED");
    let me = |token: String| async move { app.ok(&token, "{ me { id } }", json!({})).await["me"]["id"].as_str().unwrap().to_owned() };
    let (agent_id, finance_id) = (me(agent.clone()).await, me(finance.clone()).await);
    let trail = app
        .ok(&auditor, "query($id: ID!) { complaint(id: $id) { auditTrail(first: 100) { edges { node { action actorId } } } } }", json!({ "id": c["id"] }))
        .await;
    let actions: Vec<(String, String)> = trail["complaint"]["auditTrail"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["action"].as_str().unwrap().to_owned(), e["node"]["actorId"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert!(actions.contains(&("work.requested".into(), agent_id)), "{actions:?}");
    assert!(actions.contains(&("work.completed".into(), finance_id)), "{actions:?}");
    let verified = app.ok(&auditor, "query($id: ID) { verifyAuditTrail(complaintId: $id) { ok } }", json!({ "id": c["id"] })).await;
    assert_eq!(verified["verifyAuditTrail"]["ok"], true, "{verified:#}");
}

/// A stolen or curious token: another team's agent sees nothing of the
/// complaint or its item; the assisting member reads but cannot act; the
/// handling agent cannot complete finance's work; a direct UPDATE granting a
/// team access is caught by the verifier.
async fn only_the_assisting_team_reads_and_it_never_works_the_complaint(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let finance = app.login_as("finance@example.com").await;
    let auditor = app.login_as("auditor@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let finance_team = team_id(app, &agent, FINANCE_TEAM).await;
    let c = accepted_refund(app, &agent, "Refund for a scratched fridge").await;
    let item = request(app, &agent, &c["id"], work(&finance_team, "REFUND_PAYOUT", 24)).await;

    // A non-member of the assisting team: nothing, by any road.
    assert!(read(app, &agent2, &c["id"]).await.is_null());
    assert!(queue_ids(&app.ok(&agent2, QUEUE, json!({})).await).is_empty());
    let item_query = "query($id: ID!) { workItem(id: $id) { id } }";
    assert!(app.ok(&agent2, item_query, json!({ "id": item["id"] })).await["workItem"].is_null());
    assert_eq!(app.error_code(Some(&agent2), COMPLETE, json!({ "id": item["id"], "r": "paid" })).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&agent2), DECLINE, json!({ "id": item["id"], "r": "no" })).await, "NOT_FOUND");
    let note = "mutation($id: ID!) { addNote(complaintId: $id, body: \"hi\", visibility: INTERNAL) { id } }";
    assert_eq!(app.error_code(Some(&agent2), note, json!({ "id": c["id"] })).await, "NOT_FOUND");

    // The assisting member reads, and is refused every action on the complaint.
    let seen = read(app, &finance, &c["id"]).await;
    assert!(!seen.is_null());
    assert!(app.ok(&finance, item_query, json!({ "id": item["id"] })).await["workItem"].is_object());
    assert_eq!(app.error_code(Some(&finance), note, json!({ "id": c["id"] })).await, "FORBIDDEN");
    for (name, args) in [
        ("resolveComplaint", ", summary: \"paid\""),
        ("closeComplaint", ", reason: \"done\""),
        ("setFlags", ", input: { mediaAttention: true }"),
        ("assignComplaint", &format!(", teamId: \"{finance_team}\"") as &str),
    ] {
        let response = try_step(app, &finance, name, &seen, args).await;
        assert_eq!(first_error_code(&response), "FORBIDDEN", "{name}: {response:#}");
    }
    let more = app.gql(Some(&finance), REQUEST, json!({ "id": c["id"], "input": work(&finance_team, "OTHER", 4) })).await;
    assert_eq!(first_error_code(&more), "FORBIDDEN", "assisting is not handling");
    let escalate = "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: TECHNICAL, reason: \"x\") { id } }";
    assert_eq!(app.error_code(Some(&finance), escalate, json!({ "id": c["id"] })).await, "FORBIDDEN");
    let upload = crate::evidence::upload(app, &finance, c["id"].as_str().unwrap(), "SCREENSHOT", "x.png", "image/png", png(64)).await;
    assert_eq!(first_error_code(&upload), "FORBIDDEN");

    // The handling agent may read the item but not complete finance's work; auditors change nothing.
    assert_eq!(app.error_code(Some(&agent), COMPLETE, json!({ "id": item["id"], "r": "paid" })).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&auditor), COMPLETE, json!({ "id": item["id"], "r": "paid" })).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&supervisor), COMPLETE, json!({ "id": item["id"], "r": "paid" })).await, "FORBIDDEN", "another team's supervisor");

    // Legal hold ends the assisting read, and the item cannot be completed meanwhile.
    let current = read(app, &agent, &c["id"]).await;
    let refer = "mutation($id: ID!) { referToLegal(id: $id, reason: \"threatens to sue\") { id } }";
    app.ok(&supervisor, refer, json!({ "id": current["id"] })).await;
    assert!(read(app, &finance, &c["id"]).await.is_null());
    assert!(queue_ids(&app.ok(&finance, QUEUE, json!({})).await).is_empty(), "the queue shows only readable complaints");
    assert_eq!(app.error_code(Some(&finance), COMPLETE, json!({ "id": item["id"], "r": "paid" })).await, "NOT_FOUND");

    // Granting a team sight by writing the database is caught: the access list is in the hashed state.
    let other = ComplaintBuilder::new().with("title", json!("tampered")).create(app, &agent).await;
    let agent2_team = team_id(app, &agent, "Frontline B").await;
    let (_, uuid) = decode_id(&agent2_team);
    app.sql(&format!("UPDATE complaint SET assisting_teams = '{uuid}' WHERE title = 'tampered'")).await;
    assert!(!read(app, &agent2, &other["id"]).await.is_null(), "the row grants it");
    let legal = app.login_as("legal@example.com").await;
    let verified = app.ok(&legal, "query($id: ID) { verifyAuditTrail(complaintId: $id) { ok } }", json!({ "id": other["id"] })).await;
    assert_eq!(verified["verifyAuditTrail"]["ok"], false, "and the verifier reports it: {verified:#}");
}

/// The kind and UUID inside a global ID.
fn decode_id(id: &str) -> (String, String) {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (kind, uuid) = raw.split_once(':').unwrap();
    (kind.to_owned(), uuid.to_owned())
}

/// Manual 000: technical support declines an investigation it cannot do; the
/// decline ends its sight. An open INVESTIGATE does not hold back the resolution.
async fn a_declined_item_ends_access_and_investigations_do_not_hold_back_resolution(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let finance = app.login_as("finance@example.com").await;
    let finance_team = team_id(app, &agent, FINANCE_TEAM).await;
    let c = accepted_refund(app, &agent, "Line keeps dropping").await;
    let ask = request(app, &agent, &c["id"], work(&finance_team, "INVESTIGATE", 8)).await;
    let implement = request(app, &agent, &c["id"], work(&finance_team, "IMPLEMENT", 2)).await;
    // The queue: earliest due first.
    assert_eq!(queue_ids(&app.ok(&finance, QUEUE, json!({})).await), vec![implement["id"].clone(), ask["id"].clone()]);
    // An empty reason is refused.
    assert_eq!(app.error_code(Some(&finance), DECLINE, json!({ "id": implement["id"], "r": "  " })).await, "VALIDATION");
    let declined = app.ok(&finance, DECLINE, json!({ "id": implement["id"], "r": "Not ours: ask the network team" })).await;
    assert_eq!(declined["declineWork"]["status"], "DECLINED");
    assert_eq!(declined["declineWork"]["result"], "Not ours: ask the network team");
    // Declined once; the open investigation still lets finance read.
    assert!(!read(app, &finance, &c["id"]).await.is_null());
    assert_eq!(app.error_code(Some(&finance), COMPLETE, json!({ "id": implement["id"], "r": "after all" })).await, "INVALID_TRANSITION");
    // An open investigation does not hold back the resolution.
    let seen = read(app, &agent, &c["id"]).await;
    assert_eq!(seen["viewerCan"]["resolve"], true);
    step(app, &agent, "resolveComplaint", &seen, ", summary: \"explained\"").await;
    app.ok(&finance, DECLINE, json!({ "id": ask["id"], "r": "nothing to investigate" })).await;
    assert!(read(app, &finance, &c["id"]).await.is_null(), "the last open item gone, sight is gone");
    let items = read(app, &agent, &c["id"]).await["workItems"]["edges"].as_array().unwrap().clone();
    let statuses: Vec<&str> = items.iter().map(|e| e["node"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["DECLINED", "DECLINED"]);
}

async fn work_requests_are_validated_and_refused_on_closed_complaints(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let auditor = app.login_as("auditor@example.com").await;
    let finance_team = team_id(app, &agent, FINANCE_TEAM).await;
    let c = ComplaintBuilder::new().with("title", json!("validation")).create(app, &agent).await;
    let code_and_field = |response: Value| (first_error_code(&response), response["errors"][0]["extensions"]["field"].clone());
    let past = app.gql(Some(&agent), REQUEST, json!({ "id": c["id"], "input": work(&finance_team, "REPAIR", -1) })).await;
    assert_eq!(code_and_field(past), ("VALIDATION".into(), json!("input.dueBy")));
    let mut blank = work(&finance_team, "REPAIR", 1);
    blank["request"] = json!(" ");
    let blank = app.gql(Some(&agent), REQUEST, json!({ "id": c["id"], "input": blank })).await;
    assert_eq!(code_and_field(blank), ("VALIDATION".into(), json!("input.request")));
    let nowhere = work(&c["id"].as_str().unwrap().replace('x', "y"), "REPAIR", 1);
    let nowhere = app.gql(Some(&agent), REQUEST, json!({ "id": c["id"], "input": nowhere })).await;
    assert!(["VALIDATION", "NOT_FOUND"].contains(&first_error_code(&nowhere).as_str()), "{nowhere:#}");
    // Other teams' agents and auditors may not ask; admins do not even see the complaint.
    let other = app.gql(Some(&agent2), REQUEST, json!({ "id": c["id"], "input": work(&finance_team, "REPAIR", 1) })).await;
    assert_eq!(first_error_code(&other), "NOT_FOUND");
    let audit = app.gql(Some(&auditor), REQUEST, json!({ "id": c["id"], "input": work(&finance_team, "REPAIR", 1) })).await;
    assert_eq!(first_error_code(&audit), "FORBIDDEN");
    // Nothing was recorded by the refusals.
    assert!(read(app, &agent, &c["id"]).await["workItems"]["edges"].as_array().unwrap().is_empty());
    // A closed complaint takes no more work; the queue is empty for callers without a team.
    let seen = read(app, &agent, &c["id"]).await;
    assert_eq!(seen["viewerCan"]["requestWork"], true);
    let closed = step(app, &agent, "closeComplaint", &seen, ", reason: \"withdrawn\", outcome: WITHDRAWN").await;
    assert_eq!(closed["viewerCan"]["requestWork"], false);
    let late = app.gql(Some(&agent), REQUEST, json!({ "id": c["id"], "input": work(&finance_team, "REPAIR", 1) })).await;
    assert_eq!(first_error_code(&late), "INVALID_TRANSITION");
    assert!(queue_ids(&app.ok(&auditor, QUEUE, json!({})).await).is_empty());
    // Pages are bounded.
    assert_eq!(app.error_code(Some(&agent), "{ workQueue(first: 101) { edges { node { id } } } }", json!({})).await, "VALIDATION");
}

/// Two servers scan every 200 ms; an open item past its due time is marked
/// overdue once, announced to the assisting member subscribed to the complaint.
async fn an_overdue_item_is_marked_once_with_two_servers(backend: Backend) {
    let fast = |s: &mut casework::config::Settings| s.sla_scan_interval = Duration::from_millis(200);
    let Some(app) = spawn_app_with(backend, fast).await else { return };
    let second = spawn_another(&app, |s| {
        // SQLite subscribers hear only their own server: there the second server does not scan.
        s.sla_scan_interval = if backend == Backend::Postgres { Duration::from_millis(200) } else { Duration::from_secs(3600) };
        s.demo = false;
    })
    .await;
    let agent = app.login_as("agent@example.com").await;
    let finance = app.login_as("finance@example.com").await;
    let auditor = app.login_as("auditor@example.com").await;
    let finance_team = team_id(&app, &agent, FINANCE_TEAM).await;
    let c = ComplaintBuilder::new().with("title", json!("payout overdue")).create(&app, &agent).await;
    let c = step(&app, &agent, "acknowledgeComplaint", &c, "").await;
    let item = request(&app, &agent, &c["id"], work(&finance_team, "REFUND_PAYOUT", 1)).await;

    let listener = if backend == Backend::Postgres { &second } else { &app };
    let mut ws = WsClient::connect(listener, &finance).await;
    ws.subscribe("events", "subscription($id: ID) { complaintEvents(complaintId: $id) { action complaint { id workItems { edges { node { overdue } } } } } }", json!({ "id": c["id"] })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let past = match backend {
        Backend::Sqlite => "'2020-01-01 00:00:00+00:00'",
        Backend::Postgres => "'2020-01-01T00:00:00Z'",
    };
    app.sql(&format!("UPDATE work_item SET due_by = {past}")).await;
    let mut announced = Vec::new();
    while let Some(message) = ws.next(Duration::from_secs(5)).await {
        announced.push(message["payload"]["data"]["complaintEvents"].clone());
        if announced.iter().any(|e| e["action"] == "work.overdue") {
            break;
        }
    }
    let marked = announced.iter().find(|e| e["action"] == "work.overdue").unwrap_or_else(|| panic!("never announced: {announced:#?}"));
    assert_eq!(marked["complaint"]["workItems"]["edges"][0]["node"]["overdue"], true);
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let trail = app
        .ok(&auditor, "query($id: ID!) { complaint(id: $id) { auditTrail(first: 100) { edges { node { action } } } } }", json!({ "id": c["id"] }))
        .await;
    let marks = trail["complaint"]["auditTrail"]["edges"].as_array().unwrap().iter().filter(|e| e["node"]["action"] == "work.overdue").count();
    assert_eq!(marks, 1, "marked once with two servers: {trail:#}");
    let seen = app.ok(&finance, "query($id: ID!) { workItem(id: $id) { overdue status } }", json!({ "id": item["id"] })).await;
    assert_eq!(seen["workItem"], json!({ "overdue": true, "status": "OPEN" }));
    // Completing late is still completing; the mark stays as history.
    let done = app.ok(&finance, COMPLETE, json!({ "id": item["id"], "r": "paid late" })).await;
    assert_eq!(done["completeWork"]["status"], "COMPLETED");
    let verified = app.ok(&auditor, "query($id: ID) { verifyAuditTrail(complaintId: $id) { ok } }", json!({ "id": c["id"] })).await;
    assert_eq!(verified["verifyAuditTrail"]["ok"], true);
    second.finish().await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_item_is_marked_once_with_two_servers_on_sqlite() {
    an_overdue_item_is_marked_once_with_two_servers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_item_is_marked_once_with_two_servers_on_postgres() {
    an_overdue_item_is_marked_once_with_two_servers(Backend::Postgres).await;
}
