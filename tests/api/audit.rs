//! The tamper-evident audit trail: every mutation writes one chained event,
//! reads of sensitive complaints are audited once per request, and the
//! verifier names the first altered, missing, inserted or reordered event —
//! including the tampering only checkpoints and the anchor file can reveal.
//!
//! Tampering bypasses the immutability triggers on purpose, the way an
//! attacker with database access would (SQLite: drop and re-create them;
//! PostgreSQL: `DISABLE TRIGGER USER` as a superuser).

use casework::audit::{
    append::{entry_hash, hashed_object},
    canonical::to_canonical_json,
    checkpoint::{self, CheckpointWriter, SigningSeed},
};
use entity::{audit_chain, audit_checkpoint, audit_event, complaint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{AUDIT_SEED, Backend, TestApp, first_error_code},
};

crate::on_both_databases!(
    a_clean_trail_verifies,
    a_bit_flipped_in_changes_is_named,
    an_edited_actor_or_timestamp_is_named,
    a_deleted_middle_event_is_named,
    a_truncated_tail_with_adjusted_version_is_caught_by_the_checkpoint,
    swapped_seqs_are_named,
    a_forged_event_is_named,
    a_chain_rehashed_from_event_k_is_caught_by_the_checkpoint,
    a_checkpoint_signed_with_the_wrong_key_is_named,
    a_rolled_back_checkpoint_table_is_caught_by_the_anchor_file,
    every_mutation_writes_exactly_one_event,
    of_fifty_concurrent_updates_one_wins_and_writes_one_event,
    the_database_refuses_to_change_audit_rows,
    a_failed_audit_append_aborts_the_mutation,
    sensitive_reads_are_audited_once_per_request,
    audit_events_are_scoped_paged_and_masked,
    the_cli_exports_and_verifies_offline_and_names_failures,
    the_checkpoint_job_writes_signed_checkpoints,
    the_server_refuses_to_start_without_a_checkpoint_trigger,
);

// ---------------------------------------------------------------- helpers

fn uuid_of(id: &Value) -> Uuid {
    casework::ids::parse(id.as_str().expect("an ID")).expect("one of our IDs").1
}

fn writer(app: &TestApp) -> CheckpointWriter {
    CheckpointWriter { seed: SigningSeed::parse(AUDIT_SEED).unwrap(), anchor_dir: Some(app.anchor.path().into()) }
}

async fn checkpoint_now(app: &TestApp) -> audit_checkpoint::Model {
    checkpoint::create(&app.db, &writer(app), true).await.unwrap().expect("a checkpoint")
}

/// Runs `verifyAuditTrail` as the auditor; returns the verification.
async fn verify(app: &TestApp) -> Value {
    let auditor = app.login_as("auditor@example.com").await;
    let data = app
        .ok(
            &auditor,
            "{ verifyAuditTrail { ok checkedEvents checkpointsChecked firstFailure { chainKey seq reason } warnings } }",
            json!({}),
        )
        .await;
    data["verifyAuditTrail"].clone()
}

/// Verification must fail at `chain` / `seq` with a reason containing `reason`.
async fn assert_caught(app: &TestApp, chain: &str, seq: i64, reason: &str) {
    let v = verify(app).await;
    assert_eq!(v["ok"], false, "tampering went unnoticed: {v:#}");
    let failure = &v["firstFailure"];
    assert_eq!(failure["chainKey"], chain, "{v:#}");
    assert_eq!(failure["seq"], seq, "{v:#}");
    assert!(failure["reason"].as_str().unwrap().contains(reason), "reason should mention {reason:?}: {v:#}");
}

const AUDIT_TABLES: [&str; 3] = ["audit_event", "audit_checkpoint", "audit_checkpoint_head"];

/// Switches the immutability triggers off, as an attacker with database access would.
async fn disable_triggers(app: &TestApp) -> Vec<String> {
    match app.backend {
        Backend::Postgres => {
            for table in AUDIT_TABLES {
                app.sql(&format!("ALTER TABLE {table} DISABLE TRIGGER USER")).await;
            }
            Vec::new()
        }
        Backend::Sqlite => {
            let rows = app
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'",
                ))
                .await
                .unwrap();
            let mut saved = Vec::new();
            for row in rows {
                let name: String = row.try_get_by_index(0).unwrap();
                saved.push(row.try_get_by_index::<String>(1).unwrap());
                app.sql(&format!("DROP TRIGGER {name}")).await;
            }
            saved
        }
    }
}

async fn enable_triggers(app: &TestApp, saved: Vec<String>) {
    match app.backend {
        Backend::Postgres => {
            for table in AUDIT_TABLES {
                app.sql(&format!("ALTER TABLE {table} ENABLE TRIGGER USER")).await;
            }
        }
        Backend::Sqlite => {
            for sql in saved {
                app.sql(&sql).await;
            }
        }
    }
}

async fn event_at(app: &TestApp, chain: &str, seq: i64) -> audit_event::Model {
    audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq(chain))
        .filter(audit_event::Column::Seq.eq(seq))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no event {chain} #{seq}"))
}

async fn events_of(app: &TestApp, chain: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq(chain))
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap()
}

async fn event_count(app: &TestApp) -> u64 {
    audit_event::Entity::find().count(&app.db).await.unwrap()
}

