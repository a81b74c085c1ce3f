/**
 * A streamer at its file-descriptor limit (thousands of clients against a low `ulimit -n`): the kernel refuses
 * its accepts (EMFILE). The real process, its limit lowered with prlimit, is flooded with connections; it must
 * shed the ones it cannot take, stay up, and serve again once the flood is gone. (No Kafka: liveness and accepts
 * do not need it.)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { freePort, ServiceProcess, waitForHttp } from "../../../test/service-process.ts";
import { registryUrl } from "../../../test/stack.ts";
import { sleep } from "./harness.ts";

const FD_LIMIT = 64;
const FLOOD = 200;

it("accepts refused for want of file descriptors do not end the process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "streamer-fd-limit-"));
  const port = await freePort();
  const configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    `host: 127.0.0.1\nport: ${port}\nlog_level: warn\nconnection_limit:\n  enabled: false\nkafka:\n  brokers: [127.0.0.1:9]\n  schema_registry_url: ${registryUrl()}\n`,
  );
  const logPath = join(dir, "streamer.log");
  const streamer = new ServiceProcess("streamer", ["--config", configPath], logPath).start();
  const url = `http://127.0.0.1:${port}`;
  const sockets: Socket[] = [];
  try {
    await waitForHttp(`${url}/health`, streamer);
    execFileSync("prlimit", ["--pid", String(streamer.pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
    let shed = 0;
    for (let i = 0; i < FLOOD; i++) {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => shed++);
      sockets.push(s);
    }
    await sleep(1000);
    expect(
      shed,
      "connections the streamer could not take were closed: the limit was reached",
    ).toBeGreaterThan(0);
    expect(streamer.alive, `the streamer is still running (log: ${readFileSync(logPath, "utf8")})`).toBe(
      true,
    );
    for (const s of sockets) s.destroy();
    await sleep(500);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  } finally {
    for (const s of sockets) s.destroy();
    await streamer.stop();
  }
}, 60_000);
