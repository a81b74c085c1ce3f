/**
 * The opt-in v2 message through the streamer (issue 18), real broker and registry: `/v2/...` paths and
 * `?format=v2` on every stream (WebSocket and SSE) carry the v2 message, validated against its JSON Schema, with
 * the verification state and hashes the ingester put in the Avro record; a final certificate names the
 * precertificate seen before it; v1 clients on the same streamer get v1, unchanged.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { entryTbsHash, leafHash } from "@certstream/ct";
import type { CertificateEntry } from "@certstream/schema";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Msg, sseCollect, wsCollect, wsStatus } from "./clients.ts";
import { CertsTopic, type RunningStreamer, realEntries, startStreamer, waitFor } from "./harness.ts";

const schema = JSON.parse(
  readFileSync(new URL("../../../libs/certstream/schema/certstream-v2.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

let topic: CertsTopic;
let s: RunningStreamer;

beforeAll(async () => {
  topic = await CertsTopic.create(1);
  s = await startStreamer(topic.topic, { streamer: { heartbeat_interval_secs: 1, replay_buffer_size: 0 } });
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

/** The real Argon entries as the ingester publishes them, plus a final certificate issued from the first precert. */
function published(): { entries: CertificateEntry[]; finalIndex: number; precertIndex: number } {
  const entries = realEntries().map((e, i) => {
    const der = e.leaf_der;
    return {
      ...e,
      index: 3_900_000_000 + i,
      // Any 32 bytes serve here (the leaf hash proper is tested in the ingester).
      leaf_hash: leafHash(der),
      tbs_hash:
        entryTbsHash(e.update_type, new Uint8Array(), der) ??
        createHash("sha256").update(`tbs ${i}`).digest(),
      tree_verification:
        i < 10
          ? { state: "pending" as const, tree_size: null, tree_timestamp: null }
          : { state: "verified" as const, tree_size: 3_900_000_020, tree_timestamp: 1_764_800_000_000 },
    };
  });
  const pre = entries.findIndex((e) => e.update_type === "PrecertLogEntry");
  const fin = entries.findIndex((e, i) => i > pre && e.update_type === "X509LogEntry");
  // That final certificate was issued from the precertificate (the test data has no real pair): same TBS hash.
  entries[fin] = { ...entries[fin], tbs_hash: entries[pre].tbs_hash };
  return { entries, finalIndex: entries[fin].index, precertIndex: entries[pre].index };
}

describe("v2 streams", () => {
  it("every v2 path and ?format=v2 gets v2 messages; v1 paths stay v1", async () => {
    const urls = {
      v1: `${s.wsUrl}/`,
      v2Lite: `${s.wsUrl}/v2`,
      v2Full: `${s.wsUrl}/v2/full-stream`,
      v2Domains: `${s.wsUrl}/v2/domains-only/`,
      queryFull: `${s.wsUrl}/full-stream?format=v2`,
    };
    const ws = Object.fromEntries(Object.entries(urls).map(([k, u]) => [k, wsCollect(u)]));
    const sse = sseCollect(`${s.url}/v2/sse?stream=lite`);
    const sseQuery = sseCollect(`${s.url}/sse?stream=domains&format=v2`);
    await Promise.all(Object.values(ws).map((c) => c.opened));
    expect(await sse.status).toBe(200);
    expect(await sseQuery.status).toBe(200);
    const { entries, finalIndex, precertIndex } = published();
    await topic.produce(entries);
    const n = entries.length;
    await waitFor(
      () =>
        Object.values(ws).every((c) => c.certs().length >= n) &&
        sse.certs().length >= n &&
        sseQuery.certs().length >= n,
      20_000,
      "every client got every certificate",
    );
    const check = (msgs: Msg[], kind: string) => {
      for (const m of msgs) {
        expect(validate(m), `${kind}: ${JSON.stringify(validate.errors)}`).toBe(true);
        expect(m.format).toBe("v2");
      }
    };
    check(ws.v2Lite.certs(), "ws lite");
    check(ws.v2Full.certs(), "ws full");
    check(ws.v2Domains.certs(), "ws domains");
    check(ws.queryFull.certs(), "ws ?format=v2");
    check(
      sse.certs().map((e) => e.data),
      "sse lite",
    );
    check(
      sseQuery.certs().map((e) => e.data),
      "sse ?format=v2",
    );
    expect(ws.v2Full.certs().every((m: Msg) => typeof m.data.leaf_cert.as_der === "string")).toBe(true);
    expect(ws.v2Lite.certs().every((m: Msg) => !("as_der" in m.data.leaf_cert))).toBe(true);
    expect(ws.v2Domains.certs().every((m: Msg) => m.message_type === "dns_entries")).toBe(true);
    // v1 on the same streamer: no format key, certstream's keys only.
    for (const m of ws.v1.certs()) {
      expect(m).not.toHaveProperty("format");
      expect(Object.keys(m.data)).toEqual([
        "update_type",
        "leaf_cert",
        "cert_index",
        "cert_link",
        "seen",
        "submission_timestamp",
        "source",
      ]);
    }
    // Verification state and hashes as published.
    const byIndex = new Map(ws.v2Lite.certs().map((m: Msg) => [m.data.leaf_index, m.data]));
    for (const e of entries) {
      const d = byIndex.get(e.index) as Msg;
      expect(d.verification.state).toBe(e.tree_verification?.state);
      expect(d.leaf_hash).toBe(Buffer.from(e.leaf_hash as Uint8Array).toString("base64"));
      expect(d.log.id).toBe(e.log.id);
    }
    expect((byIndex.get(3_900_000_019) as Msg).verification).toEqual({
      state: "verified",
      tree_size: 3_900_000_020,
      tree_timestamp: 1_764_800_000.0,
    });
    // The final certificate names its precertificate; nothing else is linked.
    const linked = ws.v2Lite.certs().filter((m: Msg) => m.data.precert !== null);
    expect(linked.map((m: Msg) => m.data.leaf_index)).toEqual([finalIndex]);
    expect(linked[0].data.precert).toMatchObject({ leaf_index: precertIndex, log_id: entries[0].log.id });
    for (const c of Object.values(ws)) c.ws.close();
    sse.close();
    sseQuery.close();
  });

  it("an unknown format is refused with 400; /v2 streams follow the streams switches", async () => {
    expect(await wsStatus(`${s.wsUrl}/?format=v3`)).toBe(400);
    expect((await fetch(`${s.url}/sse?stream=lite&format=xml`)).status).toBe(400);
    expect(await wsStatus(`${s.wsUrl}/v2/nothing`)).toBe(404);
  });
});
