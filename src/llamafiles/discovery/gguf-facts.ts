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
  /** `<arch>.context_length`: the context the model was trained for. The shape's numbers are undefined outside FACT_BOUNDS. */
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

export interface Bounds {
  min: number;
  max: number;
}

/**
 * What a header may claim of a model's shape; a value outside is taken as unknown (the model is
 * still offered: without it, its context is the default and its estimate has no KV cache). A
 * header is hostile input, and the estimate multiplies these values: the upper bounds are a
 * thousand times or so today's largest models, and keep every product of them finite and every
 * loop over them short (a block count of 2^50 once froze the scan, on every start, from the cache).
 */
export const FACT_BOUNDS = {
  /**
   * Below 256 tokens no chat fits (a system prompt alone is longer): a context_length of 0 or 1
   * is a damaged header, and would give the server `-c 0`. Above 2^24 (16.7M; the longest today
   * claim 10M) it is not a context.
   */
  trainedContext: { min: 256, max: 2 ** 24 },
  /** Layers: the deepest models today have under 200. */
  blockCount: { min: 1, max: 65_536 },
  /** Width: the widest today are 16,384 to 25,600. */
  embeddingLength: { min: 1, max: 2 ** 20 },
  /** Attention heads: 128 at most today. */
  headCount: { min: 1, max: 65_536 },
  /** KV heads (of the model, or of each layer): 0 is a layer without attention (hybrid models). */
  headCountKv: { min: 0, max: 65_536 },
  /** Key and value lengths per head: 64 to 576 today (MLA). */
  headLength: { min: 1, max: 65_536 },
} as const satisfies Record<string, Bounds>;

const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

/** A whole number within `bounds`: what the header cache checks its facts with too. */
export const inBounds = (value: unknown, bounds: Bounds): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= bounds.min && value <= bounds.max;

function count(value: GgufValue | undefined): number | undefined {
  return typeof value === "number" && isCount(value) ? value : undefined;
}

function bounded(value: GgufValue | undefined, bounds: Bounds): number | undefined {
  return inBounds(value, bounds) ? value : undefined;
}

function text(value: GgufValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** One number, or one per layer (the header reader keeps numeric arrays of at most 4,096 items). */
function boundedOrEach(value: GgufValue | undefined, bounds: Bounds): number | number[] | undefined {
  if (Array.isArray(value)) return value.length > 0 && value.every((item) => inBounds(item, bounds)) ? (value as number[]) : undefined;
  return bounded(value, bounds);
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
    trainedContext: bounded(arch("context_length"), FACT_BOUNDS.trainedContext),
    blockCount: bounded(arch("block_count"), FACT_BOUNDS.blockCount),
    embeddingLength: bounded(arch("embedding_length"), FACT_BOUNDS.embeddingLength),
    headCount: bounded(arch("attention.head_count"), FACT_BOUNDS.headCount),
    headCountKv: boundedOrEach(arch("attention.head_count_kv"), FACT_BOUNDS.headCountKv),
    keyLength: bounded(arch("attention.key_length"), FACT_BOUNDS.headLength),
    valueLength: bounded(arch("attention.value_length"), FACT_BOUNDS.headLength),
    hasChatTemplate: template !== undefined && !(typeof template === "string" && template.length === 0),
    projectionDim: count(meta.get("clip.vision.projection_dim")),
    vision: meta.get("clip.has_vision_encoder") !== false,
    split: splitCount !== undefined && splitCount > 1 ? { no: splitNo ?? 0, count: splitCount } : undefined,
  };
}
