// The conversation survives the swap: a llama-server pi starts saves this session's slot
// before pi stops it on purpose (a switch, quit, idleness) and gets it back when the model
// starts again, before the first prompt; the first answer after says "restored". A server that
// cannot save, a full disk, a save that takes too long: stopped as before, with one notice.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fakeLlamaServerEntry, fakeModelEntry, requestsSeen } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, waitFor } from "../helpers/processes.ts";

const homes: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  await cleanupAll();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

const cacheDir = (home: string, id: string) => join(home, ".pi", "llamafile_cache", id);
const cacheFiles = (home: string, id: string) => (existsSync(cacheDir(home, id)) ? readdirSync(cacheDir(home, id)).sort() : []);
const records = (home: string, id: string) =>
  cacheFiles(home, id)
    .filter((name) => name.endsWith(".json"))
    .map(
      (name) =>
        JSON.parse(readFileSync(join(cacheDir(home, id), name), "utf8")) as { file: string; tokens: number; session: { id: string } },
    );
const cacheShare = (footer: string | undefined) => Number(/cache (\d+)%/.exec(footer ?? "")?.[1]);

async function twoModels(options: { flagsA?: string[]; extraA?: Record<string, unknown>; provider?: Record<string, unknown> } = {}) {
  const home = makeHome();
  homes.push(home);
  const [portA, portB] = [await freePort(), await freePort()];
  const a = fakeLlamaServerEntry({
    id: "model-a",
    name: "A",
    port: portA,
    binDir: join(home, "bin"),
    flags: ["--reply", "Hi from A", ...(options.flagsA ?? [])],
    extra: options.extraA,
  });
  const b = fakeModelEntry({ id: "model-b", name: "B", port: portB, flags: ["--reply", "Hi from B"] });
  const block = { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [a, b], ...options.provider };
  const pi = await startPi({ home, llamafiles: block });
  return { pi, home, portA, a };
}

test("a switch saves this session's slot; switching back restores it before the first prompt, which says so", async () => {
  const { pi, home, portA } = await twoModels();
  await pi.select("llamafiles/model-a");
  expect(await pi.prompt("hello")).toEqual({ text: "Hi from A", error: undefined });
  // pi's requests go to the slot this pi claimed on the 4-slot layout it gave the server.
  expect(requestsSeen(home, "model-a")).toEqual([
    "POST /v1/chat/completions model=model-a stream=true max_tokens=8192 auth=Bearer llamafiles-not-needed id_slot=0",
  ]);
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;
  expect(readFileSync(`/proc/${server}/cmdline`, "utf8").split("\0")).toContain("--slot-save-path");
  expect(readFileSync(`/proc/${server}/environ`, "utf8").split("\0")).toEqual(
    expect.arrayContaining(["LLAMA_ARG_N_PARALLEL=4", "LLAMA_ARG_KV_UNIFIED=1", "LLAMA_ARG_CACHE_IDLE_SLOTS=0"]),
  );

  await pi.select("llamafiles/model-b");
  await waitFor(() => !isAlive(server), "A to stop after its save");
  const [record] = records(home, "model-a");
  expect(record).toMatchObject({ tokens: expect.any(Number), session: { id: pi.runtime.session.sessionManager.getSessionId() } });
  // The folder is this user's alone, the files 0600.
  expect(lstatSync(cacheDir(home, "model-a")).mode & 0o777).toBe(0o700);
  for (const name of cacheFiles(home, "model-a").filter((file) => !file.endsWith(".claim")))
    expect(lstatSync(join(cacheDir(home, "model-a"), name)).mode & 0o777, name).toBe(0o600);
  expect(cacheFiles(home, "model-a").filter((name) => name.endsWith(".bin"))).toEqual([record!.file]);

  await pi.select("llamafiles/model-a");
  expect(await pi.prompt("hello again")).toEqual({ text: "Hi from A", error: undefined });
  const restored = pi.footer().at(-1);
  expect(restored).toMatch(/^A · .* · cache \d+% · restored$/);
  expect(cacheShare(restored)).toBeGreaterThanOrEqual(90);
  await pi.prompt("and once more");
  expect(pi.footer().at(-1)).not.toContain("restored");

  const report = (await pi.command("/llamafiles"))!;
  expect(report).toMatch(/Saved prompt caches \(~\/\.pi\/llamafile_cache, [\d.]+ KiB of the 16 GiB "promptCacheBudget"\):/);
  expect(report).toMatch(/ {2}model-a: [\d.]+ KiB, [\d,]+ tokens, saved \d+ s ago \(this session\)/);
});

