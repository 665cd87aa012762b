/**
 * The model library the discovery benches scan (bench/discovery.ts, bench/discovery-startup.ts):
 * `count` models in 20 family folders, sparse files of realistic sizes (0.5 to 40 GiB) that cost
 * no disk, 32k to 256k-token vocabularies and their merges, a third split in 2 to 4 files, one
 * in ten with an image projector. Deterministic: the i-th model is the same on every run.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { modelSpec, projectorSpec, writeGguf } from "../tests/helpers/gguf-writer.ts";

const VOCABS = [32_000, 49_152, 128_256, 151_936, 262_144];

/** Writes the library under `folder`; the number of files written. */
export function writeModelLibrary(folder: string, count: number): number {
  let files = 0;
  for (let i = 0; i < count; i++) {
    const bytes = Math.round((0.5 + ((i * 37) % 400) / 10) * 2 ** 30);
    const shape = {
      name: `Bench Model ${i}`,
      vocabSize: VOCABS[i % VOCABS.length]!,
      fileType: 15,
      blockCount: 28 + (i % 5) * 8,
      embeddingLength: 4096,
      headCount: 32,
      headCountKv: 8,
      chatTemplate: "x".repeat(4000),
    };
    const family = join(folder, `family-${i % 20}`);
    mkdirSync(family, { recursive: true });
    if (i % 3 === 0) {
      const parts = 2 + (i % 3);
      writeGguf(join(family, `model-${i}-00001-of-0000${parts}.gguf`), modelSpec({ ...shape, split: { no: 0, count: parts } }), {
        size: Math.round(bytes / parts),
      });
      for (let no = 2; no <= parts; no++)
        writeGguf(
          join(family, `model-${i}-0000${no}-of-0000${parts}.gguf`),
          { metadata: [], tensors: [] },
          { size: Math.round(bytes / parts) },
        );
      files += parts;
    } else {
      writeGguf(join(family, `model-${i}-Q4_K_M.gguf`), modelSpec(shape), { size: bytes });
      files++;
    }
    if (i % 10 === 1) {
      writeGguf(join(family, `mmproj-model-${i}-f16.gguf`), projectorSpec({ projectionDim: 4096 }), { size: 600 * 2 ** 20 });
      files++;
    }
  }
  return files;
}
