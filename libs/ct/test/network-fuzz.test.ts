import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../test/ct-standin/faults.ts";
import { TESTDATA } from "../../../test/ct-standin/testdata.ts";
import { CheckpointError, parseCheckpoint } from "../src/checkpoint.ts";
import { parseLogKey } from "../src/log-key.ts";
import { parseLogList } from "../src/log-list.ts";
import { parseSignedTreeHead, verifySignedTreeHead } from "../src/signed-tree-head.ts";

// Mutated real inputs for the parsers of the fetching side (checkpoint notes, get-sth bodies, log lists): each
// mutation is either accepted or refused with an Error that says why — never a TypeError from unguarded access,
// never a hang. FUZZ_ITERATIONS scales it (default 20 000 per parser).

const N = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
const rnd = seededRandom(Number(process.env.FUZZ_SEED ?? 42));
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];

function mutateText(s: string): string {
  const b = Buffer.from(s);
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) {
    for (let i = 0; i < 1 + rnd() * 4; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b.toString("utf8");
  }
  if (kind === 1) return s.slice(0, Math.floor(rnd() * s.length));
  if (kind === 2) {
    const at = Math.floor(rnd() * s.length);
    return (
      s.slice(0, at) +
      pick(["\n", "\n\n", "\u2014 ", " ", "=", "+", "0", "-1", "99999999999999999999", "\u0000"]) +
      s.slice(at)
    );
  }
  const lines = s.split("\n");
  const i = Math.floor(rnd() * lines.length);
  lines.splice(i, 1 + Math.floor(rnd() * 2));
  return lines.join("\n");
}

function expectOnlyDeliberateErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TypeError);
  }
}

describe(`fetching-side parsers under mutation (${N} each)`, () => {
  it("checkpoint notes", () => {
    const dir = join(TESTDATA, "static-ct/sunlight-skylight-testlog");
    const note = readFileSync(join(dir, "checkpoint"), "utf8");
    const key = parseLogKey(JSON.parse(readFileSync(join(dir, "log.v3.json"), "utf8")).key);
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      const m = mutateText(note);
      try {
        const cp = parseCheckpoint(m, { key, origin: "rome2026h1.example.org" });
        accepted++;
        // Anything accepted with the key carries exactly the signed values.
        expect(cp.treeSize).toBe(300);
      } catch (err) {
        expect(err).toBeInstanceOf(CheckpointError);
      }
    }
    expect(accepted).toBeLessThan(N);
  });

  it("get-sth bodies", () => {
    const sthDir = join(TESTDATA, "ct-entries/sth");
    const body = readFileSync(join(sthDir, "google-pilot-sth-2014-04-04-size3721782.get-sth.json"), "utf8");
    const key = parseLogKey(readFileSync(join(sthDir, "log-keys/google-pilot-pubkey.pem"), "utf8"));
    for (let i = 0; i < N; i++) {
      const m = mutateText(body);
      expectOnlyDeliberateErrors(() => {
        const sth = parseSignedTreeHead(m);
        if (verifySignedTreeHead(sth, key)) expect(sth.treeSize).toBe(3721782);
      });
    }
  });

  it("log lists with fields of the wrong type or missing", () => {
    const doc = JSON.parse(
      readFileSync(join(TESTDATA, "log-list/google-v3-log_list-v85.92-2026-05-29.json"), "utf8"),
    );
    const values = [
      null,
      0,
      -1,
      "",
      "x",
      [],
      {},
      true,
      "https://",
      "MFkw",
      { usable: null },
      { retired: {}, usable: {} },
    ];
    const fields = [
      "description",
      "log_id",
      "key",
      "url",
      "monitoring_url",
      "submission_url",
      "mmd",
      "state",
      "temporal_interval",
    ];
    for (let i = 0; i < N / 40; i++) {
      const d = structuredClone(doc);
      for (let k = 0; k < 3; k++) {
        const op = pick(d.operators) as Record<string, unknown>;
        const r = rnd();
        if (r < 0.1) op[pick(["logs", "tiled_logs", "name"])] = pick(values);
        else {
          const logs = (Array.isArray(op.logs) ? op.logs : []) as Record<string, unknown>[];
          if (logs.length === 0) continue;
          const l = pick(logs);
          if (r < 0.2 && l) logs[logs.indexOf(l)] = pick(values) as never;
          else if (l && typeof l === "object") l[pick(fields)] = pick(values);
        }
      }
      expectOnlyDeliberateErrors(() => parseLogList(d));
    }
  });
});
