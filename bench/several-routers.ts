/**
 * `npm run bench:routers`: several routers (issue 19), against stand-in routers on loopback.
 *
 * - pi's start-up (`pi --list-models`, wall time, medians of RUNS runs) with no router, one
 *   router that answers, one black hole (accepts TCP, never answers: the worst single router,
 *   bounded by the 2.5 s discovery bound), and three routers (two that answer, each with its own
 *   certificates, and one black hole): the routers are discovered at once, so three with a black
 *   hole should cost what one black hole costs.
 * - Time to first token through each of the two routers that answer, along the provider's real
 *   request path (src/backend/request.ts with the router backend's mTLS plan; the model is
 *   always ready, so what is measured is the request), with 16-token answers.
 * The routers run in their own process (bench/routers-peer.ts). A table, no assertions.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import type { Api, Model } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import { loadAiServerSettings } from "../src/ai-server/config.ts";
import { createMtlsFetchFactory } from "../src/ai-server/mtls-fetch.ts";
import { aiServerProviderConfig } from "../src/ai-server/provider.ts";
import { createRouterApi } from "../src/ai-server/router-api.ts";
import { routerBackend } from "../src/ai-server/session.ts";
import type { RouterSupervisor } from "../src/ai-server/supervisor.ts";
import { loadTlsMaterial } from "../src/ai-server/tls.ts";
import { streamWhenReady } from "../src/backend/request.ts";
import { answerMeter } from "../src/llama-cpp/answer-meter.ts";
import { REPO_ROOT } from "../tests/helpers/fake-llamafile.ts";
import { makeHome } from "../tests/helpers/pi-harness.ts";
import { median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TTFT_RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 21);

const peer = spawn(process.execPath, [join(REPO_ROOT, "bench/routers-peer.ts"), "box1", "box2"], { stdio: ["pipe", "pipe", "inherit"] });
const boxes = JSON.parse(await new Promise<string>((resolve) => peer.stdout.once("data", (data) => resolve(String(data))))) as Array<{
  name: string;
  url: string;
  client: { ca: string; cert: string; key: string };
}>;
const entry = (box: (typeof boxes)[number]) => ({
  name: box.name,
  url: box.url,
  ca: box.client.ca,
  clientCert: box.client.cert,
  clientKey: box.client.key,
});

// A black hole: accepts the connection, never speaks TLS.
const holeSockets = new Set<Socket>();
const blackHole = createServer((socket) => {
  holeSockets.add(socket);
  socket.on("close", () => holeSockets.delete(socket));
}).listen(0, "127.0.0.1");
await new Promise((resolve) => blackHole.once("listening", resolve));
const holeUrl = `https://localhost:${(blackHole.address() as { port: number }).port}`;

// ---- start-up --------------------------------------------------------------------------
const cli = join(REPO_ROOT, "node_modules/@earendil-works/pi-coding-agent/dist/bundle/cli.js");
/** pi --list-models in a fresh HOME whose ai-server.json is `file` (none: undefined), with only the AI_SERVER_* variables given. */
const startup = (file: unknown, aiServer: Record<string, string> = {}) => {
  const home = makeHome();
  const agentDir = join(home, ".pi/agent");
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(join(agentDir, "models.json"), "{}");
  if (file !== undefined) writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify(file));
  const env: Record<string, string | undefined> = { ...process.env, HOME: home, PI_CODING_AGENT_DIR: agentDir, PI_OFFLINE: "1" };
  for (const name of Object.keys(env)) if (name.startsWith("AI_SERVER_")) delete env[name];
  Object.assign(env, aiServer);
  const t0 = performance.now();
  const listed = execFileSync(process.execPath, [cli, "-ne", "-e", REPO_ROOT, "--list-models"], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return { ms: performance.now() - t0, listed };
};
const [box1, box2] = boxes as [(typeof boxes)[number], (typeof boxes)[number]];
const box1Env = {
  AI_SERVER_URL: box1.url,
  AI_SERVER_CA: box1.client.ca,
  AI_SERVER_CLIENT_CERT: box1.client.cert,
  AI_SERVER_CLIENT_KEY: box1.client.key,
};
const variants: Record<string, () => { ms: number; listed: string }> = {
  "no router": () => startup(undefined),
  "1 router (AI_SERVER_URL), answering": () => startup(undefined, box1Env),
  "1 router (AI_SERVER_URL), a black hole": () => startup(undefined, { ...box1Env, AI_SERVER_URL: holeUrl }),
  "3 routers (servers): 2 answering, 1 black hole": () =>
    startup({ servers: [entry(box1), { ...entry(box1), name: "hole", url: holeUrl }, entry(box2)] }),
  "3 routers (servers): all answering": () => startup({ servers: [entry(box1), entry(box2), { ...entry(box1), name: "box3" }] }),
};
const startupMs: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
const listedModels: Record<string, number> = {};
for (let run = 0; run <= RUNS; run++) {
  for (const [name, measure] of Object.entries(variants)) {
    const { ms, listed } = measure();
    listedModels[name] = listed.split("\n").filter((line) => /^ai-server/.test(line)).length;
    if (run > 0) startupMs[name]!.push(ms); // run 0 warms the disk cache
  }
}
for (const socket of holeSockets) socket.destroy();
blackHole.close();

