"""Independent reader for test/compose-e2e.test.ts: opens the delta sink's table with Python `deltalake` (delta-rs)
and prints one JSON line: {"rows", "distinct", "logs": {source_url: {"min", "max", "count", "distinct"}}}."""

import json
import sys

from deltalake import DeltaTable

rows = DeltaTable(sys.argv[1]).to_pyarrow_table(columns=["source_url", "cert_index"]).to_pylist()
logs = {}
for r in rows:
    logs.setdefault(r["source_url"], []).append(r["cert_index"])
print(
    json.dumps(
        {
            "rows": len(rows),
            "distinct": len({(r["source_url"], r["cert_index"]) for r in rows}),
            "logs": {
                url: {"min": min(ix), "max": max(ix), "count": len(ix), "distinct": len(set(ix))}
                for url, ix in logs.items()
            },
        }
    )
)
