// The record that lets the next extension instance know which server pi started
// (ownership survives /reload): a pid is trusted only with its recorded start time.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, expect, test } from "vitest";
import { findOwnedServer, forgetOwnership, recordOwnership } from "../../src/llamafiles/process/ownership-record.ts";
import { ownershipRecordPath } from "../../src/llamafiles/process/paths.ts";

beforeEach(() => {
  process.env.HOME = mkdtempSync(join(tmpdir(), "ownership-"));
});

test("a live process with the recorded start time is ours", () => {
  recordOwnership(process.pid, 9001, "model-a");
  expect(findOwnedServer(9001)).toMatchObject({ pid: process.pid, port: 9001, modelId: "model-a" });
  expect(statSync(ownershipRecordPath(9001)).mode & 0o777).toBe(0o600);
});

test("a reused pid (other start time) is not ours, and the stale record is removed", () => {
  recordOwnership(process.pid, 9002, "model-a");
  const path = ownershipRecordPath(9002);
  const record = JSON.parse(readFileSync(path, "utf8"));
  writeFileSync(path, JSON.stringify({ ...record, startTime: "1" }));
  expect(findOwnedServer(9002)).toBeUndefined();
  expect(existsSync(path)).toBe(false);
});

test("a dead pid is not ours", () => {
  const { pid } = spawnSync("true");
  recordOwnership(process.pid, 9003, "model-a");
  const path = ownershipRecordPath(9003);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), pid }));
  expect(findOwnedServer(9003)).toBeUndefined();
});

test("forgetOwnership leaves a record that describes a newer process alone", () => {
  recordOwnership(process.pid, 9004, "model-a");
  forgetOwnership(9004, process.pid + 1);
  expect(findOwnedServer(9004)).toBeDefined();
  forgetOwnership(9004, process.pid);
  expect(findOwnedServer(9004)).toBeUndefined();
});

test("no record, or an unreadable one, means not ours", () => {
  expect(findOwnedServer(9005)).toBeUndefined();
});
