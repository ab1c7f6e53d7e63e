//! Escalation, authority limits, SLA policies and the monitor, and live updates.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{Backend, TestApp, WsClient, first_error_code, spawn_another, spawn_app_with},
};

crate::on_both_databases!(
    compensation_above_an_agents_authority_waits_for_a_supervisor,
    nobody_decides_their_own_request_and_decisions_are_final,
    a_rejected_compensation_returns_to_investigation,
    a_vulnerable_customer_raises_one_high_impact_request,
    escalation_requests_are_validated,
    approval_moves_the_complaint_to_the_target_tier,
    a_referral_to_legal_places_the_hold_and_legal_decides,
    sla_policies_are_administered_and_applied,
    subscribers_see_changes_they_may_see,
    the_queue_is_one_statement_whatever_its_length,
    every_complaint_field_reads_the_same_on_the_queue,
);

const QUEUE: &str = "{ escalationQueue { edges { node { id trigger reason status fromTier toTier dueBy
    requestedBy { email } complaint { id status } } } } }";

fn queue_nodes(data: &Value) -> Vec<Value> {
    data["escalationQueue"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

async fn walk_to_investigating(app: &TestApp, token: &str) -> Value {
    let c = ComplaintBuilder::new().create(app, token).await;
    let ack = "mutation($id: ID!, $v: Int!) { acknowledgeComplaint(id: $id, expectedVersion: $v) { id version status } }";
    let c = app.ok(token, ack, json!({ "id": c["id"], "v": c["version"] })).await["acknowledgeComplaint"].clone();
    let find = "mutation($id: ID!, $v: Int!) { recordFinding(id: $id, expectedVersion: $v, input: { rootCause: OPERATOR_ERROR, summary: \"wrong address\" }) { id version status } }";
    app.ok(token, find, json!({ "id": c["id"], "v": c["version"] })).await["recordFinding"].clone()
}

const PROPOSE: &str = "mutation($id: ID!, $v: Int!, $a: Decimal!) { proposeResolution(id: $id, expectedVersion: $v,
    input: { summary: \"Compensate\", compensationAmount: $a }) { id version status latestEscalation { id trigger status } } }";

async fn propose(app: &TestApp, token: &str, c: &Value, amount: &str) -> Value {
    app.ok(token, PROPOSE, json!({ "id": c["id"], "v": c["version"], "a": amount })).await["proposeResolution"].clone()
}

const APPROVE: &str = "mutation($id: ID!) { approveEscalation(id: $id, note: \"ok\") { id status decidedBy { email } complaint { status version tier } } }";
const REJECT: &str = "mutation($id: ID!) { rejectEscalation(id: $id, reason: \"too much\") { id status complaint { status } } }";

async fn compensation_above_an_agents_authority_waits_for_a_supervisor(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;

    let small = walk_to_investigating(app, &agent).await;
    let small = propose(app, &agent, &small, "300").await;
    assert_eq!(small["status"], "RESOLUTION_PROPOSED");
    assert!(small["latestEscalation"].is_null());

    let large = walk_to_investigating(app, &agent).await;
    let large = propose(app, &agent, &large, "2000").await;
    assert_eq!(large["status"], "PENDING_APPROVAL");
    assert_eq!(large["latestEscalation"]["trigger"], "EXCEEDS_AUTHORITY");

    let queue = queue_nodes(&app.ok(&supervisor, QUEUE, json!({})).await);
    assert_eq!(queue.len(), 1, "exactly one request: {queue:#?}");
    assert_eq!(queue[0]["requestedBy"]["email"], "agent@example.com");
    assert_eq!(queue[0]["complaint"]["id"], large["id"]);
    assert!(queue[0]["reason"].as_str().unwrap().contains("2000.00"));

    let approved = app.ok(&supervisor, APPROVE, json!({ "id": queue[0]["id"] })).await["approveEscalation"].clone();
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["decidedBy"]["email"], "supervisor@example.com");
    assert_eq!(approved["complaint"]["status"], "RESOLUTION_PROPOSED");
    assert_eq!(approved["complaint"]["tier"], "TIER1", "an approval of money keeps the assignment");
    assert!(queue_nodes(&app.ok(&supervisor, QUEUE, json!({})).await).is_empty());

    // Agents have no approval queue.
    assert_eq!(app.error_code(Some(&agent), QUEUE, json!({})).await, "FORBIDDEN");
}

async fn nobody_decides_their_own_request_and_decisions_are_final(app: &TestApp) {
    let supervisor = app.login_as("supervisor@example.com").await;
    let agent = app.login_as("agent@example.com").await;
    // The supervisor proposes beyond their own 5 000.
    let c = walk_to_investigating(app, &agent).await;
    let own = propose(app, &supervisor, &c, "6000").await;
    assert_eq!(own["status"], "PENDING_APPROVAL");
    let request = own["latestEscalation"]["id"].clone();
    assert_eq!(app.error_code(Some(&supervisor), APPROVE, json!({ "id": request })).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&supervisor), REJECT, json!({ "id": request })).await, "FORBIDDEN");

    // Another supervisor, whose limit does not cover it either, must pass it up.
    let admin = app.login_as("admin@example.com").await;
    let team = crate::fixtures::team_id(app, &admin, "Technical Support").await;
    let other = crate::fixtures::create_user(app, "supervisor2@example.com", "SUPERVISOR", Some(&team)).await;
    let other_token = app.login("supervisor2@example.com", &crate::helpers::DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.error_code(Some(&other_token), APPROVE, json!({ "id": request })).await, "APPROVAL_REQUIRED");
    // With a raised limit, the decision goes through — once.
    app.ok(
        &admin,
        "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { authorityLimit: \"10000\" }) { id } }",
        json!({ "id": other["id"], "v": other["version"] }),
    )
    .await;
    // A raise takes a second administrator.
    let grant = crate::fixtures::pending_grant_of(app, &admin, &other["id"]).await;
    let second = app.login_as("admin2@example.com").await;
    app.ok(&second, "mutation($id: ID!) { approveRoleGrant(id: $id) { status } }", json!({ "id": grant })).await;
    let approved = app.ok(&other_token, APPROVE, json!({ "id": request })).await;
    assert_eq!(approved["approveEscalation"]["complaint"]["status"], "RESOLUTION_PROPOSED");
    assert_eq!(app.error_code(Some(&other_token), APPROVE, json!({ "id": request })).await, "INVALID_TRANSITION");
    assert_eq!(app.error_code(Some(&other_token), REJECT, json!({ "id": request })).await, "INVALID_TRANSITION");
}