fn mutation(name: &str, args: &str, params: &str) -> String {
    format!("mutation({params}) {{ {name}({args}) {{ id version status }} }}")
}

/// Calls a complaint mutation with `id` and `expectedVersion`; returns the complaint.
async fn step(app: &TestApp, token: &str, name: &str, c: &Value, params: &str, args: &str, vars: Value) -> Value {
    let mut variables = json!({ "id": c["id"], "v": c["version"] });
    for (k, v) in vars.as_object().unwrap() {
        variables[k] = v.clone();
    }
    let query = mutation(name, &format!("id: $id, expectedVersion: $v{args}"), &format!("$id: ID!, $v: Int!{params}"));
    app.ok(token, &query, variables).await[name].clone()
}

/// A complaint with four events (created, acknowledged, finding, proposal)
/// and a checkpoint over it; returns its chain key.
async fn complaint_with_trail(app: &TestApp) -> String {
    let agent = app.login_as("agent@example.com").await;
    let c = ComplaintBuilder::new().create(app, &agent).await;
    let c = step(app, &agent, "acknowledgeComplaint", &c, "", "", json!({})).await;
    let c = step(
        app,
        &agent,
        "recordFinding",
        &c,
        ", $f: FindingInput!",
        ", input: $f",
        json!({ "f": { "rootCause": "EXTERNAL", "summary": "Mis-sorted at the hub." } }),
    )
    .await;
    let c = step(
        app,
        &agent,
        "proposeResolution",
        &c,
        ", $r: ResolutionInput!",
        ", input: $r",
        json!({ "r": { "summary": "Refund shipping", "compensationAmount": "20.00" } }),
    )
    .await;
    assert_eq!(c["version"], 4);
    checkpoint_now(app).await;
    format!("complaint:{}", uuid_of(&c["id"]))
}

/// Recomputes the canonical bytes and hashes of `event` after an edit, as a
/// careful attacker would.
fn rehash(event: &mut audit_event::Model) {
    event.canonical = to_canonical_json(&hashed_object(event)).unwrap();
    event.entry_hash = entry_hash(&event.prev_hash, &event.canonical);
}

async fn store(app: &TestApp, event: audit_event::Model) {
    let mut active = event.into_active_model();
    for column in [
        audit_event::Column::ActorRole,
        audit_event::Column::Canonical,
        audit_event::Column::EntryHash,
        audit_event::Column::PrevHash,
        audit_event::Column::Changes,
        audit_event::Column::OccurredAt,
        audit_event::Column::Seq,
    ] {
        sea_orm::ActiveModelTrait::reset(&mut active, column);
    }
    active.update(&app.db).await.unwrap();
}

// ---------------------------------------------------------------- the tamper corpus

async fn a_clean_trail_verifies(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
    assert!(v["firstFailure"].is_null());
    assert!(v["checkedEvents"].as_u64().unwrap() >= 4);
    assert_eq!(v["checkpointsChecked"], 1);

    // One complaint only.
    let legal = app.login_as("legal@example.com").await;
    let id = casework::ids::encode(casework::ids::Kind::Complaint, chain["complaint:".len()..].parse().unwrap());
    let one = app
        .ok(&legal, "query($id: ID!) { verifyAuditTrail(complaintId: $id) { ok checkedEvents } }", json!({ "id": id.0 }))
        .await;
    assert_eq!(one["verifyAuditTrail"], json!({ "ok": true, "checkedEvents": 4 }));

    // Agents and supervisors may not verify.
    let agent = app.login_as("agent@example.com").await;
    assert_eq!(app.error_code(Some(&agent), "{ verifyAuditTrail { ok } }", json!({})).await, "FORBIDDEN");
}

async fn a_bit_flipped_in_changes_is_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let mut event = event_at(app, &chain, 2).await;
    // 'D' (0x44) -> 'E' (0x45): one bit.
    assert!(event.changes.contains("ACKNOWLEDGED"));
    event.changes = event.changes.replace("ACKNOWLEDGED", "ACKNOWLEDGEE");
    let saved = disable_triggers(app).await;
    store(app, event).await;
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 2, "column was edited").await;
}

async fn an_edited_actor_or_timestamp_is_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let saved = disable_triggers(app).await;
    let mut event = event_at(app, &chain, 3).await;
    event.occurred_at -= chrono::Duration::hours(1);
    store(app, event).await;
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 3, "column was edited").await;

    // Put the time back, then change the actor's role of another event.
    let saved = disable_triggers(app).await;
    let mut event = event_at(app, &chain, 3).await;
    event.occurred_at += chrono::Duration::hours(1);
    store(app, event).await;
    let mut event = event_at(app, &chain, 2).await;
    event.actor_role = Some("SUPERVISOR".into());
    store(app, event).await;
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 2, "column was edited").await;
}

async fn a_deleted_middle_event_is_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let saved = disable_triggers(app).await;
    audit_event::Entity::delete_by_id(event_at(app, &chain, 2).await.id).exec(&app.db).await.unwrap();
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 2, "event missing").await;
}

