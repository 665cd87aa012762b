/**
 * `npm run bench:ai-server`: streaming figures for the ai-server provider.
 *
 * The same stand-in router (tests/helpers/fake-router.ts) streams N tokens to:
 *   (a) pi's built-in openai-completions over plain HTTP (no proxy, no TLS)
 *   (b) this provider over mTLS (pi-ai streaming + the guarded mTLS fetch), with the answer's
 *       figures (the tail kept for its timings, the deltas counted)
 *   (b0) the same provider with the figures off: no tail kept, no deltas counted (what (b)
 *        costs beyond it is the figures' cost)
 *   (c) a raw undici fetch over mTLS (the floor for (b))
 * The peer runs in its own process (bench/stream-peer.ts). Medians of RUNS runs: time to first
 * token (answers of 16 tokens, so the peer's own writing does not count) and tokens/s (answers
 * of N tokens), with ratios. Also pi's start-up
 * (`pi --list-models`) with the router unreachable (connection refused, and a black hole
 * that never finishes the TLS handshake) against no AI_SERVER_URL. Loopback only.
 */
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Api, Model } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import type { RouterModelStatus, RouterNotice } from "../machines/router-model.machine.ts";
import { loadAiServerSettings } from "../src/ai-server/config.ts";
import { createMtlsFetchFactory } from "../src/ai-server/mtls-fetch.ts";
import { aiServerProviderConfig } from "../src/ai-server/provider.ts";
import { createRouterApi } from "../src/ai-server/router-api.ts";
import { routerBackend } from "../src/ai-server/session.ts";
import type { RouterSupervisor } from "../src/ai-server/supervisor.ts";
import { loadTlsMaterial } from "../src/ai-server/tls.ts";
import type { Backend } from "../src/backend/contract.ts";
import { streamWhenReady } from "../src/backend/request.ts";
import { type AnswerMeter, answerMeter } from "../src/llama-cpp/answer-meter.ts";
import { REPO_ROOT } from "../tests/helpers/fake-llamafile.ts";
import { makeHome } from "../tests/helpers/pi-harness.ts";
import { freePort } from "../tests/helpers/processes.ts";
import { median } from "./stats.ts";

// 21: the figures' cost (under 1 % of the client's CPU) is smaller than the run-to-run noise of fewer runs.
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 20000);

const peer = spawn(process.execPath, [join(REPO_ROOT, "bench/stream-peer.ts"), String(TOKENS)], { stdio: ["pipe", "pipe", "inherit"] });
const peerInfo = JSON.parse(await new Promise<string>((resolve) => peer.stdout.once("data", (data) => resolve(String(data))))) as {
  tlsUrl: string;
  plainUrl: string;
  client: { ca: string; cert: string; key: string };
};
const plain = { url: peerInfo.plainUrl };
const router = { url: peerInfo.tlsUrl };
const env = {
  AI_SERVER_URL: peerInfo.tlsUrl,
  AI_SERVER_CA: peerInfo.client.ca,
  AI_SERVER_CLIENT_CERT: peerInfo.client.cert,
  AI_SERVER_CLIENT_KEY: peerInfo.client.key,
  AI_SERVER_TIMEOUT_MS: "60000",
};

const [settings] = loadAiServerSettings({ env, agentDir: makeHome() }).servers;
const { material } = loadTlsMaterial(settings!);
const fetches = createMtlsFetchFactory(settings!, material!);
const { streamSimple } = await import("@earendil-works/pi-ai/compat");
const context = { messages: [{ role: "user" as const, content: "stream please", timestamp: Date.now() }] } as unknown as Parameters<
  typeof streamSimple
>[1];
const compat = { supportsStore: false, supportsDeveloperRole: false, supportsUsageInStreaming: true, maxTokensField: "max_tokens" };
const modelFor = (baseUrl: string, provider: string) =>
  ({
    id: "tiny-a",
    name: "tiny-a",
    api: "openai-completions",
    provider,
    baseUrl,
    reasoning: false,
    input: ["text"],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: 131072,
    maxTokens: 131072,
    compat,
  }) as unknown as Model<Api>;

const TTFT_TOKENS = 16;

/** Times a pi-ai event stream: first text delta, and deltas per second after it. */
async function timeStream(tokens: number, start: () => AsyncIterable<{ type: string }>) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let first = 0;
  let deltas = 0;
  for await (const event of start()) {
    if (event.type === "text_delta") {
      deltas++;
      if (!first) first = performance.now();
    }
    if (event.type === "error") throw new Error(JSON.stringify(event));
  }
  const end = performance.now();
  if (deltas !== tokens) throw new Error(`expected ${tokens} deltas, got ${deltas}`);
  const cpu = process.cpuUsage(cpu0);
  // This process's CPU per token (the peer runs in its own): steadier than wall time on a shared machine.
  return { ttft: first - t0, rate: (deltas - 1) / ((end - first) / 1000), cpuPerToken: (cpu.user + cpu.system) / deltas };
}

