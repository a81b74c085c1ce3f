"""Independent reader check: consume records a TypeScript producer wrote and decode them with
confluent-kafka's AvroDeserializer against the same schema registry (Apicurio's Confluent-compatible API).

usage: decode_avro.py <bootstrap> <registry_url> <topic> <count>
prints one JSON object per record: key (hex), schema id, and a few decoded fields.
"""

import hashlib
import json
import sys
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    bootstrap, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"py-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    idle_polls = 0
    try:
        while seen < count and idle_polls < 60:
            msg = consumer.poll(0.5)
            if msg is None:
                idle_polls += 1
                continue
            if msg.error():
                print(f"kafka error: {msg.error()}", file=sys.stderr)
                return 2
            value = msg.value()
            entry = deserializer(value, SerializationContext(topic, MessageField.VALUE))
            print(
                json.dumps(
                    {
                        "key": msg.key().hex(),
                        "schema_id": int.from_bytes(value[1:5], "big"),
                        "index": entry["index"],
                        "log_id": entry["log"]["id"],
                        "kind": entry["log"]["kind"],
                        "update_type": entry["update_type"],
                        "leaf_der_sha256": hashlib.sha256(entry["leaf_der"]).hexdigest(),
                        "all_domains": entry["leaf"]["all_domains"] if entry["leaf"] else None,
                        "chain_len": len(entry["chain"]),
                        "parse_error": entry["parse_error"],
                    }
                ),
                flush=True,
            )
            seen += 1
    finally:
        consumer.close()
    if seen < count:
        print(f"only {seen} of {count} records arrived", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
