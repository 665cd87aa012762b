/**
 * `npm run bench:cache`: what the prompt cache buys and costs. A ~4k-token conversation goes to
 * a server pi's way (its launch line: --slot-save-path, the slot layout, this pi's slot pinned),
 * the slot is saved with the extension's own save, then the next prompt (the conversation and a
 * new turn) is timed to its first token:
 *
 *   (a) warm       the server never stopped
 *   (b) restarted  the server stopped and started again, nothing restored
 *   (c) restored   the server stopped and started again, the saved slot restored first
 *
 * Targets: (c) ≤ 1.2 × (a) + the restore itself, and the prompt tokens (c) reports cached ≥ 95 %
 * of the conversation. Also what a save adds to a switch (its time, and per MB of cache), and
 * a restore's.
 *
 * The real llama-server when LLAMA_SERVER names its binary (LLAMA_SERVER_MODELS: a folder of
 * GGUF files; the first one is used, or BENCH_MODEL), else the fake server (tests/helpers/
 * fake-server.ts, which spends --prompt-ms-per-token per prompt token it did not have cached):
 * the table says which. Loopback only, ports from BENCH_PORT (18960), --threads 1; every process
 * it starts is stopped by its pid. Medians of BENCH_RUNS (5) runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LaunchSpec } from "../machines/local-server.machine.ts";
import { launchLine } from "../src/llamafiles/process/launch-line.ts";
import { promptCacheDir } from "../src/llamafiles/prompt-cache/paths.ts";
import { noteRequest } from "../src/llamafiles/prompt-cache/session-slots.ts";
import { prepareCache, saveCache } from "../src/llamafiles/prompt-cache/store.ts";
import { FAKE_SERVER } from "../tests/helpers/fake-llamafile.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PORT = Number(process.env.BENCH_PORT ?? 18960);
const real = process.env.LLAMA_SERVER;
const modelsDir = process.env.LLAMA_SERVER_MODELS;
const gguf =
  real && modelsDir
    ? join(
        modelsDir,
        process.env.BENCH_MODEL ??
          readdirSync(modelsDir)
            .filter((name) => name.endsWith(".gguf"))
            .sort()[0]!,
      )
    : undefined;
if (real && !gguf) throw new Error("LLAMA_SERVER is set: LLAMA_SERVER_MODELS must name a folder with a .gguf file");

const home = mkdtempSync(join(tmpdir(), "pi-bench-cache-"));
process.env.HOME = home;
const conversation = { id: "0195bench-0000-7000-8000-000000000001", file: undefined };

const model: LaunchSpec = real
  ? {
      id: "bench",
      name: "bench",
      port: PORT,
      command: real,
      args: ["-m", gguf!, "--host", "127.0.0.1", "--port", "{{port}}", "--threads", "1", "-c", "8192"],
      env: {},
      cwd: home,
      logPath: join(home, "server.log"),
      promptCache: { dir: promptCacheDir("bench"), via: "append", budgetBytes: 2 ** 40 },
    }
  : {
      id: "bench",
      name: "bench",
      port: PORT,
      // The fake's prefill costs what tiny-a's did on this machine (~0.07 ms a token, D12).
      command: process.execPath,
      args: [
        FAKE_SERVER,
        "--port",
        "{{port}}",
        "--id",
        "bench",
        "--ctx",
        "8192",
        "--prompt-ms-per-token",
        "0.07",
        "--reply",
        "ok",
        "--loading-ms",
        "0",
      ],
      env: {},
      cwd: home,
      logPath: join(home, "server.log"),
      promptCache: { dir: promptCacheDir("bench"), via: "placeholder", budgetBytes: 2 ** 40 },
    };
if (!real) model.args.push("--slot-save-path", "{{promptCacheDir}}");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(): Promise<ChildProcess> {
  const line = launchLine(model);
  const { mkdirSync } = await import("node:fs");
  mkdirSync(model.promptCache!.dir, { recursive: true, mode: 0o700 });
  const child = spawn(model.command, line.args, { env: { ...process.env, ...line.env }, stdio: "ignore" });
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(20)) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health`)).ok) return child;
    } catch {
      // not listening yet
    }
  }
  child.kill("SIGKILL");
  throw new Error("the server did not answer /health within 60 s");
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** ~4k tokens of conversation: alternating turns of varied words. */
const WORDS = Number(process.env.BENCH_WORDS ?? (real ? 656 : 3000));
const words = Array.from({ length: WORDS }, (_, i) => `w${(i * 7919) % 10007}`);
const history = Array.from({ length: 8 }, (_, turn) => ({
  role: turn % 2 ? "assistant" : "user",
  content: words.slice((turn * WORDS) / 8, ((turn + 1) * WORDS) / 8).join(" "),
}));
const nextTurn = {
  role: "user",
  content: "Now summarise all of that in one short sentence, please, with nothing else added to it at all.",
};

