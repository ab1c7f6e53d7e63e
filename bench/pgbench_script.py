#!/usr/bin/env python3
"""Turns the statements one casework request issued (PostgreSQL's own log with
log_statement = 'all', for one database) into a pgbench script that replays
exactly those statements, so pgbench -M prepared measures the database's own
limit for the same SQL.

  pgbench_script.py LOGFILE OFFSET DBNAME [FRESH_JSON] > script.sql

Parameters ($1, $2, …, from the log's DETAIL line) become literals. Values the
request created (FRESH_JSON: {"value": "salt"} for ids, the reference and the
new customer's phone, display and E.164 forms) are
derived from the reference sequence per transaction, so the replayed INSERTs
never collide: `SELECT nextval(…)` keeps its place and stores :nextval with
\\gset; the audit chain upsert stores :head_seq/:head_hash with \\gset and the
audit INSERT uses them (and gen_random_uuid() for its id).
"""
import json
import re
import sys

ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (\S*)@(\S*) ([A-Z]+):  (.*)$")


def entries(text, db):
    cur = None
    for line in text.split("\n"):
        m = ENTRY.match(line)
        if m:
            if cur:
                yield cur
            pid, _user, dbname, level, msg = m.groups()
            cur = (pid, dbname, level, msg) if dbname == db else None
        elif cur and line.startswith("\t"):
            cur = (cur[0], cur[1], cur[2], cur[3] + "\n" + line[1:])
    if cur:
        yield cur


def parse_params(detail):
    # "parameters: $1 = '…', $2 = NULL"
    out, i, s = {}, 0, detail
    while True:
        m = re.compile(r"\$(\d+) = ").search(s, i)
        if not m:
            return out
        n, i = int(m.group(1)), m.end()
        if s.startswith("NULL", i):
            out[n], i = "NULL", i + 4
        else:
            assert s[i] == "'", s[i:i + 40]
            j = i + 1
            while True:
                k = s.index("'", j)
                if s.startswith("''", k):
                    j = k + 2
                    continue
                out[n], i = s[i:k + 1], k + 1
                break


def statements(text, db):
    pending = {}
    result = []
    for pid, _db, level, msg in entries(text, db):
        if level == "LOG" and (msg.startswith("statement: ") or msg.startswith("execute ")):
            sql = msg.split(": ", 1)[1]
            result.append([sql, {}])
            pending[pid] = result[-1]
        elif level == "DETAIL" and msg.startswith("parameters: ") and pid in pending:
            pending[pid][1] = parse_params(msg[len("parameters: "):])
    return result


def guard_colons(sql):
    """pgbench reads `:name` as a variable even inside a string literal, and
    JSON text such as `"sensitive":false` holds such colons: inside such a
    literal, `:x` becomes `:' || 'x` (the literal, parenthesised, turns into
    a text concatenation). Other literals are left untouched."""
    out, i = [], 0
    while i < len(sql):
        if sql[i] != "'":
            out.append(sql[i])
            i += 1
            continue
        j = i + 1
        while True:
            k = sql.index("'", j)
            if sql.startswith("''", k):
                j = k + 2
                continue
            break
        literal = sql[i:k + 1]
        guarded = re.sub(r":(?=[A-Za-z_])", ":' || '", literal)
        out.append(literal if guarded == literal else "(" + guarded + ")")
        i = k + 1
    return "".join(out)


def insert_columns(sql):
    m = re.match(r'\s*INSERT INTO "?(\w+)"? \(([^)]*)\) VALUES \(([^)]*)\)', sql)
    if not m:
        return None, {}
    cols = [c.strip().strip('"') for c in m.group(2).split(",")]
    vals = [v.strip() for v in m.group(3).split(",")]
    return m.group(1), {c: v for c, v in zip(cols, vals)}


def main():
    log, offset, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fresh = json.loads(open(sys.argv[4]).read()) if len(sys.argv) > 4 else {}
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    out = []
    head_read = False  # the last chain head statement was an upsert RETURNING the head
    for sql, params in statements(text, db):
        table, cols = insert_columns(sql)
        override = {}
        if table == "audit_event":
            # After an upsert, the event follows the head it returned; a chain
            # opened by a plain INSERT (a new complaint's) starts at seq 1.
            linked = (("seq", "(:head_seq)::bigint"), ("prev_hash", "(:head_hash)::text")) if head_read else ()
            for col, expr in (("id", "gen_random_uuid()"),) + linked:
                if cols.get(col, "").startswith("$"):
                    override[int(cols[col][1:])] = expr
        if table == "audit_chain":
            head_read = "RETURNING" in sql
        body = re.sub(r"\$(\d+)\b", lambda m: override.get(int(m.group(1)), params.get(int(m.group(1)), m.group(0))), sql)
        for value, salt in fresh.items():
            if salt == "phone":
                expr = "('+86139' || lpad(((:nextval) % 100000000)::text, 8, '0'))"
            elif re.fullmatch(r"[0-9a-f-]{36}", value):
                expr = f"md5('{salt}-' || (:nextval)::text)::uuid"
            else:
                expr = "('CMP-2026-' || (:nextval)::text)"
            body = body.replace(f"'{value}'", f"({expr})").replace(value, f"' || ({expr}) || '")
        body = guard_colons(body)
        gset = (table == "audit_chain" and "RETURNING" in sql) or re.match(r"\s*SELECT nextval\(", body)
        out.append(body.rstrip().rstrip(";") + (" \\gset" if gset else ";"))
    # The fresh values derive from :nextval, and the new customer's phone is
    # used (lock, match) before casework draws the reference: draw it first.
    draws = [i for i, line in enumerate(out) if line.lstrip().startswith("SELECT nextval(")]
    if fresh and draws:
        out.insert(0, out.pop(draws[0]))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
