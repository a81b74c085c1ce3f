/**
 * The job's command line. Only shape is checked here (is `--from` a non-negative integer, does an option have
 * its value); whether `--logs` names a known log is checked once the log list is loaded.
 */

export interface BackfillArgs {
  /** `--from N`: also fill `[N, lowest)`; null in catch-up mode. */
  from: number | null;
  /** `--logs a,b`: terms matched against each log's name, id, URL and operator. Empty = every log. */
  logs: string[];
  dryRun: boolean;
  wait: boolean;
  help: boolean;
  /** `--config <path>`; loadConfig reads it from argv itself, kept here so it is not an unknown option. */
  config: string | null;
  validateConfig: boolean;
}

export class UsageError extends Error {
  /** The argument at fault, e.g. "--from". */
  readonly arg: string;
  constructor(arg: string, message: string) {
    super(`${arg}: ${message}`);
    this.name = "UsageError";
    this.arg = arg;
  }
}

export const USAGE = `usage: backfill [--from N] [--logs <filter>] [--dry-run] [--wait] [--config <file>]

Finds the holes in the Delta archive per CT log and fills them from the logs through certstream.backfill.v1.

  --from N          also fill [N, lowest archived index) (default: only holes between lowest and highest)
  --logs <filter>   comma-separated terms; a log is included when a term occurs (case-insensitive) in its
                    name, base64 id, URL or operator
  --dry-run         print the gaps per log and exit
  --wait            after producing, wait until the delta sink has written everything, then verify the gaps
                    are closed
  --config <file>   YAML config (also CERTSTREAM_CONFIG); env CERTSTREAM_<SECTION>_<FIELD> overrides it
  --validate-config print the effective config and exit

exit codes: 0 every log completed, 1 a log failed (or --wait found a gap still open), 2 bad arguments or config`;

/** Parses `argv` (without node and script). Throws UsageError naming the argument at fault. */
export function parseArgs(argv: readonly string[]): BackfillArgs {
  const out: BackfillArgs = {
    from: null,
    logs: [],
    dryRun: false,
    wait: false,
    help: false,
    config: null,
    validateConfig: false,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : null;
    const value = (): string => {
      if (inline !== null) return inline;
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(name, "needs a value");
      i++;
      return v;
    };
    const flag = (): true => {
      if (inline !== null) throw new UsageError(name, "takes no value");
      return true;
    };
    if (seen.has(name) && name !== "--logs") throw new UsageError(name, "given twice");
    seen.add(name);
    switch (name) {
      case "--from": {
        const v = value();
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
          throw new UsageError("--from", `must be a non-negative integer, got "${v}"`);
        out.from = Number(v);
        break;
      }
      case "--logs": {
        const terms = value()
          .split(",")
          .map((t) => t.trim())
          .filter((t) => t.length > 0);
        if (terms.length === 0) throw new UsageError("--logs", "needs at least one non-empty term");
        out.logs.push(...terms);
        break;
      }
      case "--dry-run":
        out.dryRun = flag();
        break;
      case "--wait":
        out.wait = flag();
        break;
      case "--validate-config":
        out.validateConfig = flag();
        break;
      case "-h":
      case "--help":
        out.help = flag();
        break;
      case "--config":
        out.config = value();
        break;
      default:
        throw new UsageError(arg, arg.startsWith("-") ? "unknown option" : "unexpected argument");
    }
  }
  if (out.dryRun && out.wait) throw new UsageError("--wait", "makes no sense with --dry-run");
  return out;
}

/** What the filter matches against for one log. */
export interface FilterableLog {
  name: string;
  id: string;
  url: string;
  operator: string;
}

/** True when `terms` is empty or one term occurs in the log's name, id, URL or operator. */
export function matchesLogFilter(log: FilterableLog, terms: readonly string[]): boolean {
  if (terms.length === 0) return true;
  const hay = [log.name, log.id, log.url, log.operator].map((s) => s.toLowerCase());
  return terms.some((t) => {
    const needle = t.toLowerCase();
    return hay.some((h) => h.includes(needle));
  });
}
