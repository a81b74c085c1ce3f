import { getDomain } from "tldts";

// The same Public Suffix List reading as libs/ct's registeredDomains (the archive's registered_domains column):
// private section included (foo.github.io is its own registered domain), hostnames only.
const PSL_OPTIONS = {
  allowPrivateDomains: true,
  detectIp: true,
  extractHostname: false,
  validateHostname: true,
};

/** Lower-cased, without a leading "*." or a trailing dot: the form the archive's domain columns hold. */
export function normalizeName(name: string): string {
  let d = name.trim().toLowerCase();
  if (d.endsWith(".")) d = d.slice(0, -1);
  return d;
}

/** The registered domain (eTLD+1) of a host name, or null (an IP, a public suffix, an internal name). */
export function registeredDomainOf(name: string): string | null {
  let d = normalizeName(name);
  if (d.startsWith("*.")) d = d.slice(2);
  const r = getDomain(d, PSL_OPTIONS);
  return r === null || r === "" ? null : r;
}

/**
 * The clustering key of a domain: its labels reversed ("www.example.com" → "com.example.www"), so that every name
 * under a suffix sorts together and a suffix search is one key range: names under "co.uk" are the keys starting
 * with "uk.co.".
 */
export function reversedKey(domain: string): string {
  return domain.split(".").reverse().join(".");
}

/** The key range [lo, hi) of every name at or under `suffix` (reversed key of the suffix, then its children). */
export function suffixKeyRange(suffix: string): { exact: string; lo: string; hi: string } {
  const exact = reversedKey(suffix);
  // "." < "/" in code-unit order: every child key "<exact>.…" lies in ["<exact>.", "<exact>/").
  return { exact, lo: `${exact}.`, hi: `${exact}/` };
}

/**
 * The sort key of a row by its registered domains: rows with one registered domain first, ordered by its reversed
 * key; rows with several after them, by their smallest reversed key; rows with none last. Keeping multi-domain
 * rows apart keeps the key ranges of the single-domain row groups tight.
 */
export function clusterSortKey(registered: readonly string[] | null | undefined): string {
  if (!registered || registered.length === 0) return "2";
  if (registered.length === 1) return `0${reversedKey(registered[0])}`;
  let min = reversedKey(registered[0]);
  for (let i = 1; i < registered.length; i++) {
    const k = reversedKey(registered[i]);
    if (k < min) min = k;
  }
  return `1${min}`;
}
