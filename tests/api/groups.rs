//! Group complaints (issue 12): `000`'s broadband outage — several households in
//! one building lose broadband — suggested as a cluster, handled as one group
//! led by one team, with one update told to every member; and the refusals.

use serde_json::{Value, json};

use crate::{
    fixtures::{ComplaintBuilder, team_id},
    helpers::{Backend, TestApp, first_error_code, spawn_app_with},
};

crate::on_both_databases!(
    broadband_000_one_building_is_suggested_grouped_and_updated_at_once,
    groups_refuse_the_wrong_people_and_the_wrong_complaints,
    linking_as_group_sets_the_flag_and_raises_high_impact_once,
);

const MEMBER: &str = "id reference version status groupComplaint productOrService location
    group { id reference } nextUpdateDue lastUpdateAt delayReason promisedBy
    escalations { trigger status }
    contacts { edges { node { kind direction note } } }";

const GROUP: &str = "id reference title cause status version lastUpdateAt leadTeam { name }
    members(first: 50) { totalCount edges { node { id reference } } }";

/// One household of the building reporting the outage.
fn household(name: &str, phone: &str, location: &str) -> ComplaintBuilder {
    ComplaintBuilder::new()
        .with("channel", json!("HOTLINE"))
        .with("category", json!("SYSTEM_FAILURE"))
        .with("severity", json!("HIGH"))
        .with("title", json!("No broadband since this morning"))
        .with("description", json!("The router shows no signal; neighbours say theirs is down too."))
        .with("customer", json!({ "name": name, "phone": phone }))
        .with("coreDemand", json!("REPAIR"))
        .with("productOrService", json!("Fibre 500M"))
        .with("location", json!(location))
}

async fn complaint(app: &TestApp, token: &str, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ complaint(id: $id) {{ {MEMBER} }} }}");
    app.ok(token, &query, json!({ "id": id })).await["complaint"].clone()
}

async fn try_create_group(app: &TestApp, token: &str, lead: Option<&str>, members: &[&Value]) -> Value {
    let query = format!("mutation($input: ComplaintGroupInput!) {{ createComplaintGroup(input: $input) {{ {GROUP} }} }}");
    let input = json!({
        "title": "Broadband outage, Building 12, Garden Court",
        "cause": "The building's fibre splitter lost power.",
        "leadTeamId": lead,
        "complaintIds": members.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(),
    });
    app.gql(Some(token), &query, json!({ "input": input })).await
}

async fn try_add(app: &TestApp, token: &str, group: &Value, members: &[&Value]) -> Value {
    let query = format!("mutation($g: ID!, $ids: [ID!]!) {{ addToComplaintGroup(groupId: $g, complaintIds: $ids) {{ {GROUP} }} }}");
    let ids: Vec<Value> = members.iter().map(|c| c["id"].clone()).collect();
    app.gql(Some(token), &query, json!({ "g": group["id"], "ids": ids })).await
}

async fn try_update(app: &TestApp, token: &str, group: &Value, message: &str) -> Value {
    let query = "mutation($g: ID!, $input: ProgressUpdateInput!) {
        postGroupUpdate(groupId: $g, input: $input) { updatedCount group { id version lastUpdateAt } } }";
    let expected = (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
    let input = json!({ "message": message, "delayReason": "TECHNICAL", "expectedResolutionAt": expected });
    app.gql(Some(token), query, json!({ "g": group["id"], "input": input })).await
}

fn ok(response: Value, field: &str) -> Value {
    assert!(response.get("errors").is_none(), "{field} failed: {response:#}");
    response["data"][field].clone()
}

fn ids_of(list: &Value) -> Vec<Value> {
    let mut ids: Vec<Value> = list.as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    ids.sort_by_key(|v| v.to_string());
    ids
}

fn member_ids(group: &Value) -> Vec<Value> {
    let nodes: Vec<Value> = group["members"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    ids_of(&Value::Array(nodes))
}

const CANDIDATES: &str = "{ groupCandidates { category matchedOn value size firstAt lastAt complaints { id } } }";

/// The candidates matched on location with the given value (case-insensitive).
fn by_location<'a>(found: &'a Value, location: &str) -> Vec<&'a Value> {
    found["groupCandidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["matchedOn"] == "LOCATION" && c["value"].as_str().unwrap().eq_ignore_ascii_case(location))
        .collect()
}

