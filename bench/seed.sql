-- Seeds a realistic mix on PostgreSQL for bench/compare.sh, set-based (a few
-- multi-row INSERT … SELECT statements; ~10 s per 100 000 complaints here).
--   psql -v n=10000 -f bench/seed.sql postgres://…/casework_bench
-- Needs the demo users and teams (`casework serve --demo` or `migrate` + demo).
-- Per complaint: one customer, 0–3 notes, 0–2 evidence rows, ~12 % with
-- escalations (~3 % pending, those past due marked overdue), 10 audit events. Teams and statuses are skewed;
-- ~2 % are sensitive, 0.2 % under legal hold.
--
-- The seeded audit events are FILLER: they sit in chains of their own
-- (`bench-filler:<complaint id>`) with placeholder hashes, so they give the
-- audit table its realistic size and indexes but `audit verify` reports them
-- as broken. Verification throughput is measured separately on chains made by
-- the crate's own append code (bench/audit.sh, examples/audit_bench.rs).
\set ON_ERROR_STOP on
SELECT setseed(0.14);
BEGIN;
CREATE TEMP TABLE b_team AS SELECT id, tier, row_number() OVER (ORDER BY name) - 1 AS i FROM team;
CREATE TEMP TABLE b_user AS
  SELECT id, team_id, row_number() OVER (ORDER BY email) - 1 AS i FROM app_user WHERE role IN ('AGENT', 'SUPERVISOR');
CREATE TEMP TABLE b_c AS
  SELECT g, md5('complaint' || g)::uuid AS id, md5('customer' || g)::uuid AS customer_id,
         now() - ((:n - g) * (63072000.0 / :n)) * interval '1 second' AS created_at,
         random() AS r_team, random() AS r_status, random() AS r_sev, random() AS r_cat, random() AS r_flag,
         random() AS r_user, (random() * 4)::int % 4 AS notes, (random() * 3)::int % 3 AS evidence, random() AS r_esc
  FROM generate_series(1, :n) g;

INSERT INTO customer (id, name, phone, email, created_at)
SELECT customer_id, 'Customer ' || g,
       CASE WHEN g % 3 <> 0 THEN '+86 138 ' || lpad((g % 100000000)::text, 8, '0') END,
       CASE WHEN g % 4 = 0 THEN 'customer' || g || '@example.com' END, created_at
FROM b_c;

INSERT INTO complaint (id, reference, status, channel, category, severity, title, description, customer_id,
  core_demand, currency, emotion, tier, team_id, assignee_id, created_by, sensitive, vulnerable_customer,
  media_attention, group_complaint, legal_hold, reopen_count, first_response_due, resolution_due, sla_breached,
  first_response_breached, resolution_breached, acknowledged_at, resolved_at, closed_at, created_at, updated_at, version)
SELECT c.id,
  'CMP-2025-' || CASE WHEN g < 1000000 THEN lpad(g::text, 6, '0') ELSE g::text END,  -- the demo's are CMP-2026-*
  CASE WHEN r_status < 0.45 THEN 'CLOSED' WHEN r_status < 0.60 THEN 'RESOLVED' WHEN r_status < 0.70 THEN 'INVESTIGATING'
       WHEN r_status < 0.78 THEN 'ACKNOWLEDGED' WHEN r_status < 0.86 THEN 'NEW' WHEN r_status < 0.90 THEN 'RESOLUTION_PROPOSED'
       WHEN r_status < 0.93 THEN 'PENDING_APPROVAL' WHEN r_status < 0.96 THEN 'CUSTOMER_ACCEPTED' ELSE 'REOPENED' END,
  (ARRAY['PHONE','HOTLINE','ONLINE_CHAT','EMAIL','IN_STORE','WEB_FORM','SOCIAL_MEDIA'])[1 + g % 7],
  (ARRAY['PRODUCT_QUALITY','LOGISTICS','SERVICE_ATTITUDE','BILLING','SERVICE_DELAY','SYSTEM_FAILURE','DATA_LOSS','OTHER'])
    [1 + floor(8 * r_cat * r_cat)::int],
  CASE WHEN r_sev < 0.5 THEN 'LOW' WHEN r_sev < 0.8 THEN 'MEDIUM' WHEN r_sev < 0.96 THEN 'HIGH' ELSE 'CRITICAL' END,
  'Complaint ' || g || ': ' || (ARRAY['parcel late','screen cracked','charged twice','rude on the phone','app down'])[1 + g % 5],
  'Benchmark complaint number ' || g || '. The customer describes the problem at some length here.',
  c.customer_id,
  (ARRAY['REFUND','REPLACEMENT','REPAIR','COMPENSATION','APOLOGY','EXPLANATION','OTHER'])[1 + g % 7],
  'CNY', (ARRAY['CALM','AGITATED','ANGRY'])[1 + g % 3],
  t.tier, t.id, u.id, u.id,
  r_flag < 0.02, r_flag > 0.97, r_flag > 0.995, false, r_flag < 0.002,
  CASE WHEN r_status >= 0.96 THEN 1 ELSE 0 END,
  c.created_at + interval '1 day', c.created_at + interval '7 days', c.created_at + interval '7 days' < now(),
  -- Deadlines in the past were seen by the SLA monitor long ago.
  c.created_at + interval '1 day' < now() AND NOT (r_status < 0.78 OR r_status >= 0.86),
  c.created_at + interval '7 days' < now(),
  CASE WHEN r_status < 0.78 OR r_status >= 0.86 THEN c.created_at + interval '2 hours' END,
  CASE WHEN r_status < 0.60 THEN c.created_at + interval '3 days' END,
  CASE WHEN r_status < 0.45 THEN c.created_at + interval '4 days' END,
  c.created_at, c.created_at + interval '4 days', 3
