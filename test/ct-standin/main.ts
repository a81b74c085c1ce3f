// CLI: run stand-in CT logs for demos and benchmarks.
//   node test/ct-standin/main.ts --rfc6962 --static --port 16900 --grow-rate 50 [--logs 2] [--mode distinct]
//        [--page-size 32] [--share] [--no-gzip] [--fault-429 0.05] [--fault-503 0.05] [--fault-slow-ms 200]
//        [--cert-epoch N]
// --cert-epoch: stamped into the serials of re-served certificates (distinct mode). Default: from the start time,
// so a restarted stand-in serves certificates no earlier start served (dedup would drop those for its TTL and the
// stream would go quiet); 0 serves the same ones on every start.
// Prints one JSON line with the base URL and each log's url/key/log_id, then serves until SIGINT/SIGTERM.
// The log list of the stand-ins is at <base>/log_list.json.
import { parseArgs } from "node:util";
import type { Faults } from "./faults.ts";
import type { CertMode } from "./growing-log.ts";
import { StandInServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    rfc6962: { type: "boolean", default: false },
    static: { type: "boolean", default: false },
    port: { type: "string", default: "16900" },
    host: { type: "string", default: "127.0.0.1" },
    logs: { type: "string", default: "1" },
    "grow-rate": { type: "string", default: "0" },
    "page-size": { type: "string", default: "32" },
    mode: { type: "string", default: "distinct" },
    share: { type: "boolean", default: false },
    "no-gzip": { type: "boolean", default: false },
    "fault-429": { type: "string" },
    "fault-503": { type: "string" },
    "fault-slow-ms": { type: "string" },
    "fault-short": { type: "string" },
    "cert-epoch": { type: "string" },
  },
});

const n = Number(values.logs);
const faults: Faults = {
  rateLimited: values["fault-429"] ? Number(values["fault-429"]) : undefined,
  unavailable: values["fault-503"] ? Number(values["fault-503"]) : undefined,
  slowMs: values["fault-slow-ms"] ? Number(values["fault-slow-ms"]) : undefined,
  shortPage: values["fault-short"] ? Number(values["fault-short"]) : undefined,
};
// Seconds since the start of 2026, folded into 1 .. 2^21-1 (24 days of starts before one repeats).
const certEpoch =
  values["cert-epoch"] !== undefined
    ? Number(values["cert-epoch"])
    : 1 + (Math.floor((Date.now() - Date.UTC(2026, 0, 1)) / 1000) % (2 ** 21 - 1));
const common = { growRate: Number(values["grow-rate"]), mode: values.mode as CertMode, faults, certEpoch };
if (!values.rfc6962 && !values.static) values.rfc6962 = true;
const server = new StandInServer({
  port: Number(values.port),
  host: values.host,
  rfc6962: values.rfc6962
    ? Array.from({ length: n }, (_, i) => ({
        ...common,
        name: `rfc${i}`,
        pageSize: Number(values["page-size"]),
        certSeed: values.share ? 0 : i,
        operator: `Operator ${i % 2}`,
      }))
    : [],
  static: values.static
    ? Array.from({ length: n }, (_, i) => ({
        ...common,
        name: `static${i}`,
        gzip: !values["no-gzip"],
        certSeed: values.share ? 0 : 100 + i,
        operator: `Operator ${i % 2}`,
      }))
    : [],
});
const base = await server.start();
console.log(
  JSON.stringify({
    base,
    log_list: `${base}/log_list.json`,
    logs: [...server.logs.values()].map((l) => ({
      name: l.name,
      kind: l.kind,
      url: server.url(l.name),
      log_id: l.key.logIdBase64,
      key: l.key.publicKeyBase64,
      size: l.size,
      operator: l.operator,
      // static_logs entries need the checkpoint origin (or a submission_url it derives from).
      ...(l.kind === "static" ? { origin: l.origin, submission_url: `https://${l.origin}/` } : {}),
    })),
  }),
);
const shutdown = () => {
  void server.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
