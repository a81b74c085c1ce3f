/**
 * The end of the soak: with growth stopped, wait until everything has drained (entries complete, the dedup
 * stage caught up, the audited clients and the Delta table complete, each with a bounded wait), then audit
 * every (log, index) in `entries` (read_committed) and in the table, `certs` against the first sightings,
 * and what the audited clients received.
 */

import { HEADER_LEAF_PARSED, HEADER_LOG_ID, HEADER_LOG_INDEX } from "@certstream/kafka";
import type { Kafka } from "kafkajs";
import { tableKeyCounts } from "../../services/delta-sink/test/harness.ts";
import {
  checkDedupStream,
  duplicatedCerts,
  entryAudit,
  header,
  type Names,
  type ReadRecord,
  readTopic,
  standInLogs,
  waitDedupDrained,
} from "../../services/ingester/test/harness.ts";
import type { StandInServer } from "../../test/ct-standin/server.ts";
import { waitFor } from "../../test/poll.ts";
import type { SoakClient } from "./clients.ts";
import { countGoal, type Goal } from "./verdict.ts";

const DRAIN_TIMEOUT_MS = 300_000;
const CLIENT_TIMEOUT_MS = 120_000;

export interface AuditInput {
  kafka: Kafka;
  names: Names;
  server: StandInServer;
  tablePath: string;
  audited: SoakClient[];
  log: (msg: string) => void;
}

/** `source.url#cert_index` of every record of `certs`, as a client names it. */
function certKeys(certs: ReadRecord[], logs: { id: string; url: string }[]): Set<string> {
  const urlOf = new Map(logs.map((l) => [l.id, l.url]));
  return new Set(
    certs.map((r) => `${urlOf.get(header(r, HEADER_LOG_ID) ?? "")}#${header(r, HEADER_LOG_INDEX)}`),
  );
}

/** Waits (bounded) for a condition the audit then checks; a timeout is logged, the audit tells what lacks. */
async function settle(
  what: string,
  probe: () => Promise<boolean>,
  log: (m: string) => void,
  timeoutMs = DRAIN_TIMEOUT_MS,
): Promise<void> {
  const t0 = Date.now();
  try {
    await waitFor(what, async () => (await probe()) || undefined, timeoutMs, 3000);
    log(`drain: ${what} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } catch (err) {
    log(`drain: ${String(err)}`);
  }
}

export async function drainAndAudit(a: AuditInput): Promise<{ goals: Goal[]; totals: string }> {
  const logs = standInLogs(a.server);
  const total = logs.reduce((n, l) => n + l.size, 0);
  await settle(
    "entries complete",
    async () => (await readTopic(a.kafka, a.names.entries)).length >= total,
    a.log,
  );
  await waitDedupDrained(a.kafka, a.names).catch((err) => a.log(`drain: ${String(err)}`));
  const entries = await readTopic(a.kafka, a.names.entries);
  const certs = await readTopic(a.kafka, a.names.certs);
  const expected = certKeys(certs, logs);
  // Live clients are done seconds after the dedup stage; a resume still replaying needs a little longer.
  await settle(
    "audited clients complete",
    async () => a.audited.every((c) => c.missing(expected).length === 0),
    a.log,
    CLIENT_TIMEOUT_MS,
  );
  let table = new Map<string, number>();
  await settle(
    "Delta table complete",
    async () => {
      table = await tableKeyCounts(a.tablePath).catch(() => table);
      return table.size >= total;
    },
    a.log,
  );

  const e = entryAudit(entries, logs);
  let dedupError = "";
  try {
    checkDedupStream(entries, certs, HEADER_LEAF_PARSED);
  } catch (err) {
    dedupError = String(err);
  }
  const certDupes = duplicatedCerts(certs);
  const tableDupes = [...table].filter(([, n]) => n > 1).length;
  let tableMissing = 0;
  for (const l of logs) for (let i = 0; i < l.size; i++) if (!table.has(`${l.url}#${i}`)) tableMissing++;
  const clientMissing = a.audited.map((c) => c.missing(expected).length);
  const missedBy = clientMissing.filter((n) => n > 0).length;
  for (const c of a.audited) {
    const missing = c.missing(expected);
    if (missing.length > 0)
      a.log(
        `audit: ${c.transport} ${c.stream} client (${c.reconnects} reconnects, ${c.dropped} dropped, ` +
          `${c.keys?.size} received) lacks ${missing.length}, e.g. ${missing.slice(0, 3).join(" ")}`,
      );
  }
  if (e.duplicated.length > 0) a.log(`audit: entries duplicated: ${e.duplicated.slice(0, 20).join(" ")}`);
  const goals: Goal[] = [
    countGoal("entries: lost (log, index)", e.missing.length, e.missing.slice(0, 3).join(" ")),
    countGoal("entries: duplicated (log, index)", e.duplicated.length, e.duplicated.slice(0, 3).join(" ")),
    {
      goal: "certs = exactly the first sightings",
      figure: dedupError || `${certs.length} certs, ${certDupes.length} duplicated`,
      pass: dedupError === "" && certDupes.length === 0,
    },
    countGoal("Delta table: lost (log, index)", tableMissing),
    countGoal("Delta table: duplicated (log, index)", tableDupes),
    countGoal(
      `audited clients (${a.audited.length}) missing certificates`,
      clientMissing.reduce((x, y) => x + y, 0),
      `${missedBy} clients missed some`,
    ),
  ];
  return {
    goals,
    totals: `${total} entries in ${logs.length} logs, ${certs.length} certs, ${table.size} table rows`,
  };
}
