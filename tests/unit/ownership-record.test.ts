// Ownership records: a claim is exclusive, a record is trusted only once proven (safe file,
// start time, command line, environment marker), and a forged or unsafe record is dropped with
// nothing it names signalled. Real processes (`sleep`) stand in for servers and keepers.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { stopServersLeftBehind } from "../../src/llamafiles/process/left-behind.ts";
import { claimPort, completeRecord, judgeRecord, myIdentity, type OwnershipRecord } from "../../src/llamafiles/process/ownership-record.ts";
import { ownedDir, ownershipRecordPath } from "../../src/llamafiles/process/paths.ts";
import { processStartTime, serverMarker } from "../../src/llamafiles/process/process-proof.ts";
import { isAlive, waitFor } from "../helpers/processes.ts";

const started: ChildProcess[] = [];
beforeEach(() => {
  process.env.HOME = mkdtempSync(join(tmpdir(), "ownership-"));
});
afterEach(() => {
  for (const child of started.splice(0)) if (child.pid && isAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
});

/** A `sleep` in a process group of its own, optionally carrying a server marker. */
function sleeper(marker?: string): { pid: number; argv: string[]; startTime: string } {
  const [name, value] = marker ? marker.split(/=(.*)/s) : [];
  const child = spawn("sleep", ["30"], { detached: true, stdio: "ignore", env: { ...process.env, ...(name ? { [name]: value } : {}) } });
  started.push(child);
  const pid = child.pid!;
  return { pid, argv: ["sleep", "30"], startTime: processStartTime(pid)! };
}

function record(
  port: number,
  modelId: string,
  server: { pid: number; argv: string[]; startTime: string },
  marker: string,
  keeper?: { pid: number; startTime: string },
): OwnershipRecord {
  return {
    version: 2,
    port,
    modelId,
    name: modelId.toUpperCase(),
    claimedBy: myIdentity(),
    server: { ...server, marker },
    keeper: keeper ? { ...keeper, socket: "/nowhere.sock" } : undefined,
  };
}

function write(port: number, value: OwnershipRecord) {
  mkdirSync(ownedDir(), { recursive: true, mode: 0o700 });
  writeFileSync(ownershipRecordPath(port), JSON.stringify(value), { mode: 0o600 });
}

test("a claim is exclusive; the record is 0600 in a folder only this user can enter (a looser folder is tightened)", () => {
  mkdirSync(ownedDir(), { recursive: true });
  chmodSync(ownedDir(), 0o777);
  const first = claimPort(9001, { id: "a", name: "A" });
  expect(first.claimed).toBe(true);
  expect(statSync(ownedDir()).mode & 0o777).toBe(0o700);
  expect(statSync(ownershipRecordPath(9001)).mode & 0o777).toBe(0o600);
  const second = claimPort(9001, { id: "a", name: "A" });
  expect(second).toMatchObject({ claimed: false, existing: { kind: "claiming" } });
});

test("a server and its keeper that both run: kept; the keeper gone: orphan; both gone: stale and removed", () => {
  const marker = serverMarker("n1", 9002, "a");
  const server = sleeper(marker);
  const keeper = sleeper();
  completeRecord(record(9002, "a", server, marker, keeper));
  expect(judgeRecord(9002).kind).toBe("kept");
  process.kill(keeper.pid, "SIGKILL");
  return waitFor(() => !isAlive(keeper.pid), "the keeper to die").then(async () => {
    expect(judgeRecord(9002).kind).toBe("orphan");
    process.kill(server.pid, "SIGKILL");
    await waitFor(() => !isAlive(server.pid), "the server to die");
    expect(judgeRecord(9002).kind).toBe("stale");
    expect(judgeRecord(9002).kind).toBe("none");
  });
});

test("a server left behind (its keeper gone) is stopped at start, with a report naming it", async () => {
  const marker = serverMarker("n2", 9003, "a");
  const server = sleeper(marker);
  write(9003, record(9003, "a", server, marker));
  const reports = await stopServersLeftBehind();
  expect(reports).toEqual([{ kind: "orphan-stopped", name: "A", pid: server.pid, port: 9003, forced: false }]);
  await waitFor(() => !isAlive(server.pid), "the left-behind server to be gone");
});

test("a server that exec'd another program (a wrapper's exec, a llamafile's loader) is still ours: its start time and marker prove it", () => {
  const marker = serverMarker("n4", 9005, "a");
  const server = { ...sleeper(marker), argv: ["/home/me/bin/llama-server", "--port", "9005"] };
  const keeper = sleeper();
  write(9005, record(9005, "a", server, marker, keeper));
  expect(judgeRecord(9005)).toMatchObject({ kind: "kept", record: { server: { pid: server.pid } } });
});

test.each([
  ["a group leader that does not carry the marker", () => sleeper(), "marker missing"],
  ["another process that got a recorded pid again (start time differs)", () => ({ ...sleeper(), startTime: "1" }), undefined],
])("a forged record naming %s: nothing is signalled", async (_what, make, reason) => {
  const marker = serverMarker("n3", 9004, "a");
  const victim = make();
  write(9004, record(9004, "a", victim, marker));
  const reports = await stopServersLeftBehind();
  if (reason)
    expect(reports).toEqual([
      { kind: "record-rejected", path: ownershipRecordPath(9004), reason: `pid ${victim.pid} is not the server pi started (${reason})` },
    ]);
  else expect(reports).toEqual([]); // a reused pid: a stale record, dropped silently
  expect(isAlive(victim.pid)).toBe(true);
  expect(judgeRecord(9004).kind).toBe("none");
});

test("a record whose marker is for another model id (or port) is rejected; the server it names is not signalled", async () => {
  const theirs = serverMarker("n4", 9005, "b");
  const server = sleeper(theirs);
  write(9005, record(9005, "a", server, theirs));
  const reports = await stopServersLeftBehind();
  expect(reports).toEqual([
    { kind: "record-rejected", path: ownershipRecordPath(9005), reason: "its marker is for another port or model" },
  ]);
  expect(isAlive(server.pid)).toBe(true);
});

test("unsafe record files are rejected: a symlink, another mode than 0600, not JSON", () => {
  mkdirSync(ownedDir(), { recursive: true, mode: 0o700 });
  const elsewhere = join(process.env.HOME!, "elsewhere.json");
  writeFileSync(elsewhere, "{}");
  symlinkSync(elsewhere, ownershipRecordPath(9006));
  expect(judgeRecord(9006)).toEqual({ kind: "rejected", path: ownershipRecordPath(9006), reason: "it is a symbolic link" });
  writeFileSync(ownershipRecordPath(9007), "{}", { mode: 0o644 });
  chmodSync(ownershipRecordPath(9007), 0o644);
  expect(judgeRecord(9007)).toMatchObject({ kind: "rejected", reason: "its mode is 644, not 600" });
  writeFileSync(ownershipRecordPath(9008), "not json", { mode: 0o600 });
  expect(judgeRecord(9008)).toMatchObject({ kind: "rejected", reason: "it is not JSON" });
  expect(readFileSync(elsewhere, "utf8")).toBe("{}");
});