/// Manual 000 §6.4: several households in one building lose broadband. The
/// system suggests them as a group; the supervisor opens a group led by the
/// front line, the lead team's agent adds the late caller, and one update
/// reaches every household, each with its own note, contact, deadline and audit event.
async fn broadband_000_one_building_is_suggested_grouped_and_updated_at_once(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let auditor = app.login_as("auditor@example.com").await;
    let frontline_a = team_id(app, &supervisor, "Frontline A").await;
    const BUILDING: &str = "Building 12, Garden Court";

    // Arrange: three households (one spells the building differently), one
    // household elsewhere, and a billing complaint from the same building.
    let c1 = household("Mrs. Zhou Lan", "+86 138 0013 9001", BUILDING).create(app, &agent).await;
    let c2 = household("Mr. Qian Hao", "+86 138 0013 9002", "building 12, garden court").create(app, &agent).await;
    let c3 = household("Ms. Ma Ying", "+86 138 0013 9003", BUILDING).create(app, &agent).await;
    household("Mr. Lu Bo", "+86 138 0013 9004", "Building 3, Lake View").create(app, &agent).await;
    household("Ms. He Yu", "+86 138 0013 9005", BUILDING).with("category", json!("BILLING")).create(app, &agent).await;
    let stored = complaint(app, &agent, &c1["id"]).await;
    assert_eq!(stored["productOrService"], "Fibre 500M");
    assert_eq!(stored["location"], BUILDING);

    // The three households of one building are suggested as one cluster.
    let found = app.ok(&agent, CANDIDATES, json!({})).await;
    let cluster = by_location(&found, BUILDING);
    assert_eq!(cluster.len(), 1, "{found:#}");
    assert_eq!(cluster[0]["category"], "SYSTEM_FAILURE");
    assert_eq!(cluster[0]["size"], 3);
    assert_eq!(cluster[0]["value"], BUILDING, "spelled as the earliest complaint spells it");
    assert_eq!(ids_of(&cluster[0]["complaints"]), ids_of(&json!([c1, c2, c3])));
    // Another team's agent sees none of them.
    let elsewhere = app.ok(&agent2, CANDIDATES, json!({})).await;
    assert!(by_location(&elsewhere, BUILDING).is_empty(), "{elsewhere:#}");
    // Nor does a cluster start in the future.
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let response = app.gql(Some(&agent), "query($s: DateTime) { groupCandidates(since: $s) { size } }", json!({ "s": future })).await;
    assert_eq!(first_error_code(&response), "VALIDATION");

    // The supervisor opens the group led by Frontline A with two households.
    let group = ok(try_create_group(app, &supervisor, Some(&frontline_a), &[&c1, &c2]).await, "createComplaintGroup");
    let reference = group["reference"].as_str().unwrap();
    assert!(reference.starts_with("GRP-") && reference.len() == "GRP-2026-000001".len(), "{reference}");
    assert_eq!(group["status"], "OPEN");
    assert_eq!(group["leadTeam"]["name"], "Frontline A");
    assert_eq!(group["members"]["totalCount"], 2);
    // The lead team's agent adds the third household.
    let group = ok(try_add(app, &agent, &group, &[&c3]).await, "addToComplaintGroup");
    assert_eq!(member_ids(&group), ids_of(&json!([c1, c2, c3])));

    // Joining sets the flag and raises exactly one HIGH_IMPACT request each.
    for c in [&c1, &c2, &c3] {
        let member = complaint(app, &agent, &c["id"]).await;
        assert_eq!(member["groupComplaint"], true);
        assert_eq!(member["group"]["reference"], group["reference"]);
        let raised: Vec<&Value> = member["escalations"].as_array().unwrap().iter().filter(|e| e["trigger"] == "HIGH_IMPACT").collect();
        assert_eq!(raised.len(), 1, "{member:#}");
    }
    // Grouped complaints are no longer suggested.
    let found = app.ok(&agent, CANDIDATES, json!({})).await;
    assert!(by_location(&found, BUILDING).is_empty(), "{found:#}");

    // One update reaches all three households.
    let message = "An engineer is restoring power to the building's fibre splitter.";
    let posted = ok(try_update(app, &agent, &group, message).await, "postGroupUpdate");
    assert_eq!(posted["updatedCount"], 3);
    assert!(posted["group"]["lastUpdateAt"].is_string());
    for c in [&c1, &c2, &c3] {
        let member = complaint(app, &agent, &c["id"]).await;
        assert_eq!(member["delayReason"], "TECHNICAL");
        assert!(member["nextUpdateDue"].is_string() && member["promisedBy"].is_string(), "{member:#}");
        let told: Vec<&Value> = member["contacts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .filter(|n| n["kind"] == "PROGRESS_UPDATE" && n["direction"] == "OUTBOUND")
            .collect();
        assert_eq!(told.len(), 1, "{member:#}");
        assert_eq!(told[0]["note"], message);
        // Each member's own audit trail records the update.
        let trail = app
            .ok(&auditor, "query($id: ID!) { complaint(id: $id) { auditTrail(first: 50) { edges { node { action } } } } }", json!({ "id": c["id"] }))
            .await;
        let actions: Vec<&str> =
            trail["complaint"]["auditTrail"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"complaint.grouped") && actions.contains(&"complaint.progress_updated"), "{actions:?}");
    }

    // Reads: the lead team and the supervisor see the group; another team does not.
    let list = "{ complaintGroups(status: OPEN) { edges { node { id reference } } } }";
    let listed = |data: &Value| data["complaintGroups"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["id"] == group["id"]);
    assert!(listed(&app.ok(&agent, list, json!({})).await));
    assert!(listed(&app.ok(&supervisor, list, json!({})).await));
    assert!(!listed(&app.ok(&agent2, list, json!({})).await));
    let one = format!("query($id: ID!) {{ complaintGroup(id: $id) {{ {GROUP} }} }}");
    assert!(app.ok(&agent2, &one, json!({ "id": group["id"] })).await["complaintGroup"].is_null());
    let node = "query($id: ID!) { node(id: $id) { id ... on ComplaintGroup { reference } } }";
    assert_eq!(app.ok(&agent, node, json!({ "id": group["id"] })).await["node"]["reference"], group["reference"]);
    assert!(app.ok(&agent2, node, json!({ "id": group["id"] })).await["node"].is_null());
    let admin = app.login_as("admin@example.com").await;
    assert!(app.ok(&admin, &one, json!({ "id": group["id"] })).await["complaintGroup"].is_null(), "admins read no case content");
    // Filters: by group, and by location whatever its case.
    let count = "query($f: ComplaintFilter) { complaints(filter: $f) { totalCount } }";
    let by_group = app.ok(&agent, count, json!({ "f": { "groupId": group["id"] } })).await;
    assert_eq!(by_group["complaints"]["totalCount"], 3);
    let by_place = app.ok(&agent, count, json!({ "f": { "location": "BUILDING 12, GARDEN COURT", "category": ["SYSTEM_FAILURE"] } })).await;
    assert_eq!(by_place["complaints"]["totalCount"], 3);

    // A household that turns out unrelated leaves the group.
    let query = format!("mutation($g: ID!, $ids: [ID!]!) {{ removeFromComplaintGroup(groupId: $g, complaintIds: $ids) {{ {GROUP} }} }}");
    let group = ok(app.gql(Some(&agent), &query, json!({ "g": group["id"], "ids": [c3["id"]] })).await, "removeFromComplaintGroup");
    assert_eq!(member_ids(&group), ids_of(&json!([c1, c2])));
    assert!(complaint(app, &agent, &c3["id"]).await["group"].is_null());

    // Closed, the group takes no members and no updates.
    let close = "mutation($g: ID!) { closeComplaintGroup(groupId: $g, reason: \"Service restored\") { status closedAt } }";
    let closed = app.ok(&supervisor, close, json!({ "g": group["id"] })).await;
    assert_eq!(closed["closeComplaintGroup"]["status"], "CLOSED");
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&c3]).await), "INVALID_TRANSITION");
    assert_eq!(first_error_code(&try_update(app, &agent, &group, "again").await), "INVALID_TRANSITION");
}

