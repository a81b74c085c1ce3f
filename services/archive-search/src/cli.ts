#!/usr/bin/env node
// The archive search from the command line, for operators and scripts:
//   node services/archive-search/src/cli.ts example.com --issuer "Let's Encrypt" --since 30d
//   node services/archive-search/src/cli.ts '*.example.com' --json --all      (JSON lines, every page)
//   node services/archive-search/src/cli.ts example.com --registered --url http://127.0.0.1:8084
// Reads the table itself (archive_search.table_path, else delta_sink.table_path, or --table), or asks a running
// service with --url. Exit 0 with results or none, 2 for a bad argument or a refused (too broad) query, 1 otherwise.
import { parseArgs } from "node:util";
import type { SearchResultRow } from "@certstream/archive-search";
import {
  ArchiveSearch,
  parseSearchParams,
  QueryTooBroadError,
  SearchParamError,
} from "@certstream/archive-search";
import { loadConfig } from "@certstream/config";
import type { Storage } from "@certstream/delta";
import { LocalStorage } from "@certstream/delta";
import { searchTable } from "./service.ts";

const USAGE = `usage: search [<domain> | '*.<suffix>'] [--registered] [--issuer NAME] [--log NAME]
              [--since AGE|TIME] [--until AGE|TIME] [--on seen|not_before] [--limit N] [--all]
              [--json] [--table DIR | --url http://host:8084] [--config FILE]
  <domain>        exact name (www.example.com); '*.example.com' for it and everything under it
  --registered    <domain> is a registered domain: every certificate naming anything under it
  --since/--until an age (30d, 12h, 2w) or a date/time (2026-05-01, 2026-05-01T12:00:00Z), Unix seconds
  --on            which time --since/--until bound (default seen: when the archive saw the entry)
  --all           follow the cursor to the last page (default: one page of --limit, at most 1000)
  --json          JSON lines, one certificate a line (default: a table)`;

function fail(code: number, message: string): never {
  process.stderr.write(`search: ${message}\n`);
  process.exit(code);
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      registered: { type: "boolean", default: false },
      issuer: { type: "string" },
      log: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      on: { type: "string" },
      limit: { type: "string" },
      all: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      table: { type: "string" },
      url: { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
} catch (err) {
  fail(2, `${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
}
const opts = parsed.values as Record<string, string | boolean | undefined>;
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (parsed.positionals.length > 1)
  fail(2, `one domain at most, got ${parsed.positionals.join(" ")}\n${USAGE}`);

/** The same parameters GET /api/search takes, so the CLI and the API validate alike. */
const params = new URLSearchParams();
const domain = parsed.positionals[0];
if (domain !== undefined) params.set(opts.registered ? "registered" : "domain", domain);
else if (opts.registered) fail(2, "--registered needs a domain");
const pairs: [string, string][] = [
  ["issuer", "issuer"],
  ["log", "log"],
  ["since", "from"],
  ["until", "to"],
  ["on", "on"],
  ["limit", "limit"],
];
for (const [opt, param] of pairs) {
  const v = opts[opt];
  if (typeof v === "string") params.set(param, v);
}

interface Page {
  rows: SearchResultRow[];
  next: string | null;
}

async function viaService(base: string, p: URLSearchParams): Promise<Page> {
  const res = await fetch(`${base.replace(/\/$/, "")}/api/search?${p}`);
  const body = (await res.json()) as {
    results?: (SearchResultRow & { der_link?: string })[];
    next_cursor?: string | null;
    message?: string;
  };
  if (res.status === 400 || res.status === 422) fail(2, body.message ?? `HTTP ${res.status}`);
  if (!res.ok) fail(1, body.message ?? `HTTP ${res.status} from ${base}`);
  return { rows: body.results ?? [], next: body.next_cursor ?? null };
}

let search: ArchiveSearch | null = null;
if (typeof opts.url !== "string") {
  const argv = typeof opts.config === "string" ? ["--config", opts.config] : [];
  let storage: Storage;
  try {
    storage =
      typeof opts.table === "string"
        ? new LocalStorage(opts.table, { sync: false })
        : searchTable(loadConfig({ argv }).config).storage;
  } catch (err) {
    fail(2, err instanceof Error ? err.message : String(err));
  }
  // A command line search may read what it is asked for: the share limit is the service's safeguard.
  search = new ArchiveSearch({ storage, maxScanShare: 1 });
}

async function page(p: URLSearchParams): Promise<Page> {
  if (search === null) return viaService(opts.url as string, p);
  const r = await search.search(parseSearchParams(p));
  return { rows: r.rows, next: r.nextCursor };
}

function tableLine(r: SearchResultRow): string {
  const names = r.leaf_cert.all_domains;
  const shown = names.slice(0, 3).join(",") + (names.length > 3 ? ` +${names.length - 3}` : "");
  const issuer = r.leaf_cert.issuer.O ?? r.leaf_cert.issuer.aggregated ?? "";
  const nb =
    r.leaf_cert.not_before === null ? "" : new Date(r.leaf_cert.not_before * 1000).toISOString().slice(0, 10);
  return [
    (r.seen ?? "").slice(0, 19).replace("T", " "),
    (r.log.name ?? "").padEnd(14),
    String(r.index ?? "").padStart(10),
    nb,
    `${issuer} ${r.leaf_cert.issuer.CN ?? ""}`.trim().slice(0, 34).padEnd(34),
    shown,
  ].join("  ");
}

try {
  let count = 0;
  let cursor: string | null = null;
  let header = !opts.json;
  do {
    const p = new URLSearchParams(params);
    if (cursor !== null) p.set("cursor", cursor);
    const result = await page(p);
    if (header) {
      const cols = [
        "seen (UTC)         ",
        "log           ",
        "     index",
        "not_before",
        "issuer".padEnd(34),
        "domains",
      ];
      process.stdout.write(`${cols.join("  ")}\n`);
      header = false;
    }
    for (const r of result.rows) process.stdout.write(`${opts.json ? JSON.stringify(r) : tableLine(r)}\n`);
    count += result.rows.length;
    cursor = result.next;
  } while (opts.all && cursor !== null);
  if (!opts.json) {
    process.stderr.write(
      cursor !== null ? `${count} shown; more with --all (or a larger --limit)\n` : `${count} certificates\n`,
    );
  }
} catch (err) {
  if (err instanceof SearchParamError) {
    const flag =
      { from: "--since", to: "--until", domain: "<domain>", registered: "<domain>" }[err.param] ??
      `--${err.param}`;
    fail(2, `${flag}: ${err.message.slice(err.param.length + 2)}`);
  }
  if (err instanceof QueryTooBroadError) fail(2, err.message);
  fail(1, err instanceof Error ? err.message : String(err));
}
