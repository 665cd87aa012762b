/**
 * `npm run bench:discovery`: how long discovery takes over 200 models, printed as a table with
 * its targets; a missed target is marked ✗.
 *
 *   cold   no cache: every folder walked, every header read (a 32k to 256k-token vocabulary and
 *          its merges stepped over, like real files) and the cache written
 *   warm   the cache read and checked against a stat of every file: what pi pays at each start
 *   rescan every header read again, the cache present (`/llamafiles scan`)
 *   fresh  the same warm start and cold scan, each in a new Node process: what pi pays when it
 *          starts, the JIT not yet warm (modules already loaded; their loading is not counted)
 *
 * The 200 files (in a temp folder, removed at the end) are sparse: realistic sizes (0.5 to 40
 * GiB, a third of them split in 2 to 4 files, some vision models with a projector) that cost no
 * disk. Their headers are in the page cache, as after any recent scan: a truly cold disk adds
 * its seek time per file, which is the disk's, not discovery's. Medians and p90 of RUNS runs
 * after one warm-up round, printed apart: it runs right after the 287 files were written, while
 * the kernel may still be writing them back, so it is slower than any start pi will see; the
 * fresh-process rows are the figures for a pi starting.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FETCH_BAD_PORTS } from "../src/llamafiles/config.ts";
import { type DiscoveryOptions, discoverModels, rescanModels } from "../src/llamafiles/discovery/discover.ts";
import { writeModelLibrary } from "./model-library.ts";
import { median } from "./stats.ts";

/** Child mode: one discovery in a fresh process (what pi pays at its start), its time printed. */
if (process.argv[2] === "--once") {
  const [models, cachePath] = process.argv.slice(3) as [string, string];
  const started = performance.now();
  discoverModels({
    modelDirs: [models],
    reservedPorts: [],
    blockedPorts: FETCH_BAD_PORTS,
    env: { HOME: models, PATH: "" },
    llamaServer: "/bin/sh",
    cachePath,
  });
  console.log(performance.now() - started);
  process.exit(0);
}

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const MODELS = 200;
const TARGETS = { coldMs: 500, warmMs: 5 };

const root = mkdtempSync(join(tmpdir(), "bench-discovery-"));
const models = join(root, "models");
mkdirSync(models);

const files = writeModelLibrary(models, MODELS);

const options = (cachePath: string | null): DiscoveryOptions => ({
  modelDirs: [models],
  reservedPorts: [],
  blockedPorts: FETCH_BAD_PORTS,
  env: { HOME: root, PATH: "" },
  llamaServer: "/bin/sh",
  cachePath,
});

function time(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const cold: number[] = [];
const warm: number[] = [];
const rescan: number[] = [];
let found = 0;
for (let run = 0; run <= RUNS; run++) {
  const cachePath = join(root, `cache-${run}.json`);
  cold.push(time(() => (found = discoverModels(options(cachePath)).models.length)));
  warm.push(time(() => discoverModels(options(cachePath))));
  rescan.push(time(() => rescanModels(options(cachePath))));
}
const firstRound = [cold.shift()!, warm.shift()!, rescan.shift()!];

/** One discovery in a new Node process, RUNS times (cache given: a warm start; a fresh cache path: a cold one). */
const inFreshProcess = (cache: (run: number) => string) =>
  Array.from({ length: RUNS }, (_, run) => {
    const child = spawnSync(process.execPath, [import.meta.filename, "--once", models, cache(run)], { encoding: "utf8" });
    return Number(child.stdout.trim());
  });
const freshCold = inFreshProcess((run) => join(root, `fresh-cold-${run}.json`));
const freshWarm = inFreshProcess(() => join(root, "cache-0.json"));
rmSync(root, { recursive: true, force: true });

const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.9) - 1]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;
/** One table row; `met` marks the target as met (✓) or missed (✗). */
const row = (measure: string, values: number[], target?: number) =>
  `| ${measure} | ${ms(median(values))} | ${ms(p90(values))} | ${target === undefined ? "" : `≤ ${target} ms${median(values) <= target ? " ✓" : " ✗ missed"}`} |`;

console.log(`discovery over ${MODELS} models (${found} found) in ${files} sparse files, ${RUNS} runs`);
console.log("| measure | median | p90 | target |\n|---|---|---|---|");
console.log(row("cold scan (no cache)", cold, TARGETS.coldMs));
console.log(row("warm start (cache + stat)", warm, TARGETS.warmMs));
console.log(row("rescan (every header again)", rescan));
// A fresh process also pays the JIT's warm-up: shown, not held to the targets above.
console.log(row("warm start in a fresh process (pi starting)", freshWarm));
console.log(row("cold scan in a fresh process (pi's first start)", freshCold));
console.log(
  `warm-up round (right after writing the files, not counted): cold ${ms(firstRound[0]!)}, warm ${ms(firstRound[1]!)}, rescan ${ms(firstRound[2]!)}`,
);

