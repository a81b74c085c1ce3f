/**
 * scripts/stack.sh itself: a second, private stack (own STACK_DIR, own ports) is started twice, keeps its
 * data across down/up, and leaves no process behind. The shared stack the other tests use is not touched.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { createLogger } from "@certstream/log";
import { afterAll, describe, expect, it } from "vitest";
import { createKafka } from "../libs/kafka/src/index.ts";
import { repoRoot } from "./stack.ts";

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function freePortBlock(): Promise<Record<string, string>> {
  for (let offset = 1000; offset < 3000; offset += 100) {
    const ports = [19092, 19093, 18081, 19001, 19090, 19080].map((p) => p + offset);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) {
      const [kafka, controller, registry, mgmt, prometheus, s3] = ports.map(String);
      return {
        STACK_KAFKA_PORT: kafka,
        STACK_KAFKA_CONTROLLER_PORT: controller,
        STACK_REGISTRY_PORT: registry,
        STACK_REGISTRY_MGMT_PORT: mgmt,
        STACK_PROMETHEUS_PORT: prometheus,
        STACK_S3_PORT: s3,
      };
    }
  }
  throw new Error("no free block of ports for a second stack");
}

/** Live processes whose command line names `dir` (what `down` must leave none of). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(dir) && !cmd.includes("vitest")) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe("scripts/stack.sh", () => {
  const dir = mkdtempSync(`${tmpdir()}/certstream-stack-`);
  let env: NodeJS.ProcessEnv = {};
  const stack = (cmd: string) =>
    spawnSync("bash", [`${repoRoot}/scripts/stack.sh`, cmd], {
      cwd: repoRoot,
      env,
      encoding: "utf8",
      timeout: 300_000,
    });

  afterAll(() => {
    stack("down");
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts idempotently, keeps data across down/up, and leaves no process after down", {
    timeout: 300_000,
  }, async () => {
    env = { ...process.env, STACK_DIR: dir, ...(await freePortBlock()) };
    const first = stack("up");
    expect(first.status, first.stderr).toBe(0);
    const again = stack("up");
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("stack already up");
    expect(stack("status").status).toBe(0);

    const envRun = stack("env");
    expect(envRun.status, envRun.stderr).toBe(0);
    const exported = Object.fromEntries(
      envRun.stdout
        .trim()
        .split("\n")
        .map((l) => /^export ([A-Z0-9_]+)=(.*)$/.exec(l)!.slice(1, 3)),
    );
    expect(exported).toEqual({
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${env.STACK_KAFKA_PORT}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${env.STACK_REGISTRY_PORT}/apis/ccompat/v7`,
      PROMETHEUS_URL: `http://127.0.0.1:${env.STACK_PROMETHEUS_PORT}`,
      S3_ENDPOINT_URL: `http://127.0.0.1:${env.STACK_S3_PORT}`,
      CERTSTREAM_KAFKA_BROKERS: `127.0.0.1:${env.STACK_KAFKA_PORT}`,
      CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL: `http://127.0.0.1:${env.STACK_REGISTRY_PORT}/apis/ccompat/v7`,
    });

    // Some state: a topic and a schema.
    const kafka = createKafka({
      brokers: [exported.KAFKA_BOOTSTRAP_SERVERS],
      clientId: "stack-test",
      logger: createLogger("test", "warn"),
    });
    let admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kept", numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const schema = JSON.stringify({ type: "record", name: "Kept", fields: [{ name: "a", type: "long" }] });
    const registered = await fetch(`${exported.SCHEMA_REGISTRY_URL}/subjects/kept-value/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema }),
    }).then((r) => r.json() as Promise<{ id: number }>);

    const down = stack("down");
    expect(down.status, down.stderr).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
    expect(stack("status").status).toBe(3);
    execFileSync("sleep", ["1"]);

    const up = stack("up");
    expect(up.status, up.stderr).toBe(0);
    admin = kafka.admin();
    await admin.connect();
    expect(await admin.listTopics()).toContain("kept");
    await admin.disconnect();
    const byId = await fetch(`${exported.SCHEMA_REGISTRY_URL}/schemas/ids/${registered.id}`).then(
      (r) => r.json() as Promise<{ schema: string }>,
    );
    expect(JSON.parse(byId.schema)).toEqual(JSON.parse(schema));

    expect(stack("down").status).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
  });
});
