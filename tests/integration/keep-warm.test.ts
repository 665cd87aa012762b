// keepWarm, pinned and memoryBudget with real servers: a warm model is current at once (same
// process), a cold one displaces the least recently used unpinned server, a budget that cannot
// be met refuses with a message, quit stops them all, /reload keeps them all, and a server
// another pi uses is let go of, never stopped.
import { rmSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { FAKE_FIGURES, FAKE_SERVER, fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess } from "../helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, waitFor } from "../helpers/processes.ts";

const homes: string[] = [];
afterEach(async () => {
  delete process.env.ANTHROPIC_API_KEY;
  await killPiProcesses();
  await cleanupAll();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** Models A, B, C… on ports of their own, each answering with its name. */
async function models(names: string[], extra: Record<string, Record<string, unknown>> = {}) {
  const entries: Array<Record<string, unknown>> = [];
  const ports: Record<string, number> = {};
  for (const name of names) {
    ports[name] = await freePort();
    entries.push({
      ...fakeModelEntry({ id: name.toLowerCase(), name, port: ports[name]!, flags: ["--reply", `from ${name}`] }),
      ...extra[name],
    });
  }
  return { entries, ports };
}

const block = (entries: Array<Record<string, unknown>>, settings: Record<string, unknown>) => ({
  api: "openai-completions",
  baseUrl: "http://localhost:8080/v1",
  ...settings,
  models: entries,
});

/** Selects each model in turn and has it answer once (so each is ready, and used in this order). */
async function useInTurn(pi: PiHarness, ...ids: string[]) {
  for (const id of ids) {
    await pi.select(`llamafiles/${id}`);
    await pi.prompt("hi");
  }
}

/** The fake server's pid on `port`, or undefined if none runs. */
const serverOn = (port: number) => findProcesses(FAKE_SERVER, `--port ${port} `)[0];

test("keepWarm 2: A → B → A makes A current again at once, in the same process, and the footer counts the warm one", async () => {
  const { entries, ports } = await models(["A", "B"]);
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 2 }) });
  await pi.select("llamafiles/a");
  expect((await pi.prompt("hi")).text).toBe("from A");
  const pidA = serverOn(ports.A!)!;

  await pi.select("llamafiles/b");
  expect((await pi.prompt("hi")).text).toBe("from B");
  const pidB = serverOn(ports.B!)!;
  expect(isAlive(pidA)).toBe(true);
  expect(pi.footer().at(-1)).toBe(`B · ${FAKE_FIGURES} · 1 warm`);

  const footerBefore = pi.footer().length;
  await pi.select("llamafiles/a");
  // Current at once: no start, no wait, the figures of A's own last answer.
  expect(pi.footer().slice(footerBefore)).toEqual([`A · ${FAKE_FIGURES} · 1 warm`]);
  expect(await pi.prompt("again")).toEqual({ text: "from A", error: undefined });
  expect(serverOn(ports.A!)).toBe(pidA);
  expect(serverOn(ports.B!)).toBe(pidB);
  expect(pi.notifications().filter((n) => n.message === "A is ready")).toHaveLength(1);

  const report = (await pi.command("/llamafiles"))!;
  expect(report).toMatch(new RegExp(`^Running: A \\(id=a, port=${ports.A}, pid=${pidA}, status=ready, current\\)$`, "m"));
  expect(report).toMatch(new RegExp(`^Running: B \\(id=b, port=${ports.B}, pid=${pidB}, status=ready, last used \\d+ s ago\\)$`, "m"));
  expect(report.indexOf("Running: A")).toBeLessThan(report.indexOf("Running: B"));
});

