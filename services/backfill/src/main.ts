#!/usr/bin/env node
// `backfill [--from N] [--logs <filter>] [--dry-run] [--wait]`: the gap-filling job. Logic lives in ./cli.ts and
// the modules it wires; this file only connects the process (argv, signals, exit code).
import { runCli } from "./cli.ts";

const shutdown = new AbortController();
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(1); // second signal: stop now, nothing committed is lost
    process.stderr.write(
      `backfill: ${sig}: stopping (uncommitted windows are dropped; a re-run finds them)\n`,
    );
    shutdown.abort(new Error(sig));
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: shutdown.signal,
});
process.exitCode = code;
// kafkajs and undici keep sockets around for a while; a job ends when it is done.
setTimeout(() => process.exit(code), 200).unref();
