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
    concurrent_reads_are_each_recorded_before_their_answer,
    a_read_that_cannot_be_recorded_is_refused_alone,
    audit_events_are_scoped_paged_and_masked,
    the_cli_exports_and_verifies_offline_and_names_failures,
    the_checkpoint_job_writes_signed_checkpoints,
    the_server_refuses_to_start_without_a_checkpoint_trigger,
    a_laundered_chain_is_refused_by_the_writer_and_named_by_the_verifier,
    a_bad_signature_under_the_pinned_key_is_named,
    a_broken_checkpoint_link_is_named,
    a_deleted_middle_checkpoint_is_named,
    an_edited_checkpoint_head_is_named,
    an_edited_truncated_or_deleted_anchor_fails,
    forged_appends_on_user_team_system_and_access_chains_are_named,
    direct_updates_of_business_state_are_named,
    verification_fails_closed_without_a_pinned_key,
    trusted_keys_have_validity_periods,
    a_creation_event_is_masked_once_the_complaint_became_sensitive,
    insert_or_replace_cannot_rewrite_an_audit_row,
    a_replaced_trigger_function_is_detected,
    the_server_runs_as_a_restricted_role,
    linking_writes_an_event_on_every_linked_chain,
    every_path_that_hands_out_a_sensitive_complaint_records_the_read,
);

// ---------------------------------------------------------------- helpers

fn uuid_of(id: &Value) -> Uuid {
    casework::ids::parse(id.as_str().expect("an ID")).expect("one of our IDs").1
}

fn writer(app: &TestApp) -> CheckpointWriter {
    CheckpointWriter::new(SigningSeed::parse(AUDIT_SEED).unwrap(), Some(app.anchor.path().into()))
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

/// Makes the database refuse to insert the audit events matching `condition`
/// (SQL over `NEW`), through a trigger named `name`.
async fn refuse_audit_events(app: &TestApp, name: &str, condition: &str) {
    match app.backend {
        Backend::Sqlite => {
            app.sql(&format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON audit_event WHEN {condition} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))
            .await
        }
        Backend::Postgres => {
            app.sql(&format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF {condition} THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$"
            ))
            .await;
            app.sql(&format!("CREATE TRIGGER {name} BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION {name}()")).await;
        }
    }
}

