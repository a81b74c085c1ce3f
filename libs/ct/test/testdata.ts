// Loaders for the real CT data in ../shared/testdata (read-only; see its README for the origin of each file).
import { readdirSync, readFileSync } from "node:fs";
import type { LogSource } from "@certstream/schema";
import type { RawLogEntry } from "../src/entry.ts";

export const TESTDATA = new URL("../../../../shared/testdata/", import.meta.url);

export interface RealEntry {
  file: string;
  position: number;
  raw: RawLogEntry;
}

/** Every entry of every get-entries body in ct-entries/rfc6962, base64-decoded. */
export function rfc6962Entries(): RealEntry[] {
  const dir = new URL("ct-entries/rfc6962/", TESTDATA);
  const out: RealEntry[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) continue;
    const body = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as {
      entries: { leaf_input: string; extra_data: string }[];
    };
    body.entries.forEach((e, position) => {
      out.push({
        file,
        position,
        raw: {
          index: position,
          leafInput: Buffer.from(e.leaf_input, "base64"),
          extraData: Buffer.from(e.extra_data, "base64"),
        },
      });
    });
  }
  return out;
}

export interface CorpusCertificate {
  /** "<folder>/<file>#<n>" (n = position of the certificate in the file). */
  name: string;
  der: Buffer;
}

/** Every certificate of the certs/ corpus: PEM blocks (files may hold several, or a text dump first) or raw DER. */
export function corpusCertificates(): CorpusCertificate[] {
  const root = new URL("certs/", TESTDATA);
  const out: CorpusCertificate[] = [];
  for (const folder of readdirSync(root).sort()) {
    for (const file of readdirSync(new URL(`${folder}/`, root)).sort()) {
      const bytes = readFileSync(new URL(`${folder}/${file}`, root));
      const pems = [
        ...bytes
          .toString("latin1")
          .matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g),
      ];
      const ders =
        pems.length > 0 ? pems.map((m) => Buffer.from(m[1].replace(/\s+/g, ""), "base64")) : [bytes];
      for (let n = 0; n < ders.length; n++) out.push({ name: `${folder}/${file}#${n}`, der: ders[n] });
    }
  }
  return out;
}

export interface LiveSnapshot {
  name: string;
  log_name: string;
  log_url: string;
  cert_index: number;
  leaf_input: string;
  extra_data: string;
  expected_full: string;
  expected_lite: string;
  expected_domains_only: string;
}

/** The 20 Argon2026h2 entries with certstream-server-rust's expected output. */
export function liveSnapshots(): LiveSnapshot[] {
  return JSON.parse(
    readFileSync(
      new URL("certstream-examples/certstream-server-rust_live_ct_snapshots.json", TESTDATA),
      "utf8",
    ),
  ) as LiveSnapshot[];
}

export function snapshotLog(s: LiveSnapshot): LogSource {
  return {
    id: "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
    name: s.log_name,
    url: s.log_url,
    operator: "Google",
    kind: "rfc6962",
  };
}

export function snapshotRaw(s: LiveSnapshot): RawLogEntry {
  return {
    index: s.cert_index,
    leafInput: Buffer.from(s.leaf_input, "base64"),
    extraData: Buffer.from(s.extra_data, "base64"),
  };
}

export const TEST_LOG: LogSource = {
  id: "test",
  name: "Real entries",
  url: "https://ct.example/",
  operator: "test",
  kind: "rfc6962",
};
