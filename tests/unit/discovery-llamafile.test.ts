// The model inside a llamafile (src/llamafiles/discovery/llamafile-zip.ts): found in the zip at
// the executable's end (plain and zip64), read in place; a llamafile whose model cannot be read
// is still offered, without the facts. Archives made by tests/helpers/llamafile-writer.ts.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FETCH_BAD_PORTS } from "../../src/llamafiles/config.ts";
import { discoverModels } from "../../src/llamafiles/discovery/discover.ts";
import { bufferSource } from "../../src/llamafiles/discovery/gguf-header.ts";
import { embeddedModel } from "../../src/llamafiles/discovery/llamafile-zip.ts";
import { ggufHeader, projectorSpec, tinyModelSpec, writeSparse } from "../helpers/gguf-writer.ts";
import { llamafileBytes, writeLlamafile } from "../helpers/llamafile-writer.ts";

/** A whole GGUF file in memory: header and (zero) tensor data. */
function ggufFile(spec = tinyModelSpec()): Buffer {
  const { bytes, dataBytes } = ggufHeader(spec);
  return Buffer.concat([bytes, Buffer.alloc(dataBytes)]);
}

const model = ggufFile();

test("the stored GGUF entry is found at its offset, in a plain and a zip64 archive", () => {
  for (const zip64 of [false, true]) {
    const bytes = llamafileBytes(
      [
        { name: ".args", data: Buffer.from("-m\nmodel.gguf\n") },
        { name: "model.gguf", data: model },
      ],
      { zip64 },
    );
    const found = embeddedModel(bufferSource(bytes));
    expect(found, `zip64 ${zip64}`).toMatchObject({ ok: true, name: "model.gguf", bytes: model.length });
    if (found.ok) expect(bytes.subarray(found.offset, found.offset + 4).toString()).toBe("GGUF");
  }
});

test("of several GGUF entries, the largest (the model, not its projector); compressed entries do not count", () => {
  const projector = ggufFile(projectorSpec());
  const bytes = llamafileBytes([
    { name: "mmproj.gguf", data: projector },
    { name: "llava.gguf", data: model },
  ]);
  expect(embeddedModel(bufferSource(bytes))).toMatchObject({ ok: true, name: "llava.gguf" });
  expect(embeddedModel(bufferSource(llamafileBytes([{ name: "model.gguf", data: model, method: 8 }])))).toEqual({
    ok: false,
    problem: { code: "no-embedded-gguf" },
  });
});

test("hostile archives: none, cut, a directory outside the file or too large, a lying entry", () => {
  const problem = (bytes: Uint8Array) => {
    const found = embeddedModel(bufferSource(bytes));
    return found.ok ? undefined : found.problem;
  };
  expect(problem(Buffer.from("#!/bin/sh\necho not a llamafile\n"))).toEqual({ code: "bad-zip", why: "no-end-record" });
  expect(problem(new Uint8Array(0))).toEqual({ code: "bad-zip", why: "no-end-record" });
  const good = llamafileBytes([{ name: "model.gguf", data: model }]);
  // Cut before the end record: no archive any more.
  expect(problem(good.subarray(0, good.length - 10))).toEqual({ code: "bad-zip", why: "no-end-record" });
  const outside = Buffer.from(good);
  outside.writeUInt32LE(0x7fffffff, outside.length - 6);
  expect(problem(outside)).toEqual({ code: "bad-zip", why: "directory-outside-file" });
  const huge = Buffer.from(good);
  huge.writeUInt32LE(0x7fffffff, huge.length - 10);
  expect(problem(huge)).toEqual({ code: "bad-zip", why: "directory-too-large" });
  // The central entry's name length runs past the directory.
  const lying = Buffer.from(good);
  const directoryAt = lying.readUInt32LE(lying.length - 6);
  lying.writeUInt16LE(0xffff, directoryAt + 28);
  expect(problem(lying)).toEqual({ code: "bad-zip", why: "bad-entry" });
  expect(embeddedModel({ size: 100, read: () => ({ errno: "EIO" }) })).toEqual({
    ok: false,
    problem: { code: "read-failed", errno: "EIO" },
  });
});

const temp = mkdtempSync(join(tmpdir(), "discovery-llamafile-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

test("a llamafile's model is read: its name, trained context and KV cache size, as for a GGUF file", () => {
  const folder = join(temp, "read");
  mkdirSync(folder);
  const path = join(folder, "Tiny-A.llamafile");
  writeLlamafile(path, [{ name: "tiny-a.gguf", data: model }], { zip64: true });
  const [found] = discoverModels({
    modelDirs: [folder],
    reservedPorts: [],
    blockedPorts: FETCH_BAD_PORTS,
    env: { HOME: temp },
    cachePath: null,
  }).models;
  expect(found).toMatchObject({ id: "tiny-a", kind: "llamafile", command: path, contextWindow: 8192, trainedContext: 8192 });
  expect(found!.name).toMatch(/^tiny-a · F32 · \d+ KiB$/);
  expect(found!.estimate.kvCacheBytes).toBe(512 * 8192);
  expect(found!.args).toEqual([
    "--server",
    "--nobrowser",
    "--alias",
    "tiny-a",
    "--host",
    "127.0.0.1",
    "--port",
    String(found!.port),
    "-c",
    "8192",
  ]);
});

test("a llamafile whose model cannot be read still runs: offered with the default context, no facts", () => {
  const folder = join(temp, "unread");
  mkdirSync(folder);
  writeSparse(join(folder, "old.llamafile"), Buffer.from("MZqFpD='\nno archive here\n"));
  chmodSync(join(folder, "old.llamafile"), 0o755);
  const result = discoverModels({
    modelDirs: [folder],
    reservedPorts: [],
    blockedPorts: FETCH_BAD_PORTS,
    env: { HOME: temp },
    cachePath: null,
  });
  expect(result.skipped).toEqual([]);
  expect(result.models).toMatchObject([{ id: "old", facts: undefined, contextWindow: 32768, estimate: { kvCacheBytes: undefined } }]);
});
