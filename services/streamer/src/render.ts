/**
 * The message formats, rendered from one CertificateEntry by @certstream/certstream (the wire contract lives
 * there). This module only turns them into Buffers for the fan-out, and builds the streamer's own messages
 * (heartbeat with a resume cursor, dropped notice, waiting notice).
 */
import { PrecertIndex, renderDomainsOnly, renderFull, renderLite, renderV2 } from "@certstream/certstream";
import type { CertificateEntry } from "@certstream/schema";
import { baseStream, type StreamFormat } from "./settings.ts";

/**
 * The precertificates this process has seen, for the v2 message's precert link (a final certificate names its
 * precertificate when this replica saw it first). 32,768 sightings: about a minute of the global CT flow, more
 * than the seconds between a precertificate and its final certificate; ~7.5 MiB of heap (238 B a sighting,
 * measured), so it is only kept from the first v2 client on: a streamer with v1 clients only pays nothing.
 */
let precerts: PrecertIndex | null = null;

/** Every certificate read is noted here, before any rendering (once a v2 client has connected). */
export function notePrecert(entry: CertificateEntry): void {
  precerts?.note(entry);
}

/** A v2 client connected: from now on precertificates are remembered. */
export function keepPrecerts(): void {
  precerts ??= new PrecertIndex(32_768);
}

export function renderFormat(entry: CertificateEntry, format: StreamFormat): Buffer {
  const base = baseStream(format);
  const out =
    format !== base
      ? renderV2(entry, base, precerts?.lookup(entry) ?? null)
      : format === "lite"
        ? renderLite(entry)
        : format === "full"
          ? renderFull(entry)
          : renderDomainsOnly(entry);
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
