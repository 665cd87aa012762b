import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Worker processes are reused across files (isolate: false): importing pi once per worker
    // instead of once per file halves the suite's CPU time. Each test sets HOME and every
    // AI_SERVER_* variable itself (tests/helpers/pi-harness.ts), and files in one worker run one
    // after the other, so a file's clean-up (by the run tag and this pid) finds only its own servers.
    pool: "forks",
    isolate: false,
    // Integration tests wait on child processes and sockets: one worker more than the 2 cores
    // here keeps both busy (vitest 85-95 s; 4 workers were no faster, the run is CPU-bound).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ["tests/helpers/no-survivors.global-setup.ts"],
  },
});
