"""Real certstream-python client (PyPI `certstream`): collect N messages from a URL, touching the keys the
certstream CLI reads (a missing key crashes it), then print one JSON summary line and exit."""
import datetime
import json
import os
import sys

import certstream

url, want = sys.argv[1], int(sys.argv[2])
got = []


def on_message(message, _context):
    kind = message["message_type"]
    if kind == "certificate_update":
        data = message["data"]
        # exactly what `certstream` (the CLI) formats for every message
        line = "[{}] {} {} [{}]".format(
            datetime.datetime.fromtimestamp(data["seen"]).isoformat(),
            data["source"]["url"],
            data["leaf_cert"]["subject"]["CN"],
            ", ".join(data["leaf_cert"]["all_domains"]),
        )
        got.append({"type": kind, "cert_index": data["cert_index"], "line": line,
                    "has_der": "as_der" in data["leaf_cert"], "has_chain": "chain" in data})
    elif kind == "dns_entries":
        got.append({"type": kind, "domains": message["data"]})
    if len(got) >= want:
        print(json.dumps({"messages": got}), flush=True)
        os._exit(0)


def on_open():
    print("OPEN", flush=True)


certstream.listen_for_events(on_message, url=url, on_open=on_open, setup_logger=False)
