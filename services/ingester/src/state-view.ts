import type { Logger } from "@certstream/log";
import type { Kafka } from "kafkajs";
import { stateDecodeFailures } from "./metrics.ts";
import type { StateCodec } from "./state-codec.ts";
import type { IngesterState } from "./state-record.ts";
import { TopicTail } from "./topic-tail.ts";

/**
 * This replica's read_committed view of `certstream.ingester.state`: the latest position of every log, tailed for
 * the life of the process. A watcher that has just fenced the previous owner (initTransactions) calls `current`,
 * which waits until the view has applied everything committed so far, so the position it resumes from includes
 * the previous owner's last committed batch, and nothing it aborted.
 */
export class StateView {
  private readonly states = new Map<string, IngesterState>();
  private readonly tail: TopicTail;
  private readonly log: Logger;

  constructor(
    kafka: Kafka,
    topic: string,
    codec: StateCodec,
    log: Logger,
    groupPrefix: string,
    onFatal?: (e: Error) => void,
  ) {
    this.log = log;
    this.tail = new TopicTail(kafka, {
      topic,
      groupPrefix,
      onFatal,
      onMessage: async (partition, m) => {
        if (!m.value) return; // tombstone: a deleted log's state
        const s = await codec.decode(m.value);
        if (!s) {
          stateDecodeFailures.inc();
          this.log.warn({ topic, partition, offset: m.offset }, "state record not decodable; skipped");
          return;
        }
        // One key lives in one partition, whose order is the commit order: the last record read is the position.
        this.states.set(s.log_id, s);
      },
    });
  }

  async start(): Promise<void> {
    await this.tail.start();
    await this.tail.catchUp();
  }

  /** The committed position of `logId` as of now (null: never written), after catching up. */
  async current(logId: string, timeoutMs?: number): Promise<IngesterState | null> {
    await this.tail.catchUp(timeoutMs);
    return this.states.get(logId) ?? null;
  }

  /** Last known state without waiting (for /api/logs). */
  peek(logId: string): IngesterState | null {
    return this.states.get(logId) ?? null;
  }

  all(): IngesterState[] {
    return [...this.states.values()];
  }

  async stop(): Promise<void> {
    await this.tail.stop();
  }
}
