/**
 * A transaction Kafka tore (committed in part, aborted in part: a coordinator restarted before the controller
 * fenced it, docs/ingester.md "Kafka's part") is completed by whoever resumes the log, from Kafka alone: the
 * state records name their batch's offsets. Unit part: the decisions; integration part (real broker and
 * registry): the writer gone for good and a fresh watcher completing both kinds of tear.
 */
import { fromRawEntry } from "@certstream/ct";
import { HEADER_LOG_INDEX, StateCodec, transactionalProducer, valueSubject } from "@certstream/kafka";
import { registry } from "@certstream/metrics";
import type { CertificateEntry, IngesterState, LogSource } from "@certstream/schema";
import type { Message, Producer, ProducerRecord, RecordMetadata } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { Rfc6962StandInLog } from "../../../test/ct-standin/rfc6962-log.ts";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import type { LogReader } from "../src/log-reader.ts";
import { LogWatcher, type WatcherDeps, type WatcherSettings } from "../src/log-watcher.ts";
import { StateView } from "../src/state-view.ts";
import {
  type Found,
  missingOfCommitted,
  noteWritten,
  readBackRanges,
  tornAhead,
  type Written,
  writtenBatch,
} from "../src/torn-batch.ts";
import {
  entryAudit,
  logger,
  readTopic,
  sleep,
  testCodec,
  testKafka,
  uniqueNames,
  waitFor,
  withTransaction,
} from "./harness.ts";

// Batch [141, 156) of one log, as in the three-node broker-kill runs that found Kafka tearing transactions:
// index i on partition i % 3 at offset 1000 + i.
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const at = (indexes: number[]): Found[] =>
  indexes.map((index) => ({ index, partition: index % 3, offset: BigInt(1000 + index) }));
function state(next: number, from: number | null): IngesterState {
  return {
    log_id: "log",
    log_url: "",
    next_index: next,
    tree_size: 200,
    updated_at: 0,
    owner: "r",
    batch:
      from === null
        ? null
        : {
            from_index: from,
            entries_offsets: [0, 1, 2].map((partition) => ({
              partition,
              first: 1000 + from,
              last: 1000 + next,
            })),
          },
  };
}

describe("the committed batch read back", () => {
  it("misses nothing when committed whole; a state without a batch has nothing to check", () => {
    expect(missingOfCommitted(state(156, 141), at(range(141, 156)))).toEqual([]);
    expect(missingOfCommitted(state(156, null), [])).toEqual([]);
  });

  it("names the entries Kafka lost when the state record committed (the run that lost 147, 151, 152)", () => {
    const present = range(141, 156).filter((i) => ![147, 151, 152].includes(i));
    expect(missingOfCommitted(state(156, 141), at(present))).toEqual([147, 151, 152]);
  });
});

describe("a batch after the position, its state record aborted", () => {
  it("is nothing when it aborted whole", () => {
    expect(tornAhead(141, [state(156, 141)], [])).toBeNull();
  });

  it("is covered whole by the next batch, without the entries it committed", () => {
    const committed = [143, 146, 149, 152, 155]; // one partition's share committed, the rest aborted
    const t = tornAhead(141, [state(156, 141)], at([...committed, 140])); // 140: before the position, not its
    expect(t).not.toBeNull();
    if (!t) return;
    expect([t.from, t.to]).toEqual([141, 156]);
    expect([...t.present].sort((a, b) => a - b)).toEqual(committed);
    expect(t.written).toEqual(new Map([[2, { first: 1143n, last: 1155n }]]));
  });
});