test("keepWarm 2 with three models: a cold one stops the least recently used, and says so", async () => {
  const { entries, ports } = await models(["A", "B", "C"]);
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 2 }) });
  await useInTurn(pi, "a", "b");
  const [pidA, pidB] = [serverOn(ports.A!)!, serverOn(ports.B!)!];

  // A is the least recently used: C takes its place.
  await pi.select("llamafiles/c");
  expect((await pi.prompt("hi")).text).toBe("from C");
  await waitFor(() => !isAlive(pidA), "A to stop for C");
  expect(serverOn(ports.B!)).toBe(pidB);
  expect(pi.notifications().map((n) => n.message)).toContain(
    "Stopped A to make room for C (the least recently used; see keepWarm in ~/.pi/agent/models.json).",
  );

  // B used again, so C is now the least recently used: A's return stops C, not B.
  await pi.select("llamafiles/b");
  const pidC = serverOn(ports.C!)!;
  await pi.select("llamafiles/a");
  expect((await pi.prompt("hi")).text).toBe("from A");
  await waitFor(() => !isAlive(pidC), "C to stop for A");
  expect(serverOn(ports.B!)).toBe(pidB);
  expect(pi.notifications().filter((n) => n.type === "error")).toEqual([]);
});

test("a pinned helper is never stopped by a switch, even as the least recently used", async () => {
  const { entries, ports } = await models(["Helper", "A", "B"], { Helper: { pinned: true } });
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 2 }) });
  await useInTurn(pi, "helper", "a");
  const pidHelper = serverOn(ports.Helper!)!;
  const pidA = serverOn(ports.A!)!;

  await pi.select("llamafiles/b");
  expect((await pi.prompt("hi")).text).toBe("from B");
  await waitFor(() => !isAlive(pidA), "A (not the pinned helper) to make room");
  expect(serverOn(ports.Helper!)).toBe(pidHelper);
  expect(await pi.command("/llamafiles")).toMatch(/^Running: Helper \(.*status=ready, pinned, last used/m);
});

test("the memory budget cannot hold the model beside a pinned one: selecting says why, starts nothing, and a prompt fails with the reason", async () => {
  const { entries, ports } = await models(["Helper", "Big"], {
    Helper: { pinned: true, memory: "6GiB" },
    Big: { memory: "12GiB" },
  });
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 2, memoryBudget: "16GiB" }) });
  await useInTurn(pi, "helper");

  await pi.select("llamafiles/big");
  const refusal =
    'Cannot start Big: it needs 12 GiB, and helper (6 GiB) must keep running, which leaves 10 GiB of the 16 GiB "memoryBudget". Unpin one, raise "memoryBudget", or lower the model\'s "memory" estimate in ~/.pi/agent/models.json.';
  await waitFor(() => pi.notifications().find((n) => n.message === refusal), "the refusal");
  expect(pi.notifications().find((n) => n.message === refusal)?.type).toBe("error");
  const { error } = await pi.prompt("hi");
  expect(error).toContain(refusal);
  expect(
    pi.notifications().filter((n) => n.message === refusal),
    "said once, not again at the prompt",
  ).toHaveLength(1);
  expect(serverOn(ports.Big!)).toBeUndefined();
  expect(serverOn(ports.Helper!)).toBeDefined();
});

test("quit stops every warm server; /reload keeps them all, in the same processes", async () => {
  const { entries, ports } = await models(["A", "B", "C"]);
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 3 }) });
  await useInTurn(pi, "a", "b", "c");
  const pids = ["A", "B", "C"].map((name) => serverOn(ports[name]!)!);

  await pi.reload();
  await waitFor(async () => (await pi.command("/llamafiles"))?.match(/status=ready/g)?.length === 3, "all three warm after /reload");
  expect(["A", "B", "C"].map((name) => serverOn(ports[name]!))).toEqual(pids);
  expect(pi.footer().at(-1)).toMatch(/^C .*· 2 warm$/);
  await pi.select("llamafiles/a");
  expect(await pi.prompt("hi")).toEqual({ text: "from A", error: undefined });
  expect(serverOn(ports.A!)).toBe(pids[0]);

  await pi.quit();
  for (const pid of pids) expect(isAlive(pid), `server ${pid} after quit`).toBe(false);
  expect(pi.stderr.filter((line) => line.startsWith("Stopped llamafile")).sort()).toEqual([
    'Stopped llamafile "A".',
    'Stopped llamafile "B".',
    'Stopped llamafile "C".',
  ]);
});

