import {
  type Message,
  Partitioners,
  type PartitionMetadata,
  type RecordMetadata,
  type Sender,
} from "kafkajs";

/**
 * The partition kafkajs' default (Java-compatible, murmur2) partitioner gives a keyed message in a topic of
 * `partitions` partitions: callers that must know where each message goes set it themselves.
 */
export function keyPartitioner(topic: string, partitions: number): (key: Buffer) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from(
    { length: partitions },
    (_, i) =>
      ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }) as PartitionMetadata,
  );
  return (key) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

/** A send that resolved without an answer for some of the partitions its messages went to. */
export class UnacknowledgedSendError extends Error {
  readonly partitions: number[];

  constructor(topic: string, partitions: number[]) {
    super(
      `${topic}: kafkajs reported the send done without an answer for partitions ${partitions.join(",")}`,
    );
    this.name = "UnacknowledgedSendError";
    this.partitions = partitions;
  }
}

/**
 * Sends `messages` (each with its partition set) and checks that every partition they went to was answered.
 *
 * kafkajs 2.2.4 (producer/sendMessages.js) keeps a send's answers per broker and, on a retry, sends only to
 * brokers without one. When a broker dies mid-send and its partitions move to a broker that had already
 * answered for others, the moved partitions' messages are never sent, and the send still resolves. In a
 * transaction that commits without them. Here it is an error: the caller aborts and tries the batch again.
 */
export async function checkedSend(
  sender: Sender,
  topic: string,
  messages: Message[],
): Promise<RecordMetadata[]> {
  const wanted = new Set<number>();
  for (const m of messages) {
    if (m.partition === undefined)
      throw new Error(`${topic}: checkedSend needs every message's partition set`);
    wanted.add(m.partition);
  }
  const answered = await sender.send({ topic, messages });
  for (const r of answered) if (r.topicName === topic) wanted.delete(r.partition);
  if (wanted.size > 0)
    throw new UnacknowledgedSendError(
      topic,
      [...wanted].sort((a, b) => a - b),
    );
  return answered;
}
