// discoverModels end to end on temp folders written with tests/helpers/gguf-writer.ts: what a
// model becomes (command, arguments, port, context, estimate, name), the default folders, the
// user's arguments, a missing llama-server, and the header cache (warm starts, hostile content).
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, expect, test } from "vitest";
import { FETCH_BAD_PORTS } from "../../src/llamafiles/config.ts";
import { type DiscoveryOptions, discoverModels, rescanModels } from "../../src/llamafiles/discovery/discover.ts";
import { defaultCachePath } from "../../src/llamafiles/discovery/discovery-cache.ts";
import { type FileSystem, realFileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import { MARGIN } from "../../src/llamafiles/discovery/memory-estimate.ts";
import { defaultModelDirs } from "../../src/llamafiles/discovery/model-dirs.ts";
import { preferredPort } from "../../src/llamafiles/discovery/ports.ts";
import { countingFileSystem, QWEN, QWEN_BYTES } from "../helpers/discovery-fixtures.ts";
import { modelSpec, projectorSpec, tinyModelSpec, writeGguf } from "../helpers/gguf-writer.ts";

const temp = mkdtempSync(join(tmpdir(), "discovery-models-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let home: string;
let models: string;
let server: string;
let n = 0;
beforeEach(() => {
  home = join(temp, `home-${n++}`);
  models = join(home, "models");
  mkdirSync(models, { recursive: true });
  server = join(home, "bin", "llama-server");
  mkdirSync(join(home, "bin"));
  writeFileSync(server, "#!/bin/sh\n");
  chmodSync(server, 0o755);
});

const options = (over: Partial<DiscoveryOptions> = {}): DiscoveryOptions => ({
  reservedPorts: [],
  blockedPorts: FETCH_BAD_PORTS,
  env: { HOME: home, PATH: join(home, "bin") },
  ...over,
});

test("a GGUF model becomes a complete local model: name, command line, port, context, estimate", () => {
  const path = join(models, "Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf");
  writeGguf(path, QWEN, { size: QWEN_BYTES });
  const result = discoverModels(options());
  expect(result.scanned).toEqual([models]);
  expect(result.skipped).toEqual([]);
  expect(result.problems).toEqual([]);
  const kv = 28 * 4 * 512 * 32768;
  const margin = Math.ceil((QWEN_BYTES + kv) * 0.1);
  const port = preferredPort("qwen2.5-coder-7b-instruct-q4_k_m");
  expect(result.models).toEqual([
    {
      id: "qwen2.5-coder-7b-instruct-q4_k_m",
      name: "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB",
      kind: "gguf",
      command: server,
      args: [
        "-m",
        path,
        "--alias",
        "qwen2.5-coder-7b-instruct-q4_k_m",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "-c",
        "32768",
        "--jinja",
      ],
      port,
      contextWindow: 32768,
      trainedContext: 32768,
      input: ["text"],
      memoryBytes: QWEN_BYTES + kv + margin,
      estimate: {
        weightBytes: QWEN_BYTES,
        kvCacheBytes: kv,
        marginBytes: margin,
        totalBytes: QWEN_BYTES + kv + margin,
      },
      files: [path],
      projector: undefined,
      bytes: QWEN_BYTES,
      facts: expect.objectContaining({ architecture: "llama", quantization: "Q4_K_M", hasChatTemplate: true }),
    },
  ]);
});

test("tiny-a's equivalent: trained 8192 caps the context; the estimate is the file, 4 MiB of KV cache and the 64 MiB floor", () => {
  const size = writeGguf(join(models, "tiny-a.gguf"), tinyModelSpec());
  const [model] = discoverModels(options()).models;
  expect(model).toMatchObject({ id: "tiny-a", name: `tiny-a · F32 · ${Math.round(size / 1024)} KiB`, contextWindow: 8192 });
  expect(model!.estimate).toEqual({
    weightBytes: size,
    kvCacheBytes: 512 * 8192,
    marginBytes: MARGIN.minimumBytes,
    totalBytes: size + 512 * 8192 + MARGIN.minimumBytes,
  });
});

test("a split model and a vision model with its projector, as they come from Hugging Face", () => {
  const split = join(models, "Big-Model-Q4_K_M");
  mkdirSync(split);
  const shard = (no: number) => join(split, `Big-Model-Q4_K_M-0000${no}-of-00003.gguf`);
  writeGguf(shard(1), modelSpec({ name: "Big Model", fileType: 15, split: { no: 0, count: 3 } }), { size: 5 * 2 ** 30 });
  writeGguf(shard(2), { metadata: [], tensors: [] }, { size: 5 * 2 ** 30 });
  writeGguf(shard(3), { metadata: [], tensors: [] }, { size: 2 * 2 ** 30 });
  const vision = join(models, "gemma-3-4b-it");
  mkdirSync(vision);
  writeGguf(
    join(vision, "gemma-3-4b-it-Q4_K_M.gguf"),
    modelSpec({ architecture: "gemma3", embeddingLength: 2560, headCount: 8, fileType: 15, chatTemplate: "t" }),
    {
      size: 2_489_757_856,
    },
  );
  writeGguf(join(vision, "mmproj-model-f16.gguf"), projectorSpec({ projectionDim: 2560 }), { size: 851_251_104 });
  const result = discoverModels(options());
  const byId = Object.fromEntries(result.models.map((m) => [m.id, m]));
  expect(byId["big-model-q4_k_m"]).toMatchObject({
    name: "Big Model · Q4_K_M · 12 GiB",
    files: [shard(1), shard(2), shard(3)],
    bytes: 12 * 2 ** 30,
    input: ["text"],
  });
  expect(byId["big-model-q4_k_m"]!.args.slice(0, 2)).toEqual(["-m", shard(1)]);
  const gemma = byId["gemma-3-4b-it-q4_k_m"]!;
  expect(gemma.input).toEqual(["text", "image"]);
  expect(gemma.args).toContain("--mmproj");
  expect(gemma.args[gemma.args.indexOf("--mmproj") + 1]).toBe(join(vision, "mmproj-model-f16.gguf"));
  expect(gemma.estimate.weightBytes).toBe(2_489_757_856 + 851_251_104);
  expect(result.skipped.map((s) => s.reason.code).sort()).toEqual(["later-shard", "later-shard", "projector"]);
});

test("a llamafile is its own command, in server mode on its port", () => {
  const path = join(models, "llava-v1.5-7b-q4.llamafile");
  writeFileSync(path, "MZqFpD='\n");
  chmodSync(path, 0o755);
  const [model] = discoverModels(options({ env: { HOME: home, PATH: "" } })).models;
  expect(model).toMatchObject({ id: "llava-v1.5-7b-q4", kind: "llamafile", command: path, contextWindow: 32768, facts: undefined });
  expect(model!.args).toEqual([
    "--server",
    "--nobrowser",
    "--alias",
    "llava-v1.5-7b-q4",
    "--host",
    "127.0.0.1",
    "--port",
    String(model!.port),
    "-c",
    "32768",
  ]);
});

test("no llama-server: GGUF models are skipped with the reason, llamafiles still offered, the problem said once", () => {
  writeGguf(join(models, "a.gguf"), tinyModelSpec());
  writeGguf(join(models, "b.gguf"), tinyModelSpec());
  const result = discoverModels(options({ env: { HOME: home, PATH: "/nonexistent" } }));
  expect(result.models).toEqual([]);
  expect(result.skipped.map((s) => s.reason)).toEqual([{ code: "no-llama-server" }, { code: "no-llama-server" }]);
  expect(result.problems).toEqual([{ code: "llama-server-not-found", name: "llama-server", searched: ["/nonexistent"] }]);
  expect(discoverModels(options({ llamaServer: "/opt/none/llama-server" })).problems).toEqual([
    { code: "llama-server-unusable", path: "/opt/none/llama-server", errno: "ENOENT" },
  ]);
});

test("the user's arguments: for every model, then per model; -c and the cache type change the context and the estimate", () => {
  writeGguf(join(models, "qwen.gguf"), QWEN, { size: QWEN_BYTES });
  writeGguf(join(models, "tiny.gguf"), tinyModelSpec());
  const result = discoverModels(
    options({ serverArgs: ["-ngl", "99"], modelServerArgs: { qwen: ["-c", "8192", "-ctk", "q8_0", "-ctv", "q8_0"] } }),
  );
  const qwen = result.models.find((m) => m.id === "qwen")!;
  expect(qwen.args.slice(-9)).toEqual(["--jinja", "-ngl", "99", "-c", "8192", "-ctk", "q8_0", "-ctv", "q8_0"]);
  expect(qwen.args.filter((a) => a === "-c")).toHaveLength(1);
  expect(qwen.contextWindow).toBe(8192);
  expect(qwen.estimate.kvCacheBytes).toBe(28 * 4 * 256 * (34 / 32) * 8192);
  expect(result.models.find((m) => m.id === "tiny")!.args.slice(-2)).toEqual(["-ngl", "99"]);
});

test("serverArgs checkServerArgs refuses: left out with a problem naming whose they are, as any bad setting; the models are still offered", () => {
  writeGguf(join(models, "a.gguf"), tinyModelSpec());
  writeGguf(join(models, "b.gguf"), tinyModelSpec());
  const perModel = discoverModels(options({ serverArgs: ["-ngl", "99"], modelServerArgs: { a: ["--port", "1"], b: ["-t", "4"] } }));
  expect(perModel.models.map((m) => [m.id, m.args.slice(-4)])).toEqual([
    ["a", ["8192", "--jinja", "-ngl", "99"]],
    ["b", ["-ngl", "99", "-t", "4"]],
  ]);
  expect(perModel.problems).toEqual([
    { code: "bad-server-args", model: "a", problem: { code: "reserved-flag", index: 0, flag: "--port", reservedFor: "address" } },
  ]);
  const global = discoverModels(options({ serverArgs: ["ok", "bad\u0007"], modelServerArgs: { b: ["-t", "4"] } }));
  expect(global.models.map((m) => [m.id, m.args.slice(-3)])).toEqual([
    ["a", ["-c", "8192", "--jinja"]],
    ["b", ["--jinja", "-t", "4"]],
  ]);
  expect(global.problems).toEqual([{ code: "bad-server-args", model: undefined, problem: { code: "control-character", index: 1 } }]);
  expect(global.skipped).toEqual([]);
});

test("a memory budget cuts the context so the estimate fits; explicit models' ports are left alone", () => {
  writeGguf(join(models, "qwen.gguf"), QWEN, { size: QWEN_BYTES });
  const taken = preferredPort("qwen");
  const [model] = discoverModels(options({ memoryBudgetBytes: 6 * 2 ** 30, reservedPorts: [taken] })).models;
  expect(model!.contextWindow).toBe(20224);
  expect(model!.memoryBytes).toBeLessThanOrEqual(6 * 2 ** 30);
  expect(model!.port).toBe(taken + 1);
});

test("default folders: ~/models and llama.cpp's cache ($LLAMA_CACHE, else ~/.cache/llama.cpp), those that exist", () => {
  expect(defaultModelDirs({ HOME: home })).toEqual([models]);
  mkdirSync(join(home, ".cache", "llama.cpp"), { recursive: true });
  expect(defaultModelDirs({ HOME: home })).toEqual([models, join(home, ".cache", "llama.cpp")]);
  mkdirSync(join(home, "elsewhere"));
  expect(defaultModelDirs({ HOME: home, LLAMA_CACHE: join(home, "elsewhere") })).toEqual([models, join(home, "elsewhere")]);
  rmSync(models, { recursive: true });
  expect(defaultModelDirs({ HOME: home, LLAMA_CACHE: join(home, "none") })).toEqual([]);
});

// ——— the cache ———

/** The model files a discovery opened (the cache file is opened too: not counted). */
const modelFilesOpened = (io: ReturnType<typeof countingFileSystem>) => io.opened.filter((path) => path.endsWith(".gguf"));

test("the cache: written 0600 in a 0700 folder; a warm start opens no model file; a changed file is read again; a rescan reads all", () => {
  writeGguf(join(models, "a.gguf"), tinyModelSpec("a"));
  writeGguf(join(models, "b.gguf"), tinyModelSpec("b"));
  const cold = countingFileSystem();
  const first = discoverModels(options({ fs: cold.fs }));
  expect(modelFilesOpened(cold)).toHaveLength(2);
  const cachePath = defaultCachePath(home);
  expect(cachePath).toBe(join(home, ".pi", "llamafile_cache", "discovery.json"));
  expect(statSync(cachePath).mode & 0o777).toBe(0o600);
  expect(statSync(join(home, ".pi", "llamafile_cache")).mode & 0o777).toBe(0o700);

  const warm = countingFileSystem();
  expect(discoverModels(options({ fs: warm.fs }))).toEqual(first);
  expect(modelFilesOpened(warm)).toEqual([]);

  utimesSync(join(models, "b.gguf"), new Date(), new Date(Date.now() + 5000));
  const changed = countingFileSystem();
  discoverModels(options({ fs: changed.fs }));
  expect(modelFilesOpened(changed)).toEqual([join(models, "b.gguf")]);

  const rescan = countingFileSystem();
  expect(rescanModels(options({ fs: rescan.fs })).models).toEqual(first.models);
  expect(modelFilesOpened(rescan)).toHaveLength(2);
});

test("the cache keeps what a file is not, but not a passing failure (a permission, a read error)", () => {
  writeFileSync(join(models, "junk.gguf"), "not gguf");
  discoverModels(options());
  const entries = JSON.parse(readFileSync(defaultCachePath(home), "utf8")).entries;
  expect(entries[join(models, "junk.gguf")].header).toEqual({ ok: false, problem: { code: "not-gguf" } });
  const denied: FileSystem = {
    ...realFileSystem,
    openSync: ((path: string, ...rest: unknown[]) => {
      if (path.endsWith("locked.gguf")) throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      return (realFileSystem.openSync as (...a: unknown[]) => number)(path, ...rest);
    }) as FileSystem["openSync"],
  };
  writeGguf(join(models, "locked.gguf"), tinyModelSpec());
  discoverModels(options({ fs: denied }));
  expect(Object.keys(JSON.parse(readFileSync(defaultCachePath(home), "utf8")).entries)).toEqual([join(models, "junk.gguf")]);
});

test("a hostile cache: garbage, another version, forged entries, a link in its place; never trusted, never written through", () => {
  writeGguf(join(models, "a.gguf"), tinyModelSpec("a"));
  const cachePath = defaultCachePath(home);
  mkdirSync(join(home, ".pi", "llamafile_cache"), { recursive: true });
  const stat = statSync(join(models, "a.gguf"));
  const key = join(models, "a.gguf");
  const entry = { bytes: stat.size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino };
  const forged = (header: unknown) => JSON.stringify({ version: 1, entries: { [key]: { ...entry, header } } });
  const cases: Array<[string, string, string | undefined]> = [
    ["garbage", "\u0000\u0001{{{", "not-json"],
    ["another version", JSON.stringify({ version: 99, entries: {} }), "wrong-version"],
    ["entries not an object", JSON.stringify({ version: 1, entries: [] }), "wrong-version"],
    ["a forged name of 10 KB", forged({ ok: true, facts: { name: "x".repeat(10_000) } }), undefined],
    ["a forged problem code", forged({ ok: false, problem: { code: "rm -rf /" } }), undefined],
    ["a forged problem with an object inside", forged({ ok: false, problem: { code: "not-gguf", extra: { deep: 1 } } }), undefined],
  ];
  for (const [name, content, why] of cases) {
    writeFileSync(cachePath, content);
    const probe = countingFileSystem();
    const result = discoverModels(options({ fs: probe.fs }));
    expect(
      result.models.map((m) => m.name),
      name,
    ).toEqual(["a · F32 · 462 KiB".replace("462", String(Math.round(stat.size / 1024)))]);
    expect(modelFilesOpened(probe), name).toEqual([key]);
    expect(result.problems, name).toEqual(why ? [{ code: "cache-ignored", path: cachePath, why }] : []);
  }
  // A link in the cache's place: not read through, and replaced by a file (the target untouched).
  const target = join(home, "precious.txt");
  writeFileSync(target, "keep me");
  rmSync(cachePath);
  symlinkSync(target, cachePath);
  const result = discoverModels(options());
  expect(result.problems).toEqual([{ code: "cache-ignored", path: cachePath, why: "not-a-file" }]);
  expect(readFileSync(target, "utf8")).toBe("keep me");
  expect(lstatSync(cachePath).isFile()).toBe(true);
  // A link in the cache folder's place: nothing written there.
  rmSync(join(home, ".pi", "llamafile_cache"), { recursive: true });
  mkdirSync(join(home, "decoy"));
  symlinkSync(join(home, "decoy"), join(home, ".pi", "llamafile_cache"));
  expect(discoverModels(options()).problems).toEqual([{ code: "cache-unwritable", path: cachePath, errno: "ENOTDIR" }]);
});

test("a cache that is too large or not a file is ignored without being parsed", () => {
  writeGguf(join(models, "a.gguf"), tinyModelSpec("a"));
  const cachePath = defaultCachePath(home);
  mkdirSync(cachePath, { recursive: true });
  expect(discoverModels(options()).problems[0]).toEqual({ code: "cache-ignored", path: cachePath, why: "not-a-file" });
  rmSync(cachePath, { recursive: true });
  const big = Buffer.alloc(33 * 2 ** 20, 32);
  writeFileSync(cachePath, big);
  expect(discoverModels(options()).problems[0]).toEqual({ code: "cache-ignored", path: cachePath, why: "too-large" });
});

// ——— hostile shapes: the header is a claim ———

test("a block count of 2^50 (per model or per layer) is unknown: the scan returns, the model is offered without a KV cache estimate", () => {
  writeGguf(join(models, "deep.gguf"), modelSpec({ blockCount: 2 ** 50 }));
  writeGguf(join(models, "deep-layers.gguf"), modelSpec({ blockCount: 2 ** 50, headCountKv: [8, 8, 4] }));
  writeGguf(join(models, "wide.gguf"), modelSpec({ embeddingLength: 2 ** 40, headCount: 2 ** 33, headCountKv: 2 ** 40 }));
  const result = discoverModels(options());
  expect(result.models.map((m) => m.id)).toEqual(["deep-layers", "deep", "wide"]);
  for (const model of result.models) {
    expect(model.facts, model.id).toMatchObject({ architecture: "llama", trainedContext: 8192 });
    expect(model.estimate.kvCacheBytes, model.id).toBeUndefined();
    expect(model.contextWindow, model.id).toBe(8192);
  }
  expect(result.models[1]!.facts?.blockCount).toBeUndefined();
  expect(result.models[2]!.facts).toMatchObject({ embeddingLength: undefined, headCount: undefined, headCountKv: undefined });
});

test("a header cache whose facts claim 2^50 blocks (forged, or kept by an older version) is not computed with: the file is read again", () => {
  const path = join(models, "a.gguf");
  writeGguf(path, tinyModelSpec("a"));
  const first = discoverModels(options());
  const cachePath = defaultCachePath(home);
  const cache = JSON.parse(readFileSync(cachePath, "utf8"));
  cache.entries[path].header.facts.blockCount = 2 ** 50;
  writeFileSync(cachePath, JSON.stringify(cache));
  const probe = countingFileSystem();
  expect(discoverModels(options({ fs: probe.fs })).models).toEqual(first.models);
  expect(modelFilesOpened(probe)).toEqual([path]);
});
