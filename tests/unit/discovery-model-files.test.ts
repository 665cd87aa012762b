// Which found files are models (src/llamafiles/discovery/model-files.ts), without a disk: split
// models, projectors and their pairing, vocabulary-only files, adapters, llamafiles.
import { expect, test } from "vitest";
import type { GgufFacts } from "../../src/llamafiles/discovery/gguf-facts.ts";
import { classifyFiles, type FoundFile, needsHeader, shardOf } from "../../src/llamafiles/discovery/model-files.ts";
import { modelFacts } from "../helpers/discovery-fixtures.ts";

/** A model's facts; these tests look only at what makes a file a model, a projector or a split. */
const facts = modelFacts;

const projector = (over: Partial<GgufFacts> = {}) => facts({ architecture: "clip", type: "mmproj", tensorCount: 10, ...over });

function file(path: string, header?: GgufFacts | FoundFile["header"], over: Partial<FoundFile> = {}): FoundFile {
  const name = path.split("/").at(-1)!;
  const folder = path.slice(0, -name.length - 1);
  const kind = name.endsWith(".llamafile") ? "llamafile" : "gguf";
  const wrapped = header === undefined ? undefined : "ok" in header ? header : { ok: true as const, facts: header };
  return { path, folder, name, bytes: 1000, executable: false, kind, header: wrapped, ...over };
}

test("a single-file model is a model; its stem drops .gguf", () => {
  const { candidates, skipped } = classifyFiles([file("/m/Qwen2.5-7B-Q4_K_M.gguf", facts())]);
  expect(skipped).toEqual([]);
  expect(candidates).toEqual([
    {
      kind: "gguf",
      files: ["/m/Qwen2.5-7B-Q4_K_M.gguf"],
      bytes: 1000,
      projector: undefined,
      facts: facts(),
      stem: "Qwen2.5-7B-Q4_K_M",
      folder: "/m",
    },
  ]);
});

test("a split model is listed once, by its first file, with every file and their total size", () => {
  const first = facts({ split: { no: 0, count: 3 } });
  const { candidates, skipped } = classifyFiles([
    file("/m/big-00002-of-00003.gguf", undefined, { bytes: 20 }),
    file("/m/big-00001-of-00003.gguf", first, { bytes: 10 }),
    file("/m/big-00003-of-00003.gguf", undefined, { bytes: 30 }),
  ]);
  expect(candidates).toMatchObject([
    { files: ["/m/big-00001-of-00003.gguf", "/m/big-00002-of-00003.gguf", "/m/big-00003-of-00003.gguf"], bytes: 60, stem: "big" },
  ]);
  expect(skipped).toEqual([
    { path: "/m/big-00002-of-00003.gguf", reason: { code: "later-shard", firstShard: "/m/big-00001-of-00003.gguf" } },
    { path: "/m/big-00003-of-00003.gguf", reason: { code: "later-shard", firstShard: "/m/big-00001-of-00003.gguf" } },
  ]);
});

test("a split with a file missing is no model: every file says which are missing", () => {
  const { candidates, skipped } = classifyFiles([
    file("/m/big-00001-of-00003.gguf", facts({ split: { no: 0, count: 3 } })),
    file("/m/big-00003-of-00003.gguf"),
  ]);
  expect(candidates).toEqual([]);
  expect(skipped.map((s) => s.reason)).toEqual([
    { code: "missing-shards", missing: [2], total: 3 },
    { code: "missing-shards", missing: [2], total: 3 },
  ]);
  // Without its first file: missing 1.
  expect(classifyFiles([file("/m/x-00002-of-00002.gguf")]).skipped[0]!.reason).toEqual({ code: "missing-shards", missing: [1], total: 2 });
});