test("two pi sessions on one server keep a slot and a file each; restoring never mixes them", async () => {
  const { pi, home, portA, a } = await twoModels();
  writeModels(home, [a]);
  await pi.select("llamafiles/model-a");
  await pi.prompt("the first session's conversation");
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;

  // A second pi in another terminal uses the same server, in a slot of its own.
  const second = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/model-a"]);
  await second.prompt("the second session's conversation, which is quite different");
  expect(requestsSeen(home, "model-a").map((line) => /id_slot=(\d+)/.exec(line)?.[1])).toEqual(["0", "1"]);
  // It quits: its slot is saved under its own session, and the server runs on for the first.
  second.child.stdin!.end();
  await second.exited;
  expect(isAlive(server)).toBe(true);
  const sessions = records(home, "model-a").map((record) => record.session.id);
  expect(sessions).toHaveLength(1);
  expect(sessions[0]).not.toBe(pi.runtime.session.sessionManager.getSessionId());

  // The first switches away: its slot is saved under its own session. The second session lived
  // in memory only and its pi is gone: its file goes at this save's tidy-up.
  await pi.select("llamafiles/model-b");
  await waitFor(() => !isAlive(server), "A to stop");
  const mine = pi.runtime.session.sessionManager.getSessionId();
  expect(records(home, "model-a").map((record) => record.session.id)).toEqual([mine]);
  // Back to A: the first session's own conversation comes back into its slot.
  await pi.select("llamafiles/model-a");
  await pi.prompt("the first session again");
  expect(pi.footer().at(-1)).toMatch(/ · restored$/);
  expect(cacheShare(pi.footer().at(-1))).toBeGreaterThanOrEqual(90);
});

test("idleMinutes: a server nobody used for that long is stopped, its slot saved; the next prompt starts it and restores it", async () => {
  // 0.01 min: 600 ms.
  const { pi, home, portA } = await twoModels({ provider: { idleMinutes: 0.01 } });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;
  await waitFor(() => pi.footer().at(-1) === "A stopped after 1 s idle · the next prompt starts it", "the idle stop", 10_000);
  expect(isAlive(server)).toBe(false);
  expect(records(home, "model-a")).toHaveLength(1);
  expect((await pi.command("/llamafiles"))?.split("\n").slice(0, 2)).toEqual([
    "No llamafile server is running",
    "Stopped: A stopped after 1 s idle · the next prompt starts it",
  ]);

  expect(await pi.prompt("hello again")).toEqual({ text: "Hi from A", error: undefined });
  expect(pi.footer().at(-1)).toMatch(/^A · .* · restored$/);
});

// The idle tests: a 3 s limit (idleMinutes 0.05), used every 0.5 s for 6 s, twice the limit.
const IDLE_MINUTES = 0.05;

/** B alone, a plain fake server (no prompt cache) with these flags, stopped after 3 s idle. */
async function idleModelB(flags: string[]) {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  const b = fakeModelEntry({ id: "model-b", name: "B", port, flags });
  const pi = await startPi({
    home,
    llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [b], idleMinutes: IDLE_MINUTES },
  });
  await pi.select("llamafiles/model-b");
  return { pi, port };
}

