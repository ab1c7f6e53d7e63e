//! The complaint lifecycle over HTTP: intake to callback and closure.

use serde_json::{Value, json};

/// Statements of `createComplaint`, BEGIN and COMMIT included (SQLite,
/// PostgreSQL): [sign-in check: SQLite; PostgreSQL reuses the caller], team, SLA policy, BEGIN, [advisory lock],
/// customer match, reference, customer insert (new) or repeat lookup (known),
/// complaint, audit chain head, audit event, [pg_notify], COMMIT.
const CREATE_STATEMENTS: (u64, u64) = (10, 12);

use crate::{
    fixtures::{COMPLAINT_FIELDS, ComplaintBuilder},
    helpers::{TestApp, first_error_code},
};

crate::on_both_databases!(
    a_complaint_walks_from_new_to_closed_and_back,
    an_unsatisfied_callback_reopens_the_complaint,
    refused_transitions_answer_invalid_transition,
    a_stale_version_conflicts_and_changes_nothing,
    of_concurrent_updates_with_one_version_exactly_one_wins,
    bad_input_names_its_field,
    compensation_above_authority_waits_for_approval,
    intake_defaults_to_the_creator_and_sla_follows_severity,
    lists_page_by_keyset_in_both_directions,
    lists_filter_and_search,
    a_page_costs_the_same_statements_whatever_its_size,
    the_supervisors_list_page_is_one_statement,
    the_benchmark_shapes_cost_fixed_statements,
    every_complaint_field_reads_the_same_alone,
    every_neighbour_field_reads_the_same_alone,
    notes_and_escalations_read_by_id_match_the_loaders,
    notes_and_links_are_recorded,
    lookups_by_reference_and_node,
    every_mutation_writes_one_chained_audit_event,
);

fn mutation(name: &str, args: &str, params: &str) -> String {
    format!("mutation({params}) {{ {name}({args}) {{ {COMPLAINT_FIELDS} }} }}")
}

/// Calls a lifecycle mutation with `id` and `expectedVersion`, returning the complaint.
async fn step(app: &TestApp, token: &str, name: &str, complaint: &Value, extra_params: &str, extra_args: &str, vars: Value) -> Value {
    let params = format!("$id: ID!, $v: Int!{extra_params}");
    let args = format!("id: $id, expectedVersion: $v{extra_args}");
    let mut variables = json!({ "id": complaint["id"], "v": complaint["version"] });
    for (k, v) in vars.as_object().unwrap() {
        variables[k] = v.clone();
    }
    app.ok(token, &mutation(name, &args, &params), variables).await[name].clone()
}

async fn try_step(app: &TestApp, token: &str, name: &str, complaint: &Value, extra_params: &str, extra_args: &str, vars: Value) -> Value {
    let params = format!("$id: ID!, $v: Int!{extra_params}");
    let args = format!("id: $id, expectedVersion: $v{extra_args}");
    let mut variables = json!({ "id": complaint["id"], "v": complaint["version"] });
    for (k, v) in vars.as_object().unwrap() {
        variables[k] = v.clone();
    }
    app.gql(Some(token), &mutation(name, &args, &params), variables).await
}

async fn acknowledge(app: &TestApp, token: &str, c: &Value) -> Value {
    step(app, token, "acknowledgeComplaint", c, ", $m: String", ", message: $m", json!({ "m": "We are on it." })).await
}

async fn find(app: &TestApp, token: &str, c: &Value) -> Value {
    step_finding(app, token, c).await
}

async fn step_finding(app: &TestApp, token: &str, c: &Value) -> Value {
    step(
        app,
        token,
        "recordFinding",
        c,
        ", $f: FindingInput!",
        ", input: $f",
        json!({ "f": { "rootCause": "EXTERNAL", "responsibility": "Carrier", "summary": "Mis-sorted at the hub." } }),
    )
    .await
}

async fn propose(app: &TestApp, token: &str, c: &Value, amount: &str) -> Value {
    step(
        app,
        token,
        "proposeResolution",
        c,
        ", $r: ResolutionInput!",
        ", input: $r",
        json!({ "r": { "summary": "Refund shipping and apologise", "compensationAmount": amount, "remedies": "Refund", "preventiveMeasures": "Re-train hub staff" } }),
    )
    .await
}

async fn accept(app: &TestApp, token: &str, c: &Value) -> Value {
    step(app, token, "recordCustomerDecision", c, ", $a: Boolean!", ", accepted: $a", json!({ "a": true })).await
}

async fn resolve(app: &TestApp, token: &str, c: &Value) -> Value {
    step(app, token, "resolveComplaint", c, ", $s: String!", ", summary: $s", json!({ "s": "Refund paid." })).await
}

async fn callback(app: &TestApp, token: &str, c: &Value, satisfied: bool) -> Value {
    step(
        app,
        token,
        "recordCallback",
        c,
        ", $cb: CallbackInput!",
        ", input: $cb",
        json!({ "cb": { "reached": true, "satisfied": satisfied, "score": if satisfied { 5 } else { 2 }, "comment": "called back" } }),
    )
    .await
}

