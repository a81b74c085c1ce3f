import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["libs/**/test/**/*.test.ts", "services/**/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", ".cache/**", ".venv/**"],
    // Integration tests talk to a real broker and registry on 2 shared cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
  },
});
