//! Audit benchmark (run through `bench/audit.sh`, on a release build):
//!
//! 1. `casework audit verify` throughput: generates `--events` events over
//!    `--chains` chains with the real `audit::append`, writes a checkpoint,
//!    then times `audit::verify::verify_database` (what the CLI runs).
//! 2. The cost of auditing `createComplaint`: the full use case
//!    (`service::complaints::create`: policy, validation, customer and
//!    complaint rows, audit event, one transaction) against the same two
//!    INSERTs in a transaction without the audit event, and those INSERTs
//!    plus `audit::append` alone.
//!
//! `--database-url` must name an empty database (default: a fresh SQLite
//! file in the temporary directory).

use std::{sync::Arc, time::Instant};

use casework::{
    audit::{self, ChainKey, Changes, NewEvent, Origin, checkpoint, verify},
    config::Settings,
    db,
    domain::{Category, Channel, Demand, Emotion, Severity},
    service::{
        RequestContext, Services,
        auth::actor_of,
        complaints::{self, CreateComplaintInput, CustomerInput},
        demo,
    },
};
use sea_orm::{EntityTrait, IntoActiveModel, TransactionTrait};
use uuid::Uuid;

struct Args {
    database_url: String,
    events: u64,
    chains: u64,
    creates: u64,
}