test("two pi on one HOME: a warm server the other pi uses is let go of to make room, never stopped", async () => {
  const home = makeHome();
  homes.push(home);
  const { entries, ports } = await models(["A", "B", "C"]);
  const first = await startPi({ home, llamafiles: block(entries, { keepWarm: 2 }) });
  await useInTurn(first, "a", "b");
  const pidA = serverOn(ports.A!)!;

  const second = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/a"]);
  await second.prompt("hi from the second");
  await waitFor(
    async () => (await first.command("/llamafiles"))?.includes("shared with 1 other pi session"),
    "the first pi to see a second user of A",
  );

  // A is the first pi's least recently used, but the second pi uses it: let go of, not stopped.
  await first.select("llamafiles/c");
  expect((await first.prompt("hi")).text).toBe("from C");
  await waitFor(async () => !(await first.command("/llamafiles"))?.includes("Running: A"), "the first pi to let go of A");
  expect(serverOn(ports.A!)).toBe(pidA);
  await second.prompt("still there?");
  const answers = second.records.filter((r) => r.type === "message_end").map((r) => JSON.stringify(r.message));
  expect(answers.at(-1)).toContain("from A");
  const aboutA = first.notifications().filter((n) => /\bA\b/.test(n.message) && !n.message.startsWith("Running:"));
  expect(aboutA.map((n) => n.message)).toEqual([
    "A is ready",
    "Let go of A to make room for C (the least recently used; see keepWarm in ~/.pi/agent/models.json); it keeps running for 1 other pi session.",
  ]);
});

test("a switch while A's answer streams stops A only once the answer ends: the answer arrives whole, then B starts", async () => {
  const { entries, ports } = await models(["A", "B"]);
  // A streams slowly: one token every 20 ms, about 1 s in all.
  entries[0]!.args = [
    ...(entries[0]!.args as string[]),
    "--reply",
    "one two three four five six seven eight nine ten ".repeat(5),
    "--token-delay-ms",
    "30",
  ];
  const pi = await startPi({ llamafiles: block(entries, {}) });
  await pi.select("llamafiles/a");
  await waitFor(() => pi.notifications().some((n) => n.message === "A is ready"), "A to be ready");
  const pidA = serverOn(ports.A!)!;

  const before = pi.ui.calls.length;
  const answer = pi.prompt("a long one");
  // The working indicator counts tokens once the answer streams.
  const streaming = () =>
    pi.ui.calls.slice(before).some((c) => c.method === "setWorkingIndicator" && /\d+ tok\b/.test(JSON.stringify(c.args)));
  await waitFor(streaming, "A's answer to stream");
  await pi.select("llamafiles/b");
  expect(isAlive(pidA), "A still answering").toBe(true);
  const { text, error } = await answer;
  expect(error).toBeUndefined();
  expect(text.trim().split(/\s+/)).toHaveLength(50);
  await waitFor(() => !isAlive(pidA), "A to stop after its answer");
  expect(await pi.prompt("hi")).toEqual({ text: "from B", error: undefined });
});

test("keepWarm 2, switching to another provider's model: the most recent local server stays warm, the other stops", async () => {
  process.env.ANTHROPIC_API_KEY = "test-key-never-used"; // makes an Anthropic model selectable; nothing is sent
  const { entries, ports } = await models(["A", "B"]);
  const pi = await startPi({ llamafiles: block(entries, { keepWarm: 2 }) });
  await useInTurn(pi, "a", "b");
  const [pidA, pidB] = [serverOn(ports.A!)!, serverOn(ports.B!)!];

  const anthropic = pi.runtime.services.modelRuntime.getModels("anthropic")[0]!;
  await pi.select(`anthropic/${anthropic.id}`);
  await waitFor(() => !isAlive(pidA), "A, the least recent, to stop");
  expect(serverOn(ports.B!)).toBe(pidB);
  expect(pi.footer().at(-1)).toBe("1 local server warm");

  const footerBefore = pi.footer().length;
  await pi.select("llamafiles/b");
  expect(pi.footer().slice(footerBefore)).toEqual([`B · ${FAKE_FIGURES}`]);
});