/// Who may not run a group, and which complaints may not join one.
async fn groups_refuse_the_wrong_people_and_the_wrong_complaints(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let frontline_a = team_id(app, &supervisor, "Frontline A").await;
    let c1 = household("Mrs. Zhou Lan", "+86 138 0013 9101", "Tower 5").create(app, &agent).await;
    let c2 = household("Mr. Qian Hao", "+86 138 0013 9102", "Tower 5").create(app, &agent).await;
    let theirs = household("Ms. Ma Ying", "+86 138 0013 9103", "Tower 5").create(app, &agent2).await;

    // Another team's agent may not open a group for Frontline A; legal,
    // auditors and administrators open none at all.
    assert_eq!(first_error_code(&try_create_group(app, &agent2, Some(&frontline_a), &[]).await), "FORBIDDEN");
    for who in ["legal@example.com", "auditor@example.com", "admin@example.com"] {
        let token = app.login_as(who).await;
        assert_eq!(first_error_code(&try_create_group(app, &token, Some(&frontline_a), &[]).await), "FORBIDDEN", "{who}");
    }
    // Without a token, nothing.
    let anonymous = app.gql(None, "{ complaintGroups { edges { node { id } } } }", json!({})).await;
    assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED");

    // The lead team's agent opens its own group, but cannot pull in another team's complaint.
    let group = ok(try_create_group(app, &agent, None, &[&c1]).await, "createComplaintGroup");
    assert_eq!(group["leadTeam"]["name"], "Frontline A");
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&theirs]).await), "NOT_FOUND");
    // Nothing joined: the refusal is all or nothing.
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&c2, &theirs]).await), "NOT_FOUND");
    assert!(complaint(app, &agent, &c2["id"]).await["group"].is_null());
    // Another team's agent neither sees nor runs it.
    assert_eq!(first_error_code(&try_add(app, &agent2, &group, &[&theirs]).await), "NOT_FOUND");
    assert_eq!(first_error_code(&try_update(app, &agent2, &group, "hostile").await), "NOT_FOUND");
    // An auditor sees it but runs nothing.
    let auditor = app.login_as("auditor@example.com").await;
    assert_eq!(first_error_code(&try_update(app, &auditor, &group, "hostile").await), "FORBIDDEN");

    // Duplicate joins: the same complaint again, or listed twice.
    let again = try_add(app, &agent, &group, &[&c1]).await;
    assert_eq!(first_error_code(&again), "VALIDATION");
    assert_eq!(again["errors"][0]["extensions"]["field"], "complaintIds");
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&c2, &c2]).await), "VALIDATION");
    // A member of one group joins no other.
    let other = ok(try_create_group(app, &supervisor, Some(&frontline_a), &[&c2]).await, "createComplaintGroup");
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&c2]).await), "VALIDATION");
    assert_ne!(other["reference"], group["reference"]);

    // A closed complaint does not join.
    let done = household("Mr. Lu Bo", "+86 138 0013 9104", "Tower 5").create(app, &agent).await;
    let close = "mutation($id: ID!, $v: Int!) { resolveAtFirstContact(id: $id, expectedVersion: $v, summary: \"Router restarted\", satisfied: true) { status } }";
    let closed = app.ok(&agent, close, json!({ "id": done["id"], "v": done["version"] })).await;
    assert_eq!(closed["resolveAtFirstContact"]["status"], "CLOSED");
    assert_eq!(first_error_code(&try_add(app, &agent, &group, &[&done]).await), "INVALID_TRANSITION");

    // A member under legal hold is left to legal: the group update skips it.
    let held = household("Ms. He Yu", "+86 138 0013 9105", "Tower 5").create(app, &agent).await;
    ok(try_add(app, &agent, &group, &[&held]).await, "addToComplaintGroup");
    let refer = "mutation($id: ID!) { referToLegal(id: $id, reason: \"The customer's lawyer wrote\") { id } }";
    app.ok(&supervisor, refer, json!({ "id": held["id"] })).await;
    let posted = ok(try_update(app, &supervisor, &group, "Engineers are on site.").await, "postGroupUpdate");
    assert_eq!(posted["updatedCount"], 1, "only the member not under legal hold");
    let legal = app.login_as("legal@example.com").await;
    let untouched = complaint(app, &legal, &held["id"]).await;
    assert!(untouched["lastUpdateAt"].is_null(), "{untouched:#}");
    // Bad input is refused before anything is written.
    let empty = try_update(app, &agent, &group, "   ").await;
    assert_eq!(first_error_code(&empty), "VALIDATION");
    let long = household("Mr. Long", "+86 138 0013 9106", &"x".repeat(201)).input();
    let query = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";
    let response = app.gql(Some(&agent), query, json!({ "input": long })).await;
    assert_eq!(first_error_code(&response), "VALIDATION");
    assert_eq!(response["errors"][0]["extensions"]["field"], "input.location");

    // The lead team's agent moves to another team: the old token is dead, and
    // with a new one the agent may still see the group (through a complaint
    // assigned to them) but no longer run it.
    let admin = app.login_as("admin@example.com").await;
    let me = app.ok(&agent, "{ me { id version } }", json!({})).await["me"].clone();
    let frontline_b = team_id(app, &supervisor, "Frontline B").await;
    let moved = "mutation($id: ID!, $v: Int!, $t: ID!) { updateUser(id: $id, expectedVersion: $v, input: { teamId: $t }) { id } }";
    app.ok(&admin, moved, json!({ "id": me["id"], "v": me["version"], "t": frontline_b })).await;
    assert_eq!(first_error_code(&try_update(app, &agent, &group, "stale token").await), "UNAUTHENTICATED");
    let moved_agent = app.login_as("agent@example.com").await;
    assert_eq!(first_error_code(&try_update(app, &moved_agent, &group, "not my team any more").await), "FORBIDDEN");
}

