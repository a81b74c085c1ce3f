import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CtParseError } from "../src/errors.ts";
import { parseCertificate } from "../src/x509-certificate.ts";
import { corpusCertificates } from "./testdata.ts";

const corpus = corpusCertificates();
const byName = new Map(corpus.map((c) => [c.name, c.der]));

function cert(name: string) {
  const der = byName.get(name);
  if (der === undefined) throw new Error(`no ${name} in the corpus`);
  return parseCertificate(der);
}

// OpenSSL (through node's X509Certificate) is the independent oracle where it parses the certificate.
function opensslOf(der: Buffer): X509Certificate | null {
  try {
    return new X509Certificate(der);
  } catch {
    return null;
  }
}

function twosComplementHex(hex: string): string {
  // OpenSSL prints a negative serial as "-<magnitude>"; the DER holds its two's complement, which we render.
  if (!hex.startsWith("-")) return hex.replace(/^0+(?=.)/, "");
  const magnitude = BigInt(`0x${hex.slice(1)}`);
  const bytes = Math.ceil((magnitude.toString(2).length + 1) / 8);
  return ((1n << BigInt(bytes * 8)) - magnitude).toString(16).toUpperCase();
}

describe("the certs/ corpus (194 certificates, many rejected by strict parsers)", () => {
  it("has every certificate of the README", () => {
    expect(corpus.length).toBe(194);
  });

  // The lenient parser reads every certificate of the corpus, including the ones pyca/cryptography and/or
  // OpenSSL reject (README "py / ossl" FAIL): non-minimal integers, BER indefinite lengths, negative serials,
  // bad string types, version 4, times without seconds or "Z", a truncated certificate.
  it.each(corpus.map((c) => [c.name, c.der] as const))("%s parses", (_name, der) => {
    const c = parseCertificate(der);
    expect(c.sha1).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(c.fingerprint).toBe(c.sha1);
    expect(c.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(c.serial_number).toMatch(/^[0-9A-F]+$/);
    expect(new Set(c.all_domains).size).toBe(c.all_domains.length);
    const ossl = opensslOf(der);
    if (ossl === null) return;
    expect(c.sha1).toBe(ossl.fingerprint);
    expect(c.sha256).toBe(ossl.fingerprint256);
    expect(c.serial_number.replace(/^0+(?=.)/, "")).toBe(twosComplementHex(ossl.serialNumber));
    // Date.parse misreads OpenSSL's rendering of years before 1950 ("Jan  1 00:00:00 1 GMT"): compare the others.
    const fromYear = Number(/(\d+) GMT$/.exec(ossl.validFrom)?.[1]);
    if (fromYear >= 1950) expect(c.not_before).toBe(Math.floor(Date.parse(ossl.validFrom) / 1000));
    const to = Date.parse(ossl.validTo);
    if (!Number.isNaN(to)) expect(c.not_after).toBe(Math.floor(to / 1000));
    // SAN dNSNames in order (OpenSSL quotes names with odd characters: compare plain ones only).
    const osslDns = (ossl.subjectAltName ?? "")
      .split(", ")
      .filter((s) => s.startsWith("DNS:"))
      .map((s) => s.slice(4));
    const ours = String(c.extensions.subjectAltName ?? "")
      .split(", ")
      .filter((s) => s.startsWith("DNS:"))
      .map((s) => s.slice(4));
    if (!osslDns.some((d) => d.startsWith('"'))) expect(ours).toEqual(osslDns);
  });
});

describe("fields of certificates strict parsers reject", () => {
  it("negative serial (FAIL / FAIL): two's complement bytes as upper-case hex", () => {
    const c = cert("google-ct-python/negative_serial.pem#0");
    expect(c.serial_number).toBe("FFD5D5453D324E958B7FC5D04777DBBE");
    expect(c.subject.CN).toBe("*.nyc.gov");
    expect(c.all_domains).toEqual(["*.nyc.gov"]);
  });

  it("non-minimal INTEGER encoding (FAIL / FAIL)", () => {
    const c = cert("ct-go-invalid/xf-der-invalid-nonminimal-int.pem#0");
    expect(c.serial_number).toBe("1234");
    expect(c.subject.aggregated).toBe("/C=US/CN=*.google.com/L=Mountain View/O=Google Inc/ST=California");
  });

  it("truncated certificate (test-corrupted, FAIL / FAIL): the TBSCertificate fields that are whole", () => {
    const c = cert("google-ct-test/test-corrupted.pem#0");
    expect(c.issuer.O).toBe("Certificate Transparency CA");
    expect(c.not_before).toBe(1338508800);
    expect(c.extensions.basicConstraints).toBe("CA:TRUE");
  });

  it("BER indefinite lengths (FAIL / ok)", () => {
    const c = cert("google-ct-python/asn1_indefinite_length_encoding.pem#0");
    expect(c.subject.OU).toBe("VeriSign Class 1 CA - Individual Subscriber");
    expect(c.signature_algorithm).toBe("md5, rsa");
  });

  it("invalid UTF-8 in the subject (ok / FAIL) reads byte for byte", () => {
    const c = cert("google-ct-python/cert_bad_utf8_subject.pem#0");
    expect(c.subject.CN).toBe("www.alojamientocostadelsol.com");
    expect(c.all_domains).toEqual(["www.alojamientocostadelsol.com"]);
  });

  it("GeneralizedTime year 0001 and a NUL in a CN", () => {
    expect(cert("zlint/dNSNameWithUnderscores.pem#0").not_before).toBe(-62135596800);
    expect(cert("google-ct-python/null_chars.pem#0").subject.CN).toBe("null.python.org\u0000example.org");
  });

  it("UTCTime without 'Z' and without seconds (FAIL / ok)", () => {
    expect(cert("zlint/utcNotZulu.pem#0").not_before).toBeGreaterThan(0);
    expect(cert("zlint/utcNoSeconds.pem#0").not_before).toBeGreaterThan(0);
  });
});

describe("certstream field formats", () => {
  it("a 2026 precert from Argon2026h2", () => {
    const c = cert("live-2026/precert-google-argon2026h2-000-portal-dragonjar-org.der#0");
    expect(c).toMatchObject({
      serial_number: "B99764012EA87DB00E6A7788EBE7C44B",
      not_before: 1779299292,
      not_after: 1787078880,
      signature_algorithm: "sha256, rsa",
      is_ca: false,
      all_domains: ["portal.dragonjar.org"],
    });
    expect(c.issuer).toEqual({
      C: "US",
      CN: "WR1",
      L: null,
      O: "Google Trust Services",
      OU: null,
      ST: null,
      emailAddress: null,
      aggregated: "/C=US/CN=WR1/O=Google Trust Services",
    });
    expect(c.extensions).toEqual({
      authorityInfoAccess: "URI:http://o.pki.goog/s/wr1/uZc, URI:http://i.pki.goog/wr1.crt",
      authorityKeyIdentifier: "keyid:66:69:49:d4:de:2a:9c:91:03:cf:89:0e:24:b8:0e:30:03:6e:88:2e",
      basicConstraints: "CA:FALSE",
      certificatePolicies: "Policy: 2.23.140.1.2.1\n",
      extendedKeyUsage: "serverAuth",
      keyUsage: "Digital Signature, Key Encipherment",
      subjectAltName: "DNS:portal.dragonjar.org",
      subjectKeyIdentifier: "keyid:51:b7:1c:01:23:a7:92:e9:ae:37:e7:78:ab:ab:f8:01:1e:5f:c4:f1",
      ctlPoisonByte: true,
    });
  });

  it("an empty subject DN: all null, aggregated empty, domains from the SAN", () => {
    const c = cert("live-2026/precert-google-argon2026h2-003-no-subject-CN.der#0");
    expect(c.subject.aggregated).toBe("");
    expect(c.subject.CN).toBeNull();
    expect(c.all_domains.length).toBe(1);
  });

  it("IP, email and URI SANs: IP and email are rendered, only dNSNames reach all_domains", () => {
    const c = cert("zcrypto/san.test.cert#0");
    expect(String(c.extensions.subjectAltName)).toMatch(/IP Address:/);
    expect(String(c.extensions.subjectAltName)).toMatch(/email:/);
    for (const d of c.all_domains) expect(d).not.toMatch(/^(URI|IP|email)/);
    const v6 = cert("zlint/SANIPv6Address.pem#0");
    expect(v6.extensions.subjectAltName).toBe("IP Address:2001:db8::2:1");
  });

  it("CN ∪ SAN without repeats, CN first", () => {
    const c = cert("google-ct-python/google_cert.pem#0");
    expect(c.all_domains[0]).toBe("*.google.com");
    expect(c.all_domains.length).toBe(44);
  });

  it("email address in the subject and signature algorithms", () => {
    expect(cert("zcrypto/email-in-subject.pem#0").subject.emailAddress).toMatch(/@/);
    expect(cert("zlint/rsassapssWithSHA256.pem#0").signature_algorithm).toBe("sha256, rsa-pss");
    expect(cert("google-ct-python/dsa_with_sha256.der#0").signature_algorithm).toBe("dsa, sha256");
    expect(cert("zcrypto/unknown_sig_alg.cert#0").signature_algorithm).toBe("unknown");
  });
});

describe("what cannot be parsed at all", () => {
  const der = cert("live-2026/ca-WR1.der#0") && (byName.get("live-2026/ca-WR1.der#0") as Buffer);

  function reason(bytes: Uint8Array): string {
    try {
      parseCertificate(bytes);
    } catch (err) {
      if (CtParseError.isCtParseError(err) && err.kind === "x509_invalid") return err.message;
      throw err;
    }
    return "parsed";
  }

  it("names the structure that is missing", () => {
    expect(reason(new Uint8Array(0))).toBe("Certificate is not a SEQUENCE");
    expect(reason(Buffer.from("not a certificate"))).toBe("Certificate is not a SEQUENCE");
    expect(reason(der.subarray(0, 6))).toBe("Certificate.tbsCertificate is not a SEQUENCE");
    expect(reason(der.subarray(0, 10))).toBe("TBSCertificate.version missing or truncated");
    expect(reason(der.subarray(0, 20))).toBe("TBSCertificate.serialNumber missing or truncated");
    expect(reason(der.subarray(0, 40))).toBe("TBSCertificate.signature missing or truncated");
    expect(reason(der.subarray(0, 100))).toBe("TBSCertificate.issuer missing or truncated");
    expect(reason(der.subarray(0, 140))).toBe("TBSCertificate.validity missing or truncated");
    expect(reason(der.subarray(0, 200))).toBe("TBSCertificate.subject missing or truncated");
    // Cut after the subject: everything certstream shows of an issuer is there, so it parses.
    expect(parseCertificate(der.subarray(0, 212)).subject.CN).toBe("WR1");
  });

  it("every truncation of a real certificate parses or fails with x509_invalid", () => {
    for (let n = 0; n <= der.length; n++) reason(der.subarray(0, n));
  });
});

// Certificates made for the fields where we differed from certstream-server-rust and -go (fixtures/x509/README.md).
describe("RSA-PSS hashes, repeated attributes, CA certificates", () => {
  const made = (file: string) =>
    parseCertificate(
      new X509Certificate(readFileSync(new URL(`./fixtures/x509/${file}`, import.meta.url))).raw,
    );

  it("signature_algorithm of RSASSA-PSS names the hash of its parameters (RFC 4055)", () => {
    expect(made("rsa-pss-sha384.pem").signature_algorithm).toBe("sha384, rsa-pss");
    expect(made("rsa-pss-sha512.pem").signature_algorithm).toBe("sha512, rsa-pss");
    expect(cert("zlint/rsassapssWithSHA256.pem#0").signature_algorithm).toBe("sha256, rsa-pss");
  });

  it("a repeated attribute: the key holds the last value, aggregated every value", () => {
    const c = made("repeated-attributes.pem");
    expect(c.subject).toMatchObject({ C: "FR", CN: "multi.example", O: "Multi Country Org", OU: "Web" });
    expect(c.subject.aggregated).toBe(
      "/C=US/C=DE/C=FR/CN=first.example/CN=multi.example/O=Multi Country Org/OU=Ops/OU=Web",
    );
    expect(c.issuer.aggregated).toBe(c.subject.aggregated);
    // A leaf: the (last) CN first, then the SAN dNSNames.
    expect(c.is_ca).toBe(false);
    expect(c.all_domains).toEqual(["multi.example", "www.multi.example"]);
  });

  it("a CA certificate's all_domains is its SAN dNSNames in SAN order, without the CN", () => {
    const c = made("ca-with-cn-and-san.pem");
    expect(c.is_ca).toBe(true);
    expect(c.subject.CN).toBe("Example Issuing CA");
    expect(c.all_domains).toEqual(["zz.ca.example", "aa.ca.example"]);
  });
});
