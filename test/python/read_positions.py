"""Independent read_committed reader for the exactly-once audits: reads a whole topic with confluent-kafka
(librdkafka, not kafkajs) and prints one JSON line per record: {"partition", "offset", "key" (hex), "headers"}.
Values are not decoded. It stops once every partition's position has reached the end that was current when it
started (read_committed: the last stable offset), so it waits for no timeout on a topic that is complete.

usage: read_positions.py <bootstrap> <topic>
"""

import json
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    bootstrap, topic = sys.argv[1], sys.argv[2]
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"py-positions-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    ends = {}
    for p in partitions:
        # With read_committed the high watermark returned is the last stable offset.
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    idle = 0
    try:
        while idle < 60:
            pending = [p for p, end in ends.items() if end > 0 and position(consumer, topic, p) < end]
            if not pending:
                return 0
            msg = consumer.poll(0.5)
            if msg is None:
                idle += 1
                continue
            if msg.error():
                print(f"kafka error: {msg.error()}", file=sys.stderr)
                return 2
            idle = 0
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            key = msg.key()
            line = {"partition": msg.partition(), "offset": msg.offset(), "key": key.hex() if key else None}
            print(json.dumps({**line, "headers": headers}), flush=True)
    finally:
        consumer.close()
    print(f"{topic}: not read to its end within 30 s idle", file=sys.stderr)
    return 1


def position(consumer, topic, partition):
    offset = consumer.position([TopicPartition(topic, partition)])[0].offset
    return offset if offset >= 0 else 0


if __name__ == "__main__":
    sys.exit(main())