// ---- time to first token through each router ------------------------------------------------
const { servers } = loadAiServerSettings({
  env: {},
  agentDir: (() => {
    const dir = join(makeHome(), ".pi/agent");
    writeFileSync(join(dir, "ai-server.json"), JSON.stringify({ servers: [entry(box1), entry(box2)], timeoutMs: 60_000 }));
    return dir;
  })(),
});
const { streamSimple } = await import("@earendil-works/pi-ai/compat");
const context = { messages: [{ role: "user" as const, content: "stream please", timestamp: Date.now() }] } as unknown as Parameters<
  typeof streamSimple
>[1];
const alwaysReady = { ensureReady: async () => {}, answering: () => () => {} } as unknown as RouterSupervisor;
const ttft: Record<string, number[]> = {};
const closers: Array<() => Promise<void>> = [];
const paths: Array<{ key: string; run: () => Promise<number> }> = [];
for (const settings of servers) {
  const { material } = loadTlsMaterial(settings);
  const fetches = createMtlsFetchFactory(settings, material!);
  closers.push(() => fetches.close());
  const backend = routerBackend({
    provider: settings.provider,
    settings,
    api: createRouterApi(settings, material!),
    fetches,
    listing: () => [],
    reregister: () => {},
  });
  const meter = answerMeter();
  const provider = aiServerProviderConfig(settings, [], (model, ctx, options) =>
    lazyStream(model, () =>
      streamWhenReady(
        { backend, meter, supervisor: async () => alwaysReady, served: () => undefined },
        model,
        options?.signal,
        (m, apis, fetch) => apis.streamSimple(m, ctx, { ...options, fetch }),
      ),
    ),
  );
  const model = {
    id: "tiny-a",
    name: "tiny-a",
    api: "openai-completions",
    provider: settings.provider,
    baseUrl: `${settings.url}/v1`,
    reasoning: false,
    input: ["text"],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: 131072,
    maxTokens: 131072,
    compat: { supportsStore: false, supportsDeveloperRole: false, supportsUsageInStreaming: true, maxTokensField: "max_tokens" },
  } as unknown as Model<Api>;
  const key = `${settings.provider}/tiny-a (${settings.name})`;
  ttft[key] = [];
  paths.push({
    key,
    async run() {
      const t0 = performance.now();
      let first = 0;
      for await (const event of provider.streamSimple!(model, context as never, {
        apiKey: "ai-server-mtls",
        headers: { "x-fake-tokens": "16" },
      })) {
        if (event.type === "text_delta" && !first) first = performance.now();
        if (event.type === "error") throw new Error(JSON.stringify(event));
      }
      return first - t0;
    },
  });
}
// The routers take turns, so that neither always runs first (and warms up the client for the other).
for (let run = 0; run <= TTFT_RUNS; run++) {
  for (const path of run % 2 ? [...paths].reverse() : paths) {
    const ms = await path.run();
    if (run > 0) ttft[path.key]!.push(ms);
  }
}
for (const close of closers) await close();
peer.stdin.end();

const base = median(startupMs["no router"]!);
const oneHole = median(startupMs["1 router (AI_SERVER_URL), a black hole"]!);
console.log(`\nbench/several-routers: pi --list-models wall time, medians of ${RUNS} runs (after a warm-up), Node ${process.version}\n`);
console.log("| start-up | median | added vs no router | vs 1 black hole | ai-server models listed |\n|---|---|---|---|---|");
for (const [name, values] of Object.entries(startupMs)) {
  const m = median(values);
  console.log(
    `| ${name} | ${m.toFixed(0)} ms | ${(m - base).toFixed(0)} ms | ${name.includes("black hole") || name.startsWith("3") ? `${(m - oneHole).toFixed(0)} ms` : ""} | ${listedModels[name]} |`,
  );
}
console.log(`\n| time to first token (16-token answers, medians of ${TTFT_RUNS}) | median |\n|---|---|`);
for (const [key, values] of Object.entries(ttft)) console.log(`| ${key} | ${median(values).toFixed(1)} ms |`);
