// A server's group read from /proc (src/llamafiles/process/process-group.mjs), in a /proc the test
// writes: a member whose environment is gone but which is still exiting keeps the group from
// being called gone (the keeper said "Stopped" while the server was still in its last moments),
// and so does a zombie main thread whose other threads still run; neither proves the group is
// ours to signal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { groupByMarker, groupShows, isExiting } from "../../src/llamafiles/process/process-group.mjs";
import { groupStillThere } from "../../src/llamafiles/process/process-proof.ts";

const temp = mkdtempSync(join(tmpdir(), "process-group-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const MARKER = "PI_LLAMA_SERVER=n:8080:m";
const PF_EXITING = 0x4;

/** A /proc with the given processes: pid, state, group, flags, environment (undefined: unreadable). */
function writeProc(name: string, processes: Array<[number, string, number, number, string | undefined]>): string {
  const proc = join(temp, name);
  for (const [pid, state, group, flags, environ] of processes) {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), "stat"), `${pid} (srv (x)) ${state} 1 ${group} ${group} 0 -1 ${flags} 0 0`);
    if (environ !== undefined) writeFileSync(join(proc, String(pid), "environ"), `${environ}\0`);
  }
  return proc;
}

test("a member carrying the marker: ours (may be signalled), and still there", () => {
  const proc = writeProc("ours", [
    [100, "S", 100, 0x400100, `HOME=/h\0${MARKER}`],
    [101, "S", 100, 0x400100, undefined],
  ]);
  expect(groupShows(100, MARKER, proc)).toBe("ours");
  expect(groupStillThere(100, MARKER, proc)).toBe(true);
  expect(groupByMarker(MARKER, 999, proc)).toBe(100);
  expect(groupByMarker(MARKER, 100, proc)).toBeUndefined();
});

test("a member in the middle of its exit (environment gone, PF_EXITING, not a zombie): not gone, yet not proven ours", () => {
  const proc = writeProc("exiting", [
    [200, "R", 200, 0x400100 | PF_EXITING, undefined],
    [201, "Z", 200, 0x400100 | PF_EXITING, undefined],
  ]);
  expect(isExiting(200, proc)).toBe(true);
  expect(isExiting(201, proc)).toBe(false);
  expect(groupShows(200, MARKER, proc)).toBe("exiting");
  expect(groupStillThere(200, MARKER, proc)).toBe(true);
});

test("a multi-threaded server whose main thread ended first (a zombie with a thread still running): not gone", () => {
  const proc = writeProc("threads", [
    [400, "Z", 400, 0x400100 | PF_EXITING, undefined],
    [500, "Z", 500, 0x400100 | PF_EXITING, undefined],
  ]);
  // /proc/<pid>/task/<tid>/stat: 400 still has a thread tearing down; 500's only thread is the zombie.
  for (const [pid, tid, state] of [
    [400, 400, "Z"],
    [400, 401, "R"],
    [500, 500, "Z"],
  ] as const) {
    mkdirSync(join(proc, String(pid), "task", String(tid)), { recursive: true });
    writeFileSync(join(proc, String(pid), "task", String(tid), "stat"), `${tid} (srv) ${state} 1 ${pid} ${pid} 0 -1 4194564 0 0`);
  }
  expect(groupShows(400, MARKER, proc)).toBe("exiting");
  expect(groupStillThere(400, MARKER, proc)).toBe(true);
  expect(groupShows(500, MARKER, proc)).toBe("none");
});

test("only zombies, strangers (no marker, not exiting) or members of other groups: none, gone", () => {
  const proc = writeProc("gone", [
    [300, "Z", 300, 0x400100 | PF_EXITING, undefined],
    [301, "S", 300, 0x400100, "HOME=/stranger"],
    [302, "S", 999, 0x400100, MARKER],
  ]);
  expect(groupShows(300, MARKER, proc)).toBe("none");
  expect(groupStillThere(300, MARKER, proc)).toBe(false);
  expect(groupShows(300, MARKER, join(temp, "no-proc"))).toBeUndefined();
});
