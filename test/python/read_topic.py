"""Independent reader for the tests: reads a topic (read_committed) with confluent-kafka (librdkafka) and decodes
every value with its Schema Registry AvroDeserializer (writer schema fetched by id from the registry, Apicurio's
Confluent-compatible API), so what TypeScript producers wrote is checked by another implementation.

usage: read_topic.py <bootstrap> <registry_url> <topic> <expected_count>
prints one JSON line per record: {"partition", "offset", "key" (hex), "headers", "schema_id", "value"} where value
is the fully decoded CertificateEntry with bytes as lowercase hex. Exits 1 when fewer records arrive.
"""

import datetime
import json
import sys
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    # timestamp-millis fields (not_before_ts, not_after_ts) decode to aware datetimes.
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def main() -> int:
    bootstrap, registry_url, topic, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"py-reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    idle = 0
    try:
        # Stop after 30 s without a record (0.5 s polls).
        while seen < expected and idle < 60:
            msg = consumer.poll(0.5)
            if msg is None:
                idle += 1
                continue
            if msg.error():
                print(f"kafka error: {msg.error()}", file=sys.stderr)
                return 2
            idle = 0
            value = deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            print(
                json.dumps(
                    {
                        "partition": msg.partition(),
                        "offset": msg.offset(),
                        "key": msg.key().hex(),
                        "headers": headers,
                        "schema_id": int.from_bytes(msg.value()[1:5], "big"),
                        "value": plain(value),
                    }
                ),
                flush=True,
            )
            seen += 1
    finally:
        consumer.close()
    if seen < expected:
        print(f"only {seen} of {expected} records arrived", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
