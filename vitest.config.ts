import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// PI_UNDER_TEST=oldest: every import of pi resolves to the oldest supported pi (tests/pi-oldest),
// the one .ci/run also tests against (tests/helpers/pi-under-test.ts).
const oldestPi = join(fileURLToPath(new URL(".", import.meta.url)), "tests", "pi-oldest", "node_modules", "@earendil-works");
const piImports =
  process.env.PI_UNDER_TEST === "oldest"
    ? [
        { find: /^@earendil-works\/pi-coding-agent$/, replacement: join(oldestPi, "pi-coding-agent", "dist", "index.js") },
        { find: /^@earendil-works\/pi-ai$/, replacement: join(oldestPi, "pi-ai", "dist", "index.js") },
        { find: /^@earendil-works\/pi-ai\/compat$/, replacement: join(oldestPi, "pi-ai", "dist", "compat.js") },
      ]
    : [];

export default defineConfig({
  resolve: { alias: piImports },
  test: {
    include: ["tests/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
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
