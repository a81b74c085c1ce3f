// Why libs/ct parses X.509 by hand: the same real certificates (../shared/testdata/certs/live-2026: 2026 leaves,
// precerts and issuing CAs from CT) through @peculiar/asn1-x509, node's crypto.X509Certificate and
// libs/ct parseCertificate. Prints µs per certificate; asserts nothing.
// Budget: 20,000 entries/s/core with full rendering and a chain of 2-3 certificates leaves ~15 µs per certificate.
// Run: node bench/x509-parser-choice.bench.ts
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { parseCertificate } from "@certstream/ct";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";

const DIR = new URL("../../shared/testdata/certs/live-2026/", import.meta.url);
const ders = readdirSync(DIR)
  .sort()
  .map((f) => readFileSync(new URL(f, DIR)));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

// µs of this process's CPU time per certificate (steady under load from other processes).
function measure(name: string, fn: (der: Buffer) => unknown): void {
  for (let i = 0; i < 200; i++) fn(ders[i % ders.length]);
  const deadline = performance.now() + SECONDS * 1000;
  const cpuStart = process.cpuUsage();
  let n = 0;
  while (performance.now() < deadline) for (let j = 0; j < 50; j++) fn(ders[n++ % ders.length]);
  const cpu = process.cpuUsage(cpuStart);
  const us = (cpu.user + cpu.system) / n;
  console.log(`${name.padEnd(82)} ${us.toFixed(1).padStart(7)} µs/cert`);
}

console.log(`${ders.length} real certificates, node ${process.version}\n`);
measure("@peculiar/asn1-x509 AsnConvert.parse (structure only, no field formatting)", (d) =>
  AsnConvert.parse(d, Certificate),
);
measure("node X509Certificate (construct only)", (d) => new X509Certificate(d));
measure("node X509Certificate + subject, issuer, SAN, validity, serial, ca, sha1, sha256", (d) => {
  const c = new X509Certificate(d);
  return [
    c.subject,
    c.issuer,
    c.subjectAltName,
    c.validFrom,
    c.validTo,
    c.serialNumber,
    c.ca,
    c.fingerprint,
    c.fingerprint256,
  ];
});
measure("libs/ct parseCertificate (every certstream field, sha1 + sha256 included)", (d) =>
  parseCertificate(d),
);
