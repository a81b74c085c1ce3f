// Where the Debian prometheus package's binaries are on this machine: PROMETHEUS_BIN_DIR, the copy
// scripts/setup.sh unpacks (.cache/prometheus/root), an ad-hoc `dpkg -x` (.cache/prom/x), or PATH.
// Tests that need them fail with the fix in the message rather than skip.
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "..");

function find(name: string): string | undefined {
  const dirs = [
    process.env.PROMETHEUS_BIN_DIR,
    join(repoRoot, ".cache/prometheus/root/usr/bin"),
    join(repoRoot, ".cache/prom/x/usr/bin"),
    ...(process.env.PATH ?? "").split(delimiter),
  ];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

export function prometheusBinary(name: "prometheus" | "promtool"): string {
  const found = find(name);
  if (!found)
    throw new Error(
      `${name} not found: run scripts/setup.sh (unpacks Debian's prometheus package into .cache/prometheus/root) or set PROMETHEUS_BIN_DIR`,
    );
  return found;
}
