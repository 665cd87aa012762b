/**
 * Which found files are models (pure): a single-file GGUF model; a split model (listed once, by
 * its first file, when every file is there); a llamafile. Not models: projectors (they go with a
 * model of their folder), later files of a split, vocabulary-only files, adapters and other GGUF
 * files that are not models. What a file is comes from its header; names decide only what
 * llama.cpp itself decides by name (the files of a split) and what needs no reading
 * (`ggml-vocab-*.gguf`, the later files of a split).
 */

import type { GgufFacts } from "./gguf-facts.ts";
import type { FileProblem } from "./gguf-file.ts";

export interface FoundFile {
  /** The path as found under a model folder (links not resolved). */
  path: string;
  /** The folder it was found in. */
  folder: string;
  /** Its name in that folder. */
  name: string;
  bytes: number;
  executable: boolean;
  kind: "gguf" | "llamafile";
  /**
   * Its header (a llamafile's: the model stored inside), or why it was not read; undefined when
   * it needed no reading (see `needsHeader`). A llamafile whose model cannot be read still runs:
   * it is offered without the facts.
   */
  header?: { ok: true; facts: GgufFacts } | { ok: false; problem: FileProblem };
}

export interface ModelCandidate {
  kind: "gguf" | "llamafile";
  /** The model's files: the first of a split first (the one llama-server is given), then the others. */
  files: string[];
  /** All its files together. */
  bytes: number;
  projector: { path: string; bytes: number } | undefined;
  facts: GgufFacts | undefined;
  /** The file name without `.gguf`, the split suffix or `.llamafile`: the base of its id. */
  stem: string;
  folder: string;
}

export type ClassifySkip =
  | { code: "later-shard"; firstShard: string }
  | { code: "missing-shards"; missing: number[]; total: number }
  /** The name says one number of files, the first file's `split.count` another (or none). */
  | { code: "split-mismatch"; nameSays: number; fileSays: number | undefined }
  /** A projector, given to this model with `--mmproj`. */
  | { code: "projector"; model: string }
  | { code: "projector-without-model" }
  | { code: "vocab-only" }
  | { code: "not-a-model"; type: string }
  | { code: "no-architecture" }
  | { code: "not-executable" }
  | { code: "empty" };

export type FileSkip = ClassifySkip | FileProblem;

export interface Classified {
  candidates: ModelCandidate[];
  skipped: Array<{ path: string; reason: FileSkip }>;
}

const SHARD = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;
const VOCAB_NAME = /^ggml-vocab-.*\.gguf$/i;

export function shardOf(name: string): { prefix: string; no: number; total: number } | undefined {
  const match = SHARD.exec(name);
  if (!match) return undefined;
  const no = Number(match[2]);
  const total = Number(match[3]);
  return no >= 1 && total >= 1 && no <= total ? { prefix: match[1]!, no, total } : undefined;
}

/** Whether a found file's header must be read (a llamafile's: the model inside) to classify it or describe it. */
export function needsHeader(file: Pick<FoundFile, "name" | "kind" | "bytes" | "executable">): boolean {
  if (file.bytes === 0) return false;
  if (file.kind === "llamafile") return file.executable;
  if (VOCAB_NAME.test(file.name)) return false;
  return (shardOf(file.name)?.no ?? 1) === 1;
}

const stemOf = (name: string) =>
  name
    .replace(/\.llamafile$/i, "")
    .replace(SHARD, "$1")
    .replace(/\.gguf$/i, "");

const isProjector = (facts: GgufFacts) => facts.architecture === "clip" || facts.type === "mmproj";

/** What a GGUF file with a readable header is, when it is not a model. */
function notAModel(facts: GgufFacts): ClassifySkip | undefined {
  if (facts.type === "vocab" || facts.tensorCount === 0) return { code: "vocab-only" };
  if (facts.type !== "model") return { code: "not-a-model", type: facts.type };
  if (!facts.architecture) return { code: "no-architecture" };
  return undefined;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The projector of a model's folder that fits it: one for images whose output width
 * (`clip.vision.projection_dim`, when given) is the model's embedding length, and whose name,
 * up to "mmproj", begins the model's name (llama.cpp's download cache puts every repository in
 * one folder as `<user>_<repo>_<file>`). Of several, the one sharing the longest start of name
 * with the model, then the first by name.
 */
function projectorFor(model: ModelCandidate, modelName: string, projectors: Array<{ file: FoundFile; facts: GgufFacts }>) {
  const name = modelName.toLowerCase();
  const fitting = projectors.filter(({ file, facts }) => {
    if (file.folder !== model.folder || !facts.vision) return false;
    if (
      facts.projectionDim !== undefined &&
      model.facts?.embeddingLength !== undefined &&
      facts.projectionDim !== model.facts.embeddingLength
    )
      return false;
    const own = file.name.toLowerCase();
    const before = own.indexOf("mmproj");
    return before <= 0 || name.startsWith(own.slice(0, before));
  });
  fitting.sort(
    (a, b) =>
      commonPrefixLength(b.file.name.toLowerCase(), name) - commonPrefixLength(a.file.name.toLowerCase(), name) ||
      (a.file.name < b.file.name ? -1 : 1),
  );
  return fitting[0]?.file;
}

