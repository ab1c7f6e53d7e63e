//! Statistics benchmark (run through `bench/stats.sh`, on a release build):
//! seeds `--complaints` complaints (default 1 000 000) spread over twelve
//! months with SQL `generate_series` (customers with repeat phones, teams,
//! agents, findings, repeat markers, closure outcomes, callback attempts,
//! compensation in two currencies, escalations),
//! then times `complaintStats` for one month by every dimension — the same
//! `service::stats::compute` the resolver calls — and prints the query plans
//! (`EXPLAIN (ANALYZE, BUFFERS)`) of its statements.
//!
//!   examples/stats_bench --database-url postgres://…/empty_db [--complaints N] [--month 2026-10]
//!                        [--timezone Asia/Shanghai] [--skip-seed] [--plans all|none|main] [--without-joins]

use std::time::Instant;

use casework::{
    db,
    domain::periods,
    service::stats::{self, Figures, Grouping, Range, StatsDimension},
};
use sea_orm::{Condition, ConnectionTrait, DbBackend, Statement};

const DIMENSIONS: [StatsDimension; 12] = [
    StatsDimension::Category,
    StatsDimension::Channel,
    StatsDimension::Severity,
    StatsDimension::Team,
    StatsDimension::RootCause,
    StatsDimension::Month,
    StatsDimension::Assignee,
    StatsDimension::Tier,
    StatsDimension::Demand,
    StatsDimension::Emotion,
    StatsDimension::Week,
    StatsDimension::Day,
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--database-url").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/casework_stats_bench".into());
    let n: u64 = arg(&args, "--complaints").map(|v| v.parse()).transpose()?.unwrap_or(1_000_000);
    let month = arg(&args, "--month").unwrap_or_else(|| "2026-10".into());
    let tz: chrono_tz::Tz = arg(&args, "--timezone").unwrap_or_else(|| "UTC".into()).parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let plans = arg(&args, "--plans").unwrap_or_else(|| "main".into());
    let db = db::connect(&url, 4, &Default::default()).await?;
    anyhow::ensure!(db.get_database_backend() == DbBackend::Postgres, "the benchmark seeds with PostgreSQL's generate_series");
    db::migrate(&db).await?;

    if !args.iter().any(|a| a == "--skip-seed") {
        let started = Instant::now();
        for sql in seed_sql(n) {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared("VACUUM ANALYZE").await?;
        println!("seeded {n} complaints in {:.1} s", started.elapsed().as_secs_f64());
    }
    let count: i64 = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT COUNT(*) FROM complaint"))
        .await?
        .unwrap()
        .try_get_by_index(0)?;
    let (year, m) = casework::service::report::parse_month(&month)?;
    let (from, to) = periods::month(tz, year, m).unwrap();
    let range = Range { from, to };
    let in_month: i64 = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT COUNT(*) FROM complaint WHERE created_at >= $1 AND created_at < $2",
            [from.into(), to.into()],
        ))
        .await?
        .unwrap()
        .try_get_by_index(0)?;
    println!("{count} complaints; {in_month} created in {month} ({tz}: {from} .. {to})");
    println!("load average before: {}\n", load_average());

    let now = chrono::Utc::now();
    println!("{:<12} {:>8} {:>10} {:>10} {:>10}", "groupBy", "buckets", "first ms", "median ms", "max ms");
    let mut worst: f64 = 0.0;
    let figures = if args.iter().any(|a| a == "--without-joins") {
        Figures { callback: false, escalation: false }
    } else {
        Figures::ALL
    };
    println!("figures: {figures:?}");
    for dimension in DIMENSIONS {
        let mut times = Vec::new();
        let mut buckets = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let txn = stats::snapshot(&db).await?;
            let out = stats::compute(&txn, tz, range, Grouping::By(dimension), Condition::all(), now, figures).await?;
            txn.commit().await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            buckets = out.len();
        }
        let first = times[0];
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        worst = worst.max(sorted[2]);
        println!(
            "{:<12} {:>8} {:>10.1} {:>10.1} {:>10.1}",
            format!("{dimension:?}"),
            buckets,
            first,
            sorted[2],
            sorted[4]
        );
    }
    println!("\nslowest median: {worst:.1} ms (target < 500 ms); load average after: {}\n", load_average());

    if plans != "none" {
        for dimension in [StatsDimension::Category, StatsDimension::Team, StatsDimension::Day] {
            let s = stats::statements(DbBackend::Postgres, tz, range, Grouping::By(dimension), Condition::all(), now, figures);
            // On PostgreSQL the percentile is part of the main statement (`s.p90` is None).
            let mut list = vec![("main", s.main)];
            if plans == "all" {
                list.extend(s.p90.map(|p90| ("p90", p90)));
                list.push(("money", s.money));
            }
            for (name, statement) in list {
                println!("== plan of the {name} statement, groupBy {dimension:?}");
                let explain = Statement {
                    sql: format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.sql),
                    ..statement
                };
                let txn = stats::snapshot(&db).await?;
                for row in txn.query_all_raw(explain).await? {
                    println!("{}", row.try_get_by_index::<String>(0)?);
                }
                txn.commit().await?;
                println!();
            }
        }
    }
    Ok(())
}

