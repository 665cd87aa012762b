// Several pi processes on one HOME share a server: the first starts it, the others use it, it
// stops when the last user ends, and no pi stops a server another live pi uses. Two pi
// selecting the same model at the same moment end with one server, both answered.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { FAKE_SERVER, fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

const homes: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  await cleanupAll();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

async function sharedHome() {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  const model = fakeModelEntry({ id: "b", name: "B", port, flags: ["--reply", "shared B"] });
  writeModels(home, [model]);
  const servers = () => findProcesses(FAKE_SERVER, `--port ${port} `);
  return { home, port, model, servers };
}

const answerOf = (pi: ReturnType<typeof startPiProcess>) =>
  pi.records
    .filter((r) => r.type === "message_end")
    .map((r) => (r.message as { role?: string; content?: Array<{ text?: string }> }).content?.[0]?.text)
    .filter(Boolean)
    .at(-1);

test("a second pi uses the server the first started; when it ends the server keeps running for the first; the first's quit stops it", async () => {
  const { home, port, model, servers } = await sharedHome();
  const first = await startPi({ home, llamafiles: [model] });
  await first.select("llamafiles/b");
  expect(await first.prompt("hi")).toEqual({ text: "shared B", error: undefined });
  const [server] = servers();

  // `pi -p hi --model llamafiles/b` in a second terminal.
  const second = startPiProcess(home, ["-p", "hi from the second pi", "--model", "llamafiles/b"]);
  const { code } = await second.exited;
  expect({ code, stderr: second.stderr() }).toEqual({ code: 0, stderr: 'Left llamafile "B" running for 1 other pi session.\n' });
  expect(second.records.map((r) => r.text).join("\n")).toContain("shared B");
  expect(servers()).toEqual([server]);
  expect(isAlive(server!)).toBe(true);
  expect(await first.prompt("still there?")).toEqual({ text: "shared B", error: undefined });

  await first.quit();
  expect(first.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "B" (pid ${server})...`,
    `Stopped llamafile "B".`,
  ]);
  await waitFor(() => !isAlive(server!), "the server to stop with its last user");
  expect(await probeModels(port)).toBe("refused");
});

test("the first pi quits while a second still uses the server: it runs on for the second, which then stops it", async () => {
  const { home, model, servers } = await sharedHome();
  const first = await startPi({ home, llamafiles: [model] });
  await first.select("llamafiles/b");
  await first.prompt("hi");
  const [server] = servers();
  const second = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/b"]);
  await second.prompt("hi from the second");
  expect(answerOf(second)).toBe("shared B");
  await waitFor(
    async () => (await first.command("/llamafiles"))?.includes("shared with 1 other pi session"),
    "the first pi to see a second user",
  );

  await first.quit();
  expect(first.stderr.filter((line) => line.includes("llamafile"))).toEqual([`Left llamafile "B" running for 1 other pi session.`]);
  expect(isAlive(server!)).toBe(true);
  await second.prompt("and now?");
  expect(answerOf(second)).toBe("shared B");

  second.child.stdin!.end();
  await second.exited;
  await waitFor(() => !isAlive(server!), "the server to stop with its last user", 6_000);
});

test("three pi on one HOME: one server; it stops only when the last of them ends", async () => {
  const { home, servers } = await sharedHome();
  const pis = [0, 1, 2].map(() => startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/b"]));
  await Promise.all(pis.map((pi) => pi.prompt("hi")));
  for (const pi of pis) expect(answerOf(pi)).toBe("shared B");
  const found = servers();
  expect(found).toHaveLength(1);
  process.kill(pis[0]!.pid, "SIGKILL");
  pis[1]!.child.stdin!.end();
  await Promise.all([pis[0]!.exited, pis[1]!.exited]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(isAlive(found[0]!)).toBe(true);
  await pis[2]!.prompt("last one here");
  expect(answerOf(pis[2]!)).toBe("shared B");
  process.kill(pis[2]!.pid, "SIGTERM");
  await pis[2]!.exited;
  await waitFor(() => !isAlive(found[0]!), "the server to stop with the last pi", 6_000);
});

test("two pi selecting the same model at the same moment: one server, both answered", async () => {
  const { home, servers } = await sharedHome();
  // Both start together and both stay up until both answered: their selections race.
  const both = [0, 1].map(() => startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/b"]));
  await Promise.all(both.map((pi) => pi.prompt("hi")));
  for (const pi of both) expect(answerOf(pi)).toBe("shared B");
  expect(servers()).toHaveLength(1);
  const log = readFileSync(join(home, ".pi", "llamafile_logs", "b.log"), "utf8");
  expect(log.match(/^--- .* Starting B ---$/gm)).toHaveLength(1);
  for (const pi of both) pi.child.stdin!.end();
  await Promise.all(both.map((pi) => pi.exited));
  await waitFor(() => servers().length === 0, "the shared server to stop after both", 6_000);
});
