// The pure rules of a discovered model's launch: ids and names, ports, the memory estimate and
// the context, the command line and the user's arguments, configured models winning; and the
// llama-server lookup on PATH (a temp folder).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FETCH_BAD_PORTS } from "../../src/llamafiles/config.ts";
import type { DiscoveredModel } from "../../src/llamafiles/discovery/discover.ts";
import { realFileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import { FACT_BOUNDS } from "../../src/llamafiles/discovery/gguf-facts.ts";
import { checkServerArgs, llamafileArgs, llamaServerArgs, userChoices } from "../../src/llamafiles/discovery/launch-args.ts";
import { chooseContext, estimateMemory, kvBytesPerToken, MARGIN } from "../../src/llamafiles/discovery/memory-estimate.ts";
import { filesNamedBy, withoutConfigured } from "../../src/llamafiles/discovery/merge.ts";
import { assignIds, displayName, formatBytes, slugOf } from "../../src/llamafiles/discovery/model-identity.ts";
import { assignPorts, DISCOVERY_PORTS, preferredPort } from "../../src/llamafiles/discovery/ports.ts";
import { findLlamaServer } from "../../src/llamafiles/discovery/server-command.ts";
import { skipReasonText } from "../../src/llamafiles/messages.ts";
import { collidingIds, QWEN_BYTES, QWEN_FACTS } from "../helpers/discovery-fixtures.ts";

test("ids: the file name's slug, readable and lower-case", () => {
  expect(slugOf("Qwen2.5-Coder-7B-Instruct-Q4_K_M")).toBe("qwen2.5-coder-7b-instruct-q4_k_m");
  expect(slugOf("My Model (final) v2")).toBe("my-model-final-v2");
  expect(slugOf("Ünïcode—Model")).toBe("n-code-model");
  expect(assignIds([{ stem: "!!!", path: "/m/!!!.gguf" }])).toEqual(["model"]);
});

test("ids: the same name in two folders: the first keeps the plain id, the other gets a short hash of its path, stable across runs", () => {
  const models = [
    { stem: "Llama-3-8B", path: "/a/Llama-3-8B.gguf" },
    { stem: "llama-3-8b", path: "/b/llama-3-8b.gguf" },
    { stem: "Llama-3-8B", path: "/c/Llama-3-8B.gguf" },
  ];
  const ids = assignIds(models);
  expect(ids[0]).toBe("llama-3-8b");
  expect(ids[1]).toMatch(/^llama-3-8b-[0-9a-f]{6}$/);
  expect(ids[2]).toMatch(/^llama-3-8b-[0-9a-f]{6}$/);
  expect(new Set(ids).size).toBe(3);
  expect(assignIds(models)).toEqual(ids);
  // The hash is of the path: another model appearing in between changes nothing.
  expect(assignIds([models[0]!, { stem: "other", path: "/x/other.gguf" }, models[1]!])[2]).toBe(ids[1]);
});

test("display names: the model's name, its quantisation, its size", () => {
  expect(displayName({ name: "Qwen2.5 Coder 7B Instruct", stem: "x", quantization: "Q4_K_M", bytes: QWEN_BYTES })).toBe(
    "Qwen2.5 Coder 7B Instruct · Q4_K_M · 4.4 GiB",
  );
  expect(displayName({ name: undefined, stem: "tiny-a", quantization: "F32", bytes: 473_472 })).toBe("tiny-a · F32 · 462 KiB");
  expect(displayName({ name: undefined, stem: "m", quantization: undefined, bytes: 40 * 2 ** 30 })).toBe("m · 40 GiB");
  // A name read from a file reaches pi's /model unfiltered: C1 controls and bidirectional overrides too are made "?".
  expect(displayName({ name: "a\u202eb\u0085c\u2066d", stem: "x", quantization: undefined, bytes: 1024 })).toBe("a?b?c?d · 1 KiB");
  expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(12.4 * 2 ** 20)]).toEqual([
    "0 B",
    "1023 B",
    "1.5 KiB",
    "12 MiB",
  ]);
});

test("ports: from the id's hash, in the documented range, the same on every run", () => {
  const ports = assignPorts(["qwen", "gemma", "tiny-a"], [], FETCH_BAD_PORTS);
  for (const [id, port] of ports) {
    expect(port).toBe(preferredPort(id));
    expect(port).toBeGreaterThanOrEqual(DISCOVERY_PORTS.first);
    expect(port).toBeLessThanOrEqual(DISCOVERY_PORTS.last);
  }
  expect(DISCOVERY_PORTS.last).toBeLessThan(32768);
  expect(assignPorts(["tiny-a", "gemma", "qwen"], [], FETCH_BAD_PORTS)).toEqual(ports);
});

