// No prompt on quit (pi's TUI is gone by then): quitting while B runs prints
// the two stderr lines and leaves no process behind; a server that ignores SIGTERM is
// killed after 5 s and the last line says so; quitting while B is still starting stops it too.
import { readFileSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { FAKE_SERVER, fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { findProcesses, freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

async function running(pi: Awaited<ReturnType<typeof startPi>>) {
  return Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);
}

test("quit stops the owned server with its two stderr lines, without a dialog", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port })] });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  const pid = await running(pi);

  await pi.quit();

  expect(pi.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "B" (pid ${pid})...`,
    `Stopped llamafile "B".`,
  ]);
  expect(pi.ui.confirms).toEqual([]);
  expect(isAlive(pid)).toBe(false);
  expect(await probeModels(port)).toBe("refused");
});

test("a server that ignores SIGTERM is killed after the 5 s grace period", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port, flags: ["--ignore-sigterm"] })] });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  const pid = await running(pi);

  const started = Date.now();
  await pi.quit();

  expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
  expect(pi.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "B" (pid ${pid})...`,
    `Stopped llamafile "B" (forced after 5s).`,
  ]);
  expect(isAlive(pid)).toBe(false);
});

test("quit while the server is still starting stops it as well", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port, flags: ["--startup-delay-ms", "20000"] })] });
  await pi.select("llamafiles/model-b");
  const pid = await waitFor(async () => (await running(pi)) || undefined, "B's pid");

  await pi.quit();

  expect(pi.stderr.filter((line) => line.includes("llamafile"))).toEqual([
    `Stopping llamafile "B" (pid ${pid})...`,
    `Stopped llamafile "B".`,
  ]);
  expect(isAlive(pid)).toBe(false);
});

test("a wrapper (sh) cannot orphan the real server: the whole process group is stopped", async () => {
  const port = await freePort();
  const inner = fakeModelEntry({ id: "model-b", name: "B", port });
  const script = `"${inner.command}" ${(inner.args as string[]).map((a) => `'${a}'`).join(" ")} & wait`;
  const pi = await startPi({ llamafiles: [{ id: "model-b", name: "B", port, command: "sh", args: ["-c", script] }] });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  // The node process itself (sh's command line quotes the path, so it does not match).
  const server = `${process.execPath} ${FAKE_SERVER}`;
  const servers = findProcesses(server, `--port ${port} `);
  const describe = (pids: number[]) =>
    pids.map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")}`).join("\n");
  expect(servers, describe(servers)).toHaveLength(1);

  await pi.quit();

  // Waited for by its pid: an exiting process has lost its command line before it is gone.
  await waitFor(() => !isAlive(servers[0]!), "the wrapped server to be gone");
  expect(findProcesses(server, `--port ${port} `)).toEqual([]);
});