async function useFor6s(use: () => Promise<void>) {
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    await use();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Not stopped while it was used; stopped once `name` was idle for the 3 s. */
async function usedThenRests(pi: PiHarness, server: number, name: string) {
  expect(pi.footer().filter((line) => line?.includes("idle"))).toEqual([]);
  expect(isAlive(server)).toBe(true);
  await waitFor(() => pi.footer().at(-1) === `${name} stopped after 3 s idle · the next prompt starts it`, "the idle stop", 15_000);
  expect(isAlive(server)).toBe(false);
}

test("idleMinutes on a server without a prompt cache or GET /slots (an older llamafile): this pi's prompts count as use, then it stops when idle", async () => {
  const { pi, port } = await idleModelB(["--reply", "Hi from B", "--no-slots"]);
  expect(await pi.prompt("hello")).toEqual({ text: "Hi from B", error: undefined });
  const server = findProcesses("fake-server", `--port ${port} `)[0]!;
  await useFor6s(async () => expect(await pi.prompt("still here")).toEqual({ text: "Hi from B", error: undefined }));
  await usedThenRests(pi, server, "B");
});

test("idleMinutes: an answer that streams longer than the limit is not cut: the server is in use until the answer ends", async () => {
  // 24 tokens at 250 ms: a 6 s answer over the 3 s limit, on a server whose counters pi cannot read.
  const reply = Array.from({ length: 24 }, (_, i) => `w${i}`).join(" ");
  const { pi, port } = await idleModelB(["--reply", reply, "--token-delay-ms", "250", "--no-slots"]);
  const server = await waitFor(() => findProcesses("fake-server", `--port ${port} `)[0], "B to start");
  expect(await pi.prompt("a long answer, please")).toEqual({ text: reply, error: undefined });
  await usedThenRests(pi, server, "B");
});

test("idleMinutes: another client's requests on the server (the server's own counters) count as use, not only this pi's", async () => {
  const { pi, portA } = await twoModels({ provider: { idleMinutes: IDLE_MINUTES } });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;
  await useFor6s(async () => {
    const answer = await fetch(`http://127.0.0.1:${portA}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "model-a", id_slot: 3, messages: [{ role: "user", content: "from another program" }] }),
    });
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
  });
  await usedThenRests(pi, server, "A");
});

test("keepWarm: a server stopped to make room saves this session's slot first; a crash saves nothing", async () => {
  const crashed = join(makeHome(), "crashed-once");
  homes.push(join(crashed, ".."));
  const home = makeHome();
  homes.push(home);
  const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
  const a = fakeLlamaServerEntry({ id: "model-a", name: "A", port: portA, binDir: join(home, "bin"), flags: ["--reply", "Hi from A"] });
  const b = fakeModelEntry({ id: "model-b", name: "B", port: portB, flags: ["--reply", "Hi from B"] });
  const c = fakeModelEntry({ id: "model-c", name: "C", port: portC, flags: ["--reply", "Hi from C"] });
  const pi = await startPi({
    home,
    llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [a, b, c], keepWarm: 2 },
  });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;
  await pi.select("llamafiles/model-b");
  await pi.select("llamafiles/model-c");
  await waitFor(() => !isAlive(server), "A to stop to make room for C");
  expect(pi.notifications().map((n) => n.message)).toContain(
    "Stopped A to make room for C (the least recently used; see keepWarm in ~/.pi/agent/models.json).",
  );
  expect(records(home, "model-a")).toHaveLength(1);

  // A server that dies on its own is not saved (its slot is gone with it): the earlier file stays as it was.
  await pi.cleanup();
  const saved = () => cacheFiles(home, "model-a").map((name) => `${name} ${statSync(join(cacheDir(home, "model-a"), name)).mtimeMs}`);
  const before = saved();
  const crashing = { ...a, args: [...(a.args as string[]), "--die-after-ms", "1500", "--crash-marker", crashed] };
  const again = await startPi({
    home,
    llamafiles: { api: "openai-completions", baseUrl: "http://localhost:8080/v1", models: [crashing, b] },
  });
  await again.select("llamafiles/model-a");
  await again.prompt("hello");
  await waitFor(() => again.notifications().some((n) => /exited/.test(n.message)), "A to crash", 10_000);
  expect(saved().filter((line) => !line.includes(".claim"))).toEqual(before.filter((line) => !line.includes(".claim")));
});

test("a cache folder that is a symbolic link is never followed: the start is refused, saying what to move away", async () => {
  const { pi, home, portA } = await twoModels();
  const elsewhere = join(home, "elsewhere");
  mkdirSync(elsewhere);
  mkdirSync(join(home, ".pi", "llamafile_cache"), { recursive: true, mode: 0o700 });
  symlinkSync(elsewhere, cacheDir(home, "model-a"));
  await pi.select("llamafiles/model-a");
  const { error } = await pi.prompt("hi");
  const dir = cacheDir(home, "model-a");
  expect(error).toContain(
    `A could not be started: pi does not write into ${dir}: it is not a folder (or is a symbolic link, which pi does not follow); move it away (mv ${dir} ${dir}.old) and select the model again.`,
  );
  expect(readdirSync(elsewhere)).toEqual([]);
  expect(findProcesses("fake-server", `--port ${portA} `)).toEqual([]);
});

test("quit, then pi --continue in a new process: the session's conversation is restored before its first prompt", async () => {
  const { pi, home, a } = await twoModels();
  await pi.cleanup();
  writeModels(home, [a]);
  const first = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/model-a"], { keepSession: true });
  await first.prompt("a conversation worth keeping across a restart of pi");
  first.child.stdin!.end();
  await first.exited;
  const [record] = records(home, "model-a");
  expect(record).toMatchObject({ session: { id: expect.any(String) } });

  const second = startPiProcess(home, ["--mode", "rpc", "--continue"], { keepSession: true });
  await second.prompt("and where were we?");
  const usage = second.records
    .filter((r) => r.type === "message_end")
    .map((r) => r.message as { role?: string; usage?: { input: number; cacheRead: number } })
    .filter((m) => m.role === "assistant")
    .at(-1)?.usage;
  // The new server's slot was empty: only a restore gives the prompt cached tokens.
  expect(usage?.cacheRead).toBeGreaterThan(0);
  second.child.stdin!.end();
  await second.exited;
});

test("a full disk: the save writes nothing, the server stops as before with one notice, and the earlier save is kept", async () => {
  const flag = join(makeHome(), "disk-full");
  homes.push(join(flag, ".."));
  // The fake server's disk is full while this file exists.
  const { pi, home, portA } = await twoModels({ flagsA: ["--save-disk-full-when", flag] });
  const model = () => findProcesses("fake-server", `--port ${portA} `)[0];
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  await pi.select("llamafiles/model-b");
  await waitFor(() => model() === undefined, "A to stop");
  const [good] = records(home, "model-a");

  await pi.select("llamafiles/model-a");
  await pi.prompt("hello again");
  writeFileSync(flag, "");
  const before = pi.notifications().length;
  await pi.select("llamafiles/model-b");
  await waitFor(() => model() === undefined, "A to stop although it could not save");
  await waitFor(() => pi.notifications().length > before, "the notice");
  expect(pi.notifications().slice(before)).toEqual([
    {
      message: expect.stringMatching(
        /^Could not save A's prompt cache: the server wrote nothing \(\d+ tokens, 0 bytes written\), which means the disk of ~\/\.pi\/llamafile_cache is full\. pi stopped A as usual; an earlier save of this conversation, if any, is kept\./,
      ),
      type: "warning",
    },
  ]);
  expect(records(home, "model-a")).toEqual([{ ...good, usedAt: expect.any(Number) }]);
  expect(cacheFiles(home, "model-a").filter((name) => name.endsWith(".bin"))).toEqual([good!.file]);
});

test("a saved conversation is never restored into another model file: the server would take it and answer garbage", async () => {
  const gguf = join(makeHome(), "model.gguf");
  homes.push(join(gguf, ".."));
  writeFileSync(gguf, "weights, version 1");
  const { pi, home } = await twoModels({ flagsA: ["-m", gguf] });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  await pi.select("llamafiles/model-b");
  await waitFor(() => records(home, "model-a").length === 1, "the save");
  expect(records(home, "model-a")[0]).toMatchObject({ model: { path: gguf, size: 18 } });

  // The same path now holds another model.
  writeFileSync(gguf, "other weights, version 2");
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello again");
  expect(pi.footer().at(-1)).not.toContain("restored");
  expect(cacheShare(pi.footer().at(-1))).toBe(0);
});

test("a server that cannot save (a llamafile without the endpoint) is stopped as before, with one notice", async () => {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  // A llamafile names the folder itself; this one has no /slots endpoint (HTTP 404).
  const llamafile = fakeModelEntry({
    id: "old",
    name: "Old",
    port,
    flags: ["--slot-save-path", "{{promptCacheDir}}", "--no-slot-actions"],
  });
  const other = fakeModelEntry({ id: "other", name: "Other", port: await freePort() });
  const pi = await startPi({ home, llamafiles: [llamafile, other] });
  await pi.select("llamafiles/old");
  await pi.prompt("hello");
  const cannot = pi.notifications().filter((n) => n.message.includes("cannot save"));
  expect(cannot).toEqual([
    {
      message:
        'Old cannot save its prompt cache (HTTP 404: it has no /slots endpoint, as llamafiles do): pi stops it as before, and a new start processes the conversation again. Remove {{promptCacheDir}} from its "args", or set "promptCache": false for it in ~/.pi/agent/models.json.',
      type: "warning",
    },
  ]);
  await pi.select("llamafiles/other");
  await waitFor(() => findProcesses("fake-server", `--port ${port} `).length === 0, "Old to stop");
  expect(pi.notifications().filter((n) => /prompt cache/.test(n.message))).toEqual(cannot);
  expect(records(home, "old")).toEqual([]);
  // Its next start in this session says nothing again: the user has been told.
  await pi.select("llamafiles/old");
  expect(await pi.prompt("hello again")).toMatchObject({ error: undefined });
  await pi.select("llamafiles/other");
  await waitFor(() => findProcesses("fake-server", `--port ${port} `).length === 0, "Old to stop again");
  expect(pi.notifications().filter((n) => /prompt cache/.test(n.message))).toEqual(cannot);
});

test("a save that takes longer than 5 s is abandoned: the switch goes on, and the notice says why", async () => {
  const { pi, home, portA } = await twoModels({ flagsA: ["--save-delay-ms", "20000"] });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  const started = Date.now();
  await pi.select("llamafiles/model-b");
  await waitFor(() => pi.footer().at(-1) === "B running", "B to run", 15_000);
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(5_000);
  expect(took).toBeLessThan(9_000);
  expect(findProcesses("fake-server", `--port ${portA} `)).toEqual([]);
  expect(pi.notifications().at(-2)?.message).toBe(
    "Did not save A's prompt cache: saving took longer than 5 s, so pi stopped it without (a switch stays quick). The next start processes the conversation again.",
  );
  expect(records(home, "model-a")).toEqual([]);
}, 20_000);

test("quitting pi saves the slot first; the server is stopped as before", async () => {
  const { pi, home, portA } = await twoModels();
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  const server = findProcesses("fake-server", `--port ${portA} `)[0]!;
  await pi.quit();
  expect(pi.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "A" (pid ${server})...`,
    `Stopped llamafile "A".`,
  ]);
  expect(isAlive(server)).toBe(false);
  expect(records(home, "model-a")).toHaveLength(1);
});

test("another client's request in this pi's slot since its last answer: the slot is not saved as this session's", async () => {
  const { pi, home, portA } = await twoModels();
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  // (pi notes the slot's task right after its answer ends.)
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A client pi does not know (a fifth session, a script) lands in the same slot.
  await fetch(`http://127.0.0.1:${portA}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id_slot: 0, messages: [{ role: "user", content: "someone else's conversation" }] }),
  });
  await pi.select("llamafiles/model-b");
  await waitFor(() => findProcesses("fake-server", `--port ${portA} `).length === 0, "A to stop");
  expect(records(home, "model-a")).toEqual([]);
});
