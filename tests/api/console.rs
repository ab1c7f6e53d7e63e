//! The web console and GraphiQL: embedded files with their types, strong ETags
//! and a strict CSP; the demo flag; `Complaint.viewerCan`; the audit export.

use serde_json::{Value, json};

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{TestApp, spawn_app_with},
};

crate::on_both_databases!(
    a_browser_at_the_root_is_sent_to_the_console,
    console_files_carry_type_strong_etag_and_strict_csp,
    graphiql_is_served_from_the_binary_without_a_cdn,
    config_lists_demo_accounts_only_in_demo_mode,
    viewer_can_shows_only_what_the_caller_may_do_now,
    viewer_can_covers_progress_updates_contacts_and_first_contact,
    audit_export_is_for_auditors_and_is_itself_audited,
);

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("accept", "text/html").send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn a_browser_at_the_root_is_sent_to_the_console(app: &TestApp) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client.get(app.url("/")).header("accept", "text/html,application/xhtml+xml").send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(header(&response, "location"), "/console");
    // A non-browser client still gets the JSON 404.
    let response = client.get(app.url("/")).header("accept", "application/json").send().await.unwrap();
    assert_eq!(response.status(), 404);
}

async fn console_files_carry_type_strong_etag_and_strict_csp(app: &TestApp) {
    for (path, content_type) in [
        ("/console", "text/html"),
        ("/console/console/app.js", "text/javascript"),
        ("/console/console/console.css", "text/css"),
        ("/console/vendor/preact-htm.mjs", "text/javascript"),
    ] {
        let response = get(app, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(header(&response, "content-type").starts_with(content_type), "{path}: {}", header(&response, "content-type"));
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{path}: no inline script, no other host: {csp}");
        let etag = header(&response, "etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() > 10, "a strong ETag: {etag}");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty());
        // The same ETag answers 304 with no body; another does not.
        let again = app.client.get(app.url(path)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag"), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = app.client.get(app.url(path)).header("if-none-match", "\"0000\"").send().await.unwrap();
        assert_eq!(stale.status(), 200);
    }
    // The console page loads only our own module; no inline script.
    let html = get(app, "/console").await.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/console/app.js"></script>"#));
    assert_eq!(html.matches("<script").count(), 1);
    // Unknown files and directories are 404, never a directory listing or a file outside web/.
    for path in ["/console/console/nope.js", "/console/other/app.js", "/console/console/..%2F..%2FCargo.toml", "/console/vendor/package.json"] {
        let response = get(app, path).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}

async fn graphiql_is_served_from_the_binary_without_a_cdn(app: &TestApp) {
    let response = get(app, "/graphql").await;
    assert_eq!(response.status(), 200);
    let csp = header(&response, "content-security-policy").to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self';") && csp.contains("connect-src 'self'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("unpkg"), "no CDN: {html}");
    for src in ["/console/vendor/react.production.min.js", "/console/vendor/graphiql.min.js", "/console/graphiql/init.js"] {
        assert!(html.contains(src), "{src}");
        let file = get(app, src).await;
        assert_eq!(file.status(), 200, "{src}");
        assert!(header(&file, "content-type").starts_with("text/javascript"));
    }
    // The introspection GraphiQL sends fits the depth limit.
    let init = get(app, "/console/graphiql/init.js").await.text().await.unwrap();
    let start = init.find("const typeRef = '").unwrap() + "const typeRef = '".len();
    let type_ref = &init[start..start + init[start..].find('\'').unwrap()];
    let query = format!("{{ __schema {{ types {{ name fields {{ name type {{ {type_ref} }} args {{ name type {{ {type_ref} }} }} }} }} }} }}");
    let response = app.gql(None, &query, json!({})).await;
    assert!(response.get("errors").is_none(), "{response:#}");
}

async fn config_lists_demo_accounts_only_in_demo_mode(app: &TestApp) {
    let config: Value = get(app, "/console/config.json").await.json().await.unwrap();
    assert_eq!(config["demo"], true);
    assert!(config["demoAccounts"].as_array().unwrap().iter().any(|a| a["email"] == "agent@example.com" && a["role"] == "AGENT"));
    // The test password is the documented default.
    assert_eq!(config["demoPassword"], "casework-demo");

    let plain = spawn_app_with(app.backend, |s| s.demo = false).await.unwrap();
    let config: Value = get(&plain, "/console/config.json").await.json().await.unwrap();
    assert_eq!(config["demo"], false);
    assert_eq!(config["demoAccounts"], json!([]));
    assert_eq!(config["demoPassword"], Value::Null);
    plain.finish().await;

    let other = spawn_app_with(app.backend, |s| s.demo_password = casework::config::Secret::new("a-private-demo-pass")).await.unwrap();
    let config: Value = get(&other, "/console/config.json").await.json().await.unwrap();
    assert_eq!(config["demo"], true);
    assert_eq!(config["demoPassword"], Value::Null, "a configured password is never shown");
    assert!(!serde_json::to_string(&config).unwrap().contains("a-private-demo-pass"));
    other.finish().await;
}

const CAN: &str = "viewerCan { acknowledge recordFinding proposeResolution recordCustomerDecision resolve recordCallback close reopen addNote uploadEvidence deleteEvidence setFlags markSensitive requestEscalation referToLegal link postProgressUpdate recordContact resolveAtFirstContact }";

async fn can(app: &TestApp, token: &str, id: &str) -> Value {
    let data = app.ok(token, &format!("query($id: ID!) {{ complaint(id: $id) {{ status version {CAN} }} }}"), json!({ "id": id })).await;
    data["complaint"].clone()
}

async fn viewer_can_shows_only_what_the_caller_may_do_now(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();

    let mine = can(app, &agent, id).await;
    let c = &mine["viewerCan"];
    assert_eq!(c["acknowledge"], true);
    assert_eq!(c["addNote"], true);
    assert_eq!(c["uploadEvidence"], true);
    assert_eq!(c["recordFinding"], false, "a NEW complaint is acknowledged first");
    assert_eq!(c["proposeResolution"], false);
    assert_eq!(c["markSensitive"], false, "agents may only ask");
    assert_eq!(c["deleteEvidence"], false);

    // Every action viewerCan offers is accepted; the refused ones are refused.
    let ack = app
        .gql(Some(&agent), "mutation($id: ID!) { acknowledgeComplaint(id: $id, expectedVersion: 1) { status } }", json!({ "id": id }))
        .await;
    assert!(ack.get("errors").is_none(), "{ack:#}");
    let now = can(app, &agent, id).await;
    assert_eq!(now["viewerCan"]["acknowledge"], false);
    assert_eq!(now["viewerCan"]["recordFinding"], true);
    let code = app
        .error_code(Some(&agent), "mutation($id: ID!) { acknowledgeComplaint(id: $id, expectedVersion: 2) { status } }", json!({ "id": id }))
        .await;
    assert_eq!(code, "INVALID_TRANSITION");

    // An auditor reads it but may do nothing; a supervisor may mark it sensitive and delete evidence.
    let auditor = app.login_as("auditor@example.com").await;
    let seen = can(app, &auditor, id).await;
    assert!(seen["viewerCan"].as_object().unwrap().values().all(|v| v == false), "{seen:#}");
    let supervisor = app.login_as("supervisor@example.com").await;
    let sup = can(app, &supervisor, id).await;
    assert_eq!(sup["viewerCan"]["markSensitive"], true);
    assert_eq!(sup["viewerCan"]["deleteEvidence"], true);
    assert_eq!(sup["viewerCan"]["recordFinding"], true);

    // Another team's agent does not even see it.
    let other = app.login_as("agent2@example.com").await;
    let data = app.ok(&other, &format!("query($id: ID!) {{ complaint(id: $id) {{ {CAN} }} }}"), json!({ "id": id })).await;
    assert_eq!(data["complaint"], Value::Null);

    // Under legal hold the agent loses every action, and legal gains the work.
    app.ok(&supervisor, "mutation($id: ID!) { referToLegal(id: $id, reason: \"possible lawsuit\") { id } }", json!({ "id": id })).await;
    let legal = app.login_as("legal@example.com").await;
    let held = can(app, &legal, id).await;
    assert_eq!(held["viewerCan"]["recordFinding"], true);
    assert_eq!(held["viewerCan"]["deleteEvidence"], false, "nothing is deleted under legal hold");
    assert_eq!(held["viewerCan"]["referToLegal"], false, "already referred");
    let sup = can(app, &supervisor, id).await;
    assert!(sup["viewerCan"].as_object().unwrap().values().all(|v| v == false), "{sup:#}");
}

/// The console shows progress updates, contacts and "resolve at first contact"
/// only when viewerCan offers them; each offered action is accepted and each
/// withheld one is refused with the code the flag stands for.
async fn viewer_can_covers_progress_updates_contacts_and_first_contact(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let complaint = ComplaintBuilder::new().create(app, &agent).await;
    let id = complaint["id"].as_str().unwrap();
    let c = can(app, &agent, id).await["viewerCan"].clone();
    assert_eq!((c["postProgressUpdate"].clone(), c["recordContact"].clone(), c["resolveAtFirstContact"].clone()), (json!(true), json!(true), json!(true)));

    let update = "mutation($id: ID!, $v: Int!) { postProgressUpdate(id: $id, expectedVersion: $v, input: { message: \"Waiting for the carrier\", delayReason: AWAITING_THIRD_PARTY }) { version delayReason } }";
    let contact = "mutation($id: ID!) { recordContact(complaintId: $id, input: { channel: PHONE, direction: INBOUND, kind: CHASER, note: \"asked again\" }) { kind } }";
    let posted = app.ok(&agent, update, json!({ "id": id, "v": 1 })).await;
    assert_eq!(posted["postProgressUpdate"]["delayReason"], "AWAITING_THIRD_PARTY");
    assert_eq!(app.ok(&agent, contact, json!({ "id": id })).await["recordContact"]["kind"], "CHASER");

    // An auditor is offered none of them, and a hostile script that tries anyway is refused.
    let auditor = app.login_as("auditor@example.com").await;
    let seen = can(app, &auditor, id).await;
    assert!(seen["viewerCan"].as_object().unwrap().values().all(|v| v == false), "{seen:#}");
    assert_eq!(app.error_code(Some(&auditor), contact, json!({ "id": id })).await, "FORBIDDEN");
    // Another team's agent does not learn the complaint exists.
    let other = app.login_as("agent2@example.com").await;
    assert_eq!(app.error_code(Some(&other), contact, json!({ "id": id })).await, "NOT_FOUND");

    // Closed at the first contact: no more progress updates or first-contact closing, contacts still recorded.
    let version = can(app, &agent, id).await["version"].as_i64().unwrap();
    let closed = app
        .ok(
            &agent,
            "mutation($id: ID!, $v: Int!) { resolveAtFirstContact(id: $id, expectedVersion: $v, summary: \"Explained the delay\", satisfied: true) { status closeOutcome version } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert_eq!(closed["resolveAtFirstContact"]["status"], "CLOSED");
    assert_eq!(closed["resolveAtFirstContact"]["closeOutcome"], "RESOLVED_AT_FIRST_CONTACT");
    let after = can(app, &agent, id).await;
    assert_eq!(after["viewerCan"]["postProgressUpdate"], false);
    assert_eq!(after["viewerCan"]["resolveAtFirstContact"], false);
    assert_eq!(after["viewerCan"]["recordContact"], true);
    let v = after["version"].clone();
    assert_eq!(app.error_code(Some(&agent), update, json!({ "id": id, "v": v })).await, "INVALID_TRANSITION");
}

async fn audit_export_is_for_auditors_and_is_itself_audited(app: &TestApp) {
    // Anonymous: 401; an agent and a supervisor: 403 — never the trail.
    let response = app.client.get(app.url("/audit/export")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    for email in ["agent@example.com", "supervisor@example.com"] {
        let token = app.login_as(email).await;
        let response = app.client.get(app.url("/audit/export")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 403, "{email}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }

    let auditor = app.login_as("auditor@example.com").await;
    let response = app.client.get(app.url("/audit/export")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-disposition").starts_with("attachment; filename=\"casework-audit-"));
    assert_eq!(header(&response, "cache-control"), "no-store");
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON Lines")).collect();
    assert!(lines.len() > 5, "the demo data's trail: {} lines", lines.len());
    // The export is the operator's format: it parses and verifies offline.
    let parsed = casework::audit::export::parse(&text).expect("the export parses");
    assert!(!parsed.events.is_empty());

    let data = app
        .ok(&auditor, "{ auditEvents(filter: { action: \"audit.exported\" }, first: 10) { edges { node { action actorRole } } } }", json!({}))
        .await;
    let events = data["auditEvents"]["edges"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{data:#}");
    assert_eq!(events[0]["node"]["actorRole"], "AUDITOR");
}