async fn a_complaint_walks_from_new_to_closed_and_back(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    assert_eq!((c["status"].as_str(), c["version"].as_i64()), (Some("NEW"), Some(1)));
    let c = acknowledge(app, &agent, &c).await;
    assert_eq!(c["status"], "ACKNOWLEDGED");
    let c = find(app, &agent, &c).await;
    assert_eq!(c["status"], "INVESTIGATING");
    let c = propose(app, &agent, &c, "300").await;
    assert_eq!(c["status"], "RESOLUTION_PROPOSED");
    let c = accept(app, &agent, &c).await;
    assert_eq!(c["status"], "CUSTOMER_ACCEPTED");
    let c = resolve(app, &agent, &c).await;
    assert_eq!(c["status"], "RESOLVED");
    let c = callback(app, &agent, &c, true).await;
    assert_eq!(c["status"], "CLOSED");
    let c = step(app, &agent, "reopenComplaint", &c, ", $r: String!", ", reason: $r", json!({ "r": "Refund bounced" })).await;
    assert_eq!(c["status"], "REOPENED");
    assert_eq!(c["version"], 8, "one version per change");

    let detail = app
        .ok(
            &agent,
            "query($id: ID!) { complaint(id: $id) { reopenCount satisfied satisfactionScore resolution { compensationAmount currency } notes { body visibility } } }",
            json!({ "id": c["id"] }),
        )
        .await;
    let detail = &detail["complaint"];
    assert_eq!(detail["reopenCount"], 1);
    assert_eq!(detail["satisfactionScore"], 5);
    assert_eq!(detail["resolution"]["compensationAmount"], "300.00");
    assert_eq!(detail["resolution"]["currency"], "CNY");
    assert_eq!(detail["notes"][0]["visibility"], "CUSTOMER_UPDATE");
}

async fn an_unsatisfied_callback_reopens_the_complaint(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let mut c = ComplaintBuilder::new().create(app, &agent).await;
    c = acknowledge(app, &agent, &c).await;
    c = find(app, &agent, &c).await;
    c = propose(app, &agent, &c, "50").await;
    c = accept(app, &agent, &c).await;
    c = resolve(app, &agent, &c).await;
    // Not reached: the attempt is recorded, the status stays.
    let unreached = step(
        app,
        &agent,
        "recordCallback",
        &c,
        ", $cb: CallbackInput!",
        ", input: $cb",
        json!({ "cb": { "reached": false, "satisfied": false } }),
    )
    .await;
    assert_eq!(unreached["status"], "RESOLVED");
    let c = callback(app, &agent, &unreached, false).await;
    assert_eq!(c["status"], "REOPENED");
    // Work resumes with a new finding.
    let c = find(app, &agent, &c).await;
    assert_eq!(c["status"], "INVESTIGATING");
}

async fn refused_transitions_answer_invalid_transition(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let response = try_step(app, &agent, "resolveComplaint", &c, ", $s: String!", ", summary: $s", json!({ "s": "done" })).await;
    assert_eq!(first_error_code(&response), "INVALID_TRANSITION");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("NEW"));
    let response = try_step(app, &agent, "reopenComplaint", &c, ", $r: String!", ", reason: $r", json!({ "r": "why" })).await;
    assert_eq!(first_error_code(&response), "INVALID_TRANSITION");
    // Nothing changed.
    let c2 = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { status version } }", json!({ "id": c["id"] })).await;
    assert_eq!(c2["complaint"]["version"], 1);
}

async fn a_stale_version_conflicts_and_changes_nothing(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    acknowledge(app, &agent, &c).await;
    // `c` still says version 1.
    let response = try_step(app, &agent, "updateComplaint", &c, ", $i: UpdateComplaintInput!", ", input: $i", json!({ "i": { "title": "Changed" } })).await;
    assert_eq!(first_error_code(&response), "CONFLICT");
    let now = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { title version } }", json!({ "id": c["id"] })).await;
    assert_eq!(now["complaint"]["title"], "Parcel arrived late");
    assert_eq!(now["complaint"]["version"], 2);
}

