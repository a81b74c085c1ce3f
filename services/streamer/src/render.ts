/**
 * The message formats, rendered from one CertificateEntry by @certstream/certstream (the wire contract lives
 * there). This module only turns them into Buffers for the fan-out, and builds the streamer's own messages
 * (heartbeat with a resume cursor, dropped notice, waiting notice).
 */
import { renderDomainsOnly, renderFull, renderLite } from "@certstream/certstream";
import type { CertificateEntry } from "@certstream/schema";
import type { StreamFormat } from "./settings.ts";

export function renderFormat(entry: CertificateEntry, format: StreamFormat): Buffer {
  const out =
    format === "lite" ? renderLite(entry) : format === "full" ? renderFull(entry) : renderDomainsOnly(entry);
  if (out === null) throw new Error("certificate has no parsed leaf");
  return Buffer.from(out, "utf8");
}

/**
 * `{"message_type":"heartbeat","timestamp":<float>}`, plus `cursor` (the resume point; unknown keys are ignored
 * by certstream clients) when one is known.
 */
export function heartbeatMessage(nowMs: number, cursor: string | null): Buffer {
  const ts = (nowMs / 1000).toFixed(3);
  return Buffer.from(
    cursor === null
      ? `{"message_type":"heartbeat","timestamp":${ts}}`
      : `{"message_type":"heartbeat","timestamp":${ts},"cursor":"${cursor}"}`,
  );
}

/** Sent to a client whose send buffer overflowed: how many messages it did not get. */
export function droppedMessage(count: number, nowMs: number, reason: string): Buffer {
  return Buffer.from(
    JSON.stringify({ message_type: "dropped", count, timestamp: Number((nowMs / 1000).toFixed(3)), reason }),
  );
}

/** Sent to a client whose resume cannot start yet (it keeps its stream and starts once it can): why it waits. */
export function waitingMessage(nowMs: number, reason: string): Buffer {
  return Buffer.from(
    JSON.stringify({ message_type: "waiting", reason, timestamp: Number((nowMs / 1000).toFixed(3)) }),
  );
}
