/**
 * Filtered clients of one format and transport, indexed by the domain part of their filter, so that a
 * certificate costs a few map look-ups per domain it names instead of a check per filtered client:
 * `domain=a.example.com` is found under "a.example.com", `domain=*.example.com` under the suffix
 * ".example.com" (looked up for every suffix of each certificate domain), and filters without a domain part
 * (issuer=/log= only) are checked one by one. Candidates then get the full `matches` (issuer, log).
 */
import type { StreamClient } from "./client.ts";
import type { EntryKeys } from "./filters.ts";

export class FilterIndex {
  private readonly exact = new Map<string, Set<StreamClient>>();
  private readonly suffix = new Map<string, Set<StreamClient>>();
  private readonly scan = new Set<StreamClient>();
  private count = 0;
  /** Per-publish visit mark, so a client reached through several domains is considered once. */
  private visit = 0;
  private readonly seen = new WeakMap<StreamClient, number>();

  get size(): number {
    return this.count;
  }

  add(c: StreamClient): void {
    const f = c.filter;
    if (f === null) return;
    this.count++;
    if (f.exact.size === 0 && f.suffixes.length === 0) {
      this.scan.add(c);
      return;
    }
    for (const d of f.exact) addTo(this.exact, d, c);
    for (const s of f.suffixes) addTo(this.suffix, s, c);
  }

  remove(c: StreamClient): void {
    const f = c.filter;
    if (f === null) return;
    let found = this.scan.delete(c);
    for (const d of f.exact) found = removeFrom(this.exact, d, c) || found;
    for (const s of f.suffixes) found = removeFrom(this.suffix, s, c) || found;
    if (found) this.count--;
  }

  has(c: StreamClient): boolean {
    const f = c.filter;
    if (f === null) return false;
    if (this.scan.has(c)) return true;
    for (const d of f.exact) if (this.exact.get(d)?.has(c)) return true;
    for (const s of f.suffixes) if (this.suffix.get(s)?.has(c)) return true;
    return false;
  }

  *all(): Iterable<StreamClient> {
    const out = new Set<StreamClient>(this.scan);
    for (const set of this.exact.values()) for (const c of set) out.add(c);
    for (const set of this.suffix.values()) for (const c of set) out.add(c);
    yield* out;
  }

  /** Calls `fn` once for every client whose filter matches the certificate. */
  forEachMatch(keys: EntryKeys, fn: (c: StreamClient) => void): void {
    const mark = ++this.visit;
    const consider = (c: StreamClient) => {
      if (this.seen.get(c) === mark) return;
      this.seen.set(c, mark);
      if (c.filter?.matches(keys)) fn(c);
    };
    if (this.exact.size > 0 || this.suffix.size > 0) {
      for (const d of keys.domains) {
        const e = this.exact.get(d);
        if (e !== undefined) for (const c of e) consider(c);
        if (this.suffix.size > 0) {
          for (let i = d.indexOf("."); i >= 0; i = d.indexOf(".", i + 1)) {
            const s = this.suffix.get(d.slice(i));
            if (s !== undefined) for (const c of s) consider(c);
          }
        }
      }
    }
    for (const c of this.scan) consider(c);
  }
}

function addTo(map: Map<string, Set<StreamClient>>, key: string, c: StreamClient): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(c);
}

function removeFrom(map: Map<string, Set<StreamClient>>, key: string, c: StreamClient): boolean {
  const set = map.get(key);
  if (set === undefined || !set.delete(c)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}
