/**
 * `npm run bench:local`: figures for the local lifecycle, printed as a table with their
 * targets; a missed target is marked ✗.
 *
 *   readiness lag    "ready" notification − the moment the fake server became ready (its log
 *                    says `ready at <epoch ms>`): what pi adds to the server's own boot
 *   switch overhead  select B → B ready, minus A's exit (select → A's exit line in its log)
 *                    and B's own boot (its process start → its `ready at`)
 *   warm switch back with keepWarm 2, A and B both ready, B current: select A → the footer
 *                    shows A running (nothing starts; no boot to subtract)
 *   CPU while waiting a real pi process (RPC mode): its CPU time (user + system, all threads, from
 *                    /proc) while a server boots for 30 s, as a share of one core; the same pi
 *                    with nothing to wait for is the baseline, and the difference is the extension's
 *   start-up         `pi --list-models` wall time with this extension / without it; wall time is
 *                    noisy here, so also: with an empty extension (pi's fixed cost of loading any
 *                    extension), and this extension's own import + factory time measured inside pi
 *
 * Real pi runtime (SDK), real processes, loopback only. Medians of RUNS runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeModelEntry, REPO_ROOT } from "../tests/helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../tests/helpers/pi-harness.ts";
import { startPiProcess, writeModels } from "../tests/helpers/pi-process.ts";
import { freePort } from "../tests/helpers/processes.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const D = Number(process.env.BENCH_BOOT_MS ?? 1000);
const WAIT_S = Number(process.env.BENCH_WAIT_S ?? 30);

/** Wall time (epoch ms) at which pi said `message`. */
async function until(pi: PiHarness, message: string): Promise<number> {
  for (;;) {
    if (pi.notifications().some((n) => n.message === message)) return Date.now();
    await new Promise((r) => setTimeout(r, 1));
  }
}

const logOf = (home: string, id: string) => readFileSync(join(home, ".pi", "llamafile_logs", `${id}.log`), "utf8");
/** The last epoch-ms stamp `pattern` finds in the model's log. */
const lastStamp = (home: string, id: string, pattern: RegExp) => Number([...logOf(home, id).matchAll(pattern)].at(-1)![1]);
const readyAt = (home: string, id: string) => lastStamp(home, id, /ready at (\d+)/g);
const startedAt = (home: string, id: string) => lastStamp(home, id, /started at (\d+)/g);
/** Exit time of the last run of `id`, from the footer line its keeper writes. */
const exitAt = (home: string, id: string) => Date.parse([...logOf(home, id).matchAll(/^--- (\S+) Process exited/gm)].at(-1)![1]!);

const lags: number[] = [];
const switches: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const [portA, portB] = [await freePort(), await freePort()];
  const flags = ["--startup-delay-ms", String(D), "--loading-ms", "0"];
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "a", name: "A", port: portA, flags }), fakeModelEntry({ id: "b", name: "B", port: portB, flags })],
  });
  await pi.select("llamafiles/a");
  lags.push((await until(pi, "A is ready")) - readyAt(pi.home, "a"));

  const selectB = Date.now();
  await pi.select("llamafiles/b");
  const readyB = await until(pi, "B is ready");
  const aExit = exitAt(pi.home, "a") - selectB;
  const bBoot = readyAt(pi.home, "b") - startedAt(pi.home, "b");
  switches.push(readyB - selectB - aExit - bBoot);
  await cleanupAll();
}

/** Wall time (epoch ms) at which the footer's last line first matched `pattern`. */
async function untilFooter(pi: PiHarness, pattern: RegExp): Promise<number> {
  for (;;) {
    if (pattern.test(pi.footer().at(-1) ?? "")) return Date.now();
    await new Promise((r) => setTimeout(r, 1));
  }
}