async fn a_truncated_tail_with_adjusted_version_is_caught_by_the_checkpoint(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let id: Uuid = chain["complaint:".len()..].parse().unwrap();
    let head = event_at(app, &chain, 2).await;
    let saved = disable_triggers(app).await;
    for seq in [4, 3] {
        audit_event::Entity::delete_by_id(event_at(app, &chain, seq).await.id).exec(&app.db).await.unwrap();
    }
    // Cover the tracks: the complaint's version and the chain head agree again.
    complaint::Entity::update_many()
        .col_expr(complaint::Column::Version, Expr::value(2))
        .filter(complaint::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    audit_chain::Entity::update_many()
        .col_expr(audit_chain::Column::HeadSeq, Expr::value(2i64))
        .col_expr(audit_chain::Column::HeadHash, Expr::value(head.entry_hash))
        .filter(audit_chain::Column::ChainKey.eq(chain.as_str()))
        .exec(&app.db)
        .await
        .unwrap();
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 3, "truncated").await;
}

async fn swapped_seqs_are_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let (two, three) = (event_at(app, &chain, 2).await.id, event_at(app, &chain, 3).await.id);
    let saved = disable_triggers(app).await;
    for (id, seq) in [(two, -2i64), (three, 2), (two, 3)] {
        audit_event::Entity::update_many()
            .col_expr(audit_event::Column::Seq, Expr::value(seq))
            .filter(audit_event::Column::Id.eq(id))
            .exec(&app.db)
            .await
            .unwrap();
    }
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 2, "reordered").await;
}

async fn a_forged_event_is_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    // A well-formed event appended to the chain: links and hashes correctly.
    let last = event_at(app, &chain, 4).await;
    let mut forged = audit_event::Model {
        id: Uuid::now_v7(),
        seq: 5,
        action: "complaint.closed".into(),
        changes: r#"{"status":["RESOLUTION_PROPOSED","CLOSED"]}"#.into(),
        prev_hash: last.entry_hash.clone(),
        ..last
    };
    rehash(&mut forged);
    audit_event::Entity::insert(forged.into_active_model()).exec_without_returning(&app.db).await.unwrap();
    // Inserts need no bypass; the complaint row was not touched.
    assert_caught(app, &chain, 5, "version is 4 but its chain head is seq 5").await;
}

async fn a_chain_rehashed_from_event_k_is_caught_by_the_checkpoint(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let mut events = events_of(app, &chain).await;
    // Rewrite who proposed the resolution (k = 2) and re-hash everything after.
    events[1].actor_role = Some("SUPERVISOR".into());
    for i in 1..events.len() {
        let prev = events[i - 1].entry_hash.clone();
        events[i].prev_hash = prev;
        rehash(&mut events[i]);
    }
    let saved = disable_triggers(app).await;
    for event in events.iter().skip(1).cloned() {
        store(app, event).await;
    }
    audit_chain::Entity::update_many()
        .col_expr(audit_chain::Column::HeadHash, Expr::value(events[3].entry_hash.clone()))
        .filter(audit_chain::Column::ChainKey.eq(chain.as_str()))
        .exec(&app.db)
        .await
        .unwrap();
    enable_triggers(app, saved).await;
    assert_caught(app, &chain, 4, "signed in checkpoint 1").await;
}

async fn a_checkpoint_signed_with_the_wrong_key_is_named(app: &TestApp) {
    complaint_with_trail(app).await;
    let forger = CheckpointWriter { seed: SigningSeed::random(), anchor_dir: None };
    let forged = checkpoint::create(&app.db, &forger, true).await.unwrap().unwrap();
    assert_eq!(forged.seq, 2);
    assert_caught(app, "checkpoint", 2, "pinned public key").await;
}

async fn a_rolled_back_checkpoint_table_is_caught_by_the_anchor_file(app: &TestApp) {
    complaint_with_trail(app).await;
    let agent = app.login_as("agent@example.com").await;
    ComplaintBuilder::new().create(app, &agent).await;
    assert_eq!(checkpoint_now(app).await.seq, 2);
    assert_eq!(checkpoint::read_anchor(std::path::Path::new(&app.anchor.path())).unwrap().len(), 2);
    let saved = disable_triggers(app).await;
    app.sql("DELETE FROM audit_checkpoint_head WHERE checkpoint_seq = 2").await;
    app.sql("DELETE FROM audit_checkpoint WHERE seq = 2").await;
    enable_triggers(app, saved).await;
    assert_caught(app, "checkpoint", 2, "rolled back").await;
}

// ---------------------------------------------------------------- every mutation

/// How to call one mutation, and what it must record.
struct Call {
    token: String,
    actor: &'static str,
    query: String,
    variables: Value,
    action: &'static str,
    /// The chain, when known before the call.
    chain: Option<String>,
    /// Otherwise: "<prefix>:<uuid of the ID at this JSON pointer of the response>".
    chain_from_result: Option<(&'static str, &'static str)>,
    /// Sent as a GraphQL multipart upload of this complaint's evidence (a PNG).
    upload_to: Option<String>,
}

async fn fresh_complaint(app: &TestApp, token: &str) -> Value {
    let c = ComplaintBuilder::new().create(app, token).await;
    json!({ "id": c["id"], "version": c["version"] })
}

fn complaint_chain(c: &Value) -> Option<String> {
    Some(format!("complaint:{}", uuid_of(&c["id"])))
}