async fn a_rejected_compensation_returns_to_investigation(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = walk_to_investigating(app, &agent).await;
    let pending = propose(app, &agent, &c, "2000").await;
    let rejected = app.ok(&supervisor, REJECT, json!({ "id": pending["latestEscalation"]["id"] })).await;
    assert_eq!(rejected["rejectEscalation"]["status"], "REJECTED");
    assert_eq!(rejected["rejectEscalation"]["complaint"]["status"], "INVESTIGATING");
    let empty = "mutation($id: ID!) { rejectEscalation(id: $id, reason: \" \") { id } }";
    let again = walk_to_investigating(app, &agent).await;
    let again = propose(app, &agent, &again, "2000").await;
    let response = app.gql(Some(&supervisor), empty, json!({ "id": again["latestEscalation"]["id"] })).await;
    assert_eq!(first_error_code(&response), "VALIDATION");
}

const FLAGS: &str = "mutation($id: ID!, $v: Int!, $f: FlagsInput!) { setFlags(id: $id, expectedVersion: $v, input: $f) { id version escalations { trigger status toTier } } }";

async fn a_vulnerable_customer_raises_one_high_impact_request(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let flagged = app.ok(&agent, FLAGS, json!({ "id": c["id"], "v": c["version"], "f": { "vulnerableCustomer": true } })).await;
    let flagged = &flagged["setFlags"];
    assert_eq!(flagged["escalations"].as_array().unwrap().len(), 1);
    assert_eq!(flagged["escalations"][0]["trigger"], "HIGH_IMPACT");
    assert_eq!(flagged["escalations"][0]["toTier"], "TIER2");
    // Setting another flag while one is pending raises nothing more; nor does saving.
    let again = app
        .ok(&agent, FLAGS, json!({ "id": c["id"], "v": flagged["version"], "f": { "vulnerableCustomer": true, "mediaAttention": true } }))
        .await;
    assert_eq!(again["setFlags"]["escalations"].as_array().unwrap().len(), 1);
    // Agents may not mark a complaint sensitive themselves.
    let response = app
        .gql(Some(&agent), FLAGS, json!({ "id": c["id"], "v": again["setFlags"]["version"], "f": { "sensitive": true } }))
        .await;
    assert_eq!(first_error_code(&response), "FORBIDDEN");
}

