/**
 * Which pi the tests drive: the newest supported (the dev dependency, what `npm test` runs) or,
 * with PI_UNDER_TEST=oldest, the oldest supported one installed on its own in tests/pi-oldest
 * (what `.ci/run` runs the pi-driving tests against as well). vitest.config.ts points the
 * `@earendil-works/*` imports at the same copy.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export const PI_UNDER_TEST: "newest" | "oldest" = process.env.PI_UNDER_TEST === "oldest" ? "oldest" : "newest";

/** The node_modules holding the pi under test. */
export const PI_NODE_MODULES =
  PI_UNDER_TEST === "oldest" ? join(repoRoot, "tests", "pi-oldest", "node_modules") : join(repoRoot, "node_modules");

/** The `pi` command of that copy (its bin: the bundled CLI). */
export const PI_CLI = join(PI_NODE_MODULES, "@earendil-works", "pi-coding-agent", "dist", "bundle", "cli.js");
