// What discovery says: the one start-up line, /llamafiles' section (models not running, folders,
// every skipped file with its reason), /llamafiles scan, and a running server's estimate beside
// its resident memory. Every skip reason and every problem has words (the switches are exhaustive:
// tsc fails on a code without them); the ones a user meets most are asserted word for word.
import { expect, test } from "vitest";
import type { RoomProblem } from "../../machines/local-fleet.machine.ts";
import type { LlamafileModel } from "../../src/llamafiles/config.ts";
import type { SkippedFile, SkipReason } from "../../src/llamafiles/discovery/discover.ts";
import type { DiscoveryOutcome } from "../../src/llamafiles/discovery-run.ts";
import {
  discoveryProblemText,
  discoveryReportLines,
  discoverySummary,
  failureText,
  homeShort,
  localContextFixFor,
  memoryLine,
  noRoomText,
  noteworthySkips,
  rescanText,
  skipReasonText,
} from "../../src/llamafiles/messages.ts";

const HOME = "/home/me";
const GiB = 2 ** 30;
const MiB = 2 ** 20;

const model = (id: string, over: Partial<LlamafileModel> = {}): LlamafileModel => ({
  id,
  name: `${id} · Q4_K_M · 4.4 GiB`,
  command: "/usr/bin/llama-server",
  args: [],
  port: 14300,
  env: {},
  cwd: "/home/me/models",
  logPath: `/logs/${id}.log`,
  reasoning: false,
  input: ["text"],
  contextWindow: 32768,
  maxTokens: 8192,
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  passthrough: {},
  memoryBytes: 6.7 * GiB,
  declared: {},
  discovered: {
    kind: "gguf",
    files: [`/home/me/models/${id}.gguf`],
    projector: undefined,
    bytes: 4.4 * GiB,
    trainedContext: 131072,
    estimate: { weightBytes: 4.4 * GiB, kvCacheBytes: 1.75 * GiB, marginBytes: 630 * MiB, totalBytes: 6.7 * GiB },
  },
  ...over,
});

const skip = (path: string, reason: SkipReason): SkippedFile => ({ path, reason });
const outcome = (over: Partial<DiscoveryOutcome> = {}): DiscoveryOutcome => ({
  models: [],
  scanned: [],
  skipped: [],
  problems: [],
  ...over,
});

test("the start-up line: one line for everything found, the skipped files counted (not listed), what went wrong as a whole", () => {
  expect(discoverySummary(outcome(), HOME)).toBeUndefined();
  expect(
    discoverySummary(outcome({ models: [model("a"), model("b")], scanned: ["/home/me/models", "/home/me/.cache/llama.cpp"] }), HOME),
  ).toEqual({
    text: "llamafiles: found 2 models in ~/models, ~/.cache/llama.cpp.",
    level: "info",
  });
  const broken = [
    skip("/home/me/models/a.gguf", { code: "truncated-header", fileBytes: 120 }),
    skip("/home/me/models/b.gguf", { code: "not-gguf" }),
    skip("/home/me/models/c.gguf", { code: "incomplete-data", fileBytes: 5e9, lastTensorStart: 6e9 }),
    // Not worth a warning: the later file of a split, a projector that found its model.
    skip("/home/me/models/d-00002-of-00002.gguf", { code: "later-shard", firstShard: "/home/me/models/d-00001-of-00002.gguf" }),
    skip("/home/me/models/mmproj-e.gguf", { code: "projector", model: "/home/me/models/e.gguf" }),
  ];
  expect(
    discoverySummary(
      outcome({ models: Array.from({ length: 12 }, (_, i) => model(`m${i}`)), scanned: ["/home/me/models"], skipped: broken }),
      HOME,
    ),
  ).toEqual({
    text: "llamafiles: found 12 models in ~/models; skipped 3 files (see /llamafiles).",
    level: "warning",
  });
  expect(
    discoverySummary(
      outcome({
        scanned: ["/home/me/models"],
        skipped: [skip("/home/me/models/q.gguf", { code: "no-llama-server" })],
        problems: [{ code: "llama-server-not-found", name: "llama-server", searched: ["/usr/bin"] }],
      }),
      HOME,
    ),
  ).toEqual({
    text: 'llamafiles: found 0 models in ~/models; skipped 1 file (see /llamafiles). llama-server is not on PATH, so GGUF models cannot run: install llama.cpp, or set "llamaServer" to its path in ~/.pi/agent/models.json.',
    level: "warning",
  });
});