test("ports: the range the words, the schema and the docs give is DISCOVERY_PORTS", () => {
  const range = `${DISCOVERY_PORTS.first}-${DISCOVERY_PORTS.last}`;
  expect(skipReasonText({ code: "no-port", range: DISCOVERY_PORTS }, "/home/me")).toBe(`no free port left in ${range}`);
  // JSON has no way to build a text from a constant: the schema's description is checked against it.
  const schema = readFileSync(new URL("../../src/llamafiles/models-json.schema.json", import.meta.url), "utf8");
  const docs = ["README.md", "docs/discovery.md"].map((path) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")).join("\n");
  // A stale range (the one before a change of DISCOVERY_PORTS) is found by its first digits.
  expect(schema.match(/1\d{4}-\d{5}/g)).toEqual([range]);
  // The one other range the docs name: the real-server suite's ports (README, "Tests").
  const others = new Set(["18901-18907"]);
  expect(new Set(docs.match(/1\d{4}-\d{5}/g)?.filter((found) => !others.has(found)))).toEqual(new Set([range]));
});

test("ports: a collision moves the later id (by name) to the next free port, the same way every time", () => {
  const [a, b] = collidingIds("model-");
  const ports = assignPorts([b, a], [], FETCH_BAD_PORTS);
  expect(ports.get(a)).toBe(preferredPort(a));
  expect(ports.get(b)).toBe(preferredPort(a) === DISCOVERY_PORTS.last ? DISCOVERY_PORTS.first : preferredPort(a) + 1);
  expect(assignPorts([a, b], [], FETCH_BAD_PORTS)).toEqual(ports);
});

test("ports: a model keeps the port it had when a model found later would take it (its server may be running)", () => {
  // b was found alone and got a's preferred port; a, found later, sorts first and would take it.
  const [a, b] = collidingIds("found-");
  const alone = assignPorts([b], [], FETCH_BAD_PORTS);
  expect(alone.get(b)).toBe(preferredPort(b));
  const later = assignPorts([a, b], [], FETCH_BAD_PORTS, alone as Map<string, number>);
  expect(later.get(b)).toBe(preferredPort(b));
  expect(later.get(a)).not.toBe(preferredPort(b));
  expect(later.get(a)).toBeGreaterThanOrEqual(DISCOVERY_PORTS.first);
  // Without the earlier result, a takes the port and b moves: what the previous ports prevent.
  expect(assignPorts([a, b], [], FETCH_BAD_PORTS).get(b)).not.toBe(preferredPort(b));
});

test("ports: a previous port is given up when it is now an explicit model's, refused, outside the range or another's", () => {
  const previous = new Map([
    ["declared-now", 14300],
    ["refused", 14301],
    ["outside", 8080],
    ["first", 14302],
    ["second", 14302],
  ]);
  const ports = assignPorts(["declared-now", "refused", "outside", "first", "second"], [14300], new Set([14301]), previous);
  expect(ports.get("declared-now")).not.toBe(14300);
  expect(ports.get("refused")).not.toBe(14301);
  expect(ports.get("outside")).not.toBe(8080);
  expect(ports.get("first")).toBe(14302);
  expect(ports.get("second")).not.toBe(14302);
  expect(new Set(ports.values()).size).toBe(5);
});

test("ports: never an explicit model's port or a port fetch refuses; undefined when the range is full", () => {
  const id = "qwen";
  const wanted = preferredPort(id);
  expect(assignPorts([id], [wanted], FETCH_BAD_PORTS).get(id)).toBe(wanted + 1);
  expect(assignPorts([id], [], new Set([wanted, wanted + 1])).get(id)).toBe(wanted + 2);
  const all = Array.from({ length: DISCOVERY_PORTS.last - DISCOVERY_PORTS.first + 1 }, (_, i) => DISCOVERY_PORTS.first + i);
  expect(assignPorts([id], all, FETCH_BAD_PORTS).get(id)).toBeUndefined();
});

test("KV cache per token: layers × KV heads × (key + value length) × bytes of the cache type", () => {
  // Qwen2.5-7B: 28 layers, 4 KV heads, head size 3584 / 28 = 128.
  expect(kvBytesPerToken(QWEN_FACTS)).toBe(28 * 4 * (128 * 2 + 128 * 2));
  expect(kvBytesPerToken(QWEN_FACTS, { k: "q8_0", v: "q8_0" })).toBe(28 * 4 * (128 + 128) * (34 / 32));
  expect(kvBytesPerToken(QWEN_FACTS, { k: "q4_0", v: "f16" })).toBe(28 * 4 * (128 * (18 / 32) + 128 * 2));
  // Per-layer KV heads, explicit key/value lengths.
  expect(kvBytesPerToken({ ...QWEN_FACTS, blockCount: 4, headCountKv: [8, 8, 0, 4], keyLength: 128, valueLength: 96 })).toBe(
    20 * (128 * 2 + 96 * 2),
  );
  // tiny-a: 2 layers × 4 heads × (16 + 16) × 2 bytes.
  expect(kvBytesPerToken({ ...QWEN_FACTS, blockCount: 2, embeddingLength: 64, headCount: 4, headCountKv: 4 })).toBe(512);
  expect(kvBytesPerToken({ ...QWEN_FACTS, headCountKv: undefined })).toBeUndefined();
  expect(kvBytesPerToken({ ...QWEN_FACTS, headCount: undefined })).toBeUndefined();
  expect(kvBytesPerToken(QWEN_FACTS, { k: "q9_9", v: "f16" })).toBeUndefined();
});

test("KV cache per token at the facts' bounds: no loop over the layers, and an estimate that stays a whole number", () => {
  const widest = FACT_BOUNDS.headLength.max;
  const largest = {
    ...QWEN_FACTS,
    blockCount: FACT_BOUNDS.blockCount.max,
    headCountKv: FACT_BOUNDS.headCountKv.max,
    keyLength: widest,
    valueLength: widest,
  };
  const perToken = kvBytesPerToken(largest, { k: "f32", v: "f32" })!;
  expect(perToken).toBe(2 ** 16 * 2 ** 16 * (widest * 4 * 2));
  const estimate = estimateMemory(QWEN_BYTES, perToken * FACT_BOUNDS.trainedContext.max);
  expect(estimate).toMatchObject({ weightBytes: QWEN_BYTES, kvCacheBytes: Number.MAX_SAFE_INTEGER, totalBytes: Number.MAX_SAFE_INTEGER });
  expect(Number.isSafeInteger(estimate.marginBytes)).toBe(true);
  // Per-layer KV heads for fewer layers than the block count: the last one's for the rest.
  expect(kvBytesPerToken({ ...QWEN_FACTS, blockCount: FACT_BOUNDS.blockCount.max, headCountKv: [8, 4] })).toBe(
    (8 + 4 * (FACT_BOUNDS.blockCount.max - 1)) * 512,
  );
});

test("estimate: weights + KV cache + 10 % margin (at least 64 MiB)", () => {
  const kv = 57_344 * 32_768;
  expect(estimateMemory(QWEN_BYTES, kv)).toEqual({
    weightBytes: QWEN_BYTES,
    kvCacheBytes: kv,
    marginBytes: Math.ceil((QWEN_BYTES + kv) * 0.1),
    totalBytes: QWEN_BYTES + kv + Math.ceil((QWEN_BYTES + kv) * 0.1),
  });
  expect(estimateMemory(473_472, 4_194_304)).toEqual({
    weightBytes: 473_472,
    kvCacheBytes: 4_194_304,
    marginBytes: MARGIN.minimumBytes,
    totalBytes: 473_472 + 4_194_304 + MARGIN.minimumBytes,
  });
  expect(estimateMemory(1000, undefined).kvCacheBytes).toBeUndefined();
});

test("context: the default, capped by the trained context, and by the budget in steps of 256", () => {
  const base = { defaultContext: 32768, weightBytes: QWEN_BYTES, kvBytesPerToken: 57_344, budgetBytes: undefined };
  expect(chooseContext({ ...base, trainedContext: 131072 })).toBe(32768);
  expect(chooseContext({ ...base, trainedContext: 8192 })).toBe(8192);
  expect(chooseContext({ ...base, trainedContext: undefined })).toBe(32768);
  // 6 GiB: 1.1 × (weights + 57,344 × ctx) ≤ budget → ctx ≤ 20,467 → 20,224.
  const cut = chooseContext({ ...base, trainedContext: 131072, budgetBytes: 6 * 2 ** 30 });
  expect(cut).toBe(20224);
  expect(estimateMemory(QWEN_BYTES, 57_344 * cut).totalBytes).toBeLessThanOrEqual(6 * 2 ** 30);
  expect(estimateMemory(QWEN_BYTES, 57_344 * (cut + 256)).totalBytes).toBeGreaterThan(6 * 2 ** 30);
  // A budget the weights alone exceed: the floor (the fleet then refuses it by its estimate).
  expect(chooseContext({ ...base, trainedContext: 131072, budgetBytes: 4 * 2 ** 30 })).toBe(2048);
  expect(chooseContext({ ...base, trainedContext: 1024, budgetBytes: 1 })).toBe(1024);
});

test("llama-server's command line: model, alias, address, context, --jinja with a template, --mmproj, then the user's", () => {
  const launch = { id: "gemma", port: 14500, context: 32768, userArgs: ["-ngl", "99"] };
  expect(llamaServerArgs({ ...launch, modelFile: "/m/g-00001-of-00002.gguf", projector: "/m/mmproj.gguf", chatTemplate: true })).toEqual([
    "-m",
    "/m/g-00001-of-00002.gguf",
    "--alias",
    "gemma",
    "--host",
    "127.0.0.1",
    "--port",
    "14500",
    "-c",
    "32768",
    "--jinja",
    "--mmproj",
    "/m/mmproj.gguf",
    "-ngl",
    "99",
  ]);
  expect(llamaServerArgs({ ...launch, userArgs: [], modelFile: "/m/a.gguf", projector: undefined, chatTemplate: false })).toEqual([
    "-m",
    "/m/a.gguf",
    "--alias",
    "gemma",
    "--host",
    "127.0.0.1",
    "--port",
    "14500",
    "-c",
    "32768",
  ]);
  // The user's -c replaces discovery's.
  expect(
    llamaServerArgs({ ...launch, userArgs: ["--ctx-size=4096"], modelFile: "/m/a.gguf", projector: undefined, chatTemplate: false }),
  ).not.toContain("-c");
});

test("a llamafile's command line: --server --nobrowser, then the same address and context", () => {
  expect(llamafileArgs({ id: "llava", port: 14600, context: 4096, userArgs: ["-t", "8"] })).toEqual([
    "--server",
    "--nobrowser",
    "--alias",
    "llava",
    "--host",
    "127.0.0.1",
    "--port",
    "14600",
    "-c",
    "4096",
    "-t",
    "8",
  ]);
});

test("serverArgs: a list of strings without control characters that leaves --host and --port to pi", () => {
  expect(checkServerArgs(["-ngl", "99", "--ctx-size", "8192"])).toEqual({ ok: true, args: ["-ngl", "99", "--ctx-size", "8192"] });
  expect(checkServerArgs("-ngl 99")).toEqual({ ok: false, problem: { code: "not-a-list" } });
  expect(checkServerArgs(["-ngl", 99])).toEqual({ ok: false, problem: { code: "not-a-string", index: 1 } });
  expect(checkServerArgs(["--log-file", "a\nb"])).toEqual({ ok: false, problem: { code: "control-character", index: 1 } });
  expect(checkServerArgs(["x\u001b[31m"])).toEqual({ ok: false, problem: { code: "control-character", index: 0 } });
  const reserved = (flag: string, reservedFor: string, index = 0) => ({
    ok: false,
    problem: { code: "reserved-flag", index, flag, reservedFor },
  });
  expect(checkServerArgs(["--host", "0.0.0.0"])).toEqual(reserved("--host", "address"));
  expect(checkServerArgs(["--port=9000"])).toEqual(reserved("--port", "address"));
  // An alias of the user's would win (llama.cpp takes the last): the server would not advertise the discovered id.
  expect(checkServerArgs(["-ngl", "99", "--alias", "mine"])).toEqual(reserved("--alias", "id", 2));
  expect(checkServerArgs(["-a", "mine"])).toEqual(reserved("-a", "id"));
  // Another model or projector than the one discovered; llama.cpp reads "_" in a long flag as "-".
  for (const flag of ["-m", "--model", "-mu", "--model-url", "-hf", "-hfr", "--hf-repo", "-hff", "--hf-file", "-dr", "--docker-repo"])
    expect(checkServerArgs([flag, "x"]), flag).toEqual(reserved(flag, "model"));
  expect(checkServerArgs(["--hf_repo", "x"])).toEqual(reserved("--hf-repo", "model"));
  for (const flag of ["-mm", "--mmproj", "-mmu", "--mmproj-url"])
    expect(checkServerArgs([flag, "x"]), flag).toEqual(reserved(flag, "projector"));
  // Flags that only begin like one: llama.cpp's -md (a draft model) and --model-draft are the user's.
  expect(checkServerArgs(["-md", "d.gguf", "--model-draft", "d.gguf", "--alias-ish", "-ah"])).toMatchObject({ ok: true });
  expect(checkServerArgs(["-c", "lots"])).toEqual({ ok: false, problem: { code: "bad-context", index: 0 } });
  expect(checkServerArgs(["--hostname-ish"])).toMatchObject({ ok: true });
});

test("the user's arguments decide the context (0: trained) and the KV cache types the estimate uses", () => {
  expect(userChoices([])).toEqual({ context: undefined, cache: { k: "f16", v: "f16" } });
  expect(userChoices(["-c", "8192", "-ctk", "q8_0", "--cache-type-v=q4_0"])).toEqual({ context: 8192, cache: { k: "q8_0", v: "q4_0" } });
  expect(userChoices(["-c", "8192", "--ctx-size", "0"]).context).toBe(0);
});

const discovered = (id: string, file: string) => ({ id, files: [file] }) as unknown as DiscoveredModel;

test("configured models win over a discovered one with the same id or the same file", () => {
  const models = [
    discovered("qwen", "/m/qwen.gguf"),
    discovered("gemma", "/m/gemma.gguf"),
    discovered("llava", "/m/llava.llamafile"),
    discovered("tiny", "/m/tiny.gguf"),
  ];
  const configured = [
    { id: "qwen", command: "llama-server", args: ["-m", "/other/qwen.gguf"] },
    { id: "my-gemma", command: "/opt/llama-server", args: ["--model=/link/gemma.gguf", "--mmproj", "/m/tiny.gguf"] },
    { id: "my-llava", command: "sh", args: ["/m/llava.llamafile", "--server"] },
  ];
  const realPath = (path: string) => path.replace("/link/", "/m/");
  const result = withoutConfigured(models, configured, realPath);
  expect(result.models.map((m) => m.id)).toEqual(["tiny"]);
  expect(result.skipped).toEqual([
    { path: "/m/qwen.gguf", reason: { code: "configured", by: "qwen", why: "same-id" } },
    { path: "/m/gemma.gguf", reason: { code: "configured", by: "my-gemma", why: "same-file" } },
    { path: "/m/llava.llamafile", reason: { code: "configured", by: "my-llava", why: "same-file" } },
  ]);
  expect(filesNamedBy({ id: "x", command: "/m/a.llamafile", args: [] })).toEqual(["/m/a.llamafile"]);
});

const temp = mkdtempSync(join(tmpdir(), "discovery-launch-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

test("llama-server: the configured path, else the first executable `llama-server` on PATH; not found is a reason", () => {
  const bin = join(temp, "bin");
  const other = join(temp, "other");
  const fs = realFileSystem;
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(other, { recursive: true });
  writeFileSync(join(other, "llama-server"), "#!/bin/sh\n");
  chmodSync(join(other, "llama-server"), 0o644);
  writeFileSync(join(bin, "llama-server"), "#!/bin/sh\n");
  chmodSync(join(bin, "llama-server"), 0o755);
  const pathVariable = `relative/dir::${other}:${bin}`;
  expect(findLlamaServer({ configured: undefined, pathVariable, fs })).toEqual({ ok: true, command: join(bin, "llama-server") });
  expect(findLlamaServer({ configured: join(bin, "llama-server"), pathVariable: "", fs })).toEqual({
    ok: true,
    command: join(bin, "llama-server"),
  });
  expect(findLlamaServer({ configured: join(other, "llama-server"), pathVariable: "", fs })).toEqual({
    ok: false,
    problem: { code: "llama-server-unusable", path: join(other, "llama-server"), errno: "EACCES" },
  });
  expect(findLlamaServer({ configured: "bin/llama-server", pathVariable: "", fs })).toMatchObject({
    ok: false,
    problem: { errno: "not-absolute" },
  });
  expect(findLlamaServer({ configured: "llama-server-cuda", pathVariable: `${bin}:${other}`, fs })).toEqual({
    ok: false,
    problem: { code: "llama-server-not-found", name: "llama-server-cuda", searched: [bin, other] },
  });
});
