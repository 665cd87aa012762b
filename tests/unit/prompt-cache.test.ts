// The prompt cache's pieces that need no server: what llama-server's slot answers and files
// mean (fed with the bodies recorded in D01-D06), which servers get a folder and what pi adds
// to their launch, the records read as hostile files, slot claims, the tidy-up and the budget.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { isSlotFileName, layoutKey, restoreAnswer, saveAnswer, slotFileTokens, slotLayout, withSlot } from "../../src/llama-cpp/slots.ts";
import { launchLine } from "../../src/llamafiles/process/launch-line.ts";
import { isLlamaServer, promptCacheLaunch, promptCacheVia } from "../../src/llamafiles/prompt-cache/launch.ts";
import { promptCacheDir, promptCacheRoot, sessionKey } from "../../src/llamafiles/prompt-cache/paths.ts";
import { type CacheRecord, checkSlotFile, parseRecord, readRecord, writeRecord } from "../../src/llamafiles/prompt-cache/records.ts";
import { claimSlot, heldSlot, releaseSlot } from "../../src/llamafiles/prompt-cache/session-slots.ts";
import { savedCaches, tidyCaches } from "../../src/llamafiles/prompt-cache/tidy.ts";
import { fixture } from "../helpers/fixtures.ts";
import { launchSpec } from "../helpers/scripted-actors.ts";

/** The JSON body of the answer that follows `### <title>` in a recorded transcript. */
function recordedBody(name: string, title: string): unknown {
  const text = fixture(name);
  const at = text.indexOf(title);
  expect(at, `${title} in ${name}`).toBeGreaterThan(0);
  const response = text.indexOf("--- response ---", at);
  const body = text.slice(response).split("\n\n")[1]!.split("\n")[0]!.trim();
  return JSON.parse(body);
}

describe("slot answers and files (src/llama-cpp/slots.ts)", () => {
  test("a save answer: 200 with the tokens and bytes; n_written 0 on a full disk (D04)", () => {
    expect(saveAnswer({ id_slot: 0, filename: "x.bin", n_saved: 1146, n_written: 605176, timings: { save_ms: 0.388 } })).toEqual({
      saved: 1146,
      written: 605176,
      ms: 0.388,
    });
    expect(saveAnswer({ id_slot: 0, filename: "x.bin", n_saved: 1144, n_written: 0, timings: { save_ms: 0.422 } })).toMatchObject({
      written: 0,
    });
    expect(saveAnswer({ error: { code: 501, message: "This server does not support slots action." } })).toBeUndefined();
    expect(saveAnswer({ n_saved: "12", n_written: 1 })).toBeUndefined();
    expect(
      restoreAnswer({ id_slot: 1, filename: "a-slot1.bin", n_restored: 1133, n_read: 598312, timings: { restore_ms: 0.504 } }),
    ).toEqual({ restored: 1133, read: 598312, ms: 0.504 });
  });

  test("the recorded answers read the same way: a save, a full disk's, a server that cannot save", () => {
    expect(saveAnswer(recordedBody("D01-slot-save-np4.txt", "### save slot 0 -> x.bin"))).toEqual({
      saved: 1146,
      written: 605176,
      ms: 0.388,
    });
    expect(saveAnswer(recordedBody("D04-slot-save-unwritable.txt", "### save slot 0 -> x.bin"))).toMatchObject({ saved: 1144, written: 0 });
    expect(saveAnswer(recordedBody("D03-slot-save-not-enabled.txt", "### save slot 0"))).toBeUndefined();
  });

  test("a slot file's header: magic qsgg, version 2, then the token count", () => {
    const header = Buffer.alloc(12);
    header.writeUInt32LE(0x67677371, 0);
    header.writeUInt32LE(2, 4);
    header.writeUInt32LE(3872, 8);
    expect(slotFileTokens(header)).toBe(3872);
    expect(slotFileTokens(Buffer.from("not a slot file"))).toBeUndefined();
    expect(slotFileTokens(header.subarray(0, 8))).toBeUndefined();
  });

  test("file names pi writes: safe everywhere, never `..` (D11)", () => {
    for (const name of ["s-abc.bin", "s-0195-aa.bin", "x", "a.b.c"]) expect(isSlotFileName(name), name).toBe(true);
    for (const name of ["", ".", "..", "../x", "a..b", "x.", ".hidden", "sub/x", "a b", "é.bin", "x".repeat(256)])
      expect(isSlotFileName(name), name).toBe(false);
  });

  test("the layout from the command line, then the environment; arguments win", () => {
    expect(slotLayout(["-m", "x.gguf"])).toEqual({ parallel: undefined, unified: undefined });
    expect(slotLayout(["-np", "4", "-kvu"])).toEqual({ parallel: 4, unified: true });
    expect(slotLayout(["--parallel=2", "--no-kv-unified"])).toEqual({ parallel: 2, unified: false });
    expect(slotLayout([], { LLAMA_ARG_N_PARALLEL: "4", LLAMA_ARG_KV_UNIFIED: "1" })).toEqual({ parallel: 4, unified: true });
    expect(slotLayout(["-np", "1"], { LLAMA_ARG_N_PARALLEL: "4" })).toEqual({ parallel: 1, unified: undefined });
    expect(layoutKey({ parallel: 4, unified: true }, 4)).toBe("np=4,kvu=on");
    expect(layoutKey({ parallel: undefined, unified: undefined }, 4)).toBe("np=auto(4),kvu=default");
  });
});