test("/llamafiles: the discovered models not running, the folders, the skipped files apart from the files that are no models by design", () => {
  const found = outcome({
    models: [model("a"), model("b", { contextWindow: 8192, discovered: { ...model("b").discovered!, trainedContext: 8192 } })],
    scanned: ["/home/me/models"],
    skipped: [
      skip("/home/me/models/x.gguf", { code: "truncated-header", fileBytes: 4 }),
      skip("/home/me/models/d-00002-of-00002.gguf", { code: "later-shard", firstShard: "/home/me/models/d-00001-of-00002.gguf" }),
    ],
    problems: [{ code: "cache-unwritable", path: "/home/me/.pi/llamafile_cache/discovery.json", errno: "EACCES" }],
  });
  expect(discoveryReportLines({ outcome: found, defaultFolders: [], declared: 0 }, new Set(["a"]), HOME)).toEqual([
    "Discovered, not running (1):",
    "  b · Q4_K_M · 4.4 GiB (id=b, port=14300, context 8,192, estimate 6.7 GiB)",
    "Model folders: ~/models",
    "cannot write the discovery cache ~/.pi/llamafile_cache/discovery.json (EACCES); every start reads each model file again.",
    "Skipped (1):",
    "  ~/models/x.gguf: cut off inside its header (the file has 4 bytes): an interrupted download? Download it again",
    "Not offered as models (1):",
    "  ~/models/d-00002-of-00002.gguf: part of the split model ~/models/d-00001-of-00002.gguf (offered once, by its first file)",
  ]);
  expect(
    discoveryReportLines(
      { outcome: outcome({ models: [model("a")], scanned: ["/m"] }), defaultFolders: [], declared: 0 },
      new Set(),
      HOME,
    )[1],
  ).toBe("  a · Q4_K_M · 4.4 GiB (id=a, port=14300, context 32,768 of 131,072 trained, estimate 6.7 GiB)");
  expect(
    discoveryReportLines(
      { outcome: outcome(), defaultFolders: ["/home/me/models", "/home/me/.cache/llama.cpp"], declared: 0 },
      new Set(),
      HOME,
    ),
  ).toEqual([
    'No model discovered: ~/models, ~/.cache/llama.cpp do not exist. Put GGUF files in ~/models, or set "modelDirs" in ~/.pi/agent/models.json.',
  ]);
  expect(discoveryReportLines({ outcome: outcome({ scanned: ["/data"] }), defaultFolders: [], declared: 0 }, new Set(), HOME)).toEqual([
    "No model discovered in /data.",
  ]);
  expect(discoveryReportLines("off", new Set(), HOME)).toEqual(['Discovery is off ("discover": false in ~/.pi/agent/models.json).']);
  // A user of models.json alone, with no model folder, is not told about discovery.
  expect(discoveryReportLines({ outcome: outcome(), defaultFolders: ["/home/me/models"], declared: 2 }, new Set(), HOME)).toEqual([]);
});

test("a hostile disk's thousands of skipped files are listed up to 50, then counted", () => {
  const many = Array.from({ length: 120 }, (_, i) => skip(`/home/me/models/f${i}.gguf`, { code: "not-gguf" }));
  const lines = discoveryReportLines(
    { outcome: outcome({ scanned: ["/home/me/models"], skipped: many }), defaultFolders: [], declared: 0 },
    new Set(),
    HOME,
  );
  expect(lines).toHaveLength(1 + 1 + 50 + 1);
  expect(lines.at(-1)).toBe("  … and 70 more");
  expect(discoverySummary(outcome({ scanned: ["/home/me/models"], skipped: many }), HOME)?.text).toBe(
    "llamafiles: found 0 models in ~/models; skipped 120 files (see /llamafiles).",
  );
});

