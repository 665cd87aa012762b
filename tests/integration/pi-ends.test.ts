// However pi ends, no server it started outlives it by more than the stop grace (5 s) plus
// 1 s: quit, SIGTERM, SIGHUP, SIGKILL, a crash, the terminal closed; while the server is
// ready or still starting. Real pi processes (the CLI), real servers, a real pty.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { FAKE_SERVER, fakeModelEntry, REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { makeHome } from "../helpers/pi-harness.ts";
import { killPiProcesses, PI_CLI, piEnv, startPiProcess, writeModels } from "../helpers/pi-process.ts";
import { findProcesses, freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

const homes: string[] = [];
afterEach(async () => {
  await killPiProcesses();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

const LIMIT_MS = 6_000;

async function piWithServer(state: "ready" | "starting") {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  const flags = state === "starting" ? ["--startup-delay-ms", "30000"] : [];
  writeModels(home, [fakeModelEntry({ id: "b", name: "B", port, flags })]);
  const pi = startPiProcess(home, ["--mode", "rpc", "--model", "llamafiles/b"]);
  const server = await waitFor(() => findProcesses(FAKE_SERVER, `--port ${port} `)[0], "pi to start the server", 20_000);
  if (state === "ready") await waitFor(async () => (await probeModels(port)) !== "refused", "the server to be ready", 20_000);
  return { pi, server, port };
}

const ways: Array<[string, (pi: ReturnType<typeof startPiProcess>) => void]> = [
  ["quit (its input closed)", (pi) => pi.child.stdin!.end()],
  ["SIGTERM", (pi) => process.kill(pi.pid, "SIGTERM")],
  ["SIGHUP", (pi) => process.kill(pi.pid, "SIGHUP")],
  ["SIGKILL", (pi) => process.kill(pi.pid, "SIGKILL")],
  ["a crash (SIGABRT, no clean-up at all)", (pi) => process.kill(pi.pid, "SIGABRT")],
];

test("however pi ends while its server is ready (quit, SIGTERM, SIGHUP, SIGKILL, a crash), the server is gone within 6 s", async () => {
  // One pi per way, side by side: each ends its own way, at the same moment.
  const runs = await Promise.all(ways.map(async ([way, end]) => ({ way, end, ...(await piWithServer("ready")) })));
  const started = Date.now();
  for (const run of runs) run.end(run.pi);
  await Promise.all(runs.map((run) => run.pi.exited));
  const survivors = await Promise.all(
    runs.map(async ({ way, server }) => {
      try {
        await waitFor(() => !isAlive(server), `server ${server} to be gone`, LIMIT_MS);
        return undefined;
      } catch {
        return `${way}: server ${server} still alive after ${LIMIT_MS} ms`;
      }
    }),
  );
  expect(survivors.filter(Boolean)).toEqual([]);
  expect(Date.now() - started).toBeLessThan(LIMIT_MS + 1_000);
});

test("pi SIGKILLed while its server is still starting: the server is gone too", async () => {
  const { pi, server, port } = await piWithServer("starting");
  process.kill(pi.pid, "SIGKILL");
  await pi.exited;
  await waitFor(() => !isAlive(server), `server ${server} to be gone`, LIMIT_MS);
  expect(await probeModels(port)).toBe("refused");
});

test("the terminal closed under pi's TUI: the server is gone too", async () => {
  const home = makeHome();
  homes.push(home);
  const port = await freePort();
  writeModels(home, [fakeModelEntry({ id: "b", name: "B", port })]);
  // pi's TUI in a real pseudo-terminal; killing `script` closes the terminal under it.
  const command = [process.execPath, PI_CLI, "-ne", "-e", REPO_ROOT, "--no-session", "--model", "llamafiles/b"]
    .map((w) => `'${w}'`)
    .join(" ");
  const terminal = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: home,
    env: { ...piEnv(home), TERM: "xterm-256color" },
    stdio: "ignore",
    detached: true,
  });
  try {
    const server = await waitFor(() => findProcesses(FAKE_SERVER, `--port ${port} `)[0], "the TUI to start the server", 20_000);
    await waitFor(async () => (await probeModels(port)) !== "refused", "the server to be ready");
    process.kill(terminal.pid!, "SIGKILL");
    await waitFor(() => !isAlive(server), `server ${server} to be gone`, LIMIT_MS);
  } finally {
    try {
      process.kill(-terminal.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
});