/// Linking complaints as GROUP marks them as part of a group complaint, which
/// raises one HIGH_IMPACT request per complaint, however often they are linked.
async fn linking_as_group_sets_the_flag_and_raises_high_impact_once(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let a = household("Mrs. Zhou Lan", "+86 138 0013 9201", "Block A").create(app, &agent).await;
    let b = household("Mr. Qian Hao", "+86 138 0013 9202", "Block A").create(app, &agent).await;
    let c = household("Ms. Ma Ying", "+86 138 0013 9203", "Block A").create(app, &agent).await;
    let link = "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: GROUP) { id groupComplaint escalations { trigger } } }";
    let linked = app.ok(&agent, link, json!({ "ids": [a["id"], b["id"]] })).await;
    for side in linked["linkComplaints"].as_array().unwrap() {
        assert_eq!(side["groupComplaint"], true, "{side:#}");
        assert_eq!(side["escalations"], json!([{ "trigger": "HIGH_IMPACT" }]));
    }
    // Linking a third to the same primary raises a request for the new one only.
    let linked = app.ok(&agent, link, json!({ "ids": [a["id"], c["id"]] })).await;
    let sides = linked["linkComplaints"].as_array().unwrap();
    assert_eq!(sides[0]["escalations"].as_array().unwrap().len(), 1, "{sides:#?}");
    assert_eq!(sides[1]["escalations"], json!([{ "trigger": "HIGH_IMPACT" }]));
    // A RELATED link sets nothing.
    let d = household("Ms. He Yu", "+86 138 0013 9204", "Block A").create(app, &agent).await;
    let related = "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id groupComplaint escalations { trigger } } }";
    let linked = app.ok(&agent, related, json!({ "ids": [d["id"], a["id"]] })).await;
    assert_eq!(linked["linkComplaints"][0]["groupComplaint"], false);
    assert_eq!(linked["linkComplaints"][0]["escalations"], json!([]));
}