describe("offsets", () => {
  it("noteWritten keeps per partition the first and last offset over several sends", () => {
    const written: Written = new Map();
    const answer = (partition: number, baseOffset: string) =>
      ({ topicName: "entries", partition, errorCode: 0, baseOffset }) as RecordMetadata;
    const m = (partition: number): Message => ({ value: "x", partition });
    noteWritten(written, [m(0), m(1), m(0)], [answer(0, "10"), answer(1, "7")]);
    noteWritten(written, [m(0)], [answer(0, "40")]);
    expect(written).toEqual(
      new Map([
        [0, { first: 10n, last: 40n }],
        [1, { first: 7n, last: 7n }],
      ]),
    );
    // An answer without an offset fails the batch rather than start a read-back anywhere.
    expect(() => noteWritten(written, [m(2)], [{ ...answer(2, "0"), baseOffset: undefined }])).toThrow(
      /no offset/,
    );
  });

  it("a state record's batch reads back as ranges, merged over several records", () => {
    const b = writtenBatch(
      141,
      new Map([
        [1, { first: 7n, last: 9n }],
        [0, { first: 10n, last: 40n }],
      ]),
    );
    expect(b).toEqual({
      from_index: 141,
      entries_offsets: [
        { partition: 0, first: 10, last: 40 },
        { partition: 1, first: 7, last: 9 },
      ],
    });
    const completion = writtenBatch(141, new Map([[1, { first: 50n, last: 52n }]]));
    expect(readBackRanges([b, completion])).toEqual(
      new Map([
        [0, { from: 10n, to: 41n }],
        [1, { from: 7n, to: 53n }],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The writer gone for good: a fresh watcher (nothing of the batch in its memory) resumes the log and completes
// the tear from what Kafka holds. The tear is injected at the producer, as in dedup-torn.test.ts: the real
// transaction is aborted and the part Kafka kept is committed by another transactional producer, with a state
// record naming where those entries lie (as the real one would); then the writer hangs in its commit for good.
// A real tear needs a broker kill to land between a PrepareCommit's append and its replication
// (broker-kill.test.ts runs the kills).

const SIZE = 40;
const BATCH = 10;
const kafka = testKafka();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function tornCount(state: "committed" | "aborted"): Promise<number> {
  const m = await registry.getSingleMetric("certstream_ingester_torn_batches_total")?.get();
  return m?.values.filter((v) => v.labels.state === state).reduce((a, v) => a + v.value, 0) ?? 0;
}

/** A LogReader over a stand-in RFC 6962 log held in memory (its entries parsed as the ingester's reader does). */
function standInReader(l: Rfc6962StandInLog): LogReader {
  const log: LogSource = {
    id: `torn-${l.name}`,
    name: l.name,
    url: `http://stand-in/${l.name}`,
    operator: "test",
    kind: "rfc6962",
  };
  return {
    log,
    head: async () => ({ treeSize: l.size, timestamp: Date.now() }),
    entries: async (start, end) => {
      const out: CertificateEntry[] = [];
      for (let i = start; i < Math.min(end, l.size); i++)
        out.push(fromRawEntry(log, { index: i, ...l.entry(i) }, Date.now() * 1000));
      return out;
    },
  };
}

it.each([
  ["committed", "the entries of one partition lost: they end up written once"],
  ["aborted", "the entries of the other partitions committed: none is written twice"],
] as const)(
  "state record %s, writer gone for good: %s",
  async (stateFate, _what) => {
    const names = uniqueNames(`torn-${stateFate}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: names.entries, numPartitions: 3, replicationFactor: 1 },
        {
          topic: names.state,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
    });
    await admin.disconnect();
    const codec = testCodec();
    await codec.register(valueSubject(names.entries));
    const stateCodec = new StateCodec(registryUrl(), names.state);
    await stateCodec.register("BACKWARD");
    const stateView = new StateView(kafka, names.state, stateCodec, logger, `${names.group}-state`);
    await stateView.start();
    cleanups.push(() => stateView.stop());
    const reader = standInReader(
      new Rfc6962StandInLog({ name: `${names.group}-log`, initialSize: SIZE, mode: "distinct" }),
    );

    // The second batch [10, 20) is torn: the entries of its first entry's partition lost, the others kept.
    let tornAt: number | null = null;
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tear = (real: Producer): Producer =>
      withTransaction(real, (tx) => {
        const sent: { topic: string; messages: Message[]; answers: RecordMetadata[] }[] = [];
        const record = async (r: ProducerRecord) => {
          const answers = await tx.send(r);
          sent.push({ topic: r.topic, messages: r.messages, answers });
          return answers;
        };
        return {
          ...tx,
          send: record,
          sendBatch: tx.sendBatch.bind(tx),
          abort: tx.abort.bind(tx),
          isActive: tx.isActive.bind(tx),
          sendOffsets: tx.sendOffsets.bind(tx),
          commit: async () => {
            const entries = sent.filter((s) => s.topic === names.entries);
            const state = sent.find((s) => s.topic === names.state && s.messages[0].value);
            const first = entries
              .flatMap((s) => s.messages)
              .map((msg) => Number(header(msg, HEADER_LOG_INDEX)));
            if (tornAt !== null || !state || Math.min(...first) !== BATCH) return tx.commit();
            tornAt = BATCH;
            const lost = entries.find((s) => Number(header(s.messages[0], HEADER_LOG_INDEX)) === BATCH)
              ?.messages[0].partition;
            const kept = entries.filter((s) => s.messages[0].partition !== lost);
            const original = await stateCodec.decode(state.messages[0].value as Buffer);
            if (!original?.batch) throw new Error("the state record names no batch");
            // Kafka's part: the kept partitions' records committed (written again by a side producer, at offsets
            // the state record names), the lost partition's aborted.
            const side = transactionalProducer(kafka, {
              transactionalId: uniqueName("torn-side"),
              transactionTimeoutMs: 30_000,
            });
            await side.connect();
            const stx = await side.transaction();
            const offsets = new Map<number, { first: number; last: number }>();
            for (const s of kept) {
              const [a] = await stx.send({ topic: names.entries, messages: s.messages });
              offsets.set(a.partition, {
                first: Number(a.baseOffset),
                last: Number(a.baseOffset) + s.messages.length - 1,
              });
            }
            const named = stateCodec.encode({
              ...original,
              batch: {
                from_index: original.batch.from_index,
                entries_offsets: original.batch.entries_offsets.map((o) => ({
                  ...o,
                  ...offsets.get(o.partition),
                })),
              },
            });
            const stateRecord = {
              key: state.messages[0].key,
              value: named,
              partition: state.messages[0].partition,
            };
            if (stateFate === "committed") await stx.send({ topic: names.state, messages: [stateRecord] });
            await stx.commit();
            await side.disconnect();
            // The aborted state record, as Kafka would have left it, names where the kept ones lie.
            if (stateFate === "aborted") await tx.send({ topic: names.state, messages: [stateRecord] });
            await tx.abort();
            await hung; // the writer is gone: nothing of the batch is left in any memory
            throw new Error("commit unanswered (injected)");
          },
        };
      });

    const settings: WatcherSettings = {
      entriesTopic: names.entries,
      entriesPartitions: 3,
      stateTopic: names.state,
      replicaId: "torn-test",
      transactionalIdPrefix: names.txPrefix,
      batchSize: BATCH,
      pollIntervalMs: 100,
      startOverlapLeaves: 0,
      startIndex: 0,
      transactionTimeoutMs: 20_000,
      retryDelayMs: 200,
      verify: "off",
    };
    const deps = (wrapProducer?: (p: Producer) => Producer): WatcherDeps => ({
      kafka,
      reader,
      encoder: { encode: (e) => codec.encode(e) },
      stateCodec,
      stateView,
      logger,
      confirmOwnership: async () => true,
      isRebalancing: () => false,
      wrapProducer,
    });
    const before = await tornCount(stateFate);
    const writer = new LogWatcher(deps(tear), settings);
    writer.start();
    cleanups.push(async () => {
      const stopped = writer.stop("shutdown"); // stopped first: the released commit fails into a stopped loop
      release();
      await stopped;
    });
    await waitFor("the torn commit", async () => tornAt !== null, 30_000);

    const resumer = new LogWatcher(deps(), settings);
    resumer.start();
    cleanups.push(() => resumer.stop("shutdown"));
    const log = { id: reader.log.id, size: SIZE };
    await waitFor(
      `all ${SIZE} entries`,
      async () => entryAudit(await readTopic(kafka, names.entries), [log]).missing.length === 0,
      60_000,
    );
    await waitFor("the position at the end", async () => resumer.status.position === SIZE, 30_000);
    await sleep(1_000); // anything written twice would be there by now
    const audit = entryAudit(await readTopic(kafka, names.entries), [log]);
    expect(audit).toEqual({ duplicated: [], missing: [] });
    expect(await tornCount(stateFate)).toBe(before + 1);
  },
  120_000,
);

function header(msg: Message, name: string): string | undefined {
  const v = msg.headers?.[name];
  return v === undefined ? undefined : (Array.isArray(v) ? v[0] : v)?.toString();
}
