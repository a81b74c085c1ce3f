import { defineConfig } from "vitest/config";

// Tests that kill or pause brokers and services and measure the stall they cause: they run one at a time, after
// all others, so no other test's load stretches their timings. Everything else waits mostly on Kafka, the
// registry and child processes, so three files at once keep the 2 shared cores busy (vitest's default is one
// worker per core minus one: a single worker here).
const isolated = [
  "test/cluster-faults.test.ts",
  "test/kafka-cluster.test.ts",
  "test/startup-races.test.ts",
  "services/ingester/test/broker-kill.test.ts",
  "services/ingester/test/held-transaction.test.ts",
  "services/ingester/test/sigstop.test.ts",
  "services/delta-sink/test/kill9.test.ts",
  "services/delta-sink/test/coordinator-loss.test.ts",
  "test/compose-e2e.test.ts",
];

export default defineConfig({
  test: {
    exclude: ["**/node_modules/**", ".cache/**", ".venv/**"],
    // Integration tests talk to a real broker and registry on 2 shared cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["libs/**/test/**/*.test.ts", "services/**/test/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ["**/node_modules/**", ".cache/**", ".venv/**", ...isolated],
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "isolated", include: isolated, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
