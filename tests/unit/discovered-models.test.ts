// Discovered models as the extension offers them: one discovery with the user's settings and the
// declared models winning (discovery-run.ts), the last result kept for the next start and read
// back as hostile input (discovery/last-found.ts, discovered-models.ts), the live list of local
// models a rescan replaces (local-models.ts).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, expect, test } from "vitest";
import { type LlamafilesConfig, loadLlamafilesConfig } from "../../src/llamafiles/config.ts";
import { type DiscoveryEnv, discoveryKey, lastFoundModels, toLocalModel } from "../../src/llamafiles/discovered-models.ts";
import { realFileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import { defaultLastFoundPath, type FoundModel, lastFoundText, readLastFound } from "../../src/llamafiles/discovery/last-found.ts";
import { DISCOVERY_PORTS, preferredPort } from "../../src/llamafiles/discovery/ports.ts";
import { runDiscovery } from "../../src/llamafiles/discovery-run.ts";
import { localModels } from "../../src/llamafiles/local-models.ts";
import { collidingIds } from "../helpers/discovery-fixtures.ts";
import { modelSpec, projectorSpec, tinyModelSpec, writeGguf } from "../helpers/gguf-writer.ts";

const temp = mkdtempSync(join(tmpdir(), "discovered-models-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let home: string;
let models: string;
let env: DiscoveryEnv;
let n = 0;
beforeEach(() => {
  home = join(temp, `home-${n++}`);
  models = join(home, "models");
  mkdirSync(join(home, "bin"), { recursive: true });
  mkdirSync(models);
  writeFileSync(join(home, "bin", "llama-server"), "#!/bin/sh\n");
  chmodSync(join(home, "bin", "llama-server"), 0o755);
  env = { HOME: home, PATH: join(home, "bin") };
});

const logPathFor = (id: string) => `/logs/${id}.log`;
/** The config a models.json text gives (undefined: no file). */
function configOf(block?: Record<string, unknown>): LlamafilesConfig {
  const modelsPath = join(home, "models.json");
  if (block) writeFileSync(modelsPath, JSON.stringify({ providers: { llamafiles: block } }));
  else rmSync(modelsPath, { force: true });
  return loadLlamafilesConfig({ modelsPath, cwd: "/", logPathFor, home }).config!;
}
const run = (config: LlamafilesConfig, rescan = false) =>
  runDiscovery(config, { env, logPathFor, rescan, lastFoundPath: defaultLastFoundPath(home) });

test("a discovered model becomes a local model: its command line, the estimate as its memory, -c as what pi declared", () => {
  const file = join(models, "tiny-a.gguf");
  const size = writeGguf(file, tinyModelSpec());
  const outcome = run(configOf());
  const port = preferredPort("tiny-a");
  expect(outcome.scanned).toEqual([models]);
  expect(outcome.models).toEqual([
    {
      id: "tiny-a",
      name: `tiny-a · F32 · ${Math.round(size / 1024)} KiB`,
      command: join(home, "bin", "llama-server"),
      args: ["-m", file, "--alias", "tiny-a", "--host", "127.0.0.1", "--port", String(port), "-c", "8192", "--jinja"],
      port,
      env: {},
      cwd: models,
      logPath: "/logs/tiny-a.log",
      reasoning: false,
      input: ["text"],
      contextWindow: 8192,
      maxTokens: 8192,
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      passthrough: {},
      memoryBytes: size + 512 * 8192 + 64 * 2 ** 20,
      // llama-server keeps the prompt cache by default (a discovered llamafile does not).
      promptCache: { dir: join(process.env.HOME!, ".pi", "llamafile_cache", "tiny-a"), via: "append", budgetBytes: 16 * 2 ** 30 },
      declared: { contextWindow: { value: 8192, source: "discovery" } },
      discovered: {
        kind: "gguf",
        files: [file],
        projector: undefined,
        bytes: size,
        trainedContext: 8192,
        estimate: { weightBytes: size, kvCacheBytes: 512 * 8192, marginBytes: 64 * 2 ** 20, totalBytes: size + 512 * 8192 + 64 * 2 ** 20 },
      },
    },
  ]);
});

test("the user's serverArgs, for all and for one model, reach the command line; a projector gives image input", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  writeGguf(join(models, "tiny-b.gguf"), tinyModelSpec("tiny-b"));
  const vision = join(models, "vision");
  mkdirSync(vision);
  writeGguf(join(vision, "see-Q4_K_M.gguf"), modelSpec({ name: "See", embeddingLength: 64, fileType: 15 }));
  writeGguf(join(vision, "mmproj-see-f16.gguf"), projectorSpec({ projectionDim: 64 }));
  const outcome = run(
    configOf({
      baseUrl: "http://localhost:8080/v1",
      serverArgs: ["-ngl", "99"],
      discovered: { "tiny-b": { serverArgs: ["-c", "4096", "--threads", "2"] } },
    }),
  );
  const byId = Object.fromEntries(outcome.models.map((model) => [model.id, model]));
  expect(byId["tiny-a"]!.args.slice(-4)).toEqual(["8192", "--jinja", "-ngl", "99"]);
  // The model's own -c replaces discovery's (and what pi declares follows it).
  expect(byId["tiny-b"]!.args.slice(8)).toEqual(["--jinja", "-ngl", "99", "-c", "4096", "--threads", "2"]);
  expect(byId["tiny-b"]!.contextWindow).toBe(4096);
  expect(byId["see-q4_k_m"]).toMatchObject({ input: ["text", "image"], discovered: { projector: join(vision, "mmproj-see-f16.gguf") } });
  expect(byId["see-q4_k_m"]!.args).toEqual(expect.arrayContaining(["--mmproj", join(vision, "mmproj-see-f16.gguf")]));
});

test("a declared model wins over a discovered one with its id or its file, and its port is never given to a discovered one", () => {
  const a = join(models, "tiny-a.gguf");
  writeGguf(a, tinyModelSpec());
  writeGguf(join(models, "tiny-b.gguf"), tinyModelSpec("tiny-b"));
  writeGguf(join(models, "tiny-c.gguf"), tinyModelSpec("tiny-c"));
  const outcome = run(
    configOf({
      api: "openai-completions",
      baseUrl: "http://localhost:8080/v1",
      models: [
        { id: "mine", command: "/usr/bin/llama-server", args: ["-m", a, "--port", "{{port}}"], port: preferredPort("tiny-c") },
        { id: "tiny-b", command: "/bin/true", port: 8081 },
      ],
    }),
  );
  expect(outcome.models.map((model) => model.id)).toEqual(["tiny-c"]);
  expect(outcome.models[0]!.port).not.toBe(preferredPort("tiny-c"));
  expect(outcome.skipped).toEqual([
    { path: a, reason: { code: "configured", by: "mine", why: "same-file" } },
    { path: join(models, "tiny-b.gguf"), reason: { code: "configured", by: "tiny-b", why: "same-id" } },
  ]);
});

test("a port chosen for a discovered model is its port, unless a declared model has it; the others move out of its way", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  writeGguf(join(models, "tiny-b.gguf"), tinyModelSpec("tiny-b"));
  const outcome = run(
    configOf({
      baseUrl: "http://x/v1",
      models: [{ id: "mine", command: "/bin/true", port: 18701 }],
      discovered: { "tiny-a": { port: 18700 }, "tiny-b": { port: 18701 } },
    }),
  );
  expect(outcome.models.map((model) => [model.id, model.port])).toEqual([
    ["tiny-a", 18700],
    ["tiny-b", preferredPort("tiny-b")],
  ]);
  expect(outcome.models[0]!.args).toEqual(expect.arrayContaining(["--port", "18700"]));
  expect(outcome.problems).toEqual([{ code: "port-refused", model: "tiny-b", port: 18701, why: "declared", range: DISCOVERY_PORTS }]);
});

test("the result is kept for the next start: read back as the same local models, under the same settings only", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  writeGguf(join(models, "tiny-b.gguf"), tinyModelSpec("tiny-b"));
  const config = configOf();
  const outcome = run(config);
  const paths = { lastFound: defaultLastFoundPath(home), logPathFor };
  expect(lastFoundModels(config, env, paths)).toEqual(outcome.models);
  // PATH is not part of it (the scan after start-up corrects the command); the settings and the declared models are.
  expect(lastFoundModels(config, { ...env, PATH: "/elsewhere" }, paths)).toEqual(outcome.models);
  expect(lastFoundModels(configOf({ baseUrl: "http://x/v1", serverArgs: ["-ngl", "1"] }), env, paths)).toBeUndefined();
  expect(lastFoundModels(config, { ...env, LLAMA_CACHE: "/other" }, paths)).toBeUndefined();
  expect(
    lastFoundModels(configOf({ baseUrl: "http://x/v1", models: [{ id: "x", command: "/bin/true", port: 9000 }] }), env, paths),
  ).toBeUndefined();
  expect(discoveryKey(config, env)).toBe(discoveryKey(configOf(), { ...env, PATH: "/elsewhere" }));
});

