import { createRequire } from "node:module";

/**
 * kafkajs 2.2.4 drops a read_committed fetch's aborted records with `filterAbortedMessages`, which walks the
 * fetch response's aborted-transaction list assuming it is ordered by first offset: it steps into the list's head
 * only once a record's offset reaches the head's first offset. The broker lists aborted transactions in the order
 * their abort markers were written (the transaction index), not by first offset. When a transaction that began
 * earlier is aborted later than another one (a producer held mid-transaction while others abort around it: what a
 * broker or coordinator loss does), the head is the later-starting one, and the records of the earlier one that
 * precede it are handed to the application as if committed. The Java client orders the list by first offset (a
 * priority queue); this does the same to every fetch response kafkajs parses, before its filter sees it.
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
      orderAbortedTransactions(data);
      return parse(data);
    };
    mod[PATCHED] = true;
    patched++;
  }
  return patched === VERSIONS.length;
}

/** Sorts every partition's `abortedTransactions` of a decoded fetch response by first offset, in place. */
export function orderAbortedTransactions(data: unknown): void {
  const responses = (
    data as { responses?: { partitions?: { abortedTransactions?: AbortedTransaction[] }[] }[] }
  )?.responses;
  for (const topic of responses ?? []) {
    for (const p of topic.partitions ?? []) {
      const list = p.abortedTransactions;
      if (!list || list.length < 2) continue;
      list.sort((a, b) => {
        const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
        return d < 0n ? -1 : d > 0n ? 1 : 0;
      });
    }
  }
}
