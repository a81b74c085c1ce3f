import { readFileSync } from "node:fs";
import { createLogger } from "@certstream/log";
import type { Certificate, CertificateEntry } from "@certstream/schema";
import type { Kafka } from "kafkajs";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { createKafka } from "../src/index.ts";

/** A client of the test broker for this library's tests. */
export function testKafka(): Kafka {
  return createKafka({
    brokers: kafkaBrokers(),
    clientId: "kafka-lib-test",
    logger: createLogger("test", "warn"),
  });
}

/** Version `n` of an Avro schema as it was registered (libs/schema/avro/history/<name>.<n>.avsc). */
export function historySchema(name: string, n: number): string {
  return readFileSync(new URL(`../../schema/avro/history/${name}.${n}.avsc`, import.meta.url), "utf8");
}

const REGISTRY_JSON = { "content-type": "application/vnd.schemaregistry.v1+json" };

/** Registers `schema` under `subject` as it is; the registry's answer, a refusal included (409). */
export function registerSchemaText(subject: string, schema: string): Promise<Response> {
  return fetch(`${registryUrl()}/subjects/${subject}/versions`, {
    method: "POST",
    headers: REGISTRY_JSON,
    body: JSON.stringify({ schema }),
  });
}

/** Sets `subject`'s compatibility rule; the registry's answer. */
export function setCompatibility(subject: string, compatibility: string): Promise<Response> {
  return fetch(`${registryUrl()}/config/${subject}`, {
    method: "PUT",
    headers: REGISTRY_JSON,
    body: JSON.stringify({ compatibility }),
  });
}

/** shared/ lies beside the repository (developers' tree and CI's fresh clone alike). */
const certsDir = new URL("../../../../shared/testdata/certs/live-2026/", import.meta.url);

function der(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, certsDir)));
}

const issuer = {
  C: "US",
  CN: "R12",
  L: null,
  O: "Let's Encrypt",
  OU: null,
  ST: null,
  emailAddress: null,
  aggregated: "/C=US/CN=R12/O=Let's Encrypt",
};

function cert(cn: string, isCa: boolean): Certificate {
  return {
    subject: {
      C: null,
      CN: cn,
      L: null,
      O: null,
      OU: null,
      ST: null,
      emailAddress: null,
      aggregated: `/CN=${cn}`,
    },
    issuer,
    serial_number: "04A1B2C3D4E5F60718293A4B5C6D7E8F",
    not_before: 1_767_225_600,
    not_after: 1_774_998_000,
    fingerprint: "AA:BB:CC",
    sha1: "AA:BB:CC",
    sha256: "00".repeat(32),
    signature_algorithm: "sha256, rsa",
    is_ca: isCa,
    all_domains: isCa ? [] : [cn, `www.${cn}`],
    extensions: {
      subjectAltName: `DNS:${cn}, DNS:www.${cn}`,
      basicConstraints: isCa ? "CA:TRUE" : "CA:FALSE",
      ctlPoisonByte: true,
    },
  };
}

/**
 * A CertificateEntry with real DER bytes (a 2026 precertificate and its issuer) and hand-filled parsed fields:
 * the codec only carries them, it does not check them against the DER. `index` varies the record.
 */
export function sampleEntry(index = 1_111_014_090): CertificateEntry {
  return {
    log: {
      id: "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
      name: 'Google "Argon2026h2"',
      url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
      operator: "Google",
      kind: "rfc6962",
    },
    index,
    timestamp: 1_767_225_600_123,
    seen: 1_767_225_601_000_000,
    update_type: "PrecertLogEntry",
    leaf_der: der("precert-cloudflare-nimbus2026-003-rfmsqazyd-cc.der"),
    leaf: cert("example.com", false),
    chain: [
      { der: der("ca-R12.der"), cert: cert("R12", true) },
      { der: new Uint8Array([1, 2, 3]), cert: null },
    ],
    parse_error: null,
    raw: null,
    subject_cn: "example.com",
    issuer_cn: "R12",
    issuer_o: "Let's Encrypt",
    registered_domains: ["example.com"],
    log_name: "argon2026h2",
    key_algorithm: "ECDSA",
    key_bits: 256,
    validation_level: "DV",
    not_before_ts: 1_767_225_000_000,
    not_after_ts: 1_775_001_000_000,
    leaf_hash: null,
    tree_verification: null,
    tbs_hash: null,
  };
}

/** An entry whose certificate could not be parsed: the raw bytes are kept. */
export function unparsedEntry(index = 7): CertificateEntry {
  return {
    ...sampleEntry(index),
    update_type: "X509LogEntry",
    leaf_der: new Uint8Array(0),
    leaf: null,
    chain: [],
    parse_error: { kind: "leaf_truncated", message: "leaf_input ends inside the certificate length" },
    raw: { leaf_input: new Uint8Array([0, 0, 1, 2]), extra_data: new Uint8Array(0) },
    subject_cn: null,
    issuer_cn: null,
    issuer_o: null,
    registered_domains: null,
    key_algorithm: null,
    key_bits: null,
    validation_level: null,
    not_before_ts: null,
    not_after_ts: null,
  };
}

/** Reads `topic` from the beginning with read_committed until `until` returns true; returns what it saw. */
export async function readCommitted(
  kafka: Kafka,
  topic: string,
  until: (values: string[]) => boolean,
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("g"), readUncommitted: false });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(values)}`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? "");
          if (until(values)) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
  return values;
}
