// The GGUF header reader on files made by tests/helpers/gguf-writer.ts: every value type, the
// facts of the project's tiny real model (copied into tinyModelSpec), and hostile headers, each
// refused with its reason; what bounds the work is asserted (reads, bytes read, what is kept), the
// time it takes is bench/discovery.ts's.
import { expect, test } from "vitest";
import { FACT_BOUNDS, ggufFacts } from "../../src/llamafiles/discovery/gguf-facts.ts";
import {
  type ByteSource,
  bufferSource,
  type GgufProblem,
  HEADER_LIMITS,
  readGgufHeader,
} from "../../src/llamafiles/discovery/gguf-header.ts";
import { modelFacts } from "../helpers/discovery-fixtures.ts";
import {
  arrayOf,
  CHATML_TEMPLATE,
  GgufBytes,
  type GgufValue,
  ggufHeader,
  hostile,
  modelSpec,
  projectorSpec,
  str,
  TINY_MODEL_BYTES,
  tinyModelSpec,
  u32,
} from "../helpers/gguf-writer.ts";

/** A header with its tensor data as a hole of `dataBytes` (the source reports the full size). */
function parse(spec: Parameters<typeof ggufHeader>[0], size?: number) {
  const { bytes, dataBytes } = ggufHeader(spec);
  return readGgufHeader(bufferSource(bytes, size ?? bytes.length + dataBytes));
}

/** A source that counts what the reader asks of it: the work a header costs, whatever the machine. */
function counted(source: ByteSource): { source: ByteSource; reads: () => number; bytesRead: () => number } {
  let reads = 0;
  let bytesRead = 0;
  return {
    source: {
      size: source.size,
      read(target, position) {
        const got = source.read(target, position);
        reads++;
        if (typeof got === "number") bytesRead += got;
        return got;
      },
    },
    reads: () => reads,
    bytesRead: () => bytesRead,
  };
}

/** The reader's window: it reads through one of 256 KiB at most. */
const WINDOW = 256 * 1024;

function problemOf(bytes: Uint8Array, size = bytes.length): GgufProblem | undefined {
  const result = readGgufHeader(bufferSource(bytes, size));
  return result.ok ? undefined : result.problem;
}

const start = hostile.claiming;

test("every value type is read back; large values are kept as their length", () => {
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", str("llama")],
    ["t.u8", { type: "uint8", value: 200 }],
    ["t.i8", { type: "int8", value: -5 }],
    ["t.u16", { type: "uint16", value: 60000 }],
    ["t.i16", { type: "int16", value: -30000 }],
    ["t.u32", u32(4_000_000_000)],
    ["t.i32", { type: "int32", value: -2_000_000_000 }],
    ["t.f32", { type: "float32", value: 0.5 }],
    ["t.bool", { type: "bool", value: true }],
    ["t.u64", { type: "uint64", value: 2n ** 40n }],
    ["t.i64", { type: "int64", value: -(2n ** 40n) }],
    ["t.f64", { type: "float64", value: 1e300 }],
    ["t.str", str("héllo")],
    ["t.long", str("x".repeat(5000))],
    ["t.ints", arrayOf("int32", [1, -2, 3])],
    ["t.strings", arrayOf("string", ["a", "bb", "ccc"])],
    ["t.bools", arrayOf("bool", [true, false])],
    [
      "t.big",
      arrayOf(
        "uint8",
        Array.from({ length: 5000 }, () => 7),
      ),
    ],
    ["t.nested", { type: "array", itemType: "array", values: [arrayOf("uint8", [1]), arrayOf("string", ["z"])] }],
    ["t.after", u32(42)],
  ];
  const result = parse({ metadata, tensors: [{ name: "w", dims: [4, 4], bytes: 64 }] });
  expect(result.ok).toBe(true);
  if (!result.ok) return;
  expect(Object.fromEntries(result.header.metadata)).toEqual({
    "general.architecture": "llama",
    "t.u8": 200,
    "t.i8": -5,
    "t.u16": 60000,
    "t.i16": -30000,
    "t.u32": 4_000_000_000,
    "t.i32": -2_000_000_000,
    "t.f32": 0.5,
    "t.bool": true,
    "t.u64": 2 ** 40,
    "t.i64": -(2 ** 40),
    "t.f64": 1e300,
    "t.str": "héllo",
    "t.long": { skipped: "string", length: 5000 },
    "t.ints": [1, -2, 3],
    "t.strings": { skipped: "array", length: 3 },
    "t.bools": { skipped: "array", length: 2 },
    "t.big": { skipped: "array", length: 5000 },
    "t.nested": { skipped: "array", length: 2 },
    "t.after": 42,
  });
  expect(result.header.tensorCount).toBe(1);
  expect(result.header.dataStart % 32).toBe(0);
});

