/**
 * What a newcomer meets first: the job's start-up waits are bounded and say what did not answer (URL, config
 * key, remedy), one SIGTERM ends a job stuck in such a wait within seconds, and on a terminal the status line
 * and the log file keep library warnings away from the progress bars.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ServiceProcess } from "../../../test/service-process.ts";
import { LogTally } from "../src/log-tally.ts";
import { boundedWait, NetworkWaitError } from "../src/network-wait.ts";
import { StatusLine } from "../src/status-line.ts";

const target = { what: "Kafka", target: "10.0.0.1:9092", key: "kafka.brokers", remedy: "start it" };

describe("boundedWait", () => {
  it("ends a wait that never settles with an error naming the target, the key and the remedy", async () => {
    const t0 = Date.now();
    const err = await boundedWait(
      target,
      200,
      new AbortController().signal,
      () => new Promise(() => undefined),
    ).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(NetworkWaitError);
    expect((err as Error).message).toBe(
      "Kafka at 10.0.0.1:9092 (config key kafka.brokers): no answer within 0.2 s; start it",
    );
  });
  it("wraps a refusal, passes a result through, and rethrows an interrupt as such", async () => {
    const never = new AbortController().signal;
    await expect(boundedWait(target, 1000, never, async () => 7)).resolves.toBe(7);
    await expect(
      boundedWait(target, 1000, never, async () => {
        throw new Error("connect ECONNREFUSED");
      }),
    ).rejects.toThrow("Kafka at 10.0.0.1:9092 (config key kafka.brokers): connect ECONNREFUSED; start it");
    const ctl = new AbortController();
    const waiting = boundedWait(
      target,
      60_000,
      ctl.signal,
      (s) => new Promise((_, rej) => s.addEventListener("abort", () => rej(new Error("inner")))),
    );
    ctl.abort(new Error("SIGTERM"));
    await expect(waiting).rejects.toThrow("SIGTERM");
  });
});

/** A stand-in for a terminal's stderr: records what was written. */
function fakeTerminal(): NodeJS.WriteStream & { text: string } {
  const t = {
    isTTY: true,
    columns: 60,
    text: "",
    write(s: string) {
      t.text += s;
      return true;
    },
  };
  return t as unknown as NodeJS.WriteStream & { text: string };
}

describe("StatusLine and LogTally", () => {
  it("draws one line in place with its elapsed time and erases it; writes nothing off a terminal", () => {
    const tty = fakeTerminal();
    const line = new StatusLine(tty);
    line.set("connecting to Kafka at 127.0.0.1:19092");
    line.clear();
    expect(tty.text).toBe("\r\x1b[Kbackfill: connecting to Kafka at 127.0.0.1:19092 … 0 s\r\x1b[K");
    const pipe = fakeTerminal();
    new StatusLine(pipe, false).set("x");
    expect(pipe.text).toBe("");
  });
  it("appends every log line to its file and summarises warnings by message", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tally-")), "sub", "backfill.log");
    const tally = new LogTally(path);
    const w = '{"level":"warn","component":"kafkajs","msg":"Connection error"}\n';
    tally.write(w);
    tally.write(w);
    tally.write('{"level":"info","msg":"backfill starting"}\n');
    tally.write('{"level":"error","msg":"backfill failed"}\n');
    expect(readFileSync(path, "utf8").split("\n").length).toBe(5);
    expect(tally.summary()).toEqual([
      `3 warning(s)/error(s) logged to ${path}:`,
      "  2 × warn: kafkajs: Connection error",
      "  1 × error: backfill failed",
    ]);
  });
});

/** A log list server that accepts connections and never answers: the worst case for a wait. */
async function silentServer(): Promise<{ server: Server; url: string; connections: () => Promise<number> }> {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/log_list.json`,
    connections: () => new Promise<number>((r) => server.getConnections((_e, n) => r(n))),
  };
}

describe("the job against a log list that never answers", () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  function run(url: string, env: NodeJS.ProcessEnv): { proc: ServiceProcess; stderr: () => string } {
    const proc = new ServiceProcess("backfill", ["--dry-run"], null);
    let err = "";
    proc.onOutput((stream, chunk) => {
      if (stream === "stderr") err += chunk;
    });
    proc.start({ CERTSTREAM_CONFIG: "", CERTSTREAM_CT_LOG_LOG_LIST_URL: url, LOG_LEVEL: "warn", ...env });
    return { proc, stderr: () => err };
  }

  // Both jobs run at once: each start costs seconds of module loading on a busy machine.
  it("exits 1 after backfill.connect_timeout_secs naming the URL, the key and what to do; one SIGTERM ends the wait within seconds", async () => {
    const a = await silentServer();
    const b = await silentServer();
    servers.push(a.server, b.server);
    const timedOut = run(a.url, { CERTSTREAM_BACKFILL_CONNECT_TIMEOUT_SECS: "2" });
    const stopped = run(b.url, { CERTSTREAM_BACKFILL_CONNECT_TIMEOUT_SECS: "120" });

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await b.connections()) === 0)
      await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    stopped.proc.signal("SIGTERM");
    const stop = await stopped.proc.exitStatus;
    expect(Date.now() - t0).toBeLessThan(5_500);
    expect(stop.code).toBe(1);
    expect(stopped.stderr()).toContain("SIGTERM: stopping");

    const { code } = await timedOut.proc.exitStatus;
    expect(code).toBe(1);
    expect(timedOut.stderr()).toContain(`the CT log list at ${a.url} (config key ct_log.log_list_url`);
    expect(timedOut.stderr()).toContain("no answer within 2 s");
    expect(timedOut.stderr()).toContain("ct_log.log_list_path");
  });
});
