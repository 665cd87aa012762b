/**
 * `npm run bench:discovery-startup`: what discovery costs pi's start-up, measured the way
 * bench/local-lifecycle.ts measures the extension: inside the real pi CLI, a wrapper extension
 * times this extension's own import and factory (pi's own start is not counted). No models.json
 * at all; the models are in the HOME's ~/models, a stand-in `llama-server` is on PATH.
 *
 *   no model folder    nothing to discover (a user of the ai-server alone)
 *   200, warm          the last discovery's models registered from found.json (every start after the first)
 *   200, header cache  found.json gone (a setting changed): nothing registered in the factory, the
 *                      scan right after start-up reads the header cache
 *   200, cold          no cache at all (the first start): nothing registered in the factory, every
 *                      header read right after start-up
 *   --list-models      the list must be complete before pi prints it: discovery runs in the factory
 *
 * The scan after start-up is timed the same way: the wrapper runs it as the extension does, in
 * the same process, right after the factory. pi is started with a model that does not exist
 * (`-p --model nowhere/none`), so it exits once the extension has loaded. Medians of RUNS runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../tests/helpers/fake-llamafile.ts";
import { PI_CLI } from "../tests/helpers/pi-under-test.ts";
import { writeModelLibrary } from "./model-library.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const MODELS = 200;
const TARGET_MS = 10;

const root = mkdtempSync(join(tmpdir(), "bench-discovery-startup-"));
const home = join(root, "home");
const empty = join(root, "empty-home");
for (const dir of [join(home, ".pi", "agent"), join(home, "models"), join(home, "bin"), join(empty, ".pi", "agent")])
  mkdirSync(dir, { recursive: true });
writeFileSync(join(home, "bin", "llama-server"), "#!/bin/sh\nexit 1\n");
chmodSync(join(home, "bin", "llama-server"), 0o755);

// The same 200 models as bench/discovery.ts.
writeModelLibrary(join(home, "models"), MODELS);

// The wrapper: this extension's import and factory, then the scan after start-up as the extension runs it.
const timed = join(root, "timed-extension");
mkdirSync(timed);
writeFileSync(
  join(timed, "index.ts"),
  `import { writeSync } from "node:fs";
const started = performance.now();
const { default: extension } = await import(${JSON.stringify(join(REPO_ROOT, "index.ts"))});
const imported = performance.now();
export default async function (pi: { registerProvider(...args: unknown[]): void }) {
  let registered = 0;
  const counting = new Proxy(pi, {
    get: (target, key) =>
      key === "registerProvider"
        ? (...args: unknown[]) => {
            const config = args[1] as { models?: unknown[] } | undefined;
            registered = config?.models?.length ?? 0;
            return target.registerProvider(...args);
          }
        : Reflect.get(target, key),
  });
  const before = performance.now();
  await extension(counting);
  const factory = imported - started + performance.now() - before;
  const scanStarted = performance.now();
  const { loadLlamafilesConfig } = await import(${JSON.stringify(join(REPO_ROOT, "src/llamafiles/config.ts"))});
  const { runDiscovery } = await import(${JSON.stringify(join(REPO_ROOT, "src/llamafiles/discovery-run.ts"))});
  const { discoveryEnv } = await import(${JSON.stringify(join(REPO_ROOT, "src/llamafiles/discovered-models.ts"))});
  const { config } = loadLlamafilesConfig({ modelsPath: "/nonexistent", cwd: "/", logPathFor: (id: string) => id });
  const found = process.env.BENCH_SCAN ? runDiscovery(config, { env: discoveryEnv(), logPathFor: (id: string) => id, lastFoundPath: process.env.BENCH_SCAN }).models.length : 0;
  writeSync(2, "\\nBENCH " + JSON.stringify({ factory, registered, scan: performance.now() - scanStarted, found }) + "\\n");
}
`,
);

interface Figures {
  factory: number;
  registered: number;
  scan: number;
  found: number;
}

const envOf = (dir: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  HOME: dir,
  PI_CODING_AGENT_DIR: join(dir, ".pi", "agent"),
  PI_OFFLINE: "1",
  PATH: `${join(home, "bin")}:${process.env.PATH}`,
  ...extra,
});
const cache = join(home, ".pi", "llamafile_cache");

function startPi(dir: string, args: string[], extra: Record<string, string> = {}): Figures {
  const child = spawnSync(process.execPath, [PI_CLI, "-ne", "-e", timed, ...args], { env: envOf(dir, extra), encoding: "utf8" });
  const line = /BENCH (\{.*\})/.exec(child.stderr)?.[1];
  if (!line) throw new Error(`no figures from pi: ${child.stderr}`);
  return JSON.parse(line) as Figures;
}

const NOWHERE = ["-p", "--model", "nowhere/none", "hi"];
/** RUNS starts of pi, `prepare` before each; the median of each figure. */
function measure(dir: string, args: string[], prepare: () => void, extra: Record<string, string> = {}) {
  const runs = Array.from({ length: RUNS }, () => {
    prepare();
    return startPi(dir, args, extra);
  });
  return {
    factory: median(runs.map((run) => run.factory)),
    registered: median(runs.map((run) => run.registered)),
    scan: median(runs.map((run) => run.scan)),
    found: median(runs.map((run) => run.found)),
  };
}

const noCache = () => rmSync(cache, { recursive: true, force: true });
const warmUp = () =>
  execFileSync(process.execPath, [PI_CLI, "-ne", "-e", REPO_ROOT, "--list-models"], { env: envOf(home), stdio: "ignore" });
// jiti compiles the sources once; pi's own caches too: neither is discovery's cost.
warmUp();
startPi(empty, NOWHERE);

const rows = [
  ["no model folder (0 models)", measure(empty, NOWHERE, () => undefined)],
  ["200 models, warm: found.json + header cache", measure(home, NOWHERE, warmUp)],
  [
    "200 models, header cache only (after a setting changed)",
    measure(
      home,
      NOWHERE,
      () => {
        warmUp();
        rmSync(join(cache, "found.json"), { force: true });
      },
      { BENCH_SCAN: join(root, "scan-found.json") },
    ),
  ],
  ["200 models, cold: no cache (the first start)", measure(home, NOWHERE, noCache, { BENCH_SCAN: join(root, "scan-found.json") })],
  ["200 models, --list-models, warm (discovery in the factory)", measure(home, ["--list-models"], warmUp)],
] as const;
rmSync(root, { recursive: true, force: true });

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(
  `discovery and pi's start-up: ${MODELS} models, medians of ${RUNS} pi starts (${PI_CLI.includes("pi-oldest") ? "oldest" : "newest"} pi)`,
);
console.log("| case | import + factory, in pi | models registered by the factory | scan after start-up | target |\n|---|---|---|---|---|");
for (const [name, figures] of rows) {
  const held = !name.includes("--list-models");
  const met = figures.factory <= TARGET_MS;
  console.log(
    `| ${name} | ${ms(figures.factory)} | ${figures.registered} | ${figures.found > 0 ? `${ms(figures.scan)} (${figures.found} models)` : "—"} | ${held ? `≤ ${TARGET_MS} ms${met ? " ✓" : " ✗ missed"}` : ""} |`,
  );
}
