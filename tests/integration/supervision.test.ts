// What the supervision guarantees beyond one clean session: a wrapper whose leader dies first
// does not hide the real server (it is still reported and still stopped); a server an earlier
// pi left with nobody to stop it is found and stopped at the next start, with one notice; logs
// are capped with one rotated file; a log that is a symlink is never followed.
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, FAKE_SERVER, fakeModelEntry, firstLines } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { killPiProcesses, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

const homes: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  await cleanupAll();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

test("a wrapper (sh) whose leader dies first: the real server is still reported running, still answers, and quit stops it", async () => {
  const port = await freePort();
  const inner = fakeModelEntry({ id: "w", name: "W", port, flags: ["--reply", "from the wrapped server"] });
  const script = `"${inner.command}" ${(inner.args as string[]).map((a) => `'${a}'`).join(" ")} & wait`;
  const pi = await startPi({ llamafiles: [{ id: "w", name: "W", port, command: "sh", args: ["-c", script] }] });
  await pi.select("llamafiles/w");
  await pi.prompt("hi");
  const leader = Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);
  const [server] = findProcesses(`${process.execPath} ${FAKE_SERVER}`, `--port ${port} `);

  process.kill(leader, "SIGKILL");
  await waitFor(() => !isAlive(leader), "the wrapper to die");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(firstLines(await pi.command("/llamafiles"))).toBe(
    `Running: W (id=w, port=${port}, pid=${leader}, status=ready)\n${FAKE_CONTEXT_LINE}`,
  );
  expect(await pi.prompt("still there?")).toEqual({ text: "from the wrapped server", error: undefined });

  await pi.quit();
  expect(pi.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "W" (pid ${leader})...`,
    `Stopped llamafile "W".`,
  ]);
  expect(isAlive(server!)).toBe(false);
});

test("a server an earlier pi left with nobody to stop it is stopped at the next start, with one notice naming it", async () => {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  const model = fakeModelEntry({ id: "b", name: "B", port });
  writeModels(home, [model]);
  const earlier = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/b"]);
  const server = await waitFor(() => findProcesses(FAKE_SERVER, `--port ${port} `)[0], "the earlier pi to start B");
  await waitFor(async () => ((await probeModels(port)) as { status?: number }).status === 200, "B to be ready");
  const keeper = findProcesses("keeper.mjs", `"port":${port},`)[0]!;
  // Both killed without a chance to act (the earlier pi frozen first): B is left behind.
  process.kill(earlier.pid, "SIGSTOP");
  process.kill(keeper, "SIGKILL");
  await waitFor(() => !isAlive(keeper), "the keeper to die");
  process.kill(earlier.pid, "SIGKILL");
  await earlier.exited;
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(isAlive(server), readFileSync(join(home, ".pi", "llamafile_logs", "b.log"), "utf8")).toBe(true);

  const next = await startPi({ home, llamafiles: [model] });
  await waitFor(() => next.notifications().some((n) => n.message.includes("an earlier pi left running")), "the notice");
  expect(
    next.notifications().filter((n) => n.message.startsWith("llamafiles: stopped")),
    JSON.stringify(next.notifications()),
  ).toEqual([
    {
      type: "warning",
      message: `llamafiles: stopped a server an earlier pi left running with nobody to stop it: "B" (pid ${server}, port ${port}).`,
    },
  ]);
  await waitFor(() => !isAlive(server), "the left-behind server to be gone");
});

test("a chatty server's log is capped at 10 MiB, one rotated file kept", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "chatty", name: "Chatty", port, flags: ["--chatty-bytes", String(25 * 1024 * 1024)] })],
  });
  await pi.select("llamafiles/chatty");
  await pi.prompt("hi");
  const log = join(pi.home, ".pi", "llamafile_logs", "chatty.log");
  await waitFor(() => {
    try {
      return statSync(`${log}.1`).size > 0;
    } catch {
      return false;
    }
  }, "a rotated log");
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cap = 10 * 1024 * 1024;
  expect(statSync(log).size).toBeLessThanOrEqual(cap + 64 * 1024);
  expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(cap + 64 * 1024);
  expect(statSync(log).mode & 0o777).toBe(0o600);
});

test("a log that is a symbolic link is never followed: the start is refused, saying what to remove", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "linked", name: "Linked", port })] });
  mkdirSync(join(pi.home, ".pi", "llamafile_logs"), { recursive: true });
  const target = join(pi.home, "precious.txt");
  writeFileSync(target, "keep me", { mode: 0o644 });
  const log = join(pi.home, ".pi", "llamafile_logs", "linked.log");
  symlinkSync(target, log);
  await pi.select("llamafiles/linked");
  const { error } = await pi.prompt("hi");
  expect(error).toBe(
    `Linked could not be started: its log ${log} is a symbolic link, which pi does not follow; remove it (rm ${log}) and select the model again. Log: ${log}`,
  );
  expect(readFileSync(target, "utf8")).toBe("keep me");
  expect(statSync(target).mode & 0o777).toBe(0o644);
  expect(findProcesses(FAKE_SERVER, `--port ${port} `)).toEqual([]);
});