async fn of_concurrent_updates_with_one_version_exactly_one_wins(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let attempts = (0..12).map(|i| {
        let (agent, c) = (agent.clone(), c.clone());
        async move {
            try_step(app, &agent, "updateComplaint", &c, ", $i: UpdateComplaintInput!", ", input: $i", json!({ "i": { "title": format!("Title {i}") } })).await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = results.iter().filter(|r| r.get("errors").is_some() && first_error_code(r) == "CONFLICT").count();
    assert_eq!((wins, conflicts), (1, 11), "{results:#?}");
    let now = app.ok(&agent, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": c["id"] })).await;
    assert_eq!(now["complaint"]["version"], 2);
}

const CREATE: &str = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";

async fn bad_input_names_its_field(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("title", json!("   "), "input.title"),
        ("description", json!(""), "input.description"),
        ("title", json!("x".repeat(201)), "input.title"),
        ("customer", json!({ "name": "" }), "input.customer.name"),
        ("customer", json!({ "name": "N".repeat(201) }), "input.customer.name"),
        ("customer", json!({ "name": "Li", "email": "not-an-email" }), "input.customer.email"),
        ("customer", json!({ "name": "Li", "phone": "call me maybe" }), "input.customer.phone"),
        ("requestedAmount", json!("-5"), "input.requestedAmount"),
        ("requestedAmount", json!("10.005"), "input.requestedAmount"),
        ("currency", json!("XYZ"), "input.currency"),
        ("occurredAt", json!(future), "input.occurredAt"),
    ];
    for (field, value, expected) in cases {
        let input = ComplaintBuilder::new().with(field, value.clone()).input();
        let response = app.gql(Some(&agent), CREATE, json!({ "input": input })).await;
        assert_eq!(first_error_code(&response), "VALIDATION", "{field}={value}: {response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], expected, "{field}={value}");
    }
    // A score outside 1..5.
    let mut c = ComplaintBuilder::new().create(app, &agent).await;
    c = acknowledge(app, &agent, &c).await;
    c = find(app, &agent, &c).await;
    c = propose(app, &agent, &c, "10").await;
    c = accept(app, &agent, &c).await;
    c = resolve(app, &agent, &c).await;
    for score in [0, 6] {
        let response = try_step(
            app,
            &agent,
            "recordCallback",
            &c,
            ", $cb: CallbackInput!",
            ", input: $cb",
            json!({ "cb": { "reached": true, "satisfied": true, "score": score } }),
        )
        .await;
        assert_eq!(response["errors"][0]["extensions"]["field"], "input.score");
    }
    // Nothing was recorded by the refused intakes.
    let supervisor = app.login_as("supervisor@example.com").await;
    let count = app.ok(&supervisor, "{ complaints { totalCount } }", json!({})).await;
    assert_eq!(count["complaints"]["totalCount"], 8, "7 demo complaints and 1 here");
}

async fn compensation_above_authority_waits_for_approval(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let mut c = ComplaintBuilder::new().create(app, &agent).await;
    c = acknowledge(app, &agent, &c).await;
    c = find(app, &agent, &c).await;
    let pending = propose(app, &agent, &c, "2000").await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");
    // The customer cannot accept a plan nobody approved.
    let response = try_step(app, &agent, "recordCustomerDecision", &pending, ", $a: Boolean!", ", accepted: $a", json!({ "a": true })).await;
    assert_eq!(first_error_code(&response), "INVALID_TRANSITION");

    let mut c = ComplaintBuilder::new().create(app, &agent).await;
    c = acknowledge(app, &agent, &c).await;
    c = find(app, &agent, &c).await;
    let within = propose(app, &agent, &c, "500.00").await;
    assert_eq!(within["status"], "RESOLUTION_PROPOSED", "the limit itself is within authority");
}

async fn intake_defaults_to_the_creator_and_sla_follows_severity(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().with("severity", json!("CRITICAL")).create(app, &agent).await;
    assert_eq!(c["assignee"]["email"], "agent@example.com");
    assert_eq!(c["team"]["name"], "Frontline A");
    assert_eq!(c["tier"], "TIER1");
    assert!(c["reference"].as_str().unwrap().starts_with("CMP-20"));
    let detail = app
        .ok(&agent, "query($id: ID!) { complaint(id: $id) { createdAt firstResponseDue resolutionDue slaBreached overdue } }", json!({ "id": c["id"] }))
        .await["complaint"]
        .clone();
    let at = |f: &str| chrono::DateTime::parse_from_rfc3339(detail[f].as_str().unwrap()).unwrap();
    assert_eq!((at("firstResponseDue") - at("createdAt")).num_minutes(), 10);
    assert_eq!((at("resolutionDue") - at("createdAt")).num_hours(), 4);
    assert_eq!(detail["overdue"], false);

    // Raising the severity of a LOW complaint tightens its deadlines.
    let low = ComplaintBuilder::new().with("severity", json!("LOW")).create(app, &agent).await;
    let high = step(app, &agent, "updateComplaint", &low, ", $i: UpdateComplaintInput!", ", input: $i", json!({ "i": { "severity": "HIGH" } })).await;
    let detail = app
        .ok(&agent, "query($id: ID!) { complaint(id: $id) { createdAt firstResponseDue } }", json!({ "id": high["id"] }))
        .await["complaint"]
        .clone();
    let at = |f: &str| chrono::DateTime::parse_from_rfc3339(detail[f].as_str().unwrap()).unwrap();
    assert_eq!((at("firstResponseDue") - at("createdAt")).num_minutes(), 30);

    // Agents record for their own team only; an unknown team is a validation error.
    let other_team = crate::fixtures::team_id(app, &agent, "Frontline B").await;
    let input = ComplaintBuilder::new().with("teamId", json!(other_team)).input();
    assert_eq!(app.error_code(Some(&agent), CREATE, json!({ "input": input })).await, "FORBIDDEN");
    let supervisor = app.login_as("supervisor@example.com").await;
    let input = ComplaintBuilder::new().with("teamId", json!(other_team)).input();
    let created = app.ok(&supervisor, &format!("mutation($input: CreateComplaintInput!) {{ createComplaint(input: $input) {{ {COMPLAINT_FIELDS} }} }}"), json!({ "input": input })).await;
    assert_eq!(created["createComplaint"]["team"]["name"], "Frontline B");
    assert!(created["createComplaint"]["assignee"].is_null());
}

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $order: ComplaintOrder) {
    complaints(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: { search: \"paging\" }) {
        totalCount edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

fn titles(page: &Value) -> Vec<String> {
    page["complaints"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["title"].as_str().unwrap().to_owned()).collect()
}

async fn lists_page_by_keyset_in_both_directions(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    for i in 0..7 {
        ComplaintBuilder::new().with("title", json!(format!("paging {i}"))).create(app, &agent).await;
    }
    let order = json!({ "field": "CREATED_AT", "direction": "ASC" });
    let first = app.ok(&agent, PAGE, json!({ "first": 3, "order": order })).await;
    assert_eq!(titles(&first), ["paging 0", "paging 1", "paging 2"]);
    assert_eq!(first["complaints"]["totalCount"], 7);
    assert_eq!(first["complaints"]["pageInfo"]["hasNextPage"], true);

    // A complaint recorded between pages does not shift the next page.
    ComplaintBuilder::new().with("title", json!("paging 7")).create(app, &agent).await;
    let after = first["complaints"]["pageInfo"]["endCursor"].clone();
    let second = app.ok(&agent, PAGE, json!({ "first": 3, "after": after, "order": order })).await;
    assert_eq!(titles(&second), ["paging 3", "paging 4", "paging 5"]);
    let after = second["complaints"]["pageInfo"]["endCursor"].clone();
    let third = app.ok(&agent, PAGE, json!({ "first": 3, "after": after, "order": order })).await;
    assert_eq!(titles(&third), ["paging 6", "paging 7"]);
    assert_eq!(third["complaints"]["pageInfo"]["hasNextPage"], false);

    // Backwards from the end, newest first by default.
    let last = app.ok(&agent, PAGE, json!({ "last": 2 })).await;
    assert_eq!(titles(&last), ["paging 1", "paging 0"]);
    assert_eq!(last["complaints"]["pageInfo"]["hasPreviousPage"], true);
    let before = last["complaints"]["pageInfo"]["startCursor"].clone();
    let earlier = app.ok(&agent, PAGE, json!({ "last": 2, "before": before })).await;
    assert_eq!(titles(&earlier), ["paging 3", "paging 2"]);

    for bad in [json!({ "first": 101 }), json!({ "first": -1 }), json!({ "after": "garbage" }), json!({ "first": 1, "last": 1 })] {
        assert_eq!(app.error_code(Some(&agent), PAGE, bad.clone()).await, "VALIDATION", "{bad}");
    }
}

async fn lists_filter_and_search(app: &TestApp) {
    let supervisor = app.login_as("supervisor@example.com").await;
    let agent = app.login_as("agent@example.com").await;
    ComplaintBuilder::new()
        .with("title", json!("Billing mistake 100% wrong"))
        .with("category", json!("BILLING"))
        .with("severity", json!("HIGH"))
        .with("orderReference", json!("INV-2026-0042"))
        .create(app, &agent)
        .await;
    let query = "query($f: ComplaintFilter) { complaints(filter: $f) { totalCount edges { node { title category } } } }";
    let count = |v: &Value| v["complaints"]["totalCount"].as_u64().unwrap();
    let by = |f: Value| app.ok(&supervisor, query, json!({ "f": f }));
    assert_eq!(count(&by(json!({ "category": ["BILLING"] })).await), 1);
    assert_eq!(count(&by(json!({ "search": "inv-2026-0042" })).await), 1, "order reference, case-insensitive");
    assert_eq!(count(&by(json!({ "search": "100%" })).await), 1, "LIKE wildcards are literal");
    assert_eq!(count(&by(json!({ "search": "1%x" })).await), 0);
    assert_eq!(count(&by(json!({ "severity": ["CRITICAL"] })).await), 2, "two demo complaints");
    assert_eq!(count(&by(json!({ "status": ["INVESTIGATING"] })).await), 1);
    assert_eq!(count(&by(json!({ "channel": ["IN_STORE"], "tier": ["TIER1"] })).await), 1);
    assert_eq!(count(&by(json!({ "overdue": true })).await), 0);
    assert_eq!(count(&by(json!({ "overdue": false })).await), 8, "7 demo complaints and 1 here");
    let team_b = crate::fixtures::team_id(app, &supervisor, "Frontline B").await;
    assert_eq!(count(&by(json!({ "teamId": team_b })).await), 2);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    assert_eq!(count(&by(json!({ "createdFrom": tomorrow })).await), 0);

    // Make one overdue by moving its clock back.
    let past = match app.backend {
        crate::helpers::Backend::Sqlite => "'2020-01-01 00:00:00+00:00'",
        crate::helpers::Backend::Postgres => "'2020-01-01T00:00:00Z'",
    };
    app.sql(&format!("UPDATE complaint SET resolution_due = {past} WHERE title = 'Billing mistake 100% wrong'")).await;
    assert_eq!(count(&by(json!({ "overdue": true })).await), 1);
}

async fn a_page_costs_the_same_statements_whatever_its_size(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    for i in 0..55 {
        let c = ComplaintBuilder::new().with("title", json!(format!("bulk {i}"))).create(app, &agent).await;
        if i % 5 == 0 {
            app.ok(
                &agent,
                "mutation($id: ID!) { addNote(complaintId: $id, body: \"called\", visibility: INTERNAL) { id } }",
                json!({ "id": c["id"] }),
            )
            .await;
        }
    }
    let query = "query($n: Int!) { complaints(first: $n) { totalCount edges { node {
        id reference status customer { name phone } assignee { email team { name } } createdBy { email } team { name tier }
        notes(first: 3) { body author { email } } links(first: 3) { kind complaint { id } } } } } }";
    let cost = |n: i64| {
        let supervisor = supervisor.clone();
        async move {
            app.until_caller_cached(&supervisor).await;
            let before = app.statements().await;
            let page = app.ok(&supervisor, query, json!({ "n": n })).await;
            assert_eq!(page["complaints"]["edges"].as_array().unwrap().len() as i64, n);
            app.statements().await - before
        }
    };
    let small = cost(2).await;
    let large = cost(50).await;
    assert_eq!(small, large, "a page of 50 cost {large} statements, a page of 2 cost {small}");
    assert!(large <= 10, "{large} statements for one page");
}

/// The list page of DESIGN.md §6 (customer, assignee, evidence count, latest
/// escalation) is one statement, which folds in the four neighbours, for 2
/// complaints and for 50 (plus the sign-in check on SQLite; PostgreSQL
/// reuses the caller: `service::auth_cache`); and
/// every folded figure equals what the same complaint answers on its own
/// (where the loaders read them separately): no assignee, deleted evidence,
/// several escalation requests (the newest wins), none at all.
async fn the_supervisors_list_page_is_one_statement(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    for i in 0..52 {
        let c = ComplaintBuilder::new().with("title", json!(format!("page {i}"))).create(app, &agent).await;
        let id = c["id"].as_str().unwrap();
        if i % 7 == 0 {
            let first = crate::evidence::upload_ok(app, &agent, id, crate::evidence::png(64 + i)).await;
            crate::evidence::upload_ok(app, &agent, id, crate::evidence::png(96 + i)).await;
            if i % 14 == 0 {
                app.ok(
                    &supervisor,
                    "mutation($id: ID!) { deleteEvidence(id: $id, reason: \"wrong file\") { id } }",
                    json!({ "id": first["id"] }),
                )
                .await;
            }
        }
        if i % 5 == 0 {
            let request = app
                .ok(
                    &agent,
                    "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: CUSTOMER_REQUEST, reason: \"wants a manager\") { id } }",
                    json!({ "id": id }),
                )
                .await;
            if i % 10 == 0 {
                app.ok(
                    &supervisor,
                    "mutation($id: ID!) { rejectEscalation(id: $id, reason: \"not yet\") { id } }",
                    json!({ "id": request["requestEscalation"]["id"] }),
                )
                .await;
                app.ok(
                    &agent,
                    "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: TECHNICAL, reason: \"firmware\") { id } }",
                    json!({ "id": id }),
                )
                .await;
            }
        }
        if i % 3 == 0 {
            app.sql(&format!("UPDATE complaint SET assignee_id = NULL WHERE reference = '{}'", c["reference"].as_str().unwrap())).await;
        }
    }
    let fields = "id reference status severity title createdAt resolutionDue customer { name phone }
        assignee { displayName } evidenceCount latestEscalation { id trigger status }";
    let query = format!("query($n: Int!) {{ complaints(first: $n) {{ edges {{ node {{ {fields} }} }} }} }}");
    for n in [2, 50] {
        app.until_caller_cached(&supervisor).await;
        let before = app.statements().await;
        let page = app.ok(&supervisor, &query, json!({ "n": n })).await;
        assert_eq!(app.statements().await - before, 1 + app.sign_in_statements(), "statements for a page of {n}");
        let edges = page["complaints"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), n);
        if n < 50 {
            continue;
        }
        let alone = format!("query($id: ID!) {{ complaint(id: $id) {{ {fields} }} }}");
        let (mut unassigned, mut escalated, mut rejected, mut with_evidence) = (0, 0, 0, 0);
        for edge in edges {
            let node = &edge["node"];
            let single = app.ok(&supervisor, &alone, json!({ "id": node["id"] })).await;
            assert_eq!(node, &single["complaint"], "the page and the complaint alone differ");
            unassigned += node["assignee"].is_null() as usize;
            escalated += node["latestEscalation"].is_object() as usize;
            rejected += (node["latestEscalation"]["trigger"] == "TECHNICAL") as usize;
            with_evidence += (node["evidenceCount"].as_i64().unwrap() > 0) as usize;
        }
        // The newest 50 of 52 (i = 2..=51).
        assert_eq!((unassigned, escalated, rejected, with_evidence), (17, 10, 5, 7));
    }
}

/// The other shapes of the benchmark (bench/compare.sh), each at its exact
/// statement count, once the caller is cached: (b) one complaint with notes
/// and escalations — the complaint with its customer, assignee, notes and
/// escalations (PostgreSQL, the lists folded in as JSON); on SQLite the
/// sign-in check, and the two lists a statement each; (c) `createComplaint`
/// for a new and for a known customer.
async fn the_benchmark_shapes_cost_fixed_statements(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let create = "mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id reference } }";
    let input = ComplaintBuilder::new().input();
    let created = |input: Value| {
        let agent = agent.clone();
        async move {
            app.until_caller_cached(&agent).await;
            let before = app.statements().await;
            let c = app.ok(&agent, create, json!({ "i": input })).await;
            (c["createComplaint"].clone(), app.statements().await - before)
        }
    };
    let (c, new_customer) = created(input.clone()).await;
    let (_, known_customer) = created(input).await;
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => CREATE_STATEMENTS.0,
        crate::helpers::Backend::Postgres => CREATE_STATEMENTS.1,
    };
    assert_eq!((new_customer, known_customer), (expected, expected), "createComplaint for a new and a known customer");
    for body in ["called", "called again"] {
        app.ok(
            &agent,
            "mutation($id: ID!, $b: String!) { addNote(complaintId: $id, body: $b, visibility: INTERNAL) { id } }",
            json!({ "id": c["id"], "b": body }),
        )
        .await;
    }
    let by_id = "query($id: ID!) { complaint(id: $id) { id reference status severity title description createdAt
        customer { name phone } assignee { displayName } notes { body createdAt } escalations { trigger status requestedAt } } }";
    app.until_caller_cached(&supervisor).await;
    let before = app.statements().await;
    let one = app.ok(&supervisor, by_id, json!({ "id": c["id"] })).await;
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => 4,
        crate::helpers::Backend::Postgres => 1,
    };
    assert_eq!(app.statements().await - before, expected, "one complaint with notes and escalations");
    assert_eq!(one["complaint"]["notes"].as_array().unwrap().len(), 2);
    assert_eq!(one["complaint"]["assignee"]["displayName"], "Wang Fang (agent)");
    assert!(one["complaint"]["customer"]["name"].is_string());
}