/**
 * The provider's real request path (the generic gate, src/backend/request.ts, with the router
 * backend's mTLS plan), with a model that is always ready: what is measured is the streaming.
 */
const alwaysReady = { ensureReady: async () => {}, answering: () => () => {} } as unknown as RouterSupervisor;
const requestPath = (backend: Backend<RouterModelStatus, RouterNotice>, meter: AnswerMeter) =>
  aiServerProviderConfig(settings!, [], (model, context, options) =>
    lazyStream(model, () =>
      streamWhenReady(
        { backend, meter, supervisor: async () => alwaysReady, served: () => undefined },
        model,
        options?.signal,
        (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch }),
      ),
    ),
  );
const backend = routerBackend({
  provider: "ai-server",
  settings: settings!,
  api: createRouterApi(settings!, material!),
  fetches,
  listing: () => [],
  reregister: () => {},
});
const provider = requestPath(backend, answerMeter());
/** The same path with the figures off: the meter sees nothing, the fetch keeps no tail. */
const providerWithoutFigures = requestPath(
  { ...backend, planRequest: (model) => ({ model, fetch: fetches.forRequest({ failure: undefined }), failureText: () => undefined }) },
  { ...answerMeter(), see: () => {} },
);
const variants = {
  "(a) pi built-in, plain HTTP": (tokens: number) =>
    timeStream(tokens, () =>
      streamSimple(modelFor(`${plain.url}/v1`, "plain"), context, { apiKey: "x", headers: { "x-fake-tokens": String(tokens) } }),
    ),
  "(b) ai-server provider, mTLS": (tokens: number) =>
    timeStream(tokens, () =>
      provider.streamSimple!(modelFor(`${router.url}/v1`, "ai-server"), context as never, {
        apiKey: "ai-server-mtls",
        headers: { "x-fake-tokens": String(tokens) },
      }),
    ),
  "(b0) the same, without the figures": (tokens: number) =>
    timeStream(tokens, () =>
      providerWithoutFigures.streamSimple!(modelFor(`${router.url}/v1`, "ai-server"), context as never, {
        apiKey: "ai-server-mtls",
        headers: { "x-fake-tokens": String(tokens) },
      }),
    ),
  "(c) raw undici fetch, mTLS": async (tokens: number) => {
    const { Agent, fetch } = await import("undici");
    const dispatcher = new Agent({ connect: { ca: material!.ca, cert: material!.cert, key: material!.key } });
    const t0 = performance.now();
    const response = await fetch(`${router.url}/v1/chat/completions`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/json", "x-fake-tokens": String(tokens) },
      body: JSON.stringify({ model: "tiny-a", stream: true, messages: [{ role: "user", content: "stream please" }] }),
    });
    let first = 0;
    let deltas = 0;
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes('"content":"tok')) {
          deltas++;
          if (!first) first = performance.now();
        }
      }
    }
    const end = performance.now();
    await dispatcher.close();
    return { ttft: first - t0, rate: (deltas - 1) / ((end - first) / 1000) };
  },
};

const results: Record<string, { ttft: number[]; rate: number[] }> = {};
for (const name of Object.keys(variants)) results[name] = { ttft: [], rate: [] };
const cpuPerToken: Record<"b" | "b0", number[]> = { b: [], b0: [] };
// (b) and (b0) swap places every run, so that neither always follows the same variant (and
// its garbage); their ratio is taken per run, so that the machine's drift between runs cancels.
const swapped = (names: string[], run: number) => {
  if (run % 2 === 0) return names;
  const [b, b0] = [names.indexOf("(b) ai-server provider, mTLS"), names.indexOf("(b0) the same, without the figures")];
  const order = [...names];
  [order[b], order[b0]] = [order[b0]!, order[b]!];
  return order;
};
for (const run of Array.from({ length: RUNS + 1 }, (_, i) => i)) {
  for (const name of swapped(Object.keys(variants), run)) {
    const measure = variants[name as keyof typeof variants];
    const { ttft } = await measure(TTFT_TOKENS);
    const long = await measure(TOKENS);
    if (run === 0) continue; // warm-up
    results[name]!.ttft.push(ttft);
    results[name]!.rate.push(long.rate);
    const cpu = "cpuPerToken" in long ? (long.cpuPerToken as number) : Number.NaN;
    if (name.startsWith("(b) ")) cpuPerToken.b.push(cpu);
    if (name.startsWith("(b0) ")) cpuPerToken.b0.push(cpu);
  }
}
await fetches.close();