test("tiny-a's facts, as read from the real file: llama, 2 layers, 64 wide, 4/4 heads, trained 8192, F32, ChatML", () => {
  const result = parse(tinyModelSpec());
  expect(result.ok).toBe(true);
  if (!result.ok) return;
  expect(result.header.tensorCount).toBe(21);
  // The real file's tensor data starts at 6,272 and its last tensor (output.weight) at 6,272 + 398,080:
  // the writer's tokens are spelled differently, so only the offset within the data compares.
  expect(result.header.lastTensorStart - result.header.dataStart).toBe(398_080);
  expect(ggufFacts(result.header)).toEqual(modelFacts());
  expect(CHATML_TEMPLATE).toHaveLength(208);
  expect(TINY_MODEL_BYTES).toBe(473_472);
});

test("facts: per-layer KV heads, key/value lengths, split keys, a projector, an unknown file type", () => {
  const model = parse(
    modelSpec({ headCountKv: [8, 8, 0, 4], blockCount: 4, keyLength: 128, valueLength: 96, fileType: 99, split: { no: 0, count: 3 } }),
  );
  expect(model.ok && ggufFacts(model.header)).toMatchObject({
    headCountKv: [8, 8, 0, 4],
    keyLength: 128,
    valueLength: 96,
    quantization: undefined,
    split: { no: 0, count: 3 },
    hasChatTemplate: false,
  });
  const projector = parse(projectorSpec({ projectionDim: 2560 }));
  expect(projector.ok && ggufFacts(projector.header)).toMatchObject({
    architecture: "clip",
    type: "mmproj",
    projectionDim: 2560,
    vision: true,
  });
});

test("facts: a shape outside FACT_BOUNDS is unknown, at the bounds it is kept", () => {
  const facts = (shape: Parameters<typeof modelSpec>[0]) => {
    const read = parse(modelSpec(shape));
    return read.ok ? ggufFacts(read.header) : undefined;
  };
  expect(
    facts({ contextLength: 0, blockCount: 2 ** 50, embeddingLength: 2 ** 21, headCount: 0, keyLength: 2 ** 17, valueLength: 0 }),
  ).toMatchObject({
    trainedContext: undefined,
    blockCount: undefined,
    embeddingLength: undefined,
    headCount: undefined,
    keyLength: undefined,
    valueLength: undefined,
  });
  expect(facts({ contextLength: 255 })?.trainedContext).toBeUndefined();
  expect(facts({ headCountKv: [8, 2 ** 17] })?.headCountKv).toBeUndefined();
  expect(facts({ headCountKv: 2 ** 40 })?.headCountKv).toBeUndefined();
  const { trainedContext, blockCount, embeddingLength, headCount, headCountKv, headLength } = FACT_BOUNDS;
  expect(
    facts({
      contextLength: trainedContext.max,
      blockCount: blockCount.max,
      embeddingLength: embeddingLength.max,
      headCount: headCount.max,
      headCountKv: [0, headCountKv.max],
      keyLength: headLength.max,
      valueLength: headLength.min,
    }),
  ).toMatchObject({
    trainedContext: trainedContext.max,
    blockCount: blockCount.max,
    embeddingLength: embeddingLength.max,
    headCount: headCount.max,
    headCountKv: [0, headCountKv.max],
    keyLength: headLength.max,
    valueLength: headLength.min,
  });
  expect(facts({ contextLength: trainedContext.min })?.trainedContext).toBe(256);
});

test("a realistic header (152k-token vocabulary, merges, a 6 KB template) is stepped over, not decoded", () => {
  const spec = modelSpec({ vocabSize: 151_936, chatTemplate: "x".repeat(6000), name: "Qwen2.5 7B Instruct", fileType: 15 });
  const { bytes, dataBytes } = ggufHeader(spec);
  const io = counted(bufferSource(bytes, bytes.length + dataBytes));
  const result = readGgufHeader(io.source);
  // Read once, front to back, through the window (about one read per window of header); the
  // numeric arrays (token types) and long strings (the template) are stepped over unread.
  expect(io.reads()).toBeLessThanOrEqual(Math.ceil(bytes.length / WINDOW) + 1);
  expect(io.bytesRead()).toBeLessThan(bytes.length);
  expect(result.ok && ggufFacts(result.header)).toMatchObject({
    name: "Qwen2.5 7B Instruct",
    quantization: "Q4_K_M",
    hasChatTemplate: true,
  });
  expect(result.ok && result.header.metadata.get("tokenizer.ggml.tokens")).toEqual({ skipped: "array", length: 151_936 });
});

