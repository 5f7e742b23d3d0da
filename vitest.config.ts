import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests of training runs are CPU-bound: two forks use the CI machine's two cores.
    pool: "forks",
    maxWorkers: 2,
  },
});