test("the kept result is written only when it changed, 0600, and never through a link", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  const config = configOf();
  const path = defaultLastFoundPath(home);
  run(config);
  const written = readFileSync(path, "utf8");
  rmSync(path);
  symlinkSync(join(home, "decoy"), path);
  writeFileSync(join(home, "decoy"), "keep me");
  run(config);
  expect(readFileSync(join(home, "decoy"), "utf8")).toBe("keep me");
  expect(readFileSync(path, "utf8")).toBe(written);
  expect((statMode(path) & 0o777).toString(8)).toBe("600");
});

const statMode = (path: string) => realFileSystem.lstatSync(path).mode;

test("a hostile last-found file: a malformed or unsafe model is left out, the others kept; another key, version or a link is not used", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  const config = configOf();
  run(config);
  const path = defaultLastFoundPath(home);
  const key = discoveryKey(config, env);
  const good = JSON.parse(readFileSync(path, "utf8")).models[0] as FoundModel;
  expect(readLastFound(path, key, realFileSystem)).toEqual([good]);
  const other = { ...good, id: "other" };
  /** The forged model first, then a good one: only the forged one is left out. */
  const forged = (model: Record<string, unknown>) => lastFoundText(key, [model as unknown as FoundModel, other]);
  const cases: Array<[string, string]> = [
    ["a relative command", forged({ ...good, command: "llama-server" })],
    ["an argument that is not a string", forged({ ...good, args: ["-m", 5] })],
    ["an escape sequence in the name", forged({ ...good, name: "\u001b]0;owned\u0007" })],
    ["a newline in an argument", forged({ ...good, args: ["-m", "x\nrm -rf ~"] })],
    ["a C1 control (8-bit CSI) in the name", forged({ ...good, name: "x\u009b2J" })],
    ["a bidirectional override in the id", forged({ ...good, id: "gpt\u202eevil" })],
    ["DEL in a file", forged({ ...good, files: ["/m/a\u007f.gguf"] })],
    ["a port of 0", forged({ ...good, port: 0 })],
    ["a port above 65535", forged({ ...good, port: 70000 })],
    ["a context of 0", forged({ ...good, contextWindow: 0 })],
    ["an input kind pi does not know", forged({ ...good, input: ["text", "audio"] })],
    ["no files", forged({ ...good, files: [] })],
    ["an estimate that is not one", forged({ ...good, estimate: { totalBytes: "a lot" } })],
    ["an estimate above MAX_SAFE_INTEGER", forged({ ...good, memoryBytes: 2 ** 60 })],
    ["an id of 300 characters", forged({ ...good, id: "x".repeat(300) })],
    ["a second model with the same id", lastFoundText(key, [other, other])],
  ];
  for (const [name, text] of cases) {
    writeFileSync(path, text);
    expect(readLastFound(path, key, realFileSystem), name).toEqual([other]);
  }
  // The C1 control and the override written as escapes, as a hostile file may.
  writeFileSync(path, lastFoundText(key, [good, other]).replace(good.name, `${good.name}\\u009b2J`));
  expect(readLastFound(path, key, realFileSystem)).toEqual([other]);
  writeFileSync(path, lastFoundText(key, [good, other]).replace('"id":"other"', '"id":"oth\\u202Eer"'));
  expect(readLastFound(path, key, realFileSystem)).toEqual([good]);
  // A path with a backslash before "n" looks like an escape in the text: checked string by string, and kept.
  const windowsLike = { ...other, files: ["/m/back\\new.gguf"] };
  writeFileSync(path, lastFoundText(key, [windowsLike]));
  expect(readLastFound(path, key, realFileSystem)).toEqual([windowsLike]);

  for (const [name, text] of [
    ["another version", JSON.stringify({ version: 2, key, models: [good] })],
    ["garbage", "{{{"],
    ["models not a list", JSON.stringify({ version: 1, key, models: {} })],
  ]) {
    writeFileSync(path, text!);
    expect(readLastFound(path, key, realFileSystem), name).toBeUndefined();
  }
  writeFileSync(path, lastFoundText(key, [good]));
  expect(readLastFound(path, `${key} `, realFileSystem)).toBeUndefined();
  rmSync(path);
  writeFileSync(join(home, "elsewhere.json"), lastFoundText(key, [good]));
  symlinkSync(join(home, "elsewhere.json"), path);
  expect(readLastFound(path, key, realFileSystem)).toBeUndefined();
});

