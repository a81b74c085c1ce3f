// Backfill throughput against stand-in CT logs, through the real job process: fetch (RFC 6962 get-entries pages,
// static-ct-api data tiles), parse, encode (Avro via the registry), transactional produce to the backfill topic.
// Needs the local stack (`bash scripts/stack.sh up`). Prints figures; asserts nothing.
//   node bench/backfill-throughput.bench.ts        (BENCH_ENTRIES=20000 per log)
// The table is empty and the job runs with `--from 0` up to the ingester positions published here, so the whole
// range of each log is one gap; the delta sink is not involved (its own benchmark covers writing).
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import {
  createTopics,
  publishState,
  runBackfillCli,
  tempDir,
  testKafka,
  uniqueTopics,
  writeConfig,
} from "../services/backfill/test/harness.ts";
import { StandInServer } from "../test/ct-standin/server.ts";
import { repoRoot } from "../test/stack.ts";

const N = Number(process.env.BENCH_ENTRIES ?? 20_000);

if (!process.env.KAFKA_BOOTSTRAP_SERVERS) {
  for (const line of execFileSync("bash", [join(repoRoot, "scripts/stack.sh"), "env"], {
    encoding: "utf8",
  }).split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
}

const server = new StandInServer({
  rfc6962: [
    { name: "rfc-a", initialSize: N, mode: "distinct", pageSize: 256, operator: "Bench A", certSeed: 11 },
    { name: "rfc-b", initialSize: N, mode: "distinct", pageSize: 256, operator: "Bench B", certSeed: 12 },
  ],
  static: [{ name: "tiles", initialSize: N, mode: "distinct", operator: "Bench C", certSeed: 13 }],
});
await server.start();
const kafka = testKafka();
const dir = tempDir("backfill-bench");
try {
  console.log(
    `backfill throughput benchmark, ${N} entries per log; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const scenario of [["rfc-a"], ["tiles"], ["rfc-a", "rfc-b", "tiles"]]) {
    const topics = uniqueTopics("bf-bench");
    await createTopics(kafka, topics);
    const rfc = config(scenario.filter((n) => n.startsWith("rfc")));
    const statics = scenario
      .filter((n) => n === "tiles")
      .map((n) => {
        const l = server.static(n);
        return {
          name: n,
          url: server.url(n),
          operator: l.operator,
          key: l.key.publicKeyBase64,
          submission_url: `https://${l.origin}/`,
        };
      });
    for (const n of scenario) {
      const l = server.logs.get(n)!;
      const url = server.url(n);
      await publishState(
        kafka,
        topics,
        { id: l.key.logIdBase64, name: n, url, operator: l.operator, kind: l.kind },
        N,
      );
    }
    const cfgPath = writeConfig(dir, `${scenario.join("-")}.yaml`, {
      topics,
      tablePath: join(dir, `empty-${scenario.join("-")}`),
      logs: rfc,
      overrides: {
        backfill: { window_size: 1024, concurrency: 4, progress_interval_secs: 60 },
        ct_log: { batch_size: 256, fetch_concurrency: 4, default_rate_limit: 10_000 },
      },
      staticLogs: statics,
    });
    const run = await runBackfillCli(cfgPath, ["--from", "0"], { env: { LOG_LEVEL: "warn" } });
    const m = /(\d+) records written, (\d+)\/(\d+) logs completed.*elapsed ([\d.]+) s/.exec(run.stdout);
    if (run.code !== 0 || !m) {
      console.log(`${scenario.join("+")}: exit ${run.code}\n${run.stdout}\n${run.stderr.slice(-2000)}`);
      continue;
    }
    const written = Number(m[1]);
    const secs = Number(m[4]);
    console.log(
      `${scenario.join(" + ")}: ${written} entries in ${secs.toFixed(1)} s of job time = ${Math.round(written / secs)} entries/s ` +
        `(process wall ${(run.ms / 1000).toFixed(1)} s incl. start-up and gap detection)`,
    );
  }
} finally {
  await server.stop();
}

function config(names: string[]) {
  return names.map((n) => {
    const l = server.rfc(n);
    return { name: n, url: server.url(n), operator: l.operator, key: l.key.publicKeyBase64 };
  });
}
