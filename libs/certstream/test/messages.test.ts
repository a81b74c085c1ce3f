import { readFileSync } from "node:fs";
import { fromRawEntry, parseCertificate } from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { type LiveSnapshot, liveSnapshots, snapshotLog, snapshotRaw } from "../../ct/test/testdata.ts";
import { renderDomainsOnly, renderFull, renderHeartbeat, renderLite, renderMessages } from "../src/index.ts";

// The 20 real Argon2026h2 entries with certstream-server-rust's expected full, lite and domains-only output
// (../shared/testdata/certstream-examples). Ours must equal them field by field except for the deliberate
// differences listed in libs/certstream/README.md, each asserted explicitly here.
const snapshots = liveSnapshots();

// The expectations were produced with seen fixed to 1700000000.0.
const SEEN_MICROS = 1_700_000_000 * 1_000_000;

function entryOf(s: LiveSnapshot): CertificateEntry {
  return fromRawEntry(snapshotLog(s), snapshotRaw(s), SEEN_MICROS);
}

type Json = Record<string, unknown>;

const NAME_KEYS = ["C", "CN", "L", "O", "OU", "ST", "aggregated", "email_address"];

/**
 * Deliberate difference 1: every subject/issuer key is present, null when absent (the reference omits them).
 * Asserts that, then removes the null keys so the rest compares equal.
 */
function dropNullNameKeys(name: Json, expected: Json): void {
  expect(Object.keys(name)).toEqual(NAME_KEYS);
  for (const key of NAME_KEYS) {
    if (name[key] === null) {
      expect(expected).not.toHaveProperty(key);
      delete name[key];
    }
  }
}

function normaliseCert(cert: Json, expected: Json): void {
  dropNullNameKeys(cert.subject as Json, expected.subject as Json);
  dropNullNameKeys(cert.issuer as Json, expected.issuer as Json);
}

describe("the 20 live Argon2026h2 entries against certstream-server-rust", () => {
  it("are all there", () => {
    expect(snapshots.length).toBe(20);
  });

  for (const s of snapshots) {
    describe(s.name, () => {
      const entry = entryOf(s);
      const rendered = renderMessages(entry);

      it("full", () => {
        const ours = JSON.parse(rendered.full as string) as Json;
        const expected = JSON.parse(s.expected_full) as Json;
        const data = ours.data as Json;
        const exp = expected.data as Json;
        // Same keys in the same order at the top of data; seen is compared on its own (excluded from the match).
        expect(Object.keys(data)).toEqual(Object.keys(exp));
        expect(data.seen).toBe(1700000000);
        normaliseCert(data.leaf_cert as Json, exp.leaf_cert as Json);
        const chain = data.chain as Json[];
        const expChain = exp.chain as Json[];
        expect(chain.length).toBe(expChain.length);
        for (let i = 0; i < chain.length; i++) {
          normaliseCert(chain[i], expChain[i]);
          // Deliberate difference 2: chain certificates carry as_der in the full stream (as CaliDog's did).
          expect(Buffer.from(chain[i].as_der as string, "base64")).toEqual(Buffer.from(entry.chain[i].der));
          expect(expChain[i]).not.toHaveProperty("as_der");
          delete chain[i].as_der;
        }
        expect(ours).toEqual(expected);
      });

      it("lite", () => {
        const ours = JSON.parse(rendered.lite as string) as Json;
        const expected = JSON.parse(s.expected_lite) as Json;
        const data = ours.data as Json;
        expect(data).not.toHaveProperty("chain");
        expect(data.leaf_cert).not.toHaveProperty("as_der");
        normaliseCert(data.leaf_cert as Json, (expected.data as Json).leaf_cert as Json);
        expect(ours).toEqual(expected);
      });

      it("domains-only, byte for byte", () => {
        expect(rendered.domains).toBe(s.expected_domains_only);
        expect(renderDomainsOnly(entry)).toBe(s.expected_domains_only);
      });

      it("single-format renderers agree with renderMessages", () => {
        expect(renderFull(entry)).toBe(rendered.full);
        expect(renderLite(entry)).toBe(rendered.lite);
      });
    });
  }
});

