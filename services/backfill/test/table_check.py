"""Reads the archive table with the independent reader (Python deltalake) for the backfill tests.

  table_check.py indices <table>                    -> {log_id: {"rows", "distinct", "min", "max", "dups", "holes"}}
  table_check.py compare <table_a> <table_b> <log>  -> {"a_rows", "b_rows", "compared", "mismatches": [...]}

`compare` matches rows of one log by cert_index and compares every column except `seen` and `seen_date`
(seen_date is derived from seen).
"""
import json
import os
import sys

from deltalake import DeltaTable


def indices(path):
    t = DeltaTable(path).to_pyarrow_table(columns=["log_id", "cert_index"])
    per = {}
    for log_id, idx in zip(t.column("log_id").to_pylist(), t.column("cert_index").to_pylist()):
        per.setdefault(log_id, []).append(idx)
    out = {}
    for log_id, xs in per.items():
        xs.sort()
        seen = set()
        dups = []
        for x in xs:
            if x in seen:
                dups.append(x)
            seen.add(x)
        lo, hi = xs[0], xs[-1]
        holes = [i for i in range(lo, hi + 1) if i not in seen]
        out[log_id] = {
            "rows": len(xs),
            "distinct": len(seen),
            "min": lo,
            "max": hi,
            "dups": dups[:50],
            "holes": holes[:50],
            "hole_count": len(holes),
        }
    return out


def rows_of(path, log):
    t = DeltaTable(path).to_pyarrow_table()
    cols = [c for c in t.column_names if c not in ("seen", "seen_date")]
    rows = {}
    data = {c: t.column(c).to_pylist() for c in cols}
    for i in range(t.num_rows):
        if data["log_id"][i] != log:
            continue
        r = {c: data[c][i] for c in cols}
        rows[r["cert_index"]] = r
    return cols, rows


def compare(a, b, log):
    cols_a, ra = rows_of(a, log)
    cols_b, rb = rows_of(b, log)
    mismatches = []
    if cols_a != cols_b:
        mismatches.append({"columns": [cols_a, cols_b]})
    compared = 0
    for idx, row in ra.items():
        other = rb.get(idx)
        if other is None:
            continue
        compared += 1
        for c in cols_a:
            if row.get(c) != other.get(c):
                va, vb = row.get(c), other.get(c)
                mismatches.append({"index": idx, "column": c, "a": repr(va)[:200], "b": repr(vb)[:200]})
    return {"a_rows": len(ra), "b_rows": len(rb), "compared": compared, "mismatches": mismatches[:20]}


def schema(path):
    t = DeltaTable(path)
    return {
        "partition_columns": t.metadata().partition_columns,
        "columns": [f.name for f in t.schema().fields],
        "protocol": [t.protocol().min_reader_version, t.protocol().min_writer_version],
    }


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "indices":
        print(json.dumps(indices(sys.argv[2])))
    elif cmd == "schema":
        print(json.dumps(schema(sys.argv[2])))
    elif cmd == "compare":
        print(json.dumps(compare(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        raise SystemExit(f"unknown command {cmd}")
    # Leave without running native destructors: under load deltalake/pyarrow worker threads have been seen to
    # abort the interpreter at exit ("terminate called without an active exception") after the answer was printed.
    sys.stdout.flush()
    os._exit(0)
