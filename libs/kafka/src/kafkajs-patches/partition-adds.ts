import { createRequire } from "node:module";

/**
 * One AddPartitionsToTxn at a time per transactional id, the waiting ones merged into one request.
 *
 * Where the CONCURRENT_TRANSACTIONS warnings ("The producer attempted to update a transaction while another
 * concurrent operation on the same transaction was ongoing") came from: the coordinator changes one transaction's
 * state one step at a time, and refuses a request that arrives while the previous step is still being written to
 * __transaction_state. Two causes:
 *
 * 1. Ours, on clusters of more than one broker: checkedSend sends each partition of a transaction on its own, in
 *    parallel, and kafkajs adds a partition to the transaction right before its first produce
 *    (eosManager.addPartitionsToTransaction) under a lock per broker, so one add per broker was in flight at once
 *    for the same transaction: every transaction over several brokers' partitions drew refusals and retries. This
 *    patch sends the first add at once; adds that arrive while it is in flight wait and go out together, merged,
 *    when it is answered: the coordinator never sees two adds of one transaction at once from us. (On a single
 *    broker its lock already serialised them.)
 * 2. kafkajs's and harmless, on any cluster: commit() resolves when the coordinator has logged PrepareCommit; it
 *    then writes the markers and CompleteCommit, and refuses the next transaction's first add meanwhile (measured
 *    on the single-node stack: 2 refusals in 12 back-to-back transactions; the 77 warnings of a 17-minute ingester
 *    run were these). kafkajs retries after 25 ms (TRANSACTIONAL_RETRY; the Java client after 20 ms and quietly),
 *    so createKafka logs these retried answers at trace (client.ts); one that outlasts the retries reaches the
 *    caller and is logged there with context.
 *
 * kafkajs has no `exports` map, so Broker is reachable; if its layout differs (another version) nothing is
 * patched and kafkajs behaves as shipped.
 */
interface AddPartitionsRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

interface BrokerLike {
  addPartitionsToTxn(request: AddPartitionsRequest): Promise<unknown>;
}

interface Waiter {
  request: AddPartitionsRequest;
  broker: BrokerLike;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const PATCHED = Symbol.for("certstream.kafkajs.partitionAdds");

/** Requests sent and the most ever in flight for one transactional id (tests read it). */
export const partitionAddStats = { requests: 0, merged: 0, maxInFlight: 0, refused: 0 };

/** Merges the topics of several requests, each partition once. */
export function mergeTopics(requests: readonly AddPartitionsRequest[]): AddPartitionsRequest["topics"] {
  const byTopic = new Map<string, Set<number>>();
  for (const r of requests)
    for (const t of r.topics) {
      let set = byTopic.get(t.topic);
      if (!set) {
        set = new Set();
        byTopic.set(t.topic, set);
      }
      for (const p of t.partitions) set.add(p);
    }
  return [...byTopic].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

type AddPartitions = (this: BrokerLike, request: AddPartitionsRequest) => Promise<unknown>;

/**
 * Wraps `original` (Broker.prototype.addPartitionsToTxn): per transactional id one request in flight; calls that
 * arrive meanwhile wait and go out together as one request (their topics merged) when it is answered.
 */
export function serializePartitionAdds(original: AddPartitions): AddPartitions {
  /** Per transactional id: the adds waiting for the one in flight (no entry: none in flight). */
  const waiting = new Map<string, Waiter[]>();
  const inFlight = new Map<string, number>();

  const send = (broker: BrokerLike, request: AddPartitionsRequest): Promise<unknown> => {
    const id = request.transactionalId;
    const n = (inFlight.get(id) ?? 0) + 1;
    inFlight.set(id, n);
    partitionAddStats.requests++;
    partitionAddStats.maxInFlight = Math.max(partitionAddStats.maxInFlight, n);
    return original
      .call(broker, request)
      .catch((e: unknown) => {
        if ((e as { type?: string }).type === "CONCURRENT_TRANSACTIONS") partitionAddStats.refused++;
        throw e;
      })
      .finally(() => {
        const left = (inFlight.get(id) ?? 1) - 1;
        if (left === 0) inFlight.delete(id);
        else inFlight.set(id, left);
      });
  };

  // Sends what waited, as one request (the producer id and epoch of the latest caller: all callers share one
  // transaction, and a newer epoch fences an older one anyway), and keeps draining until nothing waits.
  const drain = (id: string): void => {
    const queue = waiting.get(id);
    if (!queue || queue.length === 0) {
      waiting.delete(id);
      return;
    }
    const batch = queue.splice(0, queue.length);
    const last = batch[batch.length - 1];
    if (batch.length > 1) partitionAddStats.merged += batch.length - 1;
    send(last.broker, { ...last.request, topics: mergeTopics(batch.map((w) => w.request)) }).then(
      (v) => {
        for (const w of batch) w.resolve(v);
        drain(id);
      },
      (e: unknown) => {
        for (const w of batch) w.reject(e);
        drain(id);
      },
    );
  };

  return function (this: BrokerLike, request: AddPartitionsRequest): Promise<unknown> {
    const id = request.transactionalId;
    const queue = waiting.get(id);
    // One in flight: wait for it, then go out with the others that waited.
    if (queue)
      return new Promise((resolve, reject) => queue.push({ request, broker: this, resolve, reject }));
    waiting.set(id, []);
    return send(this, request).finally(() => drain(id));
  };
}

export function applyKafkajsPartitionAddsFix(): boolean {
  let Broker: { prototype: BrokerLike & { [PATCHED]?: boolean } };
  try {
    Broker = createRequire(import.meta.url)("kafkajs/src/broker/index.js");
  } catch {
    return false;
  }
  const proto = Broker?.prototype;
  if (!proto || typeof proto.addPartitionsToTxn !== "function") return false;
  if (proto[PATCHED]) return true;
  proto.addPartitionsToTxn = serializePartitionAdds(proto.addPartitionsToTxn);
  proto[PATCHED] = true;
  return true;
}