test("what discovery finds in hostile headers (a context of 0, absurd shapes) is kept and read back whole: no model is lost on every start", () => {
  writeGguf(join(models, "zero.gguf"), modelSpec({ contextLength: 0 }));
  writeGguf(
    join(models, "absurd.gguf"),
    modelSpec({ contextLength: 2 ** 25, embeddingLength: 2 ** 20, headCount: 1, headCountKv: 2 ** 16, blockCount: 2 ** 16 }),
  );
  const config = configOf();
  const outcome = run(config);
  expect(outcome.models.map((model) => [model.id, model.contextWindow, model.maxTokens])).toEqual([
    ["absurd", 32768, 8192],
    ["zero", 32768, 8192],
  ]);
  for (const model of outcome.models)
    expect(model.args.slice(model.args.indexOf("-c"), model.args.indexOf("-c") + 2)).toEqual(["-c", "32768"]);
  expect(outcome.models[0]!.memoryBytes).toBe(Number.MAX_SAFE_INTEGER);
  expect(lastFoundModels(config, env, { lastFound: defaultLastFoundPath(home), logPathFor })).toEqual(outcome.models);
});

test("a rescan reads every header again; the local models' list is replaced, and a model no longer found is still known by id", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  const config = configOf();
  const list = localModels([]);
  expect(list.replaceDiscovered(run(config).models)).toBe(true);
  expect(list.replaceDiscovered(run(config).models)).toBe(false);
  rmSync(join(models, "tiny-a.gguf"));
  writeGguf(join(models, "tiny-b.gguf"), tinyModelSpec("tiny-b"));
  expect(list.replaceDiscovered(run(config, true).models)).toBe(true);
  expect(list.all().map((model) => model.id)).toEqual(["tiny-b"]);
  // Its server may still run: the supervisor can still find it.
  expect(list.get("tiny-a")?.id).toBe("tiny-a");
});