/// Teams, agents, customers (phones repeat: about one complaint in three is
/// a repeat), complaints over the twelve months before 2026-12-01 and escalations.
fn seed_sql(n: u64) -> Vec<String> {
    let customers = (n * 2 / 3).max(1);
    vec![
        "INSERT INTO team (id, name, tier, created_at, version) \
         SELECT ('00000000-0000-0000-0000-0000000000' || lpad(g::text, 2, '0'))::uuid, 'Bench team ' || g, \
         (ARRAY['TIER1','TIER1','TIER1','TIER2','TIER3'])[1 + g % 5], now(), 1 FROM generate_series(1, 10) g \
         ON CONFLICT DO NOTHING"
            .to_owned(),
        "INSERT INTO app_user (id, email, display_name, role, team_id, authority_limit, active, password_hash, created_at, updated_at, version) \
         SELECT md5('bench-user-' || g)::uuid, 'bench' || g || '@example.com', 'Bench agent ' || g, 'AGENT', \
         ('00000000-0000-0000-0000-0000000000' || lpad((1 + g % 10)::text, 2, '0'))::uuid, NULL, true, 'x', now(), now(), 1 \
         FROM generate_series(1, 200) g ON CONFLICT DO NOTHING"
            .to_owned(),
        format!(
            "INSERT INTO customer (id, name, phone, email, created_at) \
             SELECT md5('bench-customer-' || g)::uuid, 'Customer ' || g, '+86 139 ' || lpad((g % {customers})::text, 8, '0'), \
             CASE WHEN g % 2 = 0 THEN 'c' || (g % {customers}) || '@example.com' END, now() FROM generate_series(1, {n}) g"
        ),
        format!(
            "INSERT INTO complaint (id, reference, status, channel, category, severity, title, description, customer_id, core_demand, \
             requested_amount, currency, emotion, order_reference, occurred_at, tier, team_id, assignee_id, created_by, sensitive, \
             vulnerable_customer, media_attention, group_complaint, legal_hold, root_cause, responsibility, finding_summary, \
             resolution_summary, compensation_amount, compensation_currency, remedies, preventive_measures, customer_accepted, \
             customer_decision_note, resolution_note, callback_reached, satisfied, satisfaction_score, callback_comment, close_reason, \
             reopen_count, first_response_due, resolution_due, sla_breached, acknowledged_at, resolved_at, closed_at, created_at, \
             updated_at, version, first_response_breached, resolution_breached, repeat_of_id, close_outcome) \
             SELECT md5('bench-complaint-' || g)::uuid, 'CMP-B-' || g, \
               (ARRAY['NEW','ACKNOWLEDGED','INVESTIGATING','RESOLVED','CLOSED','CLOSED','CLOSED','REOPENED'])[1 + g % 8], \
               (ARRAY['PHONE','HOTLINE','ONLINE_CHAT','EMAIL','IN_STORE','WEB_FORM','SOCIAL_MEDIA'])[1 + g % 7], \
               (ARRAY['PRODUCT_QUALITY','SERVICE_ATTITUDE','LOGISTICS','SERVICE_DELAY','SYSTEM_FAILURE','DATA_LOSS','BILLING','OTHER'])[1 + (g / 7) % 8], \
               (ARRAY['LOW','MEDIUM','MEDIUM','HIGH','CRITICAL'])[1 + (g / 3) % 5], \
               'Bench complaint ' || g, 'Generated for the statistics benchmark.', md5('bench-customer-' || g)::uuid, \
               (ARRAY['REFUND','REPLACEMENT','REPAIR','COMPENSATION','APOLOGY','EXPLANATION','OTHER'])[1 + (g / 11) % 7], NULL, 'CNY', \
               (ARRAY['CALM','AGITATED','ANGRY'])[1 + (g / 13) % 3], NULL, NULL, 'TIER1', \
               ('00000000-0000-0000-0000-0000000000' || lpad((1 + g % 10)::text, 2, '0'))::uuid, \
               CASE WHEN g % 17 = 0 THEN NULL ELSE md5('bench-user-' || (1 + g % 200))::uuid END, md5('bench-user-1')::uuid, \
               g % 50 = 0, g % 40 = 0, g % 200 = 0, g % 97 = 0, false, \
               CASE WHEN g % 8 >= 2 THEN (ARRAY['OPERATOR_ERROR','SYSTEM_FAILURE','PRODUCT_DEFECT','EXTERNAL','FORCE_MAJEURE','CUSTOMER_SIDE','UNKNOWN'])[1 + (g / 5) % 7] END, \
               NULL, NULL, NULL, \
               CASE WHEN g % 8 >= 3 AND g % 4 = 0 THEN ((g % 500) + 0.5)::numeric(12,2)::text END, \
               CASE WHEN g % 8 >= 3 AND g % 4 = 0 THEN (CASE WHEN g % 3 = 0 THEN 'USD' ELSE 'CNY' END) END, NULL, \
               CASE WHEN g % 8 >= 3 THEN 'Preventive measure ' || (g % 20) END, \
               CASE WHEN g % 8 >= 3 THEN g % 5 <> 0 END, NULL, NULL, \
               CASE WHEN g % 8 >= 4 THEN g % 6 <> 0 END, CASE WHEN g % 8 >= 4 AND g % 6 <> 0 THEN g % 8 <> 7 END, \
               CASE WHEN g % 8 >= 4 AND g % 6 <> 0 THEN 1 + g % 5 END, NULL, NULL, \
               CASE WHEN g % 8 = 7 THEN 1 ELSE 0 END, \
               c + interval '30 minutes', c + interval '24 hours', g % 9 = 0, \
               CASE WHEN g % 8 >= 1 THEN c + (g % 60) * interval '1 minute' END, \
               CASE WHEN g % 8 >= 3 THEN c + (g % 48) * interval '1 hour' END, \
               CASE WHEN g % 8 IN (4, 5, 6) THEN c + interval '50 hours' END, c, c, 1, g % 9 = 0, g % 11 = 0, \
               CASE WHEN g % 3 = 0 AND g > 1 THEN md5('bench-complaint-' || (g - 1))::uuid END, \
               CASE WHEN g % 8 IN (4, 5, 6) THEN (ARRAY['RESOLVED_SATISFIED','RESOLVED_SATISFIED','UNREACHABLE','WITHDRAWN','DUPLICATE', \
                 'EXPLAINED','DEMAND_REFUSED','RESOLVED_AT_FIRST_CONTACT','RESOLVED_AT_FIRST_CONTACT'])[1 + (g / 19) % 9] END \
             FROM (SELECT g, timestamptz '2025-12-01 00:00:00+00' + (g::double precision / {n}) * interval '365 days' AS c \
                   FROM generate_series(1, {n}) g) s"
        ),
        format!(
            "INSERT INTO escalation (id, complaint_id, from_tier, to_tier, trigger, reason, requested_by, requested_at, status, \
             decided_by, decided_at, decision_note, due_by) \
             SELECT md5('bench-escalation-' || g)::uuid, md5('bench-complaint-' || g)::uuid, 'TIER1', 'TIER2', 'TECHNICAL', 'bench', \
             NULL, now(), (ARRAY['PENDING','APPROVED','REJECTED'])[1 + g % 3], NULL, NULL, NULL, now() \
             FROM generate_series(1, {n}, 20) g"
        ),
        // Callback attempts for the resolved and closed complaints: a first
        // attempt (reached five times in six), a second for one in five.
        format!(
            "INSERT INTO callback_attempt (id, complaint_id, cycle, at, by_user, reached, satisfied, score, comment) \
             SELECT md5('bench-callback-' || g || '-' || k)::uuid, md5('bench-complaint-' || g)::uuid, 1, \
               timestamptz '2025-12-01 00:00:00+00' + (g::double precision / {n}) * interval '365 days' + k * interval '49 hours', \
               md5('bench-user-1')::uuid, CASE WHEN k = 1 THEN g % 6 <> 0 ELSE true END, NULL, NULL, NULL \
             FROM generate_series(1, {n}) g, generate_series(1, 2) k \
             WHERE g % 8 >= 3 AND (k = 1 OR g % 5 = 0)"
        ),
    ]
}

/// The 1, 5 and 15 minute load averages (Linux), to read the timings against.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