test("the first file's split.count must agree with its name (llama.cpp loads the split by that key)", () => {
  const { candidates, skipped } = classifyFiles([file("/m/big-00001-of-00002.gguf", facts()), file("/m/big-00002-of-00002.gguf")]);
  expect(candidates).toEqual([]);
  expect(skipped.map((s) => s.reason)).toEqual([
    { code: "split-mismatch", nameSays: 2, fileSays: undefined },
    { code: "later-shard", firstShard: "/m/big-00001-of-00002.gguf" },
  ]);
});

test("a split whose first file is unreadable: the first says why, the others point at it", () => {
  const { skipped } = classifyFiles([
    file("/m/big-00001-of-00002.gguf", { ok: false, problem: { code: "not-gguf" } }),
    file("/m/big-00002-of-00002.gguf"),
  ]);
  expect(skipped.map((s) => s.reason)).toEqual([{ code: "not-gguf" }, { code: "later-shard", firstShard: "/m/big-00001-of-00002.gguf" }]);
});

test("only first files, lone files and runnable llamafiles need their header read", () => {
  const gguf = { kind: "gguf" as const, bytes: 5, executable: false };
  expect(needsHeader({ ...gguf, name: "a.gguf" })).toBe(true);
  expect(needsHeader({ ...gguf, name: "a-00001-of-00002.gguf" })).toBe(true);
  expect(needsHeader({ ...gguf, name: "a-00002-of-00002.gguf" })).toBe(false);
  expect(needsHeader({ ...gguf, name: "ggml-vocab-llama.gguf" })).toBe(false);
  expect(needsHeader({ ...gguf, name: "a.gguf", bytes: 0 })).toBe(false);
  // A llamafile's model is read when it can run at all.
  expect(needsHeader({ name: "a.llamafile", kind: "llamafile", bytes: 5, executable: true })).toBe(true);
  expect(needsHeader({ name: "a.llamafile", kind: "llamafile", bytes: 5, executable: false })).toBe(false);
  expect(shardOf("a-00003-of-00002.gguf")).toBeUndefined();
  expect(shardOf("A-00001-OF-00002.GGUF")).toEqual({ prefix: "A", no: 1, total: 2 });
});

test("a folder with a model and an mmproj file: the model gets the projector, the projector is listed as used", () => {
  const { candidates, skipped } = classifyFiles([
    file("/m/vl/gemma-3-4b-it-Q4_K_M.gguf", facts({ embeddingLength: 2560 })),
    file("/m/vl/mmproj-model-f16.gguf", projector({ projectionDim: 2560 }), { bytes: 500 }),
  ]);
  expect(candidates[0]!.projector).toEqual({ path: "/m/vl/mmproj-model-f16.gguf", bytes: 500 });
  expect(skipped).toEqual([
    { path: "/m/vl/mmproj-model-f16.gguf", reason: { code: "projector", model: "/m/vl/gemma-3-4b-it-Q4_K_M.gguf" } },
  ]);
});

test("a projector is known by its header, not its name; a file named mmproj that is a model is a model", () => {
  const { candidates } = classifyFiles([
    file("/m/a/model.gguf", facts()),
    file("/m/a/vision-encoder.gguf", projector()),
    file("/m/b/mmproj-but-a-model.gguf", facts()),
  ]);
  expect(candidates.map((c) => [c.stem, c.projector?.path])).toEqual([
    ["model", "/m/a/vision-encoder.gguf"],
    ["mmproj-but-a-model", undefined],
  ]);
});