test("wrong magic, unsupported versions (v1, big-endian), an empty file", () => {
  expect(problemOf(hostile.wrongMagic(tinyModelSpec()))).toEqual({ code: "not-gguf" });
  expect(problemOf(Buffer.from("not a model at all, just text"))).toEqual({ code: "not-gguf" });
  expect(problemOf(new GgufBytes().raw("GGUF").u32(1).u32(0).u32(0).bytes())).toEqual({ code: "unsupported-version", version: 1 });
  expect(
    problemOf(
      new GgufBytes()
        .raw("GGUF")
        .raw(new Uint8Array([0, 0, 0, 3]))
        .bytes(),
    ),
  ).toEqual({
    code: "unsupported-version",
    version: 0x03000000,
  });
  expect(problemOf(new Uint8Array(0))).toEqual({ code: "truncated-header", fileBytes: 0 });
});

test("a header cut at any byte is refused as cut (never read past the end)", () => {
  const whole = hostile.truncated(tinyModelSpec(), Number.MAX_SAFE_INTEGER);
  const reasons = new Map<string, number>();
  for (let cut = 0; cut < whole.length; cut++) {
    const code = problemOf(whole.subarray(0, cut))?.code ?? "accepted";
    reasons.set(code, (reasons.get(code) ?? 0) + 1);
  }
  // Cut inside the padding after the last tensor info: the header is whole, the data missing.
  expect(Object.fromEntries(reasons)).toEqual({ "truncated-header": expect.any(Number), "incomplete-data": expect.any(Number) });
  expect(reasons.get("incomplete-data")).toBeLessThan(32);
});

test("the tensor data stopping before the last tensor is an incomplete download", () => {
  const { bytes, dataBytes } = ggufHeader(tinyModelSpec());
  const cutInData = bytes.length + dataBytes - 70_000;
  expect(problemOf(bytes, cutInData)).toEqual({ code: "incomplete-data", fileBytes: cutInData, lastTensorStart: bytes.length + 398_080 });
  expect(problemOf(bytes, bytes.length + dataBytes)).toBeUndefined();
});