const warmSwitches: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const [portA, portB] = [await freePort(), await freePort()];
  const flags = ["--startup-delay-ms", String(D), "--loading-ms", "0"];
  const models = [fakeModelEntry({ id: "a", name: "A", port: portA, flags }), fakeModelEntry({ id: "b", name: "B", port: portB, flags })];
  const pi = await startPi({ llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", keepWarm: 2, models } });
  await pi.select("llamafiles/a");
  await until(pi, "A is ready");
  await pi.select("llamafiles/b");
  await until(pi, "B is ready");
  const selectA = Date.now();
  await pi.select("llamafiles/a");
  warmSwitches.push((await untilFooter(pi, /^A running/)) - selectA);
  await cleanupAll();
}

/** CPU ms a process used so far, all threads (utime + stime in /proc, 100 ticks a second). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
/** A real pi's CPU share over WAIT_S seconds, while a slow server boots (`select`) or with nothing to wait for. */
async function piCpuShare(select: boolean): Promise<number> {
  const home = makeHome();
  const port = await freePort();
  writeModels(home, [fakeModelEntry({ id: "slow", name: "Slow", port, flags: ["--startup-delay-ms", String((WAIT_S + 30) * 1000)] })]);
  const pi = startPiProcess(home, ["--mode", "rpc"]);
  pi.send({ id: "state", type: "get_state" });
  await pi.waitFor((r) => r.type === "response" && r.id === "state", "pi to be up", 20_000);
  if (select) pi.send({ id: "pick", type: "set_model", provider: "llamafiles", modelId: "slow" });
  await new Promise((r) => setTimeout(r, 3_000)); // past the spawn
  const [before, start] = [cpuMs(pi.pid), performance.now()];
  await new Promise((r) => setTimeout(r, WAIT_S * 1000));
  const share = (cpuMs(pi.pid) - before) / (performance.now() - start);
  process.kill(pi.pid, "SIGTERM");
  await pi.exited;
  rmSync(home, { recursive: true, force: true });
  return share;
}
const cpuIdle = await piCpuShare(false);
const cpuWaiting = await piCpuShare(true);

const home = makeHome();
writeFileSync(
  join(home, ".pi/agent/models.json"),
  JSON.stringify({
    providers: {
      llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [{ id: "x", command: "true", port: 18080 }] },
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
const { default: extension } = await import(${JSON.stringify(join(REPO_ROOT, "index.ts"))});
const imported = performance.now();
export default async function (pi: unknown) {
  const before = performance.now();
  await extension(pi);
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

const ownMs = median(ownCost);
/** One table row; `met` marks the target as met (✓) or missed (✗). */
const row = (measure: string, value: string, target = "", met?: boolean) =>
  `| ${measure} | ${value} | ${target}${met === undefined ? "" : met ? " ✓" : " ✗ missed"} |`;
const rows = [
  row("readiness detection lag (ready notification − server ready)", `${median(lags).toFixed(0)} ms`, "≤ 50 ms", median(lags) <= 50),
  row("switch overhead (A→B − A's exit − B's boot)", `${median(switches).toFixed(0)} ms`, "≤ 150 ms", median(switches) <= 150),
  row(
    "switch back to a warm model (keepWarm 2: select A → A running)",
    `${median(warmSwitches).toFixed(0)} ms`,
    "≤ 50 ms",
    median(warmSwitches) <= 50,
  ),
  row(`pi's CPU while a server boots for ${WAIT_S} s`, `${(cpuWaiting * 100).toFixed(2)} % of a core`),
  row("the same pi with nothing to wait for (baseline)", `${(cpuIdle * 100).toFixed(2)} % of a core`),
  row(
    "CPU the wait adds (waiting − baseline)",
    `${((cpuWaiting - cpuIdle) * 100).toFixed(2)} % of a core`,
    "≤ 1 %",
    cpuWaiting - cpuIdle <= 0.01,
  ),
  row("this extension's own import + factory, in pi", `${ownMs.toFixed(1)} ms`, "≤ 10 ms", ownMs <= 10),
  row("pi start-up, no extension (median / min)", `${median(startup.without).toFixed(0)} / ${min(startup.without).toFixed(0)} ms`),
  row("pi start-up, an empty extension (median / min)", `${median(startup.empty).toFixed(0)} / ${min(startup.empty).toFixed(0)} ms`),
  row("pi start-up, this extension (median / min)", `${median(startup.ours).toFixed(0)} / ${min(startup.ours).toFixed(0)} ms`),
  row(
    "start-up ratio, this / empty extension (median / min)",
    `${(median(startup.ours) / median(startup.empty)).toFixed(3)} / ${(min(startup.ours) / min(startup.empty)).toFixed(3)}`,
  ),
  row(
    "start-up ratio, this / none (median / min)",
    `${(median(startup.ours) / median(startup.without)).toFixed(3)} / ${(min(startup.ours) / min(startup.without)).toFixed(3)}`,
    "≤ 1.05",
    median(startup.ours) / median(startup.without) <= 1.05,
  ),
];
console.log(
  `\nbench/local-lifecycle: D = ${D} ms boot delay, medians of ${RUNS} runs (start-up: ${STARTUP_RUNS} interleaved runs), Node ${process.version}\n`,
);
console.log("| measure | median | target |\n|---|---|---|");
for (const line of rows) console.log(line);
console.log(
  `\nraw lag ms: ${lags.map((v) => v.toFixed(0)).join(", ")}\nraw switch ms: ${switches.map((v) => v.toFixed(0)).join(", ")}\nraw warm switch ms: ${warmSwitches.map((v) => v.toFixed(0)).join(", ")}`,
);
for (const [name, values] of Object.entries(startup))
  console.log(`raw start-up ms, ${name}: ${values.map((v) => v.toFixed(0)).join(", ")}`);
