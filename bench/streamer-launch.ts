/**
 * How scripts/up.sh of a source tree starts the streamer, for the benches that measure its memory
 * (bench/e2e-latency.bench.ts, bench/streamer-footprint.bench.ts): its NODE_OPTIONS, MALLOC_ARENA_MAX and
 * MALLOC_MMAP_THRESHOLD_ defaults, and Node's compile cache warmed as up.sh warms it (without it the process keeps the TypeScript
 * stripper loaded: 15-20 MB of RSS). A tree whose up.sh sets none of them: none.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface StreamerLaunch {
  /** NODE_OPTIONS, MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and NODE_COMPILE_CACHE, as far as up.sh sets them. */
  env: Record<string, string>;
  /** Loads every module of the streamer once with `env` (--validate-config), so its start hits the cache. */
  warm(configPath: string, extraEnv?: NodeJS.ProcessEnv): void;
}

export function streamerLaunch(root: string, overrides: { nodeOptions?: string } = {}): StreamerLaunch {
  let up = "";
  try {
    up = readFileSync(join(root, "scripts/up.sh"), "utf8");
  } catch {
    return { env: {}, warm: () => {} };
  }
  const get = (name: string) => new RegExp(`^${name}=\\$\\{${name}-"?([^"}]*)"?\\}`, "m").exec(up)?.[1] ?? "";
  const nodeOptions = overrides.nodeOptions ?? get("STREAMER_NODE_OPTIONS");
  const arenas = get("STREAMER_MALLOC_ARENA_MAX");
  const mmapThreshold = get("STREAMER_MALLOC_MMAP_THRESHOLD");
  const cache = /^export NODE_COMPILE_CACHE=/m.test(up) ? join(root, ".cache/node-compile") : "";
  const env: Record<string, string> = {
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...(arenas ? { MALLOC_ARENA_MAX: arenas } : {}),
    ...(mmapThreshold ? { MALLOC_MMAP_THRESHOLD_: mmapThreshold } : {}),
    ...(cache ? { NODE_COMPILE_CACHE: cache } : {}),
  };
  return {
    env,
    warm: (configPath, extraEnv = {}) => {
      if (!cache) return;
      mkdirSync(cache, { recursive: true });
      execFileSync(
        process.execPath,
        [join(root, "services/streamer/src/main.ts"), "--config", configPath, "--validate-config"],
        { cwd: root, env: { ...process.env, ...env, ...extraEnv }, stdio: "ignore" },
      );
    },
  };
}