test("absurd counts and lengths are refused before any loop runs", () => {
  const cases: Array<[string, Uint8Array, Partial<GgufProblem>]> = [
    ["2^64-1 tensors", start(2n ** 64n - 1n, 0).bytes(), { code: "absurd-size", what: "tensor-count" }],
    ["2^63 keys", start(0, 2n ** 63n).bytes(), { code: "absurd-size", what: "kv-count" }],
    [
      "a key of 2^62 bytes",
      start(0, 1)
        .u64(2n ** 62n)
        .raw(new Uint8Array(64))
        .bytes(),
      { code: "absurd-size", what: "string" },
    ],
    [
      "a string value of 2^60 bytes",
      start(0, 1)
        .str("k")
        .u32(8)
        .u64(2n ** 60n)
        .bytes(),
      { code: "absurd-size", what: "string" },
    ],
    [
      "an array of 2^50 u32",
      start(0, 1)
        .str("k")
        .u32(9)
        .u32(4)
        .u64(2n ** 50n)
        .bytes(),
      { code: "absurd-size", what: "array" },
    ],
    [
      "an array of strings claiming more than the file",
      start(0, 1).str("k").u32(9).u32(8).u64(1_000_000).bytes(),
      { code: "truncated-header" },
    ],
    ["a 2 KiB key", start(0, 1).str("k".repeat(2048)).u32(4).u32(1).bytes(), { code: "header-limit", what: "key" }],
    ["value type 13", start(0, 1).str("k").u32(13).u32(0).bytes(), { code: "bad-value-type", type: 13 }],
    ["array of type 99", start(0, 1).str("k").u32(9).u32(99).u64(1).bytes(), { code: "bad-value-type", type: 99 }],
    [
      "arrays nested 5 deep",
      start(0, 1).str("k").u32(9).u32(9).u64(1).u32(9).u64(1).u32(9).u64(1).u32(9).u64(1).u32(4).u64(0).bytes(),
      { code: "header-limit", what: "array-depth" },
    ],
    [
      "a tensor with 1000 dimensions",
      start(1, 0).str("t").u32(1000).raw(new Uint8Array(8000)).bytes(),
      { code: "header-limit", what: "tensor-dims" },
    ],
    [
      "a 4 KiB tensor name",
      start(1, 0).str("t".repeat(4096)).u32(1).u64(1).u32(0).u64(0).bytes(),
      { code: "header-limit", what: "tensor-name" },
    ],
    [
      "alignment 3",
      start(0, 2).str("general.architecture").u32(8).str("llama").str("general.alignment").u32(4).u32(3).bytes(),
      { code: "bad-alignment", value: 3 },
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    const io = counted(bufferSource(bytes));
    const result = readGgufHeader(io.source);
    expect(result.ok ? undefined : result.problem, name).toMatchObject(expected);
    // Refused from the claim itself: one read of the (small) file, no loop over what it claims.
    expect(io.reads(), name).toBe(1);
  }
});

test("a header larger than the limit is refused at the limit, through a small window", () => {
  // One key whose string value is 70 MiB: the file is 'there' (sparse source), the header is not ours to read.
  const head = start(0, 2)
    .str("general.architecture")
    .u32(8)
    .str("llama")
    .str("k")
    .u32(8)
    .u64(70 * 2 ** 20)
    .bytes();
  const size = head.length + 70 * 2 ** 20 + 100;
  let bytesRead = 0;
  const result = readGgufHeader({
    size,
    read(target, position) {
      const part = head.subarray(position, position + target.length);
      target.fill(0);
      target.set(part);
      bytesRead += target.length;
      return target.length;
    },
  });
  expect(result).toEqual({
    ok: false,
    problem: { code: "absurd-size", what: "string", claimed: 70 * 2 ** 20, room: HEADER_LIMITS.headerBytes - head.length },
  });
  expect(bytesRead).toBeLessThan(1024 * 1024);
});

test("two million tensor infos (a 48 MB header): read once through the window, nothing kept per tensor", () => {
  const count = 2_000_000;
  const head = start(count, 1).str("general.architecture").u32(8).str("llama").bytes();
  // Each tensor info: empty name, 0 dims, type 0, offset 0 (24 bytes), served without building the file.
  const size = head.length + count * 24 + 64;
  const io = counted({
    size,
    read(target, position) {
      target.fill(0);
      if (position < head.length) target.set(head.subarray(position, position + target.length));
      return Math.min(target.length, size - position);
    },
  });
  const result = readGgufHeader(io.source);
  expect(result.ok && result.header.tensorCount).toBe(count);
  expect(io.reads()).toBeLessThanOrEqual(Math.ceil(size / WINDOW) + 1);
  // What it keeps: five figures and the one key, whatever the tensor count (no list of tensors).
  expect(result.ok && Object.keys(result.header).sort()).toEqual(["dataStart", "lastTensorStart", "metadata", "tensorCount", "version"]);
  expect(result.ok && result.header.metadata.size).toBe(1);
});

test("a failed read is a value with its errno", () => {
  const result = readGgufHeader({ size: 1000, read: () => ({ errno: "EIO" }) });
  expect(result).toEqual({ ok: false, problem: { code: "read-failed", errno: "EIO" } });
});

test("keys beyond the kept limit are read past, and do not grow memory", () => {
  const many = 5000;
  const b = start(0, many);
  for (let i = 0; i < many; i++) b.str(`key.${i}`).u32(4).u32(i);
  const result = readGgufHeader(bufferSource(b.bytes()));
  expect(result.ok && result.header.metadata.size).toBe(HEADER_LIMITS.keptEntries);
});

test("arrays of strings: a 20 MiB item, items across window edges, an item running past the end", () => {
  const big = start(0, 2)
    .str("k")
    .u32(9)
    .u32(8)
    .u64(3)
    .str("a")
    .str("b".repeat(20 * 2 ** 20))
    .str("c");
  const many = big.str("after").u32(9).u32(8).u64(100_000);
  for (let i = 0; i < 100_000; i++) many.str(`token-${i}`);
  const result = readGgufHeader(bufferSource(many.bytes()));
  expect(result.ok && Object.fromEntries(result.header.metadata)).toEqual({
    k: { skipped: "array", length: 3 },
    after: { skipped: "array", length: 100_000 },
  });
  const past = start(0, 1).str("k").u32(9).u32(8).u64(2).str("a").u64(5000).raw("short").bytes();
  expect(problemOf(past)).toEqual({ code: "truncated-header", fileBytes: past.length });
});
