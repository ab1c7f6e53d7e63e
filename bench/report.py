#!/usr/bin/env python3
"""Turns the raw lines of bench/compare.sh into bench/results/compare-<N>.json
and .md: per shape and client count casework, PostGraphile, pgbench and the
floor side by side, with the ratios the targets of issue 14 are stated in."""
import datetime
import json
import sys

raw, complaints, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(raw) if l.strip()]
notes = {r["key"]: r["value"] for r in rows if r["kind"] == "note"}
wrk = [r for r in rows if r["kind"] == "wrk"]
pgb = [r for r in rows if r["kind"] == "pgbench"]
stmts = [r for r in rows if r["kind"] == "statements"]


def find(items, **kw):
    for r in items:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def ratio(a, b):
    return round(a["rps"] / b["rps"], 2) if a and b and b["rps"] else None


clients = sorted({r["clients"] for r in wrk + pgb})
shapes = [
    ("list", "(a) list of 50 with customer, assignee, evidence count, latest escalation"),
    ("listplain", "(a') the same page filtered to `sensitive: false, legalHold: false` (no audited reads; PostGraphile runs (a) unchanged)"),
    ("byid", "(b) one complaint by id with notes and escalations"),
    ("create", "(c) createComplaint with its audit event"),
    ("queue", "(d) the supervisor's escalation queue (50)"),
    ("typename", "floor: `{ __typename }` (auth included on casework)"),
]
table = []
for shape, _ in shapes:
    for c in clients:
        cw = find(wrk, server="casework", shape=shape, clients=c)
        pg = find(wrk, server="postgraphile", shape=shape, clients=c)
        bench = find(pgb, shape=shape, clients=c)
        floor = find(wrk, server="axum-floor", shape=shape, clients=c)
        if not (cw or pg or bench):
            continue
        table.append(dict(shape=shape, clients=c, casework=cw, postgraphile=pg, pgbench=bench, floor=floor,
                          casework_over_postgraphile=ratio(cw, pg), casework_over_pgbench=ratio(cw, bench)))

result = dict(complaints=int(complaints), date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              notes=notes, statements=stmts, table=table)
with open(f"{outdir}/compare-{complaints}.json", "w") as f:
    json.dump(result, f, indent=1)


def cell(r, key="rps"):
    if not r:
        return "–"
    return f"{r['rps']:.0f} rps, p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms"


md = [f"# casework vs PostGraphile 5 vs pgbench — {int(complaints):,} complaints".replace(",", " "), "",
      f"Run {result['date']} by `bench/compare.sh --complaints {complaints}`; {notes.get('duration_s', '?')} s per point (wrk / pgbench).",
      f"Machine: {notes.get('machine', '?')} — see the load average per row (2 cores: above 2 means other work was competing).",
      f"Versions: {notes.get('versions', '?')}.", f"Database: {notes.get('database', '?')}.", ""]
if "seed_seconds" in notes:
    md.append(f"Seeded in {float(notes['seed_seconds']):.1f} s (bench/seed.sql). ")
md.append("")
for shape, title in shapes:
    rs = [r for r in table if r["shape"] == shape]
    if not rs:
        continue
    md += [f"## {title}", "",
           "| clients | casework | PostGraphile 5 | pgbench (same SQL) | axum floor | cw/PGL | cw/pgbench | cw CPU ms/req (pg) | PGL CPU ms/req (pg) | load avg |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        cw, pg = r["casework"], r["postgraphile"]
        cpu = lambda x: f"{x['server_cpu_ms_per_req']} ({x['pg_cpu_ms_per_req']})" if x else "–"
        load = (cw or pg or r["pgbench"] or {}).get("load", "")
        md.append(f"| {r['clients']} | {cell(cw)} | {cell(pg)} | {cell(r['pgbench'])} | {cell(r['floor'])} | "
                  f"{r['casework_over_postgraphile'] or '–'} | {r['casework_over_pgbench'] or '–'} | {cpu(cw)} | {cpu(pg)} | {load} |")
    md.append("")
md += ["## SQL statements per request (PostgreSQL's log, log_statement = all; BEGIN/COMMIT included)", "",
       "| shape | casework | casework's own counter | PostGraphile 5 |", "|---|---|---|---|"]
for shape, _ in shapes:
    cw = find(stmts, server="casework", shape=shape)
    pg = find(stmts, server="postgraphile", shape=shape)
    if cw or pg:
        md.append(f"| {shape} | {cw['per_request'] if cw else '–'} | {cw['metric_per_request'] if cw else '–'} | {pg['per_request'] if pg else '–'} |")
md += ["", "## Memory, audit, upload", ""]
for key in ["casework_rss_idle_kb", "casework_rss_peak_kb", "casework_rss_after_kb", "casework_rss_after_creates_kb", "postgraphile_rss_peak_kb",
            "audit_verify_events_per_s_sqlite", "audit_verify_events_per_s_postgres", "audit_bench_sqlite", "audit_bench_postgres", "upload", "failed"]:
    if key in notes:
        v = notes[key]
        if key.endswith("_kb"):
            v = f"{int(v) / 1024:.0f} MiB"
        md.append(f"- {key}: {v}")
md.append("")
with open(f"{outdir}/compare-{complaints}.md", "w") as f:
    f.write("\n".join(md))
print("\n".join(md))