interface Timed {
  ttftMs: number;
  promptTokens: number;
  cached: number;
}

/** Streams one request in this session's slot; the time to its first content token, and what the server says it cached. */
async function ask(messages: unknown[], slot: number): Promise<Timed> {
  noteRequest(PORT, conversation);
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${PORT}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id_slot: slot, messages, max_tokens: 2, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  let ttftMs: number | undefined;
  let text = "";
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    text += decoder.decode(read.value, { stream: true });
    if (ttftMs === undefined && /"content":"[^"]/.test(text)) ttftMs = performance.now() - started;
  }
  const timings = [...text.matchAll(/"timings":(\{[^}]*\})/g)].map(
    (match) => JSON.parse(match[1]!) as { cache_n: number; prompt_n: number },
  );
  const last = timings.at(-1);
  if (!last) throw new Error(`no timings in the answer (HTTP ${response.status}): ${text.slice(0, 300)}`);
  return { ttftMs: ttftMs ?? performance.now() - started, promptTokens: last.cache_n + last.prompt_n, cached: last.cache_n };
}

const io = (signal = new AbortController().signal) => ({ conversation: () => conversation, requestMs: 5_000, signal });

const results = { a: [] as number[], b: [] as number[], c: [] as number[], cachedShare: [] as number[], restoreMs: [] as number[] };
const saves: Array<{ ms: number; bytes: number; tokens: number }> = [];
let conversationTokens = 0;

let server: ChildProcess | undefined;
try {
  for (let run = 0; run < RUNS; run++) {
    rmSync(model.promptCache!.dir, { recursive: true, force: true });
    // The conversation, then the save a switch would make.
    server = await startServer();
    const { cache } = await prepareCache(model, io());
    const slot = cache!.slot;
    conversationTokens = (await ask(history, slot)).promptTokens;
    const saved = await saveCache(model, cache!, io());
    if (saved.kind !== "saved") throw new Error(`the save did not work: ${JSON.stringify(saved)}`);
    saves.push(saved);
    // (a) warm: the next prompt on the server that never stopped.
    results.a.push((await ask([...history, nextTurn], slot)).ttftMs);
    await stopServer(server);

    // (b) stopped and started again, nothing restored.
    server = await startServer();
    results.b.push((await ask([...history, nextTurn], slot)).ttftMs);
    await stopServer(server);

    // (c) stopped and started again, the saved slot restored first (as the chart's `restoring` does).
    server = await startServer();
    const restoreStarted = performance.now();
    const readiness = await prepareCache(model, io());
    results.restoreMs.push(performance.now() - restoreStarted);
    if (!readiness.restored) throw new Error(`nothing was restored: ${JSON.stringify(readiness)}`);
    const restored = await ask([...history, nextTurn], readiness.cache!.slot);
    results.c.push(restored.ttftMs);
    results.cachedShare.push(restored.cached / saved.tokens);
    await stopServer(server);
  }
} finally {
  if (server) await stopServer(server);
  rmSync(home, { recursive: true, force: true });
}

const a = median(results.a);
const c = median(results.c);
const restore = median(results.restoreMs);
const share = median(results.cachedShare);
const saveMs = median(saves.map((save) => save.ms));
const megabytes = median(saves.map((save) => save.bytes)) / 1e6;
const mark = (met: boolean) => (met ? " ✓" : " ✗ missed");
console.log(
  `\nprompt cache, ${real ? `the real llama-server (${real}, ${gguf})` : "the FAKE server (set LLAMA_SERVER and LLAMA_SERVER_MODELS for the real one)"}: a ${conversationTokens.toLocaleString("en-US")}-token conversation, the next prompt adds a turn; medians of ${RUNS} runs\n`,
);
console.log("| measure | median | target |\n|---|---|---|");
console.log(`| (a) next prompt's first token, warm (never stopped) | ${a.toFixed(1)} ms | |`);
console.log(`| (b) … stopped and started again, nothing restored | ${median(results.b).toFixed(1)} ms | |`);
console.log(
  `| (c) … stopped and started again, restored first | ${c.toFixed(1)} ms | ≤ 1.2 × (a) + restore = ${(1.2 * a + restore).toFixed(1)} ms${mark(c <= 1.2 * a + restore)} |`,
);
console.log(`| restore (probe, claim, checks, POST restore) | ${restore.toFixed(1)} ms | |`);
console.log(`| prompt tokens (c) reports cached / the conversation saved | ${(share * 100).toFixed(1)} % | ≥ 95 %${mark(share >= 0.95)} |`);
console.log(
  `| save before a stop (what it adds to a switch) | ${saveMs.toFixed(1)} ms for ${megabytes.toFixed(2)} MB | ≤ 5,000 ms (SAVE_TIME_LIMIT) |`,
);
console.log(`| save per MB of cache | ${(saveMs / megabytes).toFixed(2)} ms/MB | |`);