/// Brings a fresh complaint to the state a mutation needs (unmeasured).
async fn walk(app: &TestApp, token: &str, c: Value, steps: &[&str]) -> Value {
    let mut c = c;
    for s in steps {
        c = match *s {
            "ack" => step(app, token, "acknowledgeComplaint", &c, "", "", json!({})).await,
            "find" => {
                step(app, token, "recordFinding", &c, ", $f: FindingInput!", ", input: $f", json!({ "f": { "rootCause": "EXTERNAL", "summary": "x" } }))
                    .await
            }
            "propose" => {
                step(app, token, "proposeResolution", &c, ", $r: ResolutionInput!", ", input: $r", json!({ "r": { "summary": "Refund", "compensationAmount": "10.00" } }))
                    .await
            }
            "accept" => step(app, token, "recordCustomerDecision", &c, ", $a: Boolean!", ", accepted: $a", json!({ "a": true })).await,
            "resolve" => step(app, token, "resolveComplaint", &c, ", $s: String!", ", summary: $s", json!({ "s": "Done" })).await,
            "close" => step(app, token, "closeComplaint", &c, ", $r: String!", ", reason: $r", json!({ "r": "Withdrawn" })).await,
            other => panic!("unknown step {other}"),
        };
    }
    c
}

fn complaint_call(token: &str, actor: &'static str, name: &str, c: &Value, params: &str, args: &str, vars: Value, action: &'static str) -> Call {
    let mut variables = json!({ "id": c["id"], "v": c["version"] });
    for (k, v) in vars.as_object().unwrap() {
        variables[k] = v.clone();
    }
    Call {
        token: token.to_owned(),
        actor,
        query: mutation(name, &format!("id: $id, expectedVersion: $v{args}"), &format!("$id: ID!, $v: Int!{params}")),
        variables,
        action,
        chain: complaint_chain(c),
        chain_from_result: None,
        upload_to: None,
    }
}

