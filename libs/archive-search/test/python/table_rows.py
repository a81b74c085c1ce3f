"""Reads an archive table with delta-rs (the `deltalake` package) and prints the columns a search filters on, one
JSON object per row: the reference answer for the TypeScript search, computed without any of its pruning."""
import json
import sys

from deltalake import DeltaTable

COLUMNS = ["cert_index", "log_name", "source_name", "all_domains", "registered_domains", "issuer_o", "issuer_cn", "seen", "not_before_ts", "sha256"]


def main() -> None:
    t = DeltaTable(sys.argv[1])
    names = set(t.schema().to_arrow().names)
    data = t.to_pyarrow_table(columns=[c for c in COLUMNS if c in names])
    for row in data.to_pylist():
        for k in ("seen", "not_before_ts"):
            v = row.get(k)
            if v is not None:
                row[k] = int(v.timestamp() * 1_000_000)
        print(json.dumps(row))


main()