/// The fields of `Complaint` a client can select without arguments, with
/// the sub-selection each needs.
pub(crate) fn complaint_selections() -> Vec<String> {
    use async_graphql::parser::types::BaseType;
    let objects = casework::graphql::sdl_objects();
    // A leaf, or an object's scalar fields (nested objects by their id).
    fn selection(objects: &casework::graphql::SdlObjects, ty: &BaseType, depth: usize) -> Option<String> {
        let name = match ty {
            BaseType::Named(name) => name.to_string(),
            BaseType::List(inner) => return selection(objects, &inner.base, depth),
        };
        let Some(fields) = objects.get(&name) else { return Some(String::new()) };
        if depth > 1 {
            return None;
        }
        if depth > 0 && fields.iter().any(|f| f.node.name.node == "id") {
            return Some("{ id }".to_owned());
        }
        let inner: Vec<String> = fields
            .iter()
            .filter(|f| f.node.arguments.is_empty())
            .filter_map(|f| selection(objects, &f.node.ty.node.base, depth + 1).map(|sub| format!("{} {sub}", f.node.name.node)))
            .collect();
        (!inner.is_empty()).then(|| format!("{{ {} }}", inner.join(" ")))
    }
    objects["Complaint"]
        .iter()
        .filter(|f| f.node.arguments.iter().all(|a| a.node.default_value.is_some() || a.node.ty.node.nullable))
        .filter_map(|f| selection(&objects, &f.node.ty.node.base, 0).map(|sub| format!("{} {sub}", f.node.name.node)))
        .collect()
}

