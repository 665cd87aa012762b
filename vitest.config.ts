import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // One process per test file: tests change HOME and process.env, and a file's
    // clean-up finds its own servers by this process's pid.
    pool: "forks",
    // Integration tests mostly wait (timers, child processes, sockets): more workers than
    // cores keeps the suite near 30 s on the 2-core machines here (1 worker: ~60 s).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ["tests/helpers/no-survivors.global-setup.ts"],
  },
});