describe("messages details", () => {
  const entry = entryOf(snapshots[0]);

  it("floats keep a fraction, as the Python and Go clients expect", () => {
    expect(renderFull(entry)).toContain('"seen":1700000000.0,');
    expect(renderFull({ ...entry, seen: 1_700_000_000_250_000 })).toContain('"seen":1700000000.25,');
    expect(renderHeartbeat(1508532970.93171)).toBe(
      '{"message_type":"heartbeat","timestamp":1508532970.93171}',
    );
    expect(renderHeartbeat(1700000000)).toBe('{"message_type":"heartbeat","timestamp":1700000000.0}');
  });

  it("an entry whose leaf did not parse renders to null in every format", () => {
    const broken: CertificateEntry = {
      ...entry,
      leaf: null,
      parse_error: { kind: "x509_invalid", message: "m" },
    };
    expect(renderMessages(broken)).toEqual({ full: null, lite: null, domains: null });
    expect(renderFull(broken)).toBeNull();
    expect(renderDomainsOnly(broken)).toBeNull();
  });

  it("renders only the formats asked for", () => {
    expect(renderMessages(entry, ["domains"])).toEqual({
      full: null,
      lite: null,
      domains: renderDomainsOnly(entry),
    });
  });

  it("an unparseable chain certificate is left out of chain[]", () => {
    const partial: CertificateEntry = {
      ...entry,
      chain: [{ der: entry.chain[0].der, cert: null }, entry.chain[1]],
    };
    const chain = (JSON.parse(renderFull(partial) as string).data as Json).chain as Json[];
    expect(chain.length).toBe(1);
    expect(chain[0].sha256).toBe(entry.chain[1].cert?.sha256);
  });

  it("static logs link to the data tile holding the entry", () => {
    const log: LogSource = {
      ...entry.log,
      kind: "static",
      url: "https://navigli2025h2.skylight.geomys.org/",
    };
    const data = JSON.parse(renderLite({ ...entry, log, index: 1234567 }) as string).data as Json;
    expect(data.cert_link).toBe("https://navigli2025h2.skylight.geomys.org/tile/data/x004/822");
    expect(data.source).toEqual({ name: entry.log.name, url: log.url });
  });

  it("escapes what JSON needs escaped, in names, domains and log names", () => {
    const leaf = entry.leaf as NonNullable<CertificateEntry["leaf"]>;
    const odd = 'a"b\\c\u0000d\n\ud800é😀';
    const weird: CertificateEntry = {
      ...entry,
      log: { ...entry.log, name: odd },
      leaf: { ...leaf, subject: { ...leaf.subject, CN: odd, aggregated: `/CN=${odd}` }, all_domains: [odd] },
    };
    for (const text of Object.values(renderMessages(weird))) {
      const parsed = JSON.parse(text as string);
      expect(JSON.stringify(parsed)).toContain(JSON.stringify(odd).slice(1, -1));
    }
    expect(JSON.parse(renderDomainsOnly(weird) as string).data).toEqual([odd]);
  });
});

// certstream-server-rust's synthetic snapshots (rcgen certificates: IDN, IP and email SANs, multi-attribute
// subjects, CN only, a CA): the leaf_cert object must match too. Their cert_link is a test value of that suite.
describe("certstream-server-rust synthetic snapshots: leaf_cert", () => {
  const synthetic = JSON.parse(
    readFileSync(
      new URL(
        "../../../../shared/testdata/certstream-examples/certstream-server-rust_synthetic_snapshots.json",
        import.meta.url,
      ),
      "utf8",
    ),
  ) as { name: string; der_b64: string; submission_timestamp: number; expected_full: string }[];

  it.each(synthetic.map((s) => [s.name, s] as const))("%s", (_name, s) => {
    const der = Buffer.from(s.der_b64, "base64");
    const leaf = parseCertificate(der);
    const entry: CertificateEntry = {
      log: {
        id: "t",
        name: "Snapshot Test Log",
        url: "https://test.example/",
        operator: "t",
        kind: "rfc6962",
      },
      index: 42,
      timestamp: s.submission_timestamp * 1000,
      seen: SEEN_MICROS,
      update_type: "X509LogEntry",
      leaf_der: der,
      leaf,
      chain: [],
      parse_error: null,
      raw: null,
    };
    const ours = (JSON.parse(renderFull(entry) as string).data as Json).leaf_cert as Json;
    const expected = (JSON.parse(s.expected_full).data as Json).leaf_cert as Json;
    normaliseCert(ours, expected);
    // A CA certificate's all_domains is its SAN dNSNames alone, as certstream-server-rust (and -go) have it.
    expect(ours).toEqual(expected);
  });
});

// CaliDog's documented full messages carry real DERs: the values both implementations define alike agree
// (CaliDog writes serials as lower-case integers without the leading zero nibble, and DN order in aggregated).
describe("CaliDog full messages with real as_der", () => {
  for (const file of [
    "calidog-certstream-go_README_certificate_update_full.json",
    "calidog-certstream-python_README_certificate_update_full.json",
  ]) {
    it(file, () => {
      const message = JSON.parse(
        readFileSync(
          new URL(`../../../../shared/testdata/certstream-examples/${file}`, import.meta.url),
          "utf8",
        ),
      ) as { data: { leaf_cert: Json; chain?: Json[] } };
      for (const theirs of [message.data.leaf_cert, ...(message.data.chain ?? [])]) {
        const ours = parseCertificate(Buffer.from(theirs.as_der as string, "base64"));
        expect(ours.fingerprint).toBe(theirs.fingerprint);
        expect(ours.not_before).toBe(theirs.not_before);
        expect(ours.not_after).toBe(theirs.not_after);
        expect(ours.serial_number.replace(/^0/, "")).toBe((theirs.serial_number as string).toUpperCase());
        expect(ours.subject.CN).toBe((theirs.subject as Json).CN);
        if (theirs.all_domains !== undefined) expect(ours.all_domains).toEqual(theirs.all_domains);
      }
    });
  }
});
