/**
 * Per-client certificate filters (`domain=`, `issuer=`, `log=`). Matching works on an EntryKeys object computed
 * once per certificate (lower-cased strings), so a client costs a few string comparisons, never JSON work.
 *
 * Semantics (documented in the README):
 * - domain: comma-separated; `example.com` matches that exact name in all_domains; `*.example.com` matches any
 *   name ending in `.example.com` (any depth, and the literal wildcard name), not `example.com` itself.
 * - issuer: comma-separated; case-insensitive substring of the issuer's aggregated name.
 * - log: comma-separated; case-insensitive: equal to the log id, or a substring of the log name or URL.
 * Within one parameter any value may match; across parameters all must match.
 * A filter parameter that is present but holds no value (`?domain=`, `?domain=,`) is refused, not taken as
 * "no filter": a client that sent it meant to filter, and an empty form field should not silently stream all.
 */

export interface EntryKeys {
  domains: string[];
  issuer: string;
  logId: string;
  logName: string;
  logUrl: string;
}

export class FilterError extends Error {}

const MAX_VALUES = 100;
const MAX_VALUE_LENGTH = 253;

export class ClientFilter {
  readonly exact: Set<string>;
  readonly suffixes: string[];
  readonly issuers: string[];
  readonly logs: string[];

  constructor(exact: Set<string>, suffixes: string[], issuers: string[], logs: string[]) {
    this.exact = exact;
    this.suffixes = suffixes;
    this.issuers = issuers;
    this.logs = logs;
  }

  /** Null when the query has no filter parameter (the client takes everything). Throws FilterError on bad input. */
  static fromQuery(query: URLSearchParams): ClientFilter | null {
    const domains = values(query, "domain");
    const issuers = values(query, "issuer");
    const logs = values(query, "log");
    if (domains.length + issuers.length + logs.length === 0) return null;
    const exact = new Set<string>();
    const suffixes: string[] = [];
    for (const d of domains) {
      if (d.startsWith("*.")) {
        if (d.length < 3) throw new FilterError(`domain filter "${d}" has an empty suffix`);
        suffixes.push(d.slice(1)); // ".example.com"
      } else {
        if (d.includes("*"))
          throw new FilterError(`domain filter "${d}": a wildcard is only allowed as "*.suffix"`);
        exact.add(d);
      }
    }
    return new ClientFilter(exact, suffixes, issuers, logs);
  }

  matches(k: EntryKeys): boolean {
    if (this.exact.size > 0 || this.suffixes.length > 0) {
      let hit = false;
      for (const d of k.domains) {
        if (this.exact.has(d)) {
          hit = true;
          break;
        }
        for (const s of this.suffixes) {
          if (d.endsWith(s)) {
            hit = true;
            break;
          }
        }
        if (hit) break;
      }
      if (!hit) return false;
    }
    if (this.issuers.length > 0 && !this.issuers.some((i) => k.issuer.includes(i))) return false;
    if (
      this.logs.length > 0 &&
      !this.logs.some((l) => k.logId === l || k.logName.includes(l) || k.logUrl.includes(l))
    )
      return false;
    return true;
  }
}

function values(query: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  const all = query.getAll(name);
  for (const raw of all) {
    for (const part of raw.split(",")) {
      const v = part.trim().toLowerCase();
      if (v === "") continue;
      if (v.length > MAX_VALUE_LENGTH)
        throw new FilterError(`${name} filter value longer than ${MAX_VALUE_LENGTH}`);
      out.push(v);
    }
  }
  if (all.length > 0 && out.length === 0)
    throw new FilterError(
      `parameter "${name}" is empty: give a value, or leave the parameter out for no filter`,
    );
  if (out.length > MAX_VALUES) throw new FilterError(`more than ${MAX_VALUES} ${name} filter values`);
  return out;
}