test("declared models come first, then the discovered ones", () => {
  writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  const config = configOf({ baseUrl: "http://x/v1", models: [{ id: "mine", command: "/bin/true", port: 9000 }] });
  const list = localModels(config.models);
  list.replaceDiscovered(run(config).models);
  expect(list.all().map((model) => model.id)).toEqual(["mine", "tiny-a"]);
  expect(list.discovered().map((model) => model.id)).toEqual(["tiny-a"]);
});

test("a name from the file is made one terminal-safe line, so pi's /model cannot be made to run escape sequences", () => {
  writeGguf(join(models, "evil.gguf"), modelSpec({ name: "Evil\u001b]0;owned\u0007\nModel\u009b2J", fileType: 15 }));
  const config = configOf();
  const [found] = run(config).models;
  expect(found!.name).toMatch(/^Evil Model · Q4_K_M · \d+ KiB$/);
  // So the next start can use what was kept.
  expect(lastFoundModels(config, env, { lastFound: defaultLastFoundPath(home), logPathFor })).toEqual([found]);
});

test("a llamafile runs itself; toLocalModel keeps what a found model says", () => {
  const found: FoundModel = {
    id: "mistral",
    name: "Mistral · Q4_K_M · 4.1 GiB",
    kind: "llamafile",
    command: "/m/mistral.llamafile",
    args: ["--server", "--nobrowser", "--alias", "mistral", "--host", "127.0.0.1", "--port", "14300", "-c", "8192"],
    port: 14300,
    contextWindow: 8192,
    trainedContext: undefined,
    input: ["text"],
    memoryBytes: 5e9,
    estimate: { weightBytes: 4.4e9, kvCacheBytes: undefined, marginBytes: 4.4e8, totalBytes: 5e9 },
    files: ["/m/mistral.llamafile"],
    projector: undefined,
    bytes: 4.4e9,
  };
  const settings = { promptCacheBudgetBytes: 2 ** 30, modelCacheDefaults: { promptCache: true, idleMs: 600_000 } };
  const local = toLocalModel(found, logPathFor, settings);
  expect(local).toMatchObject({ command: "/m/mistral.llamafile", cwd: "/m", memoryBytes: 5e9, idleMs: 600_000 });
  // A llamafile may refuse --slot-save-path: pi adds it to llama-server only.
  expect(local.promptCache).toBeUndefined();
});