test("projectors pair only with models they fit: width, folder, llama.cpp cache prefix; otherwise without a model", () => {
  const { candidates, skipped } = classifyFiles([
    // llama.cpp's download cache: every repository in one folder as <user>_<repo>_<file>.
    file("/c/ggml-org_gemma-3-4b-it-GGUF_gemma-3-4b-it-Q4_K_M.gguf", facts({ embeddingLength: 2560 })),
    file("/c/ggml-org_gemma-3-4b-it-GGUF_mmproj-model-f16.gguf", projector({ projectionDim: 2560 })),
    file("/c/bartowski_Qwen2.5-7B-GGUF_Qwen2.5-7B-Q4_K_M.gguf", facts({ embeddingLength: 2560 })),
    // Another width: fits nothing.
    file("/c/other_repo_mmproj-f16.gguf", projector({ projectionDim: 4096 })),
    // Another folder: fits nothing here.
    file("/elsewhere/mmproj-x.gguf", projector()),
    // No vision encoder (audio only): pi has no audio input.
    file("/c/audio_mmproj.gguf", projector({ vision: false })),
  ]);
  expect(candidates.map((c) => [c.stem, c.projector?.path])).toEqual([
    ["ggml-org_gemma-3-4b-it-GGUF_gemma-3-4b-it-Q4_K_M", "/c/ggml-org_gemma-3-4b-it-GGUF_mmproj-model-f16.gguf"],
    ["bartowski_Qwen2.5-7B-GGUF_Qwen2.5-7B-Q4_K_M", undefined],
  ]);
  expect(skipped.map((s) => [s.path, s.reason.code])).toEqual([
    ["/c/ggml-org_gemma-3-4b-it-GGUF_mmproj-model-f16.gguf", "projector"],
    ["/c/other_repo_mmproj-f16.gguf", "projector-without-model"],
    ["/elsewhere/mmproj-x.gguf", "projector-without-model"],
    ["/c/audio_mmproj.gguf", "projector-without-model"],
  ]);
});

test("of two fitting projectors, the one sharing the longest start of name; every quantisation of a model shares one", () => {
  const { candidates } = classifyFiles([
    file("/m/Model-Q4_K_M.gguf", facts()),
    file("/m/Model-Q8_0.gguf", facts()),
    file("/m/mmproj-Model-f16.gguf", projector()),
    file("/m/mmproj-Model-f32.gguf", projector()),
  ]);
  expect(candidates.map((c) => c.projector?.path)).toEqual(["/m/mmproj-Model-f16.gguf", "/m/mmproj-Model-f16.gguf"]);
});

test("not models: vocabulary-only files (by name, general.type, no tensors), adapters, files without an architecture, empty files", () => {
  const { candidates, skipped } = classifyFiles([
    file("/m/ggml-vocab-llama-bpe.gguf"),
    file("/m/vocab.gguf", facts({ type: "vocab" })),
    file("/m/no-tensors.gguf", facts({ tensorCount: 0 })),
    file("/m/lora.gguf", facts({ type: "adapter" })),
    file("/m/imatrix.gguf", facts({ type: "imatrix" })),
    file("/m/no-arch.gguf", facts({ architecture: undefined })),
    file("/m/empty.gguf", undefined, { bytes: 0 }),
    file("/m/broken.gguf", { ok: false, problem: { code: "truncated-header", fileBytes: 12 } }),
  ]);
  expect(candidates).toEqual([]);
  expect(skipped.map((s) => s.reason)).toEqual([
    { code: "vocab-only" },
    { code: "vocab-only" },
    { code: "vocab-only" },
    { code: "not-a-model", type: "adapter" },
    { code: "not-a-model", type: "imatrix" },
    { code: "no-architecture" },
    { code: "empty" },
    { code: "truncated-header", fileBytes: 12 },
  ]);
});

test("a llamafile is a model when it is executable", () => {
  const { candidates, skipped } = classifyFiles([
    file("/m/llava-v1.5-7b-q4.llamafile", undefined, { executable: true, bytes: 4_000 }),
    file("/m/not-yet.llamafile", undefined, { executable: false }),
  ]);
  expect(candidates).toEqual([
    {
      kind: "llamafile",
      files: ["/m/llava-v1.5-7b-q4.llamafile"],
      bytes: 4000,
      projector: undefined,
      facts: undefined,
      stem: "llava-v1.5-7b-q4",
      folder: "/m",
    },
  ]);
  expect(skipped).toEqual([{ path: "/m/not-yet.llamafile", reason: { code: "not-executable" } }]);
});
