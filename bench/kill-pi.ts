/**
 * `npm run bench:kill`: pi SIGKILLed in each lifecycle state of its local server, RUNS times
 * each, with the fake server; how many servers are still alive 6 s later (the target is 0:
 * the keeper stops them), and what a keeper costs per server (memory, CPU idle and at start).
 *
 *   probing   SIGKILL 0-40 ms after /model (set_model): while pi probes, claims, spawns
 *   starting  SIGKILL while the server is still booting (30 s boot)
 *   ready     SIGKILL once the server answers
 *   stopping  SIGKILL 200 ms into a stop of a server that ignores SIGTERM (the keeper must SIGKILL it)
 *
 * Real pi processes (the CLI in RPC mode), real servers, loopback only. Runs are batched
 * BENCH_PARALLEL at a time.
 */
import { readFileSync, rmSync } from "node:fs";
import { FAKE_SERVER, fakeModelEntry } from "../tests/helpers/fake-llamafile.ts";
import { makeHome } from "../tests/helpers/pi-harness.ts";
import { startPiProcess, writeModels } from "../tests/helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, probeModels, waitFor } from "../tests/helpers/processes.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 4);
const AFTER_MS = 6_000;
const states = ["probing", "starting", "ready", "stopping"] as const;
type State = (typeof states)[number];

const ready = async (port: number) => ((await probeModels(port)) as { status?: number }).status === 200;
const serversOn = (port: number) => findProcesses(FAKE_SERVER, `--port ${port} `);

async function run(state: State): Promise<{ survivors: number; servers: number }> {
  const home = makeHome();
  const [portA, portB] = [await freePort(), await freePort()];
  const flagsA = state === "starting" ? ["--startup-delay-ms", "30000"] : state === "stopping" ? ["--ignore-sigterm"] : [];
  writeModels(home, [
    fakeModelEntry({ id: "a", name: "A", port: portA, flags: flagsA }),
    fakeModelEntry({ id: "b", name: "B", port: portB }),
  ]);
  const preselected = state !== "probing";
  const pi = startPiProcess(home, ["--mode", "rpc", ...(preselected ? ["--model", "llamafiles/a"] : [])]);
  try {
    if (state === "probing") {
      pi.send({ id: "state", type: "get_state" });
      await pi.waitFor((r) => r.type === "response" && r.id === "state", "pi to be up", 20_000);
      pi.send({ id: "pick", type: "set_model", provider: "llamafiles", modelId: "a" });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
    } else {
      await waitFor(() => serversOn(portA)[0], "pi to start A", 20_000);
      if (state !== "starting") await waitFor(() => ready(portA), "A to be ready", 20_000);
      if (state === "stopping") {
        pi.send({ id: "switch", type: "set_model", provider: "llamafiles", modelId: "b" });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const seen = [...serversOn(portA), ...serversOn(portB)];
    process.kill(pi.pid, "SIGKILL");
    await pi.exited;
    await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
    const left = [...serversOn(portA), ...serversOn(portB)];
    for (const pid of left) process.kill(pid, "SIGKILL");
    return { survivors: left.length, servers: new Set([...seen, ...left]).size };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const rows: string[] = [];
for (const state of states) {
  let survivors = 0;
  let servers = 0;
  for (let done = 0; done < RUNS; done += PARALLEL) {
    const batch = await Promise.all(Array.from({ length: Math.min(PARALLEL, RUNS - done) }, () => run(state)));
    for (const result of batch) {
      survivors += result.survivors;
      servers += result.servers;
    }
  }
  rows.push(`| ${state} | ${RUNS} | ${servers} | ${survivors} | 0 |`);
  console.error(`${state}: ${survivors} of ${servers} servers survived`);
}

// What a keeper costs: memory and CPU of the keepers of a few idle servers, and at start.
const home = makeHome();
const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
writeModels(
  home,
  ports.map((port, i) => fakeModelEntry({ id: `m${i}`, name: `M${i}`, port })),
);
const pis = ports.map((_, i) => startPiProcess(home, ["--mode", "rpc", "--model", `llamafiles/m${i}`]));
await Promise.all(ports.map((port) => waitFor(() => ready(port), "a server to be ready", 30_000)));
const keepers = ports.map((port) => findProcesses("keeper.mjs", `"port":${port},`)[0]!);
const ticks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
};
/** Resident and private (not shared with pi's own Node, say) memory, in MiB. */
const memoryOf = (pid: number) => {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(rollup)?.[1] ?? 0);
  return { rss: kib("Rss") / 1024, private: (kib("Private_Clean") + kib("Private_Dirty")) / 1024 };
};
const atStart = keepers.map(ticks);
const IDLE_S = 30;
await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
const idle = keepers.map((pid, i) => ticks(pid) - atStart[i]!);
const memory = keepers.map(memoryOf);
for (const pi of pis) pi.child.stdin!.end();
await Promise.all(pis.map((pi) => pi.exited));
await waitFor(() => keepers.every((pid) => !isAlive(pid)), "the keepers to end", 10_000);
rmSync(home, { recursive: true, force: true });

console.log(
  `\nbench/kill-pi: pi SIGKILLed in each state, ${RUNS} runs each, servers alive ${AFTER_MS / 1000} s later (fake server, Node ${process.version})\n`,
);
console.log("| state at SIGKILL | runs | servers started | alive after 6 s | target |\n|---|---|---|---|---|");
for (const row of rows) console.log(row);
console.log(`\nkeeper cost per server (${keepers.length} keepers):`);
console.log("| measure | median |\n|---|---|");
console.log(`| resident memory (RSS) | ${median(memory.map((m) => m.rss)).toFixed(1)} MiB |`);
console.log(`| of which private (not shared with other Node processes) | ${median(memory.map((m) => m.private)).toFixed(1)} MiB |`);
console.log(`| CPU from spawn to a ready server | ${(median(atStart) * 10).toFixed(0)} ms |`);
console.log(
  `| CPU while the server idles, ${IDLE_S} s | ${(median(idle) * 10).toFixed(0)} ms (${((median(idle) * 10) / (IDLE_S * 10)).toFixed(3)} % of a core) |`,
);
process.exit(0);
