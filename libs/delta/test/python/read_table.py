"""Reads a Delta table with delta-rs (the `deltalake` package) and prints what a test needs to compare, as JSON.

Independent of our TypeScript reader: schema, partitioning, protocol, version, txn-free row data.
"""
import base64
import json
import os
import sys

from deltalake import DeltaTable


def value(v):
    if isinstance(v, bytes):
        return {"b64": base64.b64encode(v).decode()}
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, list):
        return [value(x) for x in v]
    return v


def main() -> None:
    path = sys.argv[1]
    # s3:// tables: delta-rs storage options as JSON in DELTA_STORAGE_OPTIONS (endpoint, keys, AWS_ALLOW_HTTP).
    options = json.loads(os.environ.get("DELTA_STORAGE_OPTIONS") or "null")
    t = DeltaTable(path, storage_options=options)
    data = t.to_pyarrow_table()
    arrow_schema = data.schema
    rows = data.to_pylist()
    out = {
        "version": t.version(),
        "protocol": {"minReaderVersion": t.protocol().min_reader_version, "minWriterVersion": t.protocol().min_writer_version},
        "partition_columns": t.metadata().partition_columns,
        "schema": [[f.name, str(f.type), f.nullable] for f in arrow_schema],
        "delta_schema": json.loads(t.schema().to_json()),
        "num_files": len(t.file_uris()),
        "txns": {app: t.transaction_version(app) for app in sys.argv[2:]},
        "rows": [{k: value(v) for k, v in r.items()} for r in rows],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