/// The table: how to invoke each mutation of the schema. A mutation missing
/// here fails the test, so a new mutation cannot ship without its audit check.
async fn prepare(app: &TestApp, name: &str) -> Call {
    const AGENT: &str = "agent@example.com";
    const SUPERVISOR: &str = "supervisor@example.com";
    const ADMIN: &str = "admin@example.com";
    let agent = app.login_as(AGENT).await;
    let admin = app.login_as(ADMIN).await;
    let supervisor = app.login_as(SUPERVISOR).await;
    let c = fresh_complaint(app, &agent).await;
    let with = |token: &str, actor, query: &str, variables: Value, action, chain, from_result| Call {
        token: token.to_owned(),
        actor,
        query: query.to_owned(),
        variables,
        action,
        chain,
        chain_from_result: from_result,
        upload_to: None,
    };
    match name {
        "createComplaint" => with(
            &agent,
            AGENT,
            "mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id } }",
            json!({ "i": ComplaintBuilder::new().input() }),
            "complaint.created",
            None,
            Some(("complaint", "/createComplaint/id")),
        ),
        "updateComplaint" => complaint_call(&agent, AGENT, name, &c, ", $i: UpdateComplaintInput!", ", input: $i", json!({ "i": { "title": "Parcel lost" } }), "complaint.updated"),
        "assignComplaint" => {
            let team = crate::fixtures::team_id(app, &supervisor, "Frontline B").await;
            complaint_call(&supervisor, SUPERVISOR, name, &c, ", $t: ID", ", teamId: $t", json!({ "t": team }), "complaint.assigned")
        }
        "acknowledgeComplaint" => complaint_call(&agent, AGENT, name, &c, "", "", json!({}), "complaint.acknowledged"),
        "recordFinding" => {
            let c = walk(app, &agent, c, &["ack"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $f: FindingInput!", ", input: $f", json!({ "f": { "rootCause": "UNKNOWN", "summary": "x" } }), "complaint.finding_recorded")
        }
        "proposeResolution" => {
            let c = walk(app, &agent, c, &["ack", "find"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $r: ResolutionInput!", ", input: $r", json!({ "r": { "summary": "Apology" } }), "complaint.resolution_proposed")
        }
        "recordCustomerDecision" => {
            let c = walk(app, &agent, c, &["ack", "find", "propose"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $a: Boolean!", ", accepted: $a", json!({ "a": true }), "complaint.customer_decided")
        }
        "resolveComplaint" => {
            let c = walk(app, &agent, c, &["ack", "find", "propose", "accept"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $s: String!", ", summary: $s", json!({ "s": "Refunded" }), "complaint.resolved")
        }
        "recordCallback" => {
            let c = walk(app, &agent, c, &["ack", "find", "propose", "accept", "resolve"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $c: CallbackInput!", ", input: $c", json!({ "c": { "reached": true, "satisfied": true, "score": 5 } }), "complaint.callback_recorded")
        }
        "closeComplaint" => complaint_call(&agent, AGENT, name, &c, ", $r: String!", ", reason: $r", json!({ "r": "Withdrawn" }), "complaint.closed"),
        "reopenComplaint" => {
            let c = walk(app, &agent, c, &["close"]).await;
            complaint_call(&agent, AGENT, name, &c, ", $r: String!", ", reason: $r", json!({ "r": "Came back" }), "complaint.reopened")
        }
        "postProgressUpdate" => complaint_call(
            &agent,
            AGENT,
            name,
            &c,
            "",
            ", input: { message: \"The carrier is late\", delayReason: AWAITING_THIRD_PARTY }",
            json!({}),
            "complaint.progress_updated",
        ),
        "recordContact" => with(
            &agent,
            AGENT,
            "mutation($id: ID!) { recordContact(complaintId: $id, input: { channel: PHONE, direction: INBOUND, kind: OTHER }) { kind } }",
            json!({ "id": c["id"] }),
            "contact.recorded",
            complaint_chain(&c),
            None,
        ),
        "resolveAtFirstContact" => complaint_call(
            &agent,
            AGENT,
            name,
            &c,
            "",
            ", summary: \"Explained\", satisfied: true",
            json!({}),
            "complaint.resolved_at_first_contact",
        ),
        "setFlags" => complaint_call(&agent, AGENT, name, &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "vulnerableCustomer": true } }), "complaint.flags_changed"),
        "addNote" => with(
            &agent,
            AGENT,
            "mutation($id: ID!) { addNote(complaintId: $id, body: \"Called the hub\", visibility: INTERNAL) { id } }",
            json!({ "id": c["id"] }),
            "note.added",
            complaint_chain(&c),
            None,
        ),
        "linkComplaints" => {
            let other = fresh_complaint(app, &agent).await;
            with(
                &agent,
                AGENT,
                "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id } }",
                json!({ "ids": [c["id"], other["id"]] }),
                "complaint.linked",
                complaint_chain(&c),
                None,
            )
        }
        "login" => with(
            "",
            AGENT,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            json!({ "e": AGENT, "p": crate::helpers::DEMO_PASSWORD }),
            "session.started",
            Some(format!("user:{}", user_id(app, AGENT).await)),
            None,
        ),
        "refreshSession" | "logout" => {
            let session = app.login(AGENT, crate::helpers::DEMO_PASSWORD).await;
            let refresh = session["data"]["login"]["refreshToken"].clone();
            let (query, action) = if name == "logout" {
                ("mutation($r: String!) { logout(refreshToken: $r) }", "session.ended")
            } else {
                ("mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }", "session.refreshed")
            };
            with("", AGENT, query, json!({ "r": refresh }), action, Some(format!("user:{}", user_id(app, AGENT).await)), None)
        }
        "createUser" => with(
            &admin,
            ADMIN,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({ "i": { "email": format!("new-{}@example.com", Uuid::new_v4().simple()), "displayName": "New", "role": "AGENT", "password": "a-long-enough-password" } }),
            "user.created",
            None,
            Some(("user", "/createUser/id")),
        ),
        "updateUser" | "deactivateUser" => {
            let user = crate::fixtures::create_user(app, &format!("u-{}@example.com", Uuid::new_v4().simple()), "AGENT", None).await;
            let chain = Some(format!("user:{}", uuid_of(&user["id"])));
            if name == "updateUser" {
                with(
                    &admin,
                    ADMIN,
                    "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { displayName: \"Renamed\" }) { id } }",
                    json!({ "id": user["id"], "v": user["version"] }),
                    "user.updated",
                    chain,
                    None,
                )
            } else {
                with(&admin, ADMIN, "mutation($id: ID!) { deactivateUser(id: $id) { id } }", json!({ "id": user["id"] }), "user.deactivated", chain, None)
            }
        }
        "createTeam" => with(
            &admin,
            ADMIN,
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { id } }",
            json!({ "i": { "name": format!("Team {}", Uuid::new_v4().simple()), "tier": "TIER2" } }),
            "team.created",
            None,
            Some(("team", "/createTeam/id")),
        ),
        "requestEscalation" => with(
            &agent,
            AGENT,
            "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: CUSTOMER_REQUEST, reason: \"wants a manager\") { id } }",
            json!({ "id": c["id"] }),
            "escalation.requested",
            complaint_chain(&c),
            None,
        ),
        "referToLegal" => with(
            &supervisor,
            SUPERVISOR,
            "mutation($id: ID!) { referToLegal(id: $id, reason: \"regulator inquiry\") { id } }",
            json!({ "id": c["id"] }),
            "complaint.referred_to_legal",
            complaint_chain(&c),
            None,
        ),
        "approveEscalation" | "rejectEscalation" => {
            let request = app
                .ok(
                    &agent,
                    "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: TECHNICAL, reason: \"firmware\") { id } }",
                    json!({ "id": c["id"] }),
                )
                .await["requestEscalation"]["id"]
                .clone();
            let (query, action) = if name == "approveEscalation" {
                ("mutation($id: ID!) { approveEscalation(id: $id, note: \"ok\") { id } }", "escalation.approved")
            } else {
                ("mutation($id: ID!) { rejectEscalation(id: $id, reason: \"not needed\") { id } }", "escalation.rejected")
            };
            with(&supervisor, SUPERVISOR, query, json!({ "id": request }), action, complaint_chain(&c), None)
        }
        "upsertSlaPolicy" => with(
            &admin,
            ADMIN,
            "mutation { upsertSlaPolicy(input: { severity: LOW, firstResponseMinutes: 60, resolutionMinutes: 600 }) { severity } }",
            json!({}),
            "sla_policy.created",
            Some("system".to_owned()),
            None,
        ),
        "uploadEvidence" => Call {
            upload_to: Some(c["id"].as_str().unwrap().to_owned()),
            ..with(&agent, AGENT, "", json!({}), "evidence.uploaded", complaint_chain(&c), None)
        },
        "deleteEvidence" => {
            let evidence = crate::evidence::upload_ok(app, &agent, c["id"].as_str().unwrap(), crate::evidence::png(2048)).await;
            with(
                &supervisor,
                SUPERVISOR,
                "mutation($id: ID!) { deleteEvidence(id: $id, reason: \"uploaded to the wrong case\") { id } }",
                json!({ "id": evidence["id"] }),
                "evidence.deleted",
                complaint_chain(&c),
                None,
            )
        }
        other => panic!("the mutation `{other}` has no entry in the audit table of tests/api/audit.rs: add one"),
    }
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    entity::app_user::Entity::find()
        .filter(entity::app_user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

/// The Mutation fields of the schema, from the SDL.
fn schema_mutations() -> Vec<String> {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };
    let document = parse_schema(casework::graphql::sdl()).expect("the SDL parses");
    document
        .definitions
        .into_iter()
        .find_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) if ty.node.name.node == "Mutation" => match ty.node.kind {
                TypeKind::Object(object) => Some(object.fields.iter().map(|f| f.node.name.node.to_string()).collect()),
                _ => None,
            },
            _ => None,
        })
        .expect("a Mutation type")
}

async fn every_mutation_writes_exactly_one_event(app: &TestApp) {
    let mutations = schema_mutations();
    assert!(mutations.len() >= 20, "{mutations:?}");
    for name in &mutations {
        let call = prepare(app, name).await;
        let before = event_count(app).await;
        let watermark = Uuid::now_v7();
        let token = (!call.token.is_empty()).then_some(call.token.as_str());
        let response = match &call.upload_to {
            Some(complaint) => {
                let form = crate::evidence::upload_form(
                    complaint,
                    "SCREENSHOT",
                    "screen.png",
                    "image/png",
                    reqwest::multipart::Part::bytes(crate::evidence::png(2048)),
                );
                crate::evidence::send_upload(app, token, form).await.json().await.unwrap()
            }
            None => app.gql(token, &call.query, call.variables.clone()).await,
        };
        assert!(response.get("errors").is_none(), "{name}: {response:#}");
        let after = event_count(app).await;
        assert_eq!(after - before, 1, "{name} must write exactly one audit event");
        let event = audit_event::Entity::find()
            .filter(audit_event::Column::Id.gt(watermark))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: the new event"));
        let chain = match (&call.chain, call.chain_from_result) {
            (Some(chain), _) => chain.clone(),
            (None, Some((prefix, pointer))) => format!("{prefix}:{}", uuid_of(response["data"].pointer(pointer).unwrap())),
            (None, None) => unreachable!(),
        };
        assert_eq!(event.action, call.action, "{name}: action");
        assert_eq!(event.chain_key, chain, "{name}: chain");
        assert_eq!(event.actor_id, Some(user_id(app, call.actor).await), "{name}: actor");
        let role = entity::app_user::Entity::find_by_id(event.actor_id.unwrap()).one(&app.db).await.unwrap().unwrap().role;
        assert_eq!(event.actor_role.as_deref(), Some(role.as_str()), "{name}: role");
        let head: i64 = events_of(app, &chain).await.last().unwrap().seq;
        assert_eq!(event.seq, head, "{name}: appended at the head of its chain");
    }
    assert_eq!(verify(app).await["ok"], true);
}

// ---------------------------------------------------------------- concurrency, immutability, failure

async fn of_fifty_concurrent_updates_one_wins_and_writes_one_event(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    let chain = complaint_chain(&c).unwrap();
    let query = mutation("updateComplaint", "id: $id, expectedVersion: 1, input: { title: $t }", "$id: ID!, $t: String!");
    let calls = (0..50).map(|i| {
        let (query, agent, id) = (query.clone(), agent.clone(), c["id"].clone());
        async move { app.gql(Some(&agent), &query, json!({ "id": id, "t": format!("Title {i}") })).await }
    });
    let responses = futures_util::future::join_all(calls).await;
    let wins = responses.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = responses.iter().filter(|r| r.get("errors").is_some() && first_error_code(r) == "CONFLICT").count();
    assert_eq!((wins, conflicts), (1, 49), "{responses:#?}");
    let events = events_of(app, &chain).await;
    assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["complaint.created", "complaint.updated"]);
    assert_eq!(verify(app).await["ok"], true);
}

async fn the_database_refuses_to_change_audit_rows(app: &TestApp) {
    complaint_with_trail(app).await;
    let mut statements = vec![
        "UPDATE audit_event SET action = 'forged'",
        "DELETE FROM audit_event",
        "UPDATE audit_checkpoint SET merkle_root = 'x'",
        "DELETE FROM audit_checkpoint",
        "DELETE FROM audit_checkpoint_head",
    ];
    if app.backend == Backend::Postgres {
        statements.extend(["TRUNCATE audit_event", "TRUNCATE audit_checkpoint", "TRUNCATE audit_checkpoint_head"]);
    }
    for statement in statements {
        assert!(app.db.execute_unprepared(statement).await.is_err(), "{statement} was allowed");
    }
    assert_eq!(verify(app).await["ok"], true);
}

async fn a_failed_audit_append_aborts_the_mutation(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    // Make the database refuse one kind of audit event.
    match app.backend {
        Backend::Sqlite => {
            app.sql(
                "CREATE TRIGGER test_refuse_ack BEFORE INSERT ON audit_event WHEN NEW.action = 'complaint.acknowledged' \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .await
        }
        Backend::Postgres => {
            app.sql(
                "CREATE FUNCTION test_refuse_ack() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.action = 'complaint.acknowledged' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$",
            )
            .await;
            app.sql("CREATE TRIGGER test_refuse_ack BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION test_refuse_ack()").await;
        }
    }
    let response = app
        .gql(Some(&agent), &mutation("acknowledgeComplaint", "id: $id, expectedVersion: 1", "$id: ID!"), json!({ "id": c["id"] }))
        .await;
    assert_eq!(first_error_code(&response), "INTERNAL");
    assert!(!response.to_string().contains("injected"), "internals leaked: {response}");
    let stored = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.version), ("NEW", 1), "the change must be rolled back");
    assert_eq!(events_of(app, &complaint_chain(&c).unwrap()).await.len(), 1);
    // Without the fault the same call succeeds.
    app.sql(if app.backend == Backend::Sqlite { "DROP TRIGGER test_refuse_ack" } else { "DROP TRIGGER test_refuse_ack ON audit_event" }).await;
    app.ok(&agent, &mutation("acknowledgeComplaint", "id: $id, expectedVersion: 1", "$id: ID!"), json!({ "id": c["id"] })).await;
    assert_eq!(verify(app).await["ok"], true);
}

// ---------------------------------------------------------------- reads and listing

async fn sensitive_reads_are_audited_once_per_request(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    let c = step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    let access = format!("complaint-access:{}", uuid_of(&c["id"]));
    let reference = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap().reference;

    // One request touching the complaint four ways: one event.
    let query = "query($id: ID!, $r: String!) { a: complaint(id: $id) { title customer { name } } b: complaint(id: $id) { status } \
                 c: complaintByReference(reference: $r) { id } d: node(id: $id) { id } complaints(first: 50) { edges { node { id title } } } }";
    app.ok(&supervisor, query, json!({ "id": c["id"], "r": reference })).await;
    let events = events_of(app, &access).await;
    assert_eq!(events.len(), 1, "one read event per complaint per request");
    assert_eq!(events[0].action, "complaint.viewed");
    assert_eq!(events[0].actor_id, Some(user_id(app, "supervisor@example.com").await));
    assert_eq!(events[0].sensitivity, "SENSITIVE");

    // The next request is audited again; reads never move the complaint's version.
    app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": c["id"] })).await;
    assert_eq!(events_of(app, &access).await.len(), 2);
    let stored = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap();
    assert_eq!(i64::from(stored.version), c["version"].as_i64().unwrap());

    // Ordinary complaints are not.
    let plain = fresh_complaint(app, &agent).await;
    app.ok(&agent, "query($id: ID!) { complaint(id: $id) { id } }", json!({ "id": plain["id"] })).await;
    assert!(events_of(app, &format!("complaint-access:{}", uuid_of(&plain["id"]))).await.is_empty());

    // Reached through a link, the sensitive complaint is read too.
    app.ok(&supervisor, "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id } }", json!({ "ids": [plain["id"], c["id"]] }))
        .await;
    app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { links { complaint { title } } } }", json!({ "id": plain["id"] })).await;
    assert_eq!(events_of(app, &access).await.len(), 3);
    assert_eq!(verify(app).await["ok"], true);
}

async fn audit_events_are_scoped_paged_and_masked(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    let c = step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    step(app, &supervisor, "updateComplaint", &c, ", $i: UpdateComplaintInput!", ", input: $i", json!({ "i": { "customer": { "name": "Li Lei", "phone": "+86 139 1111 2222" } } })).await;

    let page = "query($f: AuditFilter, $after: String) { auditEvents(filter: $f, first: 2, after: $after) { \
                pageInfo { hasNextPage endCursor } edges { node { action seq chainKey actorRole sensitivity masked changes } } } }";
    let filter = json!({ "complaintId": c["id"] });
    // Legal sees everything, paged by keyset.
    let legal = app.login_as("legal@example.com").await;
    let first = app.ok(&legal, page, json!({ "f": filter })).await["auditEvents"].clone();
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = app.ok(&legal, page, json!({ "f": filter, "after": first["pageInfo"]["endCursor"] })).await["auditEvents"].clone();
    let actions: Vec<&str> = first["edges"].as_array().unwrap().iter().chain(second["edges"].as_array().unwrap())
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["complaint.created", "complaint.flags_changed", "complaint.updated"]);
    let update = &second["edges"][0]["node"];
    assert_eq!(update["changes"]["customer.phone"][1], "+86 139 1111 2222");
    assert_eq!(update["masked"], false);

    // The auditor sees the phone masked on a sensitive complaint.
    let auditor = app.login_as("auditor@example.com").await;
    let filtered = json!({ "complaintId": c["id"], "action": "complaint.updated" });
    let masked = app.ok(&auditor, page, json!({ "f": filtered })).await["auditEvents"]["edges"][0]["node"].clone();
    assert_eq!(masked["masked"], true);
    assert_eq!(masked["changes"]["customer.phone"][1], "•••");
    assert_eq!(masked["sensitivity"], "SENSITIVE");

    // The complaint's own trail.
    let trail = app
        .ok(&legal, "query($id: ID!) { complaint(id: $id) { auditTrail(first: 10) { edges { node { seq action } } } } }", json!({ "id": c["id"] }))
        .await;
    // Reading the sensitive complaint was itself audited, before its trail was listed.
    let trail: Vec<&str> = trail["complaint"]["auditTrail"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(trail, ["complaint.created", "complaint.flags_changed", "complaint.updated", "complaint.viewed"]);

    // A supervisor of another team sees only what they did themselves; agents nothing.
    let mine = app.ok(&supervisor, page, json!({ "f": { "complaintId": c["id"] } })).await;
    let seen: Vec<&str> = mine["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(seen, ["complaint.flags_changed", "complaint.updated"]);
    assert_eq!(app.error_code(Some(&agent), page, json!({})).await, "FORBIDDEN");

    // Checkpoints are listed newest first.
    checkpoint_now(app).await;
    checkpoint_now(app).await;
    let cps = app.ok(&auditor, "{ auditCheckpoints(first: 5) { seq merkleRoot publicKey signature } }", json!({})).await;
    let seqs: Vec<i64> = cps["auditCheckpoints"].as_array().unwrap().iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [2, 1]);
    assert_eq!(cps["auditCheckpoints"][0]["publicKey"], SigningSeed::parse(AUDIT_SEED).unwrap().public_key_hex());
}

// ---------------------------------------------------------------- CLI and job

async fn the_cli_exports_and_verifies_offline_and_names_failures(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let public_key = SigningSeed::parse(AUDIT_SEED).unwrap().public_key_hex();
    let file = format!("{}/export.jsonl", app.anchor.path());
    let cli = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_casework"));
        command.arg("--database-url").arg(&app.database_url).args(args).env_remove("CASEWORK_AUDIT_PUBLIC_KEY").env_remove("CASEWORK_AUDIT_ANCHOR_DIR");
        command
    };
    let run = |mut command: tokio::process::Command| async move {
        let out = command.output().await.expect("running casework");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = run(cli(&["audit", "export", "--out", &file])).await;
    assert!(ok, "{out}");
    let (ok, out) = run(cli(&["audit", "verify", "--file", &file, "--public-key", &public_key])).await;
    assert!(ok, "{out}");
    assert!(out.contains("audit trail OK"), "{out}");
    let (ok, out) = run(cli(&["audit", "verify", "--public-key", &public_key, "--anchor-dir", &app.anchor.path()])).await;
    assert!(ok, "{out}");

    // An edited export fails offline, naming chain and seq.
    let text = std::fs::read_to_string(&file).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["type"] == "event" && v["chain_key"] == chain.as_str() && v["seq"] == 3 {
                v["actor_role"] = json!("LEGAL");
            }
            v.to_string()
        })
        .collect();
    std::fs::write(&file, edited.join("\n")).unwrap();
    let (ok, out) = run(cli(&["audit", "verify", "--file", &file, "--public-key", &public_key])).await;
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("chain {chain} seq 3")), "{out}");

    // So does the database after a deletion.
    let saved = disable_triggers(app).await;
    audit_event::Entity::delete_by_id(event_at(app, &chain, 2).await.id).exec(&app.db).await.unwrap();
    enable_triggers(app, saved).await;
    let (ok, out) = run(cli(&["audit", "verify", "--public-key", &public_key])).await;
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("chain {chain} seq 2")), "{out}");
    // A wrong pinned key is refused too.
    let (ok, _) = run(cli(&["audit", "verify", "--file", &file, "--public-key", &SigningSeed::random().public_key_hex()])).await;
    assert!(!ok);
}