/// List pages and `complaint(id)` read only the columns their fields need
/// (`graphql::projection`): each field selected alone answers what the
/// same field answers when every field is selected (whole rows), on
/// complaints in every stage with every optional column set.
async fn every_complaint_field_reads_the_same_alone(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let fresh = ComplaintBuilder::new().with("title", json!("alone: new")).create(app, &agent).await;
    let closed = ComplaintBuilder::new().with("title", json!("alone: reopened")).create(app, &agent).await;
    let closed = acknowledge(app, &agent, &closed).await;
    let closed = find(app, &agent, &closed).await;
    let closed = propose(app, &agent, &closed, "120").await;
    let closed = accept(app, &agent, &closed).await;
    let closed = resolve(app, &agent, &closed).await;
    let closed = callback(app, &agent, &closed, true).await;
    step(app, &agent, "reopenComplaint", &closed, ", $r: String!", ", reason: $r", json!({ "r": "Refund bounced" })).await;
    let proposed = ComplaintBuilder::new().with("title", json!("alone: proposed")).create(app, &agent).await;
    let proposed = acknowledge(app, &agent, &proposed).await;
    let proposed = find(app, &agent, &proposed).await;
    propose(app, &agent, &proposed, "80").await;
    // Columns no stage above sets, set on the fresh one: none left at its default.
    app.sql(&format!(
        "UPDATE complaint SET urgent_reason = 'MEDICAL', delay_reason = 'AWAITING_STOCK', promised_by = created_at,
         expected_resolution_at = created_at, next_update_due = created_at, last_update_at = created_at,
         promise_breached = TRUE, update_overdue = TRUE, solution_breached = TRUE, first_response_breached = TRUE,
         resolution_breached = TRUE, sla_breached = TRUE, vulnerable_customer = TRUE, media_attention = TRUE,
         group_complaint = TRUE, callback_due = created_at, close_outcome = 'WITHDRAWN', product_or_service = 'Fridge',
         location = 'Store 7', requested_amount = '15.50', emotion = 'ANGRY',
         repeat_of_id = (SELECT id FROM complaint WHERE reference = '{}')
         WHERE reference = '{}'",
        closed["reference"].as_str().unwrap(),
        fresh["reference"].as_str().unwrap()
    ))
    .await;
    app.sql("UPDATE complaint SET refund_amount = '5.00' WHERE resolution_summary IS NOT NULL").await;

    let fields = complaint_selections();
    assert!(fields.len() > 60, "{fields:?}");
    // Whole rows: `node` reads the complaint as stored, every column.
    let list = |selection: &str| format!("{{ complaints(first: 5, filter: {{search: \"alone\"}}) {{ edges {{ node {{ id {selection} }} }} }} }}");
    let page = app.ok(&supervisor, &list(""), json!({})).await;
    let mut whole = Vec::new();
    for edge in page["complaints"]["edges"].as_array().unwrap() {
        let query = format!("query($id: ID!) {{ node(id: $id) {{ ... on Complaint {{ id {} }} }} }}", fields.join(" "));
        whole.push(app.ok(&supervisor, &query, json!({ "id": edge["node"]["id"] })).await["node"].clone());
    }
    assert!(whole.len() >= 3, "{whole:?}");
    for field in &fields {
        let name = field.split_whitespace().next().unwrap();
        let alone = app.ok(&supervisor, &list(field), json!({})).await;
        let alone = alone["complaints"]["edges"].as_array().unwrap();
        assert_eq!(alone.len(), whole.len());
        for (edge, reference) in alone.iter().zip(&whole) {
            assert_eq!(edge["node"]["id"], reference["id"]);
            assert_eq!(edge["node"][name], reference[name], "{name} alone on a list page");
        }
        for reference in &whole {
            let query = format!("query($id: ID!) {{ complaint(id: $id) {{ {field} }} }}");
            let one = app.ok(&supervisor, &query, json!({ "id": reference["id"] })).await;
            assert_eq!(one["complaint"][name], reference[name], "{name} alone on complaint(id)");
        }
    }
    // The fresh complaint, whose optional columns are all set, is on the page.
    let fresh_whole = whole.iter().find(|c| c["id"] == fresh["id"]).expect("the fresh complaint");
    for name in ["urgentReason", "delayReason", "promisedBy", "closeOutcome", "location", "requestedAmount", "repeatOf"] {
        assert!(!fresh_whole[name].is_null(), "{name} is set");
    }
}