test("each skip reason in words, with what to do where there is something to do", () => {
  const cases: Array<[SkipReason, string]> = [
    [{ code: "missing-shards", missing: [3], total: 4 }, "a split model of 4 files; file 3 is missing: finish the download"],
    [{ code: "not-executable" }, "a llamafile without the execute bit: chmod +x it, then /llamafiles scan"],
    [
      { code: "projector-without-model" },
      "an image projector with no model of its own in this folder: put it beside the model it was made for",
    ],
    [{ code: "vocab-only" }, "a vocabulary only, no model"],
    [
      { code: "not-a-model", type: "adapter" },
      'not a model (its header says general.type "adapter": an adapter or another kind of GGUF file)',
    ],
    [{ code: "unreadable", errno: "EACCES" }, "cannot be read (EACCES: check its permissions)"],
    [{ code: "not-regular-file", kind: "fifo" }, "a named pipe (FIFO), never opened"],
    [{ code: "symlink-loop" }, "a loop of symbolic links"],
    [{ code: "duplicate", of: "/home/me/models/a.gguf" }, "the same file as ~/models/a.gguf (a link), offered once"],
    [
      { code: "entry-limit", limit: 20000 },
      'past the first 20,000 entries: not searched (point "modelDirs" at the folders that hold models)',
    ],
    [{ code: "configured", by: "qwen", why: "same-file" }, '~/.pi/agent/models.json declares "qwen" with this file; that one is offered'],
    [{ code: "no-port", range: { first: 14200, last: 14999 } }, "no free port left in 14200-14999"],
  ];
  for (const [reason, words] of cases) expect(skipReasonText(reason, HOME), reason.code).toBe(words);
  // Only the files a user can do something about are worth a warning.
  expect(noteworthySkips(cases.map(([reason]) => skip("/x", reason))).map((file) => file.reason.code)).toEqual([
    "missing-shards",
    "not-executable",
    "projector-without-model",
    "unreadable",
    "not-regular-file",
    "symlink-loop",
    "entry-limit",
    "no-port",
  ]);
});

test("each problem of discovery as a whole in words", () => {
  expect(discoveryProblemText({ code: "llama-server-not-found", name: "llama-server-cuda", searched: [] }, HOME)).toBe(
    '"llamaServer" ("llama-server-cuda") is not on PATH: set it to the full path of llama-server in ~/.pi/agent/models.json',
  );
  expect(discoveryProblemText({ code: "llama-server-unusable", path: "/home/me/llama/llama-server", errno: "EACCES" }, HOME)).toBe(
    '"llamaServer" ~/llama/llama-server cannot be run (it is not executable: chmod +x it); fix it in ~/.pi/agent/models.json',
  );
  expect(discoveryProblemText({ code: "bad-server-args", model: undefined, problem: { code: "not-a-string", index: 1 } }, HOME)).toBe(
    '"serverArgs" in ~/.pi/agent/models.json item 1 is not a string; the discovered models run without them until it is fixed',
  );
  expect(discoveryProblemText({ code: "bad-server-args", model: "qwen", problem: { code: "bad-context", index: 1 } }, HOME)).toBe(
    '"serverArgs" of "qwen" (under "discovered") in ~/.pi/agent/models.json item 1: the context size (-c) must be a whole number; that model runs without them until it is fixed',
  );
  expect(
    discoveryProblemText(
      { code: "bad-server-args", model: "qwen", problem: { code: "reserved-flag", index: 2, flag: "--alias", reservedFor: "id" } },
      HOME,
    ),
  ).toBe(
    `"serverArgs" of "qwen" (under "discovered") in ~/.pi/agent/models.json item 2 sets --alias, which pi sets itself (the server must advertise the model's id, or pi does not recognise its own server); remove it; that model runs without them until it is fixed`,
  );
  expect(
    discoveryProblemText({ code: "port-refused", model: "qwen", port: 8081, why: "declared", range: { first: 14200, last: 14999 } }, HOME),
  ).toBe(
    '"port" 8081 of "qwen" (under "discovered") in ~/.pi/agent/models.json cannot be used (a model declared in models.json has it); it got a port of 14200-14999 instead',
  );
  expect(discoveryProblemText({ code: "discovery-failed", detail: "TypeError: boom\n    at x" }, HOME)).toBe(
    "discovery failed (TypeError: boom); no model was discovered. Please report this",
  );
});

