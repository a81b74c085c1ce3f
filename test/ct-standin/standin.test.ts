import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssuerCache } from "../../libs/ct/src/issuer-cache.ts";
import { parseLogKey } from "../../libs/ct/src/log-key.ts";
import { RfcLogClient } from "../../libs/ct/src/rfc-log-client.ts";
import { StaticLogClient } from "../../libs/ct/src/static-log-client.ts";
import { StandInServer } from "./server.ts";

// The stand-ins themselves: real data, growth, shared-certificate option, CLI.

function certOf(leafInput: Buffer): Buffer {
  // MerkleTreeLeaf: version, leaf_type, timestamp(8), entry_type(2), then x509 ASN.1Cert<1..2^24-1>.
  const len = leafInput.readUIntBE(12, 3);
  return leafInput.subarray(15, 15 + len);
}

const server = new StandInServer({
  rfc6962: [
    { name: "a", mode: "distinct", certSeed: 1, initialSize: 200 },
    { name: "b", mode: "distinct", certSeed: 1, initialSize: 200 },
    { name: "c", mode: "distinct", certSeed: 2, initialSize: 200 },
    { name: "same", mode: "same", initialSize: 200 },
    // Restarted stand-ins: the same log, started again with another certificate epoch.
    { name: "epoch1", mode: "distinct", certSeed: 1, certEpoch: 1_000, initialSize: 200 },
    { name: "epoch2", mode: "distinct", certSeed: 1, certEpoch: 2_000, initialSize: 200 },
  ],
  static: [
    { name: "s1", mode: "distinct", certSeed: 5, initialSize: 1100 },
    { name: "s2", mode: "distinct", certSeed: 5, initialSize: 1100 },
  ],
});
beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

describe("stand-in logs", () => {
  it("serve the 27 real entries first, then re-served ones", () => {
    const a = server.rfc("a");
    const same = server.rfc("same");
    for (let i = 0; i < 27; i++) expect(a.entry(i).leafInput.equals(same.entry(i).leafInput)).toBe(true);
    const x509 = [...Array(200).keys()].filter((i) => same.entry(i).leafInput.readUInt16BE(10) === 0);
    const i = x509.find((k) => k >= 27) as number;
    // "same" mode: the re-served certificate is byte-identical to the real one it copies.
    expect(certOf(same.entry(i).leafInput).equals(certOf(same.entry(i % 27).leafInput))).toBe(true);
    // "distinct" mode: a different certificate that still parses, with a different serial.
    const d = new X509Certificate(certOf(a.entry(i).leafInput));
    const orig = new X509Certificate(certOf(a.entry(i % 27).leafInput));
    expect(d.serialNumber).not.toBe(orig.serialNumber);
    expect(d.subject).toBe(orig.subject);
  });

  it("a start with another certEpoch (a restarted CLI stand-in) serves certificates no other start served", () => {
    const [a, e1, e2] = ["a", "epoch1", "epoch2"].map((n) => server.rfc(n));
    let compared = 0;
    for (let i = 27; i < 200; i++) {
      if (a.entry(i).leafInput.readUInt16BE(10) !== 0) continue;
      const certs = [a, e1, e2].map((l) => certOf(l.entry(i).leafInput));
      expect(certs[0].equals(certs[1]) || certs[0].equals(certs[2]) || certs[1].equals(certs[2])).toBe(false);
      // Still the real certificate it copies, with another serial.
      const orig = new X509Certificate(certOf(a.entry(i % 27).leafInput));
      expect(new X509Certificate(certs[2]).subject).toBe(orig.subject);
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it("logs with the same certSeed share certificates (dedup tests); other seeds do not", () => {
    const [a, b, c] = ["a", "b", "c"].map((n) => server.rfc(n));
    for (let i = 27; i < 200; i += 7) {
      if (a.entry(i).leafInput.readUInt16BE(10) !== 0) continue;
      expect(certOf(a.entry(i).leafInput).equals(certOf(b.entry(i).leafInput))).toBe(true);
      expect(certOf(a.entry(i).leafInput).equals(certOf(c.entry(i).leafInput))).toBe(false);
    }
    expect(
      server
        .static("s1")
        .leafBytes(1050)
        .subarray(10)
        .equals(server.static("s2").leafBytes(1050).subarray(10)),
    ).toBe(true);
  });

  it("grow at the configured rate while serving", async () => {
    const log = server.rfc("c");
    log.growRate = 100;
    log.start();
    const before = log.size;
    await new Promise((r) => setTimeout(r, 350));
    log.stop();
    expect(log.size - before).toBeGreaterThanOrEqual(20);
  });

  it("record when each entry is first published: the first STH or checkpoint served that covers it", async () => {
    const rfc = server.rfc("same");
    const st = server.static("s2");
    expect(rfc.publishedAt(0)).toBeNull();
    const t0 = Date.now();
    await fetch(`${server.url("same")}ct/v1/get-sth`).then((r) => r.text());
    await fetch(`${server.url("s2")}checkpoint`).then((r) => r.text());
    const first = rfc.publishedAt(rfc.size - 1) as number;
    expect(first).toBeGreaterThanOrEqual(t0);
    expect(rfc.publishedAt(0)).toBe(first);
    expect(rfc.publishedAt(rfc.size)).toBeNull();
    expect(st.publishedAt(st.size - 1)).toBeGreaterThanOrEqual(t0);
    rfc.grow(3);
    await new Promise((r) => setTimeout(r, 5));
    await fetch(`${server.url("same")}ct/v1/get-sth`).then((r) => r.text());
    expect(rfc.publishedAt(rfc.size - 4)).toBe(first);
    expect(rfc.publishedAt(rfc.size - 1)).toBeGreaterThan(first);
  });

  it("static re-served leaves carry their new leaf_index and read back cleanly with Merkle checks", async () => {
    const c = new StaticLogClient({
      ...server.staticEndpoint("s1"),
      issuers: new IssuerCache(),
      verifyMerkle: true,
    });
    const cp = await c.head();
    let n = 0;
    for await (const item of c.fetch(1000, cp.treeSize)) {
      expect(item.kind).toBe("entries");
      if (item.kind === "entries") n += item.entries.length;
    }
    expect(n).toBe(100);
  });

  it("run as a CLI: prints the logs and serves them", async () => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "main.ts"), "--rfc6962", "--static", "--port", "0", "--logs", "2"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("\n")) resolve(buf.split("\n")[0]);
        });
        child.once("exit", (code) => reject(new Error(`stand-in exited ${code}`)));
      });
      const info = JSON.parse(line) as {
        log_list: string;
        logs: { name: string; url: string; key: string; kind: string }[];
      };
      expect(info.logs.map((l) => l.name)).toEqual(["rfc0", "rfc1", "static0", "static1"]);
      const rfc = info.logs[0];
      const client = new RfcLogClient({ name: rfc.name, url: rfc.url, key: parseLogKey(rfc.key) });
      expect((await client.head()).treeSize).toBe(27);
      const list = (await (await fetch(info.log_list)).json()) as {
        operators: { logs: unknown[]; tiled_logs: unknown[] }[];
      };
      expect(list.operators.flatMap((o) => [...o.logs, ...o.tiled_logs]).length).toBe(4);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
