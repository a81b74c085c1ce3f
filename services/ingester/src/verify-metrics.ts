// Metrics of the tree verification (issue 18): every entry of a log hashed into its compact range, compared with
// the log's signed tree heads. Labels: `log` (a configured log's id), `result` from a fixed list.
import { counter, gauge } from "@certstream/metrics";

export const treeChecks = counter({
  name: "certstream_ingester_tree_checks_total",
  help: "Comparisons of a log's root computed from the entries ingested with a signed tree head of the same size, by result (match, mismatch)",
  labelNames: ["log", "result"] as const,
});

export const treeMismatch = gauge({
  name: "certstream_ingester_tree_mismatch",
  help: "1 while the last comparison of the log's computed root with its signed tree head failed (until a later head matches or an operator resets it), else 0",
  labelNames: ["log"] as const,
});

export const treeHalted = gauge({
  name: "certstream_ingester_tree_halted",
  help: "1 while the log stopped publishing after a mismatch (ct_log.verify: enforce) until an operator resets it, else 0",
  labelNames: ["log"] as const,
});

export const verifiedTreeSize = gauge({
  name: "certstream_ingester_verified_tree_size",
  help: "Largest tree size of the log whose signed root the entries ingested hash to (every entry below it is verified)",
  labelNames: ["log"] as const,
});

export const rangeSeeds = counter({
  name: "certstream_ingester_tree_seeds_total",
  help: "Compact ranges seeded where a log's ingestion starts (an audit path or hash tiles), by result (ok, failed)",
  labelNames: ["log", "result"] as const,
});