test("/llamafiles scan says what changed in pi's list", () => {
  expect(rescanText(["a"], ["a"])).toBe("Scanned the model folders again: 1 discovered model, none new, none gone.");
  expect(rescanText(["a", "b"], ["a", "c", "d"])).toBe("Scanned the model folders again: 3 discovered models (new: c, d; gone: b).");
});

test("a running server's memory: the estimate and what it is made of, beside what its processes hold", () => {
  const spec = { id: "a", name: "A", port: 1, command: "x", args: [], env: {}, cwd: "/", logPath: "/l" };
  expect(memoryLine(model("a"), 5.1 * GiB)).toBe(
    "  memory: estimated 6.7 GiB (files 4.4 GiB + KV cache 1.8 GiB + margin 630 MiB), resident now 5.1 GiB (its processes, from /proc)",
  );
  expect(memoryLine({ ...spec, memoryBytes: 22 * GiB }, 20.5 * GiB)).toBe(
    "  memory: your estimate 22 GiB, resident now 20.5 GiB (its processes, from /proc)",
  );
  expect(memoryLine(spec, 300 * MiB)).toBeUndefined();
  expect(memoryLine(model("a"), undefined)).toBeUndefined();
});

test("a discovered model's context is changed in its serverArgs, a declared one's in its args", () => {
  const fix = localContextFixFor((id) => id === "found");
  expect(fix.setContext(16384, "found")).toBe('add "-c", "16384" to "serverArgs" of "found" under "discovered" in models.json');
  expect(fix.setContext(16384, "mine")).toBe('add "-c", "16384" to its "args" in models.json');
});

test("paths under the home are shown from ~", () => {
  expect(homeShort("/home/me/models/a.gguf", HOME)).toBe("~/models/a.gguf");
  expect(homeShort("/home/me", HOME)).toBe("~");
  expect(homeShort("/home/meow/a", HOME)).toBe("/home/meow/a");
});

test('a port or memory problem of a found model points under "discovered", a declared model\'s at its own entry', () => {
  const found = model("qwen-7b");
  const declared = model("mine", { discovered: undefined });
  const taken = { kind: "port-taken", servesId: "other" } as const;
  expect(failureText(found, taken)).toContain(
    `give qwen-7b · Q4_K_M · 4.4 GiB another "port" under "discovered" › "qwen-7b" in ~/.pi/agent/models.json.`,
  );
  expect(failureText(declared, taken)).toContain(`another "port" in ~/.pi/agent/models.json.`);
  const overBudget: RoomProblem = { kind: "over-budget", needBytes: 7 * GiB, budgetBytes: 10 * GiB, heldBytes: 5 * GiB, held: ["b"] };
  expect(noRoomText(found, overBudget)).toMatch(
    /or give it a smaller context \("-c" in its "serverArgs" under "discovered" › "qwen-7b" in ~\/\.pi\/agent\/models\.json: the estimate follows it\)\.$/,
  );
  expect(noRoomText(declared, overBudget)).toMatch(/or lower the model's "memory" estimate in ~\/\.pi\/agent\/models\.json\.$/);
});