const REQUEST: &str = "mutation($id: ID!, $to: Tier!, $t: EscalationTrigger!, $r: String!) {
    requestEscalation(complaintId: $id, toTier: $to, trigger: $t, reason: $r) { id status fromTier toTier trigger } }";

async fn escalation_requests_are_validated(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let cases = [
        (json!({ "id": c["id"], "to": "TIER1", "t": "CUSTOMER_REQUEST", "r": "same tier" }), "VALIDATION", Some("toTier")),
        (json!({ "id": c["id"], "to": "TIER2", "t": "CUSTOMER_REQUEST", "r": "  " }), "VALIDATION", Some("reason")),
        (json!({ "id": c["id"], "to": "TIER2", "t": "OVERDUE", "r": "late" }), "VALIDATION", Some("trigger")),
        (json!({ "id": c["id"], "to": "TIER3", "t": "LEGAL", "r": "lawyer" }), "VALIDATION", Some("trigger")),
        (json!({ "id": "Q29tcGxhaW50OjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA", "to": "TIER2", "t": "TECHNICAL", "r": "x" }), "NOT_FOUND", None),
    ];
    for (variables, code, field) in cases {
        let response = app.gql(Some(&agent), REQUEST, variables.clone()).await;
        assert_eq!(first_error_code(&response), code, "{variables}");
        if let Some(field) = field {
            assert_eq!(response["errors"][0]["extensions"]["field"], field, "{variables}");
        }
    }
    let ok = app.ok(&agent, REQUEST, json!({ "id": c["id"], "to": "TIER2", "t": "CUSTOMER_REQUEST", "r": "wants a manager" })).await;
    assert_eq!(ok["requestEscalation"]["status"], "PENDING");
    // A second identical request while one is pending is refused, nothing half-written.
    let dup = app.gql(Some(&agent), REQUEST, json!({ "id": c["id"], "to": "TIER2", "t": "CUSTOMER_REQUEST", "r": "again" })).await;
    assert_eq!(first_error_code(&dup), "VALIDATION");
    let count = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { version escalations { id } } }", json!({ "id": c["id"] })).await;
    assert_eq!(count["complaint"]["escalations"].as_array().unwrap().len(), 1);
    assert_eq!(count["complaint"]["version"], 2);
}

async fn approval_moves_the_complaint_to_the_target_tier(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let request = app.ok(&agent, REQUEST, json!({ "id": c["id"], "to": "TIER2", "t": "TECHNICAL", "r": "router firmware bug" })).await;
    let approve = "mutation($id: ID!) { approveEscalation(id: $id) { complaint { tier team { name tier } assignee { email } } } }";
    let approved = app.ok(&supervisor, approve, json!({ "id": request["requestEscalation"]["id"] })).await;
    let moved = &approved["approveEscalation"]["complaint"];
    assert_eq!(moved["tier"], "TIER2");
    assert_eq!(moved["team"]["name"], "Technical Support");
    assert!(moved["assignee"].is_null(), "the new team picks its assignee");
    // The agent, no longer assigned nor in the team, loses sight of it.
    let seen = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { id } }", json!({ "id": c["id"] })).await;
    assert!(seen["complaint"].is_null());
}

