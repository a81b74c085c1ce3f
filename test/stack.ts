/**
 * Where the tests find the real infrastructure. test/global-setup.ts starts scripts/stack.sh when
 * KAFKA_BOOTSTRAP_SERVERS is unset and exports its addresses; these helpers read them and fail (never skip)
 * with a message saying what to do when the stack is unavailable.
 */

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

function required(name: string): string {
  const value = process.env[name];
  if (value) return value;
  const why = process.env.CERTSTREAM_STACK_ERROR;
  throw new Error(
    `${name} is not set${why ? `: the local stack could not start (${why})` : ""}. ` +
      `Run \`bash scripts/stack.sh up && eval "$(bash scripts/stack.sh env)"\`, or point ${name} at a running service.`,
  );
}

/** Kafka bootstrap servers (KAFKA_BOOTSTRAP_SERVERS, comma-separated). */
export function kafkaBrokers(): string[] {
  return required("KAFKA_BOOTSTRAP_SERVERS")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Confluent-compatible registry base URL (SCHEMA_REGISTRY_URL, Apicurio's `.../apis/ccompat/v7`). */
export function registryUrl(): string {
  return required("SCHEMA_REGISTRY_URL").replace(/\/+$/, "");
}

/** Prometheus base URL (PROMETHEUS_URL). */
export function prometheusUrl(): string {
  return required("PROMETHEUS_URL").replace(/\/+$/, "");
}

/** The stack's S3-compatible endpoint (S3_ENDPOINT_URL: moto's server mode, started by scripts/stack.sh). */
export function s3EndpointUrl(): string {
  return required("S3_ENDPOINT_URL").replace(/\/+$/, "");
}

/**
 * delta-rs storage options for the stack's S3 endpoint (it accepts any key; these are test values). The same
 * names the delta sink's `delta_sink.storage_options` and Python `deltalake` take.
 */
export function s3StorageOptions(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: s3EndpointUrl(),
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "certstream-test",
    AWS_SECRET_ACCESS_KEY: "certstream-test-secret",
    AWS_ALLOW_HTTP: "true",
  };
}

/** A topic / group / subject name no other test (or earlier run) uses: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** The four topics of one test (config `kafka.topics`): `<base>.entries`, `.certs`, `.backfill`, `.state`. */
export function testTopics(base: string): {
  entries: string;
  certs: string;
  backfill: string;
  state: string;
} {
  return {
    entries: `${base}.entries`,
    certs: `${base}.certs`,
    backfill: `${base}.backfill`,
    state: `${base}.state`,
  };
}

/** The project's Python (.venv, made by scripts/setup.sh) with the independent readers installed. */
export function pythonBin(): string {
  const bin = `${repoRoot}/.venv/bin/python`;
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/setup.sh\``);
  return bin;
}