test("a discovered llama-server model keeps a prompt cache and stops when idle, as the provider says", () => {
  const found: FoundModel = {
    id: "tiny",
    name: "Tiny · Q8_0 · 1 MiB",
    kind: "gguf",
    command: "/opt/llama.cpp/build/bin/llama-server",
    args: ["-m", "/m/tiny.gguf", "--alias", "tiny", "--host", "127.0.0.1", "--port", "14301", "-c", "4096"],
    port: 14301,
    contextWindow: 4096,
    trainedContext: 4096,
    input: ["text"],
    memoryBytes: 7e7,
    estimate: { weightBytes: 1e6, kvCacheBytes: 4e6, marginBytes: 6.5e7, totalBytes: 7e7 },
    files: ["/m/tiny.gguf"],
    projector: undefined,
    bytes: 1e6,
  };
  const on = toLocalModel(found, logPathFor, { promptCacheBudgetBytes: 2 ** 30, modelCacheDefaults: { promptCache: true, idleMs: 0 } });
  expect(on.promptCache).toEqual({ dir: join(process.env.HOME!, ".pi", "llamafile_cache", "tiny"), via: "append", budgetBytes: 2 ** 30 });
  expect(on.idleMs).toBeUndefined();
  const off = toLocalModel(found, logPathFor, {
    promptCacheBudgetBytes: 2 ** 30,
    modelCacheDefaults: { promptCache: false, idleMs: 90_000 },
  });
  expect(off.promptCache).toBeUndefined();
  expect(off.idleMs).toBe(90_000);
});

test("a model found later never takes the port of a model found before (its server may be running), in this pi or the next", () => {
  // Two ids whose preferred ports are one: b is there first, a sorts before it.
  const [a, b] = collidingIds("m-");
  writeGguf(join(models, `${b}.gguf`), tinyModelSpec(b));
  const config = configOf();
  const first = run(config);
  expect(first.models.map((model) => [model.id, model.port])).toEqual([[b, preferredPort(b)]]);
  writeGguf(join(models, `${a}.gguf`), tinyModelSpec(a));
  const ports = Object.fromEntries(run(config).models.map((model) => [model.id, model.port]));
  expect(ports[b]).toBe(preferredPort(b));
  expect(ports[a]).not.toBe(preferredPort(b));
  // The next start reads the kept result: the same ports again, and the same from a rescan.
  expect(Object.fromEntries(run(config, true).models.map((model) => [model.id, model.port]))).toEqual(ports);
  expect(
    Object.fromEntries(lastFoundModels(config, env, { lastFound: defaultLastFoundPath(home), logPathFor })!.map((m) => [m.id, m.port])),
  ).toEqual(ports);
  // A changed setting (another key for the kept result) moves nothing either.
  const changed = configOf({ api: "openai-completions", baseUrl: "http://localhost:8080/v1", serverArgs: ["-ngl", "99"] });
  expect(Object.fromEntries(run(changed).models.map((model) => [model.id, model.port]))).toEqual(ports);
});