export function classifyFiles(files: FoundFile[]): Classified {
  const skipped: Classified["skipped"] = [];
  const skip = (path: string, reason: FileSkip) => skipped.push({ path, reason });
  const models: Array<{ candidate: ModelCandidate; name: string }> = [];
  const projectors: Array<{ file: FoundFile; facts: GgufFacts }> = [];
  const splits = new Map<string, FoundFile[]>();
  /** Splits whose first file was refused (its later files then say so, not that it is missing). */
  const refusedFirst = new Map<string, string>();
  const splitKey = (file: FoundFile, shard: { prefix: string; total: number }) =>
    `${file.folder}\0${shard.prefix.toLowerCase()}\0${shard.total}`;

  for (const file of files) {
    if (file.bytes === 0) {
      skip(file.path, { code: "empty" });
      continue;
    }
    if (file.kind === "llamafile") {
      if (!file.executable) skip(file.path, { code: "not-executable" });
      else {
        const facts = file.header?.ok ? file.header.facts : undefined;
        models.push({
          candidate: {
            kind: "llamafile",
            files: [file.path],
            bytes: file.bytes,
            projector: undefined,
            facts,
            stem: stemOf(file.name),
            folder: file.folder,
          },
          name: file.name,
        });
      }
      continue;
    }
    if (VOCAB_NAME.test(file.name)) {
      skip(file.path, { code: "vocab-only" });
      continue;
    }
    const shard = shardOf(file.name);
    if (shard && shard.no > 1) {
      const key = splitKey(file, shard);
      splits.set(key, [...(splits.get(key) ?? []), file]);
      continue;
    }
    if (!file.header) continue;
    const facts = file.header.ok ? file.header.facts : undefined;
    if (facts && isProjector(facts)) {
      projectors.push({ file, facts });
      continue;
    }
    const refused = file.header.ok ? notAModel(file.header.facts) : file.header.problem;
    if (refused) {
      skip(file.path, refused);
      if (shard) refusedFirst.set(splitKey(file, shard), file.path);
      continue;
    }
    if (shard) {
      const key = splitKey(file, shard);
      splits.set(key, [file, ...(splits.get(key) ?? [])]);
      continue;
    }
    models.push({
      candidate: {
        kind: "gguf",
        files: [file.path],
        bytes: file.bytes,
        projector: undefined,
        facts: facts!,
        stem: stemOf(file.name),
        folder: file.folder,
      },
      name: file.name,
    });
  }

  for (const [key, group] of splits) {
    const refusedFirstShard = refusedFirst.get(key);
    if (refusedFirstShard) {
      for (const file of group) skip(file.path, { code: "later-shard", firstShard: refusedFirstShard });
      continue;
    }
    const first = group[0]!;
    const total = shardOf(first.name)!.total;
    const present = new Set(group.map((file) => shardOf(file.name)!.no));
    const missing = Array.from({ length: total }, (_, i) => i + 1).filter((no) => !present.has(no));
    if (missing.length > 0) {
      for (const file of group) skip(file.path, { code: "missing-shards", missing, total });
      continue;
    }
    const facts = first.header?.ok ? first.header.facts : undefined;
    if (facts?.split?.count !== total) {
      skip(first.path, { code: "split-mismatch", nameSays: total, fileSays: facts?.split?.count });
      for (const file of group.slice(1)) skip(file.path, { code: "later-shard", firstShard: first.path });
      continue;
    }
    const ordered = [...group].sort((a, b) => shardOf(a.name)!.no - shardOf(b.name)!.no);
    for (const file of ordered.slice(1)) skip(file.path, { code: "later-shard", firstShard: first.path });
    models.push({
      candidate: {
        kind: "gguf",
        files: ordered.map((file) => file.path),
        bytes: ordered.reduce((sum, file) => sum + file.bytes, 0),
        projector: undefined,
        facts,
        stem: stemOf(first.name),
        folder: first.folder,
      },
      name: first.name,
    });
  }

  const used = new Map<string, string>();
  for (const { candidate, name } of models) {
    if (candidate.kind !== "gguf") continue;
    const projector = projectorFor(candidate, name, projectors);
    if (!projector) continue;
    candidate.projector = { path: projector.path, bytes: projector.bytes };
    if (!used.has(projector.path)) used.set(projector.path, candidate.files[0]!);
  }
  for (const { file } of projectors) {
    const model = used.get(file.path);
    skip(file.path, model ? { code: "projector", model } : { code: "projector-without-model" });
  }
  return { candidates: models.map((model) => model.candidate), skipped };
}
