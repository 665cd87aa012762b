/**
 * What the discovery tests share: the models they describe (a realistic Qwen, tiny-a's facts) and
 * a file system that counts what discovery opens, reads and lists, so a test asserts what bounds
 * the work instead of how long it took (timings are bench/discovery.ts's).
 */
import type { FileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import { realFileSystem } from "../../src/llamafiles/discovery/file-system.ts";
import type { GgufFacts } from "../../src/llamafiles/discovery/gguf-facts.ts";
import { preferredPort } from "../../src/llamafiles/discovery/ports.ts";
import { type ModelShape, modelSpec } from "./gguf-writer.ts";

/** Qwen2.5 Coder 7B Instruct Q4_K_M as its header describes it: 28 layers, 3584 wide, 28 heads, 4 KV heads, trained for 32k. */
export const QWEN_SHAPE = {
  name: "Qwen2.5 Coder 7B Instruct",
  contextLength: 32768,
  blockCount: 28,
  embeddingLength: 3584,
  headCount: 28,
  headCountKv: 4,
  fileType: 15,
  chatTemplate: "{{ messages }}",
} as const satisfies ModelShape;
export const QWEN = modelSpec(QWEN_SHAPE);
/** Its file's size: "4.4 GiB". */
export const QWEN_BYTES = 4_683_073_248;

/** The facts ggufFacts reads from tiny-a.gguf (tinyModelSpec), with `over` replacing some. */
export function modelFacts(over: Partial<GgufFacts> = {}): GgufFacts {
  return {
    architecture: "llama",
    type: "model",
    name: "tiny-a",
    quantization: "F32",
    tensorCount: 21,
    trainedContext: 8192,
    blockCount: 2,
    embeddingLength: 64,
    headCount: 4,
    headCountKv: 4,
    keyLength: undefined,
    valueLength: undefined,
    hasChatTemplate: true,
    projectionDim: undefined,
    vision: true,
    split: undefined,
    ...over,
  };
}

/** QWEN's facts. */
export const QWEN_FACTS = modelFacts({
  name: QWEN_SHAPE.name,
  quantization: "Q4_K_M",
  trainedContext: QWEN_SHAPE.contextLength,
  blockCount: QWEN_SHAPE.blockCount,
  embeddingLength: QWEN_SHAPE.embeddingLength,
  headCount: QWEN_SHAPE.headCount,
  headCountKv: QWEN_SHAPE.headCountKv,
});

/** The real file system, counting: the files opened (by path), the bytes read, the folders listed. */
export function countingFileSystem(): { fs: FileSystem; opened: string[]; bytesRead: () => number; foldersListed: string[] } {
  const opened: string[] = [];
  const foldersListed: string[] = [];
  let bytesRead = 0;
  const fs: FileSystem = {
    ...realFileSystem,
    openSync: ((path: string, ...rest: unknown[]) => {
      opened.push(path);
      return (realFileSystem.openSync as (...a: unknown[]) => number)(path, ...rest);
    }) as FileSystem["openSync"],
    readSync: ((...args: unknown[]) => {
      const got = (realFileSystem.readSync as (...a: unknown[]) => number)(...args);
      bytesRead += got;
      return got;
    }) as FileSystem["readSync"],
    opendirSync: ((path: string, ...rest: unknown[]) => {
      foldersListed.push(path);
      return (realFileSystem.opendirSync as (...a: unknown[]) => ReturnType<FileSystem["opendirSync"]>)(path, ...rest);
    }) as FileSystem["opendirSync"],
  };
  return { fs, opened, bytesRead: () => bytesRead, foldersListed };
}

/** The first two ids `<prefix><n>` whose preferred discovery ports are one, sorted (the first takes the port). */
export function collidingIds(prefix: string): [string, string] {
  const byPort = new Map<number, string>();
  for (let i = 0; ; i++) {
    const id = `${prefix}${i}`;
    const other = byPort.get(preferredPort(id));
    if (other) return [other, id].sort() as [string, string];
    byPort.set(preferredPort(id), id);
  }
}