async fn notes_and_links_are_recorded(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let a = ComplaintBuilder::new().create(app, &agent).await;
    let b = ComplaintBuilder::new().create(app, &agent).await;
    let note = app
        .ok(
            &agent,
            "mutation($id: ID!) { addNote(complaintId: $id, body: \"Customer called again\", visibility: CUSTOMER_UPDATE) { body visibility author { email } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(note["addNote"]["author"]["email"], "agent@example.com");
    let linked = app
        .ok(&agent, "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: DUPLICATE) { id version } }", json!({ "ids": [a["id"], b["id"]] }))
        .await;
    assert_eq!(linked["linkComplaints"].as_array().unwrap().len(), 2);
    let seen = app
        .ok(&agent, "query($id: ID!) { complaint(id: $id) { version notes { body } links { kind primary complaint { id } } } }", json!({ "id": b["id"] }))
        .await;
    assert_eq!(seen["complaint"]["links"][0]["kind"], "DUPLICATE");
    assert_eq!(seen["complaint"]["links"][0]["complaint"]["id"], a["id"]);
    assert_eq!(seen["complaint"]["links"][0]["primary"], false);
    let one = app
        .gql(Some(&agent), "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: GROUP) { id } }", json!({ "ids": [a["id"]] }))
        .await;
    assert_eq!(first_error_code(&one), "VALIDATION");
    let empty = app
        .gql(Some(&agent), "mutation($id: ID!) { addNote(complaintId: $id, body: \"  \", visibility: INTERNAL) { id } }", json!({ "id": a["id"] }))
        .await;
    assert_eq!(first_error_code(&empty), "VALIDATION");
}

async fn lookups_by_reference_and_node(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let by_ref = app
        .ok(&agent, "query($r: String!) { complaintByReference(reference: $r) { id } }", json!({ "r": c["reference"].as_str().unwrap().to_lowercase() }))
        .await;
    assert_eq!(by_ref["complaintByReference"]["id"], c["id"]);
    let node = app
        .ok(&agent, "query($id: ID!) { node(id: $id) { id ... on Complaint { reference } } }", json!({ "id": c["id"] }))
        .await;
    assert_eq!(node["node"]["reference"], c["reference"]);
    let nothing = app.ok(&agent, "{ node(id: \"bm9wZQ\") { id } complaint(id: \"garbage\") { id } }", json!({})).await;
    assert!(nothing["node"].is_null() && nothing["complaint"].is_null());
}

async fn every_mutation_writes_one_chained_audit_event(app: &TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let agent = app.login_as("agent@example.com").await;
    let mut c = ComplaintBuilder::new().create(app, &agent).await;
    c = acknowledge(app, &agent, &c).await;
    c = find(app, &agent, &c).await;
    let id = casework::ids::decode(casework::ids::Kind::Complaint, "id", &async_graphql::ID(c["id"].as_str().unwrap().into())).unwrap();
    let events = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::ComplaintId.eq(id))
        .order_by_asc(entity::audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["complaint.created", "complaint.acknowledged", "complaint.finding_recorded"]);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3], "seq follows the version");
    assert_eq!(events[0].prev_hash, casework::audit::GENESIS_HASH);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].entry_hash);
    }
    for event in &events {
        assert_eq!(casework::audit::append::entry_hash(&event.prev_hash, &event.canonical), event.entry_hash);
        assert_eq!(event.actor_role.as_deref(), Some("AGENT"));
        assert!(event.request_id.is_some());
    }
    let changes: Value = serde_json::from_str(&events[1].changes).unwrap();
    assert_eq!(changes["status"], json!(["NEW", "ACKNOWLEDGED"]));

    // The database itself refuses to change or delete audit rows.
    for statement in ["UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"] {
        let result = sea_orm::ConnectionTrait::execute_unprepared(&app.db, statement).await;
        assert!(result.is_err(), "{statement} was allowed");
    }
    if app.backend == crate::helpers::Backend::Postgres {
        assert!(sea_orm::ConnectionTrait::execute_unprepared(&app.db, "TRUNCATE audit_event").await.is_err());
    }
}

