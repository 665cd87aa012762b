/**
 * What discovery needs to know of a GGUF file, taken from its header's metadata (pure). Keys
 * follow llama.cpp's names (`general.*`, `<architecture>.*`, `tokenizer.*`, `split.*`, `clip.*`).
 * The facts are plain JSON so the discovery cache can keep them.
 */
import type { GgufHeader, GgufValue } from "./gguf-header.ts";

export interface GgufFacts {
  architecture: string | undefined;
  /** `general.type`: "model" when absent; "vocab", "mmproj", "adapter", "imatrix" are not models. */
  type: string;
  name: string | undefined;
  /** `general.file_type` as llama.cpp's quantisation name ("Q4_K_M"), when known. */
  quantization: string | undefined;
  tensorCount: number;
  /** `<arch>.context_length`: the context the model was trained for. */
  trainedContext: number | undefined;
  blockCount: number | undefined;
  embeddingLength: number | undefined;
  headCount: number | undefined;
  /** One number, or one per layer (some architectures vary it). */
  headCountKv: number | number[] | undefined;
  keyLength: number | undefined;
  valueLength: number | undefined;
  hasChatTemplate: boolean;
  /** A projector's output width: it fits a model whose embedding length is the same. */
  projectionDim: number | undefined;
  /** A projector for images (`clip.has_vision_encoder`, assumed when absent). */
  vision: boolean;
  /** `split.no` (0 for the first file) and `split.count` of a model split in several files. */
  split: { no: number; count: number } | undefined;
}

/** llama.cpp's `llama_ftype` values (`general.file_type`) by name. */
const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
};

const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

function count(value: GgufValue | undefined): number | undefined {
  return typeof value === "number" && isCount(value) ? value : undefined;
}

function text(value: GgufValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function countOrCounts(value: GgufValue | undefined): number | number[] | undefined {
  if (Array.isArray(value)) return value.length > 0 && value.every(isCount) ? value : undefined;
  return count(value);
}

export function ggufFacts(header: GgufHeader): GgufFacts {
  const meta = header.metadata;
  const architecture = text(meta.get("general.architecture"));
  const arch = (key: string) => meta.get(`${architecture}.${key}`);
  const fileType = count(meta.get("general.file_type"));
  const splitNo = count(meta.get("split.no"));
  const splitCount = count(meta.get("split.count"));
  const template = meta.get("tokenizer.chat_template");
  return {
    architecture,
    type: text(meta.get("general.type")) ?? "model",
    name: text(meta.get("general.name"))?.trim() || undefined,
    quantization: fileType === undefined ? undefined : FILE_TYPES[fileType],
    tensorCount: header.tensorCount,
    trainedContext: count(arch("context_length")),
    blockCount: count(arch("block_count")),
    embeddingLength: count(arch("embedding_length")),
    headCount: count(arch("attention.head_count")),
    headCountKv: countOrCounts(arch("attention.head_count_kv")),
    keyLength: count(arch("attention.key_length")),
    valueLength: count(arch("attention.value_length")),
    hasChatTemplate: template !== undefined && !(typeof template === "string" && template.length === 0),
    projectionDim: count(meta.get("clip.vision.projection_dim")),
    vision: meta.get("clip.has_vision_encoder") !== false,
    split: splitCount !== undefined && splitCount > 1 ? { no: splitNo ?? 0, count: splitCount } : undefined,
  };
}
