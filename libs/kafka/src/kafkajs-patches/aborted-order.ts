import { createRequire } from "node:module";

/**
 * kafkajs 2.2.4 drops a read_committed fetch's aborted records with `filterAbortedMessages`, which walks the
 * fetch response's aborted-transaction list assuming it is ordered by first offset, and steps into at most one
 * listed transaction per record. The broker lists aborted transactions in the order their abort markers were
 * written (the transaction index), not by first offset; and a fetch that starts inside several aborted
 * transactions needs all of them active at its first record. Either way records of aborted transactions are
 * handed to the application as if committed: a transaction that began first and was aborted last (a producer
 * held mid-transaction while others abort around it: what a broker or coordinator loss does) leaks its first
 * records, and a fetch resuming inside overlapping aborted transactions leaks some of theirs.
 *
 * This does what the Java client does, on every fetch response kafkajs parses, before its own filter: walk the
 * partition's records in order, make active every listed transaction whose first offset has been reached, drop
 * (as control records, which kafkajs never hands on but still counts for its position) the transactional records
 * of an active producer, and end a producer's abort at its abort marker; then give kafkajs an empty list.
 *
 * Found by test/cluster-faults.test.ts and services/ingester/test/held-transaction.test.ts: an aborted batch of a
 * held transaction read back next to its committed retry (a "duplicate" in entries, the Delta table, certs).
 * kafkajs has no `exports` map, so its fetch response modules are reachable; if their layout differs (another
 * version), nothing is patched and kafkajs behaves as shipped (the tests above would then fail).
 */
interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface FetchResponseModule {
  parse: (data: unknown) => Promise<unknown> | unknown;
  [PATCHED]?: boolean;
}

const PATCHED = Symbol.for("certstream.kafkajs.abortedOrder");
/** Fetch versions whose partitions carry aborted transactions (v4 on; kafkajs 2.2.4 goes up to v11). */
const VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11];

export function applyKafkajsAbortedOrderFix(): boolean {
  const require = createRequire(import.meta.url);
  let patched = 0;
  for (const v of VERSIONS) {
    let mod: FetchResponseModule;
    try {
      mod = require(`kafkajs/src/protocol/requests/fetch/v${v}/response.js`);
    } catch {
      continue;
    }
    if (typeof mod?.parse !== "function") continue;
    if (mod[PATCHED]) {
      patched++;
      continue;
    }
    const parse = mod.parse;
    mod.parse = async (data: unknown) => {
      dropAbortedRecords(data);
      return parse(data);
    };
    mod[PATCHED] = true;
    patched++;
  }
  return patched === VERSIONS.length;
}

interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}

interface FetchedPartition {
  abortedTransactions?: AbortedTransaction[];
  messages?: FetchedRecord[];
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]); // control record key: version 0, type 0 (ABORT)

/** Hides the aborted records of every partition of a decoded fetch response (see above), in place. */
export function dropAbortedRecords(data: unknown): void {
  const responses = (data as { responses?: { partitions?: FetchedPartition[] }[] })?.responses;
  for (const topic of responses ?? []) for (const p of topic.partitions ?? []) dropAborted(p);
}

function dropAborted(p: FetchedPartition): void {
  const listed = p.abortedTransactions;
  if (!listed || listed.length === 0) return;
  const aborted = [...listed].sort((a, b) => compare(BigInt(a.firstOffset), BigInt(b.firstOffset)));
  const active = new Set<string>();
  let next = 0;
  for (const m of p.messages ?? []) {
    const offset = BigInt(m.offset);
    while (next < aborted.length && BigInt(aborted[next].firstOffset) <= offset)
      active.add(aborted[next++].producerId);
    const producerId = m.batchContext?.producerId;
    if (producerId === undefined) continue;
    if (m.isControlRecord) {
      if (m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) active.delete(producerId);
    } else if (m.batchContext?.inTransaction && active.has(producerId)) {
      m.isControlRecord = true;
    }
  }
  p.abortedTransactions = [];
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