describe("which servers get a prompt-cache folder, and what pi adds", () => {
  test("llama-server gets --slot-save-path by itself; another command only where its args say {{promptCacheDir}}", () => {
    expect(isLlamaServer("/opt/llama.cpp/build/bin/llama-server")).toBe(true);
    expect(isLlamaServer("llama-server")).toBe(true);
    expect(isLlamaServer("/models/qwen.llamafile")).toBe(false);
    const server = { command: "/opt/bin/llama-server", args: ["-m", "x.gguf"] };
    expect(promptCacheVia(server, true)).toBe("append");
    expect(promptCacheVia(server, false)).toBeUndefined();
    // A save folder of the user's own: pi leaves it (and the cache) alone.
    expect(promptCacheVia({ ...server, args: ["--slot-save-path", "/mine"] }, true)).toBeUndefined();
    // Never an unknown flag to a llamafile: it may refuse to start.
    expect(promptCacheVia({ command: "/m/qwen.llamafile", args: ["--server"] }, true)).toBeUndefined();
    expect(promptCacheVia({ command: "/m/qwen.llamafile", args: ["--slot-save-path", "{{promptCacheDir}}"] }, true)).toBe("placeholder");
  });

  test("the layout goes in through the environment, unless the args or the environment say it already", () => {
    expect(promptCacheLaunch(["-m", "x.gguf"], {}, "/c")).toEqual({
      args: ["--slot-save-path", "/c"],
      env: { LLAMA_ARG_N_PARALLEL: "4", LLAMA_ARG_KV_UNIFIED: "1", LLAMA_ARG_CACHE_IDLE_SLOTS: "0" },
    });
    expect(promptCacheLaunch(["-np", "2"], {}, "/c").env).toEqual({ LLAMA_ARG_CACHE_IDLE_SLOTS: "0" });
    expect(promptCacheLaunch([], { LLAMA_ARG_N_PARALLEL: "8" }, "/c").env).toEqual({ LLAMA_ARG_CACHE_IDLE_SLOTS: "0" });
    expect(promptCacheLaunch(["--cache-idle-slots"], {}, "/c").env).toEqual({ LLAMA_ARG_N_PARALLEL: "4", LLAMA_ARG_KV_UNIFIED: "1" });
  });

  test("the launch line: {{port}} and {{promptCacheDir}} filled in, what pi adds after the user's args", () => {
    const base = { ...launchSpec("a", 8123), command: "/bin/llama-server", args: ["--port", "{{port}}"], env: { X: "1" } };
    expect(launchLine({ ...base, promptCache: { dir: "/c/a", via: "append", budgetBytes: 1 } }, {})).toEqual({
      args: ["--port", "8123", "--slot-save-path", "/c/a"],
      env: { X: "1", LLAMA_ARG_N_PARALLEL: "4", LLAMA_ARG_KV_UNIFIED: "1", LLAMA_ARG_CACHE_IDLE_SLOTS: "0" },
    });
    const placeholder = {
      ...base,
      args: ["--slot-save-path={{promptCacheDir}}"],
      promptCache: { dir: "/c/a", via: "placeholder" as const, budgetBytes: 1 },
    };
    expect(launchLine(placeholder, {})).toEqual({ args: ["--slot-save-path=/c/a"], env: { X: "1" } });
    expect(launchLine(base, {})).toEqual({ args: ["--port", "8123"], env: { X: "1" } });
  });

  test("folder names keep clear of discovery.json; session keys are safe file-name parts", () => {
    process.env.HOME = "/home/me";
    expect(promptCacheDir("qwen-7b")).toBe("/home/me/.pi/llamafile_cache/qwen-7b");
    expect(promptCacheDir("discovery.json")).toMatch(/^\/home\/me\/\.pi\/llamafile_cache\/discovery\.json-[0-9a-f]{8}$/);
    expect(promptCacheDir("org/model")).toMatch(/\/org_model-[0-9a-f]{8}$/);
    expect(sessionKey("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).toBe("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    expect(sessionKey("../../etc")).toMatch(/^[0-9a-f]{32}$/);
  });

  test("a request's body pins the slot without being parsed", () => {
    expect(withSlot('{"model":"a","messages":[]}', 2)).toBe('{"id_slot":2,"model":"a","messages":[]}');
    expect(withSlot("{}", 0)).toBe('{"id_slot":0}');
    expect(withSlot("[1]", 0)).toBeUndefined();
  });
});

describe("files in the cache folders", () => {
  let home: string;
  let dir: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "pi-llama-cache-"));
    process.env.HOME = home;
    dir = promptCacheDir("model-a");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const record = (over: Partial<CacheRecord> = {}): CacheRecord => ({
    version: 1,
    modelId: "model-a",
    session: { id: "s1" },
    savedBy: { pid: process.pid, startTime: "?" },
    file: "s-s1-aaaa.bin",
    bytes: 100,
    tokens: 10,
    model: { path: "/m/a.gguf", size: 5, mtimeMs: 1 },
    layout: "np=4,kvu=on",
    savedAt: 1,
    usedAt: 1,
    saveMs: 1,
    ...over,
  });
  const slotFile = (name: string, tokens: number, bytes = 100) => {
    const data = Buffer.alloc(bytes);
    data.writeUInt32LE(0x67677371, 0);
    data.writeUInt32LE(2, 4);
    data.writeUInt32LE(tokens, 8);
    writeFileSync(join(dir, name), data, { mode: 0o644 });
  };

  test("a record is believed only as pi writes it", () => {
    expect(parseRecord(JSON.stringify(record()))).toEqual(record());
    expect(parseRecord("[]")).toBe("it is not a record this version of pi writes");
    expect(parseRecord("nope")).toBe("it is not JSON");
    expect(parseRecord(JSON.stringify(record({ file: "../../.ssh/id_rsa" })))).toBe("a field is missing or not what pi writes");
    expect(parseRecord(JSON.stringify(record({ tokens: -1 })))).toBe("a field is missing or not what pi writes");
    expect(parseRecord(JSON.stringify({ ...record(), model: undefined }))).toBe("a field is missing or not what pi writes");
  });

  test("records are written 0600 and read never through a symlink", () => {
    writeRecord(dir, "s1", record());
    expect(readRecord(join(dir, "s-s1.json"))).toEqual(record());
    expect(readdirSync(dir)).toEqual(["s-s1.json"]);
    symlinkSync(join(dir, "s-s1.json"), join(dir, "s-s2.json"));
    expect(readRecord(join(dir, "s-s2.json"))).toBe("it is a symbolic link");
    expect(readRecord(join(dir, "s-s3.json"))).toBe("missing");
  });

  test("a slot file is checked against what the server said, and made 0600", () => {
    slotFile("a.bin", 10);
    expect(checkSlotFile(join(dir, "a.bin"), { bytes: 100, tokens: 10 })).toBeUndefined();
    expect(readdirSync(dir).length).toBe(1);
    expect(checkSlotFile(join(dir, "a.bin"), { bytes: 99, tokens: 10 })).toBe("it has 100 bytes, not 99");
    expect(checkSlotFile(join(dir, "a.bin"), { tokens: 11 })).toBe("it holds 10 tokens, not 11");
    symlinkSync("/dev/null", join(dir, "b.bin"));
    expect(checkSlotFile(join(dir, "b.bin"), { tokens: 0 })).toBe("it is a symbolic link");
  });

  test("slot claims: one per pi process, reused, released; a claim of a pi that is gone is taken over", () => {
    expect(claimSlot(dir, 4, true)).toBe(0);
    expect(claimSlot(dir, 4, false)).toBe(0);
    expect(heldSlot(dir)).toEqual({ slot: 0, canSave: false });
    releaseSlot(dir);
    expect(heldSlot(dir)).toBeUndefined();
    // Slots 0 and 1 held by live processes (pid 1, this test's parent), slot 2 by one long gone.
    const claim = (slot: number, pid: number, startTime: string) =>
      writeFileSync(join(dir, `slot-${slot}.claim`), JSON.stringify({ pid, startTime, canSave: true }), { mode: 0o600 });
    const startOf = (pid: number) => readFileSyncSafe(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[19] ?? "?";
    claim(0, 1, startOf(1));
    claim(1, process.ppid, startOf(process.ppid));
    claim(2, 999_999_999, "1");
    expect(claimSlot(dir, 3, true)).toBe(2);
    releaseSlot(dir);
    claim(2, 1, startOf(1));
    expect(claimSlot(dir, 3, true)).toBeUndefined();
  });

  test("the tidy-up: sessions that are gone, files nothing names, then the least recently used beyond the budget", () => {
    const gone = { pid: 999_999_999, startTime: "1" };
    const alive = { pid: process.pid, startTime: readFileSyncSafe(`/proc/${process.pid}/stat`).split(") ")[1]!.split(" ")[19]! };
    const sessionFile = join(home, "session.jsonl");
    writeFileSync(sessionFile, "");
    // An in-memory session whose pi is gone; a session whose file is gone; two that live on.
    writeRecord(dir, "a", record({ session: { id: "a" }, savedBy: gone, file: "s-a-1.bin" }));
    writeRecord(dir, "b", record({ session: { id: "b", file: join(home, "deleted.jsonl") }, savedBy: gone, file: "s-b-1.bin" }));
    writeRecord(dir, "c", record({ session: { id: "c", file: sessionFile }, savedBy: gone, file: "s-c-1.bin", bytes: 60, usedAt: 5 }));
    writeRecord(dir, "d", record({ session: { id: "d" }, savedBy: alive, file: "s-d-1.bin", bytes: 60, usedAt: 9 }));
    for (const name of ["s-a-1.bin", "s-b-1.bin", "s-c-1.bin", "s-d-1.bin", "s-x-old.bin", "s-x-new.bin"]) slotFile(name, 1);
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(join(dir, "s-x-old.bin"), old, old);
    // A record that is not one is removed too; discovery.json beside the folders is never touched.
    writeFileSync(join(dir, "s-bad.json"), "{", { mode: 0o600 });
    writeFileSync(join(promptCacheRoot(), "discovery.json"), "{}");

    expect(tidyCaches(1_000).map((cache) => cache.record.session.id)).toEqual(["c", "d"]);
    expect(readdirSync(dir).sort()).toEqual(["s-c-1.bin", "s-c.json", "s-d-1.bin", "s-d.json", "s-x-new.bin"]);
    // Over the budget: the least recently used goes first.
    expect(tidyCaches(100).map((cache) => cache.record.session.id)).toEqual(["d"]);
    expect(savedCaches().map((cache) => cache.record.session.id)).toEqual(["d"]);
    expect(readdirSync(promptCacheRoot())).toContain("discovery.json");
  });

  test("a folder that is a symbolic link is not a model folder", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "pi-llama-elsewhere-"));
    try {
      writeRecord(elsewhere, "z", record({ session: { id: "z" }, file: "s-z-1.bin" }));
      symlinkSync(elsewhere, join(promptCacheRoot(), "linked"));
      chmodSync(elsewhere, 0o700);
      expect(savedCaches().map((cache) => cache.record.session.id)).toEqual([]);
      tidyCaches(0);
      expect(readdirSync(elsewhere)).toEqual(["s-z.json"]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
