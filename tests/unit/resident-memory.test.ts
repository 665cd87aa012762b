// A server's resident memory for /llamafiles: the VmRSS of every process in its process group
// (process-proof.ts's groupMembers), read from /proc (a wrapper may lead the group while the
// model lives in a child).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { groupMembers } from "../../src/llamafiles/process/process-proof.ts";
import { groupResidentBytes, residentOfStatus } from "../../src/llamafiles/process/resident-memory.ts";
import { isAlive, waitFor } from "../helpers/processes.ts";

const temp = mkdtempSync(join(tmpdir(), "resident-memory-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

test("VmRSS of a status text; a kernel thread has none", () => {
  expect(residentOfStatus("Name:\tx\nVmRSS:\t   12345 kB\nThreads:\t4\n")).toBe(12345 * 1024);
  expect(residentOfStatus("Name:\tkthreadd\nThreads:\t1\n")).toBeUndefined();
});

test("the group's processes and the sum of their memory, in a /proc written by the test; a group with no process has none", async () => {
  const proc = join(temp, "proc");
  // pid, its command's name (the group is read after its last ")"), state, group, VmRSS in KiB.
  const processes: Array<[number, string, string, number, number | undefined]> = [
    [100, "srv", "S", 100, 2048],
    [101, "a) b (c", "S", 100, 1024],
    [102, "srv", "S", 999, 4096],
    [103, "srv", "S", 100, undefined],
    [104, "srv", "Z", 100, undefined],
  ];
  for (const [pid, name, state, group, rss] of processes) {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), "stat"), `${pid} (${name}) ${state} 1 ${group} ${group} 0`);
    writeFileSync(join(proc, String(pid), "status"), rss === undefined ? "Name:\tsrv\n" : `Name:\tsrv\nVmRSS:\t${rss} kB\n`);
  }
  mkdirSync(join(proc, "self"));
  writeFileSync(join(proc, "105"), "not a folder");
  expect(groupMembers(100, proc).sort()).toEqual([100, 101, 103]);
  expect(await groupResidentBytes(100, proc)).toBe(3072 * 1024);
  expect(await groupResidentBytes(555, proc)).toBeUndefined();
  expect(groupMembers(100, join(temp, "no-proc"))).toEqual([]);
  expect(await groupResidentBytes(100, join(temp, "no-proc"))).toBeUndefined();
});

test("a real group led by a wrapper (sh) with the work in a child: both counted", async () => {
  const child = spawn("sh", ["-c", `${JSON.stringify(process.execPath)} -e "setInterval(() => {}, 1000)" & wait`], {
    detached: true,
    stdio: "ignore",
  });
  const leader = child.pid!;
  try {
    // Node's RSS alone is tens of MiB; sh's a few hundred KiB.
    const bytes = await waitFor(async () => {
      const now = await groupResidentBytes(leader);
      return now !== undefined && now > 20 * 2 ** 20 ? now : undefined;
    }, "the child to run");
    expect(bytes).toBeGreaterThan(20 * 2 ** 20);
  } finally {
    process.kill(-leader, "SIGKILL");
    await waitFor(() => !isAlive(leader), "the group to end");
  }
});