FROM b_c c
JOIN b_team t ON t.i = floor((SELECT count(*) FROM b_team) * c.r_team * c.r_team)::int
JOIN b_user u ON u.i = floor((SELECT count(*) FROM b_user) * c.r_user)::int;

INSERT INTO note (id, complaint_id, author_id, body, visibility, created_at)
SELECT md5('note' || c.g || '-' || k)::uuid, c.id, cm.created_by,
       'Note ' || k || ' on complaint ' || c.g || ': called the customer back.',
       CASE WHEN k = 2 THEN 'CUSTOMER_UPDATE' ELSE 'INTERNAL' END, c.created_at + k * interval '1 hour'
FROM b_c c JOIN complaint cm ON cm.id = c.id, generate_series(1, c.notes) k;

INSERT INTO evidence (id, complaint_id, kind, filename, declared_content_type, detected_content_type, size_bytes,
  sha256, storage_key, uploaded_by, uploaded_at)
SELECT md5('evidence' || c.g || '-' || k)::uuid, c.id, (ARRAY['PHOTO','SCREENSHOT','CHAT_LOG'])[k], 'evidence-' || k || '.png',
       'image/png', 'image/png', 20000 + c.g % 1000, encode(sha256(('e' || c.g || '-' || k)::bytea), 'hex'),
       'sha256/' || encode(sha256(('e' || c.g || '-' || k)::bytea), 'hex'), cm.created_by, c.created_at + k * interval '30 minutes'
FROM b_c c JOIN complaint cm ON cm.id = c.id, generate_series(1, c.evidence) k;

INSERT INTO escalation (id, complaint_id, from_tier, to_tier, trigger, reason, requested_by, requested_at, status,
  decided_by, decided_at, decision_note, due_by, overdue)
SELECT md5('escalation' || c.g || '-' || k)::uuid, c.id, 'TIER1', 'TIER2',
       (ARRAY['CUSTOMER_REQUEST','EXCEEDS_AUTHORITY','OVERDUE','HIGH_IMPACT','TECHNICAL'])[1 + c.g % 5],
       'Escalated for the benchmark', cm.created_by, c.created_at + k * interval '1 day',
       CASE WHEN k = 2 OR c.r_esc < 0.03 THEN 'PENDING' ELSE 'APPROVED' END,
       CASE WHEN k = 2 OR c.r_esc < 0.03 THEN NULL ELSE cm.created_by END,
       CASE WHEN k = 2 OR c.r_esc < 0.03 THEN NULL ELSE c.created_at + k * interval '1 day' + interval '1 hour' END,
       NULL, c.created_at + k * interval '1 day' + interval '4 hours',
       -- Pending past due: already marked, as the SLA monitor of a running
       -- system leaves them (else the benchmark measures it catching up).
       (k = 2 OR c.r_esc < 0.03) AND c.created_at + k * interval '1 day' + interval '4 hours' < now()
FROM b_c c JOIN complaint cm ON cm.id = c.id, generate_series(1, CASE WHEN c.r_esc < 0.12 THEN 1 + (c.g % 2) ELSE 0 END) k;

INSERT INTO audit_event (id, chain_key, seq, occurred_at, actor_id, actor_role, request_id, client_addr, action,
  target_type, target_id, complaint_id, sensitivity, reason, changes, canonical, prev_hash, entry_hash, format_version)
SELECT md5('audit' || c.g || '-' || k)::uuid, 'bench-filler:' || c.id, k, c.created_at + k * interval '10 minutes',
       cm.created_by, 'AGENT', 'bench-' || c.g || '-' || k, '127.0.0.1',
       (ARRAY['complaint.created','complaint.assigned','complaint.acknowledged','note.added','evidence.uploaded',
              'complaint.finding_recorded','complaint.resolution_proposed','complaint.customer_decision',
              'complaint.resolved','complaint.closed'])[k],
       'complaint', c.id::text, c.id, CASE WHEN cm.sensitive THEN 'SENSITIVE' ELSE 'NORMAL' END, NULL,
       '{"status":{"from":"NEW","to":"ACKNOWLEDGED"}}',
       '{"filler":true,"complaint":"' || c.id || '","seq":' || k || ',"padding":"' || repeat('x', 400) || '"}',
       repeat('0', 64), encode(sha256(('filler' || c.g || '-' || k)::bytea), 'hex'), 1
FROM b_c c JOIN complaint cm ON cm.id = c.id, generate_series(1, 10) k;

COMMIT;
ANALYZE;