/// `CASEWORK_GROUP_MIN_SIZE` and `CASEWORK_GROUP_WINDOW_HOURS`: two complaints
/// of one order make a cluster when the minimum is two, and only within the
/// window that starts at `since`.
async fn candidates_follow_the_configured_size_and_window(backend: Backend) {
    let configure = |s: &mut casework::config::Settings| {
        s.closed_loop.group_min_size = 2;
        s.closed_loop.group_window_hours = 2;
    };
    let Some(app) = spawn_app_with(backend, configure).await else { return };
    let agent = app.login_as("agent@example.com").await;
    let order = |name: &str, phone: &str| {
        ComplaintBuilder::new()
            .with("customer", json!({ "name": name, "phone": phone }))
            .with("orderReference", json!("ORD-2026-5150"))
    };
    let a = order("Mrs. Zhou Lan", "+86 138 0013 9301").create(&app, &agent).await;
    let b = order("Mr. Qian Hao", "+86 138 0013 9302").create(&app, &agent).await;
    let query = "query($s: DateTime) { groupCandidates(since: $s) { matchedOn value size complaints { id } } }";
    let of_order = |data: &Value| -> Vec<Value> {
        data["groupCandidates"].as_array().unwrap().iter().filter(|c| c["matchedOn"] == "ORDER_REFERENCE").cloned().collect()
    };
    let found = of_order(&app.ok(&agent, query, json!({})).await);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["value"], "ORD-2026-5150");
    assert_eq!(found[0]["size"], 2);
    assert_eq!(ids_of(&found[0]["complaints"]), ids_of(&json!([a, b])));
    // A window that ended an hour ago holds neither.
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    assert!(of_order(&app.ok(&agent, query, json!({ "s": earlier })).await).is_empty());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_follow_the_configured_size_and_window_on_sqlite() {
    candidates_follow_the_configured_size_and_window(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_follow_the_configured_size_and_window_on_postgres() {
    candidates_follow_the_configured_size_and_window(Backend::Postgres).await;
}