fn args() -> Args {
    let mut a = Args {
        database_url: format!("sqlite://{}/casework-bench-{}.db?mode=rwc", std::env::temp_dir().display(), Uuid::new_v4().simple()),
        events: 1_000_000,
        chains: 100_000,
        creates: 3_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.database_url = value,
            "--events" => a.events = value.parse().expect("--events N"),
            "--chains" => a.chains = value.parse().expect("--chains N"),
            "--creates" => a.creates = value.parse().expect("--creates N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// This process's resident set and its peak (VmRSS, VmHWM), in KiB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn input(i: u64) -> CreateComplaintInput {
    CreateComplaintInput {
        channel: Channel::Hotline,
        category: Category::Logistics,
        severity: Severity::High,
        title: format!("Parcel a week late #{i}"),
        description: "Express parcel stuck at the hub for four days; the customer needs it for a birthday.".into(),
        customer: CustomerInput { name: "Ms. Sun Mei".into(), phone: Some("+86 139 0000 1234".into()), email: Some("sun.mei@example.net".into()) },
        core_demand: Demand::Compensation,
        requested_amount: Some(rust_decimal::Decimal::new(20000, 2)),
        currency: None,
        emotion: Emotion::Angry,
        order_reference: Some(format!("ORD-{i:08}")),
        occurred_at: None,
        team_id: None,
        assignee_id: None,
        customer_id: None,
        urgent_reason: None,
        product_or_service: None,
        location: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let settings = Settings::for_database(&args.database_url);
    let db = db::connect(&args.database_url, 4, &Default::default()).await?;
    db::migrate(&db).await?;
    println!("database: {}", db::redact(&args.database_url));

    // ---- 1. verify throughput
    let mac_key = settings.audit_mac_key();
    let started = Instant::now();
    let chain_ids: Vec<Uuid> = (0..args.chains).map(|_| Uuid::now_v7()).collect();
    let origin = Origin {
        actor_id: Some(Uuid::now_v7()),
        actor_role: Some("AGENT"),
        request_id: Some("01JBENCH00000000000000000".into()),
        client_addr: Some("10.0.0.1".into()),
    };
    let mut written = 0u64;
    while written < args.events {
        let txn = db.begin().await?;
        let batch = (args.events - written).min(2_000);
        for i in 0..batch {
            let n = written + i;
            let chain = chain_ids[(n % args.chains) as usize];
            let changes = Changes::new()
                .field("status", "INVESTIGATING", "RESOLUTION_PROPOSED")
                .set("resolution.summary", format!("Refund shipping and a voucher, step {n}"))
                .set("resolution.compensation_amount", "200.00");
            let event = NewEvent {
                complaint_id: Some(chain),
                ..NewEvent::new(ChainKey::User(chain), "complaint.resolution_proposed", "complaint", chain).changes(changes)
            };
            audit::append(&txn, &origin, &mac_key, event).await?;
        }
        txn.commit().await?;
        written += batch;
    }
    println!("generated {written} events in {} chains in {:.1} s", args.chains, started.elapsed().as_secs_f64());
    let writer = checkpoint::CheckpointWriter { mac_key: mac_key.clone(), ..checkpoint::CheckpointWriter::new(settings.audit_signing_key.clone(), None) };
    // The trail's first checkpoint reads every chain: what the server's
    // checkpoint job does on its first pass, measured for its memory.
    let (rss_before, peak_before) = memory_kb();
    let started = Instant::now();
    let cp = checkpoint::create(&db, &writer, true).await?.expect("a checkpoint");
    let (_, peak_after) = memory_kb();
    println!(
        "checkpoint {} over {} chains / {} events in {:.1} s; process RSS {} MB before, peak {} MB before and {} MB after",
        cp.seq,
        cp.chain_count,
        cp.event_count,
        started.elapsed().as_secs_f64(),
        rss_before / 1024,
        peak_before / 1024,
        peak_after / 1024
    );

    let mut options = verify::Options {
        complaint: None,
        trusted_keys: vec![checkpoint::TrustedKey::always(
            checkpoint::parse_public_key(&settings.audit_public_key).map_err(anyhow::Error::msg)?,
        )],
        allow_unpinned: false,
        anchor: None,
        mac_key: None,
    };
    for run in 1..=4 {
        // Runs 1-2 without the MAC key, 3-4 checking every MAC.
        options.mac_key = (run > 2).then(|| mac_key.clone());
        let started = Instant::now();
        let report = verify::verify_database(&db, &options).await?;
        let secs = started.elapsed().as_secs_f64();
        assert!(report.ok(), "{:?}", report.first_failure);
        println!(
            "verify run {run} ({}): {} events, {} chains, {} checkpoint(s) in {secs:.2} s = {:.0} events/s",
            if options.mac_key.is_some() { "MACs checked" } else { "no MAC key" },
            report.checked_events,
            report.checked_chains,
            report.checkpoints_checked,
            report.checked_events as f64 / secs
        );
    }

    // ---- 2. createComplaint with and without the audit write
    let services = Services::new(db.clone(), Arc::new(settings))?;
    demo::seed(&services).await?;
    let agent_user = entity::app_user::Entity::find()
        .all(&db)
        .await?
        .into_iter()
        .find(|u| u.email == "agent@example.com")
        .expect("the demo agent");
    let ctx = RequestContext { actor: Some(actor_of(&services, &agent_user)?), ..RequestContext::operator() };

    let n = args.creates;
    let started = Instant::now();
    let mut template = None;
    for i in 0..n {
        template = Some(complaints::create(&services, &ctx, input(i)).await?);
    }
    let full = n as f64 / started.elapsed().as_secs_f64();
    let template = template.expect("at least one complaint");
    let customer = entity::customer::Entity::find_by_id(template.customer_id).one(&db).await?.expect("its customer");

    // The CPU cost of what this issue added to every complaint event: the
    // state hash of the complaint and the event's HMAC.
    let rounds = 20_000;
    let started = Instant::now();
    let mut sink = 0usize;
    for i in 0..rounds {
        let state = audit::state::complaint_state(&template);
        sink += mac_key.sign(&state).len() + i;
    }
    let per_event_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("state hash + MAC per complaint event:           {per_event_us:>8.1} µs (checksum {})", sink % 7);

    for with_audit in [false, true] {
        let started = Instant::now();
        for i in 0..n {
            let txn = db.begin().await?;
            let customer = entity::customer::Model { id: Uuid::now_v7(), ..customer.clone() };
            let complaint = entity::complaint::Model {
                id: Uuid::now_v7(),
                customer_id: customer.id,
                reference: format!("BENCH-{with_audit}-{i:08}"),
                ..template.clone()
            };
            entity::customer::Entity::insert(customer.clone().into_active_model()).exec_without_returning(&txn).await?;
            entity::complaint::Entity::insert(complaint.clone().into_active_model()).exec_without_returning(&txn).await?;
            if with_audit {
                let changes = Changes::new()
                    .set("status", "NEW")
                    .set("title", complaint.title.clone())
                    .set("customer.name", customer.name.clone())
                    .set("customer.phone", customer.phone.clone());
                let event = NewEvent {
                    complaint_id: Some(complaint.id),
                    ..NewEvent::new(ChainKey::Complaint(complaint.id), "complaint.created", "complaint", complaint.id)
                        .changes(changes)
                        .state(audit::state::complaint_state(&complaint))
                };
                audit::append(&txn, &ctx.origin(), &mac_key, event).await?;
            }
            txn.commit().await?;
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        if with_audit {
            println!("same INSERTs + audit::append:                   {rate:>8.0} /s ({:.0} % of the INSERTs alone)", 100.0 * rate / raw_rate());
        } else {
            set_raw_rate(rate);
            println!("customer + complaint INSERTs, no audit event:   {rate:>8.0} /s");
        }
    }
    println!("createComplaint use case (policy, validation, audit): {full:>8.0} /s ({:.0} % of the INSERTs alone)", 100.0 * full / raw_rate());
    println!(
        "state hash + MAC as a share of one createComplaint: {:.2} % ({per_event_us:.1} µs of {:.0} µs)",
        100.0 * per_event_us / (1e6 / full),
        1e6 / full
    );
    Ok(())
}

static RAW: std::sync::Mutex<f64> = std::sync::Mutex::new(0.0);
fn set_raw_rate(rate: f64) {
    *RAW.lock().unwrap() = rate;
}
fn raw_rate() -> f64 {
    *RAW.lock().unwrap()
}