/// Removes what [`refuse_audit_events`] created.
async fn stop_refusing_audit_events(app: &TestApp, name: &str) {
    match app.backend {
        Backend::Sqlite => app.sql(&format!("DROP TRIGGER {name}")).await,
        Backend::Postgres => {
            app.sql(&format!("DROP TRIGGER {name} ON audit_event")).await;
            app.sql(&format!("DROP FUNCTION {name}()")).await;
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

/// Events of change (reads of sensitive complaints, in access chains, aside).
async fn event_count(app: &TestApp) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.not_like("complaint-access:%"))
        .count(&app.db)
        .await
        .unwrap()
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
    // Inserts need no bypass; without the MAC key the forgery has no valid MAC.
    assert_caught(app, &chain, 5, "MAC").await;
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
    // The MACs name the first rewritten event; the checkpoint names the signed head.
    assert_caught(app, &chain, 2, "MAC").await;
    assert_failure(&verify_direct(app, false).await, &chain, 4, "signed in checkpoint 1");
}

async fn a_checkpoint_signed_with_the_wrong_key_is_named(app: &TestApp) {
    complaint_with_trail(app).await;
    let forger = CheckpointWriter { mac_key: SigningSeed::parse(AUDIT_SEED).unwrap().derive_mac_key(), ..CheckpointWriter::new(SigningSeed::random(), None) };
    let forged = checkpoint::create(&app.db, &forger, true).await.unwrap().unwrap();
    assert_eq!(forged.seq, 2);
    assert_caught(app, "checkpoint", 2, "pinned public key").await;
}

async fn a_rolled_back_checkpoint_table_is_caught_by_the_anchor_file(app: &TestApp) {
    complaint_with_trail(app).await;
    let agent = app.login_as("agent@example.com").await;
    ComplaintBuilder::new().create(app, &agent).await;
    assert_eq!(checkpoint_now(app).await.seq, 2);
    assert_eq!(checkpoint::read_anchor(std::path::Path::new(&app.anchor.path())).unwrap().records().len(), 2);
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
        "logoutAll" => {
            // Another agent: ending every session of AGENT would break the calls after this one.
            const AGENT2: &str = "agent2@example.com";
            let token = app.login_as(AGENT2).await;
            let chain = Some(format!("user:{}", user_id(app, AGENT2).await));
            with(&token, AGENT2, "mutation { logoutAll }", json!({}), "session.ended_everywhere", chain, None)
        }
        "createUser" => with(
            &admin,
            ADMIN,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({ "i": { "email": format!("new-{}@example.com", Uuid::new_v4().simple()), "displayName": "New", "role": "AGENT" } }),
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
        "changePassword" | "issuePasswordReset" | "resetPassword" => {
            let email: &'static str = Box::leak(format!("p-{}@example.com", Uuid::new_v4().simple()).into_boxed_str());
            let user = crate::fixtures::create_user(app, email, "AGENT", None).await;
            let chain = Some(format!("user:{}", uuid_of(&user["id"])));
            match name {
                "changePassword" => {
                    let token = app.login(email, &crate::helpers::DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    let query = "mutation($o: String!) { changePassword(oldPassword: $o, newPassword: \"another-long-password\") { accessToken } }";
                    let old = crate::helpers::DEMO_PASSWORD.repeat(2);
                    with(&token, email, query, json!({ "o": old }), "security.password_changed", Some("security".into()), None)
                }
                "issuePasswordReset" => with(
                    &admin,
                    ADMIN,
                    "mutation($id: ID!) { issuePasswordReset(userId: $id) { token } }",
                    json!({ "id": user["id"] }),
                    "user.password_reset_issued",
                    chain,
                    None,
                ),
                _ => {
                    let reset = crate::fixtures::issue_reset(app, &admin, &user["id"]).await;
                    let query = "mutation($t: String!) { resetPassword(token: $t, newPassword: \"another-long-password\") }";
                    with("", email, query, json!({ "t": reset }), "user.password_reset", chain, None)
                }
            }
        }
        "approveRoleGrant" | "rejectRoleGrant" => {
            let user = crate::fixtures::create_user(app, &format!("g-{}@example.com", Uuid::new_v4().simple()), "AGENT", None).await;
            let promote = "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { role: LEGAL }) { id } }";
            app.ok(&admin, promote, json!({ "id": user["id"], "v": user["version"] })).await;
            let grant = crate::fixtures::pending_grant_of(app, &admin, &user["id"]).await;
            let second = app.login_as("admin2@example.com").await;
            let chain = Some(format!("user:{}", uuid_of(&user["id"])));
            if name == "approveRoleGrant" {
                let query = "mutation($id: ID!) { approveRoleGrant(id: $id) { status } }";
                with(&second, "admin2@example.com", query, json!({ "id": grant }), "role_grant.approved", chain, None)
            } else {
                let query = "mutation($id: ID!) { rejectRoleGrant(id: $id, reason: \"not needed\") { status } }";
                with(&second, "admin2@example.com", query, json!({ "id": grant }), "role_grant.rejected", chain, None)
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
        "requestWork" | "completeWork" | "declineWork" => {
            const FINANCE: &str = "finance@example.com";
            let team = crate::fixtures::team_id(app, &agent, "Treasury (Finance)").await;
            let request = "mutation($id: ID!, $i: WorkRequestInput!) { requestWork(complaintId: $id, input: $i) { id } }";
            let input = json!({ "id": c["id"], "i": { "teamId": team, "kind": "REFUND_PAYOUT", "request": "Refund 10.00",
                "dueBy": (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339() } });
            if name == "requestWork" {
                with(&agent, AGENT, request, input, "work.requested", complaint_chain(&c), None)
            } else {
                let item = app.ok(&agent, request, input).await["requestWork"]["id"].clone();
                let finance = app.login_as(FINANCE).await;
                let (query, action) = if name == "completeWork" {
                    ("mutation($id: ID!) { completeWork(id: $id, result: \"paid\") { id } }", "work.completed")
                } else {
                    ("mutation($id: ID!) { declineWork(id: $id, reason: \"not ours\") { id } }", "work.declined")
                };
                with(&finance, FINANCE, query, json!({ "id": item }), action, complaint_chain(&c), None)
            }
        }
        "createComplaintGroup" => with(
            &supervisor,
            SUPERVISOR,
            "mutation($i: ComplaintGroupInput!) { createComplaintGroup(input: $i) { id } }",
            json!({ "i": { "title": "Outage", "cause": "A failed splitter", "leadTeamId": crate::fixtures::team_id(app, &supervisor, "Frontline A").await } }),
            "complaint_group.created",
            None,
            Some(("group", "/createComplaintGroup/id")),
        ),
        // The group's event comes first; each member's own event follows (counted below).
        "addToComplaintGroup" => {
            let group = fresh_group(app, &supervisor, &[]).await;
            with(
                &supervisor,
                SUPERVISOR,
                "mutation($g: ID!, $ids: [ID!]!) { addToComplaintGroup(groupId: $g, complaintIds: $ids) { id } }",
                json!({ "g": group, "ids": [c["id"]] }),
                "complaint_group.members_added",
                Some(format!("group:{}", uuid_of(&group))),
                None,
            )
        }
        "removeFromComplaintGroup" | "postGroupUpdate" | "closeComplaintGroup" => {
            let group = fresh_group(app, &supervisor, &[&c]).await;
            let (query, action) = match name {
                "removeFromComplaintGroup" => (
                    "mutation($g: ID!, $ids: [ID!]!) { removeFromComplaintGroup(groupId: $g, complaintIds: $ids) { id } }",
                    "complaint_group.members_removed",
                ),
                "postGroupUpdate" => (
                    "mutation($g: ID!) { postGroupUpdate(groupId: $g, input: { message: \"Engineers on site\" }) { updatedCount } }",
                    "complaint_group.update_posted",
                ),
                _ => ("mutation($g: ID!) { closeComplaintGroup(groupId: $g, reason: \"Restored\") { id } }", "complaint_group.closed"),
            };
            with(
                &supervisor,
                SUPERVISOR,
                query,
                json!({ "g": group, "ids": [c["id"]] }),
                action,
                Some(format!("group:{}", uuid_of(&group))),
                None,
            )
        }
        other => panic!("the mutation `{other}` has no entry in the audit table of tests/api/audit.rs: add one"),
    }
}

/// A new group led by Frontline A with these members; returns its ID.
async fn fresh_group(app: &TestApp, supervisor: &str, members: &[&Value]) -> Value {
    let lead = crate::fixtures::team_id(app, supervisor, "Frontline A").await;
    let ids: Vec<Value> = members.iter().map(|c| c["id"].clone()).collect();
    let data = app
        .ok(
            supervisor,
            "mutation($i: ComplaintGroupInput!) { createComplaintGroup(input: $i) { id } }",
            json!({ "i": { "title": "Outage", "cause": "A failed splitter", "leadTeamId": lead, "complaintIds": ids } }),
        )
        .await;
    data["createComplaintGroup"]["id"].clone()
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
    casework::graphql::sdl_objects()["Mutation"].iter().map(|f| f.node.name.node.to_string()).collect()
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
        // A link changes every linked complaint: one event on each chain; a
        // group's change of members or its update: one on the group's chain
        // and one on each member's (one member here).
        let expected = match name.as_str() {
            "linkComplaints" | "addToComplaintGroup" | "removeFromComplaintGroup" | "postGroupUpdate" => 2,
            _ => 1,
        };
        assert_eq!(after - before, expected, "{name} must write exactly {expected} audit event(s)");
        let mut new_events = audit_event::Entity::find()
            .filter(audit_event::Column::Id.gt(watermark))
            .filter(audit_event::Column::ChainKey.not_like("complaint-access:%"));
        if let Some(chain) = &call.chain {
            new_events = new_events.filter(audit_event::Column::ChainKey.eq(chain.as_str()));
        }
        let event = new_events
            .order_by_asc(audit_event::Column::Id)
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
    refuse_audit_events(app, "test_refuse_ack", "NEW.action = 'complaint.acknowledged'").await;
    let response = app
        .gql(Some(&agent), &mutation("acknowledgeComplaint", "id: $id, expectedVersion: 1", "$id: ID!"), json!({ "id": c["id"] }))
        .await;
    assert_eq!(first_error_code(&response), "INTERNAL");
    assert!(!response.to_string().contains("injected"), "internals leaked: {response}");
    let stored = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.version), ("NEW", 1), "the change must be rolled back");
    assert_eq!(events_of(app, &complaint_chain(&c).unwrap()).await.len(), 1);
    // Without the fault the same call succeeds.
    stop_refusing_audit_events(app, "test_refuse_ack").await;
    // On SQLite the call runs on a fresh server: connections of the first one
    // that saw the test's own DDL mid-flight were seen to keep answering "no
    // such table" (open in the closing note; migrations run before serving).
    let fresh = match app.backend {
        Backend::Sqlite => Some(crate::helpers::spawn_another(app, |_| {}).await),
        Backend::Postgres => None,
    };
    let server = fresh.as_ref().unwrap_or(app);
    server.ok(&agent, &mutation("acknowledgeComplaint", "id: $id, expectedVersion: 1", "$id: ID!"), json!({ "id": c["id"] })).await;
    assert_eq!(verify(server).await["ok"], true);
    if let Some(fresh) = fresh {
        fresh.finish().await;
    }
}

// ---------------------------------------------------------------- reads and listing

async fn sensitive_reads_are_audited_once_per_request(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    let c = step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    let access = format!("complaint-access:{}", uuid_of(&c["id"]));
    let reference = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap().reference;
    // The setFlags result handed the now-sensitive complaint out: read once.
    assert_eq!(events_of(app, &access).await.len(), 1);

    // One request touching the complaint four ways: one event.
    let query = "query($id: ID!, $r: String!) { a: complaint(id: $id) { title customer { name } } b: complaint(id: $id) { status } \
                 c: complaintByReference(reference: $r) { id } d: node(id: $id) { id } complaints(first: 50) { edges { node { id title } } } }";
    app.ok(&supervisor, query, json!({ "id": c["id"], "r": reference })).await;
    let events: Vec<_> = events_of(app, &access).await.into_iter().skip(1).collect();
    assert_eq!(events.len(), 1, "one read event per complaint per request");
    assert_eq!(events[0].action, "complaint.viewed");
    assert_eq!(events[0].actor_id, Some(user_id(app, "supervisor@example.com").await));
    assert_eq!(events[0].sensitivity, "SENSITIVE");

    // The next request is audited again; reads never move the complaint's version.
    app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": c["id"] })).await;
    assert_eq!(events_of(app, &access).await.len(), 3);
    let stored = complaint::Entity::find_by_id(uuid_of(&c["id"])).one(&app.db).await.unwrap().unwrap();
    assert_eq!(i64::from(stored.version), c["version"].as_i64().unwrap());

    // Ordinary complaints are not.
    let plain = fresh_complaint(app, &agent).await;
    app.ok(&agent, "query($id: ID!) { complaint(id: $id) { id } }", json!({ "id": plain["id"] })).await;
    assert!(events_of(app, &format!("complaint-access:{}", uuid_of(&plain["id"]))).await.is_empty());

    // Reached through a link, the sensitive complaint is read too.
    app.ok(&supervisor, "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id } }", json!({ "ids": [plain["id"], c["id"]] }))
        .await;
    // (the link's result hands it out too: a read of its own operation)
    assert_eq!(events_of(app, &access).await.len(), 4);
    app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { links { complaint { title } } } }", json!({ "id": plain["id"] })).await;
    assert_eq!(events_of(app, &access).await.len(), 5);
    assert_eq!(verify(app).await["ok"], true);
}

/// Reads are committed by one writer per server, many requests to a
/// transaction (issue 14): each request still gets its own event, with its
/// own actor and request id, and the chain stays whole.
async fn concurrent_reads_are_each_recorded_before_their_answer(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let legal = app.login_as("legal@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    let access = format!("complaint-access:{}", uuid_of(&c["id"]));
    let before = events_of(app, &access).await.len();

    let by_id = "query($id: ID!) { complaint(id: $id) { title } }";
    let listed = "{ complaints(first: 50) { edges { node { id title } } } }";
    let (c, access) = (&c, &access);
    let reads = (0..24).map(|i| {
        let (token, query) = match i % 3 {
            0 => (&supervisor, by_id),
            1 => (&legal, by_id),
            _ => (&supervisor, listed),
        };
        async move {
            let data = app.ok(token, query, json!({ "id": c["id"] })).await;
            // Answered only once the read is stored.
            let stored = events_of(app, access).await.len();
            (data, stored)
        }
    });
    let answers = futures_util::future::join_all(reads).await;
    for (i, (data, stored)) in answers.iter().enumerate() {
        if i % 3 == 2 {
            let ids: Vec<&Value> = data["complaints"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
            assert!(ids.contains(&&c["id"]), "the list shows the complaint");
        } else {
            assert!(data["complaint"]["title"].is_string(), "{data}");
        }
        assert!(*stored > before, "answered before its read was stored");
    }

    let events: Vec<audit_event::Model> = events_of(app, access).await.into_iter().skip(before).collect();
    assert_eq!(events.len(), 24, "one event per request");
    let requests: std::collections::HashSet<_> = events.iter().map(|e| e.request_id.clone().expect("a request id")).collect();
    assert_eq!(requests.len(), 24, "each event names its own request");
    let (supervisor_id, legal_id) = (user_id(app, "supervisor@example.com").await, user_id(app, "legal@example.com").await);
    let by = |who: Uuid| events.iter().filter(|e| e.actor_id == Some(who)).count();
    assert_eq!((by(supervisor_id), by(legal_id)), (16, 8), "each event names its reader");
    assert!(events.iter().all(|e| e.action == "complaint.viewed" && e.actor_role.is_some()));
    assert_eq!(verify(app).await["ok"], true);
}

/// A read the database refuses to record is refused (fail closed), and only
/// that one: a request batched with it is written again alone and answered.
async fn a_read_that_cannot_be_recorded_is_refused_alone(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let mut complaints = Vec::new();
    for _ in 0..2 {
        let c = fresh_complaint(app, &agent).await;
        step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
        complaints.push(c);
    }
    let (refused, fine) = (&complaints[0], &complaints[1]);
    let refused_chain = format!("complaint-access:{}", uuid_of(&refused["id"]));
    let fine_chain = format!("complaint-access:{}", uuid_of(&fine["id"]));
    let (refused_before, fine_before) = (events_of(app, &refused_chain).await.len(), events_of(app, &fine_chain).await.len());
    refuse_audit_events(app, "test_refuse_read", &format!("NEW.chain_key = '{refused_chain}'")).await;
    let query = "query($id: ID!) { complaint(id: $id) { title } }";
    let reads = (0..16).map(|i| {
        let c = if i % 2 == 0 { refused } else { fine };
        let supervisor = &supervisor;
        async move { (i % 2 == 0, app.gql(Some(supervisor), query, json!({ "id": c["id"] })).await) }
    });
    let answers = futures_util::future::join_all(reads).await;
    stop_refusing_audit_events(app, "test_refuse_read").await;
    for (refused, response) in &answers {
        if *refused {
            assert_eq!(first_error_code(response), "INTERNAL", "{response:#}");
            assert!(response["data"]["complaint"].is_null(), "a read that was not recorded handed the complaint out: {response:#}");
            assert!(!response.to_string().contains("injected"), "internals leaked: {response}");
        } else {
            assert!(response.get("errors").is_none(), "a read batched with a refused one failed: {response:#}");
            assert!(response["data"]["complaint"]["title"].is_string());
        }
    }
    assert_eq!(events_of(app, &refused_chain).await.len(), refused_before);
    assert_eq!(events_of(app, &fine_chain).await.len(), fine_before + 8);
    // The refused reads left the chain whole: the next one is recorded.
    app.ok(&supervisor, query, json!({ "id": refused["id"] })).await;
    assert_eq!(events_of(app, &refused_chain).await.len(), refused_before + 1);
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
    // (the setFlags result handed the now-sensitive complaint out: a read)
    assert_eq!(actions, ["complaint.created", "complaint.flags_changed", "complaint.viewed", "complaint.updated"]);
    let update = &second["edges"][1]["node"];
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
    assert_eq!(
        trail,
        ["complaint.created", "complaint.flags_changed", "complaint.viewed", "complaint.updated", "complaint.viewed", "complaint.viewed"]
    );

    // A supervisor of another team sees only what they did themselves; agents nothing.
    let mine = app.ok(&supervisor, page, json!({ "f": { "complaintId": c["id"] } })).await;
    let seen: Vec<&str> = mine["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(seen, ["complaint.flags_changed", "complaint.viewed"]);
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
    assert!(!checkpoint::read_anchor(std::path::Path::new(&anchor)).unwrap().records().is_empty());
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

// ---------------------------------------------------------------- an attacker with database access
//
// They can write to the database (and disable its triggers) but hold neither
// the signing key, nor the MAC key, nor write access to the anchor directory.


fn pinned() -> Vec<checkpoint::TrustedKey> {
    vec![checkpoint::TrustedKey::always(checkpoint::parse_public_key(&SigningSeed::parse(AUDIT_SEED).unwrap().public_key_hex()).unwrap())]
}

/// Verifies with the full options the server has (pinned key, anchor, MAC key).
async fn verify_direct(app: &TestApp, mac: bool) -> casework::audit::verify::Report {
    let options = casework::audit::verify::Options {
        complaint: None,
        trusted_keys: pinned(),
        allow_unpinned: false,
        anchor: Some(checkpoint::read_anchor(std::path::Path::new(&app.anchor.path())).unwrap()),
        mac_key: mac.then(|| SigningSeed::parse(AUDIT_SEED).unwrap().derive_mac_key()),
    };
    casework::audit::verify::verify_database(&app.db, &options).await.unwrap()
}

fn assert_failure(report: &casework::audit::verify::Report, chain: &str, seq: i64, reason: &str) {
    let failure = report.first_failure.as_ref().unwrap_or_else(|| panic!("tampering went unnoticed: {report:?}"));
    assert_eq!((failure.chain_key.as_str(), failure.seq), (chain, seq), "{failure}");
    assert!(failure.reason.contains(reason), "reason should mention {reason:?}: {failure}");
}

/// The writer's refusal: the error names chain and seq.
async fn assert_writer_refuses(app: &TestApp, chain: &str, seq: i64) {
    let writer = writer(app);
    let mut outcome = checkpoint::create(&app.db, &writer, true).await;
    // On PostgreSQL another instance's job may hold the checkpoint lock for a moment.
    for _ in 0..20 {
        if !matches!(outcome, Ok(None)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        outcome = checkpoint::create(&app.db, &writer, true).await;
    }
    let error = outcome.expect_err("the writer signed a tampered trail");
    let failure = error.downcast_ref::<checkpoint::IntegrityFailure>().unwrap_or_else(|| panic!("not an integrity failure: {error:#}"));
    assert_eq!((failure.chain_key.as_str(), failure.seq), (chain, seq), "{failure}");
    assert_eq!(writer.compromised().as_ref(), Some(failure));
}

async fn a_laundered_chain_is_refused_by_the_writer_and_named_by_the_verifier(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    // A second server whose checkpoint job runs every second: its /readyz must turn.
    let job = crate::helpers::spawn_another(app, |s| {
        s.audit_checkpoint_interval = Some(std::time::Duration::from_secs(1));
        s.audit_checkpoint_poll = std::time::Duration::from_secs(1);
    })
    .await;
    // Rewrite seq 2 up to the signed head (seq 4), re-hash forward, move the cache.
    let mut events = events_of(app, &chain).await;
    events[1].actor_role = Some("SUPERVISOR".into());
    for i in 1..events.len() {
        events[i].prev_hash = events[i - 1].entry_hash.clone();
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
    // A legitimate action then extends the rewritten chain.
    let agent = app.login_as("agent@example.com").await;
    let id = casework::ids::encode(casework::ids::Kind::Complaint, chain["complaint:".len()..].parse().unwrap());
    add_note(app, &agent, &id.0).await;

    // The writer refuses to sign it, naming the signed head that was rewritten.
    assert_writer_refuses(app, &chain, 4).await;
    let mut readyz = None;
    for _ in 0..50 {
        let response = job.client.get(job.url("/readyz")).send().await.unwrap();
        if response.status() == 503 {
            readyz = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let readyz = readyz.expect("/readyz never reported the compromised trail");
    assert_eq!(readyz["status"], "audit trail compromised");
    assert_eq!(readyz["chainKey"], chain.as_str());
    let metrics = job.metrics().await;
    assert!(metrics.contains("casework_audit_integrity_failures_total"), "{metrics}");
    // Nothing was signed over it; the verifier names the first forged event (its MAC) ...
    assert_caught(app, &chain, 2, "MAC").await;
    // ... and, without the MAC key, the rewritten signed head.
    assert_failure(&verify_direct(app, false).await, &chain, 4, "signed in checkpoint 1");
    job.finish().await;
}

async fn add_note(app: &TestApp, token: &str, complaint: &str) {
    app.ok(
        token,
        "mutation($id: ID!) { addNote(complaintId: $id, body: \"Called the courier.\", visibility: INTERNAL) { id } }",
        json!({ "id": complaint }),
    )
    .await;
}

async fn a_bad_signature_under_the_pinned_key_is_named(app: &TestApp) {
    complaint_with_trail(app).await;
    let cp = audit_checkpoint::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut signature = hex::decode(&cp.signature).unwrap();
    signature[10] ^= 1;
    let saved = disable_triggers(app).await;
    audit_checkpoint::Entity::update_many()
        .col_expr(audit_checkpoint::Column::Signature, Expr::value(hex::encode(signature)))
        .filter(audit_checkpoint::Column::Seq.eq(cp.seq))
        .exec(&app.db)
        .await
        .unwrap();
    enable_triggers(app, saved).await;
    assert_caught(app, "checkpoint", 1, "signature does not verify").await;
}

/// Three checkpoints, each over a new complaint.
async fn three_checkpoints(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    for _ in 0..3 {
        ComplaintBuilder::new().create(app, &agent).await;
        checkpoint_now(app).await;
    }
}

async fn a_broken_checkpoint_link_is_named(app: &TestApp) {
    three_checkpoints(app).await;
    // Re-signed with the real key (the worst case), but linked to nothing.
    let mut cp = audit_checkpoint::Entity::find_by_id(2i64).one(&app.db).await.unwrap().unwrap();
    cp.prev_hash = "11".repeat(32);
    cp.canonical = checkpoint::canonical_payload(&cp).unwrap();
    cp.checkpoint_hash = checkpoint::checkpoint_hash(&cp.canonical);
    use ed25519_dalek::Signer;
    cp.signature = hex::encode(SigningSeed::parse(AUDIT_SEED).unwrap().signing_key().sign(cp.canonical.as_bytes()).to_bytes());
    let saved = disable_triggers(app).await;
    let mut active = cp.into_active_model();
    for column in [
        audit_checkpoint::Column::PrevHash,
        audit_checkpoint::Column::Canonical,
        audit_checkpoint::Column::CheckpointHash,
        audit_checkpoint::Column::Signature,
    ] {
        sea_orm::ActiveModelTrait::reset(&mut active, column);
    }
    active.update(&app.db).await.unwrap();
    enable_triggers(app, saved).await;
    assert_caught(app, "checkpoint", 2, "does not link").await;
}

async fn a_deleted_middle_checkpoint_is_named(app: &TestApp) {
    three_checkpoints(app).await;
    let saved = disable_triggers(app).await;
    app.sql("DELETE FROM audit_checkpoint_head WHERE checkpoint_seq = 2").await;
    app.sql("DELETE FROM audit_checkpoint WHERE seq = 2").await;
    enable_triggers(app, saved).await;
    assert_caught(app, "checkpoint", 2, "checkpoint 2 is missing").await;
}

async fn an_edited_checkpoint_head_is_named(app: &TestApp) {
    three_checkpoints(app).await;
    // Bless another hash for a chain recorded by checkpoint 2.
    let saved = disable_triggers(app).await;
    app.sql(&format!(
        "UPDATE audit_checkpoint_head SET head_hash = '{}' WHERE checkpoint_seq = 2 AND chain_key LIKE 'complaint:%'",
        "22".repeat(32)
    ))
    .await;
    enable_triggers(app, saved).await;
    assert_caught(app, "checkpoint", 2, "Merkle root").await;
    // The writer will not sign on top of it either.
    let error = checkpoint::create(&app.db, &writer(app), true).await.expect_err("signed over edited heads");
    assert!(format!("{error:#}").contains("Merkle root"), "{error:#}");
}

async fn an_edited_truncated_or_deleted_anchor_fails(app: &TestApp) {
    three_checkpoints(app).await;
    let path = std::path::Path::new(&app.anchor.path()).join(checkpoint::ANCHOR_FILE);
    let original = std::fs::read_to_string(&path).unwrap();
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");

    // Edited: a line claims fewer events (its signature no longer matches).
    let mut lines: Vec<Value> = original.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    lines[1]["event_count"] = json!(lines[1]["event_count"].as_i64().unwrap() - 1);
    std::fs::write(&path, lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")).unwrap();
    assert_caught(app, "checkpoint", 2, "in the anchor file").await;

    // Truncated: the last checkpoint is no longer anchored.
    let kept: Vec<&str> = original.lines().take(2).collect();
    std::fs::write(&path, kept.join("\n")).unwrap();
    assert_caught(app, "checkpoint", 3, "anchor file was truncated").await;

    // Not contiguous: the middle line is gone.
    let gapped: Vec<&str> = original.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
    std::fs::write(&path, gapped.join("\n")).unwrap();
    assert_caught(app, "checkpoint", 2, "not contiguous").await;

    // Cut mid-line.
    std::fs::write(&path, &original[..original.len() - 40]).unwrap();
    assert_caught(app, "checkpoint", 0, "unreadable").await;

    // Deleted.
    std::fs::remove_file(&path).unwrap();
    assert_caught(app, "checkpoint", 1, "anchor file is missing").await;
}

/// Inserts a well-formed, correctly linked and hashed event after the head of
/// `chain` (copying its predecessor), and moves the chain cache to it, as an
/// attacker would; returns its seq.
async fn forge_append(app: &TestApp, chain: &str, action: &str) -> i64 {
    let last = events_of(app, chain).await.pop().unwrap_or_else(|| panic!("no events on {chain}"));
    let mut forged = audit_event::Model {
        id: Uuid::now_v7(),
        seq: last.seq + 1,
        action: action.into(),
        prev_hash: last.entry_hash.clone(),
        mac: Some("00".repeat(32)),
        ..last
    };
    rehash(&mut forged);
    let seq = forged.seq;
    audit_event::Entity::insert(forged.clone().into_active_model()).exec_without_returning(&app.db).await.unwrap();
    audit_chain::Entity::update_many()
        .col_expr(audit_chain::Column::HeadSeq, Expr::value(seq))
        .col_expr(audit_chain::Column::HeadHash, Expr::value(forged.entry_hash))
        .filter(audit_chain::Column::ChainKey.eq(chain))
        .exec(&app.db)
        .await
        .unwrap();
    seq
}

async fn forged_appends_on_user_team_system_and_access_chains_are_named(app: &TestApp) {
    let admin = app.login_as("admin@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let agent = app.login_as("agent@example.com").await;
    // Something on every kind of chain: a sensitive complaint read by the supervisor,
    // an SLA policy (system), a team.
    let c = fresh_complaint(app, &agent).await;
    step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    app.ok(&supervisor, "query($id: ID!) { complaint(id: $id) { id } }", json!({ "id": c["id"] })).await;
    app.ok(
        &admin,
        "mutation { upsertSlaPolicy(input: { severity: LOW, firstResponseMinutes: 60, resolutionMinutes: 2880 }) { severity } }",
        json!({}),
    )
    .await;
    checkpoint_now(app).await;
    let team: String = audit_chain::Entity::find()
        .filter(audit_chain::Column::ChainKey.starts_with("team:"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a team chain")
        .chain_key;
    let user = format!("user:{}", user_id(app, "legal@example.com").await);
    let access = format!("complaint-access:{}", uuid_of(&c["id"]));
    for (chain, action) in [
        (user.as_str(), "user.updated"),
        (team.as_str(), "team.updated"),
        ("system", "sla_policy.updated"),
        (access.as_str(), "complaint.viewed"),
    ] {
        let seq = forge_append(app, chain, action).await;
        // The writer will not sign it, and the verifier names it.
        assert_writer_refuses(app, chain, seq).await;
        assert_caught(app, chain, seq, "MAC does not verify").await;
        // Clean up, so the next chain is the first failure.
        let saved = disable_triggers(app).await;
        let forged = event_at(app, chain, seq).await;
        audit_event::Entity::delete_by_id(forged.id).exec(&app.db).await.unwrap();
        enable_triggers(app, saved).await;
        let head = event_at(app, chain, seq - 1).await;
        audit_chain::Entity::update_many()
            .col_expr(audit_chain::Column::HeadSeq, Expr::value(seq - 1))
            .col_expr(audit_chain::Column::HeadHash, Expr::value(head.entry_hash))
            .filter(audit_chain::Column::ChainKey.eq(chain))
            .exec(&app.db)
            .await
            .unwrap();
    }
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
}

async fn direct_updates_of_business_state_are_named(app: &TestApp) {
    let chain = complaint_with_trail(app).await;
    let id: Uuid = chain["complaint:".len()..].parse().unwrap();
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
    let set = |column: complaint::Column, value: sea_orm::Value| {
        complaint::Entity::update_many().col_expr(column, Expr::value(value)).filter(complaint::Column::Id.eq(id)).exec(&app.db)
    };
    // The compensation amount, leaving version alone.
    set(complaint::Column::CompensationAmount, "2000.00".into()).await.unwrap();
    assert_caught(app, &chain, 4, "live row differs").await;
    set(complaint::Column::CompensationAmount, "20.00".into()).await.unwrap();
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
    // The legal hold.
    set(complaint::Column::LegalHold, true.into()).await.unwrap();
    assert_caught(app, &chain, 4, "live row differs").await;
    set(complaint::Column::LegalHold, false.into()).await.unwrap();
    // A user's role.
    let agent = user_id(app, "agent@example.com").await;
    entity::app_user::Entity::update_many()
        .col_expr(entity::app_user::Column::Role, Expr::value("SUPERVISOR"))
        .filter(entity::app_user::Column::Id.eq(agent))
        .exec(&app.db)
        .await
        .unwrap();
    let report = verify_direct(app, true).await;
    let failure = report.first_failure.expect("a promoted user went unnoticed");
    assert_eq!(failure.chain_key, format!("user:{agent}"));
    assert!(failure.reason.contains("live row differs"), "{failure}");
}

async fn verification_fails_closed_without_a_pinned_key(app: &TestApp) {
    complaint_with_trail(app).await;
    let mut options = casework::audit::verify::Options { anchor: None, ..Default::default() };
    let report = casework::audit::verify::verify_database(&app.db, &options).await.unwrap();
    assert_failure(&report, "checkpoint", 0, "no public key pinned");
    options.allow_unpinned = true;
    let report = casework::audit::verify::verify_database(&app.db, &options).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_failure);
    assert!(report.warnings.iter().any(|w| w.contains("--allow-unpinned")), "{:?}", report.warnings);
    assert!(report.warnings.iter().any(|w| w.contains("MACs were NOT checked")), "{:?}", report.warnings);
    // The CLI exits non-zero without a key.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_casework"))
        .args(["--database-url", &app.database_url, "audit", "verify"])
        .env_remove("CASEWORK_AUDIT_PUBLIC_KEY")
        .env_remove("CASEWORK_AUDIT_TRUSTED_KEYS")
        .env_remove("CASEWORK_AUDIT_SIGNING_KEY")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no public key pinned"));
}

async fn trusted_keys_have_validity_periods(app: &TestApp) {
    complaint_with_trail(app).await;
    let old = SigningSeed::random();
    // A checkpoint by the old key, then by the current one (a rotation).
    let rotated = CheckpointWriter { mac_key: SigningSeed::parse(AUDIT_SEED).unwrap().derive_mac_key(), ..CheckpointWriter::new(old.clone(), Some(app.anchor.path().into())) };
    let agent = app.login_as("agent@example.com").await;
    ComplaintBuilder::new().create(app, &agent).await;
    let by_old = checkpoint::create(&app.db, &rotated, true).await.unwrap().unwrap();
    let current = SigningSeed::parse(AUDIT_SEED).unwrap().public_key_hex();
    let verify_with = |keys: String| {
        let anchor = checkpoint::read_anchor(std::path::Path::new(&app.anchor.path())).unwrap();
        async move {
            let options = casework::audit::verify::Options {
                trusted_keys: checkpoint::parse_trusted_keys(&keys).unwrap(),
                anchor: Some(anchor),
                ..Default::default()
            };
            casework::audit::verify::verify_database(&app.db, &options).await.unwrap()
        }
    };
    // Both keys trusted, each for its time.
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let ok = verify_with(format!("{current},{}@..{}", old.public_key_hex(), at(by_old.created_at + chrono::Duration::seconds(1)))).await;
    assert!(ok.ok(), "{:?}", ok.first_failure);
    // The old key's period ended before it signed checkpoint 2.
    let expired = verify_with(format!("{current},{}@..{}", old.public_key_hex(), at(by_old.created_at - chrono::Duration::seconds(1)))).await;
    assert_failure(&expired, "checkpoint", 2, "outside its validity period");
    // Only the current key: checkpoint 2 is someone else's.
    assert_failure(&verify_with(current).await, "checkpoint", 2, "pinned public key");
}

async fn a_creation_event_is_masked_once_the_complaint_became_sensitive(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = ComplaintBuilder::new()
        .with("customer", json!({ "name": "Wang Xiaoming", "phone": "+86 138 0000 0000", "email": "wang@example.com" }))
        .create(app, &agent)
        .await;
    let c = json!({ "id": c["id"], "version": 1 });
    step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    let auditor = app.login_as("auditor@example.com").await;
    let created = app
        .ok(
            &auditor,
            "query($f: AuditFilter) { auditEvents(filter: $f, first: 1) { edges { node { sensitivity masked changes } } } }",
            json!({ "f": { "complaintId": c["id"], "action": "complaint.created" } }),
        )
        .await["auditEvents"]["edges"][0]["node"]
        .clone();
    // Recorded as NORMAL, masked as the case is now.
    assert_eq!(created["sensitivity"], "NORMAL");
    assert_eq!(created["masked"], true, "{created:#}");
    assert_eq!(created["changes"]["customer.phone"][1], "•••");
    assert_eq!(created["changes"]["customer.email"][1], "•••");
    assert_eq!(created["changes"]["customer.name"][1], "W. X.");
}

async fn insert_or_replace_cannot_rewrite_an_audit_row(app: &TestApp) {
    if app.backend != Backend::Sqlite {
        return; // PostgreSQL has no REPLACE; ON CONFLICT DO UPDATE fires the UPDATE triggers.
    }
    let chain = complaint_with_trail(app).await;
    let event = event_at(app, &chain, 2).await;
    let columns = "id, chain_key, seq, occurred_at, actor_id, actor_role, request_id, client_addr, action, target_type, \
        target_id, complaint_id, sensitivity, reason, changes, canonical, prev_hash, entry_hash, format_version, mac, state_hash";
    let replace = format!(
        "INSERT OR REPLACE INTO audit_event ({columns}) SELECT id, chain_key, seq, occurred_at, actor_id, 'ADMIN', request_id, \
         client_addr, action, target_type, target_id, complaint_id, sensitivity, reason, changes, canonical, prev_hash, entry_hash, \
         format_version, mac, state_hash FROM audit_event WHERE chain_key = '{chain}' AND seq = 2"
    );
    let error = app.db.execute_unprepared(&replace).await.expect_err("INSERT OR REPLACE rewrote an audit row");
    assert!(error.to_string().contains("append-only"), "{error}");
    // A new id on an existing (chain, seq) is refused too.
    let clash = replace.replace("SELECT id,", "SELECT randomblob(16),");
    assert!(app.db.execute_unprepared(&clash).await.is_err());
    for table in ["audit_checkpoint", "audit_checkpoint_head"] {
        let error = app.db.execute_unprepared(&format!("INSERT OR REPLACE INTO {table} SELECT * FROM {table}")).await.expect_err("replaced");
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    assert_eq!(event_at(app, &chain, 2).await, event);
}

async fn a_replaced_trigger_function_is_detected(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite triggers have no separate function to replace.
    }
    complaint_with_trail(app).await;
    app.sql("CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$").await;
    // The triggers still exist and are enabled, but no longer refuse anything.
    let error = checkpoint::create(&app.db, &writer(app), true).await.expect_err("a checkpoint over neutralised triggers");
    assert!(format!("{error:#}").contains("not the one the migration created"), "{error:#}");
    let mut settings = casework::config::Settings::for_database(&app.database_url);
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let refused = casework::startup::Application::build(settings).await.err().expect("the server started over neutralised triggers");
    assert!(format!("{refused:#}").contains("audit_event_refuse_change"), "{refused:#}");
}

async fn the_server_runs_as_a_restricted_role(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite has no roles.
    }
    // The owner (here a superuser) migrated; the runtime role may only read and append the trail.
    let role = format!("casework_rt_{}", Uuid::new_v4().simple());
    let database = app.database_url.rsplit('/').next().unwrap().to_owned();
    app.sql(&format!("CREATE ROLE {role} LOGIN")).await;
    for statement in [
        format!("GRANT CONNECT ON DATABASE {database} TO {role}"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, audit_checkpoint_head FROM {role}"),
    ] {
        app.sql(&statement).await;
    }
    let base = app.database_url.rsplit_once("//").unwrap().1.split_once('@').unwrap().1.to_owned();
    let restricted_url = format!("postgres://{role}@{base}");
    let production = |url: &str| {
        let mut settings = casework::config::Settings::for_database(url);
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.env = casework::config::Environment::Production;
        settings.migrate_on_start = false;
        settings.audit_signing_key = SigningSeed::parse(AUDIT_SEED).unwrap();
        settings.audit_public_key = settings.audit_signing_key.public_key_hex();
        settings.db_max_connections = 2;
        settings
    };
    // As the owner, production refuses to start ...
    let refused = casework::startup::Application::build(production(&app.database_url)).await.err().expect("started as the owner");
    assert!(format!("{refused:#}").contains("can rewrite the audit trail"), "{refused:#}");
    // ... unless told so explicitly.
    let mut allowed = production(&app.database_url);
    allowed.audit_allow_privileged_role = true;
    drop(casework::startup::Application::build(allowed).await.expect("allowed explicitly"));
    // As the restricted role it starts, works, and cannot rewrite the trail even with the triggers off.
    let server = casework::startup::Application::build(production(&restricted_url)).await.expect("starting as the runtime role");
    let services = server.services().clone();
    let ctx = casework::service::RequestContext::operator();
    let writer = checkpoint::CheckpointWriter::new(SigningSeed::parse(AUDIT_SEED).unwrap(), None);
    casework::audit::checkpoint::create(&services.db, &writer, true).await.unwrap();
    drop(ctx);
    app.sql("ALTER TABLE audit_event DISABLE TRIGGER USER").await;
    let error = services.db.execute_unprepared("UPDATE audit_event SET actor_role = 'ADMIN'").await.expect_err("the runtime role rewrote the trail");
    assert!(error.to_string().contains("permission denied"), "{error}");
    app.sql("ALTER TABLE audit_event ENABLE TRIGGER USER").await;
    services.db.close_by_ref().await.ok();
    drop(server);
    app.sql(&format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")).await;
    app.sql(&format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")).await;
    app.sql(&format!("REVOKE ALL ON SCHEMA public FROM {role}")).await;
    app.sql(&format!("REVOKE ALL ON DATABASE {database} FROM {role}")).await;
    app.sql(&format!("DROP ROLE {role}")).await;
}

async fn linking_writes_an_event_on_every_linked_chain(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let a = fresh_complaint(app, &agent).await;
    let b = fresh_complaint(app, &agent).await;
    let c = fresh_complaint(app, &agent).await;
    let linked = app
        .ok(
            &agent,
            "mutation($ids: [ID!]!) { linkComplaints(ids: $ids, kind: RELATED) { id version } }",
            json!({ "ids": [a["id"], b["id"], c["id"]] }),
        )
        .await["linkComplaints"]
        .clone();
    // Every complaint moved to version 2, with its own event.
    for (i, complaint) in [&a, &b, &c].into_iter().enumerate() {
        assert_eq!(linked[i]["version"], 2, "{linked:#}");
        let chain = format!("complaint:{}", uuid_of(&complaint["id"]));
        let event = event_at(app, &chain, 2).await;
        assert_eq!(event.action, "complaint.linked");
        assert!(event.state_hash.is_some());
    }
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
}

async fn every_path_that_hands_out_a_sensitive_complaint_records_the_read(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let supervisor = app.login_as("supervisor@example.com").await;
    let c = fresh_complaint(app, &agent).await;
    let access = format!("complaint-access:{}", uuid_of(&c["id"]));
    let viewed = || async { events_of(app, &access).await.into_iter().filter(|e| e.action == "complaint.viewed").count() };
    // A mutation result: the supervisor's setFlags hands the now-sensitive complaint out.
    step(app, &supervisor, "setFlags", &c, ", $f: FlagsInput!", ", input: $f", json!({ "f": { "sensitive": true } })).await;
    assert_eq!(viewed().await, 1);
    // A nested field: Escalation.complaint, reached through the queue; twice in one
    // operation (and through `complaint` too) is still one read.
    app.ok(
        &agent,
        "mutation($id: ID!) { requestEscalation(complaintId: $id, toTier: TIER2, trigger: CUSTOMER_REQUEST, reason: \"Asks for a supervisor\") { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    let before = viewed().await;
    app.ok(
        &supervisor,
        "query($id: ID!) { escalationQueue(first: 10) { edges { node { complaint { id } again: complaint { title } } } } complaint(id: $id) { id } }",
        json!({ "id": c["id"] }),
    )
    .await;
    assert_eq!(viewed().await, before + 1);
    let last = events_of(app, &access).await.pop().unwrap();
    assert_eq!(last.actor_role.as_deref(), Some("SUPERVISOR"));
    let v = verify(app).await;
    assert_eq!(v["ok"], true, "{v:#}");
}