/// `complaint(id)` folds its notes and escalation requests into its own
/// statement on PostgreSQL (`service::complaints::nested`); `node(id)` reads
/// them through the loaders. Every field of both lists must read the same,
/// in the same order: notes of both visibilities with quotes, newlines and
/// CJK text, requests pending, approved and rejected, raised by a person and
/// by the system, a complaint with none of either, and `first`.
async fn notes_and_escalations_read_by_id_match_the_loaders(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let fields_of = |name: &str| fields_of(name).join(" ");
    let selection = format!("notes {{ {} }} escalations {{ {} }} first: notes(first: 1) {{ id }}", fields_of("Note"), fields_of("Escalation"));
    let busy = ComplaintBuilder::new().with("title", json!("nested lists")).create(app, &agent).await;
    let empty = ComplaintBuilder::new().with("title", json!("nested lists: none")).create(app, &agent).await;
    for (body, visibility) in [("He said \"no\".\nThen: 不满意 \\ 退款", "INTERNAL"), ("We will call back on Friday.", "CUSTOMER_UPDATE"), ("third", "INTERNAL")] {
        app.ok(
            &agent,
            "mutation($id: ID!, $b: String!, $v: NoteVisibility!) { addNote(complaintId: $id, body: $b, visibility: $v) { id } }",
            json!({ "id": busy["id"], "b": body, "v": visibility }),
        )
        .await;
    }
    let request = |token: &str, tier: &str, trigger: &str| {
        let token = token.to_owned();
        let id = busy["id"].clone();
        let query = format!(
            "mutation($id: ID!) {{ requestEscalation(complaintId: $id, toTier: {tier}, trigger: {trigger}, reason: \"needs a manager\") {{ id }} }}"
        );
        async move { app.ok(&token, &query, json!({ "id": id })).await["requestEscalation"]["id"].clone() }
    };
    let rejected = request(&agent, "TIER2", "CUSTOMER_REQUEST").await;
    app.ok(&supervisor, "mutation($id: ID!) { rejectEscalation(id: $id, reason: \"not yet\") { id } }", json!({ "id": rejected })).await;
    let approved = request(&agent, "TIER2", "TECHNICAL").await;
    app.ok(&supervisor, "mutation($id: ID!) { approveEscalation(id: $id, note: \"ok — 同意\") { id } }", json!({ "id": approved })).await;
    // Now at tier 2 (out of the agent's queue): the supervisor asks for tier 3.
    request(&supervisor, "TIER3", "CUSTOMER_REQUEST").await;
    // A request the system raised (no requester), overdue.
    app.sql(&format!(
        "UPDATE escalation SET requested_by = NULL, overdue = TRUE WHERE status = 'PENDING' AND complaint_id =
         (SELECT id FROM complaint WHERE reference = '{}')",
        busy["reference"].as_str().unwrap()
    ))
    .await;
    for c in [&busy, &empty] {
        let by_id = app.ok(&supervisor, &format!("query($id: ID!) {{ complaint(id: $id) {{ id {selection} }} }}"), json!({ "id": c["id"] })).await;
        let by_node =
            app.ok(&supervisor, &format!("query($id: ID!) {{ node(id: $id) {{ ... on Complaint {{ id {selection} }} }} }}"), json!({ "id": c["id"] })).await;
        assert_eq!(by_id["complaint"], by_node["node"], "complaint(id) and node(id) of {}", c["reference"]);
        let (notes, requests) = (by_id["complaint"]["notes"].as_array().unwrap(), by_id["complaint"]["escalations"].as_array().unwrap());
        if c["id"] == busy["id"] {
            assert_eq!((notes.len(), requests.len()), (3, 3), "{by_id}");
            assert_eq!(notes[0]["body"], "He said \"no\".\nThen: 不满意 \\ 退款");
            assert_eq!(by_id["complaint"]["first"].as_array().unwrap().len(), 1);
            let statuses: Vec<&str> = requests.iter().map(|r| r["status"].as_str().unwrap()).collect();
            assert_eq!(statuses, ["REJECTED", "APPROVED", "PENDING"]);
        } else {
            assert_eq!((notes.len(), requests.len()), (0, 0), "{by_id}");
        }
    }
}