async fn a_referral_to_legal_places_the_hold_and_legal_decides(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let legal = app.login_as("legal@example.com").await;
    let refer = "mutation($id: ID!, $r: String!) { referToLegal(id: $id, reason: $r) { id trigger status complaint { legalHold } } }";

    // An agent's referral is a request; legal's approval places the hold.
    let asked = ComplaintBuilder::new().create(app, &agent).await;
    let referral = app.ok(&agent, refer, json!({ "id": asked["id"], "r": "customer threatens to sue" })).await["referToLegal"].clone();
    assert_eq!(referral["complaint"]["legalHold"], false);
    assert_eq!(app.error_code(Some(&supervisor), APPROVE, json!({ "id": referral["id"] })).await, "FORBIDDEN");
    let legal_queue = queue_nodes(&app.ok(&legal, QUEUE, json!({})).await);
    assert_eq!(legal_queue.len(), 1);
    assert!(queue_nodes(&app.ok(&supervisor, QUEUE, json!({})).await).iter().all(|r| r["trigger"] != "LEGAL"));
    let approve = "mutation($id: ID!) { approveEscalation(id: $id) { status complaint { legalHold } } }";
    let approved = app.ok(&legal, approve, json!({ "id": referral["id"] })).await;
    assert_eq!(approved["approveEscalation"]["complaint"]["legalHold"], true);

    // A supervisor's referral places the hold at once: agents lose sight and write access.
    let held = ComplaintBuilder::new().create(app, &agent).await;
    let referral = app.ok(&supervisor, refer, json!({ "id": held["id"], "r": "regulator inquiry" })).await["referToLegal"].clone();
    assert_eq!(referral["complaint"]["legalHold"], true);
    let seen = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { id } }", json!({ "id": held["id"] })).await;
    assert!(seen["complaint"].is_null());
    let note = "mutation($id: ID!) { addNote(complaintId: $id, body: \"x\", visibility: INTERNAL) { id } }";
    assert_eq!(app.error_code(Some(&supervisor), note, json!({ "id": held["id"] })).await, "FORBIDDEN");
    assert!(app.gql(Some(&legal), note, json!({ "id": held["id"] })).await.get("errors").is_none());
    let again = app.gql(Some(&supervisor), refer, json!({ "id": held["id"], "r": "again" })).await;
    assert_eq!(first_error_code(&again), "VALIDATION");
}

const UPSERT: &str = "mutation($i: SlaPolicyInput!) { upsertSlaPolicy(input: $i) { severity category firstResponseMinutes resolutionMinutes businessHoursOnly workingDays dayStart dayEnd } }";

async fn sla_policies_are_administered_and_applied(app: &TestApp) {
    let admin = app.login_as("admin@example.com").await;
    let agent = app.login_as("agent@example.com").await;
    let input = json!({ "i": { "severity": "LOW", "category": "BILLING", "firstResponseMinutes": 45, "resolutionMinutes": 600 } });
    assert_eq!(app.error_code(Some(&agent), UPSERT, input.clone()).await, "FORBIDDEN");
    let saved = app.ok(&admin, UPSERT, input.clone()).await;
    assert_eq!(saved["upsertSlaPolicy"]["category"], "BILLING");
    assert_eq!(saved["upsertSlaPolicy"]["workingDays"], json!([1, 2, 3, 4, 5]));
    // Upserting again replaces, not duplicates.
    let mut changed = input.clone();
    changed["i"]["firstResponseMinutes"] = json!(40);
    app.ok(&admin, UPSERT, changed).await;
    let list = app.ok(&agent, "{ slaPolicies { severity category firstResponseMinutes } }", json!({})).await;
    assert_eq!(list["slaPolicies"], json!([{ "severity": "LOW", "category": "BILLING", "firstResponseMinutes": 40 }]));

    let bad = json!({ "i": { "severity": "LOW", "firstResponseMinutes": 60, "resolutionMinutes": 30 } });
    let response = app.gql(Some(&admin), UPSERT, bad).await;
    assert_eq!(response["errors"][0]["extensions"]["field"], "input.resolutionMinutes");
    let bad = json!({ "i": { "severity": "LOW", "firstResponseMinutes": 10, "resolutionMinutes": 30, "dayStart": "25:00" } });
    assert_eq!(app.gql(Some(&admin), UPSERT, bad).await["errors"][0]["extensions"]["field"], "input.dayStart");

    let c = ComplaintBuilder::new().with("severity", json!("LOW")).with("category", json!("BILLING")).create(app, &agent).await;
    let detail = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { createdAt firstResponseDue resolutionDue } }", json!({ "id": c["id"] })).await;
    let at = |f: &str| chrono::DateTime::parse_from_rfc3339(detail["complaint"][f].as_str().unwrap()).unwrap();
    assert_eq!((at("firstResponseDue") - at("createdAt")).num_minutes(), 40);
    assert_eq!((at("resolutionDue") - at("createdAt")).num_minutes(), 600);
}

const EVENTS: &str = "subscription($id: ID) { complaintEvents(complaintId: $id) { action complaint { id status version } } }";

