/**
 * vitest globalSetup: makes the real stack available to every test file. With KAFKA_BOOTSTRAP_SERVERS set
 * (CI's scripts/test.sh, or a developer's `eval "$(bash scripts/stack.sh env)"`) it does nothing. Otherwise it
 * runs `scripts/stack.sh up` (which reuses a running stack), exports the addresses to the test processes, and
 * stops the stack afterwards only if it was not running before. A stack that cannot start does not fail
 * tests that do not need it: test/stack.ts helpers throw CERTSTREAM_STACK_ERROR in those that do.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { repoRoot } from "./stack.ts";

function stack(command: string, inherit: boolean): string {
  return execFileSync("bash", [`${repoRoot}/scripts/stack.sh`, command], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", inherit ? "inherit" : "pipe"],
    timeout: 600_000,
  });
}

export default function setup(): (() => void) | undefined {
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) {
    // Services that tests spawn read their own config keys: point them at the same stack.
    process.env.CERTSTREAM_KAFKA_BROKERS ??= process.env.KAFKA_BOOTSTRAP_SERVERS;
    if (process.env.SCHEMA_REGISTRY_URL) {
      process.env.CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL ??= process.env.SCHEMA_REGISTRY_URL;
    }
    return undefined;
  }
  let wasRunning = false;
  try {
    stack("status", false);
    wasRunning = true;
  } catch {
    // status exits non-zero when any component is down: `up` below starts what is missing.
  }
  const up = spawnSync("bash", [`${repoRoot}/scripts/stack.sh`, "up"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 600_000,
  });
  process.stderr.write(up.stderr ?? "");
  if (up.status !== 0) {
    // The script's last ERROR line says what failed (missing Java, busy port, a component that died...).
    const lines = (up.stderr ?? "").trim().split("\n");
    const reason = lines.filter((l) => l.includes("ERROR")).pop() ?? lines.pop() ?? String(up.error);
    process.env.CERTSTREAM_STACK_ERROR = `scripts/stack.sh up failed: ${reason}`;
    console.error(`[global-setup] ${process.env.CERTSTREAM_STACK_ERROR}`);
    return undefined;
  }
  for (const line of stack("env", false).split("\n")) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  if (wasRunning) return undefined;
  return () => {
    stack("down", true);
  };
}
