// Hostile disks: the folder walk and discovery over it, each odd file skipped with its reason,
// nothing thrown; what bounds the work is asserted (files opened, bytes read, folders listed), the
// time it takes is bench/discovery.ts's. Tests run
// as root, and root reads a mode-000 file: "unreadable" is an EACCES injected at the I/O seam.
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, expect, test } from "vitest";
import { FETCH_BAD_PORTS } from "../../src/llamafiles/config.ts";
import { type DiscoveryOptions, discoverModels, type SkippedFile } from "../../src/llamafiles/discovery/discover.ts";
import { type FileSystem, realFileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import { scanFolders } from "../../src/llamafiles/discovery/scan.ts";
import { countingFileSystem } from "../helpers/discovery-fixtures.ts";
import { tinyModelSpec, writeGguf } from "../helpers/gguf-writer.ts";

const temp = mkdtempSync(join(tmpdir(), "discovery-scan-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let root: string;
let n = 0;
beforeEach(() => {
  root = join(temp, `case-${n++}`);
  mkdirSync(root);
});

const options = (over: Partial<DiscoveryOptions> = {}): DiscoveryOptions => ({
  modelDirs: [root],
  reservedPorts: [],
  blockedPorts: FETCH_BAD_PORTS,
  env: { HOME: temp, PATH: "" },
  llamaServer: "/bin/sh",
  cachePath: null,
  ...over,
});

const reasons = (result: { skipped: Array<{ path: string; reason: { code: string } }> }) =>
  Object.fromEntries(result.skipped.map((s) => [s.path.slice(root.length + 1), s.reason]));

/** How many files were skipped for each reason. */
function skipCounts(skipped: SkippedFile[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { reason } of skipped) counts[reason.code] = (counts[reason.code] ?? 0) + 1;
  return counts;
}

test("a FIFO named x.gguf is skipped by its type, never opened (the scan would hang on it)", () => {
  execFileSync("mkfifo", [join(root, "x.gguf")]);
  writeGguf(join(root, "tiny.gguf"), tinyModelSpec());
  const io = countingFileSystem();
  const result = discoverModels(options({ fs: io.fs }));
  expect(reasons(result)).toEqual({ "x.gguf": { code: "not-regular-file", kind: "fifo" } });
  expect(result.models.map((m) => m.id)).toEqual(["tiny"]);
  expect(io.opened).toEqual([join(root, "tiny.gguf")]);
});

test("links named .gguf to /dev/zero, to a FIFO, to nothing; a link to a model elsewhere is followed", () => {
  const outside = join(temp, `outside-${n}`);
  mkdirSync(outside);
  writeGguf(join(outside, "real.gguf"), tinyModelSpec());
  execFileSync("mkfifo", [join(outside, "pipe")]);
  symlinkSync("/dev/zero", join(root, "zero.gguf"));
  symlinkSync(join(outside, "pipe"), join(root, "pipe.gguf"));
  symlinkSync(join(root, "gone"), join(root, "broken.gguf"));
  symlinkSync(join(outside, "real.gguf"), join(root, "linked.gguf"));
  const result = discoverModels(options());
  expect(reasons(result)).toEqual({
    "broken.gguf": { code: "broken-link" },
    "pipe.gguf": { code: "not-regular-file", kind: "fifo" },
    "zero.gguf": { code: "not-regular-file", kind: "character-device" },
  });
  expect(result.models.map((m) => [m.id, m.files])).toEqual([["linked", [join(root, "linked.gguf")]]]);
});

test("symlink loops: a link to itself, a folder linking back to its parent, two links to one folder; each taken once", () => {
  symlinkSync("self.gguf", join(root, "self.gguf"));
  symlinkSync("b.gguf", join(root, "a.gguf"));
  symlinkSync("a.gguf", join(root, "b.gguf"));
  mkdirSync(join(root, "sub"));
  writeGguf(join(root, "sub", "tiny.gguf"), tinyModelSpec());
  symlinkSync("..", join(root, "sub", "up"));
  symlinkSync("sub", join(root, "sub-again"));
  const io = countingFileSystem();
  const result = discoverModels(options({ fs: io.fs }));
  // Each folder listed once, however many ways lead to it.
  expect(io.foldersListed).toEqual([root, join(root, "sub")]);
  expect(reasons(result)).toEqual({
    "a.gguf": { code: "symlink-loop" },
    "b.gguf": { code: "symlink-loop" },
    "self.gguf": { code: "symlink-loop" },
    "sub-again": { code: "folder-seen", as: join(root, "sub") },
    "sub/up": { code: "folder-seen", as: root },
  });
  expect(result.models.map((m) => m.id)).toEqual(["tiny"]);
});

test("the same file twice (a hard link, a second link) is one model; the others say whose duplicate they are", () => {
  writeGguf(join(root, "a.gguf"), tinyModelSpec());
  linkSync(join(root, "a.gguf"), join(root, "b.gguf"));
  symlinkSync("a.gguf", join(root, "c.gguf"));
  const result = discoverModels(options());
  expect(result.models.map((m) => m.id)).toEqual(["a"]);
  expect(reasons(result)).toEqual({
    "b.gguf": { code: "duplicate", of: join(root, "a.gguf") },
    "c.gguf": { code: "duplicate", of: join(root, "a.gguf") },
  });
});

test("10,000 empty .gguf files: each skipped as empty, none opened", () => {
  for (let i = 0; i < 10_000; i++) writeFileSync(join(root, `m${i}.gguf`), "");
  const io = countingFileSystem();
  const result = discoverModels(options({ fs: io.fs }));
  expect(skipCounts(result.skipped)).toEqual({ empty: 10_000 });
  expect(io.opened).toEqual([]);
});

test("10,000 .gguf files that are not GGUF: each opened once, its few bytes read once, and skipped as not GGUF", () => {
  const text = "<html>not found</html>";
  for (let i = 0; i < 10_000; i++) writeFileSync(join(root, `m${i}.gguf`), text);
  const io = countingFileSystem();
  const result = discoverModels(options({ fs: io.fs }));
  expect(skipCounts(result.skipped)).toEqual({ "not-gguf": 10_000 });
  expect(io.opened).toHaveLength(10_000);
  expect(new Set(io.opened).size).toBe(10_000);
  expect(io.bytesRead()).toBeLessThanOrEqual(10_000 * text.length);
});

test("a tree 100 folders deep: walked to the depth bound, the rest skipped once as too deep", () => {
  let dir = root;
  for (let depth = 1; depth <= 100; depth++) {
    dir = join(dir, `d${depth}`);
    mkdirSync(dir);
    writeGguf(join(dir, `model-${depth}.gguf`), tinyModelSpec());
  }
  const result = discoverModels(options());
  expect(result.models).toHaveLength(8);
  expect(result.skipped).toEqual([{ path: expect.stringMatching(/\/d9$/), reason: { code: "too-deep", limit: 8 } }]);
});

test("more entries than the bound: the scan stops there and says where", () => {
  for (let i = 0; i < 30; i++) writeGguf(join(root, `m${String(i).padStart(2, "0")}.gguf`), tinyModelSpec(`m${i}`));
  const result = discoverModels(options({ limits: { depth: 8, entries: 20 } }));
  expect(result.skipped).toEqual([{ path: root, reason: { code: "entry-limit", limit: 20 } }]);
  // The bound stops the walk before any file of the folder is looked at: nothing half-read.
  expect(result.models).toEqual([]);
});

test("hidden folders are not entered; names other than .gguf and .llamafile are not looked at", () => {
  mkdirSync(join(root, ".locks"));
  writeGguf(join(root, ".locks", "hidden.gguf"), tinyModelSpec());
  writeFileSync(join(root, "notes.txt"), "x");
  execFileSync("mkfifo", [join(root, "pipe-not-a-model")]);
  const result = scanFolders([root], realFileSystem);
  expect(result).toEqual({ files: [], skipped: [], scanned: [root] });
});

test("an unreadable file and an unreadable folder (EACCES injected at the I/O seam: root reads mode-000 files)", () => {
  writeGguf(join(root, "locked.gguf"), tinyModelSpec());
  writeGguf(join(root, "fine.gguf"), tinyModelSpec());
  mkdirSync(join(root, "private"));
  mkdirSync(join(root, "unstatable"));
  const denied = (path: unknown) => {
    const error = Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: "EACCES" });
    throw error;
  };
  const fs: FileSystem = {
    ...realFileSystem,
    openSync: ((path: string, ...rest: unknown[]) =>
      path.endsWith("locked.gguf")
        ? denied(path)
        : (realFileSystem.openSync as (...a: unknown[]) => number)(path, ...rest)) as FileSystem["openSync"],
    opendirSync: ((path: string) =>
      path.endsWith("private") ? denied(path) : realFileSystem.opendirSync(path)) as FileSystem["opendirSync"],
    statSync: ((path: string, ...rest: unknown[]) =>
      path.endsWith("unstatable")
        ? denied(path)
        : (realFileSystem.statSync as (...a: unknown[]) => unknown)(path, ...rest)) as FileSystem["statSync"],
  };
  const result = discoverModels(options({ fs }));
  expect(result.models.map((m) => m.id)).toEqual(["fine"]);
  expect(reasons(result)).toEqual({
    "locked.gguf": { code: "unreadable", errno: "EACCES" },
    private: { code: "folder-unreadable", errno: "EACCES" },
    unstatable: { code: "folder-unreadable", errno: "EACCES" },
  });
});

test("a read error in the middle of a header, and a file that changes between stat and open", () => {
  writeGguf(join(root, "eio.gguf"), tinyModelSpec());
  writeGguf(join(root, "swapped.gguf"), tinyModelSpec());
  const eioFd = new Set<number>();
  const fs: FileSystem = {
    ...realFileSystem,
    openSync: ((path: string, ...rest: unknown[]) => {
      const fd = (realFileSystem.openSync as (...a: unknown[]) => number)(
        path.endsWith("swapped.gguf") ? join(root, "eio.gguf") : path,
        ...rest,
      );
      if (path.endsWith("eio.gguf")) eioFd.add(fd);
      return fd;
    }) as FileSystem["openSync"],
    readSync: ((fd: number, ...rest: unknown[]) => {
      if (eioFd.has(fd)) throw Object.assign(new Error("EIO"), { code: "EIO" });
      return (realFileSystem.readSync as (...a: unknown[]) => number)(fd, ...rest);
    }) as FileSystem["readSync"],
  };
  const result = discoverModels(options({ fs }));
  expect(reasons(result)).toEqual({ "eio.gguf": { code: "read-failed", errno: "EIO" }, "swapped.gguf": { code: "changed-while-reading" } });
});

test("nothing throws out of discovery, whatever the file system does", () => {
  const broken = new Proxy({} as FileSystem, {
    get: () => () => {
      throw new TypeError("the disk is on fire");
    },
  });
  const result = discoverModels(options({ fs: broken, cachePath: join(temp, "cache.json") }));
  expect(result.models).toEqual([]);
  expect(result.skipped).toEqual([{ path: root, reason: { code: "folder-unreadable", errno: "unknown" } }]);
  expect(result.problems.map((p) => p.code)).toEqual(["cache-unreadable"]);
  // A bug inside discovery itself (here: a folder list that is not a list) is a problem, not an exception.
  const worse = discoverModels(options({ modelDirs: 42 as unknown as string[] }));
  expect(worse.problems.map((p) => p.code)).toEqual(["discovery-failed"]);
});

test("a folder that is a file, or missing, is skipped with the reason; the others are scanned", () => {
  writeFileSync(join(root, "file"), "x");
  const result = scanFolders([join(root, "file"), join(root, "missing"), root], realFileSystem);
  expect(result.scanned).toEqual([root]);
  expect(result.skipped).toEqual([
    { path: join(root, "file"), reason: { code: "not-a-folder" } },
    { path: join(root, "missing"), reason: { code: "folder-unreadable", errno: "ENOENT" } },
  ]);
});