async fn subscribers_see_changes_they_may_see(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let mut mine = WsClient::connect(app, &agent).await;
    mine.subscribe("1", EVENTS, json!({})).await;
    let mut theirs = WsClient::connect(app, &agent2).await;
    theirs.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let c = ComplaintBuilder::new().create(app, &agent).await;
    let event = mine.next(Duration::from_secs(10)).await.expect("an event");
    assert_eq!(event["payload"]["data"]["complaintEvents"]["action"], "complaint.created", "{event}");
    assert_eq!(event["payload"]["data"]["complaintEvents"]["complaint"]["id"], c["id"]);
    // Another team's agent never hears of it.
    assert!(theirs.next(Duration::from_millis(800)).await.is_none());

    // Without a valid token the connection is refused.
    let url = app.address.replace("http://", "ws://") + "/graphql/ws";
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket.send(Message::text(json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged" } }).to_string())).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap();
    assert!(!matches!(answer, Some(Ok(Message::Text(ref t))) if t.contains("connection_ack")), "{answer:?}");
    mine.close().await;
    theirs.close().await;
}

/// Two servers on one database, each scanning every second: an overdue
/// CRITICAL complaint gets exactly one OVERDUE request per breach.
async fn the_sla_monitor_fires_once_with_two_servers(backend: Backend) {
    let fast = |s: &mut casework::config::Settings| s.sla_scan_interval = Duration::from_millis(200);
    let Some(first) = spawn_app_with(backend, fast).await else { return };
    let second = spawn_another(&first, |s| {
        s.sla_scan_interval = Duration::from_millis(200);
        s.demo = false;
    })
    .await;
    let agent = first.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().with("severity", json!("CRITICAL")).with("title", json!("overdue one")).create(&first, &agent).await;
    let past = match backend {
        Backend::Sqlite => "'2020-01-01 00:00:00+00:00'",
        Backend::Postgres => "'2020-01-01T00:00:00Z'",
    };
    first.sql(&format!("UPDATE complaint SET first_response_due = {past}, resolution_due = {past} WHERE title = 'overdue one'")).await;

    let query = "query($id: ID!) { complaint(id: $id) { slaBreached firstResponseBreached resolutionBreached escalations { trigger toTier requestedBy { email } } } }";
    let mut seen = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen = second.ok(&second.login_as("agent@example.com").await, query, json!({ "id": c["id"] })).await;
        if seen["complaint"]["slaBreached"] == true {
            break;
        }
    }
    assert_eq!(seen["complaint"]["slaBreached"], true, "the monitor never fired: {seen}");
    // Let both instances scan several more times.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = first.ok(&agent, query, json!({ "id": c["id"] })).await;
    let overdue: Vec<&Value> =
        seen["complaint"]["escalations"].as_array().unwrap().iter().filter(|e| e["trigger"] == "OVERDUE").collect();
    assert_eq!(overdue.len(), 1, "{seen:#}");
    assert!(overdue[0]["requestedBy"].is_null(), "raised by the system");
    assert_eq!(seen["complaint"]["firstResponseBreached"], true);
    assert_eq!(seen["complaint"]["resolutionBreached"], true);
    second.finish().await;
    first.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_monitor_fires_once_with_two_servers_on_sqlite() {
    the_sla_monitor_fires_once_with_two_servers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_monitor_fires_once_with_two_servers_on_postgres() {
    the_sla_monitor_fires_once_with_two_servers(Backend::Postgres).await;
}

/// A supervisor subscribed on one server hears of a request raised on another
/// (PostgreSQL LISTEN/NOTIFY; SQLite is a single-process database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_on_another_server_receives_the_request() {
    let Some(first) = spawn_app_with(Backend::Postgres, |_| {}).await else { return };
    let second = spawn_another(&first, |s| s.demo = false).await;
    let supervisor = second.login_as("supervisor@example.com").await;
    let mut ws = WsClient::connect(&second, &supervisor).await;
    ws.subscribe("queue", "subscription { escalationRequested { trigger reason status requestedBy { email } } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let agent = first.login_as("agent@example.com").await;
    let c = walk_to_investigating(&first, &agent).await;
    let pending = propose(&first, &agent, &c, "2000").await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");

    let message = ws.next(Duration::from_secs(10)).await.expect("the request reaches the other server");
    let request = &message["payload"]["data"]["escalationRequested"];
    assert_eq!(request["trigger"], "EXCEEDS_AUTHORITY", "{message}");
    assert_eq!(request["requestedBy"]["email"], "agent@example.com");
    ws.close().await;
    second.finish().await;
    first.finish().await;
}

/// The queue, whose one statement carries each request's complaint, for a
/// queue of one and of twelve (plus the sign-in check on SQLite), and every
/// request shows its own complaint.
async fn the_queue_is_one_statement_whatever_its_length(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let mut costs = Vec::new();
    for wanted in [1, 12] {
        while queue_nodes(&app.ok(&supervisor, QUEUE_PAGE, json!({})).await).len() < wanted {
            let c = ComplaintBuilder::new().create(app, &agent).await;
            app.ok(&agent, REQUEST, json!({ "id": c["id"], "to": "TIER2", "t": "CUSTOMER_REQUEST", "r": "manager" })).await;
        }
        app.until_caller_cached(&supervisor).await;
        let before = app.statements().await;
        let page = app.ok(&supervisor, QUEUE_PAGE, json!({})).await;
        costs.push(app.statements().await - before);
        assert!(queue_nodes(&page).iter().all(|n| n["complaint"]["reference"].is_string()));
        for node in queue_nodes(&page) {
            let alone = app
                .ok(&supervisor, "query($id: ID!) { node(id: $id) { ... on Escalation { complaint { reference title severity } } } }", json!({ "id": node["id"] }))
                .await;
            assert_eq!(node["complaint"], alone["node"]["complaint"], "the queue and the request alone differ");
        }
    }
    let expected = 1 + app.sign_in_statements();
    assert_eq!(costs, [expected, expected], "statements for a queue of 1 and of 12");
}

const QUEUE_PAGE: &str = "{ escalationQueue(first: 50) { edges { node { id trigger status complaint { reference title severity } } } } }";

/// The queue reads only the complaint columns its `complaint` fields need
/// (`graphql::projection`) and hands those rows only to the fields that
/// asked. Each `Complaint` field alone on the queue must read as the request
/// read by `node(id)` shows it (whole rows, through the loader), also in one
/// request that reads the same complaints narrowly and widely.
async fn every_complaint_field_reads_the_same_on_the_queue(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    for i in 0..2 {
        let c = ComplaintBuilder::new().with("title", json!(format!("queued {i}"))).create(app, &agent).await;
        app.ok(&agent, REQUEST, json!({ "id": c["id"], "to": "TIER2", "t": "CUSTOMER_REQUEST", "r": "manager" })).await;
    }
    let fields = crate::complaints::complaint_selections();
    let queue = |selection: &str| format!("{{ escalationQueue(first: 5) {{ edges {{ node {{ id complaint {{ id {selection} }} }} }} }} }}");
    let page = app.ok(&supervisor, &queue(""), json!({})).await;
    let mut whole = std::collections::HashMap::new();
    for node in queue_nodes(&page) {
        let query = format!("query($id: ID!) {{ node(id: $id) {{ ... on Escalation {{ complaint {{ id {} }} }} }} }}", fields.join(" "));
        whole.insert(node["id"].as_str().unwrap().to_owned(), app.ok(&supervisor, &query, json!({ "id": node["id"] })).await["node"]["complaint"].clone());
    }
    assert!(whole.len() >= 2);
    for field in &fields {
        let name = field.split_whitespace().next().unwrap();
        let alone = app.ok(&supervisor, &queue(field), json!({})).await;
        for node in queue_nodes(&alone) {
            let reference = &whole[node["id"].as_str().unwrap()];
            assert_eq!(node["complaint"][name], reference[name], "{name} alone on the queue");
        }
    }
    // Narrow on the queue, wide on the same request beside it.
    let first = queue_nodes(&page)[0]["id"].clone();
    let mixed = app
        .ok(
            &supervisor,
            &format!(
                "query($id: ID!) {{ escalationQueue(first: 5) {{ edges {{ node {{ id complaint {{ reference }} }} }} }}
                 node(id: $id) {{ ... on Escalation {{ complaint {{ id {} }} }} }} }}",
                fields.join(" ")
            ),
            json!({ "id": first }),
        )
        .await;
    assert_eq!(mixed["node"]["complaint"], whole[first.as_str().unwrap()], "the request's complaint read whole beside the queue");
}