/// Each field of `name`'s object type that takes no arguments, as a
/// selection: a scalar, or an object by its id.
fn fields_of(name: &str) -> Vec<String> {
    let objects = casework::graphql::sdl_objects();
    objects[name]
        .iter()
        .filter(|f| f.node.arguments.is_empty())
        .map(|f| {
            let ty = f.node.ty.node.to_string();
            let base = ty.trim_matches(|c| c == '[' || c == ']' || c == '!');
            if objects.contains_key(base) { format!("{} {{ id }}", f.node.name.node) } else { f.node.name.node.to_string() }
        })
        .collect()
}

/// A page and `complaint(id)` read their customer, assignee and newest
/// request with only the columns the sub-selection needs
/// (`graphql::projection`) and hand those partial rows only to the field that
/// asked (`Loaders::folded`). Each field of `Customer`, `User` and
/// `Escalation` selected alone must read as `node(id)` reads it (whole rows,
/// through the loaders), and so must one request that reads the same rows
/// narrowly in one place and widely in another.
async fn every_neighbour_field_reads_the_same_alone(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let c = ComplaintBuilder::new().with("title", json!(format!("neighbours {i}"))).create(app, &agent).await;
        if i % 2 == 0 {
            let request = app
                .ok(
                    &agent,
                    "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: CUSTOMER_REQUEST, reason: \"wants a manager\") { id } }",
                    json!({ "id": c["id"] }),
                )
                .await;
            if i == 0 {
                app.ok(
                    &supervisor,
                    "mutation($id: ID!) { rejectEscalation(id: $id, reason: \"not yet\") { id } }",
                    json!({ "id": request["requestEscalation"]["id"] }),
                )
                .await;
            }
        }
        if i == 3 {
            app.sql(&format!("UPDATE complaint SET assignee_id = NULL WHERE reference = '{}'", c["reference"].as_str().unwrap())).await;
        }
        ids.push(c["id"].clone());
    }
    let neighbours = [("customer", "Customer"), ("assignee", "User"), ("latestEscalation", "Escalation")];
    let whole_selection: String =
        neighbours.iter().map(|(field, ty)| format!("{field} {{ {} }}", fields_of(ty).join(" "))).collect::<Vec<_>>().join(" ");
    let mut whole = Vec::new();
    for id in &ids {
        let query = format!("query($id: ID!) {{ node(id: $id) {{ ... on Complaint {{ id {whole_selection} }} }} }}");
        whole.push(app.ok(&supervisor, &query, json!({ "id": id })).await["node"].clone());
    }
    assert!(whole.iter().any(|c| c["assignee"].is_null()) && whole.iter().any(|c| c["latestEscalation"].is_null()));
    let list = |selection: &str| format!("{{ complaints(first: 10, filter: {{search: \"neighbours\"}}) {{ edges {{ node {{ id {selection} }} }} }} }}");
    for (field, ty) in neighbours {
        for sub in fields_of(ty) {
            let name = sub.split_whitespace().next().unwrap();
            let selection = format!("{field} {{ {sub} }}");
            let page = app.ok(&supervisor, &list(&selection), json!({})).await;
            let edges = page["complaints"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), whole.len());
            for edge in edges {
                let reference = whole.iter().find(|c| c["id"] == edge["node"]["id"]).unwrap();
                let expected = if reference[field].is_null() { Value::Null } else { reference[field][name].clone() };
                let got = if edge["node"][field].is_null() { Value::Null } else { edge["node"][field][name].clone() };
                assert_eq!(got, expected, "{field} {{ {name} }} alone on a list page");
                let one = app.ok(&supervisor, &format!("query($id: ID!) {{ complaint(id: $id) {{ {selection} }} }}"), json!({ "id": reference["id"] })).await;
                let got = if one["complaint"][field].is_null() { Value::Null } else { one["complaint"][field][name].clone() };
                assert_eq!(got, expected, "{field} {{ {name} }} alone on complaint(id)");
            }
        }
    }
    // Narrow on the page, wide beside it in the same request, twice under
    // aliases: each place gets the columns it asked for.
    let id = &ids[1];
    let query = format!(
        "query($id: ID!) {{
            complaints(first: 10, filter: {{search: \"neighbours\"}}) {{ edges {{ node {{ id customer {{ name }} assignee {{ displayName }}
                latestEscalation {{ status }} a: customer {{ phone }} }} }} }}
            complaint(id: $id) {{ customer {{ email }} assignee {{ email role }} latestEscalation {{ reason trigger }} }}
            node(id: $id) {{ ... on Complaint {{ {whole_selection} }} }}
        }}"
    );
    let mixed = app.ok(&supervisor, &query, json!({ "id": id })).await;
    let reference = whole.iter().find(|c| &c["id"] == id).unwrap();
    for (field, _) in neighbours {
        assert_eq!(mixed["node"][field], reference[field], "{field} read whole beside narrow reads");
    }
    assert_eq!(mixed["complaint"]["customer"]["email"], reference["customer"]["email"]);
    assert_eq!(mixed["complaint"]["assignee"]["role"], reference["assignee"]["role"]);
    for edge in mixed["complaints"]["edges"].as_array().unwrap() {
        let reference = whole.iter().find(|c| c["id"] == edge["node"]["id"]).unwrap();
        assert_eq!(edge["node"]["customer"]["name"], reference["customer"]["name"]);
        assert_eq!(edge["node"]["a"]["phone"], reference["customer"]["phone"]);
    }
}
