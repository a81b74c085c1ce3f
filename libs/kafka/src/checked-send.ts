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
 * Sends `messages` (each with its partition set) as one send per partition, in parallel, and checks that each
 * partition was answered. Two faults of kafkajs 2.2.4's multi-broker send (producer/sendMessages.js), which keeps a
 * send's answers per broker and retries only the brokers without one, cannot happen to a one-partition send:
 * - a retry (after CONCURRENT_TRANSACTIONS on one broker's AddPartitionsToTxn, say) re-sends to a broker whose
 *   produce was still in flight when the retry began, with new sequence numbers: the records are written twice, in
 *   the same transaction, and commit twice;
 * - when a broker dies mid-send and its partitions move to a broker that had already answered, the moved
 *   partitions' messages are never sent, and the send still resolves: the transaction commits without them.
 * The check stays as a guard: a partition without an answer is an error, and the caller aborts.
 */
export async function checkedSend(
  sender: Sender,
  topic: string,
  messages: Message[],
): Promise<RecordMetadata[]> {
  const byPartition = new Map<number, Message[]>();
  for (const m of messages) {
    if (m.partition === undefined)
      throw new Error(`${topic}: checkedSend needs every message's partition set`);
    const list = byPartition.get(m.partition);
    if (list) list.push(m);
    else byPartition.set(m.partition, [m]);
  }
  const answers = await Promise.all(
    [...byPartition].map(async ([partition, group]) => {
      const answered = await sender.send({ topic, messages: group });
      const mine = answered.filter((r) => r.topicName === topic && r.partition === partition);
      if (mine.length === 0) throw new UnacknowledgedSendError(topic, [partition]);
      return mine;
    }),
  );
  return answers.flat();
}
