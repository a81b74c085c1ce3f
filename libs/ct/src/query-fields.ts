import type { Certificate, LogSource, QueryFields, ValidationLevel } from "@certstream/schema";
import { getDomain } from "tldts";
import { readPublicKey } from "./internal/subject-public-key.ts";

/*
 * The query-friendly fields of a CertificateEntry (and of the archive's columns of the same names): what a user
 * filters on without LIKE over an aggregated string or epoch arithmetic. Derived from the parsed leaf, its DER
 * (for the key) and the log; all null when the leaf did not parse, except log_name.
 */

// CA/Browser Forum certificate policy identifiers (Baseline Requirements §7.1.6.1, EV Guidelines §9.3.2).
const POLICY_LEVELS: Record<string, ValidationLevel> = {
  "2.23.140.1.1": "EV",
  "2.23.140.1.2.1": "DV",
  "2.23.140.1.2.2": "OV",
  "2.23.140.1.2.3": "IV",
};
// When a certificate asserts several (it should not), the strongest vetting wins.
const LEVEL_RANK: Record<ValidationLevel, number> = { DV: 1, IV: 2, OV: 3, EV: 4 };

/**
 * DV / OV / IV / EV from the CA/B Forum policy OIDs in the certificatePolicies extension (as the parser renders
 * it: "Policy: <oid>\n" per policy); null when none of them is asserted (CA-specific OIDs only, or no extension).
 */
export function validationLevel(certificatePolicies: string | boolean | undefined): ValidationLevel | null {
  if (typeof certificatePolicies !== "string") return null;
  let best: ValidationLevel | null = null;
  let at = certificatePolicies.indexOf("2.23.140.1.");
  while (at >= 0) {
    let end = certificatePolicies.indexOf("\n", at);
    if (end < 0) end = certificatePolicies.length;
    const level = POLICY_LEVELS[certificatePolicies.slice(at, end)];
    if (level !== undefined && (best === null || LEVEL_RANK[level] > LEVEL_RANK[best])) best = level;
    at = certificatePolicies.indexOf("2.23.140.1.", end);
  }
  return best;
}

// The full Public Suffix List (ICANN and private sections), as the PSL defines a registrable domain:
// foo.github.io is its own registered domain, not github.io. Hostnames only: IP addresses give none.
const PSL_OPTIONS = {
  allowPrivateDomains: true,
  detectIp: true,
  extractHostname: false,
  validateHostname: true,
};

/**
 * The registered domains (eTLD+1 by the Public Suffix List) of `domains`, lower-cased, in first-seen order, no
 * repeats. A wildcard counts as its base name; names without one (a bare public suffix, an IP address, an
 * internal name such as "localhost", a CN that is not a hostname) are left out. An unlisted TLD is a public
 * suffix by the PSL's default rule "*" (name.example → name.example).
 */
export function registeredDomains(domains: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < domains.length; i++) {
    let d = domains[i].toLowerCase();
    if (d.startsWith("*.")) d = d.slice(2);
    if (d.endsWith(".")) d = d.slice(0, -1);
    const r = getDomain(d, PSL_OPTIONS);
    if (r !== null && r !== "" && !out.includes(r)) out.push(r);
  }
  return out;
}

/**
 * A log's short name, lower-cased: the quoted part of the log list's description ("Google 'Argon2026h2'" →
 * "argon2026h2", "Let's Encrypt 'Oak2026h1'" → "oak2026h1"), else its last word ("TrustAsia Luoshu2027" →
 * "luoshu2027"), else the whole name. It is the name in the log's URL for most operators and what people say.
 */
export function logShortName(name: string): string {
  // A quoted word (no spaces inside, so the apostrophe of "Let's" does not open a quote).
  const quoted = /['"\u2018\u201c]([^'"\u2018\u2019\u201c\u201d\s]+)['"\u2019\u201d]/.exec(name);
  if (quoted) return quoted[1].trim().toLowerCase();
  const words = name.trim().split(/\s+/);
  return (words[words.length - 1] ?? name).toLowerCase();
}

const logNames = new Map<string, string>();

function cachedLogName(name: string): string {
  let s = logNames.get(name);
  if (s === undefined) {
    s = logShortName(name);
    if (logNames.size >= 4096) logNames.clear();
    logNames.set(name, s);
  }
  return s;
}

/** Seconds since the epoch → milliseconds; 0 (the parser's "unreadable time") → null. */
function millis(seconds: number): number | null {
  return seconds === 0 ? null : seconds * 1000;
}

/** The query fields of an entry whose leaf is `leaf` (null: not parsed) with DER `leafDer`, from `log`. */
export function queryFields(log: LogSource, leaf: Certificate | null, leafDer: Uint8Array): QueryFields {
  const log_name = cachedLogName(log.name);
  if (leaf === null) {
    return {
      subject_cn: null,
      issuer_cn: null,
      issuer_o: null,
      registered_domains: null,
      log_name,
      key_algorithm: null,
      key_bits: null,
      validation_level: null,
      not_before_ts: null,
      not_after_ts: null,
    };
  }
  const key = readPublicKey(leafDer);
  return {
    subject_cn: leaf.subject.CN,
    issuer_cn: leaf.issuer.CN,
    issuer_o: leaf.issuer.O,
    registered_domains: registeredDomains(leaf.all_domains),
    log_name,
    key_algorithm: key?.algorithm ?? null,
    key_bits: key?.bits ?? null,
    validation_level: validationLevel(leaf.extensions.certificatePolicies),
    not_before_ts: millis(leaf.not_before),
    not_after_ts: millis(leaf.not_after),
  };
}