async fn the_checkpoint_job_writes_signed_checkpoints(app: &TestApp) {
    // A second server on the same database with the job running every second.
    let url = app.database_url.clone();
    let anchor = app.anchor.path();
    let mut settings = casework::config::Settings::for_database(&url);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.audit_signing_key = SigningSeed::parse(AUDIT_SEED).unwrap();
    settings.audit_public_key = settings.audit_signing_key.public_key_hex();
    settings.audit_anchor_dir = Some(anchor.clone().into());
    settings.audit_checkpoint_interval = Some(std::time::Duration::from_secs(1));
    settings.audit_checkpoint_poll = std::time::Duration::from_secs(1);
    let server = casework::startup::Application::build(settings).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let mut written = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        written = audit_checkpoint::Entity::find().count(&app.db).await.unwrap();
        if written > 0 {
            break;
        }
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    assert!(written >= 1, "the job wrote no checkpoint");
    assert!(!checkpoint::read_anchor(std::path::Path::new(&anchor)).unwrap().is_empty());
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
    assert!(v["checkpointsChecked"].as_u64().unwrap() >= 1);
}

async fn the_server_refuses_to_start_without_a_checkpoint_trigger(app: &TestApp) {
    match app.backend {
        Backend::Sqlite => app.sql("DROP TRIGGER audit_checkpoint_head_no_delete").await,
        Backend::Postgres => app.sql("ALTER TABLE audit_checkpoint_head DISABLE TRIGGER audit_checkpoint_head_no_delete").await,
    }
    let mut settings = casework::config::Settings::for_database(&app.database_url);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let error = casework::startup::Application::build(settings).await.err().expect("the server must refuse to start");
    assert!(format!("{error:#}").contains("audit_checkpoint_head_no_delete"), "{error:#}");
}
