/**
 * `npm run bench`: figures for the local lifecycle, printed as a table.
 *
 *   readiness lag    select → "ready" notification, minus the fake server's fixed boot delay D
 *   switch overhead  select B → B ready, minus A's exit (selection → A's exit footer in its log) and B's boot D
 *   start-up ratio   `pi --list-models` wall time with this extension / without it; wall time is
 *                    noisy here, so also: with an empty extension (pi's fixed cost of loading any
 *                    extension), and this extension's own import + factory time measured inside pi
 *
 * Real pi runtime (SDK), real processes, loopback only. Medians of RUNS runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeModelEntry, REPO_ROOT } from "../tests/helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../tests/helpers/pi-harness.ts";
import { freePort } from "../tests/helpers/processes.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const D = Number(process.env.BENCH_BOOT_MS ?? 1000);

async function until(pi: PiHarness, message: string): Promise<number> {
  for (;;) {
    if (pi.notifications().some((n) => n.message === message)) return performance.now();
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Exit time of the last run of `id`, from the footer line our exit listener writes. */
function lastExitAt(home: string, id: string): number {
  const log = readFileSync(join(home, ".pi", "llamafile_logs", `${id}.log`), "utf8");
  const stamps = [...log.matchAll(/^--- (\S+) Process exited/gm)].map((m) => Date.parse(m[1]!));
  return stamps.at(-1)!;
}

const lags: number[] = [];
const switches: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const [portA, portB] = [await freePort(), await freePort()];
  const flags = ["--startup-delay-ms", String(D), "--loading-ms", "0"];
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "a", name: "A", port: portA, flags }), fakeModelEntry({ id: "b", name: "B", port: portB, flags })],
  });
  const t0 = performance.now();
  await pi.select("llamafiles/a");
  lags.push((await until(pi, "A is ready")) - t0 - D);

  const wall0 = Date.now();
  const t1 = performance.now();
  await pi.select("llamafiles/b");
  const readyB = await until(pi, "B is ready");
  const exitA = lastExitAt(pi.home, "a") - wall0;
  switches.push(readyB - t1 - exitA - D);
  await cleanupAll();
}

const home = makeHome();
writeFileSync(
  join(home, ".pi/agent/models.json"),
  JSON.stringify({
    providers: {
      llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [{ id: "x", command: "true", port: 1 }] },
    },
  }),
);
const cli = join(REPO_ROOT, "node_modules/@earendil-works/pi-coding-agent/dist/bundle/cli.js");
const env = { ...process.env, HOME: home, PI_CODING_AGENT_DIR: join(home, ".pi/agent"), PI_OFFLINE: "1" };
// pi pays a fixed price for loading any extension at all (jiti): an empty one separates that from ours.
const emptyExtension = join(home, "empty-extension");
mkdirSync(emptyExtension);
writeFileSync(join(emptyExtension, "index.ts"), "export default function () {}\n");
// And a wrapper that times this extension's own import and factory inside the real pi.
const timedExtension = join(home, "timed-extension");
mkdirSync(timedExtension);
writeFileSync(
  join(timedExtension, "index.ts"),
  `import { writeSync } from "node:fs";
const started = performance.now();
const { default: extension } = await import(${JSON.stringify(join(REPO_ROOT, "src/index.ts"))});
const imported = performance.now();
export default function (pi: unknown) {
  const before = performance.now();
  extension(pi);
  writeSync(2, "\\nEXTENSION_MS " + (imported - started + performance.now() - before).toFixed(1) + "\\n");
}
`,
);
const variants = { without: [] as string[], empty: ["-e", emptyExtension], ours: ["-e", REPO_ROOT] };
const ownCost: number[] = [];
const startup: Record<keyof typeof variants, number[]> = { without: [], empty: [], ours: [] };
const timeStart = (args: string[]) => {
  const start = performance.now();
  execFileSync(process.execPath, [cli, "-ne", ...args, "--list-models"], { env, stdio: "ignore" });
  return performance.now() - start;
};
for (const args of Object.values(variants)) timeStart(args); // warm the file cache
// Start-up is noisy on a shared 2-core machine: many runs, interleaved.
const STARTUP_RUNS = RUNS * 3;
for (let run = 0; run < STARTUP_RUNS; run++) {
  for (const [name, args] of Object.entries(variants)) startup[name as keyof typeof variants].push(timeStart(args));
  const timed = spawnSync(process.execPath, [cli, "-ne", "-e", timedExtension, "--list-models"], { env, encoding: "utf8" });
  ownCost.push(Number(/EXTENSION_MS ([\d.]+)/.exec(timed.stderr)?.[1]));
}
const min = (values: number[]) => Math.min(...values);

const rows = [
  ["readiness detection lag (select→ready − D)", `${median(lags).toFixed(0)} ms`, "≤ 1000 ms"],
  ["switch overhead (A→B − A's exit − D)", `${median(switches).toFixed(0)} ms`, "≤ 1200 ms"],
  ["pi start-up, no extension (median / min)", `${median(startup.without).toFixed(0)} / ${min(startup.without).toFixed(0)} ms`, ""],
  ["pi start-up, an empty extension (median / min)", `${median(startup.empty).toFixed(0)} / ${min(startup.empty).toFixed(0)} ms`, ""],
  ["pi start-up, this extension (median / min)", `${median(startup.ours).toFixed(0)} / ${min(startup.ours).toFixed(0)} ms`, ""],
  [
    "start-up ratio, this / none (median / min)",
    `${(median(startup.ours) / median(startup.without)).toFixed(3)} / ${(min(startup.ours) / min(startup.without)).toFixed(3)}`,
    "≤ 1.05",
  ],
  [
    "this extension's own import + factory, in pi",
    `${median(ownCost).toFixed(1)} ms = ${((100 * median(ownCost)) / median(startup.without)).toFixed(1)} % of start-up`,
    "≤ 5 %",
  ],
  [
    "start-up ratio, this / empty extension (median / min)",
    `${(median(startup.ours) / median(startup.empty)).toFixed(3)} / ${(min(startup.ours) / min(startup.empty)).toFixed(3)}`,
    "",
  ],
];
console.log(
  `\nbench/local-lifecycle: D = ${D} ms boot delay, medians of ${RUNS} runs (start-up: ${STARTUP_RUNS} interleaved runs), Node ${process.version}\n`,
);
console.log("| measure | median | target |\n|---|---|---|");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
console.log(`\nraw lag ms: ${lags.map((v) => v.toFixed(0)).join(", ")}\nraw switch ms: ${switches.map((v) => v.toFixed(0)).join(", ")}`);
for (const [name, values] of Object.entries(startup))
  console.log(`raw start-up ms, ${name}: ${values.map((v) => v.toFixed(0)).join(", ")}`);