// Start-up with the router unreachable.
const home = makeHome();
const agentDir = join(home, ".pi/agent");
writeFileSync(join(agentDir, "models.json"), "{}");
const closedPort = await freePort();
const blackHole = createServer(() => {}).listen(0, "127.0.0.1"); // accepts, never speaks TLS
await new Promise((resolve) => blackHole.once("listening", resolve));
const blackHolePort = (blackHole.address() as { port: number }).port;
const cli = join(REPO_ROOT, "node_modules/@earendil-works/pi-coding-agent/dist/bundle/cli.js");
const startup = (aiServer: Record<string, string>) => {
  const env: Record<string, string | undefined> = { ...process.env, HOME: home, PI_CODING_AGENT_DIR: agentDir, PI_OFFLINE: "1" };
  for (const name of Object.keys(env)) if (name.startsWith("AI_SERVER_")) delete env[name];
  Object.assign(env, aiServer);
  const t0 = performance.now();
  execFileSync(process.execPath, [cli, "-ne", "-e", REPO_ROOT, "--list-models"], { env, stdio: "ignore" });
  return performance.now() - t0;
};
const { AI_SERVER_URL: _url, ...withoutUrl } = env;
const startupRuns = { none: [] as number[], refused: [] as number[], blackHole: [] as number[] };
for (let run = 0; run < RUNS; run++) {
  startupRuns.none.push(startup(withoutUrl));
  startupRuns.refused.push(startup({ ...env, AI_SERVER_URL: `https://localhost:${closedPort}` }));
  startupRuns.blackHole.push(startup({ ...env, AI_SERVER_URL: `https://localhost:${blackHolePort}` }));
}
blackHole.close();
peer.stdin.end();

const a = results["(a) pi built-in, plain HTTP"]!;
const b = results["(b) ai-server provider, mTLS"]!;
console.log(
  `\nbench/ai-server-stream: TTFT on ${TTFT_TOKENS}-token answers, tokens/s on ${TOKENS}-token answers, medians of ${RUNS} runs (after a warm-up), Node ${process.version}\n`,
);
console.log("| variant | TTFT | tokens/s |\n|---|---|---|");
for (const [name, r] of Object.entries(results))
  console.log(`| ${name} | ${median(r.ttft).toFixed(1)} ms | ${median(r.rate).toFixed(0)} |`);
console.log(`\n| ratio | value | target |\n|---|---|---|`);
console.log(`| throughput (b)/(a) | ${(median(b.rate) / median(a.rate)).toFixed(3)} | ≥ 0.95 |`);
console.log(`| TTFT overhead (b)−(a) | ${(median(b.ttft) - median(a.ttft)).toFixed(1)} ms | ≤ 10 ms |`);
const b0 = results["(b0) the same, without the figures"]!;
const figuresRatio = median(b.rate.map((rate, run) => rate / b0.rate[run]!));
const [cpuB, cpuB0] = [median(cpuPerToken.b), median(cpuPerToken.b0)];
console.log(
  `| throughput with figures / without (b)/(b0), median of the per-run ratios | ${figuresRatio.toFixed(3)} | ≥ 0.98${figuresRatio >= 0.98 ? " ✓" : " ✗ missed"} |`,
);
console.log(
  `| client CPU per token, (b) / (b0): the figures' own cost | ${cpuB.toFixed(2)} / ${cpuB0.toFixed(2)} µs: ${(cpuB - cpuB0).toFixed(2)} µs a token, ${(((cpuB - cpuB0) / cpuB) * 100).toFixed(1)} % of (b) | |`,
);
console.log(`| throughput (b)/(c) | ${(median(b.rate) / median(results["(c) raw undici fetch, mTLS"]!.rate)).toFixed(3)} | |`);
console.log(`\n| pi start-up (--list-models) | median | added vs no AI_SERVER_URL | target |\n|---|---|---|---|`);
console.log(`| no AI_SERVER_URL | ${median(startupRuns.none).toFixed(0)} ms | | |`);
console.log(
  `| router refused (closed port) | ${median(startupRuns.refused).toFixed(0)} ms | ${(median(startupRuns.refused) - median(startupRuns.none)).toFixed(0)} ms | ≤ 3500 ms |`,
);
console.log(
  `| router black hole (no TLS answer) | ${median(startupRuns.blackHole).toFixed(0)} ms | ${(median(startupRuns.blackHole) - median(startupRuns.none)).toFixed(0)} ms | ≤ 3500 ms |`,
);
