#!/usr/bin/env node
// `backfill [--from N] [--logs <filter>] [--dry-run] [--wait]`: the gap-filling job. Logic lives in ./cli.ts and
// the modules it wires; this file only connects the process (argv, signals, exit code).

// The job's modules (kafkajs, the Delta reader) take a few seconds to load on a busy machine: a terminal hears
// from the job before that. The status line that follows overwrites this one.
if (process.stderr.isTTY) process.stderr.write("backfill: starting …");
const { runCli } = await import("./cli.ts");

/** After the first signal the job has this long to print its summary; then it exits regardless. */
const STOP_GRACE_MS = 5_000;

const shutdown = new AbortController();
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(1); // second signal: stop now, nothing committed is lost
    process.stderr.write(
      `\nbackfill: ${sig}: stopping (uncommitted windows are dropped; a re-run finds them)\n`,
    );
    shutdown.abort(new Error(sig));
    // A wait inside a library (a kafkajs connect, a fetch) may not heed the abort: the job ends all the same.
    setTimeout(() => {
      process.stderr.write(`backfill: still stopping ${STOP_GRACE_MS / 1000} s after ${sig}: exiting now\n`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
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
